package history

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
)

// Benchmarks of history (results and commands in benchmarks/RESULTS.md):
//
//	go test ./history -run '^$' -bench 'Recorder|Analytics' -benchtime 1x
//
// SIFT_BENCH_ROWS changes the size of the analytics data sets (default 10M
// on ClickHouse, 1M on the embedded store).

func benchRows(def int) int {
	if s := os.Getenv("SIFT_BENCH_ROWS"); s != "" {
		var n int
		fmt.Sscan(s, &n)
		if n > 0 {
			return n
		}
	}
	return def
}

// synthRows makes n alert rows and n/10 incident rows over 30 days: 500
// services, 300 alert names, 20 teams, 5 priorities.
func synthRows(n int, from time.Time) *Batch {
	b := &Batch{}
	span := 30 * 24 * time.Hour
	for i := 0; i < n; i++ {
		at := from.Add(time.Duration(int64(span) / int64(n) * int64(i)))
		kind := "firing"
		if i%2 == 1 {
			kind = "resolved"
		}
		svc := fmt.Sprintf("svc-%d", i%500)
		name := fmt.Sprintf("Alert%d", (i*7)%300)
		inc := fmt.Sprintf("INC-%d", i/10)
		b.Alerts = append(b.Alerts, AlertRow{ID: uint64(i) + 1, Time: at, Fingerprint: fmt.Sprintf("%016x", i%100000), AlertName: name,
			Service: svc, Severity: "warning", Status: kind, Kind: kind, StartsAt: at, Incident: inc,
			Team: fmt.Sprintf("team-%d", i%20), Priority: fmt.Sprintf("P%d", 1+i%5), Notifications: 3,
			LabelKeys: []string{"alertname", "service"}, LabelValues: []string{name, svc}})
		if i%10 == 0 {
			ev := "opened"
			b.Incidents = append(b.Incidents, IncidentRow{ID: uint64(i) + 1, Time: at, Incident: inc, Event: ev, AlertName: name,
				RootCause: svc, Signature: svc + "|" + name, Team: fmt.Sprintf("team-%d", i%20), Priority: fmt.Sprintf("P%d", 1+i%5), OpenedAt: at})
			b.Incidents = append(b.Incidents, IncidentRow{ID: uint64(i) + 2, Time: at.Add(3 * time.Minute), Incident: inc, Event: "acknowledged", OpenedAt: at},
				IncidentRow{ID: uint64(i) + 3, Time: at.Add(40 * time.Minute), Incident: inc, Event: "resolved", OpenedAt: at})
		}
	}
	return b
}

func runAnalytics(b *testing.B, s Store, from time.Time) {
	a := &Analytics{Store: s}
	ctx := context.Background()
	until := from.Add(30 * 24 * time.Hour)
	for _, q := range []struct {
		name string
		fn   func() error
	}{
		{"volume", func() error { _, err := a.Volume(ctx, from, until, time.Hour, "", 0); return err }},
		{"volume-by-service", func() error { _, err := a.Volume(ctx, from, until, time.Hour, "service", 20); return err }},
		{"response", func() error { _, err := a.Response(ctx, from, until, "team,priority"); return err }},
		{"noise", func() error { _, err := a.Noise(ctx, from, until, time.Hour); return err }},
		{"noisy", func() error { _, err := a.Top(ctx, from, until, false, 10); return err }},
		{"problems", func() error { _, err := a.Problems(ctx, from, until, 10); return err }},
		{"forecast", func() error {
			_, err := a.Forecast(ctx, "service", "svc-7", until, 28*24*time.Hour, 24*time.Hour, time.Hour)
			return err
		}},
		{"emerging", func() error { _, err := a.Emerging(ctx, until, 7*24*time.Hour, 21*24*time.Hour, 2, 10); return err }},
	} {
		b.Run(q.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := q.fn(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/query")
		})
	}
}

// BenchmarkAnalyticsClickHouse: every analytics query over 10M alert events
// (generated on the server) and 3M incident events; one incident in 4
// belongs to one of 5,000 problems.
func BenchmarkAnalyticsClickHouse(b *testing.B) {
	s := openTestClickHouse(b)
	_, httpURL := testenv.SharedClickHouse(b)
	db := s.db
	n := benchRows(10_000_000)
	// SIFT_BENCH_EVENTS_PER_INCIDENT: alert events per incident (default
	// 10, i.e. 1M incidents for 10M events, a pessimistic compression).
	epi := 10
	if s := os.Getenv("SIFT_BENCH_EVENTS_PER_INCIDENT"); s != "" {
		fmt.Sscan(s, &epi)
	}
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	span := 30 * 24 * 3600
	start := time.Now()
	// Loaded in chunks of 1M alert events (100k incidents): one statement
	// over the HTTP interface must end within testenv's 60 s, which a
	// busy machine misses for 10M rows.
	const chunk = 1_000_000
	for off := 0; off < n; off += chunk {
		testenv.ClickHouseQuery(b, httpURL, fmt.Sprintf(`INSERT INTO %s.alert_events (event_id, event_time, fingerprint, alertname, service, severity, status, kind, starts_at, incident_id, team, priority, notifications, flapping, labels_keys, labels_values, version)
SELECT n + 1, toDateTime(%d + intDiv(n * %d, %d)), hex(n %% 100000), concat('Alert', toString((n * 7) %% 300)), concat('svc-', toString(n %% 500)), 'warning',
  if(n %% 2 = 1, 'resolved', 'firing'), if(n %% 2 = 1, 'resolved', 'firing'), toDateTime(%d + intDiv(n * %d, %d)), concat('INC-', toString(intDiv(n, %d))),
  concat('team-', toString(n %% 20)), concat('P', toString(1 + n %% 5)), 3, 0, ['alertname', 'service'], [concat('Alert', toString((n * 7) %% 300)), concat('svc-', toString(n %% 500))], 1
FROM (SELECT number + %d AS n FROM system.numbers LIMIT %d)`, db, from.Unix(), span, n, from.Unix(), span, n, epi, off, min(chunk, n-off)))
	}
	for off := 0; off < n/epi; off += chunk / epi {
		testenv.ClickHouseQuery(b, httpURL, fmt.Sprintf(`INSERT INTO %s.incident_events (event_id, event_time, incident_id, event, detail, actor, fingerprint, alertname, services, root_cause, signature, title, severity, team, category, priority, problem_id, opened_at, alert_count, version)
SELECT n * 10 + e + 1, toDateTime(%d + intDiv(n * %d * %d, %d) + [0, 180, 2400][e + 1]), concat('INC-', toString(n)), ['opened', 'acknowledged', 'resolved'][e + 1], '', '', '',
  concat('Alert', toString((n * 70) %% 300)), [concat('svc-', toString(n * 10 %% 500))], concat('svc-', toString(n * 10 %% 500)),
  concat('svc-', toString(n * 10 %% 500), '|Alert', toString((n * 70) %% 300)), '', 'warning', concat('team-', toString(n * 10 %% 20)), '', concat('P', toString(1 + n * 10 %% 5)),
  if(n %% 4 = 0, concat('PRB-', toString(n %% 5000)), ''),
  toDateTime(%d + intDiv(n * %d * %d, %d)), 1, 1
FROM (SELECT number + %d AS n FROM system.numbers LIMIT %d) ARRAY JOIN [0, 1, 2] AS e`, db, from.Unix(), epi, span, n, from.Unix(), epi, span, n, off, min(chunk/epi, n/epi-off)))
	}
	b.Logf("loaded %d alert events and %d incident events (%d incidents) in %s", n, 3*n/epi, n/epi, time.Since(start).Round(time.Millisecond))
	// Loaded around Write: the facts of the incidents are built in one go,
	// as migration 0002 does for a database of an older release.
	start = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // longer than the read timeout
	err := s.RebuildFacts(ctx)
	cancel()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("built incident_facts in %s", time.Since(start).Round(time.Millisecond))
	// The queries are timed once the merges of the loaded parts are done
	// (at most 3 minutes): on 2 cores they would take most of the CPU.
	for wait := time.Now(); time.Since(wait) < 3*time.Minute; time.Sleep(time.Second) {
		var merging uint64
		if err := s.conn.QueryRow(context.Background(), "SELECT count() FROM system.merges WHERE database = ?", db).Scan(&merging); err != nil || merging == 0 {
			b.Logf("merges done after %s (%v)", time.Since(wait).Round(time.Second), err)
			break
		}
	}
	runAnalytics(b, s, from)
}

// BenchmarkAnalyticsEmbedded: every analytics query over 1M alert events
// in the embedded store.
func BenchmarkAnalyticsEmbedded(b *testing.B) {
	s, err := OpenEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	all := synthRows(benchRows(1_000_000), from)
	start := time.Now()
	for i := 0; i < len(all.Alerts); i += 50_000 {
		part := &Batch{Alerts: all.Alerts[i:min(i+50_000, len(all.Alerts))]}
		if i == 0 {
			part.Incidents = all.Incidents
		}
		if err := s.Write(context.Background(), part); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("wrote %d alert rows and %d incident rows in %s", len(all.Alerts), len(all.Incidents), time.Since(start).Round(time.Millisecond))
	runAnalytics(b, s, from)
}

// BenchmarkRecorderClickHouse: rows through the recorder (queue, spool,
// batched inserts) into ClickHouse; reports rows/s end to end.
func BenchmarkRecorderClickHouse(b *testing.B) {
	s := openTestClickHouse(b)
	ctx := context.Background()
	// SIFT_BENCH_NO_NAMES_ROLLUP=1: without the view of migration 0003
	// (alert_names_hourly), to tell its cost on insert.
	if os.Getenv("SIFT_BENCH_NO_NAMES_ROLLUP") != "" {
		if err := s.conn.Exec(ctx, "DROP TABLE alert_names_hourly_mv"); err != nil {
			b.Fatal(err)
		}
	}
	rec, err := NewRecorder(s, b.TempDir(), Config{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer rec.Close()
	n := benchRows(1_000_000)
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	all := synthRows(n, from)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < len(all.Alerts); i += 1000 {
		rec.enqueue(&Batch{Alerts: all.Alerts[i:min(i+1000, len(all.Alerts))]})
	}
	if err := rec.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	b.ReportMetric(float64(n)/d.Seconds(), "rows/s")
	var got uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM alert_events").Scan(&got); err != nil || int(got) != n {
		b.Fatalf("%d rows in ClickHouse (%v), want %d", got, err, n)
	}
}

// BenchmarkIncidentWriteClickHouse: lifecycle rows (3 per incident) written
// in batches of 50k through Write, which also refreshes incident_facts,
// against the same rows written without the refresh (events-only).
//
//	go test ./history -run '^$' -bench IncidentWrite -benchtime 1x
func BenchmarkIncidentWriteClickHouse(b *testing.B) {
	all := synthRows(benchRows(1_000_000), time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)).Incidents
	for _, mode := range []string{"with-facts", "events-only"} {
		b.Run(mode, func(b *testing.B) {
			s := openTestClickHouse(b)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < len(all); i += 50_000 {
				part := &Batch{Incidents: all[i:min(i+50_000, len(all))]}
				var err error
				if mode == "with-facts" {
					err = s.Write(ctx, part)
				} else {
					err = s.writeEvents(ctx, part)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
