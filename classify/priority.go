package classify

import (
	"fmt"

	"github.com/sift-aiops/sift/model"
)

var levelRank = map[string]int{LevelLow: 1, LevelMedium: 2, LevelHigh: 3}
var critRank = map[string]int{CritLow: 1, CritMedium: 2, CritHigh: 3, CritCritical: 4}

// PriorityDecision is how the matrix reached a priority.
type PriorityDecision struct {
	Priority    string
	Impact      string
	Urgency     string
	Severity    string // the highest severity seen
	Criticality string // the highest criticality of the services affected
	Services    int    // services affected (blast radius)
	Hosts       int    // hosts affected (blast radius)
}

// Why renders the decision for Classification.Sources.
func (d PriorityDecision) Why() string {
	return fmt.Sprintf("priority: matrix impact=%s urgency=%s (severity=%s criticality=%s services=%d hosts=%d)",
		d.Impact, d.Urgency, orNone(d.Severity), d.Criticality, d.Services, d.Hosts)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// affected returns the services and hosts an incident touches.
func (c *Config) affected(inc *model.Incident, alerts []model.AlertState) (services, hosts []string) {
	sv, hs := map[string]bool{}, map[string]bool{}
	if inc != nil {
		for _, s := range inc.Services {
			sv[s] = true
		}
		for _, m := range inc.Members {
			if m.Service != "" {
				sv[m.Service] = true
			}
		}
	}
	for i := range alerts {
		if s := alerts[i].Labels[c.ServiceLabel]; s != "" {
			sv[s] = true
		}
		for _, l := range c.Priority.BlastRadius.HostLabels {
			if h := alerts[i].Labels[l]; h != "" {
				hs[l+"="+h] = true
			}
		}
	}
	delete(sv, "")
	return sortedKeys(sv), sortedKeys(hs)
}

// prioritize applies the impact × urgency matrix (c must have defaults).
func (c *Config) prioritize(inc *model.Incident, alerts []model.AlertState) PriorityDecision {
	p := &c.Priority
	var d PriorityDecision
	// urgency: the most urgent severity among the alerts and the incident
	d.Urgency = ""
	consider := func(sev string) {
		u, ok := p.Urgency[sev]
		if !ok {
			u = p.DefaultUrgency
		}
		if levelRank[u] > levelRank[d.Urgency] || (levelRank[u] == levelRank[d.Urgency] && d.Severity == "" && sev != "") {
			d.Urgency, d.Severity = u, sev
		}
	}
	if inc != nil && inc.Severity != "" {
		consider(inc.Severity)
	}
	for i := range alerts {
		consider(alerts[i].Labels[p.SeverityLabel])
	}
	if d.Urgency == "" {
		d.Urgency = p.DefaultUrgency
	}
	// impact: service criticality, raised by blast radius
	services, hosts := c.affected(inc, alerts)
	d.Services, d.Hosts = len(services), len(hosts)
	d.Criticality = p.DefaultCriticality
	best := 0
	for _, s := range services {
		cr := c.Services[s].Criticality
		if cr == "" {
			cr = p.DefaultCriticality
		}
		if critRank[cr] > best {
			best, d.Criticality = critRank[cr], cr
		}
	}
	d.Impact = p.Criticality[d.Criticality]
	b := p.BlastRadius
	blast := LevelLow
	switch {
	case (b.HighServices > 0 && d.Services >= b.HighServices) || (b.HighHosts > 0 && d.Hosts >= b.HighHosts):
		blast = LevelHigh
	case (b.MediumServices > 0 && d.Services >= b.MediumServices) || (b.MediumHosts > 0 && d.Hosts >= b.MediumHosts):
		blast = LevelMedium
	}
	if levelRank[blast] > levelRank[d.Impact] {
		d.Impact = blast
	}
	d.Priority = p.Matrix[d.Impact][d.Urgency]
	return d
}
