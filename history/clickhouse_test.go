package history

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// openTestClickHouse returns a store in a fresh database of the shared server.
func openTestClickHouse(t testing.TB) *ClickHouse {
	t.Helper()
	native, httpURL := testenv.SharedClickHouse(t)
	db := testenv.NewClickHouseDatabase(t, httpURL)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := OpenClickHouse(ctx, &ClickHouseConfig{Addr: native, Database: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestClickHouseMigrateTwice(t *testing.T) {
	s := openTestClickHouse(t)
	ms, err := Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations: %v %v", ms, err)
	}
	applied, err := s.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v again", applied)
	}
	var n uint64
	if err := s.conn.QueryRow(context.Background(), "SELECT count() FROM schema_migrations").Scan(&n); err != nil || int(n) != len(ms) {
		t.Fatalf("schema_migrations rows = %d (%v), want %d", n, err, len(ms))
	}
}

// TestClickHouseFactsOfAnOlderDatabase: a database of a release before
// incident_facts (migration 0001 only, lifecycle rows written) gets the
// facts of its incidents from migration 0002, with the same answers.
func TestClickHouseFactsOfAnOlderDatabase(t *testing.T) {
	s := openTestClickHouse(t)
	ctx := context.Background()
	if err := s.writeEvents(ctx, sampleBatch()); err != nil { // as the old release: no facts
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TABLE incident_facts", "DROP TABLE schema_migrations",
		"CREATE TABLE schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree ORDER BY version"} {
		if err := s.conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Append(uint32(1), "events", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 2 || applied[0] != 2 || applied[1] != 3 {
		t.Fatalf("applied %v, want [2 3]", applied)
	}
	checkStore(t, s)
	// Rows written since keep the facts up to date; a rebuild changes nothing.
	if err := s.RebuildFacts(ctx); err != nil {
		t.Fatal(err)
	}
	checkStore(t, s)
}

// TestClickHouseFactsFollowLateRows: rows of an incident written in
// several batches, one of them earlier in time than those before it, give
// the facts of all of them.
func TestClickHouseFactsFollowLateRows(t *testing.T) {
	s := openTestClickHouse(t)
	ctx := context.Background()
	all := sampleBatch()
	// One batch per row, in reverse order: each refresh must find the rows
	// written before it, later and earlier in time alike.
	for i := len(all.Incidents) - 1; i >= 0; i-- {
		b := &Batch{Incidents: all.Incidents[i : i+1]}
		if i == 0 {
			b.Alerts = all.Alerts
		}
		if err := s.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	checkStore(t, s)
	var versions uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM incident_facts FINAL").Scan(&versions); err != nil || versions != 3 {
		t.Fatalf("incident_facts FINAL: %d rows (%v), want 3", versions, err)
	}
}

// TestClickHouseAlertNamesOfAnOlderDatabase: a database of a release
// before alert_names_hourly (migrations 0001 and 0002, alert rows written)
// gets the rollup of its rows from migration 0003, with the same answers;
// the backfill run again (two instances migrating at once) and rows
// written twice change none.
func TestClickHouseAlertNamesOfAnOlderDatabase(t *testing.T) {
	s := openTestClickHouse(t)
	ctx := context.Background()
	for _, q := range []string{"DROP TABLE alert_names_hourly_mv", "DROP TABLE alert_names_hourly"} {
		if err := s.conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Write(ctx, sampleBatch()); err != nil { // as the old release: no rollup
		t.Fatal(err)
	}
	if err := s.conn.Exec(ctx, "DROP TABLE schema_migrations"); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Exec(ctx, "CREATE TABLE schema_migrations (version UInt32, name String, applied_at DateTime) ENGINE = MergeTree ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO schema_migrations (version, name, applied_at)")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint32{1, 2} {
		if err := b.Append(v, "old", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 || applied[0] != 3 {
		t.Fatalf("applied %v, want [3]", applied)
	}
	checkStore(t, s)
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	backfill := ms[2].SQL[len(ms[2].SQL)-1]
	if err := s.conn.Exec(ctx, backfill); err != nil {
		t.Fatal(err)
	}
	checkStore(t, s)
	// Partial hours at both ends, against the rows themselves.
	since, until := t0.Add(30*time.Minute+20*time.Second), t0.Add(25*time.Hour+5*time.Minute)
	got, err := s.AlertNames(ctx, since, until)
	if err != nil {
		t.Fatal(err)
	}
	want := []NameStat{
		{AlertName: "HighLatency", Episodes: 2, Refires: 1, Flapping: 1, Notifications: 7, Fingerprints: 1, Incidents: 1},
		{AlertName: "PaymentDown", Episodes: 1, Refires: 1, Notifications: 6, Fingerprints: 1, Incidents: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("alert names %v..%v:\n got %+v\nwant %+v", since, until, got, want)
	}
}
