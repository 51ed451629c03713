package history

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
)

// flakyStore is an embedded store that refuses writes while down, and can
// store a batch and still report a failure (a timeout after the insert).
type flakyStore struct {
	*Embedded
	down        atomic.Bool
	failAfter   atomic.Bool
	mu          sync.Mutex
	checkedRows int
}

func (f *flakyStore) Write(ctx context.Context, b *Batch) error {
	if f.down.Load() {
		return errors.New("connection refused")
	}
	if b.Check {
		f.mu.Lock()
		f.checkedRows += b.Len()
		f.mu.Unlock()
	}
	if err := f.Embedded.Write(ctx, b); err != nil {
		return err
	}
	if f.failAfter.Swap(false) {
		return errors.New("i/o timeout")
	}
	return nil
}

func historyBatch(seq uint64, n int, at time.Time) *model.HistoryBatch {
	hb := &model.HistoryBatch{Seq: seq}
	for i := 0; i < n; i++ {
		ls := model.LabelSet{"alertname": "Probe", "service": "svc", "i": string(rune('a' + i%26)), "seq": time.Duration(seq).String()}
		hb.Alerts = append(hb.Alerts, model.AlertEvent{At: at, Fingerprint: ls.Fingerprint(), Kind: model.AlertFiring, Labels: ls, StartsAt: at, Incident: "INC-1", Notifications: 1})
	}
	hb.Lifecycle = append(hb.Lifecycle, model.LifecycleEvent{At: at, Incident: "INC-1", Event: "joined", Detail: time.Duration(seq).String()})
	return hb
}

func newFlaky(t *testing.T) *flakyStore {
	e, err := OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return &flakyStore{Embedded: e}
}

// A store that is down stalls nothing: rows wait in the spool (the
// backlog metric says how many), and are all written once it is back,
// each once, also when a write failed after storing.
func TestRecorderSpoolsWhileStoreIsDown(t *testing.T) {
	st := newFlaky(t)
	st.down.Store(true)
	reg := prometheus.NewRegistry()
	rec, err := NewRecorder(st, t.TempDir(), Config{FlushInterval: 0, BatchSize: 7}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	start := time.Now()
	for s := uint64(1); s <= 20; s++ {
		rec.ExportHistory(context.Background(), historyBatch(s, 3, at.Add(time.Duration(s)*time.Second)))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("handing over 20 batches to a recorder whose store is down took %s", d)
	}
	testenv.WaitFor(t, 5*time.Second, "backlog of 80 rows", func() bool { return testenv.MetricSum(t, reg, "sift_history_backlog") == 80 })
	testenv.WaitFor(t, 5*time.Second, "a write error", func() bool { return testenv.MetricSum(t, reg, "sift_history_write_errors_total") >= 1 })
	st.failAfter.Store(true) // the first write when it is back stores and fails
	st.down.Store(false)
	testenv.WaitFor(t, 40*time.Second, "the backlog written", func() bool { return testenv.MetricSum(t, reg, "sift_history_backlog") == 0 })
	a, i, err := st.Counts(context.Background())
	if err != nil || a != 60 || i != 20 {
		t.Fatalf("stored %d alert and %d incident rows (%v), want 60 and 20", a, i, err)
	}
	if st.checkedRows == 0 {
		t.Fatal("the batches after a failed write were not sent with Check")
	}
}

// Rows in the spool survive a restart of the recorder (and a torn tail
// of the spool), and are written by the next one; rows already written
// are checked, not written twice.
func TestRecorderSpoolSurvivesRestart(t *testing.T) {
	st := newFlaky(t)
	st.down.Store(true)
	dir := t.TempDir()
	rec, err := NewRecorder(st, dir, Config{FlushInterval: correlate.Duration(50 * time.Millisecond)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for s := uint64(1); s <= 5; s++ {
		rec.ExportHistory(context.Background(), historyBatch(s, 4, at.Add(time.Duration(s)*time.Second)))
	}
	done := make(chan struct{})
	rec.Barrier(func() { close(done) })
	<-done
	rec.Close()
	// A torn record at the end, as a crash mid-append leaves it.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.spool"))
	if len(segs) != 1 {
		t.Fatalf("spool segments: %v", segs)
	}
	f, _ := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3})
	f.Close()

	st.down.Store(false)
	rec, err = NewRecorder(st, dir, Config{FlushInterval: correlate.Duration(50 * time.Millisecond)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	rec.ExportHistory(context.Background(), historyBatch(6, 4, at.Add(6*time.Second)))
	if err := rec.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, i, _ := st.Counts(context.Background())
	if a != 24 || i != 6 {
		t.Fatalf("stored %d alert and %d incident rows, want 24 and 6", a, i)
	}
	if st.checkedRows < 25 {
		t.Fatalf("rows from before the restart were not checked (%d checked)", st.checkedRows)
	}
}

// A full spool drops (and counts) what does not fit, raises the alarm,
// and blocks nothing.
func TestRecorderSpoolFull(t *testing.T) {
	st := newFlaky(t)
	st.down.Store(true)
	reg := prometheus.NewRegistry()
	rec, err := NewRecorder(st, t.TempDir(), Config{SpoolMaxBytes: 4096}, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	var alarms atomic.Int32
	rec.OnSpoolFull = func() { alarms.Add(1) }
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for s := uint64(1); s <= 50; s++ {
		rec.ExportHistory(context.Background(), historyBatch(s, 5, at))
	}
	testenv.WaitFor(t, 5*time.Second, "dropped rows", func() bool { return testenv.MetricSum(t, reg, "sift_history_dropped_total") > 0 })
	testenv.WaitFor(t, 5*time.Second, "the alarm", func() bool { return alarms.Load() == 1 })
	if testenv.MetricSum(t, reg, "sift_history_spool_full") != 1 {
		t.Fatal("sift_history_spool_full is not 1")
	}
}
