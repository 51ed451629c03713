package ingest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sift-aiops/sift/model"
)

// FuzzDecode: whatever the body, decoding returns alerts or an error,
// never panics; an accepted body is UTF-8 and its alerts have an
// alertname, times in the accepted range (MinTime .. now+max_future) in
// order, and labels and annotations within the limits; and a stream
// session (which reuses label sets it has decoded before) decodes exactly
// what a plain decoder does, the first time and the second. It runs with
// the default limits and with small ones.
func FuzzDecode(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","service":"x"},"startsAt":"2026-01-01T00:00:00Z"}]}`,
		`{"version":"4","status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"A"},"endsAt":"2026-01-01T00:01:00Z"}]}`,
		`{"name":"DiskFull","service":"db","host":"n1","severity":"critical","status":"firing","summary":"disk full","time":"2026-01-01T00:00:00Z"}`,
		`[{"name":"X","labels":{"a":"b"},"status":"resolved","end_time":"2026-01-01T00:00:00Z"}]`,
		`{"alerts":[]}`, `[]`, `{}`, `null`, `"x"`,
		// the limits, UTF-8 and the time range
		"[{\"labels\":{\"alertname\":\"A\",\"x\":\"\\n\xff\"}}]",
		"{\"version\":\"4\",\"receiver\":\"\xc3\",\"alerts\":[{\"labels\":{\"alertname\":\"A\"}}]}",
		`[{"labels":{"alertname":"A"},"startsAt":"9999-01-01T00:00:00Z"}]`,
		`[{"labels":{"alertname":"A"},"endsAt":"1999-12-31T23:59:59Z"}]`,
		`[{"labels":{"alertname":"A"},"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T02:00:00Z"}]`,
		`{"labels":{"alertname":"A","b":"c","d":"e","f":"g"},"annotations":{"a":"1","b":"2","c":""}}`,
		`{"labels":{"alertname":"A","long_name":"v"},"generatorURL":"http://example.com/0123456789"}`,
		`{"name":"A","summary":"0123456789abcdefXYZ","time":"2025-12-31T23:00:00Z"}`,
	} {
		f.Add([]byte(s))
	}
	if dir := os.Getenv("SIFT_SHARED_DATA"); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "captures", "*.json"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	now := time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)
	small := Config{MaxLabelsPerAlert: 3, MaxAnnotationsPerAlert: 2, MaxLabelBytes: 8, MaxAnnotationBytes: 16, MaxFuture: Duration(time.Hour)}
	decoders := []*Decoder{NewDecoder(Config{}), NewDecoder(small)}
	configs := []Config{Config{}.WithDefaults(), small.WithDefaults()}
	f.Fuzz(func(t *testing.T, data []byte) {
		for di, d := range decoders {
			cfg := configs[di]
			for _, format := range []string{"", FormatAMv2, FormatWebhook, FormatEvent} {
				plain, err := d.Decode(format, data, now)
				if err == nil {
					if !utf8.Valid(data) {
						t.Fatalf("%q as %q: accepted a body that is not UTF-8", data, format)
					}
					for _, a := range plain {
						checkAccepted(t, cfg, now, a)
					}
				}
				s := d.NewStreamSession()
				for round := 0; round < 2; round++ {
					got, err2 := s.AppendDecode(nil, format, data, now)
					if (err == nil) != (err2 == nil) {
						t.Fatalf("%q as %q round %d: plain error %v, session error %v", data, format, round, err, err2)
					}
					if err == nil && !reflect.DeepEqual(plain, got) {
						t.Fatalf("%q as %q round %d: session decoded\n%#v\nplain\n%#v", data, format, round, got, plain)
					}
				}
			}
		}
	})
}

// checkAccepted checks the invariants of an accepted alert.
func checkAccepted(t *testing.T, cfg Config, now time.Time, a model.Alert) {
	t.Helper()
	if a.Labels["alertname"] == "" {
		t.Fatalf("accepted an alert without alertname: %+v", a)
	}
	latest := now.Add(time.Duration(cfg.MaxFuture))
	if a.StartsAt.IsZero() || (!a.EndsAt.IsZero() && a.EndsAt.Before(a.StartsAt)) ||
		a.StartsAt.Before(MinTime) || a.StartsAt.After(latest) ||
		(!a.EndsAt.IsZero() && (a.EndsAt.Before(MinTime) || a.EndsAt.After(latest))) {
		t.Fatalf("accepted an alert with bad times: %+v", a)
	}
	if len(a.Labels) > cfg.MaxLabelsPerAlert || len(a.Annotations) > cfg.MaxAnnotationsPerAlert ||
		len(a.GeneratorURL) > cfg.MaxAnnotationBytes {
		t.Fatalf("accepted an alert beyond the limits %+v: %+v", cfg, a)
	}
	for set, max := range map[*model.LabelSet]int{&a.Labels: cfg.MaxLabelBytes, &a.Annotations: cfg.MaxAnnotationBytes} {
		for n, v := range *set {
			if len(n) > cfg.MaxLabelBytes || len(v) > max || !utf8.ValidString(n) || !utf8.ValidString(v) {
				t.Fatalf("accepted an alert beyond the limits %+v: %q=%q", cfg, n, v)
			}
		}
	}
}
