package correlate

import (
	"slices"
	"time"

	"github.com/sift-aiops/sift/model"
)

// History: with EmitHistory on, the engine records every alert state change
// and every incident lifecycle event (uncapped, unlike the timeline) for the
// history stage. Like incident events they are a pure function of the
// journal: replaying the same records gives the same events.

type lifeRec struct {
	ev  model.LifecycleEvent
	inc *incident
}

// EmitHistory turns on the collection of history events (see DrainHistory).
func (e *Engine) EmitHistory(on bool) { e.hist = on }

// DrainHistory returns and forgets the history events collected so far.
// Each lifecycle event carries its incident's attributes as they are now.
func (e *Engine) DrainHistory() (alerts []model.AlertEvent, life []model.LifecycleEvent) {
	if len(e.histAlerts) == 0 && len(e.histLife) == 0 {
		return nil, nil
	}
	alerts = e.histAlerts
	e.histAlerts = nil
	if len(e.histLife) > 0 {
		life = make([]model.LifecycleEvent, len(e.histLife))
		var attrs map[*incident]*model.LifecycleEvent
		for i, lr := range e.histLife {
			ev := lr.ev
			inc := lr.inc
			if attrs == nil {
				attrs = map[*incident]*model.LifecycleEvent{}
			}
			a := attrs[inc]
			if a == nil {
				a = &model.LifecycleEvent{
					Services:   slices.Clone(inc.Services),
					RootCause:  inc.RootCause.Service,
					Signature:  inc.Signature,
					Problem:    inc.Problem,
					Title:      inc.Title,
					Severity:   inc.Severity,
					OpenedAt:   inc.OpenedAt,
					AlertCount: len(inc.members),
				}
				if inc.Class != nil {
					c := *inc.Class
					c.Sources = nil
					a.Class = &c
				}
				attrs[inc] = a
			}
			ev.Services, ev.RootCause, ev.Signature, ev.Problem = a.Services, a.RootCause, a.Signature, a.Problem
			ev.Title, ev.Severity, ev.OpenedAt, ev.AlertCount, ev.Class = a.Title, a.Severity, a.OpenedAt, a.AlertCount, a.Class
			life[i] = ev
		}
		clear(e.histLife)
		e.histLife = e.histLife[:0]
	}
	return alerts, life
}

// labelsOf returns rec's labels as a model.LabelSet: the set of the
// notification being applied if it is rec's (no copy), else a new one.
func (e *Engine) labelsOf(rec *alertRec) model.LabelSet {
	if e.cur != nil && e.curFP == rec.fp {
		return e.cur.Labels
	}
	return rec.alert.Labels.Map()
}

// histAlert records a state change of rec.
func (e *Engine) histAlert(rec *alertRec, kind string, at time.Time, notifications int) {
	if !e.hist {
		return
	}
	ev := model.AlertEvent{
		At:            at,
		Fingerprint:   rec.fp,
		Kind:          kind,
		Labels:        e.labelsOf(rec),
		StartsAt:      rec.episodeStart.Time(),
		Notifications: notifications,
		Flapping:      rec.flapping,
	}
	if rec.inc != nil && !rec.held && e.incs[rec.inc.ID] == rec.inc {
		ev.Incident = rec.inc.ID
	}
	e.histAlerts = append(e.histAlerts, ev)
}

// histLifecycle records an incident event; rec is the alert concerned, if any.
func (e *Engine) histLifecycle(inc *incident, at time.Time, event, detail, actor string, rec *alertRec) {
	if !e.hist {
		return
	}
	ev := model.LifecycleEvent{At: at, Incident: inc.ID, Event: event, Detail: detail, Actor: actor}
	if rec != nil {
		ev.Fingerprint = rec.fp
		ev.AlertName = rec.alert.Name()
	}
	e.histLife = append(e.histLife, lifeRec{ev: ev, inc: inc})
}
