package correlate_test

import (
	"syscall"
	"testing"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/correlate"
)

// BenchmarkCorrelateStorm measures correlation throughput: one simulated
// day of the week scenario's storm (both topologies, 12 hosts, noise and
// flaps) applied batch by batch to a new engine. cpu-ns/op is the
// process's CPU time (user and system), steadier than the wall time on a
// shared machine.
//
//	go test -run '^$' -bench CorrelateStorm -benchtime 5x ./correlate
func BenchmarkCorrelateStorm(b *testing.B) {
	cfg := storm.WeekScenario(1)
	cfg.Duration = 24 * time.Hour
	batches, topo := stormBatches(b, cfg)
	n := 0
	for _, bt := range batches {
		n += len(bt.Alerts)
	}
	ccfg := correlate.Config{GroupBy: []string{"alertname", "service"}, InfraLabels: []string{"host"}}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := correlate.New(ccfg, topo)
		for _, bt := range batches {
			e.ApplyBatch(bt)
		}
		if len(e.All()) == 0 {
			b.Fatal("no incidents")
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
