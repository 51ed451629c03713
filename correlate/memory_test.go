package correlate

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// BenchmarkMemoryPerActiveAlert reports the live heap held per active
// (firing) alert with 200k distinct alerts of 9 labels and 2 annotations,
// as they arrive over the Alertmanager API.
//
//	go test -run xxx -bench MemoryPerActiveAlert -benchtime 1x ./correlate
func BenchmarkMemoryPerActiveAlert(b *testing.B) {
	const n = 200_000
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		e := New(Config{}, Topology{DependsOn: map[string][]string{"frontend": {"checkout"}, "checkout": {"payment"}}})
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for k := 0; k < n; k += 100 {
			batch := &model.Batch{At: t.Add(time.Duration(k) * time.Millisecond)}
			for j := k; j < k+100; j++ {
				svc := fmt.Sprintf("svc-%d", j%50)
				batch.Alerts = append(batch.Alerts, model.Alert{
					Labels: model.LabelSet{"alertname": fmt.Sprintf("Alert%d", j%40), "service": svc, "instance": fmt.Sprintf("10.0.%d.%d:9100", j/250%250, j%250),
						"job": svc, "severity": "warning", "cluster": "prod", "namespace": "shop", "pod": fmt.Sprintf("%s-%d", svc, j), "team": "web"},
					Annotations: model.LabelSet{"summary": fmt.Sprintf("High latency on %s", svc), "description": fmt.Sprintf("p99 latency of %s is above 500ms", svc)},
					StartsAt:    batch.At, EndsAt: batch.At.Add(time.Hour),
				})
			}
			e.ApplyBatch(batch)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		_, firing := e.AlertCount()
		if firing != n {
			b.Fatalf("firing = %d", firing)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/alert")
		b.ReportMetric(float64(len(e.All())), "incidents")
		runtime.KeepAlive(e)
	}
}
