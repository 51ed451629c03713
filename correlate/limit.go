package correlate

import (
	"cmp"
	"slices"

	"github.com/sift-aiops/sift/model"
)

// SetMaxAlerts bounds the alerts the engine stores (limits.max_active_alerts;
// 0: no bound). The pipeline refuses new alerts beyond n active (firing,
// held by a silence or not) ones; resolved alerts are kept for
// correlate.retention, unless storing them would take the alerts stored
// beyond n: then the oldest resolved alerts that no open incident holds
// are dropped (see evictResolved). Eviction is a function of the state
// and of n only, so a replay of the journal with the same n makes the
// same decisions.
func (e *Engine) SetMaxAlerts(n int) { e.maxAlerts = max(n, 0) }

// Active returns the number of active alerts: those firing, held by a
// silence or not (resolved alerts are stored, but not active).
func (e *Engine) Active() int { return e.firingN }

// Firing reports whether the alert with fingerprint fp is firing.
func (e *Engine) Firing(fp model.Fingerprint) bool {
	rec := e.alerts[fp]
	return rec != nil && rec.firing
}

// evictResolved drops the oldest resolved alerts (by resolution time, then
// fingerprint) that no open incident holds and no recheck waits for, until
// 7/8 of maxAlerts are stored or none is left to drop. Their history is
// recorded already; a resolved incident keeps its member list (Members)
// but no longer the alerts' state. When not enough could be dropped, it
// runs again only once the store has grown by another eighth (evictAt,
// kept in snapshots), so that a store full of what cannot be dropped is
// not scanned on every batch.
func (e *Engine) evictResolved() {
	low := e.maxAlerts - e.maxAlerts/8
	need := len(e.alerts) - low
	step := max(e.maxAlerts/8, 1)
	keep := map[*alertRec]bool{}
	for _, inc := range e.order {
		if inc.Status != model.IncidentResolved && e.incs[inc.ID] == inc {
			for _, rec := range inc.members {
				keep[rec] = true
			}
		}
	}
	for _, r := range e.rechecks {
		if rec := e.alerts[r.fp]; rec != nil {
			keep[rec] = true
		}
	}
	var cand []*alertRec
	for _, rec := range e.alerts {
		if !rec.firing && !rec.held && !keep[rec] {
			cand = append(cand, rec)
		}
	}
	keep = nil
	if len(cand) > need {
		slices.SortFunc(cand, func(a, b *alertRec) int {
			return cmp.Or(cmp.Compare(a.resolvedAt, b.resolvedAt), cmp.Compare(a.fp, b.fp))
		})
		cand = cand[:need]
	}
	if len(cand) > 0 {
		victims := make(map[*alertRec]bool, len(cand))
		for _, rec := range cand {
			victims[rec] = true
			delete(e.alerts, rec.fp)
		}
		// The resolved incidents that held them forget them, as a
		// restore from a snapshot without them would.
		for _, inc := range e.order {
			changed := false
			for fp, rec := range inc.members {
				if victims[rec] {
					delete(inc.members, fp)
					changed = true
				}
			}
			if changed {
				clear(inc.tokens)
				for _, rec := range inc.members {
					for _, tok := range e.tokens(rec) {
						inc.tokens[tok] = struct{}{}
					}
				}
			}
		}
	}
	e.evictAt = 0
	if len(e.alerts) > e.maxAlerts {
		e.evictAt = len(e.alerts) + step
	}
}

// FiringFingerprints returns the fingerprints of the firing alerts, in no
// particular order (see AlertStates).
func (e *Engine) FiringFingerprints() []model.Fingerprint {
	out := make([]model.Fingerprint, 0, e.firingN)
	for fp, rec := range e.alerts {
		if rec.firing {
			out = append(out, fp)
		}
	}
	return out
}

// AlertStates appends to dst the state of each alert of fps that is still
// firing, in the order of fps, as Alerts lists it: a page of Alerts whose
// memory is bounded by the page.
func (e *Engine) AlertStates(dst []model.AlertState, fps []model.Fingerprint) []model.AlertState {
	for _, fp := range fps {
		if rec := e.alerts[fp]; rec != nil && rec.firing {
			dst = append(dst, e.firingState(rec))
		}
	}
	return dst
}
