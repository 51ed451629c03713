package notify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/sift-aiops/sift/model"
)

// Body is the default request body (and the data of a stream event).
type Body struct {
	Type     string          `json:"type"`
	At       time.Time       `json:"at"`
	Detail   string          `json:"detail,omitempty"` // sla_breached: "respond" or "resolve"
	Incident *model.Incident `json:"incident"`
}

// TemplateData is what a body template is executed with.
type TemplateData struct {
	Type     string          // event type: opened, updated, classified, resolved, reopened, sla_breached
	At       time.Time       // event time
	Detail   string          // sla_breached: the target missed, "respond" or "resolve"
	Incident *model.Incident // the incident after the change
	Target   string          // webhook name
	Key      string          // the Idempotency-Key of the delivery
	Vars     map[string]string
	// From Incident.Class ("" when not classified).
	Team, Category, Priority string
	// Services are the incident's services and its root cause.
	Services []string
}

// maxTemplateBytes bounds a template file.
const maxTemplateBytes = 1 << 20

// Funcs are the functions templates can use besides text/template's:
//
//	json V        V as JSON (a string is quoted and escaped): the way to put
//	              any value into the body, so that quotes, newlines or
//	              "</script>" in alert text cannot break the JSON
//	truncate N S  S cut to at most N characters (runes)
//	join SEP L    the strings of L joined with SEP
//	lower S, upper S
//	rfc3339 T     T as an RFC 3339 string in UTC ("" for the zero time)
//	default D V   V, or D when V is empty
var Funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"truncate": func(n int, s string) string {
		if n < 0 || utf8.RuneCountInString(s) <= n {
			return s
		}
		r := []rune(s)
		return string(r[:n])
	},
	"join":  func(sep string, l []string) string { return strings.Join(l, sep) },
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"rfc3339": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"default": func(d, v any) any {
		switch x := v.(type) {
		case nil:
			return d
		case string:
			if x == "" {
				return d
			}
		}
		return v
	},
}

// ParseTemplate parses a body template (with Funcs).
func ParseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Funcs(Funcs).Option("missingkey=error").Parse(text)
}

func loadTemplate(path string) (*template.Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) > maxTemplateBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxTemplateBytes)
	}
	return ParseTemplate(filepath.Base(path), string(b))
}

// Render executes tm for ev and returns the body, compacted; it fails if
// the result is not JSON.
func Render(tm *template.Template, d TemplateData) ([]byte, error) {
	var out bytes.Buffer
	if err := tm.Execute(&out, d); err != nil {
		return nil, err
	}
	var c bytes.Buffer
	if err := json.Compact(&c, out.Bytes()); err != nil {
		return nil, fmt.Errorf("template %s did not render JSON (put values in with {{json ...}}): %v", tm.Name(), err)
	}
	return c.Bytes(), nil
}

// DefaultBody returns the default body of ev: {"type","at","incident"}
// (and "detail" when the event has one).
func DefaultBody(ev *model.IncidentEvent) ([]byte, error) {
	return json.Marshal(Body{Type: ev.Type, At: ev.At.UTC(), Detail: ev.Detail, Incident: ev.Incident})
}

// render returns the body of ev for t (key: its Idempotency-Key). def
// caches the default body, which is the same for every target that uses
// it.
func (t *target) render(ev *model.IncidentEvent, key string, def *[]byte) ([]byte, error) {
	if ev.Incident == nil || ev.Incident.ID == "" {
		return nil, errors.New("event without an incident id")
	}
	if t.tmpl == nil {
		if def != nil && *def != nil {
			return *def, nil
		}
		b, err := DefaultBody(ev)
		if err != nil {
			return nil, err
		}
		if def != nil {
			*def = b
		}
		return b, nil
	}
	d := TemplateData{Type: ev.Type, At: ev.At.UTC(), Detail: ev.Detail, Incident: ev.Incident, Target: t.Name, Key: key,
		Vars: t.vars, Services: services(ev.Incident)}
	if d.Services[0] == "" {
		d.Services = nil
	}
	if c := ev.Incident.Class; c != nil {
		d.Team, d.Category, d.Priority = c.Team, c.Category, c.Priority
	}
	return Render(t.tmpl, d)
}

// IdempotencyKey identifies one event for one target, the same on every
// attempt and after restarts: sha256 of the target, the incident, the
// event type (and detail), and the time of the change. An incident opens once, so
// "opened" uses its opening time and "resolved" its resolution time:
// the copy a restart sends again (pipeline.Resync, with the time of the
// incident's last change) carries the same key as the original.
func IdempotencyKey(target string, ev *model.IncidentEvent) string {
	at := ev.At
	if inc := ev.Incident; inc != nil {
		switch {
		case ev.Type == model.EventOpened && !inc.OpenedAt.IsZero():
			at = inc.OpenedAt
		case ev.Type == model.EventResolved && !inc.ResolvedAt.IsZero():
			at = inc.ResolvedAt
		}
	}
	id := ""
	if ev.Incident != nil {
		id = ev.Incident.ID
	}
	typ := ev.Type
	if ev.Detail != "" {
		typ += "/" + ev.Detail
	}
	h := sha256.New()
	for _, s := range []string{target, id, typ, strconv.FormatInt(at.UnixNano(), 10)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// sampleEvent is what templates are tried on when the configuration is
// checked.
func sampleEvent() *model.IncidentEvent {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	inc := &model.Incident{
		ID: "INC-1", Title: `HighErrorRate on "checkout"`, Status: model.IncidentOpen, Severity: "critical",
		OpenedAt: at, UpdatedAt: at, Signature: "checkout/HighErrorRate",
		RootCause: model.RootCause{Service: "payments", Evidence: []string{"payments alerted first"}},
		Services:  []string{"checkout", "payments"},
		Members: []model.Member{{Name: "HighErrorRate", Service: "checkout", JoinedAt: at,
			Reason: model.Reason{Kind: model.ReasonSeed, Detail: "first alert", Score: 1}}},
		AlertCount: 1,
		Class:      &model.Classification{Team: "payments", Category: "application", Priority: "P2", Confidence: 0.9},
	}
	return &model.IncidentEvent{Type: model.EventOpened, At: at, Incident: inc}
}
