package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// writeSiftConfig writes a configuration with the given limits section.
func writeSiftConfig(t *testing.T, limits string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := dir + "/sift.yaml"
	if err := os.WriteFile(cfg, []byte("data_dir: "+dir+"/data\nlimits: "+limits+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// countAlerts counts the alerts GET /api/v2/alerts lists.
func countAlerts(t *testing.T, url string) int {
	t.Helper()
	var alerts []json.RawMessage
	getJSON(t, url+"/api/v2/alerts", &alerts)
	return len(alerts)
}

// limitBatch is n distinct alerts named name (one service each, so that
// they do not all form one incident), firing until end.
func limitBatch(name string, from, n int, start, end time.Time) []any {
	b := make([]any, 0, n)
	for i := from; i < from+n; i++ {
		b = append(b, alertJSON(name, fmt.Sprintf("svc-%d", i%20), fmt.Sprint(i), start, end))
	}
	return b
}

// Issue #15, finding 1: concurrent senders must not take the active alerts
// beyond limits.max_active_alerts (admit counted only what was applied,
// not the batches admitted and still being journaled: 8 senders × 1,000
// went 6,000 past a 1,000,000 limit).
func TestHardeningLimitConcurrentSenders(t *testing.T) {
	const limit, senders, batch = 1000, 8, 100
	p := startSift(t, "--config", writeSiftConfig(t, fmt.Sprintf("{max_active_alerts: %d}", limit)))
	now := time.Now()
	var mu sync.Mutex
	accepted, refused := 0, 0
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; ; r++ {
				from := (r*senders + s) * batch
				code, body, err := postJSON(p.url+"/api/v2/alerts", limitBatch("Storm", from, batch, now, now.Add(time.Hour)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				switch code {
				case 200:
					accepted += batch
				case 429:
					refused++
				default:
					t.Errorf("post: %d %s", code, body)
				}
				mu.Unlock()
				if code != 200 || from > 4*limit {
					return
				}
			}
		}()
	}
	wg.Wait()
	if accepted > limit {
		t.Errorf("%d alerts accepted with max_active_alerts %d", accepted, limit)
	}
	if n := countAlerts(t, p.url); n > limit || n != accepted {
		t.Errorf("%d alerts firing (%d accepted), max_active_alerts %d", n, accepted, limit)
	}
	if refused == 0 {
		t.Errorf("no sender was refused")
	}
}

// Issue #15, finding 4: resolved alerts do not count toward
// limits.max_active_alerts (they did for correlate.retention, 7 days), and
// the resolved alerts stored are bounded by it too: beyond it the oldest
// that no open incident holds are forgotten.
func TestHardeningLimitResolvedAlertsFreeTheBound(t *testing.T) {
	const limit = 100
	p := startSift(t, "--config", writeSiftConfig(t, fmt.Sprintf("{max_active_alerts: %d}", limit)))
	now := time.Now()
	for round := range 5 {
		name := fmt.Sprintf("Wave%d", round)
		if code, body, _ := postJSON(p.url+"/api/v2/alerts", limitBatch(name, 0, limit, now, now.Add(time.Hour))); code != 200 {
			t.Fatalf("round %d: %d alerts: %d %s", round, limit, code, body)
		}
		if code, _, _ := postJSON(p.url+"/api/v2/alerts", limitBatch(name+"More", 0, 1, now, now.Add(time.Hour))); code != 429 {
			t.Fatalf("round %d: one beyond the bound: %d, want 429", round, code)
		}
		// All of them resolve.
		end := time.Now()
		if code, body, _ := postJSON(p.url+"/api/v2/alerts", limitBatch(name, 0, limit, now, end)); code != 200 {
			t.Fatalf("round %d: resolving: %d %s", round, code, body)
		}
		if n := countAlerts(t, p.url); n != 0 {
			t.Fatalf("round %d: %d alerts firing after all resolved", round, n)
		}
		if v := metricValue(t, p.url, "sift_alerts_firing"); v != 0 {
			t.Fatalf("round %d: sift_alerts_firing %v", round, v)
		}
		if v := metricValue(t, p.url, "sift_alerts_stored"); v > limit+limit/8 {
			t.Fatalf("round %d: %v alerts stored, bound %d", round, v, limit)
		}
	}
	// The resolved alerts that were forgotten are still in their
	// incidents' member lists.
	var list struct{ Incidents []struct{ ID, Status string } }
	getJSON(t, p.url+"/api/v1/incidents?status=resolved", &list)
	if len(list.Incidents) == 0 {
		t.Fatalf("no resolved incidents")
	}
}

// Issue #15, finding 2: GET /api/v2/alerts was cut by the server's write
// timeout once status 200 was sent (a truncated array, "unexpected EOF").
// A slow reader that keeps reading gets every alert; one that stops
// reading is still cut off. The write timeout is 1s here (60s in
// production).
func TestHardeningLimitAlertsSlowReader(t *testing.T) {
	t.Setenv("SIFT_TEST_WRITE_TIMEOUT", "1s")
	p := startSift(t, "--data-dir", t.TempDir())
	now := time.Now()
	const n = 30000
	for from := 0; from < n; from += 1000 {
		if code, body, err := postJSON(p.url+"/api/v2/alerts", limitBatch("Slow", from, 1000, now, now.Add(time.Hour))); err != nil || code != 200 {
			t.Fatalf("post: %d %s %v", code, body, err)
		}
	}
	// A client with a small receive buffer, so that the kernel does not
	// take the whole answer on the client's behalf.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetReadBuffer(64 << 10)
			}
			return c, err
		}}}
	// Slow but live: 256 KiB every 100ms, several seconds in all.
	resp, err := client.Get(p.url + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	start := time.Now()
	buf := make([]byte, 256<<10)
	for {
		k, err := io.ReadFull(resp.Body, buf)
		body.Write(buf[:k])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes in %s: %v", body.Len(), time.Since(start), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp.Body.Close()
	took := time.Since(start)
	var alerts []struct{ Fingerprint string }
	if err := json.Unmarshal(body.Bytes(), &alerts); err != nil {
		t.Fatalf("%d bytes in %s: %v", body.Len(), took, err)
	}
	if len(alerts) != n || took < 2*time.Second {
		t.Fatalf("%d alerts in %s, want %d over more than the write timeout", len(alerts), took, n)
	}
	// Stalled: reads nothing for longer than the timeout, then is cut.
	resp, err = client.Get(p.url + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && json.Valid(b) {
		t.Fatalf("a reader stalled for 4s got the whole answer (%d bytes): not cut", len(b))
	}
}
