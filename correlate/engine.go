package correlate

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Stats counts what the engine has done since it started (or was restored).
type Stats struct {
	Alerts            uint64 // alert notifications applied
	Deduplicated      uint64 // notifications that only updated a known alert
	IncidentsOpened   uint64
	IncidentsResolved uint64
	IncidentsReopened uint64
	Problems          uint64
	NoiseEpisodes     uint64 // alert episodes treated as learned background noise
	Moved             uint64 // symptoms moved to the fault they recovered with (recovery.go)
	Silences          uint64 // silences created or updated
	Silenced          uint64 // alert episodes held by a silence (silence.go)
	Changes           uint64 // changes recorded (changes.go)
	SLABreaches       uint64 // SLA targets missed (sla.go)
}

// alertRec is the deduplicated state of one alert identity.
type alertRec struct {
	fp           model.Fingerprint
	alert        recAlert // labels and annotations packed (labels.go)
	firstSeen    instant
	lastSeen     instant
	episodeStart instant // event time of the current firing episode
	resolvedAt   instant
	count        int32
	fireCount    int32     // count when the current episode started
	fires        []instant // recent firing transitions, for flap detection
	inc          *incident
	service      string   // value of the topology label
	queued       instant  // time of this alert's live entry in the expiry heap
	gkey         string   // group key (see groupKey), if hasGkey
	tokens       []string // words of the name and summary (interned, see Engine.tokens)
	// The flags together, after the words (an alertRec is 256 bytes).
	firing    bool // the status: firing, or resolved
	flapping  bool
	hostLevel bool // has no topology label: an alert on infrastructure
	hasGkey   bool
	oldWords  bool   // tokens come from a summary that has changed since
	noise     bool   // this episode is background noise (see noise.go)
	probe     bool   // ... tentatively: count it as its incident resolves
	held      bool   // fired while silenced: in no incident (silence.go)
	role      byte   // configured role (roles.go), roleUnset if none
	placed    uint32 // where it runs when its labels do not say (placement.go), 0 if unknown
}

func (rec *alertRec) statusName() string {
	if rec.firing {
		return model.StatusFiring
	}
	return model.StatusResolved
}

// incident is the engine's working copy of a model.Incident.
type incident struct {
	model.Incident
	seq          uint64
	members      map[model.Fingerprint]*alertRec
	firing       int
	lastActivity time.Time
	manual       bool // resolved by an agent
	tokens       map[string]struct{}
	rootAlert    string
	// evidence: episode starts of members, by what they show (see
	// evKey). Correlation joins an alert only on evidence that started
	// close to it in time.
	evidence  map[evKey][]time.Time
	groupLast map[string]time.Time // group key -> last notification of a member with it
	lastStart time.Time            // latest episode start of any member
	agg       incAgg               // maintained as members join, for the root cause
	dirty     bool                 // agg changed since the root cause was computed
	causes    int                  // members that are not symptoms (possible causes)
	learned   bool                 // counted in the name statistics (see learnFrom)
}

// svcAgg is the earliest alert of a service in an incident.
type svcAgg struct {
	Start time.Time `json:"start"`
	Alert string    `json:"alert"`
}

// incAgg summarises the members of an incident so that the root cause is
// computed in time proportional to the number of services, not alerts.
type incAgg struct {
	Svc       map[string]svcAgg          `json:"svc,omitempty"`
	Hosts     []model.Fingerprint        `json:"hosts,omitempty"`    // host-level members
	HostSvcs  map[string]map[string]bool `json:"hostSvcs,omitempty"` // "label=value" -> services on it
	HostCount map[string]int             `json:"hostCount,omitempty"`
	Earliest  svcAgg                     `json:"earliest"`
}

// Engine deduplicates and correlates alerts. It is not safe for concurrent
// use; callers serialise access (see the pipeline).
type Engine struct {
	cfg     Config
	topo    Topology
	near    *graph // bounded by MaxHops: what may join
	full    *graph // unbounded: what is upstream of what, for root cause
	now     time.Time
	alerts  map[model.Fingerprint]*alertRec
	incs    map[string]*incident
	order   []*incident // every live incident in opening order
	nextInc uint64
	nextPrb uint64

	byGroup   map[string]*incident
	byService map[string][]*incident
	byInfra   map[string][]*incident
	open      []*incident // open incidents, for text similarity

	problems map[string]*model.Problem
	bySig    map[string][]*incident
	sigPrb   map[string]string

	expiry       expiryHeap
	rechecks     []recheck // sorted by due (recovery.go)
	lastGC       time.Time
	emit         bool
	hist         bool      // collect history events (history.go)
	overflowOf   *incident // set by match: a full incident the alert belonged with
	histAlerts   []model.AlertEvent
	histLife     []lifeRec
	pending      []pendingEvent
	pendIdx      map[*incident]int // incident -> index of its pending "updated" event
	stats        Stats
	names        map[string]*nameStat // alert name -> how often it had company (noise.go)
	groupBuf     []byte
	words        map[string]string // interned alert words (text.go)
	cur          *model.Alert      // the notification being applied (ingest), with
	curFP        model.Fingerprint
	observer     map[string]bool // correlate.observers (identity.go)
	roles        []compiledRole  // correlate.roles (roles.go)
	signals      []signal        // in the order match runs them (signals.go)
	mc           matchCtx        // the context of match, kept for its buffer
	causeWords   map[string]bool
	symptomWords map[string]bool
	sil          silenceIndex
	silNext      time.Time                       // earliest end of a silence after the clock (silence.go)
	held         map[model.Fingerprint]*alertRec // firing alerts held by silences
	changes      changeLog
	learned      map[string]map[string][]string // learned topology by source (learned.go)
	places       map[string][]placed            // where services and workloads run (placement.go)
	details      map[string]string              // shared join explanations (internDetail)
	placeKeys    []string                       // alertRec.placed -> label=value
	placeIdx     map[string]uint32
	slaPolicy    SLAPolicy
	slaDue       slaHeap // SLA deadlines of open incidents (sla.go)
	firingN      int     // alerts firing (held by a silence or not): the active alerts
	maxAlerts    int     // bound on the alerts stored (see SetMaxAlerts), 0: none
	evictAt      int     // stored alerts at which evictResolved runs again (in snapshots)
}

// New returns an engine with cfg and topo (defaults applied).
func New(cfg Config, topo Topology) *Engine {
	cfg = cfg.WithDefaults()
	topo = topo.WithDefaults()
	observer := make(map[string]bool, len(cfg.Observers))
	for _, o := range cfg.Observers {
		observer[o] = true
	}
	roles, _ := compileRoles(cfg.Roles) // validated with the configuration
	return &Engine{
		observer:     observer,
		roles:        roles,
		signals:      newSignals(cfg),
		causeWords:   wordSet(cfg.CauseWords),
		symptomWords: wordSet(cfg.SymptomWords),
		cfg:          cfg,
		topo:         topo,
		near:         newGraph(topo, cfg.MaxHops),
		full:         newGraph(topo, 1<<20),
		alerts:       map[model.Fingerprint]*alertRec{},
		incs:         map[string]*incident{},
		names:        map[string]*nameStat{},
		byGroup:      map[string]*incident{},
		byService:    map[string][]*incident{},
		byInfra:      map[string][]*incident{},
		places:       map[string][]placed{},
		placeIdx:     map[string]uint32{},
		problems:     map[string]*model.Problem{},
		bySig:        map[string][]*incident{},
		sigPrb:       map[string]string{},
	}
}

// EmitEvents turns on the collection of incident events (see Drain).
func (e *Engine) EmitEvents(on bool) { e.emit = on }

// Drain returns and forgets the incident events collected so far.
//
// Several "updated" events of one incident between two drains are
// coalesced into one, and each event carries a copy of the incident as it
// is at drain time with at most MaxEventMembers members (AlertCount tells
// how many there are), so that an alert storm does not turn into a storm
// of huge events.
func (e *Engine) Drain() []model.IncidentEvent {
	if len(e.pending) == 0 {
		return nil
	}
	out := make([]model.IncidentEvent, 0, len(e.pending))
	for _, p := range e.pending {
		out = append(out, model.IncidentEvent{Type: p.kind, At: p.at, Detail: p.detail, Incident: e.exportCapped(p.inc, MaxEventMembers)})
	}
	e.pending = e.pending[:0]
	clear(e.pendIdx)
	return out
}

// MaxEventMembers caps the members carried by one incident event.
const MaxEventMembers = 200

type pendingEvent struct {
	kind   string
	detail string
	at     time.Time
	inc    *incident
}

// Stats returns the counters.
func (e *Engine) Stats() Stats { return e.stats }

// Now is the engine's event clock: the latest time it has seen.
func (e *Engine) Now() time.Time { return e.now }

// Apply applies one journal record.
func (e *Engine) Apply(r *model.Record) error {
	switch {
	case r.Batch != nil:
		e.ApplyBatch(r.Batch)
		return nil
	case r.Action != nil:
		return e.ApplyAction(r.Action)
	}
	return nil
}

// ApplyBatch deduplicates and correlates the alerts of b at time b.At.
func (e *Engine) ApplyBatch(b *model.Batch) {
	at := b.At
	if at.Before(e.now) {
		at = e.now // the event clock never goes backwards
	}
	e.Advance(at)
	for i := range b.Alerts {
		e.ingest(&b.Alerts[i], at)
	}
	if e.maxAlerts > 0 && len(e.alerts) > e.maxAlerts && len(e.alerts) >= e.evictAt {
		e.evictResolved()
	}
}

// Advance moves the event clock to t, resolving alerts whose endsAt has
// passed without a new notification (as Alertmanager does).
func (e *Engine) Advance(t time.Time) {
	if t.Before(e.now) {
		return
	}
	for len(e.expiry) > 0 && !e.expiry[0].at.After(t) {
		x := heap.Pop(&e.expiry).(expiryItem)
		rec := e.alerts[x.fp]
		if rec == nil || !rec.queued.Equal(toInstant(x.at)) {
			continue // stale entry
		}
		rec.queued = 0
		if !rec.firing || rec.alert.EndsAt.IsZero() {
			continue
		}
		if rec.alert.EndsAt.After(x.at) { // extended by a later notification
			e.pushExpiry(rec)
			continue
		}
		e.resolveAlert(rec, rec.alert.EndsAt)
	}
	e.runRechecks(t)
	e.advanceSilences(t)
	e.advanceSLA(t)
	e.now = t
	if t.Sub(e.lastGC) > time.Hour {
		e.gc()
		e.lastGC = t
	}
}

// Due reports whether Advance(t) would do anything but move the clock:
// an alert expires, a recheck is due or gc runs.
func (e *Engine) Due(t time.Time) bool {
	if t.Before(e.now) {
		return false
	}
	if next := e.nextSilenceEnd(); !next.IsZero() && !next.After(t) || e.slaDueBy(t) {
		return true
	}
	return len(e.expiry) > 0 && !e.expiry[0].at.After(t) || len(e.rechecks) > 0 && !e.rechecks[0].due.After(t) || t.Sub(e.lastGC) > time.Hour
}

func (e *Engine) ingest(a *model.Alert, at time.Time) {
	e.stats.Alerts++
	fp := a.Labels.Fingerprint()
	e.cur, e.curFP = a, fp
	defer func() { e.cur = nil }()
	start := a.StartsAt
	if start.IsZero() || start.After(at) {
		start = at
	}
	resolved := a.ResolvedAt(at)
	rec := e.alerts[fp]
	if rec == nil {
		rec = &alertRec{fp: fp, alert: packAlert(a), firstSeen: toInstant(at)}
		e.initRec(rec)
		e.alerts[fp] = rec
	} else {
		e.stats.Deduplicated++
		if rec.tokens != nil && !rec.oldWords && a.Summary() != rec.alert.Summary() {
			rec.oldWords = true // a snapshot keeps the words (see Engine.tokens)
		}
		if !rec.alert.Annotations.equal(a.Annotations) {
			rec.alert.Annotations = packLabels(a.Annotations)
		}
		rec.alert.GeneratorURL = a.GeneratorURL
	}
	if rec.count < math.MaxInt32 {
		rec.count++
	}
	rec.lastSeen = toInstant(at)
	switch {
	case rec.firing && resolved:
		rec.alert.EndsAt = a.EndsAt
		e.resolveAlert(rec, a.EndsAt)
	case rec.firing:
		if !a.EndsAt.Equal(rec.alert.EndsAt) {
			rec.alert.EndsAt = a.EndsAt
			e.pushExpiry(rec)
		}
		if inc := rec.inc; inc != nil && !rec.held && inc.Status != model.IncidentResolved {
			inc.lastActivity = at
			if rec.hasGkey {
				inc.groupLast[rec.gkey] = at
			}
		}
	case resolved:
		// A resolution of an alert that is not firing: remember it, nothing more.
		rec.alert.EndsAt = a.EndsAt
		if rec.resolvedAt.Time().IsZero() {
			rec.resolvedAt = toInstant(a.EndsAt)
		}
	default:
		rec.alert.StartsAt = a.StartsAt
		rec.alert.EndsAt = a.EndsAt
		e.fire(rec, start, at)
	}
}

func (e *Engine) initRec(rec *alertRec) {
	rec.service = e.serviceOf(rec.alert.Labels)
	rec.role = e.configuredRole(rec.alert.Labels)
	rec.hostLevel = rec.service == ""
	rec.gkey, rec.hasGkey = e.groupKey(rec.alert.Labels, rec.service)
}

// pushExpiry makes sure the alert is checked for expiry by its endsAt.
// Each alert has at most one live heap entry: a later endsAt (a resend)
// moves nothing; the entry is re-queued when it comes due.
func (e *Engine) pushExpiry(rec *alertRec) {
	end := rec.alert.EndsAt
	if end.IsZero() || (!rec.queued.IsZero() && !toInstant(end).Before(rec.queued)) {
		return
	}
	rec.queued = toInstant(end)
	heap.Push(&e.expiry, expiryItem{at: end, fp: rec.fp})
}

// fire handles an alert that starts firing (first time or again).
func (e *Engine) fire(rec *alertRec, start, at time.Time) {
	prevEnd, prevStart := rec.resolvedAt.Time(), rec.episodeStart.Time()
	kind := model.AlertFiring
	if !prevStart.IsZero() {
		kind = model.AlertRefired
	}
	rec.fireCount = rec.count
	defer e.histAlert(rec, kind, at, 1) // once it is in its incident
	rec.firing = true
	e.firingN++
	rec.episodeStart = toInstant(start)
	rec.resolvedAt = 0
	e.pushExpiry(rec)

	// Flap detection over the recent firing transitions.
	fw := time.Duration(e.cfg.FlapWindow)
	e.noisy(rec)
	keep := rec.fires[:0]
	for _, f := range rec.fires {
		if rec.episodeStart.Sub(f) <= fw {
			keep = append(keep, f)
		}
	}
	rec.fires = append(keep, rec.episodeStart)
	wasFlapping := rec.flapping
	rec.flapping = e.cfg.FlapCount > 0 && len(rec.fires) > e.cfg.FlapCount
	if e.holdIfSilenced(rec, at) {
		return // muted: stored, in no incident until its silences end
	}
	e.learnPlacement(rec, at)
	e.placeAlert(rec, start)

	var target *incident
	var reason model.Reason
	var absorb []*incident
	matched := false
	if inc := rec.inc; inc != nil && e.incs[inc.ID] == inc {
		grace := time.Duration(e.cfg.ReopenGrace)
		soon := !prevEnd.IsZero() && start.Sub(prevEnd) <= grace
		returns := inc.Status != model.IncidentResolved && (soon || rec.flapping)
		reopens := inc.Status == model.IncidentResolved && !inc.manual && (start.Sub(inc.ResolvedAt) <= grace || rec.flapping)
		if (returns || reopens) && !rec.flapping {
			// An alert that fires again soon usually returns to its
			// incident, unless a fault that started since explains it
			// better: then it is a symptom of that one.
			if t, r, a := e.match(rec, start); t != nil && t != inc && r.Kind != model.ReasonText && t.OpenedAt.After(prevStart) {
				target, reason, absorb, matched = t, r, a, true
				returns, reopens = false, false
			}
		}
		switch {
		case returns:
			inc.firing++
			inc.lastActivity = at
			e.noteEpisode(inc, rec)
			e.newEpisode(inc, rec, model.Reason{Kind: model.ReasonFlap, Score: 1, Detail: "fired again while its incident is open"}, at)
			if rec.flapping && !wasFlapping {
				e.timelineRec(inc, at, "flapping", rec.alert.Name()+" is flapping", rec)
				e.event(model.EventUpdated, inc, at)
			}
			return
		case reopens:
			inc.firing++
			inc.lastActivity = at
			inc.Status = model.IncidentOpen
			inc.ResolvedAt = time.Time{}
			inc.UpdatedAt = at
			e.slaResolved(inc, time.Time{})
			e.noteEpisode(inc, rec)
			why := "fired again within the reopen grace period"
			if rec.flapping {
				why = "flapping alert fired again"
			}
			e.timelineRec(inc, at, "reopened", rec.alert.Name()+" "+why, rec)
			e.newEpisode(inc, rec, model.Reason{Kind: model.ReasonFlap, Score: 1, Detail: why}, at)
			e.index(inc, rec)
			e.open = append(e.open, inc)
			e.stats.IncidentsReopened++
			e.event(model.EventReopened, inc, at)
			return
		}
	}

	e.place(rec, start, at, target, reason, absorb, matched)
}

// place puts a firing alert into the incident it matches (target, when
// already matched) or a new one, and adopts orphaned symptoms.
func (e *Engine) place(rec *alertRec, start, at time.Time, target *incident, reason model.Reason, absorb []*incident, matched bool) {
	if !matched {
		target, reason, absorb = e.match(rec, start)
	}
	if target == nil {
		full := e.overflowOf
		target = e.openIncident(rec, start, at)
		if full != nil {
			// The seed's reason says why it is on its own.
			m := &target.Members[len(target.Members)-1]
			m.Reason = model.Reason{Kind: model.ReasonSeed, Score: 1, Via: full.ID, Detail: fmt.Sprintf(
				"overflow: it belongs with %s, which holds the maximum of %d alerts (correlate.max_alerts_per_incident)", full.ID, e.cfg.MaxAlertsPerIncident)}
		}
	} else {
		e.join(target, rec, reason, at)
		for _, other := range absorb {
			if len(target.members)+len(other.members) > e.cfg.MaxAlertsPerIncident {
				continue // together they would hold too many
			}
			e.merge(target, other, reason, at)
		}
	}
	e.adoptOrphans(target, rec, start, at)
}

// adoptOrphans: callers often alert before the service that fails under
// them. When an alert that is not a symptom (a cause: crash, OOM, ...)
// arrives on service R, recent incidents made only of symptoms on callers
// of R were waiting for their root cause: they are merged into R's
// incident.
func (e *Engine) adoptOrphans(target *incident, rec *alertRec, t, at time.Time) {
	if rec.service == "" || rec.noise || e.isSymptom(rec) || len(e.topo.DependsOn) == 0 {
		return
	}
	w := time.Duration(e.cfg.Window)
	var orphans []*incident
	for _, inc := range e.open {
		if inc == target || inc.Status == model.IncidentResolved || inc.causes > 0 || len(inc.agg.Svc) == 0 {
			continue
		}
		if e.noiseSeeded(inc) {
			continue // background noise waits for nothing
		}
		if absDur(t.Sub(inc.OpenedAt)) > w {
			continue
		}
		all := true
		for svc := range inc.agg.Svc {
			if h, ok := e.near.dependsOn(svc, rec.service); !ok || h == 0 {
				all = false
				break
			}
		}
		if all && len(target.members)+len(inc.members) <= e.cfg.MaxAlertsPerIncident {
			orphans = append(orphans, inc)
		}
	}
	sort.Slice(orphans, func(i, j int) bool { return orphans[i].seq < orphans[j].seq })
	for _, o := range orphans {
		e.merge(target, o, model.Reason{Kind: model.ReasonTopology, Score: *e.cfg.Signals.Topology.AdoptOrphans,
			Detail: fmt.Sprintf("symptoms on callers of %s, which started failing (%s)", rec.service, rec.alert.Name())}, at)
	}
}

// noiseSeeded reports whether inc was opened by background noise.
func (e *Engine) noiseSeeded(inc *incident) bool {
	if len(inc.Members) == 0 {
		return false
	}
	seed := inc.members[inc.Members[0].Fingerprint]
	return seed != nil && seed.noise
}

// ---- matching ----

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// closest reports the smallest distance between t and the evidence starts,
// and whether it is within the window.
func (e *Engine) closest(t time.Time, starts []time.Time) (time.Duration, bool) {
	w := time.Duration(e.cfg.Window)
	best, ok := time.Duration(0), false
	for _, s := range starts {
		d := absDur(t.Sub(s))
		if d <= w && (!ok || d < best) {
			best, ok = d, true
		}
	}
	return best, ok
}

// match finds the incident rec should join and why; absorb lists other
// open incidents that rec shows to share its cause (a host-level alert
// pulling in the incidents of services on that host). It runs the
// engine's signals in order (signals.go) and keeps the best candidate.
func (e *Engine) match(rec *alertRec, t time.Time) (*incident, model.Reason, []*incident) {
	e.overflowOf = nil
	m := &e.mc // reused: a new one per match would be allocated
	*m = matchCtx{e: e, rec: rec, t: t, w: time.Duration(e.cfg.Window), horizon: time.Duration(e.cfg.Horizon), absorb: m.absorb[:0]}
	defer m.reset()
	for _, s := range e.signals {
		if s.fallback() && m.best.inc != nil {
			continue
		}
		s.candidates(m)
	}
	best := m.best
	if best.inc == nil {
		return nil, model.Reason{}, nil
	}
	var others []*incident
	for _, inc := range m.absorb {
		if inc != best.inc && !slices.Contains(others, inc) {
			others = append(others, inc)
		}
	}
	sort.Slice(others, func(i, j int) bool { return others[i].seq < others[j].seq })
	return best.inc, best.reason, others
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (e *Engine) groupKey(ls labelSet, service string) (string, bool) {
	if len(e.cfg.GroupBy) == 0 {
		return "", false
	}
	// Every group_by label must be present: an alert without the service
	// label is not "the same service" as another one without it.
	b := e.groupBuf[:0]
	for _, l := range e.cfg.GroupBy {
		v := ls.Get(l)
		if l == e.topo.Label {
			v = service // the service it is about, not the exporter that saw it
		}
		if v == "" {
			return "", false
		}
		b = append(b, v...)
		b = append(b, 0xff)
	}
	e.groupBuf = b
	return string(b), true
}

// ---- incident changes ----

func (e *Engine) openIncident(rec *alertRec, start, at time.Time) *incident {
	e.nextInc++
	inc := &incident{
		seq:       e.nextInc,
		members:   map[model.Fingerprint]*alertRec{},
		tokens:    map[string]struct{}{},
		evidence:  map[evKey][]time.Time{},
		groupLast: map[string]time.Time{},
	}
	inc.ID = e.idPrefix() + fmt.Sprintf("INC-%d", e.nextInc)
	inc.Status = model.IncidentOpen
	inc.OpenedAt = start
	inc.UpdatedAt = at
	inc.lastActivity = at
	e.incs[inc.ID] = inc
	e.order = append(e.order, inc)
	e.open = append(e.open, inc)
	e.stats.IncidentsOpened++
	seed := model.Reason{Kind: model.ReasonSeed, Score: 1, Detail: "first alert of the incident"}
	if rec.noise {
		seed = e.noiseReason(rec)
	}
	e.addMember(inc, rec, seed, at)
	e.timelineRec(inc, at, "opened", rec.alert.Name(), rec)
	e.refresh(inc, at)
	e.event(model.EventOpened, inc, at)
	return inc
}

func (e *Engine) join(inc *incident, rec *alertRec, why model.Reason, at time.Time) {
	e.addMember(inc, rec, why, at)
	e.timelineRec(inc, at, "joined", rec.alert.Name()+": "+why.Detail, rec)
	e.refresh(inc, at)
	e.event(model.EventUpdated, inc, at)
}

func (e *Engine) addMember(inc *incident, rec *alertRec, why model.Reason, at time.Time) {
	rec.inc = inc
	_, dupMember := inc.members[rec.fp]
	if !dupMember {
		why.Detail = e.internDetail(why.Detail)
		inc.Members = append(inc.Members, model.Member{
			Fingerprint: rec.fp, Name: rec.alert.Name(), Service: rec.service, JoinedAt: at, Reason: why,
		})
	}
	inc.members[rec.fp] = rec
	if !dupMember && e.cfg.MaxAlertsPerIncident > 0 && len(inc.members) == e.cfg.MaxAlertsPerIncident {
		e.timeline(inc, at, "full", fmt.Sprintf("holds the maximum of %d alerts (correlate.max_alerts_per_incident): the alerts that belong with it open an overflow incident", e.cfg.MaxAlertsPerIncident))
	}
	if rec.hasGkey {
		inc.groupLast[rec.gkey] = at
	}
	if rec.firing {
		inc.firing++
	}
	inc.lastActivity = at
	inc.UpdatedAt = at
	for _, tok := range e.tokens(rec) {
		inc.tokens[tok] = struct{}{}
	}
	e.noteEpisode(inc, rec)
	e.index(inc, rec)
	e.aggregate(inc, rec, !dupMember)
	if !dupMember && (rec.hostLevel || !e.isSymptom(rec)) {
		inc.causes++
	}
}

// aggregate folds rec into the incident's summary (see incAgg).
func (e *Engine) aggregate(inc *incident, rec *alertRec, first bool) {
	a := &inc.agg
	// Each map on its own: a restored snapshot omits the empty ones.
	if a.Svc == nil {
		a.Svc = map[string]svcAgg{}
	}
	if a.HostSvcs == nil {
		a.HostSvcs = map[string]map[string]bool{}
	}
	if a.HostCount == nil {
		a.HostCount = map[string]int{}
	}
	if a.Earliest.Start.IsZero() || rec.episodeStart.Time().Before(a.Earliest.Start) {
		a.Earliest = svcAgg{Start: rec.episodeStart.Time(), Alert: rec.alert.Name()}
		inc.dirty = true
	}
	if sev := rec.alert.Labels.Get("severity"); severityRank(sev) > severityRank(inc.Severity) {
		inc.Severity = sev
	}
	if rec.hostLevel {
		if first {
			a.Hosts = append(a.Hosts, rec.fp)
			inc.dirty = true
		}
	} else if cur, ok := a.Svc[rec.service]; !ok || rec.episodeStart.Time().Before(cur.Start) {
		a.Svc[rec.service] = svcAgg{Start: rec.episodeStart.Time(), Alert: rec.alert.Name()}
		inc.dirty = true
		if !ok {
			i := sort.SearchStrings(inc.Services, rec.service)
			inc.Services = append(inc.Services, "")
			copy(inc.Services[i+1:], inc.Services[i:])
			inc.Services[i] = rec.service
		}
	}
	if !first {
		return
	}
	for _, l := range e.cfg.InfraLabels {
		v, _ := e.infraValue(rec, l)
		if v == "" {
			continue
		}
		key := l + "=" + v
		a.HostCount[key]++
		if !rec.hostLevel {
			m := a.HostSvcs[key]
			if m == nil {
				m = map[string]bool{}
				a.HostSvcs[key] = m
			}
			if !m[rec.service] {
				m[rec.service] = true
				inc.dirty = true
			}
		}
	}
}

// newEpisode records that a member fired again (a new episode of the
// same alert) in inc, keeping the membership history.
func (e *Engine) newEpisode(inc *incident, rec *alertRec, why model.Reason, at time.Time) {
	inc.Members = append(inc.Members, model.Member{
		Fingerprint: rec.fp, Name: rec.alert.Name(), Service: rec.service, JoinedAt: at, Reason: why,
	})
	if rec.hasGkey {
		inc.groupLast[rec.gkey] = at
	}
	e.index(inc, rec)
}

// noteEpisode records the start of a member's episode as evidence (see
// incident.evidence) and as the incident's latest start.
func (e *Engine) noteEpisode(inc *incident, rec *alertRec) {
	if rec.noise {
		// Background noise on a service is evidence only for a failure
		// of its host at nearly the same moment (see match).
		for _, l := range e.cfg.InfraLabels {
			if v, _ := e.infraValue(rec, l); v != "" && !rec.hostLevel {
				addEvidence(inc, evKey{evNoiseOnInfra, l + "=" + v}, rec.episodeStart.Time())
			}
		}
		return
	}
	if rec.episodeStart.Time().After(inc.lastStart) {
		inc.lastStart = rec.episodeStart.Time()
	}
	if rec.hostLevel {
		addEvidence(inc, evKey{evHostAlert, rec.alert.Name()}, rec.episodeStart.Time())
	}
	for _, l := range e.cfg.InfraLabels {
		if v, _ := e.infraValue(rec, l); v != "" {
			if rec.hostLevel {
				addEvidence(inc, evKey{evAnyHost, ""}, rec.episodeStart.Time())
				addEvidence(inc, evKey{evInfra, l + "=" + v}, rec.episodeStart.Time())
			} else {
				addEvidence(inc, evKey{evOnInfra, l + "=" + v}, rec.episodeStart.Time())
			}
		}
	}
	if rec.service == "" {
		return
	}
	addEvidence(inc, evKey{evService, rec.service}, rec.episodeStart.Time())
	if e.isSymptom(rec) {
		addEvidence(inc, evKey{evSymptom, rec.service}, rec.episodeStart.Time())
	}
	if e.isCause(rec) {
		addEvidence(inc, evKey{evCause, rec.service}, rec.episodeStart.Time())
	}
}

// index makes inc findable by rec's group key, service and infrastructure.
func (e *Engine) index(inc *incident, rec *alertRec) {
	if rec.hasGkey {
		e.byGroup[rec.gkey] = inc
	}
	if rec.service != "" {
		e.byService[rec.service] = addOnce(e.byService[rec.service], inc)
	}
	named := false
	for _, l := range e.cfg.InfraLabels {
		if v, _ := e.infraValue(rec, l); v != "" {
			key := l + "=" + v
			e.byInfra[key] = addOnce(e.byInfra[key], inc)
			named = true
		}
	}
	if rec.hostLevel {
		// Host alerts by name, and incidents with a host alert naming its
		// host: the infra signal's sameAlertHosts and unnamedHost look
		// there instead of through every open incident.
		k := hostAlertIndex(rec.alert.Name())
		e.byInfra[k] = addOnce(e.byInfra[k], inc)
		if named {
			e.byInfra[anyHostIndex] = addOnce(e.byInfra[anyHostIndex], inc)
		}
	}
}

// Keys of byInfra that are not label=value (a label name cannot hold a
// NUL byte): the incidents with a host-level member of an alert name, and
// those with a host-level member that names its host.
const anyHostIndex = "\x00host"

func hostAlertIndex(name string) string { return "\x00alert=" + name }

func addOnce(list []*incident, inc *incident) []*incident {
	for i := len(list) - 1; i >= 0; i-- {
		if list[i] == inc {
			return list
		}
	}
	return append(list, inc)
}

// merge moves every member of src into dst and retires src.
func (e *Engine) merge(dst, src *incident, why model.Reason, at time.Time) {
	moved := make([]*alertRec, 0, len(src.Members))
	for _, m := range src.Members {
		if rec := src.members[m.Fingerprint]; rec != nil {
			moved = append(moved, rec)
		}
	}
	for _, rec := range moved {
		if rec.firing {
			src.firing--
		}
		r := why
		r.Detail = fmt.Sprintf("merged from %s: %s", src.ID, why.Detail)
		e.addMember(dst, rec, r, at)
	}
	src.Members = src.Members[:0]
	clear(src.members)
	clear(src.tokens) // as a restart rebuilds them: from no members
	if src.OpenedAt.Before(dst.OpenedAt) {
		dst.OpenedAt = src.OpenedAt
	}
	e.timeline(dst, at, "merged", src.ID)
	e.refresh(dst, at)
	e.event(model.EventUpdated, dst, at)
	// src is superseded: it resolves with a pointer to dst.
	src.Status = model.IncidentResolved
	src.ResolvedAt = at
	src.UpdatedAt = at
	src.firing = 0
	e.timeline(src, at, "merged", "into "+dst.ID)
	e.dropOpen(src)
	e.event(model.EventResolved, src, at)
}

func (e *Engine) resolveAlert(rec *alertRec, at time.Time) {
	rec.firing = false
	e.firingN--
	rec.resolvedAt = toInstant(at)
	e.histAlert(rec, model.AlertResolved, at, int(max(rec.count-rec.fireCount, 0)))
	if rec.held {
		rec.held = false
		delete(e.held, rec.fp)
		return
	}
	inc := rec.inc
	if inc == nil || e.incs[inc.ID] != inc || inc.Status == model.IncidentResolved {
		return
	}
	e.queueRecheck(rec, inc, at)
	inc.firing--
	inc.UpdatedAt = maxTime(inc.UpdatedAt, at)
	if inc.firing > 0 {
		return
	}
	inc.firing = 0
	inc.Status = model.IncidentResolved
	inc.ResolvedAt = at
	e.slaResolved(inc, at)
	e.stats.IncidentsResolved++
	e.learnFrom(inc)
	e.timeline(inc, at, "resolved", "all alerts resolved")
	e.dropOpen(inc)
	e.event(model.EventResolved, inc, at)
}

func (e *Engine) dropOpen(inc *incident) {
	for i, o := range e.open {
		if o == inc {
			e.open = append(e.open[:i], e.open[i+1:]...)
			return
		}
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// atMax reports whether inc holds the maximum of alerts.
func (e *Engine) atMax(inc *incident) bool {
	return e.cfg.MaxAlertsPerIncident > 0 && len(inc.members) >= e.cfg.MaxAlertsPerIncident
}

// idPrefix returns what goes before incident and problem ids.
func (e *Engine) idPrefix() string {
	if e.cfg.IDPrefix == "" {
		return ""
	}
	return e.cfg.IDPrefix + "-"
}

func (e *Engine) timeline(inc *incident, at time.Time, ev, detail string) {
	e.timelineRec(inc, at, ev, detail, nil)
}

// maxTimeline bounds the timeline entries about single alerts (joined,
// flapping, moved, change) that an incident keeps: the first ones. The
// entries about the incident itself (opened, full, merged, resolved,
// reopened, problem, sla_breached and the agents' actions) are always
// kept, so that an incident of 10,000 alerts still says it is full and
// when it resolved. Every entry goes to history either way.
const maxTimeline = 200

// perAlertEntry reports whether a timeline event is about one alert of
// many (the entries bounded by maxTimeline).
func perAlertEntry(ev string) bool {
	switch ev {
	case "joined", "flapping", "moved", "change":
		return true
	}
	return false
}

// timelineRec adds a timeline entry about rec (nil: about the incident).
func (e *Engine) timelineRec(inc *incident, at time.Time, ev, detail string, rec *alertRec) {
	e.histLifecycle(inc, at, ev, detail, "", rec)
	if perAlertEntry(ev) && len(inc.Timeline) >= maxTimeline {
		n := 0
		for i := range inc.Timeline {
			if perAlertEntry(inc.Timeline[i].Event) {
				n++
			}
		}
		if n >= maxTimeline {
			return
		}
	}
	inc.Timeline = append(inc.Timeline, model.TimelineEntry{At: at, Event: ev, Detail: detail})
}

// eventDetail queues an event that carries a detail (never coalesced).
func (e *Engine) eventDetail(kind, detail string, inc *incident, at time.Time) {
	if e.emit {
		e.pending = append(e.pending, pendingEvent{kind: kind, detail: detail, at: at, inc: inc})
	}
}

func (e *Engine) event(kind string, inc *incident, at time.Time) {
	if !e.emit {
		return
	}
	if kind == model.EventUpdated {
		if i, ok := e.pendIdx[inc]; ok {
			e.pending[i].at = at
			return
		}
		if e.pendIdx == nil {
			e.pendIdx = map[*incident]int{}
		}
		e.pendIdx[inc] = len(e.pending)
	}
	e.pending = append(e.pending, pendingEvent{kind: kind, at: at, inc: inc})
}

// refresh recomputes the derived fields: root cause, title, services,
// severity, signature and problem link.
func (e *Engine) refresh(inc *incident, at time.Time) {
	if inc.dirty {
		inc.RootCause, inc.rootAlert = e.rootCause(inc)
		inc.dirty = false
	}
	rc, rootAlert := inc.RootCause, inc.rootAlert
	subject := rc.Service
	if subject == "" {
		subject = "unknown service"
	}
	inc.Title = fmt.Sprintf("%s: %s", subject, rootAlert)
	if n := len(inc.members); n > 1 {
		inc.Title += fmt.Sprintf(" (+%d related alert%s", n-1, plural(n-1))
		if len(inc.Services) > 1 {
			inc.Title += fmt.Sprintf(" on %d services", len(inc.Services))
		}
		inc.Title += ")"
	}
	sig := rc.Service + "|" + rootAlert
	if sig != inc.Signature {
		inc.Signature = sig
		e.bySig[sig] = append(e.bySig[sig], inc)
		e.linkProblem(sig, at)
	}
}

func severityRank(s string) int {
	switch strings.ToLower(s) {
	case "critical", "page", "error", "high", "disaster":
		return 4
	case "warning", "warn", "major", "average":
		return 3
	case "minor", "low":
		return 2
	case "info", "informational", "none":
		return 1
	}
	return 0
}

// linkProblem groups recurring incidents with one signature into a problem.
func (e *Engine) linkProblem(sig string, at time.Time) {
	if e.cfg.ProblemCount <= 0 {
		return
	}
	cutoff := at.Add(-time.Duration(e.cfg.ProblemWindow))
	var recent []*incident
	keep := e.bySig[sig][:0]
	for _, inc := range e.bySig[sig] {
		if inc.Signature != sig || e.incs[inc.ID] != inc {
			continue
		}
		keep = append(keep, inc)
		if !inc.OpenedAt.Before(cutoff) {
			recent = append(recent, inc)
		}
	}
	e.bySig[sig] = keep
	if len(recent) < e.cfg.ProblemCount {
		return
	}
	id := e.sigPrb[sig]
	p := e.problems[id]
	if p == nil {
		e.nextPrb++
		id = e.idPrefix() + fmt.Sprintf("PRB-%d", e.nextPrb)
		p = &model.Problem{ID: id, Signature: sig, FirstSeen: recent[0].OpenedAt}
		service, alert, _ := strings.Cut(sig, "|")
		p.Title = fmt.Sprintf("recurring: %s on %s", alert, service)
		e.problems[id] = p
		e.sigPrb[sig] = id
		e.stats.Problems++
	}
	for _, inc := range recent {
		if inc.Problem == id {
			continue
		}
		inc.Problem = id
		p.Incidents = append(p.Incidents, inc.ID)
		if inc.OpenedAt.After(p.LastSeen) {
			p.LastSeen = inc.OpenedAt
		}
		e.timeline(inc, at, "problem", fmt.Sprintf("linked to %s (%d incidents with this signature within %s)", id, len(recent), time.Duration(e.cfg.ProblemWindow)))
	}
}

// gc drops resolved incidents and alerts past retention.
func (e *Engine) gc() {
	cutoff := e.now.Add(-time.Duration(e.cfg.Retention))
	e.gcSilences()
	e.gcChanges()
	keep := e.order[:0]
	for _, inc := range e.order {
		if inc.Status == model.IncidentResolved && inc.ResolvedAt.Before(cutoff) {
			delete(e.incs, inc.ID)
			continue
		}
		keep = append(keep, inc)
	}
	for i := len(keep); i < len(e.order); i++ {
		e.order[i] = nil
	}
	e.order = keep
	// An alert that fired again in another incident is still a member of
	// the earlier ones: it stays while any of them does (a snapshot holds
	// members only through the alerts).
	var held map[*alertRec]bool
	for fp, rec := range e.alerts {
		if rec.inc != nil && e.incs[rec.inc.ID] != rec.inc {
			rec.inc = nil // collected: as a snapshot would have it
		}
		if !rec.firing && rec.lastSeen.Time().Before(cutoff) && rec.inc == nil {
			if held == nil {
				held = map[*alertRec]bool{}
				for _, inc := range e.order {
					for _, m := range inc.members {
						held[m] = true
					}
				}
			}
			if !held[rec] {
				delete(e.alerts, fp)
			}
		}
	}
	for k, list := range e.byService {
		e.byService[k] = pruneResolved(list, e.indexedSince())
		if len(e.byService[k]) == 0 {
			delete(e.byService, k)
		}
	}
	e.prunePlaces()
	for k, list := range e.byInfra {
		e.byInfra[k] = pruneResolved(list, e.indexedSince())
		if len(e.byInfra[k]) == 0 {
			delete(e.byInfra, k)
		}
	}
	for k, inc := range e.byGroup {
		if inc.Status == model.IncidentResolved {
			delete(e.byGroup, k)
		}
	}
	for sig, list := range e.bySig {
		keep := list[:0]
		for _, inc := range list {
			if e.incs[inc.ID] == inc && inc.Signature == sig {
				keep = append(keep, inc)
			}
		}
		if len(keep) == 0 {
			delete(e.bySig, sig)
		} else {
			e.bySig[sig] = keep
		}
	}
}

// pruneResolved drops the incidents resolved before since.
func pruneResolved(list []*incident, since time.Time) []*incident {
	keep := list[:0]
	for _, inc := range list {
		if inc.Status != model.IncidentResolved || !inc.ResolvedAt.Before(since) {
			keep = append(keep, inc)
		}
	}
	return keep
}

// indexedSince: resolved incidents stay findable by service and
// infrastructure for a window, for symptoms that recover with them (see
// recovery.go).
func (e *Engine) indexedSince() time.Time { return e.now.Add(-time.Duration(e.cfg.Window)) }

// ---- expiry heap ----

type expiryItem struct {
	at time.Time
	fp model.Fingerprint
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int { return len(h) }
func (h expiryHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].fp < h[j].fp
}
func (h expiryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)   { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
