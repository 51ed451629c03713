package correlate

import (
	"slices"
	"sort"
)

// graph answers "how far apart are two services along dependency edges".
type graph struct {
	// down[s][t] = hops of the shortest path s -> ... -> t following
	// depends_on edges (s depends on t, directly or through others).
	down map[string]map[string]int
	// known holds every service the topology names.
	known map[string]bool
	// called holds the services some other service depends on.
	called map[string]bool
	// entries lists, sorted, the entry points of the call graph: the
	// services the topology knows that nothing depends on (what users
	// reach).
	entries []string
}

func newGraph(t Topology, maxHops int) *graph {
	g := &graph{down: map[string]map[string]int{}, known: map[string]bool{}, called: map[string]bool{}}
	for s, deps := range t.DependsOn {
		g.known[s] = true
		for _, d := range deps {
			g.known[d] = true
			if d != s {
				g.called[d] = true
			}
		}
	}
	for s := range g.known {
		if !g.called[s] {
			g.entries = append(g.entries, s)
		}
	}
	slices.Sort(g.entries)
	for s := range t.DependsOn {
		dist := map[string]int{}
		frontier := []string{s}
		for hop := 1; hop <= maxHops && len(frontier) > 0; hop++ {
			var next []string
			for _, u := range frontier {
				for _, v := range t.DependsOn[u] {
					if _, seen := dist[v]; seen || v == s {
						continue
					}
					dist[v] = hop
					next = append(next, v)
				}
			}
			frontier = next
		}
		g.down[s] = dist
	}
	return g
}

// dependsOn reports whether a depends on b (a calls b, directly or
// transitively within the hop bound) and how many hops apart they are.
func (g *graph) dependsOn(a, b string) (int, bool) {
	h, ok := g.down[a][b]
	return h, ok
}

// distance is the hop count of a directed path between a and b in either
// direction; siblings that merely share a dependency are not related.
func (g *graph) distance(a, b string) (int, bool) {
	if a == b {
		return 0, true
	}
	h1, ok1 := g.down[a][b]
	h2, ok2 := g.down[b][a]
	switch {
	case ok1 && ok2:
		return min(h1, h2), true
	case ok1:
		return h1, true
	case ok2:
		return h2, true
	}
	return 0, false
}

// unrelated reports whether the topology names both services and no
// dependency path joins them in either direction.
func (g *graph) unrelated(a, b string) bool {
	if !g.known[a] || !g.known[b] {
		return false
	}
	_, ok := g.distance(a, b)
	return !ok
}

// related lists the services within the hop bound of s (either
// direction), sorted by name for determinism.
func (g *graph) related(s string) []string {
	set := map[string]bool{}
	for t := range g.down[s] {
		set[t] = true
	}
	for u, d := range g.down {
		if _, ok := d[s]; ok {
			set[u] = true
		}
	}
	out := make([]string, 0, len(set))
	for t := range set {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}
