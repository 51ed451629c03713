package correlate

import (
	"fmt"
	"time"

	"github.com/sift-aiops/sift/model"
)

// topologySignal: the service topology. Failures propagate to callers as
// symptoms (errors, latency, timeouts): a caller's symptom alert joins the
// incident of a service it depends on. An alert on a dependency joins
// only if the incident's root cause depends on it (it may be the real
// root). Siblings that merely share a dependency are not related. The
// same service needs no dependency graph: it is matched with or without
// a topology.
type topologySignal struct{ TopologyWeights }

func (topologySignal) name() string   { return "topology" }
func (topologySignal) fallback() bool { return false }

func (s topologySignal) candidates(m *matchCtx) {
	e, rec, t, w := m.e, m.rec, m.t, m.w
	if rec.noise || rec.service == "" {
		return
	}
	symptom := e.isSymptom(rec)
	for _, other := range append(e.near.related(rec.service), rec.service) {
		for _, inc := range e.byService[other] {
			if inc.Status == model.IncidentResolved {
				continue
			}
			gap, ok := m.closest(inc.evidence[evKey{evService, other}])
			if !ok {
				continue
			}
			var score float64
			var detail string
			if other == rec.service {
				// On the failing service itself any alert may be part of the
				// fault; on a caller only symptoms are explained by it.
				if !symptom && inc.RootCause.Service != other {
					continue
				}
				// Alerts that one fault raises on one service start nearly
				// together; a stray alert minutes apart is more likely
				// noise, unless the fault still fires and it is within the
				// window (rules with for: 5m report the cause late).
				if !symptom && gap > w/3 && !(inc.firing > 0 && gap <= w) {
					continue
				}
				score, detail = *s.SameService, fmt.Sprintf("service %s is already alerting in %s", other, inc.ID)
				if root := inc.RootCause.Service; symptom && root == other && e.callerOnly(e.names[rec.alert.Name()]) {
					// A caller-side symptom on a service failing on its own:
					// a failing dependency explains it better, if there is one.
					score = *s.CallerSymptomOnSelf
				} else if symptom && root != "" && root != other {
					// A symptom on a caller already degraded by another
					// fault: only as strong as a failing dependency, so a
					// fault that started closer in time can claim it.
					score = *s.DegradedCaller
					if g, ok := m.closest(inc.evidence[evKey{evCause, root}]); ok {
						gap = g
					}
				}
			} else if h, calls := e.near.dependsOn(rec.service, other); calls {
				if !symptom {
					continue
				}
				// The dependency must be failing (a cause-like alert such
				// as a crash or OOM) or be itself degraded (a symptom): an
				// unrelated warning on it explains nothing.
				g1, ok1 := m.closest(inc.evidence[evKey{evCause, other}])
				g2, ok2 := m.closest(inc.evidence[evKey{evSymptom, other}])
				switch {
				case ok1 && ok2:
					gap = min(g1, g2)
				case ok1:
					gap = g1
				case ok2:
					gap = g2
				default:
					continue
				}
				score = *s.Dependency - *s.PerHop*float64(h-1)
				detail = fmt.Sprintf("%s depends on %s (%d hop%s), alerting in %s", rec.service, other, h, plural(h), inc.ID)
			} else if h, under := e.near.dependsOn(other, rec.service); under {
				// A failing dependency explains only symptoms on its callers.
				if gap, ok = m.closest(inc.evidence[evKey{evSymptom, other}]); !ok {
					continue
				}
				root := inc.RootCause.Service
				if _, rootDepends := e.full.dependsOn(root, rec.service); root != other && !rootDepends {
					continue
				}
				// A root that was already failing on its own (a crash, an
				// OOM...) well before this dependency alerted was not
				// brought down by it: that is a second fault.
				if first, ok := earliest(inc.evidence[evKey{evCause, root}]); ok && first.Before(t.Add(-w/5)) {
					continue
				}
				score = *s.Dependent - *s.PerHop*float64(h-1)
				detail = fmt.Sprintf("%s depends on %s (%d hop%s), alerting in %s", other, rec.service, h, plural(h), inc.ID)
			} else {
				continue
			}
			// Prefer the incident whose root cause explains the alert.
			if root := inc.RootCause.Service; root != "" && root != other {
				if hr, explained := e.full.dependsOn(rec.service, root); explained {
					score += *s.RootBonus
					if symptom {
						// Between faults that both explain a symptom, the one
						// that started closest to it in time, per hop (a
						// failure takes longer to reach callers further up).
						if g, ok := m.closest(inc.evidence[evKey{evCause, root}]); ok {
							gap = g / time.Duration(max(hr, 1))
						}
					}
				}
			} else if root == other {
				score += *s.RootBonus
			}
			m.consider(candidate{inc: inc, gap: gap, reason: model.Reason{Kind: model.ReasonTopology, Score: score, Detail: detail}})
		}
	}
}
