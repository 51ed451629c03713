package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
)

// TestAutomaticSnapshotRecovers appends enough alerts to trigger the
// automatic snapshot (captured on the commit path, encoded and written by
// another goroutine), appends more after it, then opens a copy of the data
// directory as it is on disk (what a crash would leave) and checks that the
// recovered engine equals the live one: the snapshot holds the state of the
// moment it was captured, and the records after it replay on top.
func TestAutomaticSnapshotRecovers(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	p, err := Open(Options{DataDir: dir, SnapshotEvery: 50, Logger: log, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	appendBatch := func(b int) {
		t.Helper()
		batch := model.Batch{At: at.Add(time.Duration(b) * time.Second), Source: "test"}
		for i := range 10 {
			id := (b*10 + i) % 30
			batch.Alerts = append(batch.Alerts, model.Alert{
				Labels:      model.LabelSet{"alertname": fmt.Sprint("A", id%3), "service": fmt.Sprint("svc", id%5), "instance": fmt.Sprint("i", id)},
				Annotations: model.LabelSet{"summary": fmt.Sprint("batch ", b)},
				StartsAt:    at,
			})
		}
		if err := p.Append(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	// 30 identities: a snapshot is due after max(50, 10 × 30) = 300
	// notifications (records + alerts), i.e. after 28 batches.
	for b := range 40 {
		appendBatch(b)
	}
	snapFile := filepath.Join(dir, "snapshot")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(snapFile); err == nil && p.snapping.TryLock() {
			p.snapping.Unlock() // written and done
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no automatic snapshot written after 440 notifications")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for b := 40; b < 50; b++ {
		appendBatch(b)
	}

	crash := t.TempDir()
	copyDir(t, dir, crash)
	q, err := Open(Options{DataDir: crash, SnapshotEvery: 1 << 30, Logger: log, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if got, want := engineStats(q), engineStats(p); got != want {
		t.Errorf("recovered stats %+v, live %+v", got, want)
	}
	if got, want := alertSummary(q), alertSummary(p); !reflect.DeepEqual(got, want) {
		t.Errorf("recovered alerts differ:\n got %v\nwant %v", got, want)
	}
	if got, want := len(incidents(q)), len(incidents(p)); got != want || want == 0 {
		t.Errorf("recovered %d incidents, live %d (want > 0)", got, want)
	}
}

func engineStats(p *Pipeline) (s correlate.Stats) {
	p.View(func(e *correlate.Engine) { s = e.Stats() })
	return s
}

func incidents(p *Pipeline) (out []*model.Incident) {
	p.View(func(e *correlate.Engine) { out = e.All() })
	return out
}

func alertSummary(p *Pipeline) []string {
	var out []string
	for _, a := range p.Alerts() {
		out = append(out, fmt.Sprintf("%s %s %d %s %s", a.Fingerprint, a.Status, a.Count, a.Incident, a.Summary()))
	}
	sort.Strings(out)
	return out
}

// copyDir copies the journal's files (not its lock) from src to dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if errors.Is(err, os.ErrNotExist) {
			return nil // gone meanwhile (a snapshot.tmp renamed): a crash copy would not have it either
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if info.Name() == "LOCK" {
			return nil
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
