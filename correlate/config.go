// Package correlate deduplicates alerts and correlates them into incidents
// (same cause, now) and problems (same cause, recurring).
//
// The Engine is a deterministic state machine: it is driven only by the
// batches it is given and by their event time (model.Batch.At), never by
// the wall clock, so replaying the journal reproduces the live result.
package correlate

import (
	"fmt"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration that reads "5m", "90s", "7d" from YAML.
type Duration time.Duration

// UnmarshalYAML accepts Go durations plus a "d" (day) suffix.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: duration must be a string like 5m: %w", n.Line, err)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML renders the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ParseDuration parses a Go duration, also allowing whole days ("7d").
func ParseDuration(s string) (time.Duration, error) {
	if n := len(s); n > 1 && s[n-1] == 'd' {
		var days int
		if _, err := fmt.Sscanf(s[:n-1], "%d", &days); err == nil && fmt.Sprint(days) == s[:n-1] {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 5m, 2h, 7d)", s)
	}
	return v, nil
}

// Config tunes correlation. The zero value is completed by Defaults.
type Config struct {
	// IDPrefix goes before the numbers of incident and problem ids
	// (INC-7, PRB-2 by default). Several Sift instances that share one
	// Kafka consumer group, one incidents topic or one ClickHouse give
	// each its own ("eu1" gives eu1-INC-7).
	IDPrefix string `yaml:"id_prefix"`
	// MaxAlertsPerIncident bounds an incident: one that holds this many
	// alerts stops growing and says so, and the alerts that would have
	// joined it open an overflow incident instead (default 10,000; a
	// storm of identical alerts then costs bounded memory per incident).
	MaxAlertsPerIncident int `yaml:"max_alerts_per_incident"`
	// Window is how far apart alerts can start and still join one incident.
	Window Duration `yaml:"window"`
	// Horizon bounds how long after an incident started an alert can still
	// join it through topology, infrastructure or text (group_by matches
	// join for as long as the group fires). It stops long incidents from
	// chaining unrelated faults together. Default: 3 × window.
	Horizon Duration `yaml:"horizon"`
	// GroupBy lists the labels whose equal values group alerts (like
	// Alertmanager's group_by).
	GroupBy []string `yaml:"group_by"`
	// InfraLabels name shared infrastructure (host, node, ...). An alert on
	// the infrastructure itself (no topology label) pulls in the alerts of
	// everything running on it.
	InfraLabels []string `yaml:"infra_labels"`
	// MaxHops bounds the dependency-graph distance of a topology match.
	MaxHops int `yaml:"max_hops"`
	// TextThreshold is the minimum similarity (0..1) of alert name and
	// summary for text to join an alert on its own; 0 disables text.
	// Unset means 0.7.
	TextThreshold *float64 `yaml:"text_threshold"`
	// ReopenGrace: a member firing again this soon after its incident
	// resolved reopens it instead of opening a new incident.
	ReopenGrace Duration `yaml:"reopen_grace"`
	// FlapWindow and FlapCount: an alert that fires again FlapCount times
	// within FlapWindow is flapping; it keeps returning to its incident.
	FlapWindow Duration `yaml:"flap_window"`
	FlapCount  int      `yaml:"flap_count"`
	// ProblemCount incidents with one signature within ProblemWindow are
	// linked under a problem.
	ProblemCount  int      `yaml:"problem_count"`
	ProblemWindow Duration `yaml:"problem_window"`
	// NoiseMaxCompany and NoiseMinEpisodes: an alert name seen in at least
	// NoiseMinEpisodes incidents, fewer than NoiseMaxCompany (0..1) of
	// which held other alerts, is background noise and is not correlated
	// by topology, infrastructure or text (label grouping still applies).
	// NoiseMaxCompany 0 disables this; unset means 0.5 and 5 episodes.
	NoiseMaxCompany  *float64 `yaml:"noise_max_company"`
	NoiseMinEpisodes int      `yaml:"noise_min_episodes"`
	// NoiseFastEpisodes: a name that fired alone in every one of at least
	// NoiseFastEpisodes episodes is background noise already, before
	// NoiseMinEpisodes: large rule sets have hundreds of rarely firing
	// names, most of them background, that would otherwise hardly ever be
	// seen often enough. Until NoiseMinEpisodes are counted the verdict is
	// tentative: each further episode is checked (see Engine.probe) and one
	// with company ends it. Unset means 3; noise_min_episodes or more turns
	// this off.
	NoiseFastEpisodes int `yaml:"noise_fast_episodes"`
	// NoiseExempt lists alert names never treated as background noise,
	// whatever their statistics say.
	NoiseExempt []string `yaml:"noise_exempt"`
	// MoveOnRecovery: a resolved symptom moves to the concurrent fault
	// whose root cause recovered with it when its own did not (see
	// recovery.go). Unset means true.
	MoveOnRecovery *bool `yaml:"move_on_recovery"`
	// Retention: resolved incidents and alerts older than this are dropped
	// from the live state (history keeps them).
	Retention Duration `yaml:"retention"`
	// Observers name monitoring components (exporters, probes) that appear
	// in the topology label (or are the label's value) without being the
	// service an alert is about; WorkloadLabels are where such alerts name
	// their workload (see identity.go). Defaults fit the Prometheus
	// Operator and node/blackbox/snmp exporters; [] turns either off.
	Observers      []string `yaml:"observers"`
	WorkloadLabels []string `yaml:"workload_labels"`
	// Roles give alerts a role (cause, symptom, none) by Alertmanager
	// matchers; CauseWords and SymptomWords seed the roles of the others
	// (see roles.go).
	Roles        []RoleRule `yaml:"roles"`
	CauseWords   []string   `yaml:"cause_words"`
	SymptomWords []string   `yaml:"symptom_words"`
	// ChangeWindow: a change (POST /api/v1/changes) made this long before
	// an incident started, on its root-cause service or a service that one
	// depends on, is root-cause evidence. Default 30m.
	ChangeWindow Duration `yaml:"change_window"`
	// PlacementTTL: how long a service or workload is taken to still run
	// where its alerts last said (an infra label), for its alerts that say
	// nothing of where they run (see placement.go). Default 24h; negative:
	// placements are not learned.
	PlacementTTL Duration `yaml:"placement_ttl"`
	// Signals weigh the evidence that joins an alert to an incident (see
	// signals.go); the defaults are the weights Sift was tuned with.
	Signals Signals `yaml:"signals"`
}

// Topology is the service dependency graph.
type Topology struct {
	// Label names the service an alert belongs to.
	Label string `yaml:"label"`
	// DependsOn maps a service to the services it calls / depends on.
	DependsOn map[string][]string `yaml:"depends_on"`
	// ServiceGraph, when set, adds the edges of a service graph read from
	// Prometheus (see learned.go).
	ServiceGraph *ServiceGraph `yaml:"service_graph"`
}

// WithDefaults returns c with unset fields at their defaults.
func (c Config) WithDefaults() Config {
	if c.MaxAlertsPerIncident == 0 {
		c.MaxAlertsPerIncident = DefaultMaxAlertsPerIncident
	}
	if c.Window == 0 {
		c.Window = Duration(5 * time.Minute)
	}
	if c.Horizon == 0 {
		c.Horizon = 3 * c.Window
	}
	if c.GroupBy == nil {
		c.GroupBy = []string{"alertname", "service"}
	}
	if c.InfraLabels == nil {
		c.InfraLabels = []string{"host", "node"}
	}
	if c.MaxHops == 0 {
		c.MaxHops = 2
	}
	if c.TextThreshold == nil {
		v := 0.7
		c.TextThreshold = &v
	}
	if c.MoveOnRecovery == nil {
		v := true
		c.MoveOnRecovery = &v
	}
	if c.NoiseMaxCompany == nil {
		v := 0.5
		c.NoiseMaxCompany = &v
	}
	if c.NoiseMinEpisodes == 0 {
		c.NoiseMinEpisodes = 5
	}
	if c.NoiseFastEpisodes == 0 {
		c.NoiseFastEpisodes = 3
	}
	if c.ReopenGrace == 0 {
		c.ReopenGrace = Duration(15 * time.Minute)
	}
	if c.FlapWindow == 0 {
		c.FlapWindow = Duration(time.Hour)
	}
	if c.FlapCount == 0 {
		c.FlapCount = 3
	}
	if c.ProblemCount == 0 {
		c.ProblemCount = 3
	}
	if c.ProblemWindow == 0 {
		c.ProblemWindow = Duration(7 * 24 * time.Hour)
	}
	if c.Retention == 0 {
		c.Retention = Duration(7 * 24 * time.Hour)
	}
	if c.Observers == nil {
		c.Observers = DefaultObservers
	}
	if c.WorkloadLabels == nil {
		c.WorkloadLabels = DefaultWorkloadLabels
	}
	if c.CauseWords == nil {
		c.CauseWords = DefaultCauseWords
	}
	if c.SymptomWords == nil {
		c.SymptomWords = DefaultSymptomWords
	}
	if c.ChangeWindow == 0 {
		c.ChangeWindow = Duration(30 * time.Minute)
	}
	if c.PlacementTTL == 0 {
		c.PlacementTTL = Duration(24 * time.Hour)
	}
	c.Signals = c.Signals.withDefaults()
	return c
}

// Validate reports the first invalid setting.
// DefaultMaxAlertsPerIncident is the default of max_alerts_per_incident.
const DefaultMaxAlertsPerIncident = 10_000

func (c Config) Validate() error {
	if c.MaxAlertsPerIncident < 0 {
		return fmt.Errorf("correlate.max_alerts_per_incident: must not be negative")
	}
	if _, err := compileRoles(c.Roles); err != nil {
		return err
	}
	for _, r := range c.IDPrefix {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return fmt.Errorf("correlate.id_prefix: %q may hold only letters, digits, - and _", c.IDPrefix)
		}
	}
	switch {
	case c.Window < 0:
		return fmt.Errorf("correlate.window: must not be negative")
	case c.Horizon < 0:
		return fmt.Errorf("correlate.horizon: must not be negative")
	case c.MaxHops < 0:
		return fmt.Errorf("correlate.max_hops: must not be negative")
	case c.TextThreshold != nil && (*c.TextThreshold < 0 || *c.TextThreshold > 1):
		return fmt.Errorf("correlate.text_threshold: must be between 0 and 1, got %v", *c.TextThreshold)
	case c.NoiseMaxCompany != nil && (*c.NoiseMaxCompany < 0 || *c.NoiseMaxCompany > 1):
		return fmt.Errorf("correlate.noise_max_company: must be between 0 and 1, got %v", *c.NoiseMaxCompany)
	case c.NoiseMinEpisodes < 0:
		return fmt.Errorf("correlate.noise_min_episodes: must not be negative")
	case c.NoiseFastEpisodes < 0:
		return fmt.Errorf("correlate.noise_fast_episodes: must not be negative")
	case c.FlapCount < 0:
		return fmt.Errorf("correlate.flap_count: must not be negative")
	case c.ProblemCount < 0:
		return fmt.Errorf("correlate.problem_count: must not be negative")
	}
	if err := c.Signals.validate(); err != nil {
		return err
	}
	for i, n := range c.NoiseExempt {
		if n == "" {
			return fmt.Errorf("correlate.noise_exempt[%d]: empty alert name", i)
		}
	}
	for i, l := range c.GroupBy {
		if l == "" {
			return fmt.Errorf("correlate.group_by[%d]: empty label name", i)
		}
	}
	return nil
}

// WithDefaults fills in the topology label.
func (t Topology) WithDefaults() Topology {
	if t.Label == "" {
		t.Label = "service"
	}
	return t
}

// Validate checks the graph for empty names and self loops.
func (t Topology) Validate() error {
	names := make([]string, 0, len(t.DependsOn))
	for s := range t.DependsOn {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		if s == "" {
			return fmt.Errorf("topology.depends_on: empty service name")
		}
		for i, d := range t.DependsOn[s] {
			if d == "" {
				return fmt.Errorf("topology.depends_on.%s[%d]: empty service name", s, i)
			}
			if d == s {
				return fmt.Errorf("topology.depends_on.%s[%d]: service depends on itself", s, i)
			}
		}
	}
	return nil
}
