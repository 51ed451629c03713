package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
)

// Issue #15, findings 1 and 4: limits.max_active_alerts bounds the active
// alerts exactly, however many batches are in flight at once; resolved
// alerts do not count, an alert that fires again does; and a replay of
// the journal restores the same state.
func TestLimitActiveAlerts(t *testing.T) {
	const max = 100
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	open := func() *Pipeline {
		p, err := Open(Options{DataDir: dir, Logger: log, Now: func() time.Time { return at }, MaxActiveAlerts: max})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := open()
	ctx := context.Background()
	batch := func(name string, from, n int, end time.Time) model.Batch {
		b := model.Batch{At: at, Source: "test"}
		for i := from; i < from+n; i++ {
			b.Alerts = append(b.Alerts, model.Alert{Labels: model.LabelSet{"alertname": name, "instance": fmt.Sprint(i)}, StartsAt: at.Add(-time.Minute), EndsAt: end})
		}
		return b
	}
	firing := at.Add(time.Hour)
	// 16 senders at once, 10 new alerts each: exactly 10 get in.
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, full := 0, 0
	for s := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.Append(ctx, batch("Storm", s*10, 10, firing))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, model.ErrTooManyAlerts):
				full++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	active := 0
	p.View(func(e *correlate.Engine) { active = e.Active() })
	if ok != 10 || full != 6 || active != max || p.reserved.Load() != 0 {
		t.Fatalf("%d admitted, %d refused, %d active, %d reserved", ok, full, active, p.reserved.Load())
	}
	// Known alerts are taken at the bound; resolutions cost nothing.
	var firingNow []model.Alert
	p.View(func(e *correlate.Engine) {
		for _, st := range e.Alerts() {
			firingNow = append(firingNow, st.Alert)
		}
	})
	if err := p.Append(ctx, model.Batch{At: at, Alerts: firingNow}); err != nil {
		t.Fatalf("the same alerts again: %v", err)
	}
	resolved := firingNow[:20]
	for i := range resolved {
		resolved[i].EndsAt = at
	}
	if err := p.Append(ctx, model.Batch{At: at, Alerts: resolved}); err != nil {
		t.Fatalf("resolutions: %v", err)
	}
	// 20 free: 20 new get in, the 21st not; an alert that fires again
	// counts as a new one.
	if err := p.Append(ctx, batch("Late", 0, 20, firing)); err != nil {
		t.Fatalf("20 new after 20 resolved: %v", err)
	}
	again := resolved[0]
	again.EndsAt = firing
	if err := p.Append(ctx, model.Batch{At: at, Alerts: []model.Alert{again}}); !errors.Is(err, model.ErrTooManyAlerts) {
		t.Fatalf("a resolved alert firing again at the bound: %v", err)
	}
	var want []model.AlertState
	p.View(func(e *correlate.Engine) { want = e.Alerts() })
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = open()
	defer p.Close()
	var got []model.AlertState
	p.View(func(e *correlate.Engine) { got, active = e.Alerts(), e.Active() })
	if len(got) != len(want) || active != max {
		t.Fatalf("after a restart: %d firing (%d active), want %d", len(got), active, len(want))
	}
}
