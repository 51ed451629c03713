package tickets

import (
	"fmt"
	"sort"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
)

// SLATarget is the response and resolution time of one priority.
type SLATarget struct {
	Respond correlate.Duration `yaml:"respond"`
	Resolve correlate.Duration `yaml:"resolve"`
}

// SLAConfig is the sla: section. Policies map a priority to its targets;
// teams and services override them (a service's policy wins over its
// team's, which wins over the global one). With no sla: section the
// defaults below apply; `enabled: false` turns SLAs off.
//
//	sla:
//	  policies: {P1: {respond: 15m, resolve: 4h}, P2: {respond: 30m, resolve: 8h}}
//	  teams:    {payments: {P1: {respond: 5m, resolve: 1h}}}
//	  services: {checkout: {P1: {respond: 5m, resolve: 2h}}}
type SLAConfig struct {
	Enabled  *bool                           `yaml:"enabled"`
	Policies map[string]SLATarget            `yaml:"policies"`
	Teams    map[string]map[string]SLATarget `yaml:"teams"`
	Services map[string]map[string]SLATarget `yaml:"services"`
}

// DefaultSLAPolicies are the targets used when no sla: section is given
// (common ITSM practice; set your own).
var DefaultSLAPolicies = map[string]SLATarget{
	"P1": {Respond: correlate.Duration(15 * time.Minute), Resolve: correlate.Duration(4 * time.Hour)},
	"P2": {Respond: correlate.Duration(30 * time.Minute), Resolve: correlate.Duration(8 * time.Hour)},
	"P3": {Respond: correlate.Duration(4 * time.Hour), Resolve: correlate.Duration(24 * time.Hour)},
	"P4": {Respond: correlate.Duration(8 * time.Hour), Resolve: correlate.Duration(72 * time.Hour)},
	"P5": {Respond: correlate.Duration(24 * time.Hour), Resolve: correlate.Duration(7 * 24 * time.Hour)},
}

// On reports whether SLA clocks run.
func (c SLAConfig) On() bool { return c.Enabled == nil || *c.Enabled }

// Validate reports the first bad setting, naming it.
func (c SLAConfig) Validate() error {
	check := func(where string, m map[string]SLATarget) error {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, p := range keys {
			t := m[p]
			if p == "" {
				return fmt.Errorf("%s: empty priority", where)
			}
			if t.Respond < 0 || t.Resolve < 0 {
				return fmt.Errorf("%s.%s: targets must not be negative", where, p)
			}
			if t.Respond == 0 && t.Resolve == 0 {
				return fmt.Errorf("%s.%s: set respond, resolve or both (e.g. {respond: 15m, resolve: 4h})", where, p)
			}
			if t.Resolve > 0 && t.Respond > t.Resolve {
				return fmt.Errorf("%s.%s: respond (%s) is after resolve (%s)", where, p, time.Duration(t.Respond), time.Duration(t.Resolve))
			}
		}
		return nil
	}
	if err := check("sla.policies", c.Policies); err != nil {
		return err
	}
	for name, m := range c.Teams {
		if err := check("sla.teams."+name, m); err != nil {
			return err
		}
	}
	for name, m := range c.Services {
		if err := check("sla.services."+name, m); err != nil {
			return err
		}
	}
	return nil
}

// Policy returns the policy the engine applies, or nil when SLAs are off.
func (c SLAConfig) Policy() correlate.SLAPolicy {
	if !c.On() {
		return nil
	}
	if c.Policies == nil && c.Teams == nil && c.Services == nil {
		c.Policies = DefaultSLAPolicies
	}
	return slaPolicy{c}
}

type slaPolicy struct{ c SLAConfig }

// Targets implements correlate.SLAPolicy: the first service (root cause
// first) with a policy for the priority, then the team, then the global
// policies.
func (p slaPolicy) Targets(priority, team string, services []string) (model.SLATargets, bool) {
	for _, s := range services {
		if t, ok := p.c.Services[s][priority]; ok {
			return model.SLATargets{Policy: "service " + s + " " + priority, Respond: time.Duration(t.Respond), Resolve: time.Duration(t.Resolve)}, true
		}
	}
	if t, ok := p.c.Teams[team][priority]; ok && team != "" {
		return model.SLATargets{Policy: "team " + team + " " + priority, Respond: time.Duration(t.Respond), Resolve: time.Duration(t.Resolve)}, true
	}
	if t, ok := p.c.Policies[priority]; ok {
		return model.SLATargets{Policy: priority, Respond: time.Duration(t.Respond), Resolve: time.Duration(t.Resolve)}, true
	}
	return model.SLATargets{}, false
}
