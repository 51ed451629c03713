package correlate

import (
	"fmt"
	"strings"
	"time"

	"github.com/sift-aiops/sift/model"
)

// probeSignal: a probe of a URL (a blackbox exporter's alert with
// instance="https://shop.example.com/", or any alert whose labels hold a
// URL and no service) checks what users reach, that is the entry points
// of the call graph: the services the topology knows that no service
// depends on. Such an alert joins an incident where an entry service
// started alerting within a fifth of the window, even when the probe's
// alert is taken for background noise (probes also fail alone).
type probeSignal struct{ ProbeWeights }

func (probeSignal) name() string   { return "probe" }
func (probeSignal) fallback() bool { return false }

func (s probeSignal) candidates(m *matchCtx) {
	e, rec, w := m.e, m.rec, m.w
	score := *s.EntryService
	if score <= 0 || rec.service != "" || !probesURL(rec.alert.Labels) {
		return
	}
	limit := w / 5
	for _, svc := range e.full.entries {
		for _, inc := range e.byService[svc] {
			if inc.Status == model.IncidentResolved {
				continue
			}
			gap, ok := m.closest(inc.evidence[evKey{evService, svc}])
			if !ok || gap > limit {
				continue
			}
			m.consider(candidate{inc: inc, gap: gap, reason: model.Reason{Kind: model.ReasonTopology, Score: score,
				Detail: fmt.Sprintf("probes a URL users reach, and %s, where users enter, is alerting in %s (%s apart)", svc, inc.ID, gap.Round(time.Second))}})
		}
	}
}

// probesURL reports whether one of the labels holds a URL.
func probesURL(ls labelSet) bool {
	for i := 0; ; {
		_, v, j := ls.next(i)
		if j < 0 {
			return false
		}
		if strings.Contains(v, "://") {
			return true
		}
		i = j
	}
}
