package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
)

// t0 is the receipt time: between the captures' firing and resolved sends.
var t0 = time.Date(2026, 11, 24, 22, 56, 0, 0, time.UTC)

// memSink is an in-memory Sink that records batches, and an AlertLister
// that lists the latest state of each alert identity it received, so that
// POST and GET round-trip in tests.
type memSink struct {
	mu      sync.Mutex
	batches []model.Batch
	fail    error
	states  map[model.Fingerprint]*model.AlertState
}

func (s *memSink) Append(ctx context.Context, b model.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.batches = append(s.batches, b)
	if s.states == nil {
		s.states = map[model.Fingerprint]*model.AlertState{}
	}
	for _, a := range b.Alerts {
		fp := a.Fingerprint()
		st := s.states[fp]
		if st == nil {
			st = &model.AlertState{Fingerprint: fp, FirstSeen: b.At}
			s.states[fp] = st
		}
		st.Alert, st.LastSeen, st.Count = a, b.At, st.Count+1
		st.Status = model.StatusFiring
		if a.ResolvedAt(b.At) {
			st.Status, st.ResolvedAt = model.StatusResolved, a.EndsAt
		}
	}
	return nil
}

func (s *memSink) Alerts() []model.AlertState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []model.AlertState
	for _, st := range s.states {
		out = append(out, *st)
	}
	return out
}

func (s *memSink) Batches() []model.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]model.Batch(nil), s.batches...)
}

type fixture struct {
	sink *memSink
	reg  *prometheus.Registry
	srv  *httptest.Server
}

func newFixture(t *testing.T, cfg ingest.Config) *fixture {
	t.Helper()
	f := &fixture{sink: &memSink{}, reg: prometheus.NewRegistry()}
	api := New(cfg, f.sink, f.sink, f.reg, func() time.Time { return t0 })
	mux := http.NewServeMux()
	api.Register(mux)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, contentType, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// metric returns the value of the counter (or histogram sample count) name
// with exactly the given labels.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			if m.GetHistogram() != nil {
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func sharedCapture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "captures", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPostCaptures(t *testing.T) {
	f := newFixture(t, ingest.Config{})
	cases := []struct {
		path, capture, source string
		wantBody              string
		resolved              bool
	}{
		{"/api/v2/alerts", "prometheus_alerts_sample.json", "amv2", "", false},
		{"/api/v2/alerts", "prometheus_alerts_resolved_sample.json", "amv2", "", true},
		{"/api/v1/webhooks/alertmanager", "alertmanager_webhook_sample.json", "webhook", `{"accepted":1}`, false},
		{"/api/v1/webhooks/alertmanager", "alertmanager_webhook_resolved_sample.json", "webhook", `{"accepted":1}`, true},
	}
	for i, c := range cases {
		code, _, body := f.do(t, "POST", c.path, "application/json; charset=utf-8", sharedCapture(t, c.capture))
		if code != 200 || strings.TrimSpace(string(body)) != c.wantBody {
			t.Fatalf("%s %s: %d %q, want 200 %q", c.path, c.capture, code, body, c.wantBody)
		}
		bs := f.sink.Batches()
		if len(bs) != i+1 {
			t.Fatalf("sink has %d batches after %d requests", len(bs), i+1)
		}
		b := bs[i]
		if b.Source != c.source || !b.At.Equal(t0) || len(b.Alerts) != 1 {
			t.Fatalf("batch %+v", b)
		}
		if fp := b.Alerts[0].Fingerprint().String(); fp != "c809db4e47fb2461" {
			t.Errorf("%s: fingerprint %s, want Alertmanager's c809db4e47fb2461", c.capture, fp)
		}
		if b.Alerts[0].ResolvedAt(b.At) != c.resolved {
			t.Errorf("%s: resolved at receipt = %v, want %v", c.capture, !c.resolved, c.resolved)
		}
	}
	if got := metric(t, f.reg, "sift_alerts_received_total", map[string]string{"source": "amv2"}); got != 2 {
		t.Errorf("received{amv2} = %v, want 2", got)
	}
	if got := metric(t, f.reg, "sift_alerts_received_total", map[string]string{"source": "webhook"}); got != 2 {
		t.Errorf("received{webhook} = %v, want 2", got)
	}
	if got := metric(t, f.reg, "sift_ingest_request_duration_seconds", map[string]string{"source": "webhook"}); got != 2 {
		t.Errorf("duration{webhook} count = %v, want 2", got)
	}
}

func TestPostEvents(t *testing.T) {
	f := newFixture(t, ingest.Config{})
	code, _, body := f.do(t, "POST", "/api/v1/events", "application/json",
		`[{"name":"DiskFull","host":"db-1","severity":"critical","summary":"disk 95% full"},{"name":"Backup","status":"resolved"}]`)
	if code != 200 || strings.TrimSpace(string(body)) != `{"accepted":2}` {
		t.Fatalf("%d %s", code, body)
	}
	b := f.sink.Batches()[0]
	if b.Source != "event" || b.Alerts[0].Labels["host"] != "db-1" || b.Alerts[0].Summary() != "disk 95% full" || !b.Alerts[1].ResolvedAt(t0) {
		t.Errorf("batch %+v", b)
	}
}

func TestPostErrors(t *testing.T) {
	f := newFixture(t, ingest.Config{MaxBodyBytes: 400, MaxBatch: 2})
	good := `[{"labels":{"alertname":"A"}}]`
	cases := []struct {
		name, method, path, ct, body string
		code                         int
		field, msg, reason           string
	}{
		{"wrong content type", "POST", "/api/v2/alerts", "text/plain", good, 415, "", "unsupported Content-Type", ReasonContentType},
		{"form content type", "POST", "/api/v1/events", "application/x-www-form-urlencoded", `{"name":"A"}`, 415, "", "want application/json", ReasonContentType},
		{"no content type", "POST", "/api/v1/webhooks/alertmanager", "", `{}`, 415, "", "missing Content-Type", ReasonContentType},
		{"bad charset", "POST", "/api/v2/alerts", "application/json; charset=latin1", good, 415, "", "charset", ReasonContentType},
		{"oversize", "POST", "/api/v2/alerts", "application/json", "[" + strings.Repeat(" ", 500) + "]", 413, "", "exceeds 400 bytes", ReasonBodyTooLarge},
		{"invalid JSON", "POST", "/api/v2/alerts", "application/json", `[{"labels":`, 400, "", "invalid JSON at byte offset", ingest.ReasonInvalidJSON},
		{"empty batch", "POST", "/api/v2/alerts", "application/json", `[]`, 400, "", "no alerts", ingest.ReasonEmptyBatch},
		{"too many", "POST", "/api/v2/alerts", "application/json", `[{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"}},{"labels":{"alertname":"C"}}]`, 400, "", "3 alerts exceed the limit of 2", ingest.ReasonTooManyAlerts},
		{"one bad alert", "POST", "/api/v2/alerts", "application/json", `[{"labels":{"alertname":"A"}},{"labels":{"job":"x"}}]`, 400, "[1].labels.alertname", "missing", ingest.ReasonInvalidAlert},
		{"bad label name", "POST", "/api/v2/alerts", "application/json", `[{"labels":{"alertname":"A","a-b":"1"}}]`, 400, `[0].labels."a-b"`, "invalid label name", ingest.ReasonInvalidAlert},
		{"bad time", "POST", "/api/v1/webhooks/alertmanager", "application/json", `{"version":"4","alerts":[{"labels":{"alertname":"A"},"startsAt":"x"}]}`, 400, "alerts[0].startsAt", `invalid time "x"`, ingest.ReasonInvalidAlert},
		{"missing labels", "POST", "/api/v2/alerts", "application/json", `[{"annotations":{}}]`, 400, "[0].labels", "missing", ingest.ReasonInvalidAlert},
		{"event without name", "POST", "/api/v1/events", "application/json", `{"host":"h"}`, 400, "name", "missing", ingest.ReasonInvalidAlert},
		{"PUT", "PUT", "/api/v2/alerts", "application/json", good, 405, "", "method PUT not allowed", ""},
		{"DELETE", "DELETE", "/api/v1/events", "", "", 405, "", "method DELETE not allowed", ""},
		{"GET on webhook", "GET", "/api/v1/webhooks/alertmanager", "", "", 405, "", "allowed: POST", ""},
		{"POST status", "POST", "/api/v2/status", "application/json", "{}", 405, "", "allowed: GET", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			source := map[string]string{"/api/v2/alerts": "amv2", "/api/v1/events": "event", "/api/v1/webhooks/alertmanager": "webhook"}[c.path]
			before := metric(t, f.reg, "sift_alerts_rejected_total", map[string]string{"source": source, "reason": c.reason})
			code, hdr, body := f.do(t, c.method, c.path, c.ct, c.body)
			if code != c.code {
				t.Fatalf("status %d, want %d (%s)", code, c.code, body)
			}
			if hdr.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", hdr.Get("Content-Type"))
			}
			var e struct{ Error, Field string }
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q is not a JSON error: %v", body, err)
			}
			if e.Field != c.field || !strings.Contains(e.Error, c.msg) {
				t.Errorf("error %+v, want field %q and message containing %q", e, c.field, c.msg)
			}
			if c.code == 405 && hdr.Get("Allow") == "" {
				t.Error("405 without Allow header")
			}
			if c.reason != "" {
				if after := metric(t, f.reg, "sift_alerts_rejected_total", map[string]string{"source": source, "reason": c.reason}); after <= before {
					t.Errorf("rejected{%s,%s} did not grow (%v)", source, c.reason, after)
				}
			}
		})
	}
	if n := len(f.sink.Batches()); n != 0 {
		t.Fatalf("%d batches reached the sink from invalid requests", n)
	}
	// The batch with one bad alert out of two counts two rejected alerts.
	if got := metric(t, f.reg, "sift_alerts_rejected_total", map[string]string{"source": "amv2", "reason": ingest.ReasonInvalidAlert}); got != 2+1+1 {
		t.Errorf("rejected{amv2,invalid_alert} = %v, want 4 (2 + 1 + 1 alerts)", got)
	}
}

// A chunked body (no Content-Length) over the limit is cut off too.
func TestOversizeChunked(t *testing.T) {
	f := newFixture(t, ingest.Config{MaxBodyBytes: 1000})
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("["))
		for i := 0; i < 100; i++ {
			fmt.Fprintf(pw, `{"labels":{"alertname":"A%d"}},`, i)
		}
		pw.Write([]byte(`{"labels":{"alertname":"Z"}}]`))
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", f.srv.URL+"/api/v2/alerts", pr)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.Contains(string(body), "max_body_bytes") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if len(f.sink.Batches()) != 0 {
		t.Fatal("oversize body reached the sink")
	}
}

func TestFailingSink(t *testing.T) {
	f := newFixture(t, ingest.Config{})
	f.sink.fail = errors.New("journal: disk full")
	for _, c := range []struct{ path, body string }{
		{"/api/v2/alerts", `[{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"}}]`},
		{"/api/v1/webhooks/alertmanager", `{"version":"4","alerts":[{"labels":{"alertname":"A"}}]}`},
		{"/api/v1/events", `{"name":"A"}`},
	} {
		code, _, body := f.do(t, "POST", c.path, "application/json", c.body)
		var e struct{ Error string }
		if code != 503 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "disk full") {
			t.Errorf("%s: %d %s, want 503 with the sink's error", c.path, code, body)
		}
	}
	if got := metric(t, f.reg, "sift_alerts_rejected_total", map[string]string{"source": "amv2", "reason": ReasonSinkError}); got != 2 {
		t.Errorf("rejected{amv2,sink_error} = %v, want 2", got)
	}
	if got := metric(t, f.reg, "sift_alerts_received_total", map[string]string{"source": "amv2"}); got != 0 {
		t.Errorf("received = %v after failures", got)
	}
}

type staticLister []model.AlertState

func (l staticLister) Alerts() []model.AlertState { return l }

func state(status string, endsAt time.Time, kv ...string) model.AlertState {
	ls := model.LabelSet{}
	for i := 0; i < len(kv); i += 2 {
		ls[kv[i]] = kv[i+1]
	}
	return model.AlertState{
		Fingerprint: ls.Fingerprint(),
		Alert:       model.Alert{Labels: ls, StartsAt: t0.Add(-time.Hour), EndsAt: endsAt},
		Status:      status, LastSeen: t0.Add(-time.Minute),
	}
}

func TestGetAlertsFilters(t *testing.T) {
	lister := staticLister{
		state(model.StatusFiring, time.Time{}, "alertname", "Foo", "severity", "critical", "service", "db"),
		state(model.StatusFiring, t0.Add(time.Hour), "alertname", "Foo", "severity", "warning", "service", "web"),
		state(model.StatusFiring, time.Time{}, "alertname", "Bar", "severity", "critical-ish"),
		state(model.StatusFiring, time.Time{}, "alertname", "Baz"),
		state(model.StatusResolved, t0.Add(-time.Minute), "alertname", "Foo", "severity", "critical", "service", "old"),
		state(model.StatusFiring, t0.Add(-time.Second), "alertname", "Foo", "service", "ended"), // endsAt passed
	}
	api := New(ingest.Config{}, &memSink{}, lister, nil, func() time.Time { return t0 })
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(query string) (int, []map[string]any) {
		resp, err := http.Get(srv.URL + "/api/v2/alerts" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			var e struct{ Error string }
			if json.Unmarshal(body, &e) != nil || e.Error == "" {
				t.Errorf("%s: %d without JSON error: %s", query, resp.StatusCode, body)
			}
			return resp.StatusCode, nil
		}
		var out []map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s: %v in %s", query, err, body)
		}
		return 200, out
	}
	names := func(as []map[string]any) string {
		var s []string
		for _, a := range as {
			l := a["labels"].(map[string]any)
			n := l["alertname"].(string)
			if sev, ok := l["severity"].(string); ok {
				n += "/" + sev
			}
			s = append(s, n)
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	for _, c := range []struct{ query, want string }{
		{"", "Bar/critical-ish,Baz,Foo/critical,Foo/warning"},
		{`?filter=alertname="Foo"`, "Foo/critical,Foo/warning"},
		{`?filter=alertname=Foo`, "Foo/critical,Foo/warning"},
		{`?filter=severity=~"crit.*"`, "Bar/critical-ish,Foo/critical"},
		{`?filter=severity=~"crit"`, ""}, // anchored
		{`?filter=severity!~"crit.*"`, "Baz,Foo/warning"},
		{`?filter=severity!="critical"`, "Bar/critical-ish,Baz,Foo/warning"},
		{`?filter=severity=""`, "Baz"}, // missing label matches ""
		{`?filter=alertname="Foo"&filter=severity="warning"`, "Foo/warning"},
		{`?filter={alertname="Foo",service="db"}`, "Foo/critical"},
		{`?filter=alertname=~"Foo|Bar",severity=~".%2Bish"`, "Bar/critical-ish"},
		{"?active=false", ""},
		{"?active=true&silenced=false&inhibited=false&unprocessed=false", "Bar/critical-ish,Baz,Foo/critical,Foo/warning"},
		{"?receiver=sift", "Bar/critical-ish,Baz,Foo/critical,Foo/warning"},
		{"?receiver=s.*", "Bar/critical-ish,Baz,Foo/critical,Foo/warning"},
		{"?receiver=pagerduty", ""},
	} {
		code, as := get(c.query)
		if code != 200 {
			t.Errorf("%s: status %d", c.query, code)
			continue
		}
		if got := names(as); got != c.want {
			t.Errorf("%s: got [%s], want [%s]", c.query, got, c.want)
		}
	}
	for _, q := range []string{`?filter=alertname`, `?filter=1a="x"`, `?filter=a=~"("`, `?filter=a="x`, "?active=maybe", "?receiver=(", `?filter={a="b"`} {
		if code, _ := get(q); code != 400 {
			t.Errorf("%s: status %d, want 400", q, code)
		}
	}

	// Shape and order: as Alertmanager, sorted by fingerprint.
	_, as := get("")
	for i, a := range as {
		if i > 0 && as[i-1]["fingerprint"].(string) >= a["fingerprint"].(string) {
			t.Errorf("not sorted by fingerprint: %v then %v", as[i-1]["fingerprint"], a["fingerprint"])
		}
		st := a["status"].(map[string]any)
		if st["state"] != "active" || st["silencedBy"] == nil || st["inhibitedBy"] == nil {
			t.Errorf("status %v", st)
		}
		if rs := a["receivers"].([]any); len(rs) != 1 || rs[0].(map[string]any)["name"] != "sift" {
			t.Errorf("receivers %v", rs)
		}
		if _, err := time.Parse(time.RFC3339, a["startsAt"].(string)); err != nil {
			t.Errorf("startsAt: %v", err)
		}
		if a["annotations"] == nil || a["updatedAt"] == nil || a["endsAt"] == nil {
			t.Errorf("missing fields: %v", a)
		}
		ls := model.LabelSet{}
		for k, v := range a["labels"].(map[string]any) {
			ls[k] = v.(string)
		}
		if a["fingerprint"] != ls.Fingerprint().String() {
			t.Errorf("fingerprint %v for %v", a["fingerprint"], ls)
		}
	}
}

func TestStatusReceiversSilences(t *testing.T) {
	f := newFixture(t, ingest.Config{})
	code, _, body := f.do(t, "GET", "/api/v2/status", "", "")
	var st struct {
		Cluster struct {
			Status string
			Peers  []any
		}
		VersionInfo map[string]string
		Config      struct{ Original *string }
		Uptime      time.Time
	}
	if code != 200 || json.Unmarshal(body, &st) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if st.Cluster.Status != "disabled" || st.Cluster.Peers == nil || st.Config.Original == nil || !st.Uptime.Equal(t0) {
		t.Errorf("status %s", body)
	}
	for _, k := range []string{"version", "revision", "branch", "buildUser", "buildDate", "goVersion"} {
		if st.VersionInfo[k] == "" {
			t.Errorf("versionInfo.%s missing in %s", k, body)
		}
	}
	if code, _, body := f.do(t, "GET", "/api/v2/receivers", "", ""); code != 200 || strings.TrimSpace(string(body)) != `[{"name":"sift"}]` {
		t.Errorf("receivers: %d %s", code, body)
	}
	if code, _, body := f.do(t, "GET", "/api/v2/silences", "", ""); code != 200 || strings.TrimSpace(string(body)) != `[]` {
		t.Errorf("silences: %d %s", code, body)
	}
}

// POST then GET round-trips through the in-memory sink/lister.
func TestPostThenGet(t *testing.T) {
	f := newFixture(t, ingest.Config{})
	code, _, _ := f.do(t, "POST", "/api/v2/alerts", "application/json",
		`[{"labels":{"alertname":"Foo","replica":"a","instance":"x"},"annotations":{"summary":"s"},"generatorURL":"http://p/g"},
		  {"labels":{"alertname":"Foo","replica":"b","instance":"x"},"annotations":{"summary":"s"},"generatorURL":"http://p/g"},
		  {"labels":{"alertname":"Gone"},"startsAt":"2026-11-24T20:00:00Z","endsAt":"2026-11-24T21:00:00Z"}]`)
	if code != 200 {
		t.Fatal(code)
	}
	code, _, body := f.do(t, "GET", "/api/v2/alerts", "", "")
	var as []struct {
		Labels       map[string]string
		Annotations  map[string]string
		GeneratorURL string
		Fingerprint  string
		StartsAt     time.Time
	}
	if code != 200 || json.Unmarshal(body, &as) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if len(as) != 1 || as[0].Labels["alertname"] != "Foo" || len(as[0].Labels) != 2 || as[0].Annotations["summary"] != "s" ||
		as[0].GeneratorURL != "http://p/g" || !as[0].StartsAt.Equal(t0) {
		t.Fatalf("got %s: want one Foo (replicas merged, resolved Gone not listed)", body)
	}
}

type discardSink struct{}

func (discardSink) Append(context.Context, model.Batch) error { return nil }

// BenchmarkPostAMv2 measures the receiver without the network and with a
// sink that returns at once: content-type check, body read, decode,
// validation, metrics.
func BenchmarkPostAMv2(b *testing.B) {
	const n = 100
	var sb strings.Builder
	sb.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"annotations":{"description":"Pod default/api-%d is crash looping.","summary":"Pod is crash looping."},`+
			`"endsAt":"2026-11-24T22:58:21.783Z","startsAt":"2026-11-24T22:53:18.783Z","generatorURL":"http://prometheus:9090/graph?g0.expr=x",`+
			`"labels":{"alertname":"KubePodCrashLooping","namespace":"default","pod":"api-%d","severity":"warning","service":"api","cluster":"prod","prometheus_replica":"p0"}}`, i, i)
	}
	sb.WriteByte(']')
	body := sb.String()
	api := New(ingest.Config{}, discardSink{}, nil, prometheus.NewRegistry(), nil)
	mux := http.NewServeMux()
	api.Register(mux)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/v2/alerts", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body.String())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
}

func TestParseMatchers(t *testing.T) {
	ls := model.LabelSet{"alertname": `Say "hi"`, "path": `a,b`, "severity": "critical"}
	for _, c := range []struct {
		in   string
		want bool
		n    int
	}{
		{`alertname="Say \"hi\""`, true, 1},
		{`path="a,b"`, true, 1},
		{`{path="a,b", severity = "critical"}`, true, 2},
		{`severity!~"warn|info",alertname=~"Say.*"`, true, 2},
		{`severity=warning`, false, 1},
		{`missing!=""`, false, 1},
		{`missing=~".*"`, true, 1},
	} {
		ms, err := parseMatchers(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		ok := true
		for i := range ms {
			ok = ok && ms[i].Matches(ls)
		}
		if len(ms) != c.n || ok != c.want {
			t.Errorf("%s: %d matchers, match=%v; want %d, %v", c.in, len(ms), ok, c.n, c.want)
		}
	}
}

// New can be called twice on one registry (e.g. in tests or on reload):
// the second API shares the first one's metrics.
func TestNewTwiceSameRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	sink := &memSink{}
	a1 := New(ingest.Config{}, sink, nil, reg, nil)
	a2 := New(ingest.Config{}, sink, nil, reg, nil)
	if a1.received != a2.received {
		t.Error("second New registered separate collectors")
	}
}
