package llm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Caps on what is kept from an answer.
const (
	MaxSteps      = 8
	maxStepLen    = 300
	maxSummaryLen = 1200
	maxCauseLen   = 600
	maxNameLen    = 100
	maxTitleLen   = 200
)

// problem is one reason an answer is invalid.
type problem struct {
	Field string
	Msg   string
}

func (p problem) String() string {
	if p.Field == "" {
		return p.Msg
	}
	return fmt.Sprintf("field %q: %s", p.Field, p.Msg)
}

func problemStrings(ps []problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

var thinkBlock = regexp.MustCompile(`(?s)<think>.*?</think>`)

// extractJSON finds the JSON object in a reply: it drops reasoning blocks
// and Markdown fences that some servers add in json_object mode.
func extractJSON(text string) string {
	s := thinkBlock.ReplaceAllString(text, "")
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "```"))
	}
	if !strings.HasPrefix(s, "{") {
		i, j := strings.IndexByte(s, '{'), strings.LastIndexByte(s, '}')
		if i >= 0 && j > i {
			s = s[i : j+1]
		}
	}
	return s
}

// fields is a decoded answer object.
type fields map[string]json.RawMessage

func decodeObject(text string) (fields, []problem) {
	var f fields
	if err := json.Unmarshal([]byte(extractJSON(text)), &f); err != nil || f == nil {
		msg := "the answer is not one valid JSON object"
		if err != nil {
			msg += ": " + capStr(err.Error(), 200)
		}
		return nil, []problem{{Msg: msg}}
	}
	return f, nil
}

// str returns the string under the first key present.
func (f fields) str(ps *[]problem, keys ...string) string {
	for _, k := range keys {
		raw, ok := f[k]
		if !ok || string(raw) == "null" {
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			*ps = append(*ps, problem{keys[0], "must be a string"})
			return ""
		}
		return s
	}
	return ""
}

// list returns the strings under the first key present (a lone string is
// accepted as a list of one).
func (f fields) list(ps *[]problem, keys ...string) []string {
	for _, k := range keys {
		raw, ok := f[k]
		if !ok || string(raw) == "null" {
			continue
		}
		var xs []string
		if err := json.Unmarshal(raw, &xs); err == nil {
			return xs
		}
		var s string
		if err := json.Unmarshal(raw, &s); err == nil {
			return []string{s}
		}
		*ps = append(*ps, problem{keys[0], "must be an array of strings"})
		return nil
	}
	return nil
}

// cleanList cleans, caps and drops empty items, keeping at most max.
func cleanList(xs []string, max, n int) []string {
	var out []string
	for _, x := range xs {
		if x = capStr(x, n); x == "" {
			continue
		}
		if len(out) >= max {
			break
		}
		out = append(out, x)
	}
	return out
}

// oneOf returns the canonical spelling of v in allowed (case-insensitive).
func oneOf(v string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(strings.TrimSpace(v), a) {
			return a, true
		}
	}
	return "", false
}

// checkName validates a team or category against its taxonomy list.
func checkName(ps *[]problem, field, v string, allowed []string) string {
	v = capStr(v, maxNameLen)
	if v == "" || len(allowed) == 0 {
		return v
	}
	if c, ok := oneOf(v, allowed); ok {
		return c
	}
	*ps = append(*ps, problem{field, fmt.Sprintf("%q is not one of the allowed values: %s", v, strings.Join(allowed, ", "))})
	return ""
}

// parseTriage validates a triage answer. Text fields are not yet redacted.
func parseTriage(text string, tax Taxonomy) (*Triage, []problem) {
	f, ps := decodeObject(text)
	if f == nil {
		return nil, ps
	}
	t := &Triage{
		Summary:       capStr(f.str(&ps, "summary"), maxSummaryLen),
		ProbableCause: capStr(f.str(&ps, "probable_cause", "probableCause"), maxCauseLen),
		NextSteps:     cleanList(f.list(&ps, "next_steps", "nextSteps"), MaxSteps, maxStepLen),
	}
	if t.Summary == "" && !hasField(ps, "summary") {
		ps = append(ps, problem{"summary", "must not be empty"})
	}
	t.Team = checkName(&ps, "team", f.str(&ps, "team"), tax.Teams)
	t.Category = checkName(&ps, "category", f.str(&ps, "category"), tax.Categories)
	prio := f.str(&ps, "priority")
	if p, ok := oneOf(prio, Priorities); ok {
		t.Priority = p
	} else if !hasField(ps, "priority") {
		ps = append(ps, problem{"priority", fmt.Sprintf("%q is not one of the allowed values: %s", capStr(prio, 20), strings.Join(Priorities, ", "))})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return t, nil
}

func hasField(ps []problem, field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

// article is a validated draft answer.
type article struct {
	Title, Summary, Cause            string
	Symptoms, Resolution, Prevention []string
}

func parseDraft(text string) (*article, []problem) {
	f, ps := decodeObject(text)
	if f == nil {
		return nil, ps
	}
	a := &article{
		Title:      capStr(f.str(&ps, "title"), maxTitleLen),
		Summary:    capStr(f.str(&ps, "summary"), maxSummaryLen),
		Cause:      capStr(f.str(&ps, "probable_cause", "probableCause", "cause"), maxSummaryLen),
		Symptoms:   cleanList(f.list(&ps, "symptoms"), 20, MaxValueLen),
		Resolution: cleanList(f.list(&ps, "resolution", "resolution_steps"), 20, MaxValueLen),
		Prevention: cleanList(f.list(&ps, "prevention"), 10, MaxValueLen),
	}
	if a.Title == "" && !hasField(ps, "title") {
		ps = append(ps, problem{"title", "must not be empty"})
	}
	if a.Summary == "" && !hasField(ps, "summary") {
		ps = append(ps, problem{"summary", "must not be empty"})
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return a, nil
}

// Redaction of incident IDs: an answer may name this incident, its problem
// and the neighbours it was given, and no other incident.

const redacted = "[redacted]"

var idShape = regexp.MustCompile(`^([A-Za-z]{2,10})[-_]?[0-9]+$`)

type redactor struct {
	re      *regexp.Regexp
	allowed map[string]bool
}

func normID(s string) string {
	return strings.NewReplacer("-", "", "_", "").Replace(strings.ToUpper(s))
}

// newRedactor matches IDs with the prefixes INC and PRB (Sift's own) and
// the prefixes of the allowed IDs (e.g. imported ticket keys), with or
// without a dash: INC-12, INC0012, OPS-7.
func newRedactor(allowed ...string) *redactor {
	r := &redactor{allowed: map[string]bool{}}
	prefixes := []string{"INC", "PRB"}
	seen := map[string]bool{"INC": true, "PRB": true}
	for _, id := range allowed {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		r.allowed[normID(id)] = true
		if m := idShape.FindStringSubmatch(id); m != nil {
			p := strings.ToUpper(m[1])
			if !seen[p] {
				seen[p] = true
				prefixes = append(prefixes, regexp.QuoteMeta(p))
			}
		}
	}
	r.re = regexp.MustCompile(`(?i)\b(?:` + strings.Join(prefixes, "|") + `)[-_]?[0-9]+`)
	return r
}

// redact replaces the IDs of s that are not allowed; n counts them.
func (r *redactor) redact(s string, n *int) string {
	return r.re.ReplaceAllStringFunc(s, func(id string) string {
		if r.allowed[normID(id)] {
			return id
		}
		*n++
		return redacted
	})
}

// triage redacts the text fields of t, and team and category when they
// are free text (no taxonomy list constrains them).
func (r *redactor) triage(t *Triage, tax Taxonomy) int {
	n := 0
	t.Summary = r.redact(t.Summary, &n)
	t.ProbableCause = r.redact(t.ProbableCause, &n)
	for i := range t.NextSteps {
		t.NextSteps[i] = r.redact(t.NextSteps[i], &n)
	}
	if len(tax.Teams) == 0 {
		t.Team = r.redact(t.Team, &n)
	}
	if len(tax.Categories) == 0 {
		t.Category = r.redact(t.Category, &n)
	}
	return n
}

func (r *redactor) article(a *article) int {
	n := 0
	a.Title = r.redact(a.Title, &n)
	a.Summary = r.redact(a.Summary, &n)
	a.Cause = r.redact(a.Cause, &n)
	for _, l := range [][]string{a.Symptoms, a.Resolution, a.Prevention} {
		for i := range l {
			l[i] = r.redact(l[i], &n)
		}
	}
	return n
}

func (in Input) allowedIDs() []string {
	ids := []string{in.Incident.ID, in.Incident.Problem}
	for i, n := range in.Neighbors {
		if i >= MaxNeighbors {
			break
		}
		ids = append(ids, n.ID)
	}
	return ids
}
