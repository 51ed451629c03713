package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
)

// A real Prometheus (Debian package) with a rule that fires, configured
// with Sift as its Alertmanager: the alert arrives over the real v2 API
// and becomes an incident.
func TestRealPrometheusAlertBecomesIncident(t *testing.T) {
	testenv.Require(t, "prometheus")
	p := startSift(t, "--data-dir", t.TempDir())
	hostPort := strings.TrimPrefix(p.url, "http://")
	testenv.StartPrometheus(t, testenv.PrometheusAlertingConfig(hostPort), `groups:
  - name: sift-e2e
    rules:
      - alert: SiftE2EAlwaysFiring
        expr: vector(1) > 0
        labels:
          service: checkout
          severity: critical
        annotations:
          summary: always firing test alert for checkout
`)
	inc := waitIncident(t, p, 90*time.Second, func(title, root string) bool { return true })
	if inc.RootCause != "checkout" || !strings.Contains(inc.Title, "SiftE2EAlwaysFiring") {
		t.Fatalf("incident from Prometheus = %+v", inc)
	}
}

type listedIncident struct {
	Title     string `json:"title"`
	RootCause string `json:"rootCause"`
}

// waitIncident polls Sift's incident list until an incident matches, and
// fails after within.
func waitIncident(t *testing.T, p *proc, within time.Duration, match func(title, root string) bool) listedIncident {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var list struct {
			Incidents []listedIncident `json:"incidents"`
		}
		getJSON(t, p.url+"/api/v1/incidents", &list)
		for _, inc := range list.Incidents {
			if match(inc.Title, inc.RootCause) {
				return inc
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("no matching incident within %s", within)
	return listedIncident{}
}

// amtool (Debian prometheus-alertmanager) adds an alert to Sift and finds
// it again with a query, as it would against Alertmanager.
func TestAmtoolAgainstSift(t *testing.T) {
	bins := testenv.Require(t, "amtool")
	p := startSift(t, "--data-dir", t.TempDir())
	out, err := exec.Command(bins["amtool"], "alert", "add", "--alertmanager.url="+p.url,
		"alertname=AmtoolAdded", "service=billing", "severity=warning", "--annotation=summary=added by amtool").CombinedOutput()
	if err != nil {
		t.Fatalf("amtool alert add: %v\n%s", err, out)
	}
	out, err = exec.Command(bins["amtool"], "alert", "query", "--alertmanager.url="+p.url, "-o", "extended", "alertname=AmtoolAdded").CombinedOutput()
	if err != nil {
		t.Fatalf("amtool alert query: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "AmtoolAdded") || !strings.Contains(string(out), "billing") {
		t.Fatalf("amtool alert query does not show the alert:\n%s", out)
	}
	var list struct {
		Total int `json:"total"`
	}
	getJSON(t, p.url+"/api/v1/incidents?service=billing", &list)
	if list.Total != 1 {
		t.Fatalf("incidents for billing: %d", list.Total)
	}
}
