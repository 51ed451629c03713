package main

import (
	"encoding/json"
	"net/http"
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
