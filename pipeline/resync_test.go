package pipeline

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
)

// ackExporter records events and says it delivered up to mark.
type ackExporter struct {
	mu     sync.Mutex
	events []model.IncidentEvent
	mark   time.Time
	ack    bool
}

func (x *ackExporter) Export(_ context.Context, ev []model.IncidentEvent) error {
	x.mu.Lock()
	x.events = append(x.events, ev...)
	x.mu.Unlock()
	return nil
}

func (x *ackExporter) Delivered() (time.Time, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.mark, x.ack
}

func (x *ackExporter) got() map[string]string {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := map[string]string{}
	for _, ev := range x.events {
		out[ev.Incident.Title] = ev.Type
	}
	return out
}

// Events an exporter had not delivered when the process died are sent
// again after the restart: the current state of every incident that
// changed after the last delivered event; what was delivered long before
// is not.
func TestResyncSendsWhatACrashKeptFromTheExporter(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	dir := t.TempDir()
	opts := Options{DataDir: dir, Tick: 5 * time.Millisecond, NoSync: true, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry()}
	x := &ackExporter{ack: true}
	p, err := Open(opts, x)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok, err := readExported(dir); err != nil || !ok || !m.IsZero() {
		t.Fatalf("a new data directory starts with the zero mark: %v %v %v", m, ok, err)
	}
	send := func(at time.Duration, name, svc string, end time.Duration) {
		t.Helper()
		clk.Set(t0.Add(at))
		a := model.Alert{Labels: model.LabelSet{"alertname": name, "service": svc}, StartsAt: t0.Add(at), EndsAt: t0.Add(end)}
		if err := p.Append(context.Background(), model.Batch{At: t0.Add(at), Alerts: []model.Alert{a}}); err != nil {
			t.Fatal(err)
		}
	}
	send(0, "Old", "a", time.Hour)                   // delivered long before the crash
	send(time.Minute, "Quiet", "d", 5*time.Hour)     // delivered long before the crash, unchanged since
	send(30*time.Minute, "Recent", "b", 2*time.Hour) // opened after the mark
	send(31*time.Minute, "Old", "a", 31*time.Minute) // resolves Old after the mark: resend as resolved
	send(31*time.Minute, "Later", "c", 3*time.Hour)  // opened after the mark ...
	x.mu.Lock()
	x.mark = t0.Add(40 * time.Minute) // ... and everything up to here delivered
	x.mu.Unlock()
	testenv.WaitFor(t, 5*time.Second, "the delivered mark on disk", func() bool { m, _, _ := readExported(dir); return m.Equal(t0.Add(40 * time.Minute)) })
	x.mu.Lock()
	x.mark = t0.Add(20 * time.Minute) // as if only this much had been delivered: a crash now
	x.mu.Unlock()
	crash := t.TempDir()
	copyDir(t, dir, crash)
	if err := writeExported(crash, t0.Add(20*time.Minute)); err != nil {
		t.Fatal(err)
	}
	p.Close()

	opts.DataDir, opts.Registerer = crash, prometheus.NewRegistry()
	y := &ackExporter{ack: true}
	q, err := Open(opts, y)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if n := q.Resync(); n != 3 {
		t.Fatalf("resync sent %d incidents, want 3", n)
	}
	testenv.WaitFor(t, 5*time.Second, "the resent incidents", func() bool { return len(y.got()) == 3 })
	got := y.got()
	want := map[string]string{"a: Old": model.EventResolved, "b: Recent": model.EventOpened, "c: Later": model.EventOpened}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("resent %v, want %v", got, want)
		}
	}
	if _, ok := got["d: Quiet"]; ok {
		t.Fatalf("resent an incident unchanged since long before the mark: %v", got)
	}
}

func TestNoResyncWithoutAcknowledgingExporters(t *testing.T) {
	dir := t.TempDir()
	x := &ackExporter{ack: false}
	p, err := Open(Options{DataDir: dir, NoSync: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, x)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Append(context.Background(), model.Batch{At: time.Now(), Alerts: []model.Alert{{Labels: model.LabelSet{"alertname": "A"}}}}); err != nil {
		t.Fatal(err)
	}
	if n := p.Resync(); n != 0 {
		t.Fatalf("resync sent %d incidents without an exporter that acknowledges", n)
	}
	if _, err := os.Stat(filepath.Join(dir, exportedFile)); err == nil {
		t.Fatal("a mark was written without an exporter that acknowledges")
	}
}
