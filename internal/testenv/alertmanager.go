package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// DefaultAlertmanagerConfig is used by StartAlertmanager when configYAML is
// empty: every alert goes to a receiver that notifies nobody.
const DefaultAlertmanagerConfig = `route:
  receiver: blackhole
  group_by: ['...']
receivers:
  - name: blackhole
`

// StartAlertmanager starts a private Alertmanager (Debian binary
// prometheus-alertmanager) on a free 127.0.0.1 port with gossip off
// (--cluster.listen-address=) and returns its base URL
// (http://127.0.0.1:PORT; the API is under /api/v2). It is stopped when t
// ends; its output is logged if t failed. An empty configYAML means
// DefaultAlertmanagerConfig. Skips (fails under CI=true) without the binary.
func StartAlertmanager(t testing.TB, configYAML string) string {
	t.Helper()
	bin := Require(t, "prometheus-alertmanager")["prometheus-alertmanager"]
	if configYAML == "" {
		configYAML = DefaultAlertmanagerConfig
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(configYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return startHTTPDaemon(t, "alertmanager", bin, dir, "data-", func(addr, data string) []string {
		return []string{
			"--config.file=" + cfgPath,
			"--storage.path=" + data,
			"--web.listen-address=" + addr,
			"--cluster.listen-address=",
			"--log.level=warn",
		}
	})
}
