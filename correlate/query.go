package correlate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// export returns a deep copy of inc safe to hand out.
func (e *Engine) export(inc *incident) *model.Incident { return e.exportCapped(inc, -1) }

// exportCapped is export with at most max members (the first ones; -1: all).
func (e *Engine) exportCapped(inc *incident, max int) *model.Incident {
	c := inc.Incident
	c.AlertCount = len(inc.members)
	members := inc.Members
	if max >= 0 && len(members) > max {
		members = members[:max]
	}
	c.Members = append([]model.Member(nil), members...)
	c.Timeline = append([]model.TimelineEntry(nil), inc.Timeline...)
	c.Services = append([]string(nil), inc.Services...)
	c.RootCause.Evidence = append([]string(nil), inc.RootCause.Evidence...)
	if inc.Class != nil {
		cl := *inc.Class
		cl.Sources = append([]string(nil), cl.Sources...)
		c.Class = &cl
	}
	if inc.Triage != nil {
		tr := *inc.Triage
		tr.NextSteps = append([]string(nil), tr.NextSteps...)
		c.Triage = &tr
	}
	return &c
}

// Incident returns a copy of the incident with id, or nil.
func (e *Engine) Incident(id string) *model.Incident {
	inc := e.incs[id]
	if inc == nil {
		return nil
	}
	return e.export(inc)
}

// IncidentAlerts returns the current state of the incident's alerts.
func (e *Engine) IncidentAlerts(id string) []model.AlertState { return e.IncidentAlertsN(id, -1) }

// IncidentAlertsN is IncidentAlerts with at most n alerts (n < 0: all),
// the first to join first: what looks at a sample of a large incident
// (classification, triage) does not copy all of it.
func (e *Engine) IncidentAlertsN(id string, n int) []model.AlertState {
	inc := e.incs[id]
	if inc == nil {
		return nil
	}
	size := len(inc.members)
	if n >= 0 && n < size {
		size = n
	}
	out := make([]model.AlertState, 0, size)
	seen := map[model.Fingerprint]bool{}
	for _, m := range inc.Members {
		if len(out) == size {
			break
		}
		if rec := inc.members[m.Fingerprint]; rec != nil && !seen[m.Fingerprint] {
			seen[m.Fingerprint] = true
			out = append(out, rec.state())
		}
	}
	return out
}

// AlertCounts counts an incident's distinct alerts, without copying them.
type AlertCounts struct {
	Total, Firing, Resolved int
	ByName                  map[string]int // by alert name
}

// IncidentAlertCounts counts the alerts of incident id (zero if unknown).
func (e *Engine) IncidentAlertCounts(id string) AlertCounts {
	c := AlertCounts{ByName: map[string]int{}}
	inc := e.incs[id]
	if inc == nil {
		return c
	}
	for _, rec := range inc.members {
		c.Total++
		if rec.firing {
			c.Firing++
		} else {
			c.Resolved++
		}
		c.ByName[rec.alert.Name()]++
	}
	return c
}

// IncidentAlertsOf returns the states of the alerts of incident id among
// fps, in the order of fps (a page of its members).
func (e *Engine) IncidentAlertsOf(id string, fps []model.Fingerprint) []model.AlertState {
	inc := e.incs[id]
	if inc == nil {
		return nil
	}
	out := make([]model.AlertState, 0, len(fps))
	seen := make(map[model.Fingerprint]bool, len(fps))
	for _, fp := range fps {
		if rec := inc.members[fp]; rec != nil && !seen[fp] {
			seen[fp] = true
			out = append(out, rec.state())
		}
	}
	return out
}

func (rec *alertRec) state() model.AlertState {
	s := model.AlertState{
		Fingerprint: rec.fp,
		Alert:       rec.alert.model(),
		Status:      rec.statusName(),
		FirstSeen:   rec.firstSeen.Time(),
		LastSeen:    rec.lastSeen.Time(),
		Count:       int(rec.count),
		Flapping:    rec.flapping,
		ResolvedAt:  rec.resolvedAt.Time(),
	}
	if rec.inc != nil && !rec.held {
		s.Incident = rec.inc.ID
	}
	s.Held = rec.held
	return s
}

// Alerts returns the firing alerts, sorted by fingerprint.
func (e *Engine) Alerts() []model.AlertState {
	out := make([]model.AlertState, 0, len(e.alerts))
	for _, rec := range e.alerts {
		if rec.firing {
			out = append(out, e.firingState(rec))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fingerprint < out[j].Fingerprint })
	return out
}

// firingState is the state of a firing alert as Alerts lists it.
func (e *Engine) firingState(rec *alertRec) model.AlertState {
	st := rec.state()
	st.SilencedBy = e.sil.match(rec.alert.Labels, e.now)
	return st
}

// AlertCount returns the number of known and of firing alert identities.
func (e *Engine) AlertCount() (known, firing int) {
	for _, rec := range e.alerts {
		if rec.firing {
			firing++
		}
	}
	return len(e.alerts), firing
}

// Filter selects incidents.
type Filter struct {
	Status   string    // open (incl. acknowledged), acknowledged, resolved, or "" for all
	Service  string    // has an alert on this service
	Since    time.Time // updated at or after
	Problem  string
	Team     string // classified for this team
	Priority string // classified with this priority (P1...)
	Offset   int
	Limit    int // 0: no limit
}

// Incidents returns copies of the matching incidents, newest first, and
// the total number that matched before paging.
func (e *Engine) Incidents(f Filter) ([]*model.Incident, int) {
	var out []*model.Incident
	total := 0
	for i := len(e.order) - 1; i >= 0; i-- {
		inc := e.order[i]
		if e.incs[inc.ID] != inc {
			continue
		}
		switch f.Status {
		case "":
		case model.IncidentOpen:
			if inc.Status == model.IncidentResolved {
				continue
			}
		default:
			if inc.Status != f.Status {
				continue
			}
		}
		if f.Service != "" {
			if _, ok := inc.agg.Svc[f.Service]; !ok && inc.RootCause.Service != f.Service {
				continue
			}
		}
		if !f.Since.IsZero() && inc.UpdatedAt.Before(f.Since) {
			continue
		}
		if f.Problem != "" && inc.Problem != f.Problem {
			continue
		}
		if f.Team != "" && (inc.Class == nil || inc.Class.Team != f.Team) {
			continue
		}
		if f.Priority != "" && (inc.Class == nil || inc.Class.Priority != f.Priority) {
			continue
		}
		total++
		if total <= f.Offset || (f.Limit > 0 && len(out) >= f.Limit) {
			continue
		}
		out = append(out, e.export(inc))
	}
	return out, total
}

// All returns copies of every live incident in opening order.
func (e *Engine) All() []*model.Incident {
	out := make([]*model.Incident, 0, len(e.order))
	for _, inc := range e.order {
		if e.incs[inc.ID] == inc {
			out = append(out, e.export(inc))
		}
	}
	return out
}

// Problems returns copies of the problems, newest first.
func (e *Engine) Problems() []*model.Problem {
	out := make([]*model.Problem, 0, len(e.problems))
	for _, p := range e.problems {
		c := *p
		c.Incidents = append([]string(nil), p.Incidents...)
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].LastSeen.Equal(out[j].LastSeen) {
			return out[i].LastSeen.After(out[j].LastSeen)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// Problem returns a copy of one problem, or nil.
func (e *Engine) Problem(id string) *model.Problem {
	p := e.problems[id]
	if p == nil {
		return nil
	}
	c := *p
	c.Incidents = append([]string(nil), p.Incidents...)
	return &c
}

// ErrNotFound is returned for an action on an unknown incident.
type ErrNotFound struct{ ID string }

func (e ErrNotFound) Error() string { return fmt.Sprintf("incident %q not found", e.ID) }

// CheckAction reports whether an action would be accepted, without
// applying it, so an API can refuse it before journaling.
func (e *Engine) CheckAction(a *model.Action) error {
	switch a.Kind {
	case model.ActionSilence, model.ActionExpireSilence:
		return e.checkSilence(a)
	case model.ActionChange:
		return e.checkChange(a)
	case model.ActionTopology:
		return checkTopology(a)
	case model.ActionPrioritize:
		if err := checkPrioritize(a); err != nil {
			return err
		}
	}
	inc := e.incs[a.Incident]
	if inc == nil {
		return ErrNotFound{a.Incident}
	}
	switch a.Kind {
	case model.ActionAck:
		if inc.Status == model.IncidentResolved {
			return fmt.Errorf("incident %s is resolved; nothing to acknowledge", inc.ID)
		}
	case model.ActionAssign:
		if strings.TrimSpace(a.Value) == "" {
			return fmt.Errorf("assignee: missing")
		}
	case model.ActionResolve, model.ActionNote:
	case model.ActionClassify:
		if a.Class == nil {
			return fmt.Errorf("classification: missing")
		}
	case model.ActionTriage:
		if a.Triage == nil {
			return fmt.Errorf("triage: missing")
		}
	case model.ActionPrioritize:
	default:
		return fmt.Errorf("unknown action %q", a.Kind)
	}
	return nil
}

// ApplyAction applies an agent action journaled at a.At.
func (e *Engine) ApplyAction(a *model.Action) error {
	if err := e.CheckAction(a); err != nil {
		return err
	}
	at := a.At
	if at.Before(e.now) {
		at = e.now
	}
	e.Advance(at)
	switch a.Kind {
	case model.ActionSilence, model.ActionExpireSilence:
		return e.applySilence(a, at)
	case model.ActionChange:
		return e.applyChange(a, at)
	case model.ActionTopology:
		e.applyTopology(a)
		return nil
	}
	inc := e.incs[a.Incident]
	who := a.Actor
	if who == "" {
		who = "someone"
	}
	switch a.Kind {
	case model.ActionAck:
		if inc.Status == model.IncidentResolved {
			return nil // resolved meanwhile (expiry at this same instant)
		}
		inc.Status = model.IncidentAcknowledged
		slaResponded(inc, at)
		e.timelineActor(inc, at, "acknowledged", "", a)
		if inc.Assignee == "" {
			inc.Assignee = a.Actor
		}
	case model.ActionAssign:
		inc.Assignee = a.Value
		e.timelineActor(inc, at, "assigned", a.Value, a)
	case model.ActionNote:
		inc.Notes = strings.TrimSpace(inc.Notes + "\n" + a.Value)
		e.timelineActor(inc, at, "note", a.Value, a)
	case model.ActionClassify:
		c := *a.Class
		inc.Class = &c
		if c.Priority != "" {
			e.applyPriority(inc, c.Priority, c.Team)
		}
		e.timelineActor(inc, at, "classified", fmt.Sprintf("team=%s category=%s priority=%s by %s", c.Team, c.Category, c.Priority, who), a)
		e.event(model.EventClassified, inc, at)
		inc.UpdatedAt = at
		return nil
	case model.ActionTriage:
		tr := *a.Triage
		tr.NextSteps = append([]string(nil), tr.NextSteps...)
		inc.Triage = &tr
		detail, _ := json.Marshal(tr)
		e.timelineActor(inc, at, "triaged", string(detail), a)
	case model.ActionPrioritize:
		if inc.Class != nil && inc.Class.Priority != "" {
			return nil // an agent's decision wins
		}
		if !e.applyPriority(inc, a.Class.Priority, a.Class.Team) {
			return nil
		}
	case model.ActionResolve:
		if a.Value != "" {
			inc.Notes = strings.TrimSpace(inc.Notes + "\n" + a.Value)
		}
		if inc.Status != model.IncidentResolved {
			inc.Status = model.IncidentResolved
			inc.ResolvedAt = at
			slaResponded(inc, at)
			e.slaResolved(inc, at)
			inc.manual = true
			inc.firing = 0
			e.stats.IncidentsResolved++
			e.dropOpen(inc)
			e.timelineActor(inc, at, "resolved", "resolved by "+who+noteSuffix(a.Value), a)
			inc.UpdatedAt = at
			e.event(model.EventResolved, inc, at)
			return nil
		}
	}
	inc.UpdatedAt = at
	e.event(model.EventUpdated, inc, at)
	return nil
}

func noteSuffix(n string) string {
	if n == "" {
		return ""
	}
	return ": " + n
}

func (e *Engine) timelineActor(inc *incident, at time.Time, ev, detail string, a *model.Action) {
	e.histLifecycle(inc, at, ev, detail, a.Actor, nil)
	inc.Timeline = append(inc.Timeline, model.TimelineEntry{At: at, Event: ev, Detail: detail, Actor: a.Actor, Token: a.Token})
}

// Known returns the number of alert identities held.
func (e *Engine) Known() int { return len(e.alerts) }

// Knows reports whether the alert with fingerprint fp is held.
func (e *Engine) Knows(fp model.Fingerprint) bool {
	_, ok := e.alerts[fp]
	return ok
}
