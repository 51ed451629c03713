package correlate_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/history"
	"github.com/sift-aiops/sift/model"
)

// step is one input of the engine: a batch, an agent action or a clock
// tick (Advance), as the live pipeline produces them.
type step struct {
	batch  *model.Batch
	action *model.Action
	tick   time.Time
}

func stormBatches(t testing.TB, cfg storm.Config) ([]*model.Batch, correlate.Topology) {
	t.Helper()
	sc, err := storm.NewSiftConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var replay bytes.Buffer
	if _, err := storm.Generate(cfg, &replay, io.Discard); err != nil {
		t.Fatal(err)
	}
	var batches []*model.Batch
	s := bufio.NewScanner(&replay)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		var l storm.ReplayLine
		if err := json.Unmarshal(s.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		delete(l.Alert.Labels, "replica")
		// Several alerts delivered at one instant arrive as one batch.
		if n := len(batches); n > 0 && batches[n-1].At.Equal(l.At) && len(batches[n-1].Alerts) < 8 {
			batches[n-1].Alerts = append(batches[n-1].Alerts, l.Alert)
			continue
		}
		batches = append(batches, &model.Batch{At: l.At, Alerts: []model.Alert{l.Alert}})
	}
	topo := correlate.Topology{Label: sc.Topology.Label, DependsOn: map[string][]string{}}
	for k, v := range sc.Topology.DependsOn {
		topo.DependsOn[k] = v
	}
	return batches, topo
}

// engineView renders everything the read API shows, for comparison.
func engineView(e *correlate.Engine) []byte {
	known, firing := e.AlertCount()
	var inc []any
	for _, i := range e.All() {
		inc = append(inc, i, e.IncidentAlerts(i.ID))
	}
	open, _ := e.Incidents(correlate.Filter{Status: model.IncidentOpen})
	b, err := json.Marshal(map[string]any{
		"now": e.Now(), "stats": e.Stats(), "known": known, "firing": firing,
		"incidents": inc, "open": open, "alerts": e.Alerts(), "problems": e.Problems(), "names": e.AlertNames(),
	})
	if err != nil {
		panic(err)
	}
	return b
}

func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-300)
	return fmt.Sprintf("at byte %d:\n%s\n----\n%s", i, a[lo:min(len(a), i+300)], b[lo:min(len(b), i+300)])
}

// runDifferential feeds steps to one engine straight and to another that
// is snapshotted and restored every `every` steps (the snapshot captured
// `lag` steps before it is encoded, as the pipeline does), and requires
// that both show the same thing at every restart and at the end.
// It returns the uninterrupted engine's statistics.
func runDifferential(t *testing.T, cfg correlate.Config, topo correlate.Topology, steps []step, every, lag int) correlate.Stats {
	t.Helper()
	apply := func(e *correlate.Engine, s step) {
		switch {
		case s.batch != nil:
			e.ApplyBatch(s.batch)
		case s.action != nil:
			if err := e.CheckAction(s.action); err == nil {
				if err := e.ApplyAction(s.action); err != nil {
					t.Fatal(err)
				}
			}
		default:
			e.Advance(s.tick)
		}
	}
	straight := correlate.New(cfg, topo)
	split := correlate.New(cfg, topo)
	// History: the rows of the engine that restarts (with those of the
	// replayed steps written again) are the rows of the one that does not.
	straight.EmitHistory(true)
	split.EmitHistory(true)
	straightRows, splitRows := map[uint64]string{}, map[uint64]string{}
	collect := func(e *correlate.Engine, into map[uint64]string) {
		a, l := e.DrainHistory()
		for i := range a {
			r := history.AlertRowOf(&a[i], "", "")
			into[r.ID] = fmt.Sprintf("%s %s %s %s n=%d", r.Time, r.Fingerprint, r.Kind, r.Incident, r.Notifications)
		}
		for i := range l {
			r := history.IncidentRowOf(&l[i], nil)
			into[r.ID] = fmt.Sprintf("%s %s %s %s %s", r.Time, r.Incident, r.Event, r.Fingerprint, r.Detail)
		}
	}
	var pending *correlate.Captured
	pendingAt := 0
	restarts := 0
	for i, s := range steps {
		if i%every == every-lag {
			pending, pendingAt = split.Capture(), i
		}
		if pending != nil && i == pendingAt+lag {
			snap, err := pending.Encode()
			if err != nil {
				t.Fatal(err)
			}
			pending = nil
			// The restored engine resumes at the capture and replays the
			// steps since, as the pipeline replays the journal.
			collect(split, splitRows)
			split = correlate.New(cfg, topo)
			if err := split.Restore(snap); err != nil {
				t.Fatal(err)
			}
			split.EmitHistory(true)
			for _, r := range steps[pendingAt:i] {
				apply(split, r)
			}
			restarts++
			if a, b := engineView(straight), engineView(split); !bytes.Equal(a, b) {
				t.Fatalf("right after restart %d (step %d) the engines differ %s", restarts, i, firstDiff(a, b))
			}
		}
		apply(straight, s)
		apply(split, s)
		collect(straight, straightRows)
		collect(split, splitRows)
	}
	if a, b := engineView(straight), engineView(split); !bytes.Equal(a, b) {
		t.Fatalf("after %d restarts the engines differ %s", restarts, firstDiff(a, b))
	}
	if len(straightRows) == 0 {
		t.Fatal("no history rows")
	}
	for id, r := range straightRows {
		if splitRows[id] != r {
			t.Fatalf("history row %x %q: after restarts %q", id, r, splitRows[id])
		}
	}
	for id, r := range splitRows {
		if _, ok := straightRows[id]; !ok {
			t.Fatalf("history row %x %q only after restarts", id, r)
		}
	}
	if restarts < 3 {
		t.Fatalf("only %d restarts", restarts)
	}
	return straight.Stats()
}

// withActivity interleaves clock ticks and agent actions with the batches.
func withActivity(batches []*model.Batch, seed uint64, actions bool) []step {
	r := rand.New(rand.NewPCG(seed, 99))
	var steps []step
	var ids []string
	for i, b := range batches {
		steps = append(steps, step{batch: b})
		if i > 0 && b.At.Sub(batches[i-1].At) > 10*time.Second {
			steps = append(steps, step{tick: b.At.Add(time.Duration(r.IntN(10)) * time.Second)})
		}
		if !actions || r.IntN(40) != 0 {
			continue
		}
		// Actions name incidents by the ids the engine hands out in order.
		ids = append(ids, fmt.Sprintf("INC-%d", 1+r.IntN(len(batches)/20+1)))
		id := ids[r.IntN(len(ids))]
		kinds := []string{model.ActionAck, model.ActionAssign, model.ActionResolve, model.ActionNote}
		a := &model.Action{At: b.At, Kind: kinds[r.IntN(len(kinds))], Incident: id, Actor: "ops", Value: "x"}
		steps = append(steps, step{action: a})
	}
	return steps
}

func TestDifferentialRestarts(t *testing.T) {
	cases := []struct {
		name    string
		storm   storm.Config
		cfg     correlate.Config
		actions bool
		every   int
		lag     int
	}{
		{name: "default", storm: storm.Config{Seed: 11, Duration: 8 * time.Hour}, every: 700, lag: 1},
		{name: "actions", storm: storm.Config{Seed: 12, Duration: 8 * time.Hour}, actions: true, every: 500, lag: 30},
		{name: "hosts-flaps", storm: storm.Config{Seed: 13, Duration: 8 * time.Hour, IncidentsPerHour: 2, HostFailuresPerHour: 2, FlapsPerHour: 4, NoisePerHour: 10, LateFraction: 0.3},
			actions: true, every: 400, lag: 7},
		{name: "both-overlap", storm: storm.Config{Seed: 14, Duration: 8 * time.Hour, Topology: "both", OverlapFraction: 0.8, IncidentsPerHour: 4, NoisePerHour: 5, HostFailuresPerHour: 0.5, FlapsPerHour: 1},
			every: 600, lag: 50},
		{name: "gc", storm: storm.Config{Seed: 15, Duration: 10 * time.Hour}, cfg: correlate.Config{Retention: correlate.Duration(40 * time.Minute)},
			actions: true, every: 300, lag: 3},
	}
	var noise, moved uint64
	defer func() {
		// The storms exercise what lives across restarts: learned noise
		// and pending rechecks that move symptoms.
		if !t.Failed() && (noise == 0 || moved == 0) {
			t.Errorf("the storms do not exercise noise learning (%d episodes) and recovery moves (%d)", noise, moved)
		}
	}()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.storm.WithDefaults()
			batches, topo := stormBatches(t, cfg)
			ccfg := c.cfg
			ccfg.GroupBy, ccfg.InfraLabels = []string{"alertname", "service"}, []string{"host"}
			st := runDifferential(t, ccfg, topo, withActivity(batches, c.storm.Seed, c.actions), c.every, c.lag)
			t.Logf("%d batches, stats %+v", len(batches), st)
			noise += st.NoiseEpisodes
			moved += st.Moved
		})
	}
}
