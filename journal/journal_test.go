package journal

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

func batch(i int) *model.Record {
	return &model.Record{Batch: &model.Batch{At: time.Unix(int64(i), 0).UTC(), Alerts: []model.Alert{{
		Labels: model.LabelSet{"alertname": "A", "i": fmt.Sprint(i)},
	}}}}
}

func TestConcurrentAppendsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	var committed []uint64
	var mu sync.Mutex
	j, err := Open(dir, Options{OnCommit: func(rs []*model.Record) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range rs {
			committed = append(committed, r.Seq)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := j.Append(context.Background(), batch(w*1000+i)); err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	for i, s := range committed {
		if s != uint64(i+1) {
			t.Fatalf("OnCommit out of order at %d: %d", i, s)
		}
	}
	if err := j.Append(context.Background(), batch(1)); err != ErrClosed {
		t.Fatalf("append after close: %v", err)
	}
	j, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	seen := map[string]bool{}
	var last uint64
	err = j.Replay(0, func(r *model.Record) error {
		if r.Seq != last+1 {
			return fmt.Errorf("gap: %d after %d", r.Seq, last)
		}
		last = r.Seq
		seen[r.Batch.Alerts[0].Labels["i"]] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 400 || last != 400 || j.LastSeq() != 400 {
		t.Fatalf("replayed %d distinct, last seq %d, LastSeq %d", len(seen), last, j.LastSeq())
	}
}

func TestCursorsAndSnapshots(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		r := batch(i)
		r.Batch.Cursors = map[string]int64{"alerts/0": int64(i * 10)}
		if err := j.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.SaveSnapshot(3, []byte(`{"state":3}`)); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if v, ok := j.Cursor("alerts/0"); !ok || v != 50 {
		t.Fatalf("cursor = %d %v", v, ok)
	}
	if _, ok := j.Cursor("alerts/1"); ok {
		t.Fatal("unknown cursor reported")
	}
	state, seq, err := j.LoadSnapshot()
	if err != nil || seq != 3 || string(state) != `{"state":3}` {
		t.Fatalf("snapshot = %q %d %v", state, seq, err)
	}
	var seqs []uint64
	j.Replay(0, func(r *model.Record) error { seqs = append(seqs, r.Seq); return nil })
	if fmt.Sprint(seqs) != "[4 5]" {
		t.Fatalf("after truncation replay gives %v", seqs)
	}
	// New appends continue the sequence.
	if err := j.Append(context.Background(), batch(6)); err != nil || j.LastSeq() != 6 {
		t.Fatalf("append after reopen: %v seq %d", err, j.LastSeq())
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := Open(dir, Options{}); err == nil {
		t.Fatal("second open of a locked journal succeeded")
	}
}

func BenchmarkAppendDurable(b *testing.B) { benchAppendDurable(b, 100) }

// BenchmarkAppendDurable1000 has records of 1000 alerts, as a Kafka ingest
// burst gives.
func BenchmarkAppendDurable1000(b *testing.B) { benchAppendDurable(b, 1000) }

func benchAppendDurable(b *testing.B, n int) {
	var groups, recs atomic.Int64
	var commitNs atomic.Int64
	j, err := Open(b.TempDir(), Options{Observe: func(d time.Duration, n int) {
		groups.Add(1)
		recs.Add(int64(n))
		commitNs.Add(int64(d))
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	alerts := make([]model.Alert, n)
	for i := range alerts {
		alerts[i] = model.Alert{Labels: model.LabelSet{"alertname": "HighLatency", "service": "svc", "instance": fmt.Sprint(i), "severity": "warning"},
			Annotations: model.LabelSet{"summary": "latency is high"}, StartsAt: time.Now(), EndsAt: time.Now().Add(5 * time.Minute)}
	}
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := j.Append(context.Background(), &model.Record{Batch: &model.Batch{At: time.Now(), Alerts: alerts}}); err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "alerts/s")
	b.StopTimer()
	if g := groups.Load(); g > 0 {
		b.ReportMetric(float64(recs.Load())/float64(g), "records/commit")
		b.ReportMetric(float64(commitNs.Load())/float64(g)/1e3, "µs/commit")
	}
	reportLogBytes(b, j, b.N*n)
}

// reportLogBytes reports the bytes of the segment files per alert: what
// the record encoding and framing cost on disk.
func reportLogBytes(b *testing.B, j *Journal, alerts int) {
	b.ReportMetric(float64(walBytes(b, j.walDir))/float64(alerts), "logbytes/alert")
}
