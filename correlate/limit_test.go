package correlate

import (
	"fmt"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Issue #15, finding 3: an incident that reaches max_alerts_per_incident
// says so in its timeline, however far above the 200 kept entries about
// single alerts the limit is, and its later lifecycle (resolved) is kept
// too.
func TestLimitTimelineKeepsFullAndResolved(t *testing.T) {
	const limit = 500 // the default shape: above the 200 kept "joined" entries
	e := New(Config{GroupBy: []string{"alertname", "service"}, MaxAlertsPerIncident: limit}, Topology{})
	var batch []model.Alert
	for i := range limit + 50 {
		a := al("Storm", "svc", "instance", fmt.Sprint(i))
		a.StartsAt, a.EndsAt = t0, t0.Add(time.Hour)
		batch = append(batch, a)
	}
	e.ApplyBatch(&model.Batch{At: t0, Alerts: batch})
	for i := range batch {
		batch[i].EndsAt = t0.Add(time.Minute)
	}
	e.ApplyBatch(&model.Batch{At: t0.Add(time.Minute), Alerts: batch})
	var full *model.Incident
	for _, inc := range e.All() {
		if inc.AlertCount == limit {
			full = inc
		}
	}
	if full == nil {
		t.Fatalf("no incident of %d alerts: %s", limit, dump(e.All()))
	}
	count := map[string]int{}
	for _, te := range full.Timeline {
		count[te.Event]++
	}
	if count["full"] != 1 || count["resolved"] != 1 || count["opened"] != 1 || count["joined"] > maxTimeline {
		t.Fatalf("timeline of %d entries: %v", len(full.Timeline), count)
	}
	r := restoredCopy(t, e)
	if a, b := dump(e.Incident(full.ID).Timeline), dump(r.Incident(full.ID).Timeline); a != b {
		t.Fatalf("restored timeline differs")
	}
}

// Issue #15, finding 4: resolved alerts are not active, and when storing
// them would take the alerts stored beyond the bound, the oldest that no
// open incident holds are forgotten; the same whether the engine ran
// through or was restored from a snapshot midway (a replay decides the
// same).
func TestLimitEvictsOldestResolvedDeterministically(t *testing.T) {
	const bound = 40
	cfg := Config{GroupBy: []string{"alertname"}}
	mk := func() *Engine { e := New(cfg, Topology{}); e.SetMaxAlerts(bound); return e }
	wave := func(name string, n int, at time.Duration, end time.Duration) *model.Batch {
		b := &model.Batch{At: t0.Add(at)}
		for i := range n {
			a := al(name, fmt.Sprintf("svc-%d", i))
			a.StartsAt, a.EndsAt = t0.Add(at), t0.Add(end)
			b.Alerts = append(b.Alerts, a)
		}
		return b
	}
	var batches []*model.Batch
	for w := range 6 {
		at := time.Duration(w) * 10 * time.Minute
		name := fmt.Sprintf("Wave%d", w)
		batches = append(batches, wave(name, 30, at, at+time.Hour))               // fires
		batches = append(batches, wave(name, 30, at+time.Minute, at+time.Minute)) // resolves
	}
	// An open incident keeps its resolved members.
	batches = append(batches, wave("Keep", 10, 61*time.Minute, 3*time.Hour))
	batches = append(batches, wave("Keep", 5, 62*time.Minute, 62*time.Minute))
	batches = append(batches, wave("Late", 30, 63*time.Minute, 3*time.Hour))

	e := mk()
	var r *Engine
	for i, b := range batches {
		e.ApplyBatch(b)
		if r != nil {
			r.ApplyBatch(b)
		}
		if i == 5 {
			snap, err := e.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			r = mk()
			if err := r.Restore(snap); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.Known(); n > bound+bound/8+len(b.Alerts) {
			t.Fatalf("batch %d: %d alerts stored, bound %d", i, n, bound)
		}
	}
	if a, f := e.AlertCount(); f != 35 || e.Active() != 35 || a > bound+10 {
		t.Fatalf("stored %d, firing %d, active %d", a, f, e.Active())
	}
	for _, inc := range e.All() {
		if inc.Status == model.IncidentOpen && inc.Title != "" && len(e.IncidentAlerts(inc.ID)) != inc.AlertCount {
			t.Fatalf("open incident %s lost alerts", inc.ID)
		}
	}
	// The incident "Keep" is open: its 5 resolved members are still there.
	for _, inc := range e.All() {
		if inc.Status != model.IncidentResolved && inc.AlertCount == 10 {
			if got := len(e.IncidentAlerts(inc.ID)); got != 10 {
				t.Fatalf("Keep: %d alerts", got)
			}
		}
	}
	if a, b := dump(internalView(e)), dump(internalView(r)); a != b {
		t.Fatalf("restored engine differs:\n%s\n----\n%s", a, b)
	}
	if a, b := dump(e.All()), dump(r.All()); a != b {
		t.Fatalf("restored incidents differ")
	}
	r2 := mk()
	snap, _ := e.Snapshot()
	if err := r2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if r2.Active() != e.Active() || r2.Known() != e.Known() {
		t.Fatalf("restored: active %d known %d, want %d %d", r2.Active(), r2.Known(), e.Active(), e.Known())
	}
}
