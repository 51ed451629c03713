package ingest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
	"gopkg.in/yaml.v3"
)

// Hostile input: the per-alert limits, UTF-8 and the time range, through
// every path of the decoder (the fast path and encoding/json for amv2,
// webhooks, events, sessions and stream sessions, with and without format
// detection).

// setJSON renders a JSON object of n entries: alertname (when labels)
// and k1..k(n-1).
func setJSON(n int, labels bool) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		if i == 0 && labels {
			b.WriteString(`"alertname":"Many"`)
			continue
		}
		fmt.Fprintf(&b, `"k%d":"v"`, i)
	}
	b.WriteByte('}')
	return b.String()
}

// decodeEveryPath decodes body as format with d, then through a Session
// and a stream Session (twice each: the second time the stream session
// has the sets in its cache), and, when Detect agrees on the format, with
// detection. Every path must give the same alerts or the same error; the
// Decoder's result is returned.
func decodeEveryPath(t *testing.T, d *Decoder, format, body string) ([]model.Alert, error) {
	t.Helper()
	data := []byte(body)
	want, werr := d.Decode(format, data, now)
	formats := []string{format}
	if f, err := Detect(data); err == nil && f == format {
		formats = append(formats, "")
	}
	for _, f := range formats {
		if f == "" {
			got, err := d.Decode("", data, now)
			if !sameResult(want, werr, got, err) {
				t.Fatalf("detected: %v %v, want %v %v", got, err, want, werr)
			}
		}
		for _, s := range []*Session{d.NewSession(), d.NewStreamSession()} {
			for round := 0; round < 2; round++ {
				got, err := s.AppendDecode(nil, f, data, now)
				if !sameResult(want, werr, got, err) {
					t.Fatalf("session (format %q, round %d): %v %v, want %v %v", f, round, got, err, want, werr)
				}
			}
		}
	}
	return want, werr
}

func sameResult(want []model.Alert, werr error, got []model.Alert, err error) bool {
	if (werr == nil) != (err == nil) {
		return false
	}
	if werr != nil {
		return werr.Error() == err.Error()
	}
	return reflect.DeepEqual(want, got)
}

type hostileCase struct {
	name, body         string
	field, msg, reason string // want; field "" with msg "" means accepted
}

// amv2Hostile are single alerts for the amv2 and webhook formats; each is
// sent as the second alert of a batch, so errors name alerts[1] / [1].
func amv2Hostile() []hostileCase {
	long := strings.Repeat("v", DefaultMaxLabelBytes+1)
	longAnn := strings.Repeat("d", DefaultMaxAnnotationBytes+1)
	const tl, ia = ReasonTooLarge, ReasonInvalidAlert
	return []hostileCase{
		// the limits
		{"65 labels", `{"labels":` + setJSON(65, true) + `}`, "labels", "65 labels exceed the limit of 64 per alert (ingest.max_labels_per_alert)", tl},
		{"10000 labels", `{"labels":` + setJSON(10000, true) + `}`, "labels", "10000 labels exceed the limit of 64", tl},
		{"64 labels", `{"labels":` + setJSON(64, true) + `}`, "", "", ""},
		{"64 labels and a dropped one", `{"labels":` + strings.TrimSuffix(setJSON(64, true), "}") + `,"prometheus_replica":"p0","empty":""}}`, "", "", ""},
		{"long label value", `{"labels":{"alertname":"A","big":"` + long + `"}}`, "labels.big", "value of 8193 bytes exceeds the limit of 8192 bytes (ingest.max_label_bytes)", tl},
		{"long alertname", `{"labels":{"alertname":"` + long + `"}}`, "labels.alertname", "value of 8193 bytes", tl},
		{"label value at the limit", `{"labels":{"alertname":"A","big":"` + long[1:] + `"}}`, "", "", ""},
		{"long label name", `{"labels":{"alertname":"A","` + long + `":"x"}}`, "labels", "label name of 8193 bytes", tl},
		{"long and invalid names", `{"labels":{"alertname":"A","a-b":"x","` + long + `":"x"}}`, `labels."a-b"`, "invalid label name", ia},
		{"65 annotations", `{"labels":{"alertname":"A"},"annotations":` + setJSON(65, false) + `}`, "annotations", "65 annotations exceed the limit of 64 per alert (ingest.max_annotations_per_alert)", tl},
		{"long annotation value", `{"labels":{"alertname":"A"},"annotations":{"description":"` + longAnn + `"}}`, "annotations.description", "value of 65537 bytes exceeds the limit of 65536 bytes (ingest.max_annotation_bytes)", tl},
		{"annotation value at the limit", `{"labels":{"alertname":"A"},"annotations":{"description":"` + longAnn[1:] + `","summary":"` + long[1:] + `"}}`, "", "", ""},
		{"long annotation name", `{"labels":{"alertname":"A"},"annotations":{"` + long + `":"x"}}`, "annotations", "annotation name of 8193 bytes", tl},
		{"long generatorURL", `{"labels":{"alertname":"A"},"generatorURL":"http://p/` + longAnn + `"}`, "generatorURL", "bytes exceed the limit of 65536 bytes (ingest.max_annotation_bytes)", tl},
		// UTF-8
		{"label value not UTF-8", "{\"labels\":{\"alertname\":\"A\",\"x\":\"a\xffb\"}}", "labels.x", "not valid UTF-8 (byte 0xff at offset", ia},
		{"escaped label value not UTF-8", "{\"labels\":{\"alertname\":\"A\",\"x\":\"\\t\xc3\"}}", "labels.x", "not valid UTF-8 (byte 0xc3", ia},
		{"alertname not UTF-8", "{\"labels\":{\"alertname\":\"\xed\xa0\x80\"}}", "labels.alertname", "not valid UTF-8", ia}, // a UTF-16 surrogate
		{"label name not UTF-8", "{\"labels\":{\"alertname\":\"A\",\"x\xfe\":\"1\"}}", "labels.\"x\uFFFD\"", "name is not valid UTF-8", ia},
		{"annotation value not UTF-8", "{\"labels\":{\"alertname\":\"A\"},\"annotations\":{\"summary\":\"\xe2\x82\"}}", "annotations.summary", "not valid UTF-8", ia},
		{"generatorURL not UTF-8", "{\"labels\":{\"alertname\":\"A\"},\"generatorURL\":\"http://\x80\"}", "generatorURL", "not valid UTF-8", ia},
		{"U+FFFD itself", `{"labels":{"alertname":"A","x":"` + "\uFFFD" + `","y":"\ud800"}}`, "", "", ""},
		// the time range
		{"startsAt in 9999", `{"labels":{"alertname":"A"},"startsAt":"9999-01-01T00:00:00Z"}`, "startsAt", `"9999-01-01T00:00:00Z" is more than 365d after the receipt time 2026-11-24T23:00:00Z (ingest.max_future)`, ia},
		{"endsAt in 9999", `{"labels":{"alertname":"A"},"endsAt":"9999-12-31T23:59:59Z"}`, "endsAt", "is more than 365d after", ia},
		{"startsAt before 2000", `{"labels":{"alertname":"A"},"startsAt":"1999-12-31T23:59:59Z"}`, "startsAt", `"1999-12-31T23:59:59Z" is before 2000-01-01T00:00:00Z, the earliest time accepted`, ia},
		{"endsAt at the Unix epoch", `{"labels":{"alertname":"A"},"startsAt":"2026-11-24T22:00:00Z","endsAt":"1970-01-01T00:00:00Z"}`, "endsAt", "is before 2000-01-01", ia},
		{"startsAt a year ahead", `{"labels":{"alertname":"A"},"startsAt":"2027-11-24T23:00:00Z"}`, "", "", ""},
		{"startsAt a year and a second ahead", `{"labels":{"alertname":"A"},"startsAt":"2027-11-24T23:00:01Z"}`, "startsAt", "more than 365d", ia},
		{"startsAt in 2000", `{"labels":{"alertname":"A"},"startsAt":"2000-01-01T00:00:00Z","endsAt":"2000-01-01T00:00:01Z"}`, "", "", ""},
		{"zero times", `{"labels":{"alertname":"A"},"startsAt":"0001-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z"}`, "", "", ""},
	}
}

func checkHostile(t *testing.T, d *Decoder, format, body, field, msg, reason string) {
	t.Helper()
	alerts, err := decodeEveryPath(t, d, format, body)
	if msg == "" {
		if err != nil {
			t.Fatalf("rejected: %v", err)
		}
		for _, a := range alerts {
			if a.StartsAt.IsZero() || a.Labels["alertname"] == "" {
				t.Fatalf("accepted %+v", a)
			}
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v %v, want an *Error", alerts, err)
	}
	if e.Field != field || !strings.Contains(e.Msg, msg) || e.Reason() != reason {
		t.Fatalf("got field %q, msg %.200q, reason %s\nwant field %q, msg containing %q, reason %s", e.Field, e.Msg, e.Reason(), field, msg, reason)
	}
}

func TestHostileAMv2AndWebhook(t *testing.T) {
	d := NewDecoder(Config{})
	const ok = `{"labels":{"alertname":"OK","service":"s"}}`
	for _, c := range amv2Hostile() {
		field := func(prefix string) string {
			if c.msg == "" {
				return ""
			}
			return join(prefix, c.field)
		}
		t.Run("amv2/fast/"+c.name, func(t *testing.T) {
			body := "[" + ok + "," + c.body + "]"
			_, fast := fastAMv2([]byte(body))
			if utf8OK := !strings.Contains(c.name, "UTF-8"); fast != utf8OK {
				t.Fatalf("fast path took the body: %v, want %v", fast, utf8OK)
			}
			checkHostile(t, d, FormatAMv2, body, field("[1]"), c.msg, c.reason)
		})
		t.Run("amv2/encoding-json/"+c.name, func(t *testing.T) {
			// A key in another case: the fast path declines, encoding/json
			// takes it (it matches keys case-insensitively).
			body := "[" + ok + "," + strings.Replace(c.body, `"labels":`, `"Labels":`, 1) + "]"
			if _, fast := fastAMv2([]byte(body)); fast {
				t.Fatal("the fast path took the body")
			}
			f := field("[1]")
			if strings.Contains(c.msg, "UTF-8") {
				// Where the bad byte is, the key as it was sent.
				f = strings.Replace(f, ".labels", ".Labels", 1)
			}
			checkHostile(t, d, FormatAMv2, body, f, c.msg, c.reason)
		})
		t.Run("amv2/single/"+c.name, func(t *testing.T) {
			checkHostile(t, d, FormatAMv2, c.body, field(""), c.msg, c.reason)
		})
		t.Run("webhook/"+c.name, func(t *testing.T) {
			body := `{"version":"4","status":"firing","alerts":[` + ok + "," + c.body + `]}`
			checkHostile(t, d, FormatWebhook, body, field("alerts[1]"), c.msg, c.reason)
		})
	}
	t.Run("webhook/receiver not UTF-8", func(t *testing.T) {
		body := "{\"version\":\"4\",\"receiver\":\"r\xff\",\"alerts\":[" + ok + "]}"
		checkHostile(t, d, FormatWebhook, body, "receiver", "not valid UTF-8", ReasonInvalidAlert)
	})
	t.Run("webhook/commonLabels not UTF-8", func(t *testing.T) {
		body := "{\"version\":\"4\",\"alerts\":[" + ok + "],\"commonLabels\":{\"a\":\"\xff\"}}"
		checkHostile(t, d, FormatWebhook, body, "commonLabels.a", "not valid UTF-8", ReasonInvalidAlert)
	})
	t.Run("amv2/nested array path", func(t *testing.T) {
		body := "[" + ok + "," + ok + ",{\"labels\":{\"alertname\":\"A\"},\"annotations\":{\"a\":\"x\",\"b\":\"\xff\"}}]"
		checkHostile(t, d, FormatAMv2, body, "[2].annotations.b", "not valid UTF-8", ReasonInvalidAlert)
	})
}

func TestHostileEvents(t *testing.T) {
	d := NewDecoder(Config{})
	long := strings.Repeat("v", DefaultMaxLabelBytes+1)
	longAnn := strings.Repeat("d", DefaultMaxAnnotationBytes+1)
	const tl, ia = ReasonTooLarge, ReasonInvalidAlert
	for _, c := range []hostileCase{
		{"65 labels", `{"labels":` + setJSON(65, true) + `}`, "labels", "65 labels exceed the limit of 64", tl},
		{"64 labels with the fields", `{"name":"A","service":"s","host":"h","labels":` + strings.Replace(setJSON(62, false), `"k0":"v",`, "", 1) + `}`, "", "", ""},
		{"65 labels with the fields", `{"name":"A","service":"s","host":"h","labels":` + strings.Replace(setJSON(63, false), `"k0":"v",`, "", 1) + `}`, "labels", "65 labels exceed", tl},
		{"65 annotations", `{"name":"A","summary":"s","annotations":` + setJSON(64, false) + `}`, "annotations", "65 annotations exceed the limit of 64", tl},
		{"long name", `{"name":"` + long + `"}`, "name", "value of 8193 bytes exceeds the limit of 8192 bytes (ingest.max_label_bytes)", tl},
		{"long service", `{"name":"A","service":"` + long + `"}`, "service", "value of 8193 bytes", tl},
		{"long label", `{"name":"A","labels":{"x":"` + long + `"}}`, "labels.x", "value of 8193 bytes", tl},
		{"long label name", `{"name":"A","labels":{"` + long + `":"x"}}`, "labels", "label name of 8193 bytes", tl},
		{"long description", `{"name":"A","description":"` + longAnn + `"}`, "description", "value of 65537 bytes exceeds the limit of 65536 bytes (ingest.max_annotation_bytes)", tl},
		{"long annotation", `{"name":"A","annotations":{"x":"` + longAnn + `"}}`, "annotations.x", "value of 65537 bytes", tl},
		{"long url", `{"name":"A","url":"` + longAnn + `"}`, "url", "exceed the limit of 65536 bytes", tl},
		{"description at the limit", `{"name":"A","description":"` + longAnn[1:] + `"}`, "", "", ""},
		{"name not UTF-8", "{\"name\":\"\xff\"}", "name", "not valid UTF-8", ia},
		{"summary not UTF-8", "{\"name\":\"A\",\"summary\":\"ok \xc0\xaf\"}", "summary", "not valid UTF-8", ia},
		{"label not UTF-8", "{\"name\":\"A\",\"labels\":{\"x\":\"\xff\"}}", "labels.x", "not valid UTF-8", ia},
		{"annotation name not UTF-8", "{\"name\":\"A\",\"annotations\":{\"\xff\":\"x\"}}", "annotations.\"\uFFFD\"", "name is not valid UTF-8", ia},
		{"time in 9999", `{"name":"A","time":"9999-01-01T00:00:00Z"}`, "time", "more than 365d after the receipt time", ia},
		{"end_time in 9999", `{"name":"A","end_time":"9999-01-01T00:00:00Z"}`, "end_time", "more than 365d after the receipt time", ia},
		{"time before 2000", `{"name":"A","time":"1980-01-01T00:00:00Z"}`, "time", "before 2000-01-01", ia},
		{"resolved in 2025", `{"name":"A","status":"resolved","time":"2025-01-01T00:00:00Z","end_time":"2025-01-01T00:10:00Z"}`, "", "", ""},
	} {
		t.Run("single/"+c.name, func(t *testing.T) {
			checkHostile(t, d, FormatEvent, c.body, c.field, c.msg, c.reason)
		})
		t.Run("array/"+c.name, func(t *testing.T) {
			field := c.field
			if c.msg != "" {
				field = join("[1]", c.field)
			}
			checkHostile(t, d, FormatEvent, `[{"name":"OK"},`+c.body+`]`, field, c.msg, c.reason)
		})
	}
}

// The limits come from the configuration.
func TestHostileConfiguredLimits(t *testing.T) {
	d := NewDecoder(Config{MaxLabelsPerAlert: 3, MaxAnnotationsPerAlert: 1, MaxLabelBytes: 64, MaxAnnotationBytes: 100, MaxFuture: Duration(2 * time.Hour)})
	const tl = ReasonTooLarge
	v64, v65 := strings.Repeat("x", 64), strings.Repeat("x", 65)
	multi := strings.Repeat("x", 60) + "été" // 65 bytes, 63 runes
	u100 := "http://p/" + strings.Repeat("u", 91)
	for _, c := range []hostileCase{
		{"3 labels", `{"labels":{"alertname":"A","b":"1","c":"2","replica":"r"}}`, "", "", ""},
		{"4 labels", `{"labels":{"alertname":"A","b":"1","c":"2","d":"3"}}`, "labels", "4 labels exceed the limit of 3 per alert (ingest.max_labels_per_alert)", tl},
		{"2 annotations", `{"labels":{"alertname":"A"},"annotations":{"a":"1","b":"2"}}`, "annotations", "2 annotations exceed the limit of 1 per alert (ingest.max_annotations_per_alert)", tl},
		{"64-byte value and name", `{"labels":{"alertname":"` + v64 + `","` + v64 + `":"1"}}`, "", "", ""},
		{"65-byte value", `{"labels":{"alertname":"` + v65 + `"}}`, "labels.alertname", "value of 65 bytes exceeds the limit of 64 bytes (ingest.max_label_bytes)", tl},
		{"multi-byte value", `{"labels":{"alertname":"` + multi + `"}}`, "labels.alertname", "value of 65 bytes", tl}, // bytes, not runes
		{"65-byte name", `{"labels":{"alertname":"A","` + v65 + `":"1"}}`, "labels", "label name of 65 bytes", tl},
		{"101-byte annotation", `{"labels":{"alertname":"A"},"annotations":{"s":"` + u100 + `x"}}`, "annotations.s", "value of 101 bytes exceeds the limit of 100 bytes (ingest.max_annotation_bytes)", tl},
		{"65-byte annotation name", `{"labels":{"alertname":"A"},"annotations":{"` + v65 + `":"1"}}`, "annotations", "annotation name of 65 bytes (\"xxxxxxxx", tl},
		{"100-byte generatorURL", `{"labels":{"alertname":"A"},"generatorURL":"` + u100 + `"}`, "", "", ""},
		{"101-byte generatorURL", `{"labels":{"alertname":"A"},"generatorURL":"` + u100 + `/"}`, "generatorURL", "101 bytes exceed the limit of 100 bytes", tl},
		{"2h ahead", `{"labels":{"alertname":"A"},"endsAt":"2026-11-25T01:00:00Z"}`, "", "", ""},
		{"2h1s ahead", `{"labels":{"alertname":"A"},"endsAt":"2026-11-25T01:00:01Z"}`, "endsAt", "more than 2h0m0s after the receipt time", ReasonInvalidAlert},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkHostile(t, d, FormatAMv2, c.body, c.field, c.msg, c.reason)
		})
	}
}

func TestLimitsConfig(t *testing.T) {
	c := Config{}.WithDefaults()
	if c.MaxLabelsPerAlert != 64 || c.MaxAnnotationsPerAlert != 64 || c.MaxLabelBytes != 8192 ||
		c.MaxAnnotationBytes != 65536 || c.MaxFuture != Duration(365*24*time.Hour) {
		t.Errorf("defaults: %+v", c)
	}
	for bad, want := range map[*Config]string{
		{MaxLabelsPerAlert: -1}:              "ingest.max_labels_per_alert: must not be negative",
		{MaxAnnotationsPerAlert: -1}:         "ingest.max_annotations_per_alert: must not be negative",
		{MaxLabelBytes: -1}:                  "ingest.max_label_bytes: must not be negative",
		{MaxAnnotationBytes: -1}:             "ingest.max_annotation_bytes: must not be negative",
		{MaxFuture: -1}:                      "ingest.max_future: must not be negative",
		{MaxFuture: Duration(time.Minute)}:   "ingest.max_future: must be at least 1h0m0s",
		{MaxFuture: Duration(2 * time.Hour)}: "",
		{MaxLabelBytes: 63}:                  "ingest.max_label_bytes: must be at least 64",
		{MaxAnnotationBytes: 10}:             "ingest.max_annotation_bytes: must be at least 64",
		{MaxLabelBytes: 64}:                  "",
	} {
		err := bad.Validate()
		if (err == nil) != (want == "") || err != nil && !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", *bad, err, want)
		}
	}
	var y Config
	in := "max_labels_per_alert: 32\nmax_annotations_per_alert: 16\nmax_label_bytes: 1024\nmax_annotation_bytes: 4096\nmax_future: 30d\n"
	if err := yaml.Unmarshal([]byte(in), &y); err != nil {
		t.Fatal(err)
	}
	if y.MaxLabelsPerAlert != 32 || y.MaxAnnotationsPerAlert != 16 || y.MaxLabelBytes != 1024 || y.MaxAnnotationBytes != 4096 ||
		y.MaxFuture != Duration(30*24*time.Hour) || y.Validate() != nil {
		t.Errorf("from YAML: %+v", y)
	}
	for s, want := range map[string]time.Duration{"8760h": 8760 * time.Hour, "90m": 90 * time.Minute, "1d": 24 * time.Hour} {
		var v struct {
			D Duration `yaml:"d"`
		}
		if err := yaml.Unmarshal([]byte("d: "+s), &v); err != nil || time.Duration(v.D) != want {
			t.Errorf("%s: %v %v, want %v", s, time.Duration(v.D), err, want)
		}
	}
	for _, s := range []string{"1y", "d", "-1d", "1.5d", "99999999999d", "7"} {
		var v struct {
			D Duration `yaml:"d"`
		}
		if err := yaml.Unmarshal([]byte("d: "+s), &v); err == nil {
			t.Errorf("%s: accepted as %v", s, time.Duration(v.D))
		}
	}
	if !MinTime.Equal(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) || MinTime.Unix() != minUnix {
		t.Errorf("MinTime %v", MinTime)
	}
	if s := Duration(365 * 24 * time.Hour).String(); s != "365d" {
		t.Errorf("String() = %q", s)
	}
	out, _ := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration(90 * time.Minute)})
	if string(out) != "d: 1h30m0s\n" {
		t.Errorf("MarshalYAML: %q", out)
	}
}
