package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const contract = `listen: 127.0.0.1:9093
data_dir: ./data
correlate:
  window: 5m                 # how far apart alerts can be and still join
  group_by: [alertname, service]
topology:
  label: service
  depends_on:
    frontend: [checkout, catalog]
    checkout: [payment]
`

func TestContractKeys(t *testing.T) {
	c, err := Parse([]byte(contract))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9093" || c.DataDir != "./data" || time.Duration(c.Correlate.Window) != 5*time.Minute ||
		strings.Join(c.Correlate.GroupBy, ",") != "alertname,service" || c.Topology.Label != "service" ||
		strings.Join(c.Topology.DependsOn["frontend"], ",") != "checkout,catalog" {
		t.Fatalf("parsed %+v", c)
	}
}

func TestEmptyConfigGetsDefaults(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != DefaultListen || c.DataDir != DefaultDataDir || c.Correlate.Window == 0 || c.Ingest.MaxBatch == 0 {
		t.Fatalf("defaults not applied: %+v", c)
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	cases := []struct{ doc, want string }{
		{"correlate:\n  window: 5 minutes\n", "line 2"},
		{"correlate:\n  windw: 5m\n", "line 2"},
		{"listen: x\ncorrelate:\n  text_threshold: 3\n", "line 3"},
		{"correlate:\n  window: 5m\n  signals:\n    topology:\n      per_hop: 2\n", "line 5"},
		{"topology:\n  depends_on:\n    a: [b, a]\n", "line 3"},
		{"ingest:\n  drop_labels: [ok, \"bad-name\"]\n", "line 2"},
		{"correlate: [\n", "line 1"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.doc))
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("%q: want *Error, got %v", c.doc, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q (line %d) does not name %s", c.doc, err, ce.Line, c.want)
		}
	}
}

// FuzzParse: any bytes give a config or an error that names the problem,
// never a panic; an accepted config validates.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "listen: 127.0.0.1:9093\n", "correlate:\n  window: 5m\n  group_by: [alertname]\n",
		"topology:\n  label: service\n  depends_on:\n    a: [b]\n", "correlate:\n  window: -1s\n",
		"kafka:\n  brokers: [127.0.0.1:9092]\n  topic: alerts\n", "a: [", "correlate: 3\n", "\t", "topology:\n  depends_on:\n    a: b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", data)
			}
			return
		}
		if c == nil {
			t.Fatalf("%q: nil config without error", data)
		}
	})
}

// The per-alert and per-incident bounds can also be set under limits:.
func TestLimitsSection(t *testing.T) {
	c, err := Parse([]byte("limits:\n  max_active_alerts: 500\n  max_labels_per_alert: 20\n  max_label_bytes: 1024\n  max_alerts_per_incident: 300\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.ActiveAlerts() != 500 || c.Ingest.MaxLabelsPerAlert != 20 || c.Ingest.MaxLabelBytes != 1024 || c.Correlate.MaxAlertsPerIncident != 300 {
		t.Fatalf("limits not applied: %+v %+v %d", c.Limits, c.Ingest, c.Correlate.MaxAlertsPerIncident)
	}
	if _, err := Parse([]byte("ingest: {max_labels_per_alert: 10}\nlimits: {max_labels_per_alert: 20}\n")); err == nil || !strings.Contains(err.Error(), "limits.max_labels_per_alert") {
		t.Fatalf("conflicting bounds: %v", err)
	}
	if _, err := Parse([]byte("limits: {max_label_bytes: 8}\n")); err == nil {
		t.Fatal("max_label_bytes 8 under limits: accepted")
	}
}
