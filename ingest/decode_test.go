package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
)

var now = time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)

func capture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.SharedData(t), "captures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The webhook capture carries the fingerprint Alertmanager computed itself;
// decoding it and the Prometheus capture must yield that identity.
func TestCapturesMatchAlertmanagerFingerprint(t *testing.T) {
	d := NewDecoder(Config{})
	for _, name := range []string{"alertmanager_webhook_sample.json", "alertmanager_webhook_resolved_sample.json"} {
		data := capture(t, name)
		var raw struct {
			Status string
			Alerts []struct {
				Fingerprint string
				StartsAt    string
				EndsAt      string
				Labels      map[string]string
			}
		}
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		alerts, err := d.DecodeWebhook(data, now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(alerts) != len(raw.Alerts) {
			t.Fatalf("%s: %d alerts, want %d", name, len(alerts), len(raw.Alerts))
		}
		for i, a := range alerts {
			if got := a.Fingerprint().String(); got != raw.Alerts[i].Fingerprint {
				t.Errorf("%s[%d]: fingerprint %s, Alertmanager said %s", name, i, got, raw.Alerts[i].Fingerprint)
			}
			if len(a.Labels) != len(raw.Alerts[i].Labels) {
				t.Errorf("%s[%d]: labels %v, want %v", name, i, a.Labels, raw.Alerts[i].Labels)
			}
			if !a.StartsAt.Equal(mustTime(raw.Alerts[i].StartsAt)) {
				t.Errorf("%s[%d]: startsAt %v", name, i, a.StartsAt)
			}
			// Detect must recognise it too.
			if f, err := Detect(data); err != nil || f != FormatWebhook {
				t.Errorf("%s: Detect = %q, %v", name, f, err)
			}
		}
		resolved := raw.Status == "resolved"
		for i, a := range alerts {
			if a.ResolvedAt(now) != resolved {
				t.Errorf("%s[%d]: ResolvedAt(receipt) = %v, want %v (endsAt %v)", name, i, a.ResolvedAt(now), resolved, a.EndsAt)
			}
			if resolved && !a.EndsAt.Equal(mustTime(raw.Alerts[i].EndsAt)) {
				t.Errorf("%s[%d]: resolved endsAt %v, want the one sent %s", name, i, a.EndsAt, raw.Alerts[i].EndsAt)
			}
			if !resolved && !a.EndsAt.IsZero() {
				t.Errorf("%s[%d]: firing alert has endsAt %v, want unset (0001-01-01 means unset)", name, i, a.EndsAt)
			}
		}
	}
	// Prometheus' own POST bodies: same identity as Alertmanager computed.
	wh := capture(t, "alertmanager_webhook_sample.json")
	var want struct {
		Alerts []struct{ Fingerprint string }
	}
	if err := json.Unmarshal(wh, &want); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"prometheus_alerts_sample.json", "prometheus_alerts_resolved_sample.json"} {
		data := capture(t, name)
		var raw []struct{ StartsAt, EndsAt, GeneratorURL string }
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatal(err)
		}
		alerts, err := d.DecodeAMv2(data, now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(alerts) != len(raw) || len(alerts) == 0 {
			t.Fatalf("%s: %d alerts, want %d", name, len(alerts), len(raw))
		}
		for i, a := range alerts {
			if got := a.Fingerprint().String(); got != want.Alerts[0].Fingerprint {
				t.Errorf("%s[%d]: fingerprint %s, want %s", name, i, got, want.Alerts[0].Fingerprint)
			}
			if !a.StartsAt.Equal(mustTime(raw[i].StartsAt)) || !a.EndsAt.Equal(mustTime(raw[i].EndsAt)) {
				t.Errorf("%s[%d]: times %v..%v, want %s..%s", name, i, a.StartsAt, a.EndsAt, raw[i].StartsAt, raw[i].EndsAt)
			}
			if a.GeneratorURL != raw[i].GeneratorURL || a.Summary() == "" {
				t.Errorf("%s[%d]: generatorURL %q summary %q", name, i, a.GeneratorURL, a.Summary())
			}
		}
		if f, err := Detect(data); err != nil || f != FormatAMv2 {
			t.Errorf("%s: Detect = %q, %v", name, f, err)
		}
		auto, err := d.Decode("", data, now)
		if err != nil || len(auto) != len(alerts) || auto[0].Fingerprint() != alerts[0].Fingerprint() {
			t.Errorf("%s: auto-detected decode differs: %v %v", name, auto, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	d := NewDecoder(Config{MaxBatch: 3})
	cases := []struct {
		name, format, body string
		field, msg, reason string
	}{
		{"invalid JSON", FormatAMv2, `[{"labels": {"alertname": "A"}`, "", "invalid JSON at byte offset 30: unexpected end", ReasonInvalidJSON},
		{"invalid JSON char", FormatAMv2, `[{"labels": x}]`, "", "invalid JSON at byte offset 12", ReasonInvalidJSON},
		{"empty body", FormatAMv2, "  ", "", "empty body", ReasonInvalidJSON},
		{"not an array", FormatAMv2, `"hello"`, "", "expected a JSON array", ReasonInvalidJSON},
		{"wrong type", FormatAMv2, `[{"labels":{"alertname":"A"}},{"labels":{"alertname":7}}]`, "[1].labels", "invalid JSON at byte offset 54", ReasonInvalidJSON},
		{"empty batch", FormatAMv2, `[]`, "", "no alerts", ReasonEmptyBatch},
		{"too many", FormatAMv2, `[{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}}]`, "", "4 alerts exceed the limit of 3", ReasonTooManyAlerts},
		{"missing labels", FormatAMv2, `[{"annotations":{"summary":"x"}}]`, "[0].labels", "missing", ReasonInvalidAlert},
		{"empty label set", FormatAMv2, `[{"labels":{}}]`, "[0].labels", "empty label set", ReasonInvalidAlert},
		{"only empty values", FormatAMv2, `[{"labels":{"alertname":"A"}},{"labels":{"a":""}}]`, "[1].labels", "empty label set", ReasonInvalidAlert},
		{"only dropped labels", FormatAMv2, `[{"labels":{"replica":"a"}}]`, "[0].labels", "empty label set", ReasonInvalidAlert},
		{"missing alertname", FormatAMv2, `[{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"}},{"labels":{"job":"x"}}]`, "[2].labels.alertname", "missing", ReasonInvalidAlert},
		{"empty alertname", FormatAMv2, `[{"labels":{"alertname":"","job":"x"}}]`, "[0].labels.alertname", "missing", ReasonInvalidAlert},
		{"invalid label name", FormatAMv2, `[{"labels":{"alertname":"A"}},{"labels":{"alertname":"A","a-b":"1","z.z":"2"}}]`, `[1].labels."a-b"`, "invalid label name", ReasonInvalidAlert},
		{"label name starts with digit", FormatAMv2, `[{"labels":{"alertname":"A","1x":"1"}}]`, `[0].labels."1x"`, "invalid label name", ReasonInvalidAlert},
		{"invalid annotation name", FormatAMv2, `[{"labels":{"alertname":"A"},"annotations":{"runbook url":"x"}}]`, `[0].annotations."runbook url"`, "invalid label name", ReasonInvalidAlert},
		{"bad startsAt", FormatAMv2, `[{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"},"startsAt":"x"}]`, "[2].startsAt", `invalid time "x"`, ReasonInvalidAlert},
		{"bad endsAt", FormatAMv2, `[{"labels":{"alertname":"A"},"endsAt":"2026-13-01T00:00:00Z"}]`, "[0].endsAt", `invalid time "2026-13-01T00:00:00Z"`, ReasonInvalidAlert},
		{"date without time", FormatAMv2, `[{"labels":{"alertname":"A"},"startsAt":"2026-11-24"}]`, "[0].startsAt", `invalid time`, ReasonInvalidAlert},
		{"endsAt before startsAt", FormatAMv2, `[{"labels":{"alertname":"A"},"startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T09:00:00Z"}]`, "[0].endsAt", "before startsAt", ReasonInvalidAlert},
		{"single object error", FormatAMv2, `{"labels":{"job":"x"}}`, "labels.alertname", "missing", ReasonInvalidAlert},

		{"webhook too many", FormatWebhook, `{"version":"4","alerts":[{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"job":"x"}}]}`, "alerts", "4 alerts exceed", ReasonTooManyAlerts},
		{"webhook alertname", FormatWebhook, `{"version":"4","alerts":[{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"job":"x"}}]}`, "alerts[2].labels.alertname", "missing", ReasonInvalidAlert},
		{"webhook version", FormatWebhook, `{"version":"5","alerts":[{"labels":{"alertname":"A"}}]}`, "version", `unsupported webhook version "5"`, ReasonInvalidJSON},
		{"webhook no alerts", FormatWebhook, `{"version":"4"}`, "alerts", "missing", ReasonEmptyBatch},
		{"webhook empty alerts", FormatWebhook, `{"version":"4","alerts":[]}`, "alerts", "no alerts", ReasonEmptyBatch},
		{"webhook bad status", FormatWebhook, `{"version":"4","alerts":[{"status":"pending","labels":{"alertname":"A"}}]}`, "alerts[0].status", `invalid status "pending"`, ReasonInvalidAlert},
		{"webhook wrong type", FormatWebhook, `{"version":"4","alerts":[{"labels":{"alertname":"A"}},{"labels":["x"]}]}`, "alerts[1].labels", "invalid JSON at byte offset", ReasonInvalidJSON},
		{"webhook array", FormatWebhook, `[]`, "", "expected a JSON object", ReasonInvalidJSON},
		{"webhook bad time", FormatWebhook, `{"version":"4","alerts":[{"labels":{"alertname":"A"},"startsAt":"yesterday"}]}`, "alerts[0].startsAt", `invalid time "yesterday"`, ReasonInvalidAlert},

		{"event no name", FormatEvent, `{"service":"db"}`, "name", "missing", ReasonInvalidAlert},
		{"event array no name", FormatEvent, `[{"name":"A"},{"service":"db"}]`, "[1].name", "missing", ReasonInvalidAlert},
		{"event unknown field", FormatEvent, `[{"name":"A","sevrity":"critical"}]`, "[0].sevrity", "unknown field", ReasonInvalidAlert},
		{"event bad time", FormatEvent, `{"name":"A","time":"12:00"}`, "time", `invalid time "12:00"`, ReasonInvalidAlert},
		{"event end before start", FormatEvent, `{"name":"A","time":"2026-11-24T10:00:00Z","end_time":"2026-11-24T09:00:00Z"}`, "end_time", "before time", ReasonInvalidAlert},
		{"event bad status", FormatEvent, `{"name":"A","status":"ok"}`, "status", `invalid status "ok"`, ReasonInvalidAlert},
		{"event conflict", FormatEvent, `{"name":"A","service":"db","labels":{"service":"web"}}`, "service", `conflicts with labels.service "web"`, ReasonInvalidAlert},
		{"event bad label", FormatEvent, `{"name":"A","labels":{"a b":"x"}}`, `labels."a b"`, "invalid label name", ReasonInvalidAlert},
		{"event wrong type", FormatEvent, `{"name":1}`, "name", "invalid JSON", ReasonInvalidJSON},
		{"event invalid JSON", FormatEvent, `{"name":"A",}`, "", "invalid JSON at byte offset 12", ReasonInvalidJSON},
		{"event empty array", FormatEvent, `[]`, "", "no alerts", ReasonEmptyBatch},

		{"unknown format", "xml", `<a/>`, "", `unknown format "xml"`, ReasonUnknownFormat},
		{"detect garbage", "", `nope`, "", "expected a JSON", ReasonInvalidJSON},
		{"detect invalid JSON", "", `{"alerts": [}`, "", "invalid JSON at byte offset 12", ReasonInvalidJSON},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			alerts, err := d.Decode(c.format, []byte(c.body), now)
			if err == nil {
				t.Fatalf("accepted %s: %v", c.body, alerts)
			}
			if alerts != nil {
				t.Errorf("returned alerts with an error: %v", alerts)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *ingest.Error", err, err)
			}
			if e.Field != c.field {
				t.Errorf("field = %q, want %q (error %q)", e.Field, c.field, err)
			}
			if !strings.Contains(e.Msg, c.msg) {
				t.Errorf("msg = %q, want it to contain %q", e.Msg, c.msg)
			}
			if e.Reason() != c.reason {
				t.Errorf("reason = %q, want %q", e.Reason(), c.reason)
			}
			want := c.field + ": " + e.Msg
			if c.field == "" {
				want = e.Msg
			}
			if err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestErrorStrings(t *testing.T) {
	// The exact shapes promised in the documentation.
	d := NewDecoder(Config{})
	for body, want := range map[string]string{
		`{"version":"4","alerts":[{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"x":"y"}}]}`: "alerts[3].labels.alertname: missing",
		`[{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"}},{"labels":{"alertname":"A"},"startsAt":"x"}]`:                                `[2].startsAt: invalid time "x"`,
		`[{"labels":{}}]`: "[0].labels: empty label set",
		`[{"labels":{"alertname":"A"}},{"labels":{"alertname":"A","a-b":"1"}}]`:                            `[1].labels."a-b": invalid label name`,
		`[{"labels":{"alertname":"A"},"startsAt":"2026-11-24T10:00:00Z","endsAt":"2026-11-24T09:00:00Z"}]`: "[0].endsAt: before startsAt",
	} {
		_, err := d.Decode("", []byte(body), now)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s\n got %v\nwant prefix %q", body, err, want)
		}
	}
}

func TestNormalisation(t *testing.T) {
	d := NewDecoder(Config{})
	// An HA Prometheus pair: same alert, different replica labels.
	body := `[
	 {"labels":{"alertname":"HighLatency","service":"api","prometheus_replica":"prometheus-k8s-0","empty":""},"annotations":{"summary":"slow","note":""},"startsAt":"2026-11-24T22:00:00+01:00"},
	 {"labels":{"alertname":"HighLatency","service":"api","prometheus_replica":"prometheus-k8s-1"},"startsAt":"2026-11-24T21:00:00Z"}
	]`
	alerts, err := d.DecodeAMv2([]byte(body), now)
	if err != nil {
		t.Fatal(err)
	}
	if alerts[0].Fingerprint() != alerts[1].Fingerprint() {
		t.Fatalf("HA pair has two identities: %v vs %v", alerts[0].Labels, alerts[1].Labels)
	}
	want := model.LabelSet{"alertname": "HighLatency", "service": "api"}
	if alerts[0].Fingerprint() != want.Fingerprint() || len(alerts[0].Labels) != 2 {
		t.Errorf("labels = %v, want %v (replica and empty-valued labels dropped)", alerts[0].Labels, want)
	}
	if _, ok := alerts[0].Annotations["note"]; ok || alerts[0].Annotations["summary"] != "slow" {
		t.Errorf("annotations = %v", alerts[0].Annotations)
	}
	if !alerts[0].StartsAt.Equal(alerts[1].StartsAt) || alerts[0].StartsAt.Location() != time.UTC {
		t.Errorf("startsAt %v / %v: want the same instant, in UTC", alerts[0].StartsAt, alerts[1].StartsAt)
	}
	if !alerts[0].EndsAt.IsZero() {
		t.Errorf("missing endsAt became %v, want unset", alerts[0].EndsAt)
	}

	// With drop_labels: [] explicitly, the pair stays two identities.
	keep := NewDecoder(Config{DropLabels: []string{}})
	alerts, err = keep.DecodeAMv2([]byte(body), now)
	if err != nil {
		t.Fatal(err)
	}
	if alerts[0].Fingerprint() == alerts[1].Fingerprint() {
		t.Error("drop_labels: [] still dropped the replica label")
	}

	// Missing startsAt: receipt time; resolved-without-start: its end.
	alerts, err = d.DecodeAMv2([]byte(`[{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"},"endsAt":"2026-11-24T22:30:00Z"}]`), now)
	if err != nil {
		t.Fatal(err)
	}
	if !alerts[0].StartsAt.Equal(now) || !alerts[1].StartsAt.Equal(mustTime("2026-11-24T22:30:00Z")) {
		t.Errorf("default startsAt: %v, %v", alerts[0].StartsAt, alerts[1].StartsAt)
	}
}

func TestWebhookStatusIsAuthoritative(t *testing.T) {
	d := NewDecoder(Config{})
	body := `{"version":"4","alerts":[
	  {"status":"resolved","labels":{"alertname":"A"},"startsAt":"2026-11-24T22:00:00Z","endsAt":"0001-01-01T00:00:00Z"},
	  {"status":"resolved","labels":{"alertname":"B"},"startsAt":"2026-11-24T22:00:00Z","endsAt":"2026-11-25T22:00:00Z"},
	  {"status":"firing","labels":{"alertname":"C"},"startsAt":"2026-11-24T22:00:00Z","endsAt":"2026-11-24T22:10:00Z"},
	  {"status":"firing","labels":{"alertname":"D"},"startsAt":"2026-11-24T22:00:00Z","endsAt":"2026-11-25T22:10:00Z"}
	]}`
	alerts, err := d.DecodeWebhook([]byte(body), now)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false, false} {
		if alerts[i].ResolvedAt(now) != want {
			t.Errorf("alert %s: resolved at receipt = %v, want %v (endsAt %v)", alerts[i].Name(), !want, want, alerts[i].EndsAt)
		}
	}
	if !alerts[0].EndsAt.Equal(now) || !alerts[1].EndsAt.Equal(now) {
		t.Errorf("resolved without a past endsAt must end at receipt: %v %v", alerts[0].EndsAt, alerts[1].EndsAt)
	}
	if !alerts[3].EndsAt.Equal(mustTime("2026-11-25T22:10:00Z")) {
		t.Errorf("firing alert lost its future endsAt: %v", alerts[3].EndsAt)
	}
}

func TestDecodeEvent(t *testing.T) {
	d := NewDecoder(Config{})
	one := `{"name":"AlwaysFiring","service":"db","severity":" CRITICAL ","labels":{"cluster":"kfaketest"},
	  "summary":"disk full","description":"95%","runbook_url":"http://rb","time":"2026-11-24T22:53:18.783Z","url":"http://zabbix/1"}`
	alerts, err := d.DecodeEvent([]byte(one), now)
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	// Same labels as the Prometheus capture: same identity as Alertmanager's.
	if got := a.Fingerprint().String(); got != "c809db4e47fb2461" {
		t.Errorf("fingerprint %s (labels %v), want c809db4e47fb2461", got, a.Labels)
	}
	if a.Annotations["summary"] != "disk full" || a.Annotations["description"] != "95%" || a.Annotations["runbook_url"] != "http://rb" {
		t.Errorf("annotations %v", a.Annotations)
	}
	if a.GeneratorURL != "http://zabbix/1" || !a.StartsAt.Equal(mustTime("2026-11-24T22:53:18.783Z")) || !a.EndsAt.IsZero() {
		t.Errorf("alert %+v", a)
	}
	if f, err := Detect([]byte(one)); err != nil || f != FormatEvent {
		t.Errorf("Detect(event with labels) = %q %v, want event", f, err)
	}

	arr := `[{"name":"A","host":"h1","source":"nagios","status":"resolved"},
	         {"name":"B","status":"resolved","time":"2026-11-24T20:00:00Z","end_time":"2026-11-24T21:00:00Z"},
	         {"labels":{"alertname":"C"},"status":"firing","end_time":"2026-11-24T21:00:00Z"}]`
	alerts, err = d.Decode("", []byte(arr), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 3 {
		t.Fatalf("%d alerts", len(alerts))
	}
	if alerts[0].Labels["host"] != "h1" || alerts[0].Labels["source"] != "nagios" || !alerts[0].ResolvedAt(now) || !alerts[0].EndsAt.Equal(now) {
		t.Errorf("event 0: %+v", alerts[0])
	}
	if !alerts[1].EndsAt.Equal(mustTime("2026-11-24T21:00:00Z")) || !alerts[1].ResolvedAt(now) {
		t.Errorf("event 1: %+v", alerts[1])
	}
	if alerts[2].Name() != "C" || alerts[2].ResolvedAt(now) {
		t.Errorf("event 2 (firing, past end_time): %+v", alerts[2])
	}
}

func TestDetect(t *testing.T) {
	for body, want := range map[string]string{
		`{"version":"4","alerts":[]}`:                      FormatWebhook,
		`{"labels":{"alertname":"A"},"startsAt":"x"}`:      FormatAMv2,
		`[{"labels":{"alertname":"A"}}]`:                   FormatAMv2,
		`[]`:                                               FormatAMv2,
		`{"name":"A"}`:                                     FormatEvent,
		`[{"name":"A","labels":{"x":"y"}}]`:                FormatEvent,
		`{"alerts":[{"labels":{"alertname":"A"}}]}`:        FormatEvent, // no version: not a webhook
		` [ {"labels":{"a":"b"},"severity":"critical"} ] `: FormatEvent,
	} {
		got, err := Detect([]byte(body))
		if err != nil || got != want {
			t.Errorf("Detect(%s) = %q, %v; want %q", body, got, err, want)
		}
	}
}

func TestConfig(t *testing.T) {
	var zero Config
	if err := zero.Validate(); err != nil {
		t.Fatalf("zero config invalid: %v", err)
	}
	c := zero.WithDefaults()
	if c.MaxBatch != DefaultMaxBatch || c.MaxBodyBytes != DefaultMaxBodyBytes || len(c.DropLabels) != len(DefaultDropLabels) {
		t.Errorf("defaults: %+v", c)
	}
	for _, bad := range []Config{
		{DropLabels: []string{"a-b"}},
		{DropLabels: []string{"alertname"}},
		{MaxBatch: -1},
		{MaxBodyBytes: -5},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// batchBody builds a realistic Prometheus POST body of n alerts.
func batchBody(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"annotations":{"description":"Pod default/api-%d has been restarting 3 times in the last 10 minutes.","summary":"Pod is crash looping.","runbook_url":"https://runbooks.example.com/kubernetes/kubepodcrashlooping"},`+
			`"endsAt":"2026-11-24T22:58:21.783Z","startsAt":"2026-11-24T22:53:18.783Z","generatorURL":"http://prometheus-k8s-0:9090/graph?g0.expr=max_over_time%%28kube_pod_container_status_waiting_reason%%5B5m%%5D%%29+%%3E%%3D+1&g0.tab=1",`+
			`"labels":{"alertname":"KubePodCrashLooping","container":"api","namespace":"default","pod":"api-%d","severity":"warning","service":"api","cluster":"prod-eu-1","job":"kube-state-metrics","prometheus":"monitoring/k8s","prometheus_replica":"prometheus-k8s-0"}}`, i, i)
	}
	b.WriteByte(']')
	return []byte(b.String())
}

func BenchmarkDecodeAMv2(b *testing.B) {
	const n = 100
	body := batchBody(n)
	d := NewDecoder(Config{})
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		alerts, err := d.DecodeAMv2(body, now)
		if err != nil || len(alerts) != n {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/alert")
}
