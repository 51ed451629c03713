package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/model"
)

// The wall-clock tick is not journaled: a batch stamped before a tick
// but applied after it must end the same live as after a crash, when
// the journal is replayed without the tick.
func TestTickBeforeABatchChangesNothingAfterACrash(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	dir := t.TempDir()
	opts := Options{DataDir: dir, Tick: 2 * time.Millisecond, NoSync: true, Now: clk.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: prometheus.NewRegistry()}
	p, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The batch was received at t0; the clock moved on before it was
	// applied (the journal commit takes time).
	clk.Set(t0.Add(2 * time.Second))
	time.Sleep(30 * time.Millisecond) // a few ticks
	a := model.Alert{Labels: model.LabelSet{"alertname": "DiskFull", "service": "db"}, StartsAt: t0, EndsAt: t0.Add(time.Hour)}
	if err := p.Append(context.Background(), model.Batch{At: t0, Alerts: []model.Alert{a}}); err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(t.TempDir(), "copy")
	p.mu.Lock() // nothing is applied while the directory is copied
	copyDir(t, dir, crashed)
	live, _ := json.Marshal(p.eng.All())
	p.mu.Unlock()
	opts.DataDir, opts.Registerer = crashed, prometheus.NewRegistry()
	r, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	again, _ := json.Marshal(incidents(r))
	if string(live) != string(again) {
		t.Fatalf("a restart changed the incident:\nlive     %s\nrestored %s", live, again)
	}
}
