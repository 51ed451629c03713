// Package stormfamily generates alert-storm scenarios of other "families"
// than benchmarks/storm, to evaluate correlation on conventions Sift was
// not tuned on (issue #12):
//
//   - "kube": the DeathStarBench hotel-reservation application on
//     Kubernetes, monitored the kube-prometheus way (namespace/pod/
//     container/job/service labels, infrastructure alerts carrying the
//     exporter's service, two Prometheus replicas, `for:` delays,
//     warning-level causes);
//   - "legacy": the Sock Shop application on virtual machines behind
//     HAProxy, monitored with node/database/queue exporters and blackbox
//     probes (job/instance identity, no service label; host failures,
//     network partitions, slow back-off cascades, scheduled batch noise).
//
// A scenario is written in the format of benchmarks/storm (replay.ndjson,
// truth.ndjson read by `sift score`, sift.yaml) plus sift-notopo.yaml, the
// configuration of a user who has no topology. Alert names and text come
// from awesome-prometheus-alerts.yml read at generation time (never copied
// into this repository) plus kube-prometheus alert names; without the file
// a small generic vocabulary is used. Generation is seeded and
// deterministic.
package stormfamily

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/model"
)

// Families lists the families Generate knows.
var Families = []string{"kube", "legacy"}

// NoTopologyConfigFile is the configuration of a user without topology,
// written beside storm.ConfigFile.
const NoTopologyConfigFile = "sift-notopo.yaml"

// Config describes a scenario of one family. Zero rates take the
// family's defaults (see WithDefaults); negative rates switch a kind off.
type Config struct {
	Family   string
	Seed     uint64
	Start    time.Time     // default storm.DefaultStart
	Duration time.Duration // default 24h

	CascadesPerHour     float64 // service failures with their callers' symptoms
	HostFailuresPerHour float64 // node / host failures
	PartitionsPerHour   float64 // legacy only: a rack loses its uplink
	NoisePerHour        float64 // unrelated alerts
	FlapsPerHour        float64 // flapping alerts

	// LateFraction of deliveries arrive late by up to 90s. Default 0.03.
	LateFraction float64
	// RulesFile is awesome-prometheus-alerts.yml; empty: generic names.
	RulesFile string
}

// DefaultRulesFile is $SIFT_SHARED_DATA/alert-rules/awesome-prometheus-alerts.yml
// (empty when the variable is unset).
func DefaultRulesFile() string { return storm.DefaultRulesFile() }

func def(v *float64, d float64) {
	switch {
	case *v == 0:
		*v = d
	case *v < 0:
		*v = 0
	}
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Start.IsZero() {
		c.Start = storm.DefaultStart
	}
	c.Start = c.Start.UTC()
	if c.Duration == 0 {
		c.Duration = 24 * time.Hour
	}
	def(&c.CascadesPerHour, 2)
	def(&c.HostFailuresPerHour, 0.25)
	if c.Family == "legacy" {
		def(&c.PartitionsPerHour, 0.06)
	} else {
		c.PartitionsPerHour = 0
	}
	def(&c.NoisePerHour, 15)
	def(&c.FlapsPerHour, 0.5)
	def(&c.LateFraction, 0.03)
	return c
}

// Validate reports the first problem of c (after defaults).
func (c Config) Validate() error {
	switch {
	case c.Family != "kube" && c.Family != "legacy":
		return fmt.Errorf("stormfamily: unknown family %q (want kube or legacy)", c.Family)
	case c.Duration <= 0 || c.Duration > 31*24*time.Hour:
		return fmt.Errorf("stormfamily: duration %s out of range (0, 31d]", c.Duration)
	case c.LateFraction > 1:
		return fmt.Errorf("stormfamily: late fraction above 1")
	}
	return nil
}

// Stats describes a generated scenario.
type Stats struct {
	Lines      int `json:"lines"`
	Episodes   int `json:"episodes"`
	Cascades   int `json:"cascades"`
	HostFails  int `json:"host_failures"`
	Partitions int `json:"partitions"`
	Noise      int `json:"noise"`
	Batches    int `json:"batches"`
	Flaps      int `json:"flaps"`
	Skipped    int `json:"skipped"` // planned alerts dropped because the identity was firing
}

// Rule is an alert rule: name, severity, annotation templates ({{
// $labels.x }}, {{ $value }}) and its `for:` duration.
type Rule struct {
	Name        string
	Severity    string
	Summary     string
	Description string
	For         time.Duration
}

type span struct{ start, end time.Time }

type delivery struct {
	at   time.Time
	seq  int
	line []byte
}

// family is what a family contributes: its estate and its events.
type family interface {
	// schedule adds the family's fixed-time events (batch jobs) to plan.
	schedule(g *gen) []event
	cascade(g *gen, t time.Time)
	hostFailure(g *gen, t time.Time)
	partition(g *gen, t time.Time)
	noise(g *gen, t time.Time)
	flap(g *gen, t time.Time)
	// configs returns the sift.yaml with and without topology.
	configs() (withTopo, noTopo string)
	// replicas returns the HA label and its values (none: no HA).
	replicas() (string, []string)
}

type event struct {
	at   time.Time
	kind int
	fn   func(g *gen, t time.Time)
}

type gen struct {
	cfg   Config
	r     *rand.Rand
	voc   *vocab
	lines []delivery
	eps   []storm.Episode
	busy  map[model.Fingerprint][]span
	seq   int
	st    Stats
	ids   map[byte]int
	repL  string
	reps  []string
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc909)) }

func (g *gen) uniform(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(g.r.Int64N(int64(hi-lo)))
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// id returns the next truth incident id with the prefix (T storm, N noise,
// B batch, F flap).
func (g *gen) id(prefix byte) string {
	g.ids[prefix]++
	return fmt.Sprintf("%c%d", prefix, g.ids[prefix])
}

// failureDuration is the length of a fault: exponential around 22m,
// 8m..2h.
func (g *gen) failureDuration() time.Duration {
	d := time.Duration(g.r.ExpFloat64() * float64(22*time.Minute))
	return min(max(d, 8*time.Minute), 2*time.Hour)
}

// Generate writes the replay and the truth of cfg's scenario.
func Generate(cfg Config, replay, truth io.Writer) (*Stats, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	voc, err := loadVocab(cfg.RulesFile)
	if err != nil {
		return nil, err
	}
	fam := newFamily(cfg, voc)
	g := &gen{cfg: cfg, r: newRand(cfg.Seed), voc: voc, busy: map[model.Fingerprint][]span{}, ids: map[byte]int{}}
	g.repL, g.reps = fam.replicas()

	end := cfg.Start.Add(cfg.Duration)
	plan := fam.schedule(g)
	kinds := []struct {
		rate float64
		fn   func(*gen, time.Time)
	}{
		{cfg.CascadesPerHour, fam.cascade}, {cfg.HostFailuresPerHour, fam.hostFailure},
		{cfg.PartitionsPerHour, fam.partition}, {cfg.NoisePerHour, fam.noise}, {cfg.FlapsPerHour, fam.flap},
	}
	for k, kd := range kinds {
		if kd.rate <= 0 {
			continue
		}
		pr := newRand(cfg.Seed*8 + uint64(k) + 101)
		t := cfg.Start
		for {
			t = t.Add(time.Duration(pr.ExpFloat64() / kd.rate * float64(time.Hour))).Truncate(time.Millisecond)
			if !t.Before(end) {
				break
			}
			plan = append(plan, event{t, k + 1, kd.fn})
		}
	}
	sort.SliceStable(plan, func(i, j int) bool {
		if !plan[i].at.Equal(plan[j].at) {
			return plan[i].at.Before(plan[j].at)
		}
		return plan[i].kind < plan[j].kind
	})
	for _, e := range plan {
		e.fn(g, e.at)
	}
	sort.SliceStable(g.lines, func(i, j int) bool {
		if !g.lines[i].at.Equal(g.lines[j].at) {
			return g.lines[i].at.Before(g.lines[j].at)
		}
		return g.lines[i].seq < g.lines[j].seq
	})
	bw := bufio.NewWriterSize(replay, 1<<20)
	for _, l := range g.lines {
		bw.Write(l.line)
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	sort.SliceStable(g.eps, func(i, j int) bool { return g.eps[i].FirstAt.Before(g.eps[j].FirstAt) })
	tw := bufio.NewWriter(truth)
	for _, e := range g.eps {
		b, _ := json.Marshal(e)
		tw.Write(append(b, '\n'))
	}
	if err := tw.Flush(); err != nil {
		return nil, err
	}
	g.st.Lines, g.st.Episodes = len(g.lines), len(g.eps)
	return &g.st, nil
}

// GenerateFiles writes replay.ndjson, truth.ndjson, sift.yaml and
// sift-notopo.yaml into dir.
func GenerateFiles(cfg Config, dir string) (*Stats, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	voc, err := loadVocab(cfg.RulesFile)
	if err != nil {
		return nil, err
	}
	withTopo, noTopo := newFamily(cfg, voc).configs()
	if err := os.WriteFile(filepath.Join(dir, storm.ConfigFile), []byte(withTopo), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, NoTopologyConfigFile), []byte(noTopo), 0o644); err != nil {
		return nil, err
	}
	rf, err := os.Create(filepath.Join(dir, storm.ReplayFile))
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	tf, err := os.Create(filepath.Join(dir, storm.TruthFile))
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

func newFamily(cfg Config, voc *vocab) family {
	if cfg.Family == "legacy" {
		return newLegacy(cfg, voc)
	}
	return newKube(cfg, voc)
}

func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond) }

// fire plans an alert that becomes true at onset and stays true until
// end: it is sent once its rule's `for:` has passed (plus up to 30s of
// evaluation interval), so it starts later than onset. It reports whether
// it fired at all (the condition must outlast `for:` by a minute).
func (g *gen) fire(ls model.LabelSet, r Rule, onset, end time.Time, inc, root, kind string, cause bool) bool {
	st := onset.Add(r.For + g.uniform(0, 30*time.Second))
	if end.Sub(st) < time.Minute {
		return false
	}
	return g.alert(ls, r, []span{{st, end}}, inc, root, kind, cause)
}

// alert plans every delivery of one alert episode (each replica, a resend
// every minute with endsAt four minutes ahead, the resolution) and its
// ground-truth line. An identity already firing (or within 15 minutes of
// having fired) is not raised again.
func (g *gen) alert(ls model.LabelSet, r Rule, spans []span, inc, root, kind string, cause bool) bool {
	for i := range spans {
		spans[i].start, spans[i].end = ms(spans[i].start), ms(spans[i].end)
	}
	ls["alertname"], ls["severity"] = r.Name, r.Severity
	fp := ls.Fingerprint()
	first, last := spans[0].start, spans[len(spans)-1].end.Add(2*time.Minute)
	const gap = 15 * time.Minute
	for _, s := range g.busy[fp] {
		if first.Before(s.end.Add(gap)) && last.After(s.start.Add(-gap)) {
			g.st.Skipped++
			return false
		}
	}
	g.busy[fp] = append(g.busy[fp], span{first, last})

	value := math.Round(g.r.Float64()*10000) / 100
	ann, _ := json.Marshal(map[string]string{
		"summary":     render(r.Summary, ls, value),
		"description": render(r.Description, ls, value),
	})
	const resend = time.Minute
	reps := g.reps
	if len(reps) == 0 {
		reps = []string{""}
	}
	lastAt := first
	for ri, rep := range reps {
		labels := ls
		var off time.Duration
		if rep != "" {
			labels = ls.Clone()
			labels[g.repL] = rep
			if ri > 0 {
				off = g.uniform(0, 20*time.Second).Truncate(time.Millisecond)
			}
		}
		lj, _ := json.Marshal(map[string]string(labels))
		prom := "prometheus"
		if rep != "" {
			prom = rep
		}
		var prev time.Time
		emit := func(nominal, startsAt, endsAt time.Time) {
			d := g.uniform(0, 3*time.Second)
			if g.chance(g.cfg.LateFraction) {
				d += g.uniform(5*time.Second, 90*time.Second)
			}
			at := ms(nominal.Add(d))
			if !prev.IsZero() && !at.After(prev) {
				at = prev.Add(time.Millisecond)
			}
			prev = at
			if endsAt.IsZero() {
				endsAt = at.Add(4 * resend)
			}
			if at.After(lastAt) {
				lastAt = at
			}
			line := fmt.Appendf(nil, `{"at":%q,"alert":{"labels":%s,"annotations":%s,"startsAt":%q,"endsAt":%q,"generatorURL":"http://%s:9090/graph?g0.expr=ALERTS%%7Balertname%%3D%%22%s%%22%%7D"}}`+"\n",
				at.Format(time.RFC3339Nano), lj, ann, startsAt.Format(time.RFC3339Nano), endsAt.Format(time.RFC3339Nano), prom, r.Name)
			g.lines = append(g.lines, delivery{at: at, seq: g.seq, line: line})
			g.seq++
		}
		for _, sp := range spans {
			st, en := sp.start.Add(off), sp.end.Add(off)
			for n := st; n.Before(en); n = n.Add(resend) {
				emit(n, st, time.Time{})
			}
			emit(en, st, en)
		}
	}
	g.eps = append(g.eps, storm.Episode{Fingerprint: fp, Incident: inc, RootCause: root,
		FirstAt: first, LastAt: lastAt, Kind: kind, Cause: cause})
	return true
}

// writeDependsOn writes calls as the entries of a config's
// topology.depends_on, callers sorted.
func writeDependsOn(b *strings.Builder, calls map[string][]string) {
	from := make([]string, 0, len(calls))
	for f := range calls {
		from = append(from, f)
	}
	sort.Strings(from)
	for _, f := range from {
		fmt.Fprintf(b, "    %s: [%s]\n", f, strings.Join(calls[f], ", "))
	}
}
