package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Silences and changes against a real sift serve, across kill -9: a
// silence made before the kill still mutes its alert after the restart,
// and a change posted before an incident is its root-cause evidence in
// the incident detail.
func TestSilencesAndChangesSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yaml")
	os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "data")+`
topology:
  depends_on: {checkout: [payment]}
`), 0o644)
	s := startSift(t, "--config", cfg)
	now := time.Now().UTC()
	code, body, err := postJSON(s.url+"/api/v2/silences", map[string]any{
		"matchers":  []map[string]any{{"name": "service", "value": "batch", "isRegex": false, "isEqual": true}},
		"startsAt":  now.Format(time.RFC3339),
		"endsAt":    now.Add(time.Hour).Format(time.RFC3339),
		"createdBy": "ops", "comment": "nightly batch",
	})
	if err != nil || code != 200 {
		t.Fatalf("post silence: %d %s %v", code, body, err)
	}
	var sid struct{ SilenceID string }
	json.Unmarshal(body, &sid)
	if code, body, _ := postJSON(s.url+"/api/v1/changes", map[string]any{"id": "deploy-42", "service": "payment", "kind": "deploy",
		"summary": "payment v1.4.2", "at": now.Add(-2 * time.Minute).Format(time.RFC3339), "author": "alice"}); code != 200 {
		t.Fatalf("post change: %d %s", code, body)
	}
	s.kill9(t)
	s = startSift(t, "--config", cfg)

	alerts := []any{
		alertJSON("JobFailed", "batch", "b-1", now, now.Add(time.Hour)),
		alertJSON("CheckoutErrors", "checkout", "c-1", now, now.Add(time.Hour)),
	}
	if code, body, _ := postJSON(s.url+"/api/v2/alerts", alerts); code != 200 {
		t.Fatalf("post alerts: %d %s", code, body)
	}
	var got []struct {
		Labels map[string]string
		Status struct {
			State      string
			SilencedBy []string
		}
	}
	getJSON(t, s.url+"/api/v2/alerts", &got)
	states := map[string]string{}
	for _, a := range got {
		states[a.Labels["service"]] = a.Status.State + " " + strings.Join(a.Status.SilencedBy, ",")
	}
	if states["batch"] != "suppressed "+sid.SilenceID || states["checkout"] != "active " {
		t.Fatalf("alert states after the restart: %v", states)
	}
	var list struct {
		Incidents []struct {
			ID       string
			Services []string
		}
	}
	getJSON(t, s.url+"/api/v1/incidents", &list)
	if len(list.Incidents) != 1 || list.Incidents[0].Services[0] != "checkout" {
		t.Fatalf("incidents (the silenced alert must open none): %+v", list.Incidents)
	}
	var detail struct {
		Incident struct {
			RootCause struct {
				Service  string
				Evidence []string
				Changes  []struct {
					ID, Service, Relation string
					BeforeSeconds         float64
				}
			}
		}
	}
	getJSON(t, s.url+"/api/v1/incidents/"+list.Incidents[0].ID, &detail)
	rc := detail.Incident.RootCause
	if rc.Service != "checkout" || len(rc.Changes) != 1 || rc.Changes[0].ID != "deploy-42" || rc.Changes[0].Relation != "dependency" ||
		rc.Changes[0].BeforeSeconds < 100 || !strings.Contains(strings.Join(rc.Evidence, " "), "deploy on payment, which checkout depends on") {
		t.Fatalf("root cause: %+v", rc)
	}
	// Expire the silence: the batch alert opens its incident.
	req, _ := http.NewRequest("DELETE", s.url+"/api/v2/silence/"+sid.SilenceID, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("expire: %v %v", resp, err)
	}
	resp.Body.Close()
	getJSON(t, s.url+"/api/v1/incidents", &list)
	if len(list.Incidents) != 2 {
		t.Fatalf("after expiring the silence: %+v", list.Incidents)
	}
}
