package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
)

// TestAmtoolRoundTrip drives the API with the real amtool (Debian package
// prometheus-alertmanager): amtool alert add, then amtool alert query must
// show the alert, as it would against Alertmanager.
func TestAmtoolRoundTrip(t *testing.T) {
	amtool := testenv.Require(t, "amtool")["amtool"]
	sink := &memSink{}
	api := New(ingest.Config{}, sink, sink, nil, time.Now)
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, amtool, append(args, "--alertmanager.url="+srv.URL)...)
		cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("amtool %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), stderr.String())
		}
		return out.String()
	}

	run("alert", "add", "alertname=SiftAmtoolTest", "service=db", "severity=critical",
		"--annotation=summary=disk is full", "--generator-url=http://example.invalid/graph")
	run("alert", "add", "alertname=OtherAlert", "severity=warning")

	bs := sink.Batches()
	if len(bs) != 2 || bs[0].Source != "amv2" || len(bs[0].Alerts) != 1 {
		t.Fatalf("sink got %+v", bs)
	}
	a := bs[0].Alerts[0]
	want := model.LabelSet{"alertname": "SiftAmtoolTest", "service": "db", "severity": "critical"}
	if a.Fingerprint() != want.Fingerprint() || a.Summary() != "disk is full" || a.GeneratorURL != "http://example.invalid/graph" {
		t.Fatalf("amtool alert add stored %+v", a)
	}

	// Query with a matcher, JSON output: amtool parsed our gettableAlerts.
	out := run("alert", "query", "alertname=SiftAmtoolTest", "-o", "json")
	var got []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Fingerprint string            `json:"fingerprint"`
		Receivers   []struct{ Name string }
		Status      struct{ State string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("amtool query output %q: %v", out, err)
	}
	if len(got) != 1 || got[0].Labels["alertname"] != "SiftAmtoolTest" || got[0].Annotations["summary"] != "disk is full" ||
		got[0].Fingerprint != want.Fingerprint().String() || got[0].Status.State != "active" ||
		len(got[0].Receivers) != 1 || got[0].Receivers[0].Name != "sift" {
		t.Fatalf("amtool alert query returned %s", out)
	}

	// Default (simple) output lists both alerts; a regex matcher narrows it.
	out = run("alert", "query")
	if !strings.Contains(out, "SiftAmtoolTest") || !strings.Contains(out, "OtherAlert") || !strings.Contains(out, "disk is full") {
		t.Fatalf("amtool alert query:\n%s", out)
	}
	out = run("alert", "query", "severity=~warn.*")
	if strings.Contains(out, "SiftAmtoolTest") || !strings.Contains(out, "OtherAlert") {
		t.Fatalf("amtool alert query severity=~warn.*:\n%s", out)
	}
	// amtool's other read-only commands work against Sift too.
	if out := run("config", "routes"); !strings.Contains(out, "sift") {
		t.Errorf("amtool config routes does not show the sift receiver:\n%s", out)
	}
	run("config", "show")
	run("silence", "query")
}
