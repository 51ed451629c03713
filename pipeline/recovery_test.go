package pipeline

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Attribution by recovery in the running pipeline: the wall-clock tick
// runs the recheck, the move is exported as updates of both incidents and
// counted, and a restart from the journal alone reaches the same state.
func TestLiveSymptomMovesOnRecovery(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	var mu sync.Mutex
	var events []model.IncidentEvent
	export := ExporterFunc(func(_ context.Context, ev []model.IncidentEvent) error {
		mu.Lock()
		events = append(events, ev...)
		mu.Unlock()
		return nil
	})
	topo := correlate.Topology{Label: "service", DependsOn: map[string][]string{"checkout": {"payment", "email"}}}
	reg := prometheus.NewRegistry()
	opts := Options{DataDir: t.TempDir(), Topology: topo, Tick: 5 * time.Millisecond, NoSync: true, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg}
	p, err := Open(opts, export)
	if err != nil {
		t.Fatal(err)
	}
	alert := func(name, svc string, start, end time.Duration) model.Alert {
		return model.Alert{Labels: model.LabelSet{"alertname": name, "service": svc}, StartsAt: t0.Add(start), EndsAt: t0.Add(end)}
	}
	send := func(at time.Duration, a model.Alert) {
		t.Helper()
		clk.Set(t0.Add(at))
		if err := p.Append(context.Background(), model.Batch{At: t0.Add(at), Alerts: []model.Alert{a}}); err != nil {
			t.Fatal(err)
		}
	}
	send(0, alert("PaymentCrashLooping", "payment", 0, time.Hour))
	send(time.Minute, alert("EmailServiceDown", "email", time.Minute, time.Hour))
	send(90*time.Second, alert("CheckoutHighErrorRate", "checkout", 90*time.Second, time.Hour))
	send(10*time.Minute, alert("PaymentCrashLooping", "payment", 0, 10*time.Minute))
	send(10*time.Minute+40*time.Second, alert("CheckoutHighErrorRate", "checkout", 90*time.Second, 10*time.Minute+40*time.Second))
	symptom := model.LabelSet{"alertname": "CheckoutHighErrorRate", "service": "checkout"}.Fingerprint()
	rootOf := func(p *Pipeline) string {
		for _, inc := range incidents(p) {
			for _, m := range inc.Members {
				if m.Fingerprint == symptom {
					return inc.RootCause.Service
				}
			}
		}
		return ""
	}
	if r := rootOf(p); r != "email" {
		t.Fatalf("before the recheck the symptom is with %q, want email", r)
	}
	// A copy of the data directory now is what a crash would leave.
	crash := t.TempDir()
	copyDir(t, opts.DataDir, crash)

	clk.Set(t0.Add(14 * time.Minute)) // the recheck is due at 10m40s + 2m30s
	testenv.WaitFor(t, 5*time.Second, "the move", func() bool { return rootOf(p) == "payment" })
	if n := testenv.MetricSum(t, reg, "sift_alerts_moved_total"); n != 1 {
		t.Fatalf("sift_alerts_moved_total = %v, want 1", n)
	}
	testenv.WaitFor(t, 5*time.Second, "updates of both incidents exported", func() bool {
		mu.Lock()
		defer mu.Unlock()
		updated := map[string]bool{}
		for _, ev := range events {
			if ev.Type == model.EventUpdated && ev.At.After(t0.Add(13*time.Minute)) {
				updated[ev.Incident.RootCause.Service] = true
			}
		}
		return updated["payment"] && updated["email"]
	})
	p.Close()

	opts.DataDir, opts.Registerer = crash, prometheus.NewRegistry()
	q, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	testenv.WaitFor(t, 5*time.Second, "the move after the restart", func() bool { return rootOf(q) == "payment" })
	for _, inc := range incidents(q) {
		if inc.RootCause.Service == "payment" && !strings.Contains(inc.Members[len(inc.Members)-1].Reason.Detail, "moved from") {
			t.Fatalf("restored incident %+v", inc)
		}
	}
}
