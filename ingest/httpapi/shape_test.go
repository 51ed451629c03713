package httpapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/internal/testenv"
)

// shape renders the structure of a JSON value: object keys and value kinds,
// not the values.
func shape(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{")
		for _, k := range keys {
			fmt.Fprintf(&b, "%s:%s ", k, shape(x[k]))
		}
		return strings.TrimSpace(b.String()) + "}"
	case []any:
		if len(x) == 0 {
			return "[]"
		}
		return "[" + shape(x[0]) + "]"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func getJSON(t *testing.T, url string) any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return v
}

func postJSON(t *testing.T, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	if len(b) != 0 {
		t.Errorf("POST %s: body %q, Alertmanager answers an empty body", url, b)
	}
}

// TestShapeMatchesRealAlertmanager posts the same alerts to a real
// Alertmanager (Debian package prometheus-alertmanager) and to Sift, and
// compares the JSON structure of what each answers on GET /api/v2/alerts,
// /receivers, /silences and /status.
func TestShapeMatchesRealAlertmanager(t *testing.T) {
	amURL := testenv.StartAlertmanager(t, "route:\n  receiver: sift\nreceivers:\n  - name: sift\n")
	sink := &memSink{}
	api := New(ingest.Config{}, sink, sink, nil, time.Now)
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
	body := `[{"labels":{"alertname":"ShapeTest","severity":"critical","service":"db"},` +
		`"annotations":{"summary":"x"},"startsAt":"` + start + `","generatorURL":"http://example.invalid/g"}]`
	postJSON(t, amURL+"/api/v2/alerts", body)
	postJSON(t, srv.URL+"/api/v2/alerts", body)

	var amAlerts any
	for i := 0; i < 50; i++ { // Alertmanager ingests asynchronously
		amAlerts = getJSON(t, amURL+"/api/v2/alerts")
		if len(amAlerts.([]any)) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	siftAlerts := getJSON(t, srv.URL+"/api/v2/alerts")
	if got, want := shape(siftAlerts), shape(amAlerts); got != want {
		t.Errorf("GET /api/v2/alerts shape differs from Alertmanager's:\n sift %s\n   am %s", got, want)
	}
	am, sift := amAlerts.([]any)[0].(map[string]any), siftAlerts.([]any)[0].(map[string]any)
	for _, k := range []string{"fingerprint", "receivers", "labels", "annotations", "generatorURL", "startsAt"} {
		if fmt.Sprint(am[k]) != fmt.Sprint(sift[k]) {
			t.Errorf("%s: sift %v, Alertmanager %v", k, sift[k], am[k])
		}
	}
	if fmt.Sprint(am["status"]) != fmt.Sprint(sift["status"]) {
		t.Errorf("status: sift %v, Alertmanager %v", sift["status"], am["status"])
	}

	for _, path := range []string{"/api/v2/receivers", "/api/v2/silences"} {
		if got, want := shape(getJSON(t, srv.URL+path)), shape(getJSON(t, amURL+path)); got != want {
			t.Errorf("GET %s shape: sift %s, Alertmanager %s", path, got, want)
		}
	}
	// Status: every field Alertmanager reports that amtool/Prometheus
	// read is there with the same kind (nothing else for a lone instance).
	amStatus := getJSON(t, amURL+"/api/v2/status").(map[string]any)
	siftStatus := getJSON(t, srv.URL+"/api/v2/status").(map[string]any)
	for _, k := range []string{"uptime", "versionInfo", "config", "cluster"} {
		if got, want := shape(siftStatus[k]), shape(amStatus[k]); got != want {
			t.Errorf("status.%s shape: sift %s, Alertmanager %s", k, got, want)
		}
	}
	if c := siftStatus["cluster"].(map[string]any); c["status"] != "disabled" || shape(c["peers"]) != "[]" {
		t.Errorf("status.cluster = %v", c)
	}
}
