package correlate

import (
	"fmt"

	"github.com/sift-aiops/sift/model"
)

// textSignal: similar alert name and summary (correlate.text_threshold),
// the weakest signal: it runs only when no other one matched.
type textSignal struct {
	TextWeights
	threshold float64 // 0: off
}

func (textSignal) name() string   { return "text" }
func (textSignal) fallback() bool { return true }

func (s textSignal) candidates(m *matchCtx) {
	e, rec, t, w := m.e, m.rec, m.t, m.w
	th := s.threshold
	if !(th > 0) || rec.noise { // 0 turns text off
		return
	}
	tokens := e.tokens(rec)
	for i := len(e.open) - 1; i >= 0; i-- {
		inc := e.open[i]
		if inc.Status == model.IncidentResolved {
			continue
		}
		// Alone, text joins only nearly simultaneous alerts (the same
		// symptom appearing on several services at once).
		if absDur(t.Sub(inc.lastStart)) > w/5 {
			continue
		}
		sim := jaccard(tokens, inc.tokens)
		if sim < th || e.topoUnrelated(rec.service, inc) {
			continue
		}
		m.consider(candidate{inc: inc, gap: absDur(t.Sub(inc.lastActivity)), reason: model.Reason{
			Kind: model.ReasonText, Score: *s.Weight * sim,
			Detail: fmt.Sprintf("text similar to %s (%.2f)", inc.ID, sim),
		}})
	}
}

// topoUnrelated reports whether the topology knows svc and every
// service of inc and relates none of them to svc: similar text on
// services the dependency graph keeps apart is a coincidence, not a
// shared cause.
func (e *Engine) topoUnrelated(svc string, inc *incident) bool {
	if svc == "" || len(inc.agg.Svc) == 0 {
		return false
	}
	for other := range inc.agg.Svc {
		if other == svc || !e.full.unrelated(svc, other) {
			return false
		}
	}
	return true
}
