package correlate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sift-aiops/sift/model"
)

// Background noise: some alerts fire on their own all day long (a
// certificate about to expire, a slow garbage collector, a config reload
// that failed) and are not part of whatever else is failing at the time.
// Joined by topology to a concurrent fault they only blur it, so the engine
// learns, per alert name, how often an episode of it ended up in an
// incident with other alerts. A name that nearly always fires alone is
// background noise: its alerts still open incidents of their own and still
// group by the configured labels, but they do not join, or attract, other
// alerts through topology, infrastructure or text, except that noise on a
// service belongs to a failure of its host that starts at nearly the same
// moment (a container that is often missing is missing now because its
// node went down).
//
// The statistics come from the engine's own decisions, so a name that is
// treated as noise would never be seen in company again. For one episode
// in noiseExplore the engine therefore asks, once the episode's incident
// resolved, whether it would have joined an incident (see probe) and
// counts that, which keeps the statistics honest when a name's behaviour
// changes, without letting the episode join.
//
// Large rule sets have hundreds of names that each fire only a few times a
// day, most of them background; waiting for NoiseMinEpisodes of each lets
// them blur real faults all day. A name that fired alone every time, at
// least NoiseFastEpisodes times, is therefore noise already, tentatively:
// every episode of it is probed until NoiseMinEpisodes are counted.

// noiseExplore: one episode in this many of a noise name is tested as if
// it were not noise, to keep learning.
const noiseExplore = 8

// nameStat counts the episodes of one alert name that were counted (see
// learnFrom) and how many of them had company.
type nameStat struct {
	Episodes uint32 `json:"n"`
	Company  uint32 `json:"c"`
	Seen     uint32 `json:"s"` // episodes since the name became noise
	// Of the episodes with company on a service, how many were on the
	// incident's root-cause service (see rarelyOnRoot).
	OnService uint32 `json:"sv,omitempty"`
	OnRoot    uint32 `json:"rt,omitempty"`
}

// companyRate is the smoothed share of episodes with company.
func (s *nameStat) companyRate() float64 {
	return (float64(s.Company) + 1) / (float64(s.Episodes) + 2)
}

// noisy decides, as an episode of rec starts, whether it is background
// noise (rec.noise). It is called once per episode.
func (e *Engine) noisy(rec *alertRec) {
	rec.noise, rec.probe = false, false
	if rec.role == roleCause || !e.noiseName(rec.alert.Name()) {
		return
	}
	s := e.names[rec.alert.Name()]
	e.stats.NoiseEpisodes++
	rec.noise = true
	if e.tentative(s) {
		rec.probe = true // tested as its incident resolves (see learnFrom)
		return
	}
	s.Seen++
	rec.probe = s.Seen%noiseExplore == 0
}

// count adds one episode.
func (s *nameStat) count(company bool) {
	s.Episodes++
	if company {
		s.Company++
	}
	halveAt(&s.Episodes, &s.Company)
}

// countService adds one episode with company on a service, on the
// incident's root-cause service or not.
func (s *nameStat) countService(onRoot bool) {
	s.OnService++
	if onRoot {
		s.OnRoot++
	}
	halveAt(&s.OnService, &s.OnRoot)
}

// halveAt keeps statistics recent: once total reaches maxNameEpisodes,
// total and part are halved.
func halveAt(total, part *uint32) {
	if *total >= maxNameEpisodes {
		*total /= 2
		*part /= 2
	}
}

// learnFrom counts the members of an incident that just resolved: each
// alert that was correlated normally had company if the incident holds
// other alerts.
func (e *Engine) learnFrom(inc *incident) {
	if inc.learned || *e.cfg.NoiseMaxCompany <= 0 {
		return
	}
	inc.learned = true
	company := len(inc.members) > 1
	for _, rec := range inc.members {
		if rec.noise {
			if rec.probe {
				e.probe(rec)
			}
			continue
		}
		s := e.names[rec.alert.Name()]
		if s == nil {
			if len(e.names) >= maxLearnedNames {
				continue // a source that makes up a name per alert: learn no more
			}
			s = &nameStat{}
			e.names[rec.alert.Name()] = s
		}
		s.count(company)
		if company && rec.service != "" && inc.RootCause.Service != "" {
			s.countService(rec.service == inc.RootCause.Service)
		}
	}
}

// probe counts an episode of a noise name chosen for testing (see noisy)
// once its incident resolved: had it not been noise, would it have joined
// one of the incidents still open that started around it? Asking only as
// the episode starts would miss the fault that the alert itself started,
// whose other alerts come later and found nothing to join.
func (e *Engine) probe(rec *alertRec) {
	rec.probe = false
	s := e.names[rec.alert.Name()]
	if s == nil {
		return
	}
	rec.noise = false
	target, _, _ := e.match(rec, rec.episodeStart.Time())
	rec.noise = true
	s.count(target != nil)
}

// maxNameEpisodes bounds the memory of a name's statistics.
const maxNameEpisodes = 1000

// maxLearnedNames bounds the number of alert names learned about (real
// rule sets have hundreds to a few thousand).
const maxLearnedNames = 50_000

// noiseReason is the seed reason of an incident opened by a noise alert:
// it says why the alert was not correlated.
func (e *Engine) noiseReason(rec *alertRec) model.Reason {
	s := e.names[rec.alert.Name()]
	return model.Reason{Kind: model.ReasonSeed, Score: 1, Detail: fmt.Sprintf(
		"first alert of the incident; %s fired alone in %d of its last %d episodes: background noise, not correlated by topology, infrastructure or text",
		rec.alert.Name(), s.Episodes-s.Company, s.Episodes)}
}

// callerOnly reports whether alerts of a name, when part of a wider
// incident, have almost always been on a caller of the failing service
// rather than on the failing service itself (an upstream error rate, an
// open circuit breaker): such an alert on a service that fails on its own
// is more likely a symptom of a failing dependency.
func (e *Engine) callerOnly(s *nameStat) bool {
	if s == nil || int(s.OnService) < 2*e.cfg.NoiseMinEpisodes {
		return false
	}
	return (float64(s.OnRoot)+1)/(float64(s.OnService)+2) < 0.2
}

// noiseName reports whether alerts of this name are background noise now.
func (e *Engine) noiseName(name string) bool {
	if *e.cfg.NoiseMaxCompany <= 0 || slices.Contains(e.cfg.NoiseExempt, name) {
		return false
	}
	s := e.names[name]
	if s == nil {
		return false
	}
	if e.tentative(s) {
		return s.Company == 0 && int(s.Episodes) >= e.cfg.NoiseFastEpisodes // alone every time so far
	}
	return s.companyRate() < *e.cfg.NoiseMaxCompany
}

// tentative reports whether a name has too few episodes for the usual
// verdict (see Config.NoiseFastEpisodes).
func (e *Engine) tentative(s *nameStat) bool {
	return s != nil && int(s.Episodes) < e.cfg.NoiseMinEpisodes
}

// AlertName is what the engine has learned about one alert name.
type AlertName struct {
	Name string `json:"name"`
	// Episodes counted, and how many of them were in an incident with
	// other alerts.
	Episodes    int `json:"episodes"`
	WithCompany int `json:"withCompany"`
	// Of the episodes with company on a service, how many were on the
	// incident's root-cause service.
	OnService int `json:"onService"`
	OnRoot    int `json:"onRoot"`
	// Noise: treated as background noise now (not correlated by topology,
	// infrastructure or text). CallerOnly: seen only on callers of a
	// failing service.
	Noise      bool `json:"noise"`
	CallerOnly bool `json:"callerOnly"`
}

// AlertNames returns what the engine has learned about each alert name,
// by name.
func (e *Engine) AlertNames() []AlertName {
	out := make([]AlertName, 0, len(e.names))
	for name, s := range e.names {
		out = append(out, AlertName{Name: name, Episodes: int(s.Episodes), WithCompany: int(s.Company),
			OnService: int(s.OnService), OnRoot: int(s.OnRoot), Noise: e.noiseName(name), CallerOnly: e.callerOnly(s)})
	}
	slices.SortFunc(out, func(a, b AlertName) int { return strings.Compare(a.Name, b.Name) })
	return out
}
