package llm

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/knowledge"
	"github.com/sift-aiops/sift/model"
)

// Caps on what goes into a prompt, so that a storm incident (thousands of
// alerts, huge annotations) cannot blow it up.
const (
	MaxAlerts    = 30   // alerts sent, distinct alert names first
	MaxValueLen  = 500  // characters of any one string value
	MaxLabels    = 20   // labels per alert
	MaxMembers   = 30   // join explanations
	MaxEvidence  = 10   // root-cause evidence lines
	MaxNeighbors = 5    // similar past incidents
	MaxArticles  = 5    // matched knowledge articles
	MaxNotesLen  = 4000 // resolution notes (Draft)
	maxDataBytes = 32 << 10
)

// Input is what the model is given about one incident (retrieval-augmented
// context). Only this incident and its retrieved neighbours go in: no other
// incident's data.
type Input struct {
	// Incident is required: title, root cause with evidence, services and
	// its members with the reason each joined.
	Incident *model.Incident
	// Alerts are the incident's alerts (capped to MaxAlerts, distinct alert
	// names first).
	Alerts []model.AlertState
	// Neighbors are the most similar past incidents with their resolutions
	// (classify.Result.Similar), best first.
	Neighbors []classify.Neighbor
	// Articles are the matched knowledge articles, best first.
	Articles []knowledge.Result
	// Current is the rule/kNN classification with its confidence; when
	// zero, Incident.Class is used.
	Current model.Classification
	// NoCache asks the model even when a triage for the same signature is
	// cached (the new answer replaces the cached one).
	NoCache bool
}

// The data document: the JSON put inside the delimited block of the user
// message. Field names are for the model.
type dataDoc struct {
	Incident        incData        `json:"incident"`
	Alerts          []alertData    `json:"alerts"`
	AlertsOmitted   int            `json:"alerts_omitted,omitempty"`
	Similar         []neighborData `json:"similar_past_incidents,omitempty"`
	Articles        []articleData  `json:"knowledge_articles,omitempty"`
	Current         *classData     `json:"current_classification,omitempty"`
	Taxonomy        taxData        `json:"taxonomy"`
	ResolutionNotes string         `json:"resolution_notes,omitempty"`
}

type incData struct {
	ID             string       `json:"id"`
	Title          string       `json:"title"`
	Status         string       `json:"status,omitempty"`
	Severity       string       `json:"severity,omitempty"`
	OpenedAt       string       `json:"opened_at,omitempty"`
	ResolvedAt     string       `json:"resolved_at,omitempty"`
	Services       []string     `json:"services,omitempty"`
	RootCause      rcData       `json:"root_cause"`
	AlertCount     int          `json:"alert_count"`
	Members        []memberData `json:"members,omitempty"`
	MembersOmitted int          `json:"members_omitted,omitempty"`
	Notes          string       `json:"agent_notes,omitempty"`
}

type rcData struct {
	Service  string   `json:"service,omitempty"`
	Evidence []string `json:"evidence,omitempty"`
}

type memberData struct {
	Alert   string  `json:"alertname"`
	Service string  `json:"service,omitempty"`
	Reason  string  `json:"joined_because"`
	Detail  string  `json:"detail,omitempty"`
	Score   float64 `json:"score,omitempty"`
	Via     string  `json:"via,omitempty"`
}

type alertData struct {
	Name        string            `json:"alertname"`
	Status      string            `json:"status,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Summary     string            `json:"summary,omitempty"`
	Description string            `json:"description,omitempty"`
	StartsAt    string            `json:"starts_at,omitempty"`
	Count       int               `json:"notifications,omitempty"`
	Flapping    bool              `json:"flapping,omitempty"`
}

type neighborData struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Similarity float64 `json:"similarity"`
	Team       string  `json:"team,omitempty"`
	Category   string  `json:"category,omitempty"`
	Resolution string  `json:"resolution,omitempty"`
}

type articleData struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type classData struct {
	Team       string   `json:"team,omitempty"`
	Category   string   `json:"category,omitempty"`
	Priority   string   `json:"priority,omitempty"`
	Confidence float64  `json:"confidence"`
	Sources    []string `json:"sources,omitempty"`
}

type taxData struct {
	Teams      []string `json:"teams,omitempty"`
	Categories []string `json:"categories,omitempty"`
	Priorities []string `json:"priorities"`
}

// capStr cleans s (no control characters; newlines kept only if multiline)
// and caps it to n runes.
func capStr(s string, n int) string {
	return capText(s, n, false)
}

func capText(s string, n int, multiline bool) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	var b strings.Builder
	space := false
	runes := 0
	for _, r := range s {
		if r == utf8.RuneError || (unicode.IsControl(r) && !(multiline && r == '\n')) || unicode.Is(unicode.Cf, r) {
			r = ' '
		}
		if r == ' ' || (r != '\n' && unicode.IsSpace(r)) {
			if space {
				continue
			}
			space = true
			r = ' '
		} else {
			space = false
		}
		if runes >= n {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		runes++
	}
	return strings.TrimSpace(b.String())
}

func fmtAt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// rootAlertName returns the alert name part of a signature
// ("service|alertname").
func rootAlertName(sig string) string {
	if i := strings.LastIndexByte(sig, '|'); i >= 0 {
		return sig[i+1:]
	}
	return ""
}

// selectAlerts orders alerts (the root alert first, firing before resolved,
// oldest first) and keeps at most max, one of each distinct alert name
// before any second of a name.
func selectAlerts(inc *model.Incident, alerts []model.AlertState, max int) (kept []*model.AlertState, omitted int) {
	root := rootAlertName(inc.Signature)
	order := make([]*model.AlertState, 0, len(alerts))
	for i := range alerts {
		order = append(order, &alerts[i])
	}
	rank := func(a *model.AlertState) int {
		r := 0
		if a.Name() != root || (inc.RootCause.Service != "" && a.Labels["service"] != "" && a.Labels["service"] != inc.RootCause.Service) {
			r += 2
		}
		if a.Status == model.StatusResolved {
			r++
		}
		return r
	}
	sort.SliceStable(order, func(i, j int) bool {
		ri, rj := rank(order[i]), rank(order[j])
		if ri != rj {
			return ri < rj
		}
		return order[i].FirstSeen.Before(order[j].FirstSeen)
	})
	seen := map[string]bool{}
	var rest []*model.AlertState
	for _, a := range order {
		if len(kept) < max && !seen[a.Name()] {
			seen[a.Name()] = true
			kept = append(kept, a)
		} else {
			rest = append(rest, a)
		}
	}
	for _, a := range rest {
		if len(kept) >= max {
			break
		}
		kept = append(kept, a)
	}
	return kept, len(alerts) - len(kept)
}

func alertDoc(a *model.AlertState) alertData {
	d := alertData{
		Name:        capStr(a.Name(), MaxValueLen),
		Status:      capStr(a.Status, 20),
		Summary:     capStr(a.Annotations["summary"], MaxValueLen),
		Description: capStr(a.Annotations["description"], MaxValueLen),
		StartsAt:    fmtAt(a.StartsAt),
		Count:       a.Count,
		Flapping:    a.Flapping,
	}
	if d.Summary == d.Description {
		d.Description = ""
	}
	keys := make([]string, 0, len(a.Labels))
	for k := range a.Labels {
		if k != "alertname" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i >= MaxLabels {
			break
		}
		if d.Labels == nil {
			d.Labels = map[string]string{}
		}
		d.Labels[capStr(k, 64)] = capStr(a.Labels[k], MaxValueLen)
	}
	return d
}

// buildDoc assembles the data document of in.
func buildDoc(in Input, tax Taxonomy, notes string) dataDoc {
	inc := in.Incident
	d := dataDoc{
		Incident: incData{
			ID:         capStr(inc.ID, 100),
			Title:      capStr(inc.Title, MaxValueLen),
			Status:     capStr(inc.Status, 20),
			Severity:   capStr(inc.Severity, 50),
			OpenedAt:   fmtAt(inc.OpenedAt),
			ResolvedAt: fmtAt(inc.ResolvedAt),
			RootCause:  rcData{Service: capStr(inc.RootCause.Service, MaxValueLen)},
			AlertCount: inc.AlertCount,
			Notes:      capStr(inc.Notes, MaxValueLen),
		},
		Taxonomy: taxData{Teams: tax.Teams, Categories: tax.Categories, Priorities: Priorities},
	}
	if d.Incident.AlertCount < len(in.Alerts) {
		d.Incident.AlertCount = len(in.Alerts)
	}
	for i, s := range inc.Services {
		if i >= MaxMembers {
			break
		}
		d.Incident.Services = append(d.Incident.Services, capStr(s, MaxValueLen))
	}
	for i, e := range inc.RootCause.Evidence {
		if i >= MaxEvidence {
			break
		}
		d.Incident.RootCause.Evidence = append(d.Incident.RootCause.Evidence, capStr(e, MaxValueLen))
	}
	for i, m := range inc.Members {
		if i >= MaxMembers {
			d.Incident.MembersOmitted = len(inc.Members) - MaxMembers
			break
		}
		d.Incident.Members = append(d.Incident.Members, memberData{
			Alert:   capStr(m.Name, MaxValueLen),
			Service: capStr(m.Service, MaxValueLen),
			Reason:  capStr(m.Reason.Kind, 50),
			Detail:  capStr(m.Reason.Detail, MaxValueLen),
			Score:   m.Reason.Score,
			Via:     capStr(m.Reason.Via, MaxValueLen),
		})
	}
	kept, omitted := selectAlerts(inc, in.Alerts, MaxAlerts)
	d.Alerts = make([]alertData, 0, len(kept))
	for _, a := range kept {
		d.Alerts = append(d.Alerts, alertDoc(a))
	}
	d.AlertsOmitted = omitted
	for i, n := range in.Neighbors {
		if i >= MaxNeighbors {
			break
		}
		d.Similar = append(d.Similar, neighborData{
			ID: capStr(n.ID, 100), Title: capStr(n.Title, MaxValueLen), Similarity: n.Score,
			Team: capStr(n.Team, 100), Category: capStr(n.Category, 100), Resolution: capStr(n.Resolution, MaxValueLen),
		})
	}
	for i, a := range in.Articles {
		if i >= MaxArticles {
			break
		}
		d.Articles = append(d.Articles, articleData{ID: capStr(a.ID, 200), Title: capStr(a.Title, MaxValueLen)})
	}
	cur := in.Current
	if isZeroClass(cur) && inc.Class != nil {
		cur = *inc.Class
	}
	if !isZeroClass(cur) {
		d.Current = &classData{Team: capStr(cur.Team, 100), Category: capStr(cur.Category, 100), Priority: capStr(cur.Priority, 20), Confidence: cur.Confidence}
		for i, s := range cur.Sources {
			if i >= 10 {
				break
			}
			d.Current.Sources = append(d.Current.Sources, capStr(s, 200))
		}
	}
	d.ResolutionNotes = capText(notes, MaxNotesLen, true)
	return d
}

func isZeroClass(c model.Classification) bool {
	return c.Team == "" && c.Category == "" && c.Priority == "" && c.Confidence == 0 && len(c.Sources) == 0
}

// encodeDoc renders d as compact JSON that cannot close the fenced block
// it is put in: backticks are written as the JSON escape \u0060 (and the
// block's markers are escaped likewise), and encoding/json already escapes
// control characters, so the document is one line with no backtick. It drops alerts, then join explanations, from
// the end while the document is larger than maxDataBytes.
func encodeDoc(d dataDoc) string {
	for {
		s := marshalDoc(d)
		if len(s) <= maxDataBytes {
			return s
		}
		switch {
		case len(d.Alerts) > 1:
			n := len(d.Alerts) / 4
			if n < 1 {
				n = 1
			}
			d.Alerts = d.Alerts[:len(d.Alerts)-n]
			d.AlertsOmitted += n
		case len(d.Incident.Members) > 1:
			n := len(d.Incident.Members) / 4
			if n < 1 {
				n = 1
			}
			d.Incident.Members = d.Incident.Members[:len(d.Incident.Members)-n]
			d.Incident.MembersOmitted += n
		case len(d.Similar) > 1:
			d.Similar = d.Similar[:len(d.Similar)-1]
		default:
			return s // bounded anyway by the per-value caps
		}
	}
}

func marshalDoc(d dataDoc) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil { // cannot happen: strings, numbers, maps of strings
		return "{}"
	}
	return docEscaper.Replace(strings.TrimSpace(buf.String()))
}

// docEscaper rewrites, with JSON escapes that decode to the same text,
// what could end the data block early: backticks (the fence) and the
// block's markers.
var docEscaper = strings.NewReplacer(
	"`", `\u0060`,
	"BEGIN INCIDENT DATA", `BEGIN INCIDENT DAT\u0041`,
	"END INCIDENT DATA", `END INCIDENT DAT\u0041`,
)
