package grafana

// The dashboards are checked twice: TestDashboardsWellFormed (with
// TestProvisioning) reads every dashboard JSON of this directory and the
// provisioning files without any server, and TestDashboardQueriesOnClickHouse runs the SQL of every panel
// and of every variable against a real ClickHouse (testenv), on the schema
// of deploy/clickhouse and a small history written here, the way Grafana
// and the grafana-clickhouse-datasource plugin would send it: the frontend
// applies $__conditionalAll and the template variables, the backend expands
// the $__ macros exactly as the plugin does (so $__timeInterval becomes
// toStartOfInterval, which ClickHouse 18.16 does not know). A macro or
// variable left unexpanded, a query that fails or returns no row, fails.

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the server's timezone, to read its DateTime output

	"gopkg.in/yaml.v3"

	"github.com/sift-aiops/sift/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	pluginID      = "grafana-clickhouse-datasource"
	dsVarRef      = "${datasource}"
	dsUID         = "sift-clickhouse" // provisioning/datasources/sift-clickhouse.yaml
	migrationFile = "../clickhouse/0001_events.sql"
	testInterval  = 3600 // $__interval_s
)

// ---------------------------------------------------------------- model

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
	EditorType string `json:"editorType"`
	QueryType  string `json:"queryType"`
	Format     *int   `json:"format"`
	RawSQL     string `json:"rawSql"`
}

type panel struct {
	ID          int                       `json:"id"`
	Type        string                    `json:"type"`
	Title       string                    `json:"title"`
	Description string                    `json:"description"`
	Datasource  *dsRef                    `json:"datasource"`
	GridPos     *struct{ H, W, X, Y int } `json:"gridPos"`
	Targets     []target                  `json:"targets"`
	Panels      []panel                   `json:"panels"`
}

type option struct {
	Text  any `json:"text"`
	Value any `json:"value"`
}

type variable struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Datasource *dsRef          `json:"datasource"`
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   *string         `json:"allValue"`
	Current    struct {
		Value any `json:"value"`
	} `json:"current"`
	Options []option `json:"options"`
}

type dashboard struct {
	UID         string  `json:"uid"`
	Title       string  `json:"title"`
	Description string  `json:"description"`
	Schema      int     `json:"schemaVersion"`
	Panels      []panel `json:"panels"`
	Templating  struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type dashFile struct {
	name string // file name
	d    dashboard
}

func loadDashboards(t *testing.T) []dashFile {
	t.Helper()
	names, err := filepath.Glob("*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no dashboard *.json in deploy/grafana")
	}
	sort.Strings(names)
	var out []dashFile
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, dashFile{n, d})
	}
	return out
}

// flatPanels returns the panels with those inside rows, rows included.
func flatPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatPanels(p.Panels)...)
	}
	return out
}

// rawSQL returns the SQL of a query variable (query is {"rawSql": ...} in
// plugin v4, a plain string in older dashboards).
func (v *variable) rawSQL() (string, error) {
	var s string
	if err := json.Unmarshal(v.Query, &s); err == nil {
		return s, nil
	}
	var q struct {
		RawSQL     string `json:"rawSql"`
		EditorType string `json:"editorType"`
	}
	if err := json.Unmarshal(v.Query, &q); err != nil {
		return "", fmt.Errorf("variable %s: query: %v", v.Name, err)
	}
	if q.EditorType != "sql" {
		return "", fmt.Errorf("variable %s: query editorType %q, want sql", v.Name, q.EditorType)
	}
	return q.RawSQL, nil
}

// customOptions returns the values of a custom variable.
func (v *variable) customOptions() []string {
	var out []string
	for _, o := range v.Options {
		out = append(out, fmt.Sprint(o.Value))
	}
	if len(out) == 0 {
		var s string
		if json.Unmarshal(v.Query, &s) == nil {
			for _, x := range strings.Split(s, ",") {
				out = append(out, strings.TrimSpace(x))
			}
		}
	}
	return out
}

// ---------------------------------------------------------------- expansion

// varValue is the selection of one template variable.
type varValue struct {
	multi  bool     // the variable is multi-valued (Grafana passes an array)
	all    bool     // "All" is selected
	values []string // the selected values (every option when all)
}

// env is what a panel query is expanded with.
type env struct {
	from, to time.Time
	interval int // seconds
	vars     map[string]*varValue
}

// expand turns a panel's rawSql into the SQL the plugin sends: frontend
// $__conditionalAll and template variables, then the backend macros.
func expand(sql string, e *env) (string, error) {
	s, err := conditionalAll(sql, e)
	if err != nil {
		return "", err
	}
	if s, err = templateVars(s, e); err != nil {
		return "", err
	}
	if s, err = macros(s, e); err != nil {
		return "", err
	}
	if i := strings.IndexAny(s, "$"); i >= 0 {
		return "", fmt.Errorf("unexpanded %q left in the SQL", excerpt(s, i))
	}
	return s, nil
}

func excerpt(s string, i int) string {
	j := min(len(s), i+30)
	return s[i:j]
}

// macroArgs parses the parenthesised arguments starting at s[open] == '('
// as the plugin's frontend does (parentheses counted, commas at depth 1
// split) and returns them with the index just past the closing parenthesis.
func macroArgs(s string, open int) ([]string, int, error) {
	depth, last := 0, open+1
	var args []string
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				args = append(args, s[last:i])
				return args, i + 1, nil
			}
		case ',':
			if depth == 1 {
				args = append(args, s[last:i])
				last = i + 1
			}
		}
	}
	return nil, 0, fmt.Errorf("unbalanced parentheses after %q", excerpt(s, max(open-20, 0)))
}

var reVarRef = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

// conditionalAll applies $__conditionalAll(cond, $var): 1=1 when All (or
// nothing) is selected, else cond. Last first, as the plugin does.
func conditionalAll(s string, e *env) (string, error) {
	const macro = "$__conditionalAll("
	for {
		i := strings.LastIndex(s, macro)
		if i < 0 {
			return s, nil
		}
		args, end, err := macroArgs(s, i+len(macro)-1)
		if err != nil {
			return "", err
		}
		if len(args) != 2 {
			return "", fmt.Errorf("$__conditionalAll wants 2 arguments, got %d", len(args))
		}
		m := reVarRef.FindStringSubmatch(strings.TrimSpace(args[1]))
		if m == nil {
			return "", fmt.Errorf("$__conditionalAll: second argument %q is not a variable", args[1])
		}
		name := m[1] + m[2]
		v, ok := e.vars[name]
		if !ok {
			return "", fmt.Errorf("$__conditionalAll: unknown variable %q", name)
		}
		phrase := args[0]
		if v.all || len(v.values) == 0 || len(v.values) == 1 && v.values[0] == "" {
			phrase = "1=1"
		}
		s = s[:i] + phrase + s[end:]
	}
}

// reTemplate is Grafana's variable syntax: $name, [[name:fmt]], ${name:fmt}.
var reTemplate = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// templateVars replaces the template variables as Grafana's templateSrv
// with the plugin's format function (arrays become 'a','b'); names
// starting with __ are left for the macros.
func templateVars(s string, e *env) (string, error) {
	var err error
	out := reTemplate.ReplaceAllStringFunc(s, func(m string) string {
		g := reTemplate.FindStringSubmatch(m)
		name := g[1] + g[2] + g[4]
		format := g[3] + g[6]
		if strings.HasPrefix(name, "__") {
			return m
		}
		v, ok := e.vars[name]
		if !ok {
			err = fmt.Errorf("unknown template variable %q", name)
			return m
		}
		array := v.multi || v.all
		switch format {
		case "singlequote":
			q := make([]string, len(v.values))
			for i, x := range v.values {
				q[i] = "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
			}
			return strings.Join(q, ",")
		case "sqlstring":
			q := make([]string, len(v.values))
			for i, x := range v.values {
				q[i] = "'" + strings.ReplaceAll(x, "'", "''") + "'"
			}
			return strings.Join(q, ",")
		case "csv", "raw":
			return strings.Join(v.values, ",")
		case "":
			if array {
				return "'" + strings.Join(v.values, "','") + "'"
			}
			return strings.Join(v.values, ",")
		default:
			err = fmt.Errorf("variable %q: format %q not handled by this test", name, format)
			return m
		}
	})
	return out, err
}

var reMacro = regexp.MustCompile(`\$__(\w+)`)

// macros expands the backend macros as grafana-clickhouse-datasource
// (pkg/macros/macros.go) does; any other $__name is an error.
func macros(s string, e *env) (string, error) {
	dt := func(t time.Time) string { return fmt.Sprintf("toDateTime(%d)", t.Unix()) }
	dt64 := func(t time.Time) string { return fmt.Sprintf("fromUnixTimestamp64Milli(%d)", t.UnixMilli()) }
	date := func(t time.Time) string { return fmt.Sprintf("toDate('%s')", t.UTC().Format("2006-01-02")) }
	var b strings.Builder
	for {
		loc := reMacro.FindStringSubmatchIndex(s)
		if loc == nil {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:loc[0]])
		name := s[loc[2]:loc[3]]
		rest := loc[1]
		var args []string
		if rest < len(s) && s[rest] == '(' {
			a, end, err := macroArgs(s, rest)
			if err != nil {
				return "", err
			}
			for _, x := range a {
				args = append(args, strings.TrimSpace(x))
			}
			rest = end
		}
		want := map[string]int{"timeFilter": 1, "timeFilter_ms": 1, "timeFrom": 1, "timeTo": 1, "dateFilter": 1,
			"dateTimeFilter": 2, "dt": 2, "timeInterval": 1, "timeInterval_ms": 1}
		if n, ok := want[name]; ok && len(args) != n {
			return "", fmt.Errorf("$__%s wants %d argument(s), got %d", name, n, len(args))
		}
		var r string
		switch name {
		case "fromTime":
			r = dt(e.from)
		case "toTime":
			r = dt(e.to)
		case "fromTime_ms":
			r = dt64(e.from)
		case "toTime_ms":
			r = dt64(e.to)
		case "timeFilter":
			r = fmt.Sprintf("%s >= %s AND %s <= %s", args[0], dt(e.from), args[0], dt(e.to))
		case "timeFilter_ms":
			r = fmt.Sprintf("%s >= %s AND %s <= %s", args[0], dt64(e.from), args[0], dt64(e.to))
		case "timeFrom":
			r = fmt.Sprintf("%s >= %s", args[0], dt(e.from))
		case "timeTo":
			r = fmt.Sprintf("%s <= %s", args[0], dt(e.to))
		case "dateFilter":
			r = fmt.Sprintf("%s >= %s AND %s <= %s", args[0], date(e.from), args[0], date(e.to))
		case "dateTimeFilter", "dt":
			r = fmt.Sprintf("(%s >= %s AND %s <= %s) AND (%s >= %s AND %s <= %s)",
				args[0], date(e.from), args[0], date(e.to), args[1], dt(e.from), args[1], dt(e.to))
		case "timeInterval":
			r = fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", args[0], e.interval)
		case "timeInterval_ms":
			r = fmt.Sprintf("toStartOfInterval(toDateTime64(%s, 3), INTERVAL %d millisecond)", args[0], e.interval*1000)
		case "interval_s":
			r = strconv.Itoa(e.interval)
		default:
			return "", fmt.Errorf("unknown macro $__%s", name)
		}
		b.WriteString(r)
		s = s[rest:]
	}
}

func TestExpand(t *testing.T) {
	from := time.Unix(1000, 0)
	e := &env{from: from, to: from.Add(time.Hour), interval: 60, vars: map[string]*varValue{
		"svc": {multi: true, values: []string{"a", "b'c"}},
		"all": {multi: true, all: true, values: []string{"x", "y"}},
		"top": {values: []string{"10"}},
	}}
	for _, c := range []struct{ in, want, err string }{
		{in: "WHERE $__timeFilter(t) AND x < $__toTime", want: "WHERE t >= toDateTime(1000) AND t <= toDateTime(4600) AND x < toDateTime(4600)"},
		{in: "intDiv(toUInt32(t), $__interval_s) * $__interval_s", want: "intDiv(toUInt32(t), 60) * 60"},
		{in: "$__timeInterval(t)", want: "toStartOfInterval(toDateTime(t), INTERVAL 60 second)"},
		{in: "$__conditionalAll(s IN (${svc:singlequote}), $svc) LIMIT ${top}", want: `s IN ('a','b\'c') LIMIT 10`},
		{in: "$__conditionalAll(hasAny(s, [${all:singlequote}]), $all) AND $__conditionalAll(f(a, (b)), ${svc})", want: "1=1 AND f(a, (b))"},
		{in: "s IN ($svc)", want: "s IN ('a','b'c')"},
		{in: "$__fromTime_ms", want: "fromUnixTimestamp64Milli(1000000)"},
		{in: "SELECT $__timeFilterx(t)", err: "unknown macro"},
		{in: "SELECT $__from", err: "unknown macro"},
		{in: "SELECT ${nosuch}", err: "unknown template variable"},
		{in: "SELECT $__timeFilter(t", err: "unbalanced"},
		{in: "SELECT $__timeFilter(a, b)", err: "wants 1"},
		{in: "SELECT ${svc:percentencode}", err: "not handled"},
		{in: "SELECT $__conditionalAll(x, $nosuch)", err: "unknown variable"},
	} {
		got, err := expand(c.in, e)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("expand(%q) = %q, %v; want error with %q", c.in, got, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("expand(%q): %v", c.in, err)
		case c.err == "" && got != c.want:
			t.Errorf("expand(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// ---------------------------------------------------------------- structure

func TestDashboardsWellFormed(t *testing.T) {
	uids := map[string]string{}
	for _, f := range loadDashboards(t) {
		t.Run(f.name, func(t *testing.T) {
			d := f.d
			if d.UID == "" || d.Title == "" || d.Description == "" {
				t.Errorf("uid %q, title %q, description %q: all are required", d.UID, d.Title, d.Description)
			}
			if other, dup := uids[d.UID]; dup {
				t.Errorf("uid %q also used by %s", d.UID, other)
			}
			uids[d.UID] = f.name
			if d.Schema == 0 {
				t.Error("no schemaVersion")
			}
			// Variables: a datasource variable of the plugin's type, SQL
			// variables on it, custom variables with options.
			vars := map[string]*varValue{}
			hasDS := false
			for i := range d.Templating.List {
				v := &d.Templating.List[i]
				if v.Name == "" || vars[v.Name] != nil {
					t.Errorf("variable %d: empty or duplicate name %q", i, v.Name)
				}
				vars[v.Name] = &varValue{multi: v.Multi, values: []string{"x"}}
				switch v.Type {
				case "datasource":
					var q string
					if json.Unmarshal(v.Query, &q) != nil || q != pluginID {
						t.Errorf("variable %s: datasource query %s, want %q", v.Name, v.Query, pluginID)
					}
					if v.Name == "datasource" {
						hasDS = true
						if fmt.Sprint(v.Current.Value) != dsUID {
							t.Errorf("variable datasource: current %v, want the provisioned uid %q", v.Current.Value, dsUID)
						}
					}
				case "query":
					if v.Datasource == nil || v.Datasource.Type != pluginID || v.Datasource.UID != dsVarRef {
						t.Errorf("variable %s: datasource %+v, want {%s %s}", v.Name, v.Datasource, pluginID, dsVarRef)
					}
					if s, err := v.rawSQL(); err != nil || strings.TrimSpace(s) == "" {
						t.Errorf("variable %s: no SQL (%v)", v.Name, err)
					}
				case "custom":
					opts := v.customOptions()
					cur := fmt.Sprint(v.Current.Value)
					if len(opts) == 0 || !slices.Contains(opts, cur) {
						t.Errorf("variable %s: current %q not among options %q", v.Name, cur, opts)
					}
				default:
					t.Errorf("variable %s: type %q is not handled by this test", v.Name, v.Type)
				}
			}
			if !hasDS {
				t.Errorf("no variable \"datasource\" of type datasource (query %q)", pluginID)
			}
			e := &env{from: time.Unix(1e9, 0), to: time.Unix(1e9+3600, 0), interval: testInterval, vars: vars}
			for i := range d.Templating.List {
				v := &d.Templating.List[i]
				if v.Type == "query" {
					s, _ := v.rawSQL()
					if _, err := expand(s, e); err != nil {
						t.Errorf("variable %s: %v", v.Name, err)
					}
				}
			}
			ids := map[int]string{}
			for _, p := range flatPanels(d.Panels) {
				if p.Title == "" {
					t.Errorf("panel %d: no title", p.ID)
				}
				if prev, dup := ids[p.ID]; dup || p.ID <= 0 {
					t.Errorf("panel %q: id %d missing or also used by %q", p.Title, p.ID, prev)
				}
				ids[p.ID] = p.Title
				if p.GridPos == nil || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X+p.GridPos.W > 24 {
					t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
				}
				if p.Type == "row" {
					if len(p.Targets) > 0 {
						t.Errorf("row %q has targets", p.Title)
					}
					continue
				}
				if strings.TrimSpace(p.Description) == "" {
					t.Errorf("panel %q: no description", p.Title)
				}
				if p.Datasource == nil || p.Datasource.Type != pluginID || p.Datasource.UID != dsVarRef {
					t.Errorf("panel %q: datasource %+v, want {%s %s}", p.Title, p.Datasource, pluginID, dsVarRef)
				}
				if len(p.Targets) == 0 {
					t.Errorf("panel %q: no targets", p.Title)
				}
				refs := map[string]bool{}
				for _, tg := range p.Targets {
					if tg.RefID == "" || refs[tg.RefID] {
						t.Errorf("panel %q: empty or duplicate refId %q", p.Title, tg.RefID)
					}
					refs[tg.RefID] = true
					if tg.Datasource == nil || *tg.Datasource != *p.Datasource {
						t.Errorf("panel %q target %s: datasource %+v, want the panel's", p.Title, tg.RefID, tg.Datasource)
					}
					if tg.EditorType != "sql" {
						t.Errorf("panel %q target %s: editorType %q, want sql", p.Title, tg.RefID, tg.EditorType)
					}
					if strings.TrimSpace(tg.RawSQL) == "" {
						t.Errorf("panel %q target %s: empty rawSql", p.Title, tg.RefID)
					}
					// sqlutil formats: 0 time series (long to wide), 1 table.
					wantFormat, wantQT := 1, "table"
					if p.Type == "timeseries" {
						wantFormat, wantQT = 0, "timeseries"
					}
					if tg.Format == nil || *tg.Format != wantFormat || tg.QueryType != wantQT {
						t.Errorf("panel %q (%s) target %s: format %v queryType %q, want %d %q",
							p.Title, p.Type, tg.RefID, tg.Format, tg.QueryType, wantFormat, wantQT)
					}
					if _, err := expand(tg.RawSQL, e); err != nil {
						t.Errorf("panel %q target %s: %v", p.Title, tg.RefID, err)
					}
				}
			}
		})
	}
}

func TestProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name     string         `yaml:"name"`
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, "provisioning/datasources/sift-clickhouse.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources: apiVersion %d, %d data sources; want 1, 1", ds.APIVersion, len(ds.Datasources))
	}
	d := ds.Datasources[0]
	if d.UID != dsUID || d.Type != pluginID {
		t.Errorf("data source uid %q type %q, want %q %q", d.UID, d.Type, dsUID, pluginID)
	}
	for k, want := range map[string]any{"protocol": "native", "port": 9000, "defaultDatabase": "sift"} {
		if got := d.JSONData[k]; got != want {
			t.Errorf("jsonData.%s = %v, want %v", k, got, want)
		}
	}
	if h, _ := d.JSONData["host"].(string); h == "" {
		t.Error("jsonData.host is empty")
	}

	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string `yaml:"name"`
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "provisioning/dashboards/sift.yaml", &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 {
		t.Fatalf("dashboards: apiVersion %d, %d providers; want 1, 1", dp.APIVersion, len(dp.Providers))
	}
	if p := dp.Providers[0]; p.Type != "file" || !filepath.IsAbs(p.Options.Path) {
		t.Errorf("provider %q: type %q path %q, want file and an absolute path", p.Name, p.Type, p.Options.Path)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// ---------------------------------------------------------------- ClickHouse

type chDB struct {
	url, db string
}

// exec runs sql in the test's database and returns the response body.
func (c chDB) exec(sql string) (string, error) {
	return testenv.ClickHouseQueryIn(c.url, c.db, sql)
}

// result is the rows of a query by column name.
type result struct {
	cols []string
	rows []map[string]string // \N is "NULL"
}

func (c chDB) query(sql string) (*result, error) {
	sql = strings.TrimRight(strings.TrimSpace(sql), ";")
	out, err := c.exec(sql + "\nFORMAT TabSeparatedWithNames")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return nil, fmt.Errorf("no header in %q", out)
	}
	r := &result{cols: strings.Split(lines[0], "\t")}
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if len(f) != len(r.cols) {
			return nil, fmt.Errorf("row %q has %d fields, want %d", l, len(f), len(r.cols))
		}
		m := map[string]string{}
		for i, x := range f {
			m[r.cols[i]] = unescapeTSV(x)
		}
		r.rows = append(r.rows, m)
	}
	return r, nil
}

func unescapeTSV(s string) string {
	if s == `\N` {
		return "NULL"
	}
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\\`, `\`, `\'`, "'").Replace(s)
}

// migrate applies the statements of the migration (separated by lines
// holding only ";").
func migrate(t *testing.T, c chDB) {
	t.Helper()
	b, err := os.ReadFile(migrationFile)
	if err != nil {
		t.Fatal(err)
	}
	var stmt []string
	run := func() {
		s := strings.TrimSpace(strings.Join(stmt, "\n"))
		stmt = stmt[:0]
		if s == "" {
			return
		}
		if _, err := c.exec(s); err != nil {
			t.Fatalf("migration: %v\n%s", err, s)
		}
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(l) == ";" {
			run()
			continue
		}
		stmt = append(stmt, l)
	}
	run()
}

// ---------------------------------------------------------------- test data

type alertRow struct {
	id            uint64
	at, startsAt  time.Time
	fp, name, svc string
	severity      string
	status, kind  string
	incident      string
	team, prio    string
	notifications uint32
	flapping      bool
}

type incidentRow struct {
	id                      uint64
	at, openedAt            time.Time
	incident, event, detail string
	actor, fp, alertname    string
	services                []string
	title, severity         string
	team, category, prio    string
	problem                 string
}

// incDef is an incident of the week the dashboards look at; offsets are
// from its opening (negative: never).
type incDef struct {
	id, alertname   string
	open            time.Time
	services        []string
	team, prio, cat string
	ack, res        time.Duration
	reopen, res2    time.Duration
	problem         string
	mergedInto      string
}

// data is the history written to ClickHouse: five weeks from t0, the
// dashboards look at the last one, [from, to].
type data struct {
	t0, from, to, spike time.Time
	alerts              []alertRow
	incidents           []incidentRow
	defs                []incDef
	seen                map[string]bool
	dupAlerts           []alertRow // written twice
}

func hashID(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0xff})
	}
	return h.Sum64()
}

// episode adds one episode of alert fp: firing (or refired when fp fired
// before) at start, resolved after dur with the repeats it received.
func (d *data) episode(fp, name, svc, sev string, start time.Time, dur time.Duration, repeats uint32, flapping bool, inc, team, prio string) {
	kind := "firing"
	if d.seen[fp] {
		kind = "refired"
	}
	d.seen[fp] = true
	mk := func(at time.Time, kind, status string, n uint32) alertRow {
		return alertRow{id: hashID("a", fp, kind, strconv.FormatInt(at.UnixNano(), 10)), at: at, startsAt: start,
			fp: fp, name: name, svc: svc, severity: sev, status: status, kind: kind, incident: inc, team: team, prio: prio,
			notifications: n, flapping: flapping && kind != "resolved"}
	}
	d.alerts = append(d.alerts, mk(start, kind, "firing", 1), mk(start.Add(dur), "resolved", "resolved", repeats))
}

// highLatency is the number of HighLatency episodes of checkout in the hour
// starting at h: 1 at night, 3 or 4 in business hours (alternating weeks),
// 12 in the spike hour.
func (d *data) highLatency(h time.Time) int {
	if h.Equal(d.spike) {
		return 12
	}
	if hr := h.Hour(); hr < 9 || hr > 17 {
		return 1
	}
	return 3 + int(h.Sub(d.t0)/(7*24*time.Hour))%2
}

func newData() *data {
	d := &data{seen: map[string]bool{}}
	d.t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // a Monday
	d.from = d.t0.Add(28 * 24 * time.Hour)
	d.to = d.from.Add(7*24*time.Hour - time.Second)
	d.spike = d.from.Add(2*24*time.Hour + 14*time.Hour) // Wednesday 14:00
	end := d.t0.Add(35 * 24 * time.Hour)
	day := 24 * time.Hour

	for h := d.t0; h.Before(end); h = h.Add(time.Hour) {
		for i := range d.highLatency(h) {
			inc, team, prio := "", "", ""
			if h.Equal(d.spike) {
				inc, team, prio = "inc-3", "web", "P1"
			}
			d.episode(fmt.Sprintf("checkout-hl-%d", i), "HighLatency", "checkout", "warning",
				h.Add(5*time.Minute+time.Duration(i)*time.Minute), 10*time.Minute, 2, false, inc, team, prio)
		}
		if h.Unix()/3600%3 == 0 {
			d.episode("payments-er", "ErrorRate", "payments", "critical", h.Add(10*time.Minute), 30*time.Minute, 5, false, "", "", "")
		}
		if h.Hour() == 6 {
			d.episode("auth-cert", "CertExpiry", "auth", "info", h, time.Hour, 3, false, "", "", "")
		}
	}
	// A flapping disk alert on the second day of the week.
	for i := range 8 {
		d.episode("search-disk-1", "DiskPressure", "search", "warning",
			d.from.Add(day+3*time.Hour+time.Duration(i)*15*time.Minute), 5*time.Minute, 0, i >= 2, "inc-6", "platform", "P3")
	}
	// Three firing rows written twice (a retry before the merge).
	for _, r := range d.alerts {
		if r.kind != "resolved" && r.name == "HighLatency" && !r.startsAt.Before(d.from.Add(day+10*time.Hour)) && len(d.dupAlerts) < 3 {
			d.dupAlerts = append(d.dupAlerts, r)
		}
	}

	at := func(dd, hh, mm int) time.Time {
		return d.from.Add(time.Duration(dd)*day + time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	}
	m := time.Minute
	d.defs = []incDef{
		{id: "inc-1", alertname: "HighLatency", open: at(1, 10, 5), services: []string{"checkout"}, team: "web", prio: "P2", cat: "latency", ack: 5 * m, res: 60 * m},
		{id: "inc-2", alertname: "HighLatency", open: at(3, 11, 0), services: []string{"checkout"}, team: "web", prio: "P2", cat: "latency", ack: 10 * m, res: 30 * m},
		{id: "inc-3", alertname: "HighLatency", open: d.spike.Add(5 * m), services: []string{"checkout", "payments"}, team: "web", prio: "P1", cat: "latency", ack: 2 * m, res: 120 * m},
		{id: "inc-4", alertname: "ErrorRate", open: at(2, 3, 10), services: []string{"payments"}, team: "payments", prio: "P1", cat: "errors", ack: 3 * m, res: 45 * m},
		{id: "inc-5", alertname: "ErrorRate", open: at(4, 6, 10), services: []string{"payments"}, team: "payments", prio: "P3", cat: "errors", ack: -1, res: 15 * m},
		{id: "inc-6", alertname: "DiskPressure", open: at(1, 3, 2), services: []string{"search"}, team: "platform", prio: "P3", cat: "capacity", ack: 20 * m, res: 30 * m, reopen: 40 * m, res2: 90 * m, problem: "prb-disk"},
		{id: "inc-7", alertname: "DiskPressure", open: at(5, 3, 0), services: []string{"search"}, team: "platform", prio: "P3", cat: "capacity", ack: 30 * m, res: -1, problem: "prb-disk"},
		{id: "inc-8", alertname: "CertExpiry", open: at(6, 6, 5), services: []string{"auth"}, team: "platform", prio: "P4", cat: "security", ack: 1 * m, res: 10 * m},
		{id: "inc-9", alertname: "HighLatency", open: d.spike.Add(30 * m), services: []string{"checkout"}, ack: -1, res: -1, mergedInto: "inc-3"},
	}
	for dd := range 28 { // one incident a day in the weeks before
		d.defs = append(d.defs, incDef{id: fmt.Sprintf("old-%d", dd), alertname: "HighLatency", open: d.t0.Add(time.Duration(dd)*day + 10*time.Hour + 5*m),
			services: []string{"checkout"}, team: "web", prio: "P3", cat: "latency", ack: 10 * m, res: 40 * m})
	}
	for _, def := range d.defs {
		d.addIncident(def)
	}
	return d
}

func (d *data) addIncident(def incDef) {
	classified := false
	problem := ""
	add := func(off time.Duration, event, detail, actor string) {
		r := incidentRow{at: def.open.Add(off), openedAt: def.open, incident: def.id, event: event, detail: detail, actor: actor,
			alertname: def.alertname, services: def.services, title: def.alertname + " on " + strings.Join(def.services, ", "),
			severity: "warning", problem: problem, fp: def.alertname + "-fp"}
		if classified {
			r.team, r.category, r.prio = def.team, def.cat, def.prio
		}
		r.id = hashID("i", def.id, event, strconv.FormatInt(r.at.UnixNano(), 10), detail, actor)
		d.incidents = append(d.incidents, r)
	}
	add(0, "opened", "", "")
	add(30*time.Second, "joined", def.alertname+": same service", "")
	if def.team != "" {
		classified = true
		add(time.Minute, "classified", def.cat, "triage-agent")
	}
	if def.problem != "" {
		problem = def.problem
		add(2*time.Minute, "problem", "linked to "+def.problem, "")
	}
	if def.ack >= 0 {
		add(def.ack, "acknowledged", "", "alice")
	}
	if def.mergedInto != "" {
		add(10*time.Minute, "merged", "into "+def.mergedInto, "")
	}
	if def.res >= 0 {
		add(def.res, "resolved", "all alerts resolved", "")
	}
	if def.reopen > 0 {
		add(def.reopen, "reopened", "", "")
		add(def.res2, "resolved", "all alerts resolved", "")
	}
}

func q(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func arr(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = q(x)
	}
	return "[" + strings.Join(out, ",") + "]"
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// write inserts the rows over HTTP (VALUES with unix times, which read the
// same whatever the server's timezone).
func (d *data) write(t *testing.T, c chDB) {
	t.Helper()
	alertSQL := func(rows []alertRow) string {
		var b strings.Builder
		b.WriteString("INSERT INTO alert_events (event_id, event_time, fingerprint, alertname, service, severity, status, kind, " +
			"starts_at, incident_id, team, priority, notifications, flapping, labels_keys, labels_values, version) VALUES\n")
		for i, r := range rows {
			if i > 0 {
				b.WriteString(",\n")
			}
			keys := []string{"alertname", "instance", "service", "severity"}
			vals := []string{r.name, r.fp, r.svc, r.severity}
			fmt.Fprintf(&b, "(%d, %d, %s, %s, %s, %s, %s, %s, %d, %s, %s, %s, %d, %d, %s, %s, 1)",
				r.id, r.at.Unix(), q(r.fp), q(r.name), q(r.svc), q(r.severity), q(r.status), q(r.kind), r.startsAt.Unix(),
				q(r.incident), q(r.team), q(r.prio), r.notifications, b2i(r.flapping), arr(keys), arr(vals))
		}
		return b.String()
	}
	incSQL := func(rows []incidentRow) string {
		var b strings.Builder
		b.WriteString("INSERT INTO incident_events (event_id, event_time, incident_id, event, detail, actor, fingerprint, alertname, " +
			"services, root_cause, signature, title, severity, team, category, priority, problem_id, opened_at, alert_count, version) VALUES\n")
		for i, r := range rows {
			if i > 0 {
				b.WriteString(",\n")
			}
			fmt.Fprintf(&b, "(%d, %d, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %d, %d, 1)",
				r.id, r.at.Unix(), q(r.incident), q(r.event), q(r.detail), q(r.actor), q(r.fp), q(r.alertname), arr(r.services),
				q(r.fp), q("sig-"+r.alertname), q(r.title), q(r.severity), q(r.team), q(r.category), q(r.prio), q(r.problem),
				r.openedAt.Unix(), len(r.services))
		}
		return b.String()
	}
	var firstOpen []incidentRow
	for _, r := range d.incidents {
		if r.incident == "inc-1" && r.event == "opened" {
			firstOpen = append(firstOpen, r)
		}
	}
	for _, s := range []string{alertSQL(d.alerts), alertSQL(d.dupAlerts), incSQL(d.incidents), incSQL(firstOpen)} {
		if _, err := c.exec(s); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
}

// ---------------------------------------------------------------- expectations

func inRange(t, from, to time.Time) bool { return !t.Before(from) && !t.After(to) }

// quantileExact is ClickHouse's: the element at floor(level*n) of the sorted values.
func quantileExact(level float64, xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[min(int(level*float64(len(s))), len(s)-1)]
}

// median is ClickHouse's median (quantile) on few values: linear
// interpolation between the sorted values.
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := 0.5 * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return s[i]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

type nameStat struct {
	episodes, refires, flapping map[uint64]bool
	fps                         map[string]bool
}

// nameStats counts per alert name the distinct episodes of the window.
func (d *data) nameStats() map[string]*nameStat {
	st := map[string]*nameStat{}
	for _, r := range append(append([]alertRow(nil), d.alerts...), d.dupAlerts...) {
		if !inRange(r.at, d.from, d.to) {
			continue
		}
		s := st[r.name]
		if s == nil {
			s = &nameStat{map[uint64]bool{}, map[uint64]bool{}, map[uint64]bool{}, map[string]bool{}}
			st[r.name] = s
		}
		s.fps[r.fp] = true
		if r.kind != "resolved" {
			s.episodes[r.id] = true
			if r.flapping {
				s.flapping[r.id] = true
			}
		}
		if r.kind == "refired" {
			s.refires[r.id] = true
		}
	}
	return st
}

// hourly is what alert_volume_hourly holds: episode rows (duplicates
// included) per service and hour.
func (d *data) hourly() map[string]map[int64]float64 {
	m := map[string]map[int64]float64{}
	for _, r := range append(append([]alertRow(nil), d.alerts...), d.dupAlerts...) {
		if r.kind == "resolved" {
			continue
		}
		if m[r.svc] == nil {
			m[r.svc] = map[int64]float64{}
		}
		m[r.svc][r.at.Truncate(time.Hour).Unix()]++
	}
	return m
}

type respStat struct {
	incidents int
	tta, ttr  []float64
}

// response computes MTTA/MTTR of the window's incidents from their
// definitions, grouped by key.
func (d *data) response(key func(incDef) string) map[string]*respStat {
	out := map[string]*respStat{}
	for _, def := range d.defs {
		if !inRange(def.open, d.from, d.to) {
			continue
		}
		k := key(def)
		s := out[k]
		if s == nil {
			s = &respStat{}
			out[k] = s
		}
		s.incidents++
		if def.ack >= 0 {
			s.tta = append(s.tta, def.ack.Seconds())
		}
		if def.res >= 0 {
			last := def.res
			if def.reopen > 0 {
				last = def.res2
			}
			s.ttr = append(s.ttr, last.Seconds())
		}
	}
	return out
}

// ---------------------------------------------------------------- the run

// prefs are the values the scenarios select; they must be offered by the
// variable's own query.
var prefs = map[string][]string{
	"service":  {"checkout", "payments"},
	"team":     {"platform", "web"},
	"priority": {"P3", "P2"},
}

// scenarios: "all" selects All (or the current value), "one" one value and
// the first option, "two" two values and the last option.
var scenarios = []string{"all", "one", "two"}

func TestDashboardQueriesOnClickHouse(t *testing.T) {
	_, httpURL := testenv.SharedClickHouse(t)
	c := chDB{url: httpURL, db: testenv.NewClickHouseDatabase(t, httpURL)}
	migrate(t, c)
	d := newData()
	d.write(t, c)
	tzName, err := c.exec("SELECT timezone()")
	if err != nil {
		t.Fatal(err)
	}
	tz, err := time.LoadLocation(strings.TrimSpace(tzName))
	if err != nil {
		t.Fatalf("server timezone %q: %v", tzName, err)
	}
	version, _ := c.exec("SELECT version()")
	t.Logf("ClickHouse %s (timezone %s), database %s: %d alert rows, %d incident rows",
		strings.TrimSpace(version), tz, c.db, len(d.alerts)+len(d.dupAlerts), len(d.incidents)+1)

	results := map[string]*result{} // "file#panel title" of the scenario "all"
	panels := 0
	for _, f := range loadDashboards(t) {
		t.Run(f.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc, func(t *testing.T) {
					e := &env{from: d.from, to: d.to, interval: testInterval, vars: map[string]*varValue{}}
					for i := range f.d.Templating.List {
						v := &f.d.Templating.List[i]
						if err := resolveVar(c, v, sc, e); err != nil {
							t.Fatalf("variable %s: %v", v.Name, err)
						}
					}
					for _, p := range flatPanels(f.d.Panels) {
						for _, tg := range p.Targets {
							name := p.Title + "/" + tg.RefID
							sql, err := expand(tg.RawSQL, e)
							if err != nil {
								t.Errorf("%s: %v", name, err)
								continue
							}
							r, err := c.query(sql)
							if err != nil {
								t.Errorf("%s: %v\n%s", name, err, sql)
								continue
							}
							if len(r.rows) == 0 {
								t.Errorf("%s: no rows\n%s", name, sql)
								continue
							}
							panels++
							if sc == "all" {
								results[f.name+"#"+p.Title] = r
							}
						}
					}
				})
			}
		})
	}
	t.Logf("%d panel queries ran and returned rows", panels)
	if t.Failed() {
		return
	}
	checkValues(t, d, tz, results)
}

// resolveVar selects the value of v for the scenario; query variables run
// their SQL first.
func resolveVar(c chDB, v *variable, sc string, e *env) error {
	switch v.Type {
	case "datasource":
		return nil
	case "custom":
		opts := v.customOptions()
		val := fmt.Sprint(v.Current.Value)
		switch sc {
		case "one":
			val = opts[0]
		case "two":
			val = opts[len(opts)-1]
		}
		e.vars[v.Name] = &varValue{multi: v.Multi, values: []string{val}}
		return nil
	case "query":
	default:
		return fmt.Errorf("type %q not handled", v.Type)
	}
	raw, err := v.rawSQL()
	if err != nil {
		return err
	}
	sql, err := expand(raw, e)
	if err != nil {
		return err
	}
	r, err := c.query(sql)
	if err != nil {
		return fmt.Errorf("%v\n%s", err, sql)
	}
	var offered []string
	for _, row := range r.rows {
		offered = append(offered, row[r.cols[0]])
	}
	if len(offered) == 0 {
		return fmt.Errorf("offers no value\n%s", sql)
	}
	want := prefs[v.Name]
	if len(want) == 0 {
		want = offered[:min(2, len(offered))]
	}
	for _, w := range want {
		if !slices.Contains(offered, w) {
			return fmt.Errorf("offers %q, not %q", offered, w)
		}
	}
	vv := &varValue{multi: v.Multi}
	switch {
	case sc == "all" && v.IncludeAll:
		vv.all, vv.values = true, offered
		if v.AllValue != nil && *v.AllValue != "" {
			vv.values = []string{*v.AllValue}
		}
	case sc == "two" && v.Multi:
		vv.values = want
	default:
		vv.values = want[:1]
	}
	e.vars[v.Name] = vv
	return nil
}

// checkValues compares key panels with what the inserted history implies.
func checkValues(t *testing.T, d *data, tz *time.Location, res map[string]*result) {
	get := func(key string) *result {
		t.Helper()
		r := res[key]
		if r == nil {
			t.Fatalf("no result for panel %q (renamed?)", key)
		}
		return r
	}
	num := func(row map[string]string, col string) float64 {
		t.Helper()
		s, ok := row[col]
		if !ok {
			t.Fatalf("no column %q in %v", col, row)
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("column %s: %q is not a number", col, s)
		}
		return x
	}
	eq := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	find := func(r *result, col, val string) map[string]string {
		t.Helper()
		for _, row := range r.rows {
			if row[col] == val {
				return row
			}
		}
		t.Fatalf("no row with %s = %q in %v", col, val, r.rows)
		return nil
	}
	ts := func(at time.Time) string { return at.In(tz).Format(time.DateTime) }

	// Noise reduction: exact, duplicates counted once.
	var notif float64
	episodes := map[uint64]bool{}
	seen := map[uint64]bool{}
	for _, r := range append(append([]alertRow(nil), d.alerts...), d.dupAlerts...) {
		if !inRange(r.at, d.from, d.to) || seen[r.id] {
			continue
		}
		seen[r.id] = true
		notif += float64(r.notifications)
		if r.kind != "resolved" {
			episodes[r.id] = true
		}
	}
	opened := 0
	for _, def := range d.defs {
		if inRange(def.open, d.from, d.to) {
			opened++
		}
	}
	row := get("sift-history.json#Noise reduction in the time range").rows[0]
	eq("notifications_in", num(row, "notifications_in"), notif)
	eq("alert_episodes", num(row, "alert_episodes"), float64(len(episodes)))
	eq("incidents_out", num(row, "incidents_out"), float64(opened))
	eq("noise_reduction", num(row, "noise_reduction"), 1-float64(opened)/notif)

	// The noisiest alert name and the flapping one.
	stats := d.nameStats()
	var names []string
	for n := range stats {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := len(stats[names[i]].episodes), len(stats[names[j]].episodes)
		return a > b || a == b && names[i] < names[j]
	})
	noisy := get("sift-history.json#Top noisy alert names")
	if got := noisy.rows[0]["alertname"]; got != names[0] {
		t.Errorf("noisiest alert name %q, want %q", got, names[0])
	}
	for _, n := range names {
		r, s := find(noisy, "alertname", n), stats[n]
		eq(n+" episodes", num(r, "episodes"), float64(len(s.episodes)))
		eq(n+" fingerprints", num(r, "fingerprints"), float64(len(s.fps)))
		eq(n+" refires", num(r, "refires"), float64(len(s.refires)))
		eq(n+" flapping_episodes", num(r, "flapping_episodes"), float64(len(s.flapping)))
	}
	flap := get("sift-history.json#Refiring and flapping alerts")
	r := find(flap, "fingerprint", "search-disk-1")
	eq("search-disk-1 refires", num(r, "refires"), 7)
	eq("search-disk-1 flapping_episodes", num(r, "flapping_episodes"), 6)

	// MTTA / MTTR by team and priority.
	byTeam := d.response(func(def incDef) string {
		if def.team == "" {
			return "(unclassified)"
		}
		return def.team
	})
	teams := get("sift-response.json#MTTA and MTTR by team")
	if len(teams.rows) != len(byTeam) {
		t.Errorf("teams: %d rows, want %d: %v", len(teams.rows), len(byTeam), teams.rows)
	}
	for team, s := range byTeam {
		r := find(teams, "team", team)
		eq(team+" incidents", num(r, "incidents"), float64(s.incidents))
		eq(team+" resolved", num(r, "resolved"), float64(len(s.ttr)))
		if len(s.tta) > 0 {
			eq(team+" mtta_p50", num(r, "mtta_p50"), quantileExact(0.5, s.tta))
			eq(team+" mtta_p90", num(r, "mtta_p90"), quantileExact(0.9, s.tta))
		}
		if len(s.ttr) > 0 {
			eq(team+" mttr_p50", num(r, "mttr_p50"), quantileExact(0.5, s.ttr))
			eq(team+" mttr_p90", num(r, "mttr_p90"), quantileExact(0.9, s.ttr))
		} else if r["mttr_p50"] != "NULL" {
			t.Errorf("%s mttr_p50 = %s, want NULL (nothing resolved)", team, r["mttr_p50"])
		}
	}
	eq("web mttr_p50 (30, 60, 120 min)", num(find(teams, "team", "web"), "mttr_p50"), 3600)
	byPrio := d.response(func(def incDef) string {
		if def.prio == "" {
			return "(none)"
		}
		return def.prio
	})
	prios := get("sift-response.json#MTTA and MTTR by priority")
	for p, s := range byPrio {
		r := find(prios, "priority", p)
		eq(p+" incidents", num(r, "incidents"), float64(s.incidents))
		if len(s.tta) > 0 {
			eq(p+" mtta_p50", num(r, "mtta_p50"), quantileExact(0.5, s.tta))
		}
	}
	eq("P1 mtta_p50 (2, 3 min)", num(find(prios, "priority", "P1"), "mtta_p50"), 180)
	open := get("sift-response.json#Incidents opened in the range and still open")
	if len(open.rows) != 1 || open.rows[0]["incident_id"] != "inc-7" {
		t.Errorf("incidents still open: %v, want only inc-7 (inc-9 was merged away)", open.rows)
	}
	eq("prb-disk incidents", num(find(get("sift-response.json#Recurring problems"), "problem", "prb-disk"), "incidents"), 2)

	// Forecast: the spike hour against the same hour of the 4 weeks before.
	hourly := d.hourly()["checkout"]
	var prev []float64
	for k := 1; k <= 4; k++ {
		prev = append(prev, hourly[d.spike.Add(-time.Duration(k)*7*24*time.Hour).Unix()])
	}
	fc := get("sift-forecast.json#Hourly alert episodes of ${service}: actual against expected")
	if want := int(d.to.Sub(d.from)/time.Hour) + 1; len(fc.rows) != want {
		t.Errorf("forecast: %d hourly rows, want %d (one per hour, gaps filled)", len(fc.rows), want)
	}
	r = find(fc, "time", ts(d.spike))
	eq("spike actual", num(r, "actual"), hourly[d.spike.Unix()])
	eq("spike expected", num(r, "expected"), median(prev))
	eq("spike expected_low", num(r, "expected_low"), slices.Min(prev))
	eq("spike expected_high", num(r, "expected_high"), slices.Max(prev))
	eq("spike actual (literal)", num(r, "actual"), 12)
	eq("spike expected (literal)", num(r, "expected"), 3.5)
	above := get("sift-forecast.json#Hours above their expected band (all services)").rows[0]
	if above["service"] != "checkout" || above["time"] != ts(d.spike) {
		t.Errorf("hour furthest above its band: %v, want checkout at %s", above, ts(d.spike))
	}
	eq("spike above_band", num(above, "above_band"), hourly[d.spike.Unix()]-slices.Max(prev))
}
