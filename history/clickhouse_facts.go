package history

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
)

// incident_facts (migration 0002) holds one row per incident, recomputed
// from all the incident's rows of incident_events whenever rows of it are
// written, and merged by ReplacingMergeTree(version). The per-incident
// analytics read it with FINAL instead of grouping incident_events by
// incident at query time.

const factsCols = "incident_id, opened_at, opened_times, first_event, last_event, acknowledged_at, resolved_at, " +
	"reopened, alertname, team, category, priority, root_cause, signature, problem_id, title, severity, services, " +
	"alert_count, sla_respond_breached, sla_resolve_breached, version"

// factsSelect computes incident_facts rows from incident_events; the
// rules are the embedded store's (embFact) and migration 0002's.
const factsSelect = `SELECT incident_id,
    minIf(opened_at, event = 'opened'),
    arraySort(groupUniqArrayIf(event_time, event = 'opened')),
    min(event_time),
    max(event_time),
    minIf(event_time, event = 'acknowledged'),
    maxIf(event_time, event = 'resolved'),
    toUInt32(uniqExactIf(event_id, event = 'reopened')),
    argMinIf(alertname, (event_time, alertname), event = 'opened'),
    argMaxIf(team, (event_time, team), team != ''),
    argMaxIf(category, (event_time, category), category != ''),
    argMaxIf(priority, (event_time, priority), priority != ''),
    argMaxIf(root_cause, (event_time, root_cause), root_cause != ''),
    argMaxIf(signature, (event_time, signature), signature != ''),
    argMaxIf(problem_id, (event_time, problem_id), problem_id != ''),
    argMaxIf(title, (event_time, title), title != ''),
    argMaxIf(severity, (event_time, severity), severity != ''),
    argMaxIf(services, event_time, notEmpty(services)),
    toUInt32(max(alert_count)),
    toUInt8(countIf(event = 'sla_breached' AND startsWith(detail, 'response')) > 0),
    toUInt8(countIf(event = 'sla_breached' AND startsWith(detail, 'resolution')) > 0),
    toUInt64(max(event_time)) * 1048576 + least(uniqExact(event_id), 1048575)
FROM incident_events`

// refreshFacts recomputes the incident_facts rows of the incidents of
// rows from all their rows in incident_events. The scan is bounded by
// time: from the earliest of the rows given and of the earliest rows
// already summarised (first_event of their stored facts), so every row of
// those incidents is in it (each stored row was summarised by the refresh
// of its own batch, or is in this one).
func (s *ClickHouse) refreshFacts(ctx context.Context, rows []IncidentRow) error {
	if len(rows) == 0 {
		return nil
	}
	first := map[string]int64{}
	for i := range rows {
		t := chTime(rows[i].Time).Unix()
		if f, ok := first[rows[i].Incident]; !ok || t < f {
			first[rows[i].Incident] = t
		}
	}
	lo := int64(1 << 62)
	tbl, err := ext.NewTable("sift_incident_ids", ext.Column("id", "String"))
	if err != nil {
		return err
	}
	for id, t := range first {
		lo = min(lo, t)
		if err := tbl.Append(id); err != nil {
			return fmt.Errorf("history: clickhouse: incident ids: %w", err)
		}
	}
	// The ids go as external data: a long literal list takes ClickHouse
	// 18.16 longer to parse than the rest of the work.
	qctx := clickhouse.Context(ctx, clickhouse.WithExternalTable(tbl))
	var have uint64
	var stored uint32
	if err := s.conn.QueryRow(qctx, "SELECT count(), toUInt32(min(first_event)) FROM incident_facts WHERE incident_id IN (SELECT id FROM sift_incident_ids)").
		Scan(&have, &stored); err != nil {
		return fmt.Errorf("history: clickhouse: read incident_facts: %w", err)
	}
	if have > 0 {
		lo = min(lo, int64(stored))
	}
	q := "INSERT INTO incident_facts (" + factsCols + ")\n" + factsSelect +
		fmt.Sprintf("\nWHERE event_time >= toDateTime(%d) AND incident_id IN (SELECT id FROM sift_incident_ids)\nGROUP BY incident_id", max(lo, 0))
	if err := s.conn.Exec(qctx, q); err != nil {
		return fmt.Errorf("history: clickhouse: write incident_facts: %w", err)
	}
	return nil
}

// RebuildFacts recomputes incident_facts from all of incident_events (for
// rows written to incident_events by other means than Write, e.g. a bulk
// load). Migration 0002 does the same once, for the rows of older releases.
// It takes tens of seconds per million incidents on 2 cores: give ctx a
// deadline, which replaces the connection's read timeout.
func (s *ClickHouse) RebuildFacts(ctx context.Context) error {
	if err := s.conn.Exec(ctx, "INSERT INTO incident_facts ("+factsCols+")\n"+factsSelect+"\nGROUP BY incident_id"); err != nil {
		return fmt.Errorf("history: clickhouse: rebuild incident_facts: %w", err)
	}
	return nil
}

// openedIn is the condition "opened in [since, until)" on incident_facts:
// one of its "opened" rows has its event time in the range. Like every
// filter on the FINAL table here it is monotone (once true for a version of
// an incident's row, true for every later version), so it gives the same
// answer whether ClickHouse applies it before or after merging the
// versions (it may move WHERE to PREWHERE).
func openedIn(since, until time.Time) string {
	s, u := max(since.Unix(), 0), max(until.Unix(), 0)
	return fmt.Sprintf("first_event < toDateTime(%d) AND last_event >= toDateTime(%d) AND arrayExists(t -> t >= toDateTime(%d) AND t < toDateTime(%d), opened_times)",
		u, s, s, u)
}

// Incidents implements Store: the facts of the incidents opened in
// [since, until), from incident_facts.
func (s *ClickHouse) Incidents(ctx context.Context, since, until time.Time) ([]IncidentFact, error) {
	q := `SELECT incident_id, opened_at, acknowledged_at, resolved_at, toInt64(reopened), team, category, priority,
    root_cause, signature, problem_id, title, alertname, toInt64(alert_count)
FROM incident_facts FINAL
WHERE ` + openedIn(since, until)
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: incidents: %w", err)
	}
	defer rows.Close()
	var out []IncidentFact
	for rows.Next() {
		var f IncidentFact
		var opened, acked, resolved time.Time
		var reopened, count int64
		if err := rows.Scan(&f.ID, &opened, &acked, &resolved, &reopened, &f.Team, &f.Category, &f.Priority,
			&f.RootCause, &f.Signature, &f.Problem, &f.Title, &f.AlertName, &count); err != nil {
			return nil, err
		}
		f.OpenedAt, f.AckedAt, f.ResolvedAt = fromCH(opened), fromCH(acked), fromCH(resolved)
		f.Reopened, f.AlertCount = int(reopened), int(count)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sortFacts(out)
	return out, nil
}

// The summaries of the analytics (factSummarizer), computed by ClickHouse
// on incident_facts as analytics.go computes them from Incidents.
//
// Durations: whole seconds (b - a, both after 1970 and b >= a: UInt32,
// half the bytes of Int64 to collect), as Go's Sub of two whole-second
// times. An incident whose opened_at is the zero DateTime
// has the zero OpenedAt in Go, from which any time is more than the
// largest Duration away: Sub saturates, and those count as that.
var saturated = time.Duration(math.MaxInt64).Seconds()

// durations appends to xs the seconds of ds and n saturated durations.
func durations(xs []float64, ds []uint32, n uint64) []float64 {
	for _, d := range ds {
		xs = append(xs, float64(d))
	}
	for ; n > 0; n-- {
		xs = append(xs, saturated)
	}
	return xs
}

const (
	ackedCond    = "acknowledged_at > toDateTime(0) AND acknowledged_at >= opened_at"
	resolvedCond = "resolved_at > toDateTime(0) AND resolved_at >= opened_at"
)

// ResponseSummary implements factSummarizer.
func (s *ClickHouse) ResponseSummary(ctx context.Context, since, until time.Time, by string) (map[[2]string]*responseAcc, error) {
	team, prio := "team", "priority"
	switch by {
	case "team":
		prio = "''"
	case "priority":
		team = "''"
	case "team,priority":
	default:
		return nil, badInput("by: %q is not one of team, priority, team,priority", by)
	}
	q := fmt.Sprintf(`SELECT %s AS k1, %s AS k2, count(),
    groupArrayIf(toUInt32(toUInt32(acknowledged_at) - toUInt32(opened_at)), %s AND opened_at > toDateTime(0)),
    countIf(%s AND opened_at = toDateTime(0)),
    groupArrayIf(toUInt32(toUInt32(resolved_at) - toUInt32(opened_at)), %s AND opened_at > toDateTime(0)),
    countIf(%s AND opened_at = toDateTime(0))
FROM incident_facts FINAL
WHERE %s
GROUP BY k1, k2`, team, prio, ackedCond, ackedCond, resolvedCond, resolvedCond, openedIn(since, until))
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: response: %w", err)
	}
	defer rows.Close()
	out := map[[2]string]*responseAcc{}
	for rows.Next() {
		var k [2]string
		var n, ackSat, resSat uint64
		var tta, ttr []uint32
		if err := rows.Scan(&k[0], &k[1], &n, &tta, &ackSat, &ttr, &resSat); err != nil {
			return nil, err
		}
		out[k] = &responseAcc{n: int(n), tta: durations(nil, tta, ackSat), ttr: durations(nil, ttr, resSat)}
	}
	return out, rows.Err()
}

// ProblemSummary implements factSummarizer.
func (s *ClickHouse) ProblemSummary(ctx context.Context, since, until time.Time) (map[string]*ProblemRow, map[string][]float64, error) {
	q := fmt.Sprintf(`SELECT problem_id, count(), min(opened_at), max(opened_at),
    argMax((signature, title, root_cause), (opened_at, incident_id)) AS last,
    groupArrayIf(toUInt32(toUInt32(resolved_at) - toUInt32(opened_at)), %s AND opened_at > toDateTime(0)),
    countIf(%s AND opened_at = toDateTime(0))
FROM incident_facts FINAL
WHERE problem_id != '' AND %s
GROUP BY problem_id`, resolvedCond, resolvedCond, openedIn(since, until))
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, nil, fmt.Errorf("history: clickhouse: problems: %w", err)
	}
	defer rows.Close()
	m, ttr := map[string]*ProblemRow{}, map[string][]float64{}
	for rows.Next() {
		var p ProblemRow
		var n, sat uint64
		var first, last time.Time
		var attrs []any
		var ds []uint32
		if err := rows.Scan(&p.Problem, &n, &first, &last, &attrs, &ds, &sat); err != nil {
			return nil, nil, err
		}
		p.Incidents, p.FirstSeen, p.LastSeen = int(n), fromCH(first), fromCH(last)
		p.Signature, p.Title, p.RootCause = tupleString(attrs, 0), tupleString(attrs, 1), tupleString(attrs, 2)
		m[p.Problem] = &p
		if xs := durations(nil, ds, sat); len(xs) > 0 {
			ttr[p.Problem] = xs
		}
	}
	return m, ttr, rows.Err()
}

// SignatureSummary implements factSummarizer.
func (s *ClickHouse) SignatureSummary(ctx context.Context, since, until, split time.Time) (map[string]*SignatureCounts, error) {
	// Opened (whole seconds) before split: opened_at < split rounded up.
	sp := split.Unix()
	if split.Nanosecond() > 0 {
		sp++
	}
	q := fmt.Sprintf(`SELECT signature, countIf(toInt64(opened_at) >= %d), countIf(toInt64(opened_at) < %d),
    argMax((title, root_cause), (opened_at, incident_id))
FROM incident_facts FINAL
WHERE signature != '' AND %s
GROUP BY signature`, sp, sp, openedIn(since, until))
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: emerging: %w", err)
	}
	defer rows.Close()
	m := map[string]*SignatureCounts{}
	for rows.Next() {
		var sig string
		var recent, base uint64
		var attrs []any
		if err := rows.Scan(&sig, &recent, &base, &attrs); err != nil {
			return nil, err
		}
		m[sig] = &SignatureCounts{Recent: int(recent), Baseline: int(base), Title: tupleString(attrs, 0), RootCause: tupleString(attrs, 1)}
	}
	return m, rows.Err()
}

func tupleString(t []any, i int) string {
	if i < len(t) {
		if s, ok := t[i].(string); ok {
			return s
		}
		if s, ok := t[i].(*string); ok && s != nil {
			return *s
		}
	}
	return ""
}

var _ factSummarizer = (*ClickHouse)(nil)
