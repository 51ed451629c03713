package correlate

import (
	"container/heap"
	"fmt"
	"time"

	"github.com/sift-aiops/sift/model"
)

// SLAPolicy gives the SLA targets of an incident with a priority, a team
// and services (root-cause service first); ok is false when no policy
// applies.
type SLAPolicy interface {
	Targets(priority, team string, services []string) (t model.SLATargets, ok bool)
}

// SetSLA sets the policy that starts incidents' SLA clocks (nil: none).
// It is configuration, like the topology: a replay under the same policy
// gives the same breaches.
func (e *Engine) SetSLA(p SLAPolicy) { e.slaPolicy = p }

// slaItem is a deadline of an incident's SLA.
type slaItem struct {
	at   time.Time
	inc  *incident
	kind string
}

type slaHeap []slaItem

func (h slaHeap) Len() int { return len(h) }
func (h slaHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	if h[i].inc.seq != h[j].inc.seq {
		return h[i].inc.seq < h[j].inc.seq
	}
	return h[i].kind < h[j].kind
}
func (h slaHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *slaHeap) Push(x any)   { *h = append(*h, x.(slaItem)) }
func (h *slaHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	old[len(old)-1] = slaItem{}
	*h = old[:len(old)-1]
	return x
}

// checkPrioritize validates the classifier's priority for an incident.
func checkPrioritize(a *model.Action) error {
	if a.Class == nil || a.Class.Priority == "" {
		return fmt.Errorf("prioritize: classification with a priority missing")
	}
	return nil
}

// applyPriority sets the priority (and team) that choose inc's SLA policy
// and (re)starts its clocks from the opening time. Breaches already
// recorded stay.
func (e *Engine) applyPriority(inc *incident, priority, team string) bool {
	if priority == "" {
		return false
	}
	sla := inc.SLA
	if sla == nil {
		sla = &model.SLA{}
	} else if sla.Priority == priority && sla.Team == team {
		return false
	}
	c := *sla
	c.Priority, c.Team = priority, team
	c.Policy, c.RespondBy, c.ResolveBy = "", time.Time{}, time.Time{}
	if e.slaPolicy != nil {
		svcs := make([]string, 0, len(inc.Services)+1)
		if inc.RootCause.Service != "" {
			svcs = append(svcs, inc.RootCause.Service)
		}
		svcs = append(svcs, inc.Services...)
		if t, ok := e.slaPolicy.Targets(priority, team, svcs); ok {
			c.Policy = t.Policy
			if t.Respond > 0 {
				c.RespondBy = inc.OpenedAt.Add(t.Respond)
			}
			if t.Resolve > 0 {
				c.ResolveBy = inc.OpenedAt.Add(t.Resolve)
			}
		}
	}
	c.Breaches = append([]string(nil), sla.Breaches...)
	inc.SLA = &c
	e.queueSLA(inc)
	return true
}

// queueSLA queues the pending deadlines of inc (stale entries are skipped
// when they come due).
func (e *Engine) queueSLA(inc *incident) {
	s := inc.SLA
	if s == nil || inc.Status == model.IncidentResolved {
		return
	}
	if !s.RespondBy.IsZero() && s.RespondedAt.IsZero() && !s.Has(model.SLARespond) {
		heap.Push(&e.slaDue, slaItem{at: s.RespondBy, inc: inc, kind: model.SLARespond})
	}
	if !s.ResolveBy.IsZero() && !s.Has(model.SLAResolve) {
		heap.Push(&e.slaDue, slaItem{at: s.ResolveBy, inc: inc, kind: model.SLAResolve})
	}
}

// slaDueBy reports whether an SLA deadline passes by t.
func (e *Engine) slaDueBy(t time.Time) bool {
	return len(e.slaDue) > 0 && !e.slaDue[0].at.After(t)
}

// advanceSLA records the breaches whose deadline passed by t.
func (e *Engine) advanceSLA(t time.Time) {
	for len(e.slaDue) > 0 && !e.slaDue[0].at.After(t) {
		x := heap.Pop(&e.slaDue).(slaItem)
		inc, s := x.inc, x.inc.SLA
		if e.incs[inc.ID] != inc || s == nil || inc.Status == model.IncidentResolved || s.Has(x.kind) {
			continue
		}
		var why string
		switch x.kind {
		case model.SLARespond:
			if !s.RespondBy.Equal(x.at) || !s.RespondedAt.IsZero() {
				continue
			}
			why = fmt.Sprintf("response target missed: nobody acknowledged by %s (policy %s, %s after opening)",
				s.RespondBy.UTC().Format(time.RFC3339), s.Policy, s.RespondBy.Sub(inc.OpenedAt))
		case model.SLAResolve:
			if !s.ResolveBy.Equal(x.at) {
				continue
			}
			why = fmt.Sprintf("resolution target missed: not resolved by %s (policy %s, %s after opening)",
				s.ResolveBy.UTC().Format(time.RFC3339), s.Policy, s.ResolveBy.Sub(inc.OpenedAt))
		}
		c := *s
		c.Breaches = append(append([]string(nil), s.Breaches...), x.kind)
		c.Breached = true
		inc.SLA = &c
		at := x.at
		if at.Before(e.now) {
			at = e.now
		}
		e.stats.SLABreaches++
		e.timeline(inc, at, "sla_breached", why)
		inc.UpdatedAt = maxTime(inc.UpdatedAt, at)
		e.eventDetail(model.EventSLABreached, x.kind, inc, at)
	}
}

// slaResponded stops the response clock of inc at t.
func slaResponded(inc *incident, t time.Time) {
	if s := inc.SLA; s != nil && s.RespondedAt.IsZero() {
		c := *s
		c.RespondedAt = t
		inc.SLA = &c
	}
}

// slaResolved stops (zero t: restarts) the resolution clock of inc.
func (e *Engine) slaResolved(inc *incident, t time.Time) {
	if s := inc.SLA; s != nil {
		c := *s
		c.ResolvedAt = t
		inc.SLA = &c
		if t.IsZero() {
			e.queueSLA(inc) // reopened: the clocks run again
		}
	}
}
