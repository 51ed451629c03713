package history

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	chmig "github.com/sift-aiops/sift/deploy/clickhouse"
)

// ClickHouse is the history store in ClickHouse (native protocol). Schema
// and queries run on ClickHouse 18.16 and on current releases alike.
type ClickHouse struct {
	conn driver.Conn
	db   string
	// utcHours: the server's time zone is a whole number of hours from
	// UTC, so alert_volume_hourly (toStartOfHour) holds UTC hours and
	// queries of whole UTC hours may read it.
	utcHours bool
}

// OpenClickHouse connects, creates the database if needed and applies the
// migrations of deploy/clickhouse that are not applied yet.
func OpenClickHouse(ctx context.Context, c *ClickHouseConfig) (*ClickHouse, error) {
	cfg := Config{ClickHouse: c}.WithDefaults().ClickHouse
	password := ""
	if cfg.PasswordEnv != "" {
		password = os.Getenv(cfg.PasswordEnv)
	}
	open := func(db string) (driver.Conn, error) {
		return clickhouse.Open(&clickhouse.Options{
			Addr:         []string{cfg.Addr},
			Auth:         clickhouse.Auth{Database: db, Username: cfg.Username, Password: password},
			DialTimeout:  time.Duration(cfg.DialTimeout),
			ReadTimeout:  time.Duration(cfg.ReadTimeout),
			Compression:  &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
			MaxOpenConns: 8,
		})
	}
	boot, err := open("default")
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse %s: %w", cfg.Addr, err)
	}
	err = boot.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database)
	boot.Close()
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse %s: create database %s: %w", cfg.Addr, cfg.Database, err)
	}
	conn, err := open(cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse %s: %w", cfg.Addr, err)
	}
	s := &ClickHouse{conn: conn, db: cfg.Database}
	if _, err := s.Migrate(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	var off uint32
	if err := conn.QueryRow(ctx, "SELECT toUInt32(toUInt32(toStartOfHour(toDateTime(1800000000))) % 3600)").Scan(&off); err != nil {
		conn.Close()
		return nil, fmt.Errorf("history: clickhouse %s: time zone: %w", cfg.Addr, err)
	}
	s.utcHours = off == 0
	return s, nil
}

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     []string // statements
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migrations returns the migrations of deploy/clickhouse in order.
func Migrations() ([]Migration, error) {
	ents, err := fs.ReadDir(chmig.Migrations, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, e := range ents {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("history: migration %s: name must be NNNN_name.sql", e.Name())
		}
		data, err := fs.ReadFile(chmig.Migrations, e.Name())
		if err != nil {
			return nil, err
		}
		v, _ := strconv.Atoi(m[1])
		out = append(out, Migration{Version: v, Name: m[2], SQL: SplitStatements(string(data))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("history: two migrations numbered %04d", out[i].Version)
		}
	}
	return out, nil
}

// SplitStatements splits a migration file at lines holding only ";" and
// drops comment-only statements.
func SplitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		code := false
		for _, l := range strings.Split(s, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				code = true
			}
		}
		if code {
			out = append(out, s)
		}
	}
	for _, l := range strings.Split(sql, "\n") {
		if strings.TrimSpace(l) == ";" {
			flush()
			continue
		}
		cur.WriteString(l)
		cur.WriteByte('\n')
	}
	flush()
	return out
}

// migrationTimeout bounds one statement of a migration.
const migrationTimeout = time.Hour

// Migrate applies the migrations not applied yet and returns their
// versions. Statements are idempotent (IF NOT EXISTS), so two instances
// migrating at once do no harm.
func (s *ClickHouse) Migrate(ctx context.Context) ([]int, error) {
	if err := s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version UInt32, name String, applied_at DateTime
) ENGINE = MergeTree ORDER BY version`); err != nil {
		return nil, fmt.Errorf("history: clickhouse: schema_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		done[int(v)] = true
	}
	rows.Close()
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.SQL {
			// A migration may rebuild a table from a large one (0002:
			// incident_facts from incident_events, tens of seconds per
			// million incidents on 2 cores): a deadline of its own, longer
			// than the read timeout, and not cut short by the caller.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), migrationTimeout)
			err := s.conn.Exec(sctx, stmt)
			cancel()
			if err != nil {
				return applied, fmt.Errorf("history: clickhouse: migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		b, err := s.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
		if err != nil {
			return applied, err
		}
		if err := b.Append(uint32(m.Version), m.Name, time.Now().UTC()); err != nil {
			return applied, err
		}
		if err := b.Send(); err != nil {
			return applied, fmt.Errorf("history: clickhouse: record migration %04d: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// Kind implements Store.
func (s *ClickHouse) Kind() string { return "clickhouse" }

// Close implements Store.
func (s *ClickHouse) Close() error { return s.conn.Close() }

// Ping checks the connection.
func (s *ClickHouse) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

const alertCols = "event_id, event_time, fingerprint, alertname, service, severity, status, kind, starts_at, incident_id, team, priority, notifications, flapping, labels_keys, labels_values, version"
const incidentCols = "event_id, event_time, incident_id, event, detail, actor, fingerprint, alertname, services, root_cause, signature, title, severity, team, category, priority, problem_id, opened_at, alert_count, version"

// Write implements Writer. With b.Check, rows whose event_id is already
// stored (in the time range of the batch) are skipped first. After the
// lifecycle rows, the facts of their incidents are recomputed (see
// refreshFacts): with every row of the batch, even those skipped as
// stored, so a retry after a failure in between completes them.
func (s *ClickHouse) Write(ctx context.Context, b *Batch) error {
	if err := s.writeEvents(ctx, b); err != nil {
		return err
	}
	return s.refreshFacts(ctx, b.Incidents)
}

// writeEvents writes the rows of alert_events and incident_events.
func (s *ClickHouse) writeEvents(ctx context.Context, b *Batch) error {
	alerts, incidents := b.Alerts, b.Incidents
	if b.Check {
		var err error
		if alerts, err = skipStored(ctx, s, "alert_events", alerts, func(r *AlertRow) (uint64, time.Time) { return r.ID, r.Time }); err != nil {
			return err
		}
		if incidents, err = skipStored(ctx, s, "incident_events", incidents, func(r *IncidentRow) (uint64, time.Time) { return r.ID, r.Time }); err != nil {
			return err
		}
	}
	if len(alerts) > 0 {
		if err := s.insertAlerts(ctx, alerts); err != nil {
			return err
		}
	}
	if len(incidents) > 0 {
		if err := s.insertIncidents(ctx, incidents); err != nil {
			return err
		}
	}
	return nil
}

// insertAlerts inserts rows into alert_events a column at a time (the
// driver's per-row Append boxes every value: most of the client's cost).
func (s *ClickHouse) insertAlerts(ctx context.Context, rows []AlertRow) error {
	bt, err := s.conn.PrepareBatch(ctx, "INSERT INTO alert_events ("+alertCols+")")
	if err != nil {
		return fmt.Errorf("history: clickhouse: %w", err)
	}
	n := len(rows)
	ids, vers, notes := make([]uint64, n), make([]uint32, n), make([]uint32, n)
	times, starts := make([]time.Time, n), make([]time.Time, n)
	flap := make([]uint8, n)
	strs := make([][]string, 9)
	for c := range strs {
		strs[c] = make([]string, n)
	}
	for i := range rows {
		r := &rows[i]
		ids[i], times[i], starts[i], notes[i], flap[i], vers[i] = r.ID, r.Time, chTime(r.StartsAt), r.Notifications, boolU8(r.Flapping), 1
		strs[0][i], strs[1][i], strs[2][i], strs[3][i], strs[4][i] = r.Fingerprint, r.AlertName, r.Service, r.Severity, r.Status
		strs[5][i], strs[6][i], strs[7][i], strs[8][i] = r.Kind, r.Incident, r.Team, r.Priority
	}
	// event_id, event_time, fingerprint, alertname, service, severity, status, kind, starts_at,
	// incident_id, team, priority, notifications, flapping, labels_keys, labels_values, version
	cols := []any{ids, times, strs[0], strs[1], strs[2], strs[3], strs[4], strs[5], starts, strs[6], strs[7], strs[8], notes, flap}
	for c, v := range cols {
		if err := bt.Column(c).Append(v); err != nil {
			bt.Abort()
			return fmt.Errorf("history: clickhouse: append alert column %d: %w", c, err)
		}
	}
	empty := []string{}
	for i := range rows {
		keys, vals := rows[i].LabelKeys, rows[i].LabelValues
		if keys == nil {
			keys = empty
		}
		if vals == nil {
			vals = empty
		}
		if err := bt.Column(14).AppendRow(keys); err != nil {
			bt.Abort()
			return fmt.Errorf("history: clickhouse: append alert labels: %w", err)
		}
		if err := bt.Column(15).AppendRow(vals); err != nil {
			bt.Abort()
			return fmt.Errorf("history: clickhouse: append alert labels: %w", err)
		}
	}
	if err := bt.Column(16).Append(vers); err != nil {
		bt.Abort()
		return fmt.Errorf("history: clickhouse: append alert version: %w", err)
	}
	if err := bt.Send(); err != nil {
		return fmt.Errorf("history: clickhouse: insert alert_events: %w", err)
	}
	return nil
}

// insertIncidents inserts rows into incident_events.
func (s *ClickHouse) insertIncidents(ctx context.Context, incidents []IncidentRow) error {
	bt, err := s.conn.PrepareBatch(ctx, "INSERT INTO incident_events ("+incidentCols+")")
	if err != nil {
		return fmt.Errorf("history: clickhouse: %w", err)
	}
	for i := range incidents {
		r := &incidents[i]
		svcs := r.Services
		if svcs == nil {
			svcs = []string{}
		}
		if err := bt.Append(r.ID, r.Time, r.Incident, r.Event, r.Detail, r.Actor, r.Fingerprint, r.AlertName, svcs,
			r.RootCause, r.Signature, r.Title, r.Severity, r.Team, r.Category, r.Priority, r.Problem, chTime(r.OpenedAt),
			r.AlertCount, uint32(1)); err != nil {
			bt.Abort()
			return fmt.Errorf("history: clickhouse: append incident row: %w", err)
		}
	}
	if err := bt.Send(); err != nil {
		return fmt.Errorf("history: clickhouse: insert incident_events: %w", err)
	}
	return nil
}

// chTime maps the zero time to the Unix epoch (DateTime's zero).
func chTime(t time.Time) time.Time {
	if t.IsZero() || t.Unix() < 0 {
		return time.Unix(0, 0).UTC()
	}
	return t.UTC()
}

func fromCH(t time.Time) time.Time {
	if t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

func boolU8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// skipStored drops the rows whose ID is stored already.
func skipStored[R any](ctx context.Context, s *ClickHouse, table string, rows []R, key func(*R) (uint64, time.Time)) ([]R, error) {
	if len(rows) == 0 {
		return rows, nil
	}
	lo, hi := int64(1<<62), int64(0)
	for i := range rows {
		_, t := key(&rows[i])
		lo, hi = min(lo, t.Unix()), max(hi, t.Unix())
	}
	q := fmt.Sprintf("SELECT event_id FROM %s WHERE event_time >= toDateTime(%d) AND event_time <= toDateTime(%d)", table, max(lo, 0), max(hi, 0))
	res, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: check stored rows: %w", err)
	}
	have := map[uint64]struct{}{}
	for res.Next() {
		var id uint64
		if err := res.Scan(&id); err != nil {
			res.Close()
			return nil, err
		}
		have[id] = struct{}{}
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, err
	}
	out := rows[:0:0]
	for i := range rows {
		id, _ := key(&rows[i])
		if _, ok := have[id]; ok {
			continue
		}
		have[id] = struct{}{} // twice in one batch: once
		out = append(out, rows[i])
	}
	return out, nil
}

func timeRange(col string, since, until time.Time) string {
	return fmt.Sprintf("%s >= toDateTime(%d) AND %s < toDateTime(%d)", col, max(since.Unix(), 0), col, max(until.Unix(), 0))
}

func stepSeconds(d time.Duration) int64 { return max(int64(d/time.Second), 1) }

// volumeKey returns the key expressions on alert_events and incident_events.
func volumeKey(by string) (alert, incident string, err error) {
	switch by {
	case "":
		return "''", "''", nil
	case "service":
		return "service", "root_cause", nil
	case "alertname":
		return "alertname", "alertname", nil
	case "team":
		return "team", "team", nil
	case "priority":
		return "priority", "priority", nil
	}
	return "", "", fmt.Errorf("by: %q is not one of service, alertname, team, priority", by)
}

// Volume implements Store.
func (s *ClickHouse) Volume(ctx context.Context, q Query) ([]VolumeRow, error) {
	return s.volume(ctx, q, nil)
}

// VolumeTop implements volumeRanker: the rows of Volume(q) of the limit
// keys with the most alerts, then incidents (then the smallest key), as
// Analytics.Volume ranks them; a key is there when one of its counts is
// not zero, as a key of Volume's rows.
func (s *ClickHouse) VolumeTop(ctx context.Context, q Query, limit int) ([]VolumeRow, error) {
	ak, ik, err := volumeKey(q.By)
	if err != nil {
		return nil, err
	}
	alerts := fmt.Sprintf("SELECT %s AS k, toInt64(countIf(kind != 'resolved')) AS a, toInt64(sum(notifications)) AS n FROM alert_events WHERE %s GROUP BY k",
		ak, timeRange("event_time", q.Since, q.Until))
	if s.utcHours && hourly(q, stepSeconds(q.Step)) {
		alerts = fmt.Sprintf("SELECT %s AS k, toInt64(sum(episodes)) AS a, toInt64(sum(notifications)) AS n FROM alert_volume_hourly WHERE %s GROUP BY k",
			ak, timeRange("hour", q.Since, q.Until))
	}
	rq := fmt.Sprintf(`SELECT k FROM (%s) FULL OUTER JOIN (
    SELECT %s AS k, toInt64(count()) AS i FROM incident_events WHERE event = 'opened' AND %s GROUP BY k
) USING k
WHERE a != 0 OR n != 0 OR i != 0
ORDER BY a DESC, i DESC, k
LIMIT %d`, alerts, ik, timeRange("event_time", q.Since, q.Until), limit)
	rows, err := s.conn.Query(ctx, rq)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: volume top keys: %w", err)
	}
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, err
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return []VolumeRow{}, nil
	}
	return s.volume(ctx, q, keys)
}

// volume is Volume, of the keys given only when keys is not nil.
func (s *ClickHouse) volume(ctx context.Context, q Query, keys []string) ([]VolumeRow, error) {
	ak, ik, err := volumeKey(q.By)
	if err != nil {
		return nil, err
	}
	step := stepSeconds(q.Step)
	var args []any
	af, inf := "", ""
	if q.KeySet {
		af, inf = " AND "+ak+" = ?", " AND "+ik+" = ?"
		args = []any{q.Key}
	}
	if keys != nil {
		af, inf = af+" AND has(?, "+ak+")", inf+" AND has(?, "+ik+")"
		args = append(args, keys)
	}
	type vkey struct {
		b uint32
		k string
	}
	idx := make(map[vkey]int, 1024)
	var all []VolumeRow
	get := func(b uint32, k string) *VolumeRow {
		i, ok := idx[vkey{b, k}]
		if !ok {
			i = len(all)
			all = append(all, VolumeRow{T: time.Unix(int64(b), 0).UTC(), Key: k})
			idx[vkey{b, k}] = i
		}
		return &all[i]
	}
	aq := fmt.Sprintf(`SELECT toUInt32(intDiv(toUInt32(event_time), %d) * %d) AS b, %s AS k,
    toInt64(countIf(kind != 'resolved')) AS a, toInt64(sum(notifications)) AS n
FROM alert_events WHERE %s%s GROUP BY b, k`, step, step, ak, timeRange("event_time", q.Since, q.Until), af)
	if s.utcHours && hourly(q, step) {
		// Whole hours: the hourly rollup (alert_volume_hourly, filled on
		// insert) has the same sums in a tenth of the rows or less.
		aq = fmt.Sprintf(`SELECT toUInt32(intDiv(toUInt32(hour), %d) * %d) AS b, %s AS k,
    toInt64(sum(episodes)) AS a, toInt64(sum(notifications)) AS n
FROM alert_volume_hourly WHERE %s%s GROUP BY b, k`, step, step, ak, timeRange("hour", q.Since, q.Until), af)
	}
	rows, err := s.conn.Query(ctx, aq, args...)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: volume: %w", err)
	}
	for rows.Next() {
		var b uint32
		var k string
		var a, n int64
		if err := rows.Scan(&b, &k, &a, &n); err != nil {
			rows.Close()
			return nil, err
		}
		r := get(b, k)
		r.Alerts += a
		r.Notifications += n
	}
	rows.Close()
	iq := fmt.Sprintf(`SELECT toUInt32(intDiv(toUInt32(event_time), %d) * %d) AS b, %s AS k, toInt64(count()) AS c
FROM incident_events WHERE event = 'opened' AND %s%s GROUP BY b, k`, step, step, ik, timeRange("event_time", q.Since, q.Until), inf)
	rows, err = s.conn.Query(ctx, iq, args...)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: volume: %w", err)
	}
	for rows.Next() {
		var b uint32
		var k string
		var c int64
		if err := rows.Scan(&b, &k, &c); err != nil {
			rows.Close()
			return nil, err
		}
		get(b, k).Incidents += c
	}
	rows.Close()
	out := make([]VolumeRow, 0, len(all))
	for _, r := range all {
		if r.Alerts != 0 || r.Notifications != 0 || r.Incidents != 0 {
			out = append(out, r)
		}
	}
	sortVolume(out)
	return out, nil
}

// hourly reports whether the alert volume of q can be read from
// alert_volume_hourly: by nothing, service or alert name (its keys), in
// buckets of whole hours, from and to whole hours. It counts the rows as
// inserted: the same as alert_events as long as no row is written twice
// (a retry is written with Batch.Check, which skips stored rows).
func hourly(q Query, step int64) bool {
	switch q.By {
	case "", "service", "alertname":
	default:
		return false
	}
	s, u := q.Since.Unix(), q.Until.Unix()
	return step%3600 == 0 && s >= 0 && s%3600 == 0 && u%3600 == 0 && q.Since.Nanosecond() == 0 && q.Until.Nanosecond() == 0
}

func sortVolume(rows []VolumeRow) {
	slices.SortFunc(rows, func(a, b VolumeRow) int {
		if c := a.T.Compare(b.T); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

func sortFacts(fs []IncidentFact) {
	sort.Slice(fs, func(i, j int) bool {
		if !fs[i].OpenedAt.Equal(fs[j].OpenedAt) {
			return fs[i].OpenedAt.Before(fs[j].OpenedAt)
		}
		return fs[i].ID < fs[j].ID
	})
}

// AlertNames implements Store. The whole hours of the range are read from
// the rollups (alert_volume_hourly for episodes and notifications,
// alert_names_hourly for the exact sets of fingerprints, refires and
// flapping episodes), the partial hours at its ends from alert_events; the
// sets of both are merged in one query, so the distinct counts stay exact.
func (s *ClickHouse) AlertNames(ctx context.Context, since, until time.Time) ([]NameStat, error) {
	lo, hi := max(since.Unix(), 0), max(until.Unix(), 0)
	h1, h2 := (lo+3599)/3600*3600, hi/3600*3600
	q := fmt.Sprintf(`SELECT alertname,
    toInt64(countIf(kind != 'resolved')) AS e,
    toInt64(countIf(kind = 'refired')),
    toInt64(countIf(kind != 'resolved' AND flapping = 1)),
    toInt64(sum(notifications)),
    toInt64(uniqExact(cityHash64(fingerprint)))
FROM alert_events WHERE %s
GROUP BY alertname`, timeRange("event_time", since, until))
	if h1 < h2 && s.utcHours {
		hours := fmt.Sprintf("hour >= toDateTime(%d) AND hour < toDateTime(%d)", h1, h2)
		q = fmt.Sprintf(`SELECT alertname,
    toInt64(sum(e)),
    toInt64(uniqExactIfMerge(r)),
    toInt64(uniqExactIfMerge(l)),
    toInt64(sum(n)),
    toInt64(uniqExactMerge(f))
FROM (
    SELECT alertname, toUInt64(0) AS e, toUInt64(0) AS n, fingerprints AS f, refires AS r, flapping AS l
    FROM alert_names_hourly WHERE %s
    UNION ALL
    SELECT alertname, sum(episodes) AS e, sum(notifications) AS n, arrayReduce('uniqExactState', emptyArrayUInt64()) AS f,
        uniqExactIfState(toUInt64(0), toUInt8(0)) AS r, uniqExactIfState(toUInt64(0), toUInt8(0)) AS l
    FROM alert_volume_hourly WHERE %s GROUP BY alertname
    UNION ALL
    SELECT alertname, countIf(kind != 'resolved') AS e, sum(notifications) AS n, uniqExactState(cityHash64(fingerprint)) AS f,
        uniqExactIfState(event_id, kind = 'refired') AS r, uniqExactIfState(event_id, kind != 'resolved' AND flapping = 1) AS l
    FROM alert_events
    WHERE event_time >= toDateTime(%d) AND event_time < toDateTime(%d) OR event_time >= toDateTime(%d) AND event_time < toDateTime(%d)
    GROUP BY alertname
)
GROUP BY alertname`, hours, hours, lo, h1, h2, hi)
	}
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: alert names: %w", err)
	}
	defer rows.Close()
	var out []NameStat
	for rows.Next() {
		var n NameStat
		if err := rows.Scan(&n.AlertName, &n.Episodes, &n.Refires, &n.Flapping, &n.Notifications, &n.Fingerprints); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	// The incidents each name opened: a small query on incident_events.
	opened := map[string]int64{}
	rows, err = s.conn.Query(ctx, fmt.Sprintf(`SELECT alertname, toInt64(count()) FROM incident_events
WHERE event = 'opened' AND %s GROUP BY alertname`, timeRange("event_time", since, until)))
	if err != nil {
		return nil, fmt.Errorf("history: clickhouse: alert names: %w", err)
	}
	for rows.Next() {
		var name string
		var c int64
		if err := rows.Scan(&name, &c); err != nil {
			return nil, err
		}
		opened[name] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Incidents = opened[out[i].AlertName]
	}
	sortNames(out)
	return out, nil
}

func sortNames(ns []NameStat) {
	sort.Slice(ns, func(i, j int) bool {
		if ns[i].Episodes != ns[j].Episodes {
			return ns[i].Episodes > ns[j].Episodes
		}
		return ns[i].AlertName < ns[j].AlertName
	})
}

// Counts implements Store.
func (s *ClickHouse) Counts(ctx context.Context) (alerts, incidents int64, err error) {
	for _, x := range []struct {
		table string
		n     *int64
	}{{"alert_events", &alerts}, {"incident_events", &incidents}} {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT uniqExact(event_id) FROM "+x.table).Scan(&n); err != nil {
			return 0, 0, fmt.Errorf("history: clickhouse: count %s: %w", x.table, err)
		}
		*x.n = int64(n)
	}
	return alerts, incidents, nil
}
