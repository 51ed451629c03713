package correlate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

func TestLabelSetPacking(t *testing.T) {
	long := strings.Repeat("x", 300) // a length of two varint bytes
	for _, ls := range []model.LabelSet{
		nil,
		{"alertname": "A"},
		{"alertname": "A", "service": "checkout", "instance": "10.0.0.1:9100", "": "empty name", "empty": ""},
		{"alertname": "Html<&>", "q": `say "hi" \ there`, "ctl": "a\nb\tc\x01", "uni": "Grüße ☃ \u2028", "bad": "\xff\xfe", long: long},
	} {
		p := packLabels(ls)
		if got := p.Map(); !sameSet(got, ls) {
			t.Errorf("Map() = %v, want %v", got, ls)
		}
		if !p.equal(ls) || p.Len() != len(ls) {
			t.Errorf("equal/Len of %v", ls)
		}
		for n, v := range ls {
			if got := p.Get(n); got != v {
				t.Errorf("Get(%q) = %q, want %q", n, got, v)
			}
		}
		if p.Get("absent") != "" {
			t.Errorf("Get(absent) of %v", ls)
		}
		if len(ls) > 0 {
			other := ls.Clone()
			other["alertname"] += "!"
			if p.equal(other) {
				t.Errorf("equal to a changed set: %v", ls)
			}
			other = ls.Clone()
			other["extra"] = "1"
			if p.equal(other) {
				t.Errorf("equal to a larger set: %v", ls)
			}
			// The JSON is exactly encoding/json's of the map.
			want, _ := json.Marshal(ls)
			got, err := json.Marshal(p)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("JSON %s, want %s (%v)", got, want, err)
			}
			var back labelSet
			var viaMap model.LabelSet // invalid UTF-8 comes back as U+FFFD, as with maps
			if err := json.Unmarshal(want, &back); err != nil || json.Unmarshal(want, &viaMap) != nil || back != packLabels(viaMap) {
				t.Errorf("JSON round trip of %v: %v", ls, err)
			}
		}
	}
	var back labelSet
	if err := json.Unmarshal([]byte("null"), &back); err != nil || back != "" {
		t.Errorf("null: %q %v", back, err)
	}
}

func sameSet(a, b model.LabelSet) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// snapScenario is a small run with labels and annotations that need
// escaping, resolved and refired alerts and a silence.
func snapScenario() []*model.Batch {
	var out []*model.Batch
	svcs := []string{"frontend", "checkout", "payment", "cart", "redis"}
	for i := 0; i < 120; i++ {
		svc := svcs[(i*3)%len(svcs)]
		a := al(fmt.Sprintf("Alert%d", i%7), svc, "host", fmt.Sprintf("node-%d", i%3), "instance", fmt.Sprintf("10.0.0.%d:9100", i%11))
		if i%4 == 0 {
			a.Labels["note"] = "<b>&\"quoted\"</b> Grüße\n" + strings.Repeat("v", 130+i)
			a.Annotations["description"] = fmt.Sprintf("p99 of %s > 500ms & rising", svc)
		}
		if i%6 == 0 {
			a.GeneratorURL = "http://prom/graph?g0.expr=up%3D%3D0&x=<y>"
		}
		at := t0.Add(time.Duration(i) * 23 * time.Second)
		a.StartsAt = at.Add(-time.Duration(i%3) * 10 * time.Second)
		a.EndsAt = at.Add(4 * time.Minute)
		if i%9 == 0 {
			a.EndsAt = at
		}
		out = append(out, &model.Batch{At: at, Alerts: []model.Alert{a}})
	}
	return out
}

// writes the snapshot of an engine built before label sets were packed:
// SIFT_WRITE_SNAPSHOT=1 go test ./correlate -run TestWriteSnapshotV1 (at that commit)
func TestWriteSnapshotV1(t *testing.T) {
	if os.Getenv("SIFT_WRITE_SNAPSHOT") == "" {
		t.Skip("generator")
	}
	e := New(Config{}, boutique())
	for _, b := range snapScenario() {
		e.ApplyBatch(b)
	}
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/snapshot-maps.json", snap, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A snapshot written while the engine kept label sets as Go maps restores
// into an engine that packs them, gives the same alerts and incidents as
// an engine that saw the same notifications, and is written back in the
// same form.
func TestSnapshotOfMapsRestores(t *testing.T) {
	old, err := os.ReadFile("testdata/snapshot-maps.json")
	if err != nil {
		t.Fatal(err)
	}
	restored := New(Config{}, boutique())
	if err := restored.Restore(old); err != nil {
		t.Fatal(err)
	}
	straight := New(Config{}, boutique())
	for _, b := range snapScenario() {
		straight.ApplyBatch(b)
	}
	if a, b := dump(straight.All()), dump(restored.All()); a != b {
		t.Fatalf("incidents differ:\n%s\n---\n%s", a[:min(len(a), 2000)], b[:min(len(b), 2000)])
	}
	if a, b := dump(straight.Alerts()), dump(restored.Alerts()); a != b {
		t.Fatalf("alerts differ:\n%s\n---\n%s", a[:min(len(a), 2000)], b[:min(len(b), 2000)])
	}
	if len(straight.All()) < 3 || len(straight.Alerts()) < 10 {
		t.Fatalf("scenario too small: %d incidents, %d alerts", len(straight.All()), len(straight.Alerts()))
	}
	again, err := restored.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if a, b := snapAlerts(t, old), snapAlerts(t, again); a != b {
		t.Fatalf("snapshot alerts written differently:\n%s\n---\n%s", a[:min(len(a), 2000)], b[:min(len(b), 2000)])
	}
}

// snapAlerts returns the alerts of a snapshot as raw JSON, by fingerprint.
func snapAlerts(t *testing.T, snap []byte) string {
	t.Helper()
	var s struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if err := json.Unmarshal(snap, &s); err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(s.Alerts))
	for i, a := range s.Alerts {
		out[i] = string(a)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}
