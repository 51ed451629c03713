package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHardeningIngest attacks the ingest API of a real sift serve (issue
// 15): connections that announce a 16 MiB body and send none of it must
// not cost memory, and hostile alerts (a 1 MB label value, 10,000
// labels, invalid UTF-8, a start in the year 9999) are refused with a
// JSON error naming the field, without losing what was accepted before.
func TestHardeningIngest(t *testing.T) {
	p := startSift(t, "--data-dir", t.TempDir())
	now := time.Now().UTC()
	alert := func(name string) []byte {
		return fmt.Appendf(nil, `[{"labels":{"alertname":%q,"service":"hardening"},"startsAt":%q}]`, name, now.Format(time.RFC3339))
	}
	if code, body := ingestHardeningPost(t, p.url+"/api/v2/alerts", alert("Before")); code != 200 {
		t.Fatalf("normal post: %d %s", code, body)
	}

	t.Run("headers announcing 16 MiB", func(t *testing.T) {
		const conns, hold, maxGrowth = 200, 2 * time.Second, 100 << 20
		pid := p.cmd.Process.Pid
		base := ingestHardeningRSS(t, pid)
		addr := strings.TrimPrefix(p.url, "http://")
		open := make([]net.Conn, 0, conns)
		defer func() {
			for _, c := range open {
				c.Close()
			}
		}()
		req := "POST /api/v2/alerts HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\n" +
			"Content-Length: 16777216\r\n\r\n[{\"labels\":" // a few body bytes, then nothing
		for range conns {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				t.Fatalf("connection %d: %v", len(open), err)
			}
			open = append(open, c)
			if _, err := io.WriteString(c, req); err != nil {
				t.Fatalf("connection %d: %v", len(open), err)
			}
		}
		peak := base
		for end := time.Now().Add(hold); time.Now().Before(end); {
			time.Sleep(100 * time.Millisecond)
			peak = max(peak, ingestHardeningRSS(t, pid))
		}
		// Sift answers meanwhile; none of the held requests was answered
		// (the server is waiting for their bodies).
		if code, body := ingestHardeningPost(t, p.url+"/api/v2/alerts", alert("During")); code != 200 {
			t.Errorf("normal post while %d connections hang: %d %s", conns, code, body)
		}
		for i, c := range open[:5] {
			c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if n, err := c.Read(make([]byte, 1)); n > 0 || !ingestHardeningTimeout(err) {
				t.Errorf("held connection %d answered early: %d bytes, %v", i, n, err)
			}
		}
		t.Logf("RSS %d MB before, peak %d MB with %d connections announcing 16 MiB each (+%d MB)",
			base>>20, peak>>20, conns, (peak-base)>>20)
		if peak-base >= maxGrowth {
			t.Errorf("RSS grew by %d MB under the header attack, want < %d MB", (peak-base)>>20, maxGrowth>>20)
		}
		for _, c := range open {
			c.Close()
		}
		open = open[:0]
		time.Sleep(200 * time.Millisecond)
		t.Logf("RSS %d MB after the connections closed", ingestHardeningRSS(t, pid)>>20)
		resp, err := http.Get(p.url + "/readyz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("readyz after the attack: %v %v", resp, err)
		}
		resp.Body.Close()
		if code, body := ingestHardeningPost(t, p.url+"/api/v2/alerts", alert("After")); code != 200 {
			t.Fatalf("normal post after the attack: %d %s", code, body)
		}
	})

	var many strings.Builder
	many.WriteString(`[{"labels":{"alertname":"Many"`)
	for i := 1; i < 10000; i++ {
		fmt.Fprintf(&many, `,"label_%d":"v"`, i)
	}
	many.WriteString(`}}]`)
	for _, c := range []struct {
		name         string
		body         []byte
		code         int
		field, error string
	}{
		{"1 MB label value", []byte(`[{"labels":{"alertname":"Big","big":"` + strings.Repeat("x", 1<<20) + `"}}]`),
			413, "[0].labels.big", "exceeds the limit of 8192 bytes (ingest.max_label_bytes)"},
		{"10000 labels", []byte(many.String()), 413, "[0].labels", "10000 labels exceed the limit of 64 per alert"},
		{"invalid UTF-8 in a label", []byte("[{\"labels\":{\"alertname\":\"Bad\",\"job\":\"a\xff\xfeb\"}}]"), 400, "[0].labels.job", "not valid UTF-8"},
		{"startsAt in 9999", []byte(`[{"labels":{"alertname":"Future"},"startsAt":"9999-01-01T00:00:00Z"}]`), 400, "[0].startsAt", "after the receipt time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := ingestHardeningPost(t, p.url+"/api/v2/alerts", c.body)
			var e struct {
				Error string `json:"error"`
				Field string `json:"field"`
			}
			if code != c.code || json.Unmarshal(body, &e) != nil {
				t.Fatalf("%d %.300s, want %d with a JSON error", code, body, c.code)
			}
			if e.Field != c.field || !strings.Contains(e.Error, c.error) {
				t.Errorf("error %.300q field %q, want field %q and an error containing %q", e.Error, e.Field, c.field, c.error)
			}
			// The next normal alert is accepted.
			if code, body := ingestHardeningPost(t, p.url+"/api/v2/alerts", alert("After "+c.name)); code != 200 {
				t.Fatalf("normal post after it: %d %s", code, body)
			}
		})
	}

	// Nothing accepted was lost, nothing refused got in.
	var listed []struct {
		Labels map[string]string `json:"labels"`
	}
	getJSON(t, p.url+"/api/v2/alerts", &listed)
	names := map[string]bool{}
	for _, a := range listed {
		names[a.Labels["alertname"]] = true
	}
	for _, want := range []string{"Before", "During", "After", "After 1 MB label value", "After 10000 labels", "After invalid UTF-8 in a label", "After startsAt in 9999"} {
		if !names[want] {
			t.Errorf("accepted alert %q is not listed (listed: %v)", want, names)
		}
	}
	for _, refused := range []string{"Big", "Many", "Bad", "Future"} {
		if names[refused] {
			t.Errorf("refused alert %q is listed", refused)
		}
	}
}

func ingestHardeningTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ingestHardeningPost posts body as it is (invalid UTF-8 included).
func ingestHardeningPost(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// ingestHardeningRSS returns the resident set size of process pid, in
// bytes (VmRSS in /proc/PID/status).
func ingestHardeningRSS(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}
