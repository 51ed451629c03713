// Package tickets serves the incident and problem lifecycle to the agents
// who work them: listing, details with the explanation of every
// correlation decision, and the ITIL actions (acknowledge, assign,
// resolve).
package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/internal/auth"
	"github.com/sift-aiops/sift/internal/httpjson"
	"github.com/sift-aiops/sift/model"
)

// State is what the API needs from the pipeline.
type State interface {
	View(fn func(e *correlate.Engine))
	Act(ctx context.Context, a model.Action) (*model.Incident, error)
}

// API serves /api/v1/incidents and /api/v1/problems.
type API struct {
	st State
	// Enrich, if set, adds fields (classification, articles...) to an
	// incident detail response.
	Enrich func(inc *model.Incident, alerts []model.AlertState, out map[string]any)
}

// New returns the API over st.
func New(st State) *API { return &API{st: st} }

// Register adds the routes to mux.
func (a *API) Register(mux httpjson.Mux) {
	mux.HandleFunc("GET /api/v1/incidents", a.list)
	mux.HandleFunc("GET /api/v1/incidents/{id}", a.get)
	mux.HandleFunc("GET /api/v1/incidents/{id}/explain", a.explain)
	mux.HandleFunc("POST /api/v1/incidents/{id}/{action}", a.act)
	mux.HandleFunc("GET /api/v1/problems", a.problems)
	mux.HandleFunc("GET /api/v1/problems/{id}", a.problem)
	mux.HandleFunc("GET /api/v1/alertnames", a.alertNames)
}

// alertNames serves what correlation has learned about each alert name:
// how often it had company, whether it is background noise now.
// ?noise=true (or false) keeps only those that are (or are not).
func (a *API) alertNames(w http.ResponseWriter, r *http.Request) {
	var only *bool
	if v := r.URL.Query().Get("noise"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			WriteError(w, http.StatusBadRequest, "noise", fmt.Sprintf("noise: want true or false, got %q", v))
			return
		}
		only = &b
	}
	var names []correlate.AlertName
	a.st.View(func(e *correlate.Engine) { names = e.AlertNames() })
	out := names[:0]
	for _, n := range names {
		if only == nil || n.Noise == *only {
			out = append(out, n)
		}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"alertnames": out})
}

// WriteJSON writes v as indented JSON with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) { httpjson.WriteIndented(w, code, v) }

// WriteError writes {"error": msg, "field": field} with code.
func WriteError(w http.ResponseWriter, code int, field, msg string) {
	WriteJSON(w, code, httpjson.ErrorBody{Error: msg, Field: field})
}

// Summary is the list view of an incident.
type Summary struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Status     string     `json:"status"`
	Severity   string     `json:"severity,omitempty"`
	RootCause  string     `json:"rootCause"`
	Services   []string   `json:"services"`
	Alerts     int        `json:"alerts"`
	OpenedAt   time.Time  `json:"openedAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	ResolvedAt time.Time  `json:"resolvedAt,omitzero"`
	Problem    string     `json:"problem,omitempty"`
	Assignee   string     `json:"assignee,omitempty"`
	Team       string     `json:"team,omitempty"`
	Priority   string     `json:"priority,omitempty"`
	SLA        *model.SLA `json:"sla,omitempty"`
}

// Summarize returns the list view of inc.
func Summarize(inc *model.Incident) Summary {
	s := Summary{ID: inc.ID, Title: inc.Title, Status: inc.Status, Severity: inc.Severity, RootCause: inc.RootCause.Service,
		Services: inc.Services, Alerts: len(inc.Members), OpenedAt: inc.OpenedAt, UpdatedAt: inc.UpdatedAt,
		ResolvedAt: inc.ResolvedAt, Problem: inc.Problem, Assignee: inc.Assignee, SLA: inc.SLA}
	if s.Services == nil {
		s.Services = []string{}
	}
	if inc.Class != nil {
		s.Team, s.Priority = inc.Class.Team, inc.Class.Priority
	}
	return s
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := correlate.Filter{Status: q.Get("status"), Service: q.Get("service"), Problem: q.Get("problem"),
		Team: q.Get("team"), Priority: q.Get("priority"), Limit: 100}
	switch f.Status {
	case "", model.IncidentOpen, model.IncidentAcknowledged, model.IncidentResolved:
	default:
		WriteError(w, http.StatusBadRequest, "status", fmt.Sprintf("status: %q is not one of open, acknowledged, resolved", f.Status))
		return
	}
	if s := q.Get("since"); s != "" {
		t, err := parseSince(s, time.Now())
		if err != nil {
			WriteError(w, http.StatusBadRequest, "since", "since: "+err.Error())
			return
		}
		f.Since = t
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &f.Limit, 10000}, {"offset", &f.Offset, 1 << 30}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > p.max {
				WriteError(w, http.StatusBadRequest, p.name, fmt.Sprintf("%s: %q is not an integer between 0 and %d", p.name, s, p.max))
				return
			}
			*p.dst = n
		}
	}
	var incs []*model.Incident
	var total int
	a.st.View(func(e *correlate.Engine) { incs, total = e.Incidents(f) })
	out := make([]Summary, 0, len(incs))
	for _, inc := range incs {
		out = append(out, Summarize(inc))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"incidents": out, "total": total, "offset": f.Offset, "limit": f.Limit})
}

// parseSince accepts RFC 3339 or a duration back from now ("1h", "7d").
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := correlate.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration like 1h or 7d", s)
}

// Explanation is why one alert is in the incident.
type Explanation struct {
	Fingerprint string    `json:"fingerprint"`
	Alertname   string    `json:"alertname"`
	Service     string    `json:"service,omitempty"`
	JoinedAt    time.Time `json:"joinedAt"`
	Kind        string    `json:"kind"`
	Score       float64   `json:"score"`
	Reason      string    `json:"reason"`
}

// Explain lists the join reason of every member.
func Explain(inc *model.Incident) []Explanation {
	out := make([]Explanation, 0, len(inc.Members))
	for _, m := range inc.Members {
		out = append(out, Explanation{Fingerprint: m.Fingerprint.String(), Alertname: m.Name, Service: m.Service,
			JoinedAt: m.JoinedAt, Kind: m.Reason.Kind, Score: m.Reason.Score, Reason: m.Reason.Detail})
	}
	return out
}

func (a *API) load(id string) *model.Incident {
	var inc *model.Incident
	a.st.View(func(e *correlate.Engine) { inc = e.Incident(id) })
	return inc
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	limit, offset := DefaultAlertsLimit, 0
	var badField, badMsg string // reported after a missing incident's 404
	q := r.URL.Query()
	if s := q.Get("alerts_limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxAlertsLimit {
			badField, badMsg = "alerts_limit", fmt.Sprintf("alerts_limit %q: a whole number from 1 to %d", s, MaxAlertsLimit)
		}
		limit = n
	}
	if s := q.Get("alerts_cursor"); s != "" && badField == "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			badField, badMsg = "alerts_cursor", fmt.Sprintf("alerts_cursor %q: use the nextCursor of the previous page", s)
		}
		offset = n
	}
	// The classification and the runbooks look at a bounded sample of the
	// alerts (the classifier puts the root cause's first), whatever page;
	// only the page's alerts and the sample are copied, and the summary
	// is counted in place: a 10,000-alert incident is never copied whole.
	// One view of the engine: the page, its alerts and the counts agree.
	var inc, pageInc *model.Incident
	var page AlertsPage
	var pageAlerts, sample []model.AlertState
	var counts correlate.AlertCounts
	a.st.View(func(e *correlate.Engine) {
		if inc = e.Incident(r.PathValue("id")); inc == nil || badField != "" {
			return
		}
		pageInc, page = pageIncident(inc, offset, limit)
		fps := make([]model.Fingerprint, len(pageInc.Members))
		for i, m := range pageInc.Members {
			fps[i] = m.Fingerprint
		}
		pageAlerts = e.IncidentAlertsOf(inc.ID, fps)
		counts = e.IncidentAlertCounts(inc.ID)
		if a.Enrich != nil {
			sample = e.IncidentAlertsN(inc.ID, MaxAlertsLimit)
		}
	})
	if inc == nil {
		WriteError(w, http.StatusNotFound, "id", fmt.Sprintf("incident %q not found", r.PathValue("id")))
		return
	}
	if badField != "" {
		WriteError(w, http.StatusBadRequest, badField, badMsg)
		return
	}
	out := map[string]any{"incident": pageInc, "alerts": pageAlerts, "explain": Explain(pageInc), "rootCause": inc.RootCause,
		"alertsPage": page, "alertsSummary": summarize(inc, counts)}
	if a.Enrich != nil {
		a.Enrich(inc, sample, out)
		out["incident"] = pageInc
	}
	WriteJSON(w, http.StatusOK, out)
}

// Paging of an incident's alerts in its detail: a storm incident can hold
// hundreds of thousands.
const (
	DefaultAlertsLimit = 100
	MaxAlertsLimit     = 1000
)

// AlertsPage says which of an incident's members a detail holds.
type AlertsPage struct {
	Limit      int    `json:"limit"`
	Cursor     string `json:"cursor"`
	NextCursor string `json:"nextCursor,omitempty"` // absent on the last page
	Total      int    `json:"total"`
}

// AlertsSummary counts all of an incident's alerts, whatever the page.
type AlertsSummary struct {
	Total       int            `json:"total"`
	Firing      int            `json:"firing"`
	Resolved    int            `json:"resolved"`
	ByAlertname map[string]int `json:"byAlertname"` // the 20 most frequent
	ByService   map[string]int `json:"byService"`   // the 20 most frequent
	Omitted     int            `json:"omitted,omitempty"`
}

// pageIncident returns inc with only the members of the page, their alert
// states, and the page.
func pageIncident(inc *model.Incident, offset, limit int) (*model.Incident, AlertsPage) {
	total := len(inc.Members)
	page := AlertsPage{Limit: limit, Cursor: strconv.Itoa(offset), Total: total}
	lo, hi := min(offset, total), min(offset+limit, total)
	if hi < total {
		page.NextCursor = strconv.Itoa(hi)
	}
	c := *inc
	c.Members = inc.Members[lo:hi]
	return &c, page
}

func summarize(inc *model.Incident, c correlate.AlertCounts) AlertsSummary {
	s := AlertsSummary{Total: c.Total, Firing: c.Firing, Resolved: c.Resolved, ByAlertname: map[string]int{}, ByService: map[string]int{}}
	names, svcs := c.ByName, map[string]int{}
	for _, m := range inc.Members {
		if m.Service != "" {
			svcs[m.Service]++
		}
	}
	top := func(m map[string]int, into map[string]int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
		for i, k := range keys {
			if i >= 20 {
				s.Omitted++
				continue
			}
			into[k] = m[k]
		}
	}
	top(names, s.ByAlertname)
	top(svcs, s.ByService)
	return s
}

func (a *API) explain(w http.ResponseWriter, r *http.Request) {
	inc := a.load(r.PathValue("id"))
	if inc == nil {
		WriteError(w, http.StatusNotFound, "id", fmt.Sprintf("incident %q not found", r.PathValue("id")))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": inc.ID, "rootCause": inc.RootCause, "members": Explain(inc)})
}

// ActionRequest is the body of POST /api/v1/incidents/{id}/{ack|assign|resolve|note}.
type ActionRequest struct {
	Actor    string `json:"actor"`
	Assignee string `json:"assignee"`
	Note     string `json:"note"`
}

func (a *API) act(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("action")
	switch kind {
	case model.ActionAck, model.ActionAssign, model.ActionResolve, model.ActionNote:
	case "acknowledge":
		kind = model.ActionAck
	default:
		WriteError(w, http.StatusNotFound, "action", fmt.Sprintf("unknown action %q (use ack, assign, resolve or note)", kind))
		return
	}
	var req ActionRequest
	if r.ContentLength != 0 {
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
			WriteError(w, http.StatusUnsupportedMediaType, "", fmt.Sprintf("content type %q: want application/json", ct))
			return
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
			WriteError(w, http.StatusBadRequest, "", "invalid JSON body: "+err.Error())
			return
		}
	}
	act := model.Action{Kind: kind, Incident: r.PathValue("id"), Actor: req.Actor, Token: auth.TokenName(r.Context())}
	switch kind {
	case model.ActionAssign:
		if strings.TrimSpace(req.Assignee) == "" {
			WriteError(w, http.StatusBadRequest, "assignee", "assignee: missing")
			return
		}
		act.Value = req.Assignee
	case model.ActionResolve:
		act.Value = req.Note
	case model.ActionNote:
		if strings.TrimSpace(req.Note) == "" {
			WriteError(w, http.StatusBadRequest, "note", "note: missing")
			return
		}
		act.Value = req.Note
	}
	inc, err := a.st.Act(r.Context(), act)
	if err != nil {
		WriteActError(w, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"incident": inc})
}

// WriteActError answers an action the pipeline refused: 404 for an
// unknown incident, 503 when the journal cannot store it now, 409 when the
// incident's state does not allow it.
func WriteActError(w http.ResponseWriter, err error) {
	var nf correlate.ErrNotFound
	switch {
	case errors.As(err, &nf):
		WriteError(w, http.StatusNotFound, "id", err.Error())
	case strings.HasPrefix(err.Error(), "journal:"):
		WriteError(w, http.StatusServiceUnavailable, "", err.Error())
	default:
		WriteError(w, http.StatusConflict, "", err.Error())
	}
}

func (a *API) problems(w http.ResponseWriter, r *http.Request) {
	var ps []*model.Problem
	a.st.View(func(e *correlate.Engine) { ps = e.Problems() })
	if ps == nil {
		ps = []*model.Problem{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"problems": ps})
}

func (a *API) problem(w http.ResponseWriter, r *http.Request) {
	var p *model.Problem
	var incs []Summary
	a.st.View(func(e *correlate.Engine) {
		p = e.Problem(r.PathValue("id"))
		if p != nil {
			for _, id := range p.Incidents {
				if inc := e.Incident(id); inc != nil {
					incs = append(incs, Summarize(inc))
				}
			}
		}
	})
	if p == nil {
		WriteError(w, http.StatusNotFound, "id", fmt.Sprintf("problem %q not found", r.PathValue("id")))
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"problem": p, "incidents": incs})
}
