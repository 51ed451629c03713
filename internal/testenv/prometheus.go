package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// DefaultPrometheusConfig is used by StartPrometheus when configYAML is
// empty: no scrape targets, rules evaluated every second.
const DefaultPrometheusConfig = `global:
  scrape_interval: 1s
  evaluation_interval: 1s
`

// PrometheusAlertingConfig returns a configuration that evaluates rules
// every second and sends alerts (API v2) to the Alertmanager-compatible
// receiver at hostPort (e.g. "127.0.0.1:9093": a real Alertmanager or Sift).
func PrometheusAlertingConfig(hostPort string) string {
	return fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: [%q]
`, hostPort)
}

// StartPrometheus starts a private Prometheus on a free 127.0.0.1 port with
// the given configuration and returns its base URL (http://127.0.0.1:PORT).
// It is stopped when t ends; its output is logged if t failed.
//
// The configuration is written to prometheus.yml in a temporary directory
// (relative paths in it resolve there). A non-empty rulesYAML is written to
// rules.yml next to it and, if the configuration has no rule_files entry,
// added as rule_files: [rules.yml]. Short intervals (evaluation_interval: 1s)
// are the caller's business; an empty configYAML means
// DefaultPrometheusConfig. Prometheus runs with --rules.alert.resend-delay=1s
// (default 1m) so that alerts reach the receivers within seconds. Skips (fails under CI=true) without prometheus.
func StartPrometheus(t testing.TB, configYAML, rulesYAML string) string {
	t.Helper()
	bin := Require(t, "prometheus")["prometheus"]
	if configYAML == "" {
		configYAML = DefaultPrometheusConfig
	}
	dir := t.TempDir()
	if rulesYAML != "" {
		rulesPath := filepath.Join(dir, "rules.yml")
		if err := os.WriteFile(rulesPath, []byte(rulesYAML), 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		configYAML, err = withRuleFile(configYAML, rulesPath)
		if err != nil {
			t.Fatalf("testenv: prometheus config: %v", err)
		}
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(configYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return startHTTPDaemon(t, "prometheus", bin, dir, "tsdb-", func(addr, data string) []string {
		return []string{
			"--config.file=" + cfgPath,
			"--storage.tsdb.path=" + data,
			"--web.listen-address=" + addr,
			"--log.level=warn",
			// Resend firing alerts every second instead of every
			// minute: the first send at start-up is often dropped
			// before the Alertmanager targets are discovered.
			"--rules.alert.resend-delay=1s",
		}
	})
}

// withRuleFile adds rule_files: [path] to the configuration unless it
// already lists rule files.
func withRuleFile(configYAML, path string) (string, error) {
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(configYAML), &cfg); err != nil {
		return "", fmt.Errorf("parse: %w", err)
	}
	if cfg == nil {
		cfg = map[string]any{}
	}
	if _, ok := cfg["rule_files"]; ok {
		return configYAML, nil
	}
	cfg["rule_files"] = []string{path}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	return string(out), nil
}
