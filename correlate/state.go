package correlate

import (
	"bytes"
	"container/heap"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

const snapshotVersion = 1

type snapAlert struct {
	FP           model.Fingerprint `json:"fp"`
	Alert        recAlert          `json:"alert"` // the JSON of a model.Alert
	Status       string            `json:"status"`
	FirstSeen    time.Time         `json:"firstSeen"`
	LastSeen     time.Time         `json:"lastSeen"`
	EpisodeStart time.Time         `json:"episodeStart"`
	ResolvedAt   time.Time         `json:"resolvedAt,omitzero"`
	Count        int               `json:"count"`
	FireCount    int               `json:"fireCount,omitempty"`
	Fires        []time.Time       `json:"fires,omitempty"`
	Flapping     bool              `json:"flapping,omitempty"`
	Incident     string            `json:"incident,omitempty"`
	Noise        bool              `json:"noise,omitempty"`
	Probe        bool              `json:"probe,omitempty"`
	Held         bool              `json:"held,omitempty"`
	Placed       string            `json:"placed,omitempty"` // label=value learned (placement.go)
	// Tokens: the words read from the first notification, when a later
	// one changed the summary (see Engine.tokens).
	Tokens []string `json:"tokens,omitempty"`
}

type snapIncident struct {
	model.Incident
	Seq          uint64                 `json:"seq"`
	Firing       int                    `json:"firing"`
	LastActivity time.Time              `json:"lastActivity"`
	Manual       bool                   `json:"manual,omitempty"`
	RootAlert    string                 `json:"rootAlert,omitempty"`
	Evidence     map[string][]time.Time `json:"evidence,omitempty"`
	GroupLast    map[string]time.Time   `json:"groupLast,omitempty"` // hex(group key) -> time
	LastStart    time.Time              `json:"lastStart"`
	Agg          incAgg                 `json:"agg"`
	Causes       int                    `json:"causes"`
	Learned      bool                   `json:"learned,omitempty"`
}

type snapshot struct {
	Version   int                  `json:"version"`
	Now       time.Time            `json:"now"`
	LastGC    time.Time            `json:"lastGC"`
	EvictAt   int                  `json:"evictAt,omitempty"` // see Engine.evictResolved
	NextInc   uint64               `json:"nextInc"`
	NextPrb   uint64               `json:"nextPrb"`
	Stats     Stats                `json:"stats"`
	Incidents []snapIncident       `json:"incidents"`
	Alerts    []snapAlert          `json:"alerts"`
	Problems  []*model.Problem     `json:"problems"`
	ByGroup   map[string]string    `json:"byGroup"` // hex(group key) -> incident
	Names     map[string]*nameStat `json:"names,omitempty"`
	Rechecks  []snapRecheck        `json:"rechecks,omitempty"`
	// The indexes as they are: an incident stays findable by what its
	// members showed until gc prunes it, and by what a member that left
	// showed; only the keys of a member that reopened it come back.
	ByService map[string][]string `json:"byService,omitempty"`
	ByInfra   map[string][]string `json:"byInfra,omitempty"`
	BySig     map[string][]string `json:"bySig,omitempty"`
	Silences  []model.Silence     `json:"silences,omitempty"`
	Changes   []model.Change      `json:"changes,omitempty"`
	// Learned: dependency edges by source (learned.go).
	Learned map[string]map[string][]string `json:"learned,omitempty"`
	// Places: where services and workloads ran (placement.go).
	Places map[string][]placed `json:"places,omitempty"`
}

type snapRecheck struct {
	FP       model.Fingerprint `json:"fp"`
	From     string            `json:"from"`
	Resolved time.Time         `json:"resolved"`
	Due      time.Time         `json:"due"`
}

// Snapshot serialises the engine state. Restore(Snapshot()) on an engine
// with the same configuration continues exactly where this one is.
func (e *Engine) Snapshot() ([]byte, error) { return e.Capture().Encode() }

// Captured is a copy of the engine state that shares nothing mutable with
// the engine: it can be encoded while the engine goes on.
type Captured struct{ s snapshot }

// Encode serialises a captured state (see Snapshot).
func (c *Captured) Encode() ([]byte, error) {
	var b bytes.Buffer
	err := c.EncodeTo(&b)
	return b.Bytes(), err
}

// snapshotRest is a snapshot without its two long lists (the shallower
// fields hide the embedded ones from encoding/json).
type snapshotRest struct {
	*snapshot
	Incidents []struct{} `json:"incidents,omitempty"`
	Alerts    []struct{} `json:"alerts,omitempty"`
}

// EncodeTo writes what Encode returns, one incident and one alert at a
// time: the encoding of a million alerts is never held whole in memory.
// It is the JSON of the snapshot, its two long lists first.
func (c *Captured) EncodeTo(w io.Writer) error {
	rest, err := json.Marshal(snapshotRest{snapshot: &c.s})
	if err != nil {
		return err
	}
	var buf []byte
	list := func(open string, n int, item func(i int) ([]byte, error)) error {
		buf = append(buf[:0], open...)
		for i := range n {
			if i > 0 {
				buf = append(buf, ',')
			}
			b, err := item(i)
			if err != nil {
				return err
			}
			buf = append(buf, b...)
			if len(buf) >= 64<<10 {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		buf = append(buf, ']')
		_, err := w.Write(buf)
		return err
	}
	if err := list(`{"incidents":[`, len(c.s.Incidents), func(i int) ([]byte, error) { return json.Marshal(&c.s.Incidents[i]) }); err != nil {
		return err
	}
	if err := list(`,"alerts":[`, len(c.s.Alerts), func(i int) ([]byte, error) { return json.Marshal(&c.s.Alerts[i]) }); err != nil {
		return err
	}
	if len(rest) > 2 {
		if _, err := w.Write([]byte{','}); err != nil {
			return err
		}
	}
	_, err = w.Write(rest[1:])
	return err
}

// Capture copies the engine state, so that the expensive encoding can run
// outside the lock that serialises access to the engine. It copies what
// the engine changes in place (member lists, evidence, statistics) and
// shares what it only ever replaces (alert label and annotation sets).
func (e *Engine) Capture() *Captured {
	s := snapshot{Version: snapshotVersion, Now: e.now, LastGC: e.lastGC, EvictAt: e.evictAt, NextInc: e.nextInc, NextPrb: e.nextPrb, Stats: e.stats,
		ByGroup: make(map[string]string, len(e.byGroup)), Names: make(map[string]*nameStat, len(e.names))}
	for k, v := range e.names {
		c := *v
		s.Names[k] = &c
	}
	for _, inc := range e.order {
		if e.incs[inc.ID] != inc {
			continue
		}
		si := snapIncident{Incident: *e.export(inc), Seq: inc.seq, Firing: inc.firing, LastActivity: inc.lastActivity,
			Manual: inc.manual, RootAlert: inc.rootAlert, Evidence: make(map[string][]time.Time, len(inc.evidence)),
			LastStart: inc.lastStart, Agg: inc.agg.clone(), Causes: inc.causes, Learned: inc.learned,
			GroupLast: make(map[string]time.Time, len(inc.groupLast))}
		for k, v := range inc.evidence {
			si.Evidence[k.String()] = slices.Clone(v)
		}
		for k, v := range inc.groupLast {
			si.GroupLast[fmt.Sprintf("%x", k)] = v
		}
		s.Incidents = append(s.Incidents, si)
	}
	s.Alerts = make([]snapAlert, 0, len(e.alerts))
	for _, rec := range e.alerts {
		sa := snapAlert{FP: rec.fp, Alert: rec.alert, Status: rec.statusName(), FirstSeen: rec.firstSeen.Time(), LastSeen: rec.lastSeen.Time(),
			EpisodeStart: rec.episodeStart.Time(), ResolvedAt: rec.resolvedAt.Time(), Count: int(rec.count), FireCount: int(rec.fireCount), Fires: instantTimes(rec.fires),
			Flapping: rec.flapping, Noise: rec.noise, Probe: rec.probe, Held: rec.held, Placed: e.placedKey(rec)}
		if rec.inc != nil && e.incs[rec.inc.ID] == rec.inc {
			sa.Incident = rec.inc.ID
		}
		if rec.oldWords {
			sa.Tokens = rec.tokens // never changed in place: shared
		}
		s.Alerts = append(s.Alerts, sa)
	}
	for _, r := range e.rechecks {
		s.Rechecks = append(s.Rechecks, snapRecheck{FP: r.fp, From: r.from.ID, Resolved: r.resolved, Due: r.due})
	}
	for _, p := range e.problems {
		c := *p
		c.Incidents = slices.Clone(p.Incidents)
		s.Problems = append(s.Problems, &c)
	}
	for k, inc := range e.byGroup {
		if e.incs[inc.ID] == inc {
			s.ByGroup[fmt.Sprintf("%x", k)] = inc.ID
		}
	}
	s.ByService, s.ByInfra, s.BySig = e.captureIndex(e.byService), e.captureIndex(e.byInfra), e.captureIndex(e.bySig)
	for _, r := range e.sil.byID {
		c := r.s
		c.Matchers = slices.Clone(c.Matchers)
		s.Silences = append(s.Silences, c)
	}
	slices.SortFunc(s.Silences, func(a, b model.Silence) int { return strings.Compare(a.ID, b.ID) })
	for _, c := range e.changes.order {
		s.Changes = append(s.Changes, *c)
	}
	if len(e.learned) > 0 {
		s.Learned = e.LearnedTopology()
	}
	if len(e.places) > 0 {
		s.Places = make(map[string][]placed, len(e.places))
		for k, v := range e.places {
			s.Places[k] = slices.Clone(v)
		}
	}
	return &Captured{s: s}
}

// captureIndex lists the live incidents of each key of an index, in order.
func (e *Engine) captureIndex(idx map[string][]*incident) map[string][]string {
	out := make(map[string][]string, len(idx))
	for k, list := range idx {
		ids := make([]string, 0, len(list))
		for _, inc := range list {
			if e.incs[inc.ID] == inc {
				ids = append(ids, inc.ID)
			}
		}
		if len(ids) > 0 {
			out[k] = ids
		}
	}
	return out
}

// restoreIndex rebuilds an index captured by captureIndex.
func (e *Engine) restoreIndex(saved map[string][]string) map[string][]*incident {
	idx := make(map[string][]*incident, len(saved))
	for k, ids := range saved {
		for _, id := range ids {
			if inc := e.incs[id]; inc != nil {
				idx[k] = append(idx[k], inc)
			}
		}
	}
	return idx
}

// clone returns a deep copy of the aggregate.
func (a incAgg) clone() incAgg {
	c := a
	c.Svc = maps.Clone(a.Svc)
	c.Hosts = slices.Clone(a.Hosts)
	c.HostCount = maps.Clone(a.HostCount)
	if a.HostSvcs != nil {
		c.HostSvcs = make(map[string]map[string]bool, len(a.HostSvcs))
		for k, v := range a.HostSvcs {
			c.HostSvcs[k] = maps.Clone(v)
		}
	}
	return c
}

// Restore replaces the engine state with a snapshot.
func (e *Engine) Restore(data []byte) error {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("correlate: decode snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("correlate: snapshot version %d, want %d", s.Version, snapshotVersion)
	}
	fresh := New(e.cfg, e.topo)
	fresh.emit = e.emit
	fresh.slaPolicy = e.slaPolicy
	fresh.maxAlerts = e.maxAlerts
	*e = *fresh
	e.evictAt = s.EvictAt
	e.now, e.lastGC, e.nextInc, e.nextPrb, e.stats = s.Now, s.LastGC, s.NextInc, s.NextPrb, s.Stats
	if s.Names != nil {
		e.names = s.Names
	}
	for _, si := range s.Incidents {
		inc := &incident{Incident: si.Incident, seq: si.Seq, firing: si.Firing, lastActivity: si.LastActivity, manual: si.Manual,
			members: map[model.Fingerprint]*alertRec{}, tokens: map[string]struct{}{},
			rootAlert: si.RootAlert, evidence: make(map[evKey][]time.Time, len(si.Evidence)), lastStart: si.LastStart, agg: si.Agg, causes: si.Causes, learned: si.Learned, groupLast: map[string]time.Time{}}
		for sk, v := range si.Evidence {
			if k, ok := parseEvKey(sk); ok {
				inc.evidence[k] = v
			}
		}
		for hk, v := range si.GroupLast {
			k, err := unhex(hk)
			if err != nil {
				return err
			}
			inc.groupLast[k] = v
		}
		e.incs[inc.ID] = inc
		e.order = append(e.order, inc)
		if inc.Status != model.IncidentResolved {
			e.open = append(e.open, inc)
			e.queueSLA(inc)
		}
	}
	for _, sa := range s.Alerts {
		rec := &alertRec{fp: sa.FP, alert: sa.Alert, firing: sa.Status == model.StatusFiring, firstSeen: toInstant(sa.FirstSeen), lastSeen: toInstant(sa.LastSeen),
			episodeStart: toInstant(sa.EpisodeStart), resolvedAt: toInstant(sa.ResolvedAt), count: int32(min(sa.Count, math.MaxInt32)), fireCount: int32(min(sa.FireCount, math.MaxInt32)), fires: timeInstants(sa.Fires), flapping: sa.Flapping, noise: sa.Noise, probe: sa.Probe, held: sa.Held}
		if sa.Placed != "" {
			rec.placed = e.placeKey(sa.Placed)
		}
		e.initRec(rec)
		if rec.held {
			if e.held == nil {
				e.held = map[model.Fingerprint]*alertRec{}
			}
			e.held[rec.fp] = rec
		}
		if sa.Tokens != nil {
			rec.tokens, rec.oldWords = sa.Tokens, true
		}
		e.alerts[rec.fp] = rec
		if inc := e.incs[sa.Incident]; inc != nil {
			rec.inc = inc
		}
		if rec.firing {
			e.firingN++
			e.pushExpiry(rec)
		}
	}
	// An incident's members are every alert that joined it, including
	// those that fired again later in another incident.
	for _, inc := range e.order {
		for _, m := range inc.Members {
			if rec := e.alerts[m.Fingerprint]; rec != nil && inc.members[rec.fp] == nil {
				inc.members[rec.fp] = rec
				for _, tok := range e.tokens(rec) {
					inc.tokens[tok] = struct{}{}
				}
			}
		}
	}
	if s.ByService != nil || s.ByInfra != nil {
		e.byService, e.byInfra = e.restoreIndex(s.ByService), e.restoreIndex(s.ByInfra)
	} else { // a snapshot of an earlier version: derive them
		for _, inc := range e.order {
			if inc.Status == model.IncidentResolved && inc.ResolvedAt.Before(e.indexedSince()) {
				continue
			}
			for _, m := range inc.Members {
				if rec := inc.members[m.Fingerprint]; rec != nil {
					e.index(inc, rec)
				}
			}
		}
	}
	e.byGroup = map[string]*incident{}
	for hk, id := range s.ByGroup {
		k, err := unhex(hk)
		if err != nil {
			return err
		}
		if inc := e.incs[id]; inc != nil {
			e.byGroup[k] = inc
		}
	}
	if s.BySig != nil {
		e.bySig = e.restoreIndex(s.BySig)
	} else {
		for _, inc := range e.order {
			if inc.Signature != "" {
				e.bySig[inc.Signature] = append(e.bySig[inc.Signature], inc)
			}
		}
	}
	for _, p := range s.Problems {
		e.problems[p.ID] = p
		e.sigPrb[p.Signature] = p.ID
	}
	for _, r := range s.Rechecks {
		if inc := e.incs[r.From]; inc != nil {
			e.rechecks = append(e.rechecks, recheck{fp: r.FP, from: inc, resolved: r.Resolved, due: r.Due})
		}
	}
	for _, sl := range s.Silences {
		ms, err := sl.Compile()
		if err != nil {
			return fmt.Errorf("correlate: snapshot silence %s: %w", sl.ID, err)
		}
		e.sil.put(&silenceRec{s: sl, ms: ms})
	}
	e.silNext = e.silenceEndAfter(e.now)
	for _, c := range s.Changes {
		e.changes.put(c)
	}
	if s.Places != nil {
		e.places = s.Places
	}
	if len(s.Learned) > 0 {
		e.learned = s.Learned
		e.rebuildGraphs()
	}
	heap.Init(&e.expiry)
	return nil
}

func unhex(s string) (string, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("correlate: snapshot group key %q: %w", s, err)
	}
	return string(b), nil
}
