package notify

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

const hostile = "quote \" backslash \\ newline\n tab\t </script><script>alert(1)</script> \u2028 {{.}} ${X} \x01 ünïcode"

func hostileIncident(status, priority string) *model.Incident {
	at := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	inc := &model.Incident{
		ID: "INC-42", Title: "Title: " + hostile, Status: status, Severity: "critical\"" + hostile,
		OpenedAt: at, UpdatedAt: at.Add(time.Minute), Signature: hostile,
		RootCause: model.RootCause{Service: "svc\"" + hostile, Evidence: []string{hostile, "second"}},
		Services:  []string{"a\"b", hostile},
		Members:   []model.Member{{Name: hostile, Service: hostile, JoinedAt: at, Reason: model.Reason{Kind: "seed", Detail: hostile}}},
		Problem:   hostile, Notes: hostile, AlertCount: 3,
	}
	if priority != "" {
		inc.Class = &model.Classification{Team: "team\"" + hostile, Category: hostile, Priority: priority}
	}
	if status == model.IncidentResolved {
		inc.ResolvedAt = at.Add(time.Hour)
	}
	return inc
}

func loadDeploy(t *testing.T, name string, vars map[string]string) *target {
	t.Helper()
	tm, err := loadTemplate(filepath.Join("..", "..", "deploy", "notify", name))
	if err != nil {
		t.Fatal(err)
	}
	return &target{Webhook: Webhook{Name: "t"}, tmpl: tm, vars: vars}
}

func renderJSON(t *testing.T, tg *target, ev *model.IncidentEvent) map[string]any {
	t.Helper()
	b, err := tg.render(ev, IdempotencyKey(tg.Name, ev), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", tg.tmpl.Name(), ev.Type, err)
	}
	if !json.Valid(b) {
		t.Fatalf("%s: invalid JSON: %s", tg.tmpl.Name(), b)
	}
	if strings.Contains(string(b), "</script>") {
		t.Fatalf("%s: </script> not escaped: %s", tg.tmpl.Name(), b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func str(t *testing.T, m map[string]any, path ...string) string {
	t.Helper()
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: not an object at %s", path, p)
		}
		v = mm[p]
	}
	s, ok := v.(string)
	if !ok {
		t.Fatalf("%v: %T %v, want a string", path, v, v)
	}
	return s
}

func TestPagerDutyTemplate(t *testing.T) {
	tg := loadDeploy(t, "pagerduty-events-v2.json.tmpl", map[string]string{"routing_key": "R0UT1NGKEY"})
	for _, c := range []struct {
		typ, status, prio, action, sev string
	}{
		{"opened", "open", "P1", "trigger", "critical"},
		{"updated", "open", "P2", "trigger", "error"},
		{"classified", "open", "P3", "trigger", "warning"},
		{"reopened", "open", "P4", "trigger", "info"},
		{"sla_breached", "open", "P5", "trigger", "info"},
		{"updated", "acknowledged", "P2", "acknowledge", "error"},
		{"resolved", "resolved", "P1", "resolve", "critical"},
		{"opened", "open", "", "trigger", "warning"}, // severity "critical\"..." is not a PagerDuty severity
	} {
		ev := &model.IncidentEvent{Type: c.typ, At: time.Now(), Incident: hostileIncident(c.status, c.prio)}
		m := renderJSON(t, tg, ev)
		if str(t, m, "routing_key") != "R0UT1NGKEY" || str(t, m, "dedup_key") != "INC-42" || str(t, m, "event_action") != c.action {
			t.Errorf("%+v: %v", c, m)
		}
		if s := str(t, m, "payload", "severity"); s != c.sev {
			t.Errorf("%+v: severity %s", c, s)
		}
		sum := str(t, m, "payload", "summary")
		if !strings.HasPrefix(sum, "[INC-42] Title: quote \" backslash \\ newline\n") || len([]rune(sum)) > 1024 {
			t.Errorf("summary %q", sum)
		}
		if str(t, m, "payload", "source") == "" || str(t, m, "payload", "timestamp") != "2026-05-06T07:08:09Z" {
			t.Errorf("source/timestamp: %v", m["payload"])
		}
	}
	// Severity from the incident when there is no priority.
	inc := hostileIncident("open", "")
	inc.Severity = "info"
	m := renderJSON(t, tg, &model.IncidentEvent{Type: "opened", At: time.Now(), Incident: inc})
	if str(t, m, "payload", "severity") != "info" {
		t.Error("severity not taken from the incident")
	}
	// A missing var is an error, not an empty routing key.
	tg.vars = map[string]string{}
	if _, err := tg.render(&model.IncidentEvent{Type: "opened", Incident: inc}, "k", nil); err == nil {
		t.Error("missing routing_key var rendered")
	}
}

func TestServiceNowTemplate(t *testing.T) {
	tg := loadDeploy(t, "servicenow.json.tmpl", nil)
	for prio, iu := range map[string][2]string{"P1": {"1", "1"}, "P2": {"1", "2"}, "P3": {"2", "2"}, "P4": {"2", "3"}, "P5": {"3", "3"}, "": {"3", "3"}} {
		m := renderJSON(t, tg, &model.IncidentEvent{Type: "opened", At: time.Now(), Incident: hostileIncident("open", prio)})
		if str(t, m, "impact") != iu[0] || str(t, m, "urgency") != iu[1] {
			t.Errorf("%s: impact %s urgency %s", prio, m["impact"], m["urgency"])
		}
		if sd := str(t, m, "short_description"); !strings.HasPrefix(sd, "[INC-42] Title: quote") || len([]rune(sd)) > 160 {
			t.Errorf("short_description %q", sd)
		}
		if d := str(t, m, "description"); !strings.Contains(d, hostile) || !strings.Contains(d, "Alerts: 3") {
			t.Errorf("description %q", d)
		}
		if str(t, m, "correlation_id") != "INC-42" {
			t.Error("correlation_id")
		}
	}
}

func TestJiraServiceManagementTemplate(t *testing.T) {
	tg := loadDeploy(t, "jira-service-management.json.tmpl", map[string]string{"service_desk_id": "3", "request_type_id": "17"})
	for _, inc := range []*model.Incident{hostileIncident("open", "P2"), hostileIncident("open", "")} {
		m := renderJSON(t, tg, &model.IncidentEvent{Type: "opened", At: time.Now(), Incident: inc})
		if str(t, m, "serviceDeskId") != "3" || str(t, m, "requestTypeId") != "17" {
			t.Errorf("ids: %v", m)
		}
		if s := str(t, m, "requestFieldValues", "summary"); !strings.HasPrefix(s, "[INC-42] Title: ") || len([]rune(s)) > 255 {
			t.Errorf("summary %q", s)
		}
		if d := str(t, m, "requestFieldValues", "description"); !strings.Contains(d, hostile) {
			t.Errorf("description %q", d)
		}
	}
}

func TestJSONFuncEscapes(t *testing.T) {
	tm, err := ParseTemplate("t", `{"a": {{json .Incident.Title}}, "b": {{json .Incident.Services}}, "c": {{json .At}}}`)
	if err != nil {
		t.Fatal(err)
	}
	inc := hostileIncident("open", "P1")
	b, err := Render(tm, TemplateData{Incident: inc, At: inc.OpenedAt})
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		A string
		B []string
	}
	if err := json.Unmarshal(b, &m); err != nil || m.A != inc.Title || m.B[1] != hostile {
		t.Fatalf("%s: %v", b, err)
	}
	// Without json, hostile text breaks the body: refused.
	tm, _ = ParseTemplate("raw", `{"a": "{{.Incident.Title}}"}`)
	if _, err := Render(tm, TemplateData{Incident: inc}); err == nil || !strings.Contains(err.Error(), "did not render JSON") {
		t.Fatalf("raw template: %v", err)
	}
}

func TestIdempotencyKeyStable(t *testing.T) {
	inc := hostileIncident("open", "P1")
	a := &model.IncidentEvent{Type: "opened", At: inc.OpenedAt, Incident: inc}
	// The copy a restart sends (time of the last change) has the same key.
	b := &model.IncidentEvent{Type: "opened", At: inc.UpdatedAt, Incident: inc}
	if IdempotencyKey("t", a) != IdempotencyKey("t", b) {
		t.Fatal("opened: key depends on the event time")
	}
	u1 := &model.IncidentEvent{Type: "updated", At: inc.OpenedAt, Incident: inc}
	u2 := &model.IncidentEvent{Type: "updated", At: inc.UpdatedAt, Incident: inc}
	keys := map[string]bool{IdempotencyKey("t", a): true, IdempotencyKey("u", a): true, IdempotencyKey("t", u1): true, IdempotencyKey("t", u2): true}
	respond := &model.IncidentEvent{Type: model.EventSLABreached, Detail: "respond", At: inc.UpdatedAt, Incident: inc}
	resolve := &model.IncidentEvent{Type: model.EventSLABreached, Detail: "resolve", At: inc.UpdatedAt, Incident: inc}
	keys[IdempotencyKey("t", respond)], keys[IdempotencyKey("t", resolve)] = true, true
	if len(keys) != 6 {
		t.Fatal("keys of different events or targets collide")
	}
}
