package classify

import (
	"strings"
	"testing"

	"github.com/sift-aiops/sift/model"
)

func TestParseMatcher(t *testing.T) {
	cases := []struct {
		in          string
		typ         MatchType
		name, value string
	}{
		{`severity="critical"`, MatchEqual, "severity", "critical"},
		{`severity=critical`, MatchEqual, "severity", "critical"},
		{` service != "x" `, MatchNotEqual, "service", "x"},
		{`severity=~"crit.*"`, MatchRegexp, "severity", "crit.*"},
		{`env!~"dev|test"`, MatchNotRegexp, "env", "dev|test"},
		{`{team="a\"b"}`, MatchEqual, "team", `a"b`},
		{`x=""`, MatchEqual, "x", ""},
	}
	for _, c := range cases {
		m, err := ParseMatcher(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if m.Type != c.typ || m.Name != c.name || m.Value != c.value {
			t.Errorf("%s: got %s %q %q", c.in, m.Name, m.Type, m.Value)
		}
	}
	bad := map[string]string{
		``:                  "empty",
		`severity`:          "no operator",
		`1abc="x"`:          "invalid label name",
		`sev=~"crit(.*"`:    "invalid regex",
		`sev="unterminated`: "badly quoted",
		`a=b,c=d`:           "one matcher per list entry",
		`sev~"x"`:           "no operator",
		`sev!"x"`:           "invalid operator",
	}
	for in, want := range bad {
		_, err := ParseMatcher(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMatcher(%q) = %v, want error containing %q", in, err, want)
		}
	}
}

func TestMatcherSemantics(t *testing.T) {
	ls := model.LabelSet{"severity": "critical", "service": "api"}
	for in, want := range map[string]bool{
		`severity=~"crit.*"`: true,
		`severity=~"crit"`:   false, // anchored
		`severity=~"rit.*"`:  false, // anchored at the start too
		`severity!~"warn.*"`: true,
		`service!="x"`:       true,
		`service!="api"`:     false,
		`missing=""`:         true, // absent label is ""
		`missing!=""`:        false,
		`missing=~".*"`:      true,
		`missing=~".+"`:      false,
		`service="api"`:      true,
	} {
		m, err := ParseMatcher(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Matches(ls); got != want {
			t.Errorf("%s on %s = %v, want %v", in, ls, got, want)
		}
	}
}

func routeTree() Config {
	return Config{
		Teams:      []string{"web", "dba", "platform", "oncall", "security"},
		Categories: []string{"availability", "performance", "capacity", "security"},
		Route: &Route{
			Name: "root", Team: "oncall", Category: "availability",
			Routes: []*Route{
				{Name: "databases", Matchers: []string{`service=~"mysql|postgres.*"`}, Team: "dba",
					Routes: []*Route{
						{Name: "db-slow", Matchers: []string{`alertname=~".*Slow.*"`}, Category: "performance"},
						{Name: "db-disk", Matchers: []string{`alertname=~".*Disk.*"`}, Category: "capacity", Priority: "P2"},
					}},
				{Name: "audit", Matchers: []string{`alertname=~"Cert.*"`}, Team: "security", Category: "security", Continue: true},
				{Name: "frontend", Matchers: []string{`service="frontend"`, `env!="dev"`}, Team: "web"},
				{Name: "not-critical", Matchers: []string{`severity!~"crit.*"`}, Priority: "P5"},
				{Name: "kube", Matchers: []string{`namespace=~"kube-.*"`}, Team: "platform"},
			},
		},
	}
}

func names(ms []RouteMatch) []string {
	var out []string
	for _, m := range ms {
		out = append(out, strings.Join(m.Path, ">"))
	}
	return out
}

func TestRouterSemantics(t *testing.T) {
	r, err := NewRouter(routeTree())
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		paths                    string
		team, category, priority string
		teamFrom                 string
	}
	cases := []struct {
		labels string
		want   want
	}{
		// =~ match, then first matching child with inheritance of team from parent
		{`service=postgres-main,alertname=PostgresSlowQueries,severity=critical`,
			want{"root>databases>db-slow", "dba", "performance", "", "databases"}},
		{`service=mysql,alertname=MysqlDiskFull,severity=critical`,
			want{"root>databases>db-disk", "dba", "capacity", "P2", "databases"}},
		// parent matches, no child: the parent itself
		{`service=mysql,alertname=MysqlDown,severity=critical`,
			want{"root>databases", "dba", "availability", "", "databases"}},
		// continue: audit matches and evaluation goes on to frontend
		{`service=frontend,alertname=CertExpiring,severity=critical`,
			want{"root>audit|root>frontend", "security", "security", "", "audit"}},
		// != : env=dev excludes frontend; falls to not-critical (!~) which wins before kube
		{`service=frontend,env=dev,alertname=HighLatency,severity=warning,namespace=kube-system`,
			want{"root>not-critical", "oncall", "availability", "P5", "root"}},
		// !~ does not match critical; kube does
		{`alertname=KubeNodeNotReady,severity=critical,namespace=kube-system`,
			want{"root>kube", "platform", "availability", "", "kube"}},
		// nothing matches: default (root) route
		{`alertname=Other,severity=critical`,
			want{"root", "oncall", "availability", "", "root"}},
		// anchored regex: "mysql2" does not match mysql|postgres.*
		{`service=mysql2,severity=critical`,
			want{"root", "oncall", "availability", "", "root"}},
	}
	for _, c := range cases {
		ls, err := ParseLabels(c.labels)
		if err != nil {
			t.Fatal(err)
		}
		ms := r.Match(ls)
		got := strings.Join(names(ms), "|")
		if got != c.want.paths {
			t.Errorf("%s: routes %s, want %s", c.labels, got, c.want.paths)
			continue
		}
		m := ms[0]
		if m.Team != c.want.team || m.Category != c.want.category || m.Priority != c.want.priority || m.TeamFrom != c.want.teamFrom {
			t.Errorf("%s: got team=%s(%s) category=%s priority=%s, want %+v", c.labels, m.Team, m.TeamFrom, m.Category, m.Priority, c.want)
		}
	}
	// why: the matched matchers with the label values
	ms := r.Match(model.LabelSet{"service": "mysql", "alertname": "MysqlDiskFull"})
	why := strings.Join(ms[0].Why, "\n")
	if !strings.Contains(why, `databases: service=~"mysql|postgres.*" (service="mysql")`) ||
		!strings.Contains(why, `db-disk: alertname=~".*Disk.*" (alertname="MysqlDiskFull")`) {
		t.Errorf("why = %s", why)
	}
}

func TestValidateKeyPaths(t *testing.T) {
	cases := []struct {
		mut  func(*Config)
		want string
	}{
		{func(c *Config) { c.Route.Routes[1].Matchers = []string{`alertname=~"Cert(.*"`} },
			"classify.route.routes[1].matchers[0]: invalid regex"},
		{func(c *Config) { c.Route.Routes[0].Routes[1].Matchers = []string{`nonsense`} },
			"classify.route.routes[0].routes[1].matchers[0]: matcher \"nonsense\": no operator"},
		{func(c *Config) { c.Route.Routes[2].Team = "nobody" },
			`classify.route.routes[2].team: "nobody" is not one of classify.teams`},
		{func(c *Config) { c.Route.Routes[2].Category = "weird" },
			`classify.route.routes[2].category: "weird" is not one of classify.categories`},
		{func(c *Config) { c.Route.Routes[2].Priority = "P9" },
			`classify.route.routes[2].priority: "P9" is not a priority of the matrix`},
		{func(c *Config) { c.Route.Matchers = []string{"a=b"} },
			"classify.route.matchers: the root route must not have matchers"},
		{func(c *Config) { c.Services = map[string]Service{"api": {Team: "web", Criticality: "extreme"}} },
			`classify.services.api.criticality: "extreme" must be low, medium, high or critical`},
		{func(c *Config) { c.Services = map[string]Service{"api": {Team: "ghost"}} },
			`classify.services.api.team: "ghost" is not one of classify.teams`},
		{func(c *Config) { c.Priority.Urgency = map[string]string{"critical": "urgent"} },
			`classify.priority.urgency.critical: "urgent" must be low, medium or high`},
		{func(c *Config) { c.Priority.Matrix = map[string]map[string]string{"high": {"high": "P1"}} },
			`classify.priority.matrix: missing impact row "medium"`},
		{func(c *Config) { c.KNN.MinConfidence = 1.5 }, "classify.knn.min_confidence: 1.5 must be between 0 and 1"},
		{func(c *Config) { c.KNN.K = -1 }, "classify.knn.k: -1 must be positive"},
		{func(c *Config) { c.Priority.BlastRadius = BlastRadius{MediumServices: 4, HighServices: 2} },
			"classify.priority.blast_radius.high_services: 2 is below medium_services 4"},
	}
	for _, c := range cases {
		cfg := routeTree()
		c.mut(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("Validate() = %v, want prefix %q", err, c.want)
		}
		if _, err := New(cfg); err == nil {
			t.Errorf("New accepted an invalid config (%s)", c.want)
		}
	}
	if err := routeTree().Validate(); err != nil {
		t.Fatalf("valid tree rejected: %v", err)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config rejected: %v", err)
	}
}

func TestParseConfigLineNumbers(t *testing.T) {
	doc := `listen: 127.0.0.1:9093
other:
  stuff: [1, 2]
classify:
  teams: [web, dba]
  route:
    team: web
    routes:
      - name: ok
        matchers: ['service="a"']
      - name: bad
        matchers:
          - 'severity=~"crit(.*"'
`
	_, err := ParseConfig([]byte(doc))
	if err == nil || !strings.HasPrefix(err.Error(), "line 13: classify.route.routes[1].matchers[0]: invalid regex") {
		t.Fatalf("err = %v", err)
	}
	cfg, err := ParseConfig([]byte("listen: x\nclassify:\n  knn:\n    k: 3\n"))
	if err != nil || cfg.KNN.K != 3 || cfg.KNN.MinConfidence != 0.6 || cfg.Route == nil {
		t.Fatalf("cfg = %+v, %v", cfg.KNN, err)
	}
	if _, err := ParseConfig([]byte("classify:\n  knn: [1\n")); err == nil {
		t.Fatal("broken YAML accepted")
	}
	if _, err := ParseConfig([]byte("classify:\n  knn:\n    min_confidnce: 0.5\n")); err == nil || !strings.Contains(err.Error(), "line 3: field min_confidnce not found") {
		t.Fatalf("typo: %v", err)
	}
}

func TestParseLabels(t *testing.T) {
	ls, err := ParseLabels(`alertname=Foo, service="a,b", severity=critical`)
	if err != nil || ls["alertname"] != "Foo" || ls["service"] != "a,b" || ls["severity"] != "critical" || len(ls) != 3 {
		t.Fatalf("%v %v", ls, err)
	}
	for _, bad := range []string{"", "foo", "1x=y", `a="x`, "a=1,a=2", `a="x"y`} {
		if _, err := ParseLabels(bad); err == nil {
			t.Errorf("ParseLabels(%q) accepted", bad)
		}
	}
}

func TestSplitCamel(t *testing.T) {
	for in, want := range map[string]string{
		"KubePodCrashLooping":                         "kube pod crash looping",
		"HTTPServerDown":                              "http server down",
		"NginxHighHttp5xxErrorRate":                   "nginx high http xx error rate",
		"mysql_up == 0 on node-a":                     "mysql up on node",
		"PostgresqlTooManyConnections PostgresqlDown": "postgresql too many connections down",
	} {
		if got := strings.Join(model.Words(in), " "); got != want {
			t.Errorf("model.Words(%q) = %q, want %q", in, got, want)
		}
	}
}
