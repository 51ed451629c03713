package correlate

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Changes (deploys, configuration and infrastructure changes) are
// journaled actions. A change made within change_window before an
// incident started (or a minute after: clocks differ) on its root-cause
// service, on a service the root cause depends on, or on another service
// of the incident is listed as root-cause evidence; among root-cause
// candidates that explain as much, one that changed wins.

// changeGrace is how long after an incident started a change still
// counts (the clocks of CI systems and Sift differ a little).
const changeGrace = time.Minute

// changeLog holds the changes of the retention period, by time.
type changeLog struct {
	byID  map[string]*model.Change
	order []*model.Change // sorted by At, then ID
}

func (l *changeLog) put(c model.Change) {
	if l.byID == nil {
		l.byID = map[string]*model.Change{}
	}
	if old := l.byID[c.ID]; old != nil {
		l.order = slices.DeleteFunc(l.order, func(o *model.Change) bool { return o == old })
	}
	p := &c
	l.byID[c.ID] = p
	i := sort.Search(len(l.order), func(i int) bool {
		o := l.order[i]
		return o.At.After(c.At) || o.At.Equal(c.At) && o.ID > c.ID
	})
	l.order = slices.Insert(l.order, i, p)
}

// between returns the changes with from <= At <= to, in time order.
func (l *changeLog) between(from, to time.Time) []*model.Change {
	i := sort.Search(len(l.order), func(i int) bool { return !l.order[i].At.Before(from) })
	j := sort.Search(len(l.order), func(j int) bool { return l.order[j].At.After(to) })
	if i >= j {
		return nil
	}
	return l.order[i:j]
}

func (e *Engine) checkChange(a *model.Action) error {
	if a.Change == nil {
		return fmt.Errorf("change: missing")
	}
	return a.Change.Validate()
}

// applyChange records a change (a resend with the same id replaces it) and
// gives the open incidents it may explain a new look at their root cause.
func (e *Engine) applyChange(a *model.Action, at time.Time) error {
	c := *a.Change
	e.changes.put(c)
	e.stats.Changes++
	w := time.Duration(e.cfg.ChangeWindow)
	for _, inc := range e.open {
		start := inc.agg.Earliest.Start
		if start.Before(c.At.Add(-changeGrace)) || start.After(c.At.Add(w)) {
			continue
		}
		before := len(inc.RootCause.Changes)
		inc.dirty = true
		e.refresh(inc, at)
		if len(inc.RootCause.Changes) != before {
			detail := fmt.Sprintf("%s on %s", c.Kind, c.Service)
			if c.Summary != "" {
				detail += ": " + c.Summary
			}
			if c.Author != "" {
				detail += " (by " + c.Author + ")"
			}
			e.timeline(inc, at, "change", detail)
			inc.UpdatedAt = at
			e.event(model.EventUpdated, inc, at)
		}
	}
	return nil
}

// changed reports whether svc changed in the window before start.
func (e *Engine) changed(svc string, start time.Time) bool {
	for _, c := range e.changes.between(start.Add(-time.Duration(e.cfg.ChangeWindow)), start.Add(changeGrace)) {
		if c.Service == svc {
			return true
		}
	}
	return false
}

// causalChanges lists the changes that may explain an incident started at
// start whose root cause is root (a service, or "label:value" for
// infrastructure), with evidence sentences.
func (e *Engine) causalChanges(inc *incident, root string, start time.Time) ([]model.CausalChange, []string) {
	cs := e.changes.between(start.Add(-time.Duration(e.cfg.ChangeWindow)), start.Add(changeGrace))
	if len(cs) == 0 {
		return nil, nil
	}
	infraValue := ""
	if i := strings.IndexByte(root, ':'); i > 0 {
		infraValue = root[i+1:]
	}
	var out []model.CausalChange
	var ev []string
	for i := len(cs) - 1; i >= 0; i-- { // most recent first
		c := cs[i]
		_, dependency := e.full.dependsOn(root, c.Service)
		var relation, why string
		switch {
		case c.Service == root || infraValue != "" && c.Service == infraValue:
			relation, why = "root", "on the root-cause service"
		case root != "" && infraValue == "" && dependency:
			relation, why = "dependency", "on "+c.Service+", which "+root+" depends on"
		case inc.agg.Svc[c.Service].Start != (time.Time{}):
			relation, why = "member", "on "+c.Service+", also alerting in this incident"
		default:
			continue
		}
		before := start.Sub(c.At)
		out = append(out, model.CausalChange{Change: *c, Relation: relation, Before: before.Seconds()})
		s := fmt.Sprintf("%s %s %s the incident started", c.Kind, why, rel(-before))
		if c.Summary != "" {
			s += ": " + c.Summary
		}
		if c.Author != "" {
			s += " (by " + c.Author + ")"
		}
		ev = append(ev, s)
	}
	return out, ev
}

// Changes returns the changes on service (all services if "") made at or
// after since, newest first, at most limit (0: all).
func (e *Engine) Changes(service string, since time.Time, limit int) []model.Change {
	var out []model.Change
	for i := len(e.changes.order) - 1; i >= 0; i-- {
		c := e.changes.order[i]
		if c.At.Before(since) {
			break
		}
		if service != "" && c.Service != service {
			continue
		}
		out = append(out, *c)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// gcChanges forgets changes older than the retention.
func (e *Engine) gcChanges() {
	cutoff := e.now.Add(-time.Duration(e.cfg.Retention))
	n := 0
	for n < len(e.changes.order) && e.changes.order[n].At.Before(cutoff) {
		delete(e.changes.byID, e.changes.order[n].ID)
		n++
	}
	if n > 0 {
		e.changes.order = slices.Delete(e.changes.order, 0, n)
	}
}
