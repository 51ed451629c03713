package knowledge

import (
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// A draft quotes alert text and agents' notes as inert text: no HTML, no
// links, no headings or code spans that the quoted text opens or closes.
func TestDraftEscapesWhatItQuotes(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	inc := &model.Incident{ID: "INC-1", Title: "api: <b>Down</b>", Status: "resolved", OpenedAt: now,
		Services: []string{"api"}, RootCause: model.RootCause{Service: "a`pi", Evidence: []string{"[x](javascript:alert(1))"}},
		Notes: "# Rolled back\n<img src=x onerror=alert(1)>\nsee http://evil.example/x"}
	alerts := []model.AlertState{{Fingerprint: 1, Status: "firing", FirstSeen: now, Alert: model.Alert{
		Labels:      model.LabelSet{"alertname": "Down**bold**", "service": "svc`` `x`", "severity": "<i>critical</i>"},
		Annotations: model.LabelSet{"summary": "<script>alert(1)</script>", "description": "![img](http://evil/x.png) _em_"}}}}
	out := Draft(inc, alerts, nil)
	body := out[strings.Index(out, "\n# "):] // after the YAML front matter
	// (Inside a code span, such as the labels, text stays literal: that is
	// what code spans are for.)
	for _, bad := range []string{"<script", "<img", "<b>", "(<i>", "](javascript:", "![img](", "\n# Rolled", "**Down**bold"} {
		if strings.Contains(body, bad) {
			t.Errorf("the draft holds %q raw:\n%s", bad, body)
		}
	}
	for _, good := range []string{"&lt;script&gt;", "\\# Rolled back", "``` svc`` `x` ```", "`http://evil.example/x`", "``a`pi``",
		"(&lt;i&gt;critical&lt;/i&gt;)", "**Down\\*\\*bold\\*\\***"} {
		if !strings.Contains(body, good) {
			t.Errorf("the draft lacks %q:\n%s", good, body)
		}
	}
}
