package amcompat

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
)

// fixedSets are hand-picked label sets covering the corners of the
// fingerprint: unicode, empty values, separators inside values, byte order of
// names, a single label, many labels, no alertname.
func fixedSets() []model.LabelSet {
	many := model.LabelSet{"alertname": "ManyLabels"}
	for i := 0; i < 30; i++ {
		many[fmt.Sprintf("l%02d", i)] = strings.Repeat("v", i)
	}
	many["l00"] = "zero" // no empty value here
	return []model.LabelSet{
		{"alertname": "HighCPU", "instance": "host1:9100", "job": "node", "severity": "critical"},
		{"alertname": "Solo"},
		{"instance": "no-alertname:9100"},
		{"alertname": "Unicode", "summary_de": "Größe überschritten", "ja": "日本語のラベル", "emoji": "🔥🚒", "rtl": "שלום"},
		{"alertname": "EmptyVal", "team": "", "severity": "warning"},
		{"alertname": "Separators", "v": "a=b,c=\"d\"{e}", "nl": "line1\nline2\ttab", "bs": `back\slash`, "ff": "\u00ff\u00fe"},
		{"alertname": "Split", "a": "bc"},
		{"alertname": "Split", "ab": "c"},
		{"alertname": "Case", "B": "upper", "a": "lower", "_x": "underscore", "Z9": "digit"},
		{"alertname": "Long", "description": strings.Repeat("long value ✓ ", 200)},
		many,
	}
}

// randomSets are deterministic pseudo-random label sets with values drawn
// from ASCII and multi-byte runes, sometimes empty.
func randomSets(n int) []model.LabelSet {
	r := rand.New(rand.NewSource(42))
	runes := []rune("abcXYZ019 _-.:/=,{}\"'\\äöüßéñ中文日本한국ÿ€😀🚀\t")
	nameChars := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"
	out := make([]model.LabelSet, 0, n)
	for i := 0; i < n; i++ {
		ls := model.LabelSet{"alertname": fmt.Sprintf("Random%d", i)}
		for j, k := 0, 1+r.Intn(10); j < k; j++ {
			name := []byte{nameChars[r.Intn(52)]} // letter first
			for m := r.Intn(12); m > 0; m-- {
				name = append(name, nameChars[r.Intn(len(nameChars))])
			}
			var v []rune
			if r.Intn(8) != 0 {
				for m := 1 + r.Intn(24); m > 0; m-- {
					v = append(v, runes[r.Intn(len(runes))])
				}
			}
			ls[string(name)] = string(v)
		}
		out = append(out, ls)
	}
	return out
}

func TestFingerprintMatchesRealAlertmanager(t *testing.T) {
	am := &Client{BaseURL: testenv.StartAlertmanager(t, "")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	sets := append(fixedSets(), randomSets(300)...)
	now := time.Now().UTC()
	var alerts []model.Alert
	for i, ls := range sets {
		alerts = append(alerts, model.Alert{
			Labels:      ls,
			Annotations: model.LabelSet{"summary": fmt.Sprintf("alert %d", i)},
			StartsAt:    now.Add(-time.Minute),
			EndsAt:      now.Add(time.Hour),
		})
	}
	// Also an alert that differs from EmptyVal only by the empty label:
	// Alertmanager must treat it as the same identity.
	alerts = append(alerts, model.Alert{
		Labels:   model.LabelSet{"alertname": "EmptyVal", "severity": "warning"},
		StartsAt: now.Add(-time.Minute),
		EndsAt:   now.Add(time.Hour),
	})
	for start := 0; start < len(alerts); start += 50 {
		end := min(start+50, len(alerts))
		if err := am.PostAlerts(ctx, FromAlerts(alerts[start:end])); err != nil {
			t.Fatalf("POST alerts %d..%d: %v", start, end, err)
		}
	}

	got, err := am.GetAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byFP := map[string]GettableAlert{}
	for _, g := range got {
		if _, dup := byFP[g.Fingerprint]; dup {
			t.Errorf("alertmanager returned fingerprint %s twice", g.Fingerprint)
		}
		byFP[g.Fingerprint] = g
	}

	// Expected identities: the posted label sets without empty values.
	want := map[model.Fingerprint]model.LabelSet{}
	emptyDiffers := 0
	for _, a := range alerts {
		eff := DropEmpty(a.Labels)
		want[eff.Fingerprint()] = eff
		if len(eff) != len(a.Labels) && eff.Fingerprint() != a.Labels.Fingerprint() {
			emptyDiffers++
		}
	}
	if len(got) != len(want) {
		t.Errorf("alertmanager holds %d alerts, want %d distinct identities", len(got), len(want))
	}

	matched := 0
	for fp, ls := range want {
		g, ok := byFP[fp.String()]
		if !ok {
			t.Errorf("model fingerprint %s of %s not reported by alertmanager", fp, ls)
			continue
		}
		if !equalSets(g.Labels, ls) {
			t.Errorf("fingerprint %s: alertmanager labels %s, want %s", fp, g.Labels, ls)
			continue
		}
		// And the other way round: our fingerprint of what Alertmanager
		// returned is the fingerprint it reports.
		if got := g.Labels.Fingerprint().String(); got != g.Fingerprint {
			t.Errorf("labels %s: model fingerprint %s, alertmanager %s", g.Labels, got, g.Fingerprint)
			continue
		}
		if _, err := model.ParseFingerprint(g.Fingerprint); err != nil {
			t.Errorf("alertmanager fingerprint not parseable by model: %v", err)
		}
		matched++
	}
	// The empty-value corner must actually have been exercised.
	if emptyDiffers == 0 {
		t.Fatal("no posted label set had an empty value; the test lost its corner case")
	}
	if byFP[model.LabelSet{"alertname": "EmptyVal", "severity": "warning"}.Fingerprint().String()].Labels == nil {
		t.Error(`alertmanager did not store {alertname="EmptyVal", severity="warning"} with the empty "team" label dropped`)
	}
	// Different splits of the same bytes are different identities.
	if (model.LabelSet{"alertname": "Split", "a": "bc"}).Fingerprint() == (model.LabelSet{"alertname": "Split", "ab": "c"}).Fingerprint() {
		t.Error("label sets {a=bc} and {ab=c} share a fingerprint")
	}
	t.Logf("%d label sets posted, %d identities matched alertmanager's fingerprints (%d sets had empty values)",
		len(alerts), matched, emptyDiffers)
}

func equalSets(a, b model.LabelSet) bool {
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

// TestLabelNameValidationMatchesRealAlertmanager checks that
// model.ValidLabelName accepts exactly the names Alertmanager accepts.
func TestLabelNameValidationMatchesRealAlertmanager(t *testing.T) {
	am := &Client{BaseURL: testenv.StartAlertmanager(t, "")}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	now := time.Now().UTC()
	names := []string{"ok", "_lead", "A9_b", "bad-name", "9lead", "has space", "größe", "dot.ted", "colon:x", "__reserved"}
	for _, n := range names {
		err := am.PostAlerts(ctx, FromAlerts([]model.Alert{{
			Labels:   model.LabelSet{"alertname": "NameCheck", n: "v"},
			StartsAt: now, EndsAt: now.Add(time.Hour),
		}}))
		var se *StatusError
		amAccepts := err == nil
		if err != nil && !(errors.As(err, &se) && se.Code == 400) {
			t.Fatalf("name %q: unexpected error %v", n, err)
		}
		if ours := model.ValidLabelName(n); ours != amAccepts {
			t.Errorf("label name %q: model.ValidLabelName=%v, alertmanager accepts=%v (%v)", n, ours, amAccepts, err)
		}
	}
	// An empty label set is rejected too.
	err := am.PostAlerts(ctx, []PostableAlert{{Labels: model.LabelSet{}}})
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 400 {
		t.Errorf("empty label set: got %v, want HTTP 400", err)
	}
}
