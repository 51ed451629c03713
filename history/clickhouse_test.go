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
