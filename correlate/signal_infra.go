package correlate

import (
	"fmt"
	"time"

	"github.com/sift-aiops/sift/model"
)

// infraSignal: shared infrastructure (correlate.infra_labels), only when
// the infrastructure itself alerts. A host-level alert also lists, in
// m.absorb, the incidents all of whose members run on it: they share its
// cause and merge into the incident it joins.
type infraSignal struct{ InfraWeights }

func (infraSignal) name() string   { return "infra" }
func (infraSignal) fallback() bool { return false }

func (s infraSignal) candidates(m *matchCtx) {
	e, rec, w := m.e, m.rec, m.w
	for _, l := range e.cfg.InfraLabels {
		v, learned := e.infraValue(rec, l)
		if v == "" {
			continue
		}
		key := l + "=" + v
		for _, inc := range e.byInfra[key] {
			if inc.Status == model.IncidentResolved {
				continue
			}
			// A service alert joins only the host's own alert; a host alert
			// joins the services that started failing on it around the same
			// time, and another alert on the host itself only when they are
			// nearly simultaneous.
			// Background noise on a service takes part only when its host
			// fails at nearly the same moment (see noteEpisode); a host's
			// own background noise explains nothing.
			var gap time.Duration
			var ok bool
			switch {
			case rec.hostLevel && rec.noise:
				continue
			case rec.hostLevel:
				gap, ok = m.closest(inc.evidence[evKey{evOnInfra, key}])
				if g, okn := m.closest(inc.evidence[evKey{evNoiseOnInfra, key}]); okn && g <= w/5 && (!ok || g < gap) {
					gap, ok = g, true
				}
				if !ok {
					gap, ok = m.closest(inc.evidence[evKey{evInfra, key}])
					ok = ok && gap <= w/5
				}
			default:
				gap, ok = m.closest(inc.evidence[evKey{evInfra, key}])
				ok = ok && (!rec.noise || gap <= w/5)
			}
			if !ok {
				continue
			}
			var detail string
			if rec.hostLevel {
				detail = fmt.Sprintf("alert on %s itself; %s has alerts running on it", key, inc.ID)
			} else if learned {
				detail = fmt.Sprintf("runs on %s (learned: %s alerted from it at %s), which is alerting in %s",
					key, rec.service, e.placeSeen(rec, key).UTC().Format(time.RFC3339), inc.ID)
			} else {
				detail = fmt.Sprintf("runs on %s, which is alerting in %s", key, inc.ID)
			}
			score := *s.HostAlert
			if !rec.hostLevel {
				// The host itself is failing: that explains everything
				// running on it better than anything the service shows.
				score = *s.OnFailingHost
				if learned {
					score = *s.OnLearnedHost
				}
			}
			c := candidate{inc: inc, gap: gap, reason: model.Reason{Kind: model.ReasonInfra, Score: score, Detail: detail}}
			if rec.hostLevel && e.allOn(inc, l, v) {
				m.absorb = append(m.absorb, inc)
			}
			m.consider(c)
		}
	}
	s.sameAlertHosts(m)
	s.unnamedHost(m)
}

// unnamedHost: an alert about infrastructure that does not say which
// (rec.hostLevel, no infra label) joins an incident where a named host
// started failing within a fifth of the window.
func (s infraSignal) unnamedHost(m *matchCtx) {
	e, rec, w := m.e, m.rec, m.w
	score := *s.UnnamedHost
	if !rec.hostLevel || rec.noise || score <= 0 {
		return
	}
	for _, l := range e.cfg.InfraLabels {
		if rec.alert.Labels.Get(l) != "" {
			return // it names a host, or a URL (a probe: not about a host)
		}
	}
	for _, inc := range e.byInfra[anyHostIndex] {
		if inc.Status == model.IncidentResolved {
			continue
		}
		gap, ok := m.closest(inc.evidence[evKey{evAnyHost, ""}])
		if !ok || gap > w/5 {
			continue
		}
		m.consider(candidate{inc: inc, gap: gap, reason: model.Reason{Kind: model.ReasonInfra, Score: score,
			Detail: fmt.Sprintf("names no host, and a host started failing in %s %s apart", inc.ID, gap.Round(time.Second))}})
	}
}

// sameAlertHosts: a host-level alert also joins the incidents where the
// same alert started on another host within a fifth of the window, and
// merges them (m.absorb): hosts failing together share a cause.
func (s infraSignal) sameAlertHosts(m *matchCtx) {
	e, rec, w := m.e, m.rec, m.w
	score := *s.SameAlertHosts
	if !rec.hostLevel || rec.noise || score <= 0 {
		return
	}
	name := rec.alert.Name()
	key := evKey{evHostAlert, name}
	for _, inc := range e.byInfra[hostAlertIndex(name)] {
		if inc.Status == model.IncidentResolved {
			continue
		}
		gap, ok := m.closest(inc.evidence[key])
		if !ok || gap > w/5 {
			continue
		}
		m.consider(candidate{inc: inc, gap: gap, reason: model.Reason{Kind: model.ReasonInfra, Score: score,
			Detail: fmt.Sprintf("%s started on other hosts in %s %s apart: hosts failing together share a cause", name, inc.ID, gap.Round(time.Second))}})
		m.absorb = append(m.absorb, inc)
	}
}

// allOn reports whether every member of inc runs on label=value.
func (e *Engine) allOn(inc *incident, label, value string) bool {
	return inc.agg.HostCount[label+"="+value] == len(inc.members)
}
