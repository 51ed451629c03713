package history

import (
	"context"
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
	if len(applied) != 1 || applied[0] != 2 {
		t.Fatalf("applied %v, want [2]", applied)
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
