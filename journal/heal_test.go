//go:build linux

package journal

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// mountTmpfs mounts a tmpfs of size bytes at a new directory (root only).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// A full disk refuses appends; once there is room again, appends resume by
// themselves, and a restart finds every acknowledged record and none of
// the refused ones.
func TestJournalHealsAfterDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	j, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	filler := dir + "/filler"
	if out, err := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k", "count=58").CombinedOutput(); err != nil {
		t.Fatalf("fill: %v %s", err, out)
	}
	rec := func(i int) *model.Record {
		return &model.Record{Batch: &model.Batch{At: time.Unix(int64(1e9+i), 0), Alerts: []model.Alert{{
			Labels: model.LabelSet{"alertname": "Fill", "i": strings.Repeat("x", 8000) + string(rune('a'+i%26))}}}}}
	}
	ctx := context.Background()
	acked, refused := 0, 0
	for i := 0; i < 200 && refused == 0; i++ {
		if err := j.Append(ctx, rec(i)); err != nil {
			refused++
			if !strings.Contains(err.Error(), "no space") {
				t.Fatalf("append %d: %v", i, err)
			}
		} else {
			acked++
		}
	}
	if refused == 0 || acked == 0 {
		t.Fatalf("acked %d, refused %d: the disk never filled", acked, refused)
	}
	if j.Err() == nil || j.Failures() == 0 {
		t.Fatal("Err() is nil while appends are refused")
	}
	// Still full: still refused, fast.
	if err := j.Append(ctx, rec(1000)); err == nil {
		t.Fatal("append accepted on a full disk")
	}
	os.Remove(filler)
	var healed bool
	for k := 0; k < 50 && !healed; k++ {
		time.Sleep(100 * time.Millisecond)
		healed = j.Append(ctx, rec(2000+k)) == nil
		if healed {
			acked++
		}
	}
	if !healed || j.Err() != nil {
		t.Fatalf("the journal did not heal once there was room: %v", j.Err())
	}
	for i := 0; i < 5; i++ {
		if err := j.Append(ctx, rec(3000+i)); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen after healing: %v", err)
	}
	defer j.Close()
	n := 0
	if err := j.Replay(0, func(*model.Record) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != acked {
		t.Fatalf("replayed %d records, %d were acknowledged", n, acked)
	}
}
