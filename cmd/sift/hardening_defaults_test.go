package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Safe defaults: no profiling endpoints, and no change through a body that
// is not JSON (what a web page can send to any address without asking).
func TestHardeningSafeDefaults(t *testing.T) {
	p := startSift(t, "--data-dir", t.TempDir())
	now := time.Now()
	if code, body, err := postJSON(p.url+"/api/v2/alerts", []any{alertJSON("Probe", "svc", "i", now, now.Add(time.Hour))}); err != nil || code != 200 {
		t.Fatalf("post: %d %s %v", code, body, err)
	}
	var list struct{ Incidents []struct{ ID string } }
	getJSON(t, p.url+"/api/v1/incidents", &list)
	if len(list.Incidents) != 1 {
		t.Fatalf("incidents: %+v", list)
	}
	id := list.Incidents[0].ID
	for _, c := range []struct{ path, ctype, body string }{
		{"/api/v1/incidents/" + id + "/classify", "application/x-www-form-urlencoded", "team=evil"},
		{"/api/v1/incidents/" + id + "/classify", "text/plain", `{"team":"evil"}`},
		{"/api/v1/incidents/" + id + "/resolve", "text/plain", `{"actor":"x"}`},
		{"/api/v2/alerts", "text/plain", `[{"labels":{"alertname":"Injected"}}]`},
		{"/api/v1/incidents/" + id + "/ack", "", `{"actor":"x"}`},
	} {
		req, _ := http.NewRequest(http.MethodPost, p.url+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error, Field string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType || e.Field != "Content-Type" {
			t.Errorf("POST %s as %q: %d %+v, want 415", c.path, c.ctype, resp.StatusCode, e)
		}
	}
	var inc struct {
		Incident       struct{ Status string }
		Classification struct{ Team string }
	}
	getJSON(t, p.url+"/api/v1/incidents/"+id, &inc)
	if inc.Incident.Status != "open" || inc.Classification.Team == "evil" {
		t.Fatalf("a refused request changed the incident: %+v", inc)
	}
	var alerts []any
	getJSON(t, p.url+"/api/v2/alerts", &alerts)
	if len(alerts) != 1 {
		t.Fatalf("%d alerts, want 1", len(alerts))
	}
	// JSON with a charset parameter is JSON.
	req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v1/incidents/"+id+"/ack", strings.NewReader(`{"actor":"ana"}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("ack as application/json; charset=utf-8: %v %v", resp.StatusCode, err)
	}
	resp, err := http.Get(p.url + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("/debug/pprof/ is served by default: %d", resp.StatusCode)
	}
}

// The detail of a large incident is paged: a bounded number of alerts per
// answer, a cursor to the next page, and a summary of all of them.
func TestHardeningIncidentDetailIsPaged(t *testing.T) {
	p := startSift(t, "--data-dir", t.TempDir())
	now := time.Now()
	var batch []any
	for i := 0; i < 250; i++ {
		batch = append(batch, alertJSON("HighLatency", "api", fmt.Sprintf("pod-%d", i), now, now.Add(time.Hour)))
	}
	if code, body, err := postJSON(p.url+"/api/v2/alerts", batch); err != nil || code != 200 {
		t.Fatalf("post: %d %s %v", code, body, err)
	}
	var list struct{ Incidents []struct{ ID string } }
	getJSON(t, p.url+"/api/v1/incidents", &list)
	if len(list.Incidents) != 1 {
		t.Fatalf("incidents: %+v", list)
	}
	seen := map[string]bool{}
	cursor, pages := "", 0
	for {
		var d struct {
			Incident struct {
				AlertCount int
				Members    []struct{ Fingerprint string }
			}
			Alerts     []struct{ Fingerprint string }
			Explain    []any
			AlertsPage struct {
				Limit, Total int
				NextCursor   string
			}
			AlertsSummary struct {
				Total, Firing int
				ByService     map[string]int
			}
		}
		getJSON(t, p.url+"/api/v1/incidents/"+list.Incidents[0].ID+"?alerts_limit=100&alerts_cursor="+cursor, &d)
		pages++
		if len(d.Alerts) > 100 || len(d.Incident.Members) != len(d.Alerts) || len(d.Explain) != len(d.Alerts) {
			t.Fatalf("page %d: %d alerts, %d members, %d explanations", pages, len(d.Alerts), len(d.Incident.Members), len(d.Explain))
		}
		if d.AlertsPage.Total != 250 || d.AlertsSummary.Total != 250 || d.AlertsSummary.Firing != 250 || d.AlertsSummary.ByService["api"] != 250 || d.Incident.AlertCount != 250 {
			t.Fatalf("page %d: %+v %+v", pages, d.AlertsPage, d.AlertsSummary)
		}
		for _, a := range d.Alerts {
			seen[a.Fingerprint] = true
		}
		if d.AlertsPage.NextCursor == "" {
			break
		}
		cursor = d.AlertsPage.NextCursor
	}
	if pages != 3 || len(seen) != 250 {
		t.Fatalf("%d pages, %d distinct alerts", pages, len(seen))
	}
	resp, err := http.Get(p.url + "/api/v1/incidents/" + list.Incidents[0].ID + "?alerts_limit=100000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("alerts_limit=100000: %d", resp.StatusCode)
	}
}

// Beyond limits.max_active_alerts new alerts get 429 (with Retry-After and
// a JSON error) and a metric; known alerts are still taken.
func TestHardeningMaxActiveAlerts(t *testing.T) {
	dir := t.TempDir()
	cfg := dir + "/sift.yaml"
	os.WriteFile(cfg, []byte("data_dir: "+dir+"/data\nlimits: {max_active_alerts: 50}\n"), 0o644)
	p := startSift(t, "--config", cfg)
	now := time.Now()
	batch := func(from, n int) []any {
		var b []any
		for i := from; i < from+n; i++ {
			b = append(b, alertJSON("Load", "svc", fmt.Sprint(i), now, now.Add(time.Hour)))
		}
		return b
	}
	if code, body, _ := postJSON(p.url+"/api/v2/alerts", batch(0, 50)); code != 200 {
		t.Fatalf("50 alerts: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodPost, p.url+"/api/v2/alerts", strings.NewReader(mustJSON(batch(50, 10))))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(e.Error, "max_active_alerts") {
		t.Fatalf("10 more: %d %q %+v", resp.StatusCode, resp.Header.Get("Retry-After"), e)
	}
	if code, body, _ := postJSON(p.url+"/api/v2/alerts", batch(0, 50)); code != 200 {
		t.Fatalf("the same 50 again: %d %s", code, body)
	}
	if v := metricValue(t, p.url, "sift_alerts_refused_full_total"); v != 10 {
		t.Fatalf("sift_alerts_refused_full_total = %v", v)
	}
	var alerts []any
	getJSON(t, p.url+"/api/v2/alerts", &alerts)
	if len(alerts) != 50 {
		t.Fatalf("%d alerts held", len(alerts))
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// GET /api/v2/alerts streams its answer (chunked, never one buffer of
// every alert) and it is still one JSON array in Alertmanager's shape.
func TestHardeningGetAlertsStreams(t *testing.T) {
	p := startSift(t, "--data-dir", t.TempDir())
	now := time.Now()
	const n = 20000
	for from := 0; from < n; from += 1000 {
		var b []any
		for i := from; i < from+1000; i++ {
			b = append(b, alertJSON("Stream", fmt.Sprintf("svc-%d", i%50), fmt.Sprint(i), now, now.Add(time.Hour)))
		}
		if code, body, err := postJSON(p.url+"/api/v2/alerts", b); err != nil || code != 200 {
			t.Fatalf("post: %d %s %v", code, body, err)
		}
	}
	resp, err := http.Get(p.url + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("not streamed: Content-Length %d, Transfer-Encoding %v", resp.ContentLength, resp.TransferEncoding)
	}
	var alerts []struct {
		Fingerprint string
		Labels      map[string]string
		Status      struct{ State string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	if len(alerts) != n {
		t.Fatalf("%d alerts, want %d", len(alerts), n)
	}
	for i := 1; i < len(alerts); i++ {
		if alerts[i-1].Fingerprint >= alerts[i].Fingerprint || alerts[i].Status.State != "active" {
			t.Fatalf("alert %d: %+v after %+v", i, alerts[i], alerts[i-1])
		}
	}
}

// By default the memory limit follows the live heap (limits.gc_headroom):
// /metrics shows it set; with gc_headroom 0 it is not.
func TestHardeningMemoryLimitByDefault(t *testing.T) {
	limit := func(p *proc) float64 {
		body, err := httpGet(p.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, "sift_memory_limit_bytes "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%q: %v", line, err)
				}
				return f
			}
		}
		return 0
	}
	if l := limit(startSift(t, "--data-dir", t.TempDir())); l < 128<<20 {
		t.Fatalf("default: sift_memory_limit_bytes %v, want at least the 128 MiB base", l)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yaml")
	if err := os.WriteFile(cfg, []byte("limits:\n  gc_headroom: 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if l := limit(startSift(t, "--config", cfg, "--data-dir", filepath.Join(dir, "data"))); l != 0 {
		t.Fatalf("gc_headroom 0: sift_memory_limit_bytes %v, want none", l)
	}
}
