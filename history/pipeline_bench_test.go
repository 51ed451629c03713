package history_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/history"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
)

// BenchmarkPipelineHistoryClickHouse: alerts appended to a running pipeline
// (journal, correlation) whose history goes to the real ClickHouse; reports
// history rows written per second, from the first append until ClickHouse
// holds them all. b.N is the number of alerts (each fires and resolves).
//
//	go test ./history -run '^$' -bench PipelineHistory -benchtime 400000x
func BenchmarkPipelineHistoryClickHouse(b *testing.B) {
	native, httpURL := testenv.SharedClickHouse(b)
	db := testenv.NewClickHouseDatabase(b, httpURL)
	ctx := context.Background()
	store, err := history.OpenClickHouse(ctx, &history.ClickHouseConfig{Addr: native, Database: db})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	dir := b.TempDir()
	rec, err := history.NewRecorder(store, dir+"/spool", history.Config{FlushInterval: correlate.Duration(200 * time.Millisecond)}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	// SIFT_BENCH_NO_HISTORY=1: the same pipeline without history, for comparison.
	var exps []pipeline.Exporter
	if os.Getenv("SIFT_BENCH_NO_HISTORY") == "" {
		exps = append(exps, rec)
	}
	p, err := pipeline.Open(pipeline.Options{DataDir: dir + "/data", History: len(exps) > 0,
		Correlate: correlate.Config{GroupBy: []string{"alertname", "service"}}}, exps...)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	n := b.N
	const batch = 1000
	t0 := time.Now().Add(-time.Hour)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < n; i += batch {
		var bt model.Batch
		bt.At = t0.Add(time.Duration(i) * time.Millisecond)
		for j := i; j < min(i+batch, n); j++ {
			bt.Alerts = append(bt.Alerts, model.Alert{Labels: model.LabelSet{"alertname": fmt.Sprintf("A%d", j%300),
				"service": fmt.Sprintf("svc-%d", j%500), "instance": fmt.Sprint(j)}, StartsAt: bt.At})
		}
		if err := p.Append(ctx, bt); err != nil {
			b.Fatal(err)
		}
	}
	appended := time.Since(start)
	if len(exps) == 0 {
		b.ReportMetric(float64(n)/appended.Seconds(), "alerts_appended/s")
		return
	}
	want := n // one firing row per alert
	var got uint64
	for {
		rows, _, err := store.Counts(ctx)
		if err != nil {
			b.Fatal(err)
		}
		got = uint64(rows)
		if int(got) >= want {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d alert rows after 5 minutes", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := time.Since(start)
	_, inc, _ := store.Counts(ctx)
	b.ReportMetric(float64(n)/appended.Seconds(), "alerts_appended/s")
	b.ReportMetric(float64(int64(got)+inc)/d.Seconds(), "history_rows/s")
	b.ReportMetric(float64(got)/d.Seconds(), "alert_events/s")
}
