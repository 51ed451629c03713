package storm

import (
	"bufio"
	"container/heap"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/sift-aiops/sift/model"
	"gopkg.in/yaml.v3"
)

// Episode kinds in the ground truth.
const (
	KindCascade = "cascade" // a failing service and its callers
	KindHost    = "host"    // a failing host and the services on it
	KindNoise   = "noise"   // an unrelated single alert
	KindFlap    = "flap"    // one alert firing and resolving repeatedly
)

// Episode is one line of the ground truth: one alert identity (labels
// without the replica label) over one span of time.
type Episode struct {
	Fingerprint model.Fingerprint `json:"fingerprint"`
	Incident    string            `json:"incident"`   // T<n> cascade/host, N<n> noise, F<n> flap
	RootCause   string            `json:"root_cause"` // service, or host:<hostname>
	FirstAt     time.Time         `json:"first_at"`   // earliest startsAt
	LastAt      time.Time         `json:"last_at"`    // last delivery (the resolution)
	Kind        string            `json:"kind"`
	// Cause marks an alert raised by the failing component itself (the
	// root-cause service, or the failing host), not a symptom elsewhere.
	Cause bool `json:"cause,omitempty"`
}

// Storm reports whether the episode belongs to a cascade or host failure.
func (e *Episode) Storm() bool { return e.Kind == KindCascade || e.Kind == KindHost }

// ReplayLine is one line of the replay input.
type ReplayLine struct {
	At    time.Time   `json:"at"`
	Alert model.Alert `json:"alert"`
}

// Stats describes a generated scenario.
type Stats struct {
	Lines     int64         `json:"lines"`    // alert notifications in the replay
	Firing    int64         `json:"firing"`   // of which firing
	Resolved  int64         `json:"resolved"` // of which resolutions
	Late      int64         `json:"late"`     // delivered late (beyond the normal few seconds)
	Episodes  int64         `json:"episodes"` // ground-truth lines
	Cascades  int           `json:"cascades"`
	HostFails int           `json:"host_failures"`
	Noise     int           `json:"noise"`
	Flaps     int           `json:"flaps"`
	Skipped   int64         `json:"skipped"` // planned alerts dropped because the same alert was already firing
	Elapsed   time.Duration `json:"elapsed_ns"`
}

// File names written by GenerateFiles.
const (
	ReplayFile = "replay.ndjson"
	TruthFile  = "truth.ndjson"
	ConfigFile = "sift.yaml"
)

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0xda3e39cb94b95bdb))
}

// GenerateFiles writes the scenario into dir (created if needed):
// replay.ndjson, truth.ndjson and sift.yaml.
func GenerateFiles(cfg Config, dir string) (*Stats, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cf, err := os.Create(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, err
	}
	if err := WriteSiftConfig(cfg, cf); err != nil {
		cf.Close()
		return nil, err
	}
	if err := cf.Close(); err != nil {
		return nil, err
	}
	rf, err := os.Create(filepath.Join(dir, ReplayFile))
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	tf, err := os.Create(filepath.Join(dir, TruthFile))
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	st, err := Generate(cfg, rf, tf)
	if err != nil {
		return nil, err
	}
	if err := rf.Close(); err != nil {
		return nil, err
	}
	return st, tf.Close()
}

// SiftConfig is the configuration written for Sift beside a scenario.
type SiftConfig struct {
	Correlate struct {
		Window      string   `yaml:"window"`
		GroupBy     []string `yaml:"group_by,flow"`
		InfraLabels []string `yaml:"infra_labels,flow"`
	} `yaml:"correlate"`
	Topology struct {
		Label     string              `yaml:"label"`
		DependsOn map[string]FlowList `yaml:"depends_on"`
	} `yaml:"topology"`
	Ingest struct {
		DropLabels []string `yaml:"drop_labels,flow"`
	} `yaml:"ingest"`
}

// FlowList is a string list written in YAML flow style ([a, b]).
type FlowList []string

// MarshalYAML implements yaml.Marshaler.
func (f FlowList) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range f {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s})
	}
	return n, nil
}

// prepare applies cfg's defaults, validates it and builds its topology.
func prepare(cfg Config) (Config, *Topology, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	topo, err := NewTopology(cfg.Topology, cfg.Cluster, cfg.Hosts, cfg.Seed)
	return cfg, topo, err
}

// NewSiftConfig returns the Sift configuration for the scenario.
func NewSiftConfig(cfg Config) (*SiftConfig, error) {
	cfg, topo, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	var sc SiftConfig
	sc.Correlate.Window = fmtDuration(cfg.Window)
	sc.Correlate.GroupBy = []string{"alertname", "service"}
	sc.Correlate.InfraLabels = []string{"host"}
	sc.Topology.Label = "service"
	sc.Topology.DependsOn = map[string]FlowList{}
	for k, v := range topo.dependsOn() {
		sc.Topology.DependsOn[k] = v
	}
	sc.Ingest.DropLabels = []string{"replica"}
	return &sc, nil
}

// WriteSiftConfig writes the Sift configuration YAML for the scenario.
func WriteSiftConfig(cfg Config, w io.Writer) error {
	sc, err := NewSiftConfig(cfg)
	if err != nil {
		return err
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(sc); err != nil {
		return err
	}
	return enc.Close()
}

func fmtDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

type span struct{ start, end time.Time }

type delivery struct {
	at       time.Time
	seq      uint64
	line     []byte
	resolved bool
}

type deliveryHeap []delivery

func (h deliveryHeap) Len() int { return len(h) }
func (h deliveryHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h deliveryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *deliveryHeap) Push(x any)   { *h = append(*h, x.(delivery)) }
func (h *deliveryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = delivery{}
	*h = old[:len(old)-1]
	return x
}

type sched struct {
	at   time.Time
	kind int
}

const (
	schCascade = iota
	schHost
	schNoise
	schFlap
)

type generator struct {
	cfg   Config
	topo  *Topology
	voc   *Vocabulary
	r     *rand.Rand
	out   *bufio.Writer
	tout  *bufio.Writer
	pend  deliveryHeap
	truth deliveryHeap
	seq   uint64
	busy  map[model.Fingerprint][]span
	gap   time.Duration
	now   time.Time
	nT    int
	nN    int
	nF    int
	st    Stats
	err   error
}

// Generate writes the replay input to replay and the ground truth to
// truth, streaming: memory stays bounded by the alerts active at a time.
func Generate(cfg Config, replay, truth io.Writer) (*Stats, error) {
	began := time.Now()
	cfg, topo, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	voc := BuiltinVocabulary()
	if cfg.RulesFile != "" {
		if voc, err = LoadVocabulary(cfg.RulesFile); err != nil {
			return nil, err
		}
	}
	g := &generator{cfg: cfg, topo: topo, voc: voc, r: newRand(cfg.Seed),
		out: bufio.NewWriterSize(replay, 1<<20), tout: bufio.NewWriterSize(truth, 1<<18),
		busy: map[model.Fingerprint][]span{}, gap: max(15*time.Minute, 3*cfg.Window)}

	// The schedule of incident starts: one Poisson process per kind.
	var plan []sched
	end := cfg.Start.Add(cfg.Duration)
	for kind, rate := range []float64{cfg.IncidentsPerHour, cfg.HostFailuresPerHour, cfg.NoisePerHour, cfg.FlapsPerHour} {
		if rate <= 0 {
			continue
		}
		pr := newRand(cfg.Seed*4 + uint64(kind) + 1)
		t := cfg.Start
		for {
			t = t.Add(time.Duration(pr.ExpFloat64() / rate * float64(time.Hour))).Truncate(time.Millisecond)
			if !t.Before(end) {
				break
			}
			plan = append(plan, sched{t, kind})
		}
	}
	sort.SliceStable(plan, func(i, j int) bool {
		if !plan[i].at.Equal(plan[j].at) {
			return plan[i].at.Before(plan[j].at)
		}
		return plan[i].kind < plan[j].kind
	})
	for _, p := range plan {
		g.flush(p.at)
		g.now = p.at
		switch p.kind {
		case schCascade:
			g.cascadePair(p.at)
		case schHost:
			g.hostFailure(p.at)
		case schNoise:
			g.noise(p.at)
		case schFlap:
			g.flap(p.at)
		}
		if g.err != nil {
			return nil, g.err
		}
	}
	g.flush(time.Time{})
	if g.err != nil {
		return nil, g.err
	}
	if err := g.out.Flush(); err != nil {
		return nil, err
	}
	if err := g.tout.Flush(); err != nil {
		return nil, err
	}
	g.st.Elapsed = time.Since(began)
	return &g.st, nil
}

// flush writes every pending line due before t (all of them if t is zero).
func (g *generator) flush(t time.Time) {
	for g.pend.Len() > 0 && (t.IsZero() || g.pend[0].at.Before(t)) {
		d := heap.Pop(&g.pend).(delivery)
		if _, err := g.out.Write(d.line); err != nil && g.err == nil {
			g.err = err
		}
	}
	for g.truth.Len() > 0 && (t.IsZero() || g.truth[0].at.Before(t)) {
		d := heap.Pop(&g.truth).(delivery)
		if _, err := g.tout.Write(d.line); err != nil && g.err == nil {
			g.err = err
		}
	}
}

func (g *generator) uniform(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)))
}

func (g *generator) failureDuration() time.Duration {
	m := float64(g.cfg.MeanFailure)
	d := time.Duration(g.r.ExpFloat64() * m)
	return min(max(d, 3*time.Minute), time.Duration(6*m)+3*time.Minute)
}

// pickRules returns n distinct rules (by name) from rs.
func (g *generator) pickRules(rs []Rule, n int) []Rule {
	idx := g.r.Perm(len(rs))
	var out []Rule
	seen := map[string]bool{}
	for _, i := range idx {
		if len(out) == n {
			break
		}
		if !seen[rs[i].Name] {
			seen[rs[i].Name] = true
			out = append(out, rs[i])
		}
	}
	return out
}

func (g *generator) serviceLabels(s string, rule Rule) model.LabelSet {
	return model.LabelSet{
		"alertname": rule.Name, "severity": rule.Severity, "cluster": g.topo.Cluster,
		"namespace": g.topo.Apps[g.topo.AppOf[s]].Name, "service": s, "job": s,
		"instance": g.topo.instance(s),
	}
}

func (g *generator) hostLabels(h string, rule Rule) model.LabelSet {
	return model.LabelSet{
		"alertname": rule.Name, "severity": rule.Severity, "cluster": g.topo.Cluster,
		"host": h, "instance": h + ":9100", "job": "node-exporter",
	}
}

// cascadePair starts a cascade and, sometimes, a concurrent one on an
// unrelated part of the graph.
func (g *generator) cascadePair(t time.Time) {
	root := g.topo.Services[g.r.IntN(len(g.topo.Services))]
	affected := g.cascade(t, root)
	if g.cfg.OverlapFraction <= 0 || g.r.Float64() >= g.cfg.OverlapFraction {
		return
	}
	var disjoint, weak []string
	for _, s := range g.topo.Services {
		if affected[s] {
			continue
		}
		up, _ := g.topo.Upstream(s)
		touches, reaches := false, false
		for _, u := range up {
			if affected[u] {
				touches = true
			}
			if u == root {
				reaches = true
			}
		}
		if !touches {
			disjoint = append(disjoint, s)
		} else if !reaches {
			weak = append(weak, s)
		}
	}
	cands := disjoint
	if len(cands) == 0 {
		cands = weak
	}
	if len(cands) == 0 {
		return
	}
	g.cascade(t.Add(g.uniform(0, 3*time.Minute)), cands[g.r.IntN(len(cands))])
}

// cascade fails service root at t; its callers alert later. It returns
// the services involved.
func (g *generator) cascade(t time.Time, root string) map[string]bool {
	g.nT++
	g.st.Cascades++
	id := fmt.Sprintf("T%d", g.nT)
	d := g.failureDuration()
	affected := map[string]bool{root: true}
	for _, rule := range g.pickRules(g.voc.Own, 1+g.r.IntN(3)) {
		st := t.Add(g.uniform(0, 90*time.Second))
		en := t.Add(d + g.uniform(0, 2*time.Minute))
		g.alert(g.serviceLabels(root, rule), rule, []span{{st, en}}, id, root, KindCascade)
	}
	ups, hops := g.topo.Upstream(root)
	for i, c := range ups {
		affected[c] = true
		if g.r.Float64() >= g.cfg.CallerAlertProb {
			continue
		}
		delay := time.Duration(hops[i])*g.uniform(20*time.Second, 2*time.Minute) + g.uniform(0, time.Minute)
		st := t.Add(delay)
		en := t.Add(d + g.uniform(30*time.Second, 3*time.Minute))
		if en.Sub(st) < time.Minute {
			continue
		}
		for _, rule := range g.pickRules(g.voc.Caller, 1+g.r.IntN(2)) {
			g.alert(g.serviceLabels(c, rule), rule, []span{{st.Add(g.uniform(0, 20*time.Second)), en}}, id, root, KindCascade)
		}
	}
	return affected
}

// hostFailure takes a host down: the host alerts, every service on it
// alerts with the host label, some callers elsewhere alert too.
func (g *generator) hostFailure(t time.Time) {
	g.nT++
	g.st.HostFails++
	id := fmt.Sprintf("T%d", g.nT)
	h := g.topo.Hosts[g.r.IntN(len(g.topo.Hosts))]
	root := "host:" + h
	d := g.failureDuration()
	for _, rule := range g.pickRules(g.voc.Host, 1+g.r.IntN(2)) {
		g.alert(g.hostLabels(h, rule), rule, []span{{t.Add(g.uniform(0, time.Minute)), t.Add(d + g.uniform(0, time.Minute))}}, id, root, KindHost)
	}
	onHost := map[string]bool{}
	for _, s := range g.topo.OnHost[h] {
		onHost[s] = true
	}
	callersSeen := map[string]bool{}
	for _, s := range g.topo.OnHost[h] {
		rule := g.voc.HostService[g.r.IntN(len(g.voc.HostService))]
		ls := g.serviceLabels(s, rule)
		ls["host"] = h
		g.alert(ls, rule, []span{{t.Add(g.uniform(15*time.Second, 2*time.Minute)), t.Add(d + g.uniform(0, 2*time.Minute))}}, id, root, KindHost)
		for _, c := range g.topo.Callers[s] {
			if onHost[c] || callersSeen[c] {
				continue
			}
			callersSeen[c] = true
			if g.r.Float64() >= g.cfg.CallerAlertProb*0.6 {
				continue
			}
			rule := g.voc.Caller[g.r.IntN(len(g.voc.Caller))]
			g.alert(g.serviceLabels(c, rule), rule, []span{{t.Add(g.uniform(time.Minute, 4*time.Minute)), t.Add(d + g.uniform(30*time.Second, 3*time.Minute))}}, id, root, KindHost)
		}
	}
}

func (g *generator) noise(t time.Time) {
	g.nN++
	g.st.Noise++
	id := fmt.Sprintf("N%d", g.nN)
	d := min(2*time.Minute+time.Duration(g.r.ExpFloat64()*float64(25*time.Minute)), 4*time.Hour)
	sp := []span{{t, t.Add(d)}}
	if g.r.IntN(4) == 0 {
		h := g.topo.Hosts[g.r.IntN(len(g.topo.Hosts))]
		rule := g.voc.NoiseHost[g.r.IntN(len(g.voc.NoiseHost))]
		g.alert(g.hostLabels(h, rule), rule, sp, id, "host:"+h, KindNoise)
		return
	}
	s := g.topo.Services[g.r.IntN(len(g.topo.Services))]
	rule := g.voc.NoiseSvc[g.r.IntN(len(g.voc.NoiseSvc))]
	g.alert(g.serviceLabels(s, rule), rule, sp, id, s, KindNoise)
}

func (g *generator) flap(t time.Time) {
	g.nF++
	g.st.Flaps++
	id := fmt.Sprintf("F%d", g.nF)
	s := g.topo.Services[g.r.IntN(len(g.topo.Services))]
	pool := g.voc.Caller
	if g.r.IntN(2) == 0 {
		pool = g.voc.NoiseSvc
	}
	rule := pool[g.r.IntN(len(pool))]
	var sp []span
	at := t
	for i, n := 0, 3+g.r.IntN(6); i < n; i++ {
		en := at.Add(g.uniform(time.Minute, 5*time.Minute))
		sp = append(sp, span{at, en})
		at = en.Add(g.uniform(time.Minute, 6*time.Minute))
	}
	g.alert(g.serviceLabels(s, rule), rule, sp, id, s, KindFlap)
}

func (g *generator) delay() (time.Duration, bool) {
	d := g.uniform(0, 3*time.Second)
	if g.cfg.LateFraction > 0 && g.cfg.MaxLate > 0 && g.r.Float64() < g.cfg.LateFraction {
		return d + g.uniform(5*time.Second, g.cfg.MaxLate), true
	}
	return d, false
}

func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

// alert plans all deliveries of one alert episode (every replica, every
// resend, the resolutions) and queues them with its ground-truth line.
// An alert whose identity is already firing (or was, within the gap) is
// dropped: Prometheus would not raise it twice.
func (g *generator) alert(ls model.LabelSet, rule Rule, spans []span, inc, root, kind string) {
	for i := range spans {
		spans[i].start, spans[i].end = ms(spans[i].start), ms(spans[i].end)
	}
	fp := ls.Fingerprint()
	value := math.Round(g.r.Float64()*10000) / 100
	ann := map[string]string{
		"summary":     render(rule.Summary, ls, value),
		"description": render(rule.Description, ls, value),
	}
	annJSON, _ := json.Marshal(ann)
	R := g.cfg.ResendInterval
	var lines []delivery
	var late int64
	first, last := spans[0].start, spans[0].start
	for rep := 0; rep < g.cfg.HAReplicas; rep++ {
		labels := ls
		replica := ""
		var off time.Duration
		if g.cfg.HAReplicas > 1 {
			replica = string(rune('a' + rep))
			labels = ls.Clone()
			labels["replica"] = replica
			if rep > 0 {
				off = ms1(g.uniform(0, 15*time.Second))
			}
		}
		lblJSON, _ := json.Marshal(map[string]string(labels))
		prom := "prometheus"
		if replica != "" {
			prom += "-" + replica
		}
		prefix := fmt.Appendf(nil, `,"alert":{"labels":%s,"annotations":%s,"startsAt":"`, lblJSON, annJSON)
		suffix := fmt.Appendf(nil, `,"generatorURL":"http://%s.monitoring:9090/graph?g0.expr=ALERTS%%7Balertname%%3D%%22%s%%22%%7D"}}`+"\n", prom, rule.Name)
		var prev time.Time
		emit := func(nominal time.Time, startsAt, endsAt time.Time, resolved bool) {
			d, isLate := g.delay()
			at := ms(nominal.Add(d))
			if !prev.IsZero() && !at.After(prev) {
				at = prev.Add(time.Millisecond)
			}
			prev = at
			if isLate {
				late++
			}
			if !resolved && R > 0 {
				endsAt = at.Add(4 * R)
			}
			b := make([]byte, 0, len(prefix)+len(suffix)+110)
			b = append(b, `{"at":"`...)
			b = at.AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
			b = append(b, prefix...)
			b = startsAt.AppendFormat(b, time.RFC3339Nano)
			b = append(b, '"')
			if !endsAt.IsZero() {
				b = append(b, `,"endsAt":"`...)
				b = endsAt.AppendFormat(b, time.RFC3339Nano)
				b = append(b, '"')
			}
			b = append(b, suffix...)
			lines = append(lines, delivery{at: at, line: b, resolved: resolved})
			if at.After(last) {
				last = at
			}
		}
		for _, sp := range spans {
			st, en := sp.start.Add(off), sp.end.Add(off)
			if R > 0 {
				for n := st; n.Before(en); n = n.Add(R) {
					emit(n, st, time.Time{}, false)
				}
			} else {
				emit(st, st, time.Time{}, false)
			}
			emit(en, st, en, true)
		}
	}
	// Already firing (or just was)? Then this episode does not happen.
	iv := g.busy[fp]
	keep := iv[:0]
	for _, s := range iv {
		if s.end.Add(g.gap).After(g.now) {
			keep = append(keep, s)
		}
	}
	iv = keep
	for _, s := range iv {
		if first.Before(s.end.Add(g.gap)) && last.After(s.start.Add(-g.gap)) {
			g.busy[fp] = iv
			g.st.Skipped++
			return
		}
	}
	if len(iv) == 0 {
		delete(g.busy, fp)
	}
	g.busy[fp] = append(iv, span{first, last})

	for _, l := range lines {
		l.seq = g.seq
		g.seq++
		heap.Push(&g.pend, l)
		g.st.Lines++
		if l.resolved {
			g.st.Resolved++
		} else {
			g.st.Firing++
		}
	}
	g.st.Late += late
	ep := Episode{Fingerprint: fp, Incident: inc, RootCause: root, FirstAt: first, LastAt: last, Kind: kind, Cause: isCause(ls, root, kind)}
	eb, _ := json.Marshal(ep)
	eb = append(eb, '\n')
	heap.Push(&g.truth, delivery{at: first, seq: g.seq, line: eb})
	g.seq++
	g.st.Episodes++
}

// isCause reports whether an alert with labels ls is raised by the
// failing component of a storm with root cause root.
func isCause(ls model.LabelSet, root, kind string) bool {
	switch kind {
	case KindCascade:
		return ls["service"] == root
	case KindHost:
		return ls["service"] == "" && "host:"+ls["host"] == root
	}
	return false
}

func ms1(d time.Duration) time.Duration { return d.Truncate(time.Millisecond) }
