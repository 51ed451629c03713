package ingest

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// FuzzDecode: whatever the body, decoding returns alerts or an error,
// never panics; an accepted alert has an alertname and sane times; and a
// stream session (which reuses label sets it has decoded before) decodes
// exactly what a plain decoder does, the first time and the second.
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
	d := NewDecoder(Config{})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []string{"", FormatAMv2, FormatWebhook, FormatEvent} {
			plain, err := d.Decode(format, data, now)
			if err == nil {
				for _, a := range plain {
					if a.Labels["alertname"] == "" {
						t.Fatalf("%q as %q: accepted an alert without alertname: %+v", data, format, a)
					}
					if a.StartsAt.IsZero() || (!a.EndsAt.IsZero() && a.EndsAt.Before(a.StartsAt)) {
						t.Fatalf("%q as %q: accepted an alert with bad times: %+v", data, format, a)
					}
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
	})
}
