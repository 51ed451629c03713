package correlate

import (
	"fmt"
	"strings"

	"github.com/sift-aiops/sift/model"
)

// groupSignal: label grouping (correlate.group_by). An alert with the
// group key of an incident's member joins it while the group notifies
// within the window, however long the incident has lasted.
type groupSignal struct{ GroupWeights }

func (groupSignal) name() string   { return "group" }
func (groupSignal) fallback() bool { return false }

func (s groupSignal) candidates(m *matchCtx) {
	e, rec, t := m.e, m.rec, m.t
	if !rec.hasGkey {
		return
	}
	if inc := e.byGroup[rec.gkey]; inc != nil && inc.Status != model.IncidentResolved && !t.After(inc.groupLast[rec.gkey].Add(m.w)) {
		m.consider(candidate{inc: inc, gap: absDur(t.Sub(inc.groupLast[rec.gkey])), reason: model.Reason{
			Kind: model.ReasonGroup, Score: *s.Score,
			Detail: fmt.Sprintf("same %s as %s", e.describeGroup(rec.alert.Labels), inc.ID),
		}})
	}
}

// describeGroup says the group_by labels of ls ("alertname=\"X\", service=\"y\"").
func (e *Engine) describeGroup(ls labelSet) string {
	parts := make([]string, 0, len(e.cfg.GroupBy))
	for _, l := range e.cfg.GroupBy {
		parts = append(parts, fmt.Sprintf("%s=%q", l, ls.Get(l)))
	}
	return strings.Join(parts, ", ")
}
