package correlate

import (
	"fmt"
	"slices"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Attribution by recovery. When two faults that both explain a symptom
// start minutes apart, the time a symptom starts says little about which
// one caused it. The time it stops says much more: a caller's errors stop
// when the dependency that caused them recovers. So when a symptom
// resolves, the engine looks again a little later (half the window, once
// the faults' own alerts have had time to resolve too): if the root cause
// of its incident did not recover around that time, and the root cause
// of another incident that explains it did, the symptom moves there.

// recheck is a resolved symptom to look at again at due.
type recheck struct {
	fp       model.Fingerprint
	from     *incident
	resolved time.Time
	due      time.Time
}

// queueRecheck schedules a look at rec, which resolved at at in from.
func (e *Engine) queueRecheck(rec *alertRec, from *incident, at time.Time) {
	if !*e.cfg.MoveOnRecovery {
		return
	}
	if _, ok := e.movable(rec, from); !ok {
		return
	}
	r := recheck{fp: rec.fp, from: from, resolved: at, due: at.Add(time.Duration(e.cfg.Window) / 2)}
	i, _ := slices.BinarySearchFunc(e.rechecks, r, func(a, b recheck) int { return a.due.Compare(b.due) })
	e.rechecks = slices.Insert(e.rechecks, i, r)
}

// runRechecks handles the rechecks due by t.
func (e *Engine) runRechecks(t time.Time) {
	for len(e.rechecks) > 0 && !e.rechecks[0].due.After(t) {
		r := e.rechecks[0]
		e.rechecks = e.rechecks[1:]
		rec := e.alerts[r.fp]
		if rec == nil || rec.inc != r.from || e.incs[r.from.ID] != r.from || rec.firing || !rec.resolvedAt.Time().Equal(r.resolved) {
			continue // fired again, moved, merged or collected since
		}
		if to := e.recoveredWith(rec, r.from, r.resolved); to != nil {
			e.move(rec, r.from, to, r.due)
		}
	}
}

// movable reports whether rec is a symptom (on the root-cause service of
// from or on a caller) that joined from by topology, and since only came
// back to it while it was open: a member that opened the incident, or
// joined it for another reason, stays. It also reports when the symptom
// began: its current episode's start or when it first joined from,
// whichever is earlier.
func (e *Engine) movable(rec *alertRec, from *incident) (time.Time, bool) {
	root := from.RootCause.Service
	if rec.noise || rec.service == "" || root == "" || from.manual || len(e.topo.DependsOn) == 0 || !e.isSymptom(rec) {
		return time.Time{}, false
	}
	began, n := rec.episodeStart.Time(), 0
	for _, m := range from.Members {
		if m.Fingerprint != rec.fp {
			continue
		}
		if k := m.Reason.Kind; n == 0 && k != model.ReasonTopology || n > 0 && k != model.ReasonFlap {
			return time.Time{}, false
		}
		if n == 0 && m.JoinedAt.Before(began) {
			began = m.JoinedAt
		}
		n++
	}
	return began, n > 0
}

// recoveredWith returns the incident that rec, which resolved at r in
// from, should move to, or nil.
func (e *Engine) recoveredWith(rec *alertRec, from *incident, r time.Time) *incident {
	began, ok := e.movable(rec, from)
	if !ok {
		return nil
	}
	d := time.Duration(e.cfg.Window) / 2
	around := func(end time.Time, ok bool) (time.Duration, bool) {
		gap := absDur(end.Sub(r))
		return gap, ok && gap <= d
	}
	if _, ok := around(e.rootRecovered(from)); ok {
		return nil // its own root cause recovered around the same time: it stays
	}
	var best *incident
	var bestGap time.Duration
	for _, dep := range e.near.related(rec.service) {
		if _, calls := e.near.dependsOn(rec.service, dep); !calls {
			continue
		}
		for _, inc := range e.byService[dep] {
			if inc == from || e.incs[inc.ID] != inc || inc.RootCause.Service != dep || e.noiseSeeded(inc) || inc.manual {
				continue
			}
			// The other fault must have been failing when the symptom began.
			if _, ok := e.closest(began, inc.evidence[evKey{evCause, dep}]); !ok {
				continue
			}
			gap, ok := around(e.rootRecovered(inc))
			if ok && (best == nil || gap < bestGap || gap == bestGap && inc.seq < best.seq) {
				best, bestGap = inc, gap
			}
		}
	}
	return best
}

// rootRecovered reports when the alerts on inc's root-cause service all
// resolved, and false while one of them is firing. An alert that fired
// again in another incident since tells nothing about this one.
func (e *Engine) rootRecovered(inc *incident) (time.Time, bool) {
	root := inc.RootCause.Service
	var end time.Time
	seen := false
	for _, rec := range inc.members {
		if rec.service != root || rec.noise || rec.inc != inc {
			continue
		}
		if rec.firing {
			return time.Time{}, false
		}
		seen = true
		end = maxTime(end, rec.resolvedAt.Time())
	}
	return end, seen
}

// move takes rec, which has resolved, out of from and into to.
func (e *Engine) move(rec *alertRec, from, to *incident, at time.Time) {
	end, _ := e.rootRecovered(to)
	delete(from.members, rec.fp)
	from.Members = slices.DeleteFunc(from.Members, func(m model.Member) bool { return m.Fingerprint == rec.fp })
	e.unaggregate(from, rec)
	// Its words leave with it, as a restart rebuilds them from the members.
	clear(from.tokens)
	for _, m := range from.members {
		for _, tok := range e.tokens(m) {
			from.tokens[tok] = struct{}{}
		}
	}
	for _, kind := range []evKind{evService, evSymptom, evCause} {
		k := evKey{kind, rec.service}
		l := from.evidence[k]
		if i := slices.IndexFunc(l, rec.episodeStart.Time().Equal); i >= 0 {
			from.evidence[k] = slices.Delete(l, i, i+1)
		}
	}
	e.timelineRec(from, at, "moved", fmt.Sprintf("%s recovered with %s's root cause; moved there", rec.alert.Name(), to.ID), rec)
	e.refresh(from, at)
	e.event(model.EventUpdated, from, at)

	h, _ := e.near.dependsOn(rec.service, to.RootCause.Service)
	why := model.Reason{Kind: model.ReasonTopology, Score: 0.9, Detail: fmt.Sprintf(
		"%s depends on %s (%d hop%s): it recovered %s from when %s did, unlike %s's root cause %s (moved from %s)",
		rec.service, to.RootCause.Service, h, plural(h), absDur(rec.resolvedAt.Time().Sub(end)).Round(time.Second), to.RootCause.Service,
		from.ID, from.RootCause.Service, from.ID)}
	e.join(to, rec, why, at)
	e.stats.Moved++
}

// unaggregate takes rec out of inc's summary (see incAgg), rebuilding
// the entries it contributed to from the remaining members.
func (e *Engine) unaggregate(inc *incident, rec *alertRec) {
	a := &inc.agg
	inc.dirty = true
	var first *alertRec
	for _, m := range inc.members {
		if m.service == rec.service && !m.hostLevel && (first == nil || m.episodeStart.Time().Before(first.episodeStart.Time())) {
			first = m
		}
	}
	if first != nil {
		a.Svc[rec.service] = svcAgg{Start: first.episodeStart.Time(), Alert: first.alert.Name()}
	} else if _, ok := a.Svc[rec.service]; ok {
		delete(a.Svc, rec.service)
		if i, found := slices.BinarySearch(inc.Services, rec.service); found {
			inc.Services = slices.Delete(inc.Services, i, i+1)
		}
	}
	if a.Earliest.Alert == rec.alert.Name() && a.Earliest.Start.Equal(rec.episodeStart.Time()) {
		a.Earliest = svcAgg{}
		for _, m := range inc.members {
			if a.Earliest.Start.IsZero() || m.episodeStart.Time().Before(a.Earliest.Start) {
				a.Earliest = svcAgg{Start: m.episodeStart.Time(), Alert: m.alert.Name()}
			}
		}
	}
	for _, l := range e.cfg.InfraLabels {
		v, _ := e.infraValue(rec, l)
		if v == "" {
			continue
		}
		key := l + "=" + v
		if a.HostCount[key] > 0 {
			a.HostCount[key]--
		}
		if first == nil {
			delete(a.HostSvcs[key], rec.service)
		} else if fv, _ := e.infraValue(first, l); fv != v {
			delete(a.HostSvcs[key], rec.service)
		}
	}
}
