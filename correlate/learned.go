package correlate

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/sift-aiops/sift/model"
)

// Learned topology: dependency edges that come from outside the
// configuration, e.g. the service graph that Tempo or the OpenTelemetry
// Collector derive from traces (traces_service_graph_request_total with
// client and server labels), read from Prometheus. They arrive as
// journaled actions (one per source, each replacing that source's earlier
// edges), so a replay correlates with the graph the live engine had at
// the same moment. The configured depends_on always stays.

// ServiceGraph reads dependency edges from a Prometheus query API
// (topology.service_graph; see ingest/servicegraph).
type ServiceGraph struct {
	// PrometheusURL is the base URL of a Prometheus (or compatible) API.
	PrometheusURL string `yaml:"prometheus_url"`
	// Query returns one series per edge with the client and server labels
	// (default: sum by (client, server) (increase(traces_service_graph_request_total[1h])) > 0).
	Query string `yaml:"query"`
	// ClientLabel and ServerLabel name the labels of the two ends
	// (default client, server): the client depends on the server.
	ClientLabel string `yaml:"client_label"`
	ServerLabel string `yaml:"server_label"`
	// Interval between reads (default 5m).
	Interval Duration `yaml:"interval"`
}

// checkTopology validates a topology update.
func checkTopology(a *model.Action) error {
	u := a.Topology
	if u == nil || u.Source == "" {
		return fmt.Errorf("topology: source missing")
	}
	for s, deps := range u.DependsOn {
		if s == "" {
			return fmt.Errorf("topology %s: empty service name", u.Source)
		}
		for _, d := range deps {
			if d == "" {
				return fmt.Errorf("topology %s: %s depends on an empty name", u.Source, s)
			}
		}
	}
	return nil
}

// applyTopology replaces the edges of the update's source and rebuilds
// the graphs.
func (e *Engine) applyTopology(a *model.Action) {
	u := a.Topology
	if e.learned == nil {
		e.learned = map[string]map[string][]string{}
	}
	edges := make(map[string][]string, len(u.DependsOn))
	for s, deps := range u.DependsOn {
		edges[s] = slices.Clone(deps)
	}
	e.learned[u.Source] = edges
	e.rebuildGraphs()
}

// rebuildGraphs makes the graphs from the configured and learned edges.
func (e *Engine) rebuildGraphs() {
	eff := e.EffectiveTopology()
	e.near = newGraph(eff, e.cfg.MaxHops)
	e.full = newGraph(eff, 1<<20)
}

// EffectiveTopology is the configured topology with the learned edges
// added (each dependency list sorted, without duplicates or self loops).
func (e *Engine) EffectiveTopology() Topology {
	t := Topology{Label: e.topo.Label, DependsOn: map[string][]string{}}
	add := func(s string, deps []string) {
		for _, d := range deps {
			if d != s {
				t.DependsOn[s] = append(t.DependsOn[s], d)
			}
		}
	}
	for s, deps := range e.topo.DependsOn {
		add(s, deps)
	}
	for _, src := range slices.Sorted(maps.Keys(e.learned)) {
		for s, deps := range e.learned[src] {
			add(s, deps)
		}
	}
	for s, deps := range t.DependsOn {
		sort.Strings(deps)
		t.DependsOn[s] = slices.Compact(deps)
	}
	return t
}

// LearnedTopology returns the learned edges by source.
func (e *Engine) LearnedTopology() map[string]map[string][]string {
	out := make(map[string]map[string][]string, len(e.learned))
	for src, edges := range e.learned {
		c := make(map[string][]string, len(edges))
		for s, d := range edges {
			c[s] = slices.Clone(d)
		}
		out[src] = c
	}
	return out
}
