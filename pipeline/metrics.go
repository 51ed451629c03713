package pipeline

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/correlate"
)

type metrics struct {
	commitSeconds    prometheus.Histogram
	groupSize        prometheus.Histogram
	appendSeconds    prometheus.Histogram
	correlateSeconds prometheus.Histogram
	snapshotSeconds  prometheus.Histogram
	refusedFull      prometheus.Counter
	slaBreaches      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, p *Pipeline) *metrics {
	m := &metrics{
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sift_journal_commit_duration_seconds", Help: "Time to commit one group of records to the journal (including fsync).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14)}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sift_journal_commit_records", Help: "Records committed together in one journal transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13)}),
		appendSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sift_stage_duration_seconds", Help: "Latency of a pipeline stage.", ConstLabels: prometheus.Labels{"stage": "durable_append"},
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14)}),
		correlateSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sift_stage_duration_seconds", Help: "Latency of a pipeline stage.", ConstLabels: prometheus.Labels{"stage": "correlate"},
			Buckets: prometheus.ExponentialBuckets(0.00001, 2, 16)}),
		snapshotSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sift_snapshot_duration_seconds", Help: "Time to write a state snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
	}
	m.refusedFull = prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_alerts_refused_full_total",
		Help: "New alerts refused because limits.max_active_alerts distinct alerts were held."})
	m.slaBreaches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sift_sla_breaches_total",
		Help: "SLA targets missed, by kind (respond, resolve) and priority."}, []string{"kind", "priority"})
	reg.MustRegister(m.commitSeconds, m.groupSize, m.appendSeconds, m.correlateSeconds, m.snapshotSeconds, m.refusedFull, m.slaBreaches)
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_journal_write_failures_total",
			Help: "Journal commits that failed (a full disk, an I/O error); their appenders got an error, never a 2xx."},
			func() float64 {
				if p.j == nil {
					return 0
				}
				return float64(p.j.Failures())
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sift_journal_writable",
			Help: "1 while the journal accepts appends, 0 while it refuses them until it heals."},
			func() float64 {
				if p.j != nil && p.j.Err() != nil {
					return 0
				}
				return 1
			}))
	stat := func(f func(s correlate.Stats) uint64) func() float64 {
		return func() float64 {
			p.mu.RLock()
			defer p.mu.RUnlock()
			return float64(f(p.eng.Stats()))
		}
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_alerts_processed_total", Help: "Alert notifications applied by correlation."},
			stat(func(s correlate.Stats) uint64 { return s.Alerts })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_alerts_deduplicated_total", Help: "Notifications that only updated an already known alert."},
			stat(func(s correlate.Stats) uint64 { return s.Deduplicated })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_incidents_opened_total", Help: "Incidents opened."},
			stat(func(s correlate.Stats) uint64 { return s.IncidentsOpened })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_incidents_resolved_total", Help: "Incidents resolved."},
			stat(func(s correlate.Stats) uint64 { return s.IncidentsResolved })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_incidents_reopened_total", Help: "Resolved incidents reopened by a returning alert."},
			stat(func(s correlate.Stats) uint64 { return s.IncidentsReopened })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_problems_opened_total", Help: "Problem records created."},
			stat(func(s correlate.Stats) uint64 { return s.Problems })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_alerts_noise_total", Help: "Alert episodes treated as learned background noise (not correlated by topology, infrastructure or text)."},
			stat(func(s correlate.Stats) uint64 { return s.NoiseEpisodes })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sift_alerts_moved_total", Help: "Symptoms moved, once resolved, to the incident of the fault they recovered with."},
			stat(func(s correlate.Stats) uint64 { return s.Moved })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sift_alerts_firing", Help: "Alert identities currently firing."},
			func() float64 {
				p.mu.RLock()
				defer p.mu.RUnlock()
				return float64(p.eng.Active())
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sift_alerts_stored", Help: "Alert identities stored, firing or resolved (bounded by limits.max_active_alerts: beyond it the oldest resolved alerts no open incident holds are forgotten)."},
			func() float64 {
				p.mu.RLock()
				defer p.mu.RUnlock()
				return float64(p.eng.Known())
			}),
	)
	return m
}

func (m *metrics) observeCommit(d time.Duration, n int) {
	m.commitSeconds.Observe(d.Seconds())
	m.groupSize.Observe(float64(n))
}
