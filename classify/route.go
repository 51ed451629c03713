package classify

import (
	"fmt"
	"strings"

	"github.com/sift-aiops/sift/model"
)

// Matcher is an Alertmanager label matcher (see model.Matcher).
type Matcher = model.Matcher

// MatchType is a matcher operator.
type MatchType = model.MatchType

// Matcher operators (Alertmanager syntax).
const (
	MatchEqual     = model.MatchEqual
	MatchNotEqual  = model.MatchNotEqual
	MatchRegexp    = model.MatchRegexp
	MatchNotRegexp = model.MatchNotRegexp
)

// ParseMatcher parses one matcher (see model.ParseMatcher).
func ParseMatcher(s string) (*Matcher, error) { return model.ParseMatcher(s) }

// Router is a compiled routing tree. It is immutable and safe for
// concurrent use.
type Router struct{ root *routeNode }

type routeNode struct {
	name     string // Route.Name, or its key path when unnamed
	matchers []*Matcher
	cont     bool
	children []*routeNode
	parent   *routeNode
	// effective (inherited) fields and the name of the route that set each
	team, category, priority         string
	teamFrom, categoryFrom, prioFrom string
}

// NewRouter compiles cfg.Route (after defaults). Errors name the key path.
func NewRouter(cfg Config) (*Router, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	root, err := compileRoute(cfg.Route, "classify.route", nil, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	return &Router{root: root}, nil
}

func compileRoute(r *Route, path string, parent *routeNode, teams, cats, prios map[string]bool) (*routeNode, error) {
	if r == nil {
		return nil, fmt.Errorf("%s: empty route", path)
	}
	n := &routeNode{name: r.Name, cont: r.Continue, parent: parent}
	if n.name == "" {
		n.name = path
	}
	if parent != nil {
		n.team, n.teamFrom = parent.team, parent.teamFrom
		n.category, n.categoryFrom = parent.category, parent.categoryFrom
		n.priority, n.prioFrom = parent.priority, parent.prioFrom
	}
	if r.Team != "" {
		if len(teams) > 0 && !teams[r.Team] {
			return nil, fmt.Errorf("%s.team: %q is not one of classify.teams", path, r.Team)
		}
		n.team, n.teamFrom = r.Team, n.name
	}
	if r.Category != "" {
		if len(cats) > 0 && !cats[r.Category] {
			return nil, fmt.Errorf("%s.category: %q is not one of classify.categories", path, r.Category)
		}
		n.category, n.categoryFrom = r.Category, n.name
	}
	if r.Priority != "" {
		if len(prios) > 0 && !prios[r.Priority] {
			return nil, fmt.Errorf("%s.priority: %q is not a priority of the matrix", path, r.Priority)
		}
		n.priority, n.prioFrom = r.Priority, n.name
	}
	for i, s := range r.Matchers {
		m, err := ParseMatcher(s)
		if err != nil {
			return nil, fmt.Errorf("%s.matchers[%d]: %v", path, i, err)
		}
		n.matchers = append(n.matchers, m)
	}
	for i, c := range r.Routes {
		cn, err := compileRoute(c, fmt.Sprintf("%s.routes[%d]", path, i), n, teams, cats, prios)
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, cn)
	}
	return n, nil
}

// RouteMatch is one route an alert was routed to, with the path from the
// root and the matchers that matched on each step.
type RouteMatch struct {
	Path     []string // route names from the root to the matched route
	Why      []string // per step below the root: `name: matcher (label="value")`, ...
	Team     string
	Category string
	Priority string
	// TeamFrom, CategoryFrom, PriorityFrom name the route that set each
	// field (the matched route or an ancestor it inherited from).
	TeamFrom, CategoryFrom, PriorityFrom string
}

// Name is the name of the matched route.
func (m RouteMatch) Name() string { return m.Path[len(m.Path)-1] }

// IsRoot reports whether only the root (default) route matched.
func (m RouteMatch) IsRoot() bool { return len(m.Path) == 1 }

// Match routes labels through the tree with Alertmanager semantics and
// returns every matched route (more than one only with continue). The
// root always matches, so the result is never empty.
func (r *Router) Match(labels model.LabelSet) []RouteMatch {
	nodes := r.root.match(labels)
	out := make([]RouteMatch, 0, len(nodes))
	for _, n := range nodes {
		var chain []*routeNode
		for p := n; p != nil; p = p.parent {
			chain = append([]*routeNode{p}, chain...)
		}
		m := RouteMatch{Team: n.team, Category: n.category, Priority: n.priority,
			TeamFrom: n.teamFrom, CategoryFrom: n.categoryFrom, PriorityFrom: n.prioFrom}
		for _, c := range chain {
			m.Path = append(m.Path, c.name)
			if c.parent == nil {
				continue
			}
			var parts []string
			for _, mt := range c.matchers {
				v, ok := labels[mt.Name]
				if ok {
					parts = append(parts, fmt.Sprintf("%s (%s=%q)", mt, mt.Name, v))
				} else {
					parts = append(parts, fmt.Sprintf("%s (%s absent)", mt, mt.Name))
				}
			}
			if len(parts) == 0 {
				parts = []string{"no matchers: matches everything"}
			}
			m.Why = append(m.Why, c.name+": "+strings.Join(parts, ", "))
		}
		out = append(out, m)
	}
	return out
}

func (n *routeNode) match(labels model.LabelSet) []*routeNode {
	for _, m := range n.matchers {
		if !m.Matches(labels) {
			return nil
		}
	}
	var all []*routeNode
	for _, c := range n.children {
		ms := c.match(labels)
		all = append(all, ms...)
		if ms != nil && !c.cont {
			break
		}
	}
	if len(all) == 0 {
		all = append(all, n)
	}
	return all
}
