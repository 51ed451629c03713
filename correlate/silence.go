package correlate

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Silences, as in Alertmanager: an alert that starts firing while an
// active silence matches it is held (stored, shown as suppressed) and
// opens or joins no incident. When the last silence that held it ends
// (expires on the event clock or is expired by an operator) and the alert
// still fires, it is correlated then, as if it had just started. Alerts
// already in an incident when a silence starts stay there: the silence
// only shows them as suppressed.
//
// Silences are journaled actions, so replay holds and releases the same
// alerts at the same event times.

// silenceRetention is how long an expired silence is kept (Alertmanager's
// default data retention).
const silenceRetention = 5 * 24 * time.Hour

type silenceRec struct {
	s  model.Silence
	ms []*model.Matcher
}

// silenceIndex finds the silences that may match a label set without
// trying them all: a silence with an equality matcher is found under
// that label pair, the others are tried every time.
type silenceIndex struct {
	byID map[string]*silenceRec
	byEq map[string][]*silenceRec // name "\xff" value
	scan []*silenceRec
}

func eqKey(name, value string) string { return name + "\xff" + value }

func (x *silenceIndex) put(r *silenceRec) {
	if x.byID == nil {
		x.byID = map[string]*silenceRec{}
		x.byEq = map[string][]*silenceRec{}
	}
	x.remove(r.s.ID)
	x.byID[r.s.ID] = r
	for _, m := range r.ms {
		if m.Type == model.MatchEqual && m.Value != "" {
			k := eqKey(m.Name, m.Value)
			x.byEq[k] = append(x.byEq[k], r)
			return
		}
	}
	x.scan = append(x.scan, r)
}

func (x *silenceIndex) remove(id string) {
	r := x.byID[id]
	if r == nil {
		return
	}
	delete(x.byID, id)
	for _, m := range r.ms {
		if m.Type == model.MatchEqual && m.Value != "" {
			k := eqKey(m.Name, m.Value)
			x.byEq[k] = slices.DeleteFunc(x.byEq[k], func(o *silenceRec) bool { return o == r })
			if len(x.byEq[k]) == 0 {
				delete(x.byEq, k)
			}
			return
		}
	}
	x.scan = slices.DeleteFunc(x.scan, func(o *silenceRec) bool { return o == r })
}

// match returns the ids of the silences active at t that match ls, sorted.
func (x *silenceIndex) match(ls labelSet, t time.Time) []string {
	if len(x.byID) == 0 {
		return nil
	}
	var out []string
	try := func(r *silenceRec) {
		if r.s.State(t) != model.SilenceActive {
			return
		}
		if ls.matches(r.ms) {
			out = append(out, r.s.ID)
		}
	}
	if len(x.byEq) > 0 {
		for i := 0; ; {
			n, v, j := ls.next(i)
			if j < 0 {
				break
			}
			for _, r := range x.byEq[eqKey(n, v)] {
				try(r)
			}
			i = j
		}
	}
	for _, r := range x.scan {
		try(r)
	}
	if len(out) > 1 {
		sort.Strings(out)
		out = slices.Compact(out)
	}
	return out
}

// SilencedBy returns the ids of the silences that mute ls at t.
func (e *Engine) SilencedBy(ls model.LabelSet, t time.Time) []string {
	return e.sil.match(packLabels(ls), t)
}

// Silences returns the silences held (active, pending and recently
// expired), in Alertmanager's order: active by end, pending by start,
// expired most recent first.
func (e *Engine) Silences() []model.Silence {
	out := make([]model.Silence, 0, len(e.sil.byID))
	for _, r := range e.sil.byID {
		s := r.s
		s.Matchers = slices.Clone(s.Matchers)
		out = append(out, s)
	}
	rank := map[string]int{model.SilenceActive: 0, model.SilencePending: 1, model.SilenceExpired: 2}
	now := e.now
	sort.Slice(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		ra, rb := rank[a.State(now)], rank[b.State(now)]
		if ra != rb {
			return ra < rb
		}
		switch ra {
		case 0:
			if !a.EndsAt.Equal(b.EndsAt) {
				return a.EndsAt.Before(b.EndsAt)
			}
		case 1:
			if !a.StartsAt.Equal(b.StartsAt) {
				return a.StartsAt.Before(b.StartsAt)
			}
		default:
			if !a.EndsAt.Equal(b.EndsAt) {
				return a.EndsAt.After(b.EndsAt)
			}
		}
		return a.ID < b.ID
	})
	return out
}

// Silence returns the silence with id, or nil.
func (e *Engine) Silence(id string) *model.Silence {
	r := e.sil.byID[id]
	if r == nil {
		return nil
	}
	s := r.s
	s.Matchers = slices.Clone(s.Matchers)
	return &s
}

// checkSilence validates a silence action before it is journaled.
func (e *Engine) checkSilence(a *model.Action) error {
	switch a.Kind {
	case model.ActionSilence:
		if a.Silence == nil {
			return fmt.Errorf("silence: missing")
		}
		if a.Silence.ID == "" {
			return fmt.Errorf("silence: id missing")
		}
		return a.Silence.Validate()
	case model.ActionExpireSilence:
		r := e.sil.byID[a.Value]
		if r == nil {
			return model.ErrSilenceNotFound{ID: a.Value}
		}
		if r.s.State(a.At) == model.SilenceExpired {
			return fmt.Errorf("silence %s already expired", a.Value)
		}
	}
	return nil
}

// applySilence creates, updates or expires a silence at the event time at.
func (e *Engine) applySilence(a *model.Action, at time.Time) error {
	switch a.Kind {
	case model.ActionSilence:
		s := *a.Silence
		s.Matchers = slices.Clone(s.Matchers)
		ms, err := s.Compile()
		if err != nil {
			return err
		}
		if s.UpdatedAt.IsZero() {
			s.UpdatedAt = at
		}
		e.sil.put(&silenceRec{s: s, ms: ms})
		e.stats.Silences++
	case model.ActionExpireSilence:
		r := e.sil.byID[a.Value]
		if r == nil {
			return model.ErrSilenceNotFound{ID: a.Value}
		}
		s := r.s
		if s.State(at) == model.SilenceExpired {
			return nil
		}
		if at.Before(s.StartsAt) {
			s.StartsAt = at // a pending silence expires without ever starting
		}
		s.EndsAt = at
		s.UpdatedAt = at
		e.sil.put(&silenceRec{s: s, ms: r.ms})
	}
	// Ended (or narrowed) silences may release what they held.
	e.releaseHeld(at)
	e.silNext = e.silenceEndAfter(at)
	return nil
}

// holdIfSilenced holds a firing alert that an active silence mutes.
func (e *Engine) holdIfSilenced(rec *alertRec, at time.Time) bool {
	if len(e.sil.byID) == 0 {
		return false
	}
	if len(e.sil.match(rec.alert.Labels, at)) == 0 {
		return false
	}
	rec.held = true
	if e.held == nil {
		e.held = map[model.Fingerprint]*alertRec{}
	}
	e.held[rec.fp] = rec
	e.stats.Silenced++
	return true
}

// releaseHeld correlates the held alerts that no silence mutes at t any
// more (in fingerprint order: replay releases them in the same order).
func (e *Engine) releaseHeld(t time.Time) {
	if len(e.held) == 0 {
		return
	}
	var free []*alertRec
	for fp, rec := range e.held {
		if !rec.firing {
			delete(e.held, fp)
			rec.held = false
			continue
		}
		if len(e.sil.match(rec.alert.Labels, t)) == 0 {
			free = append(free, rec)
		}
	}
	sort.Slice(free, func(i, j int) bool { return free[i].fp < free[j].fp })
	for _, rec := range free {
		delete(e.held, rec.fp)
		rec.held = false
		e.place(rec, t, t, nil, model.Reason{}, nil, false)
	}
}

// silenceEndAfter is the earliest end of a silence after t, or zero.
// e.silNext keeps it for the engine's clock (it changes only when a
// silence does or the clock passes it), so that a batch does not go
// through every silence.
func (e *Engine) silenceEndAfter(t time.Time) time.Time {
	var next time.Time
	for _, r := range e.sil.byID {
		if r.s.EndsAt.After(t) && (next.IsZero() || r.s.EndsAt.Before(next)) {
			next = r.s.EndsAt
		}
	}
	return next
}

// nextSilenceEnd is the earliest end of a silence after the clock while
// alerts are held (when Advance must release them), or zero.
func (e *Engine) nextSilenceEnd() time.Time {
	if len(e.held) == 0 {
		return time.Time{}
	}
	return e.silNext
}

// advanceSilences releases held alerts whose silences ended by t.
func (e *Engine) advanceSilences(t time.Time) {
	if e.silNext.IsZero() || e.silNext.After(t) {
		return
	}
	e.releaseHeld(t)
	e.silNext = e.silenceEndAfter(t)
}

// gcSilences forgets silences expired for longer than the retention.
func (e *Engine) gcSilences() {
	for id, r := range e.sil.byID {
		if r.s.EndsAt.Before(e.now.Add(-silenceRetention)) {
			e.sil.remove(id)
		}
	}
}
