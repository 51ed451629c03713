package correlate

import (
	"fmt"
	"time"

	"github.com/sift-aiops/sift/model"
)

// Signals: each reason to join an alert to an incident (label grouping,
// the service topology, shared infrastructure, similar text) is a signal
// in a file of its own (signal_*.go). A signal proposes candidates, the
// incidents the alert may join, each with a reason (its kind, score and
// explanation) and how far in time its evidence is; match runs the
// engine's signals in order and keeps the best candidate (see better).
// They are composed in one place only, like Alertmanager's notification
// stages or the OpenTelemetry Collector's processors. A signal reads the
// engine's state and the alert, never the wall clock or anything random,
// and proposes in a fixed order: a replay decides as the live engine did.
type signal interface {
	// name is the signal's key under correlate.signals.
	name() string
	// fallback reports whether the signal runs only when no earlier one
	// proposed an incident the alert may join.
	fallback() bool
	// candidates proposes, through m.consider, the incidents m.rec may
	// join.
	candidates(m *matchCtx)
}

// newSignals returns the signals of cfg (defaults applied), in the order
// match runs them.
func newSignals(cfg Config) []signal {
	return []signal{
		groupSignal{cfg.Signals.Group},
		topologySignal{cfg.Signals.Topology},
		infraSignal{cfg.Signals.Infra},
		probeSignal{cfg.Signals.Probe},
		textSignal{cfg.Signals.Text, *cfg.TextThreshold},
	}
}

// matchCtx is one match: the alert, its episode start and the best
// candidate so far.
type matchCtx struct {
	e       *Engine
	rec     *alertRec
	t       time.Time     // the episode start of rec
	w       time.Duration // correlate.window
	horizon time.Duration // correlate.horizon
	best    candidate
	// absorb lists other incidents rec shows to share its cause (a
	// host-level alert pulling in the incidents of services on that host).
	absorb []*incident
}

// reset keeps only the absorb buffer, emptied, so that nothing of a
// match is held after it.
func (m *matchCtx) reset() {
	clear(m.absorb)
	*m = matchCtx{absorb: m.absorb[:0]}
}

// candidate is an incident an alert may join and why.
type candidate struct {
	inc    *incident
	reason model.Reason
	gap    time.Duration // how far in time the evidence is
}

// consider keeps c if it is the best candidate so far and the alert may
// join it.
func (m *matchCtx) consider(c candidate) {
	if c.reason.Kind != model.ReasonGroup && m.t.Sub(c.inc.OpenedAt) > m.horizon {
		return // too long after the incident began to share its cause
	}
	if m.e.atMax(c.inc) {
		if m.e.overflowOf == nil {
			m.e.overflowOf = c.inc
		}
		return // it holds all it may: the alert opens an overflow incident
	}
	if m.best.inc == nil || better(c, m.best) {
		m.best = c
	}
}

// closest is Engine.closest from the alert's episode start.
func (m *matchCtx) closest(starts []time.Time) (time.Duration, bool) {
	return m.e.closest(m.t, starts)
}

func better(a, b candidate) bool {
	if a.reason.Score != b.reason.Score {
		return a.reason.Score > b.reason.Score
	}
	// A failing host explains its services better than anything else.
	if ai, bi := a.reason.Kind == model.ReasonInfra, b.reason.Kind == model.ReasonInfra; ai != bi {
		return ai
	}
	if a.gap != b.gap {
		return a.gap < b.gap
	}
	return a.inc.seq < b.inc.seq
}

// Signals are the weights of the signals (correlate.signals): each is the
// score, between 0 and 1, of a reason to join an alert to an incident.
// The highest score wins; between equal scores infrastructure, then the
// evidence closest in time. Unset weights have their defaults.
type Signals struct {
	Group    GroupWeights    `yaml:"group"`
	Topology TopologyWeights `yaml:"topology"`
	Infra    InfraWeights    `yaml:"infra"`
	Probe    ProbeWeights    `yaml:"probe"`
	Text     TextWeights     `yaml:"text"`
}

// GroupWeights weigh label grouping (correlate.group_by).
type GroupWeights struct {
	// Score: the alert has the group key of a member of the incident that
	// notified within the window. Default 1.
	Score *float64 `yaml:"score"`
}

// TopologyWeights weigh the service topology (topology.depends_on and
// the learned edges). A hop is one edge of the dependency graph.
type TopologyWeights struct {
	// SameService: the alert's service is already alerting in the
	// incident. Default 0.95.
	SameService *float64 `yaml:"same_service"`
	// CallerSymptomOnSelf replaces SameService for a symptom whose name
	// has been learned to fire on callers, on the incident's root-cause
	// service failing on its own: a failing dependency, if there is one,
	// explains it better. Default 0.85.
	CallerSymptomOnSelf *float64 `yaml:"caller_symptom_on_self"`
	// DegradedCaller replaces SameService for a symptom on a service of
	// the incident that is not its root cause (a caller already degraded
	// by the fault). Default 0.9.
	DegradedCaller *float64 `yaml:"degraded_caller"`
	// Dependency: a symptom on a service that depends, one hop away, on a
	// service failing or degraded in the incident. Default 0.9.
	Dependency *float64 `yaml:"dependency"`
	// Dependent: an alert on a service that a degraded service of the
	// incident depends on, one hop away (it may be the real root).
	// Default 0.8.
	Dependent *float64 `yaml:"dependent"`
	// PerHop is taken off Dependency and Dependent for each hop beyond the
	// first. Default 0.15.
	PerHop *float64 `yaml:"per_hop"`
	// RootBonus is added when the incident's root cause is the service
	// that matched or explains the alert's service. Default 0.05.
	RootBonus *float64 `yaml:"root_bonus"`
	// AdoptOrphans: an incident of only symptoms on callers of a service
	// merges into the incident of a cause-like alert (a crash, an OOM) on
	// that service that came after them. Default 0.85.
	AdoptOrphans *float64 `yaml:"adopt_orphans"`
}

// InfraWeights weigh shared infrastructure (correlate.infra_labels).
type InfraWeights struct {
	// HostAlert: an alert on the infrastructure itself (no topology
	// label) joins the incident of what runs on it, or of another alert on
	// it. Default 0.85.
	HostAlert *float64 `yaml:"host_alert"`
	// OnFailingHost: the alert runs on infrastructure alerting in the
	// incident; that explains it better than anything. Default 1.
	OnFailingHost *float64 `yaml:"on_failing_host"`
	// OnLearnedHost: the alert says nothing of where it runs, but its
	// service or workload was seen on infrastructure alerting in the
	// incident (learned placement, see placement.go). Default 0.95.
	OnLearnedHost *float64 `yaml:"on_learned_host"`
	// SameAlertHosts: an alert on a host joins, and merges, the incidents
	// where the same alert started on other hosts at nearly the same
	// moment (a fifth of the window): hosts that fail together (a switch,
	// a rack, a shared dependency) share a cause. 0: off. Default 0.8.
	SameAlertHosts *float64 `yaml:"same_alert_hosts"`
	// UnnamedHost: an alert about infrastructure that names none (an
	// exporter's own TargetDown, without instance or node) joins an
	// incident where a host started failing within a fifth of the window.
	// 0: off. Default 0.8.
	UnnamedHost *float64 `yaml:"unnamed_host"`
}

// ProbeWeights weigh the probes of URLs (signal_probe.go).
type ProbeWeights struct {
	// EntryService: an alert about a URL, without a service, joins an
	// incident where a service no other one depends on (where users
	// enter) is alerting. 0: off. Default 0.75.
	EntryService *float64 `yaml:"entry_service"`
}

// TextWeights weigh text similarity (correlate.text_threshold).
type TextWeights struct {
	// Weight times the similarity of name and summary (0..1) is the score
	// of a text match. Default 0.5.
	Weight *float64 `yaml:"weight"`
}

// weight is one setting of Signals.
type weight struct {
	key string // under correlate.signals
	p   **float64
	def float64
}

// weights lists every weight of s with its key and default.
func (s *Signals) weights() []weight {
	return []weight{
		{"group.score", &s.Group.Score, 1},
		{"infra.on_learned_host", &s.Infra.OnLearnedHost, 0.95},
		{"infra.same_alert_hosts", &s.Infra.SameAlertHosts, 0.8},
		{"infra.unnamed_host", &s.Infra.UnnamedHost, 0.8},
		{"probe.entry_service", &s.Probe.EntryService, 0.75},
		{"topology.same_service", &s.Topology.SameService, 0.95},
		{"topology.caller_symptom_on_self", &s.Topology.CallerSymptomOnSelf, 0.85},
		{"topology.degraded_caller", &s.Topology.DegradedCaller, 0.9},
		{"topology.dependency", &s.Topology.Dependency, 0.9},
		{"topology.dependent", &s.Topology.Dependent, 0.8},
		{"topology.per_hop", &s.Topology.PerHop, 0.15},
		{"topology.root_bonus", &s.Topology.RootBonus, 0.05},
		{"topology.adopt_orphans", &s.Topology.AdoptOrphans, 0.85},
		{"infra.host_alert", &s.Infra.HostAlert, 0.85},
		{"infra.on_failing_host", &s.Infra.OnFailingHost, 1},
		{"text.weight", &s.Text.Weight, 0.5},
	}
}

func (s Signals) withDefaults() Signals {
	for _, w := range s.weights() {
		if *w.p == nil {
			v := w.def
			*w.p = &v
		}
	}
	return s
}

func (s Signals) validate() error {
	for _, w := range s.weights() {
		if v := *w.p; v != nil && !(*v >= 0 && *v <= 1) {
			return fmt.Errorf("correlate.signals.%s: must be between 0 and 1, got %v", w.key, *v)
		}
	}
	return nil
}
