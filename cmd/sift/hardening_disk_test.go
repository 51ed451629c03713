//go:build linux

package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
)

// A full disk: ingest answers 503 and /readyz says why; once there is
// room again, ingest resumes by itself (no restart) and /readyz is ready;
// after a kill -9 every alert answered 2xx is there.
func TestHardeningFullDiskHeals(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	data := filepath.Join(dir, "data")
	p := startSift(t, "--data-dir", data)
	now := time.Now()
	acked := 0
	post := func(i int) int {
		a := alertJSON(fmt.Sprintf("Disk%d", i), "svc", "i", now, now.Add(time.Hour))
		a["annotations"] = map[string]string{"summary": strings.Repeat("s", 4000)}
		code, _, err := postJSON(p.url+"/api/v2/alerts", []any{a})
		if err != nil {
			t.Fatal(err)
		}
		if code == 200 {
			acked++
		}
		return code
	}
	for i := 0; i < 20; i++ {
		if c := post(i); c != 200 {
			t.Fatalf("post %d before filling: %d", i, c)
		}
	}
	// Fill the disk.
	filler := filepath.Join(dir, "filler")
	exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=1M", "count=100").Run()
	refused := 0
	for i := 20; i < 200 && refused < 3; i++ {
		switch c := post(i); c {
		case 200:
		case 503:
			refused++
		default:
			t.Fatalf("post on a full disk: %d", c)
		}
	}
	if refused == 0 {
		t.Fatal("nothing refused on a full disk")
	}
	resp, err := http.Get(p.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("/readyz while the journal refuses appends: %d", resp.StatusCode)
	}
	if v := metricValue(t, p.url, "sift_journal_writable"); v != 0 {
		t.Fatalf("sift_journal_writable = %v while full", v)
	}
	os.Remove(filler)
	testenv.WaitFor(t, 10*time.Second, "ready again", func() bool {
		r, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == 200
	})
	for i := 1000; i < 1010; i++ {
		if c := post(i); c != 200 {
			t.Fatalf("post after the disk emptied: %d", c)
		}
	}
	p.kill9(t)
	p = startSift(t, "--data-dir", data)
	var alerts []map[string]any
	getJSON(t, p.url+"/api/v2/alerts", &alerts)
	if len(alerts) != acked {
		t.Fatalf("%d alerts after the restart, %d were answered 200", len(alerts), acked)
	}
}
