package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
)

// The files under deploy/ are what users copy: each is checked by the tool
// that reads it, and the Alertmanager one is run for real.

func deployFile(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "deploy", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDeploySiftConfigIsValid(t *testing.T) {
	if code, out, errs := runCLI("config", "check", deployFile(t, "sift.yaml")); code != 0 {
		t.Fatalf("sift config check deploy/sift.yaml: exit %d\n%s%s", code, out, errs)
	}
}

func TestDeployPrometheusConfigIsValid(t *testing.T) {
	bin := testenv.Require(t, "promtool")["promtool"]
	if out, err := exec.Command(bin, "check", "config", deployFile(t, "prometheus.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config deploy/prometheus.yml: %v\n%s", err, out)
	}
}

func TestDeploySystemdUnitVerifies(t *testing.T) {
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed (Debian package systemd): the unit file is not verified")
	}
	// The unit names /usr/local/bin/sift; verify it against this binary.
	unit, err := os.ReadFile(deployFile(t, "sift.service"))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "sift.service")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(unit), "/usr/local/bin/sift", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "verify", p).CombinedOutput()
	if err != nil || strings.Contains(string(out), "sift.service") {
		t.Fatalf("systemd-analyze verify deploy/sift.service: %v\n%s", err, out)
	}
}

// A real Alertmanager (Debian package) with deploy/alertmanager.yml
// forwards an alert it receives to Sift over the webhook, and Sift opens an
// incident for it.
func TestDeployAlertmanagerForwardsToSift(t *testing.T) {
	testenv.Require(t, "prometheus-alertmanager")
	p := startSift(t, "--data-dir", t.TempDir())
	cfg, err := os.ReadFile(deployFile(t, "alertmanager.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), "127.0.0.1:9093") {
		t.Fatal("deploy/alertmanager.yml no longer names Sift's default address")
	}
	am := testenv.StartAlertmanager(t, strings.ReplaceAll(string(cfg), "127.0.0.1:9093", strings.TrimPrefix(p.url, "http://")))
	alert := []map[string]any{{
		"labels":      map[string]string{"alertname": "ForwardedByAlertmanager", "service": "checkout", "severity": "critical"},
		"annotations": map[string]string{"summary": "sent to Alertmanager, forwarded to Sift"},
		"startsAt":    time.Now().UTC().Format(time.RFC3339),
	}}
	if code, body, err := postJSON(am+"/api/v2/alerts", alert); err != nil || code != 200 {
		t.Fatalf("POST to Alertmanager: %d %s %v", code, body, err)
	}
	waitIncident(t, p, 60*time.Second, func(title, root string) bool {
		return strings.Contains(title, "ForwardedByAlertmanager") && root == "checkout"
	})
}
