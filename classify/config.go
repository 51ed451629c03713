// Package classify decides, for every incident, which team owns it, what
// category it is, what priority it has and how sure that is, and finds
// the similar past incidents that say how it was resolved.
//
// Decisions are taken in this order: an Alertmanager-style routing tree of
// label matchers (rules), then the service owner from the taxonomy (which
// a k-nearest-neighbour vote over a bleve (BM25) index of past incidents
// overrules only when it is nearly unanimous, so that agents' corrections
// are learned), then the kNN vote, then a fallback. Priority comes from an ITIL impact × urgency
// matrix, unless a route sets it.
package classify

import (
	"fmt"
	"sort"
	"strings"
)

// Criticality levels of a service.
const (
	CritLow      = "low"
	CritMedium   = "medium"
	CritHigh     = "high"
	CritCritical = "critical"
)

// Impact and urgency levels.
const (
	LevelLow    = "low"
	LevelMedium = "medium"
	LevelHigh   = "high"
)

// Config is the `classify:` section of the configuration file. The zero
// value works: no routes, no taxonomy, the ITIL default matrix and an
// in-memory kNN index.
type Config struct {
	// Teams and Categories are the taxonomy. When non-empty, every team or
	// category named elsewhere (routes, services, imports, feedback) must
	// be in them.
	Teams      []string `yaml:"teams"`
	Categories []string `yaml:"categories"`
	// Services maps a service name (the value of ServiceLabel) to its
	// owning team and criticality.
	Services map[string]Service `yaml:"services"`
	// ServiceLabel is the alert label naming the service (default "service").
	ServiceLabel string `yaml:"service_label"`
	// FallbackTeam and FallbackCategory are used when nothing decides
	// (default "" for both: unassigned).
	FallbackTeam     string `yaml:"fallback_team"`
	FallbackCategory string `yaml:"fallback_category"`
	// Route is the root of the routing tree. Its own matchers must be empty:
	// it matches every alert, as Alertmanager's root route does.
	Route    *Route         `yaml:"route"`
	Priority PriorityConfig `yaml:"priority"`
	KNN      KNNConfig      `yaml:"knn"`
}

// Service is one entry of the taxonomy.
type Service struct {
	Team        string `yaml:"team"`
	Criticality string `yaml:"criticality"` // low|medium|high|critical
}

// Route is one node of the routing tree (Alertmanager semantics: a route
// matches when all its matchers match; the first matching child wins
// unless that child has continue: true; children inherit unset fields).
type Route struct {
	Name     string   `yaml:"name"`
	Matchers []string `yaml:"matchers"`
	Team     string   `yaml:"team"`
	Category string   `yaml:"category"`
	Priority string   `yaml:"priority"` // P1..P5 (or any name used in the matrix); overrides the matrix
	Continue bool     `yaml:"continue"`
	Routes   []*Route `yaml:"routes"`
}

// PriorityConfig is the impact × urgency matrix and its inputs.
type PriorityConfig struct {
	// SeverityLabel is the alert label giving severity (default "severity").
	SeverityLabel string `yaml:"severity_label"`
	// Urgency maps a severity value to low|medium|high. Default:
	// critical/page/error/major -> high, warning/minor -> medium, info/none -> low.
	Urgency map[string]string `yaml:"urgency"`
	// DefaultUrgency applies to severities missing from Urgency (default low).
	DefaultUrgency string `yaml:"default_urgency"`
	// DefaultCriticality applies to services missing from the taxonomy
	// (default low).
	DefaultCriticality string `yaml:"default_criticality"`
	// Criticality maps a service criticality to an impact. Default:
	// low->low, medium->medium, high->high, critical->high.
	Criticality map[string]string `yaml:"criticality"`
	// BlastRadius raises impact with the number of services/hosts affected.
	BlastRadius BlastRadius `yaml:"blast_radius"`
	// Matrix maps impact -> urgency -> priority. Default: the ITIL matrix
	// (high/high P1, high/medium P2, high/low P3, medium/high P2,
	// medium/medium P3, medium/low P4, low/high P3, low/medium P4, low/low P5).
	Matrix map[string]map[string]string `yaml:"matrix"`
}

// BlastRadius thresholds: an incident touching at least MediumServices
// services (or MediumHosts hosts) has at least medium impact; at least
// HighServices (or HighHosts) high impact. A zero threshold is replaced by
// its default (services 2/3, hosts 2/5); a negative one disables it.
type BlastRadius struct {
	MediumServices int `yaml:"medium_services"`
	HighServices   int `yaml:"high_services"`
	MediumHosts    int `yaml:"medium_hosts"`
	HighHosts      int `yaml:"high_hosts"`
	// HostLabels name the labels counted as hosts (default host, node, instance).
	HostLabels []string `yaml:"host_labels"`
}

// KNNConfig tunes the learned classifier.
type KNNConfig struct {
	// K is the number of neighbours that vote (default 10).
	K int `yaml:"k"`
	// MinConfidence is the share of the weighted vote the winner needs for
	// kNN to decide (default 0.6).
	MinConfidence float64 `yaml:"min_confidence"`
	// IndexPath is the on-disk bleve index. Empty: a temporary index,
	// removed at Close (nothing learned survives a restart).
	IndexPath string `yaml:"index_path"`
	// Similar is how many similar past incidents a result lists (default 5).
	Similar int `yaml:"similar"`
	// IgnoreLabels are labels not indexed (high cardinality, no meaning).
	// Default: instance, pod, pod_name, container_id, uid, fingerprint.
	IgnoreLabels []string `yaml:"ignore_labels"`
	// PostingsBudget bounds the work of one search on a large index: query
	// terms are used rarest first while the postings they scan stay within
	// it (default 12000; the 4 rarest terms are always used).
	PostingsBudget int `yaml:"postings_budget"`
}

var defaultUrgency = map[string]string{
	"critical": LevelHigh, "page": LevelHigh, "error": LevelHigh, "major": LevelHigh, "emergency": LevelHigh,
	"warning": LevelMedium, "warn": LevelMedium, "minor": LevelMedium,
	"info": LevelLow, "none": LevelLow, "notice": LevelLow,
}

var defaultCriticality = map[string]string{
	CritLow: LevelLow, CritMedium: LevelMedium, CritHigh: LevelHigh, CritCritical: LevelHigh,
}

// DefaultMatrix returns the ITIL impact × urgency matrix.
func DefaultMatrix() map[string]map[string]string {
	return map[string]map[string]string{
		LevelHigh:   {LevelHigh: "P1", LevelMedium: "P2", LevelLow: "P3"},
		LevelMedium: {LevelHigh: "P2", LevelMedium: "P3", LevelLow: "P4"},
		LevelLow:    {LevelHigh: "P3", LevelMedium: "P4", LevelLow: "P5"},
	}
}

// WithDefaults returns c with unset fields at their defaults.
func (c Config) WithDefaults() Config {
	if c.ServiceLabel == "" {
		c.ServiceLabel = "service"
	}
	if c.Route == nil {
		c.Route = &Route{Name: "root"}
	}
	p := &c.Priority
	if p.SeverityLabel == "" {
		p.SeverityLabel = "severity"
	}
	if p.Urgency == nil {
		p.Urgency = defaultUrgency
	}
	if p.DefaultUrgency == "" {
		p.DefaultUrgency = LevelLow
	}
	if p.DefaultCriticality == "" {
		p.DefaultCriticality = CritLow
	}
	if p.Criticality == nil {
		p.Criticality = defaultCriticality
	}
	if p.Matrix == nil {
		p.Matrix = DefaultMatrix()
	}
	b := &p.BlastRadius
	for _, f := range []struct {
		v   *int
		def int
	}{{&b.MediumServices, 2}, {&b.HighServices, 3}, {&b.MediumHosts, 2}, {&b.HighHosts, 5}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if b.HostLabels == nil {
		b.HostLabels = []string{"host", "node", "instance"}
	}
	if c.KNN.K == 0 {
		c.KNN.K = 10
	}
	if c.KNN.MinConfidence == 0 {
		c.KNN.MinConfidence = 0.6
	}
	if c.KNN.Similar == 0 {
		c.KNN.Similar = 5
	}
	if c.KNN.PostingsBudget == 0 {
		c.KNN.PostingsBudget = defaultPostingsBudget
	}
	if c.KNN.IgnoreLabels == nil {
		c.KNN.IgnoreLabels = []string{"instance", "pod", "pod_name", "container_id", "uid", "fingerprint"}
	}
	return c
}

func isLevel(s string) bool { return s == LevelLow || s == LevelMedium || s == LevelHigh }

// Validate checks c. Errors start with the key path of the problem,
// e.g. "classify.route.routes[1].matchers[0]: invalid regex ...".
func (c Config) Validate() error {
	teams := set(c.Teams)
	cats := set(c.Categories)
	for i, t := range c.Teams {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("classify.teams[%d]: empty team name", i)
		}
	}
	for i, t := range c.Categories {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("classify.categories[%d]: empty category name", i)
		}
	}
	for _, name := range sortedKeys(c.Services) {
		s := c.Services[name]
		if s.Team != "" && len(teams) > 0 && !teams[s.Team] {
			return fmt.Errorf("classify.services.%s.team: %q is not one of classify.teams", name, s.Team)
		}
		switch s.Criticality {
		case "", CritLow, CritMedium, CritHigh, CritCritical:
		default:
			return fmt.Errorf("classify.services.%s.criticality: %q must be low, medium, high or critical", name, s.Criticality)
		}
	}
	if c.FallbackTeam != "" && len(teams) > 0 && !teams[c.FallbackTeam] {
		return fmt.Errorf("classify.fallback_team: %q is not one of classify.teams", c.FallbackTeam)
	}
	if c.FallbackCategory != "" && len(cats) > 0 && !cats[c.FallbackCategory] {
		return fmt.Errorf("classify.fallback_category: %q is not one of classify.categories", c.FallbackCategory)
	}
	d := c.WithDefaults()
	if err := d.Priority.validate("classify.priority"); err != nil {
		return err
	}
	prios := map[string]bool{}
	for _, row := range d.Priority.Matrix {
		for _, p := range row {
			prios[p] = true
		}
	}
	if c.Route != nil {
		if len(c.Route.Matchers) > 0 {
			return fmt.Errorf("classify.route.matchers: the root route must not have matchers (it matches every alert)")
		}
		if _, err := compileRoute(c.Route, "classify.route", nil, teams, cats, prios); err != nil {
			return err
		}
	}
	k := c.KNN
	if k.K < 0 {
		return fmt.Errorf("classify.knn.k: %d must be positive", k.K)
	}
	if k.MinConfidence < 0 || k.MinConfidence > 1 {
		return fmt.Errorf("classify.knn.min_confidence: %v must be between 0 and 1", k.MinConfidence)
	}
	if k.PostingsBudget < 0 {
		return fmt.Errorf("classify.knn.postings_budget: %d must not be negative", k.PostingsBudget)
	}
	if k.Similar < 0 {
		return fmt.Errorf("classify.knn.similar: %d must not be negative", k.Similar)
	}
	return nil
}

func (p PriorityConfig) validate(path string) error {
	for _, sev := range sortedKeys(p.Urgency) {
		if !isLevel(p.Urgency[sev]) {
			return fmt.Errorf("%s.urgency.%s: %q must be low, medium or high", path, sev, p.Urgency[sev])
		}
	}
	if !isLevel(p.DefaultUrgency) {
		return fmt.Errorf("%s.default_urgency: %q must be low, medium or high", path, p.DefaultUrgency)
	}
	switch p.DefaultCriticality {
	case CritLow, CritMedium, CritHigh, CritCritical:
	default:
		return fmt.Errorf("%s.default_criticality: %q must be low, medium, high or critical", path, p.DefaultCriticality)
	}
	for _, c := range sortedKeys(p.Criticality) {
		switch c {
		case CritLow, CritMedium, CritHigh, CritCritical:
		default:
			return fmt.Errorf("%s.criticality.%s: unknown criticality (want low, medium, high or critical)", path, c)
		}
		if !isLevel(p.Criticality[c]) {
			return fmt.Errorf("%s.criticality.%s: %q must be low, medium or high", path, c, p.Criticality[c])
		}
	}
	for _, c := range []string{CritLow, CritMedium, CritHigh, CritCritical} {
		if _, ok := p.Criticality[c]; !ok {
			return fmt.Errorf("%s.criticality: missing an impact for criticality %q", path, c)
		}
	}
	for _, imp := range []string{LevelHigh, LevelMedium, LevelLow} {
		if _, ok := p.Matrix[imp]; !ok {
			return fmt.Errorf("%s.matrix: missing impact row %q", path, imp)
		}
	}
	for _, imp := range []string{LevelHigh, LevelMedium, LevelLow} {
		row := p.Matrix[imp]
		for _, urg := range []string{LevelHigh, LevelMedium, LevelLow} {
			if row[urg] == "" {
				return fmt.Errorf("%s.matrix.%s: missing priority for urgency %q", path, imp, urg)
			}
		}
	}
	for _, imp := range sortedKeys(p.Matrix) {
		if !isLevel(imp) {
			return fmt.Errorf("%s.matrix.%s: impact must be low, medium or high", path, imp)
		}
		for _, urg := range sortedKeys(p.Matrix[imp]) {
			if !isLevel(urg) {
				return fmt.Errorf("%s.matrix.%s.%s: urgency must be low, medium or high", path, imp, urg)
			}
		}
	}
	b := p.BlastRadius
	if b.MediumServices > 0 && b.HighServices > 0 && b.HighServices < b.MediumServices {
		return fmt.Errorf("%s.blast_radius.high_services: %d is below medium_services %d", path, b.HighServices, b.MediumServices)
	}
	if b.MediumHosts > 0 && b.HighHosts > 0 && b.HighHosts < b.MediumHosts {
		return fmt.Errorf("%s.blast_radius.high_hosts: %d is below medium_hosts %d", path, b.HighHosts, b.MediumHosts)
	}
	return nil
}

func set(xs []string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
