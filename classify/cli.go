package classify

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sift-aiops/sift/internal/yamlpath"
	"github.com/sift-aiops/sift/model"
)

// LoadConfigFile reads the `classify:` section of a Sift configuration
// file (other keys are ignored), applies defaults and validates it.
func LoadConfigFile(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(data)
}

// ParseConfig is LoadConfigFile on the file's content.
func ParseConfig(data []byte) (Config, error) {
	var doc struct {
		Classify Config         `yaml:"classify"`
		Other    map[string]any `yaml:",inline"` // other sections: not ours
	}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true) // a typo inside classify: is an error, not a silent default
		if err := dec.Decode(&doc); err != nil {
			return Config{}, err
		}
	}
	if err := doc.Classify.Validate(); err != nil {
		var root yaml.Node
		if yaml.Unmarshal(data, &root) == nil {
			if line := yamlpath.Line(&root, err.Error()); line > 0 {
				return Config{}, fmt.Errorf("line %d: %w", line, err)
			}
		}
		return Config{}, err
	}
	return doc.Classify.WithDefaults(), nil
}

// ParseLabels parses `alertname=Foo,service="bar",severity=critical`
// (values may be double-quoted, then they may contain commas).
func ParseLabels(s string) (model.LabelSet, error) {
	ls := model.LabelSet{}
	rest := strings.TrimSpace(s)
	rest = strings.TrimSuffix(strings.TrimPrefix(rest, "{"), "}")
	for strings.TrimSpace(rest) != "" {
		rest = strings.TrimLeft(rest, " ,")
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return nil, fmt.Errorf("label %q: want name=value", rest)
		}
		name := strings.TrimSpace(rest[:eq])
		if !model.ValidLabelName(name) {
			return nil, fmt.Errorf("invalid label name %q", name)
		}
		rest = strings.TrimLeft(rest[eq+1:], " ")
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := -1
			for i := 1; i < len(rest); i++ {
				if rest[i] == '\\' {
					i++
					continue
				}
				if rest[i] == '"' {
					end = i
					break
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("label %s: unterminated quoted value", name)
			}
			v, err := strconv.Unquote(rest[:end+1])
			if err != nil {
				return nil, fmt.Errorf("label %s: bad quoted value: %v", name, err)
			}
			val, rest = v, rest[end+1:]
			if t := strings.TrimLeft(rest, " "); t != "" && t[0] != ',' {
				return nil, fmt.Errorf("label %s: unexpected %q after quoted value", name, t)
			}
		} else {
			i := strings.IndexByte(rest, ',')
			if i < 0 {
				i = len(rest)
			}
			val, rest = strings.TrimSpace(rest[:i]), rest[i:]
		}
		if _, dup := ls[name]; dup {
			return nil, fmt.Errorf("label %s given twice", name)
		}
		ls[name] = val
	}
	if len(ls) == 0 {
		return nil, errors.New("no labels given")
	}
	return ls, nil
}

// parseInterleaved parses flags that may come after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// RouteTestMain implements `sift route test --config FILE --labels
// 'alertname=Foo,service=bar,severity=critical'` (labels may also be
// given as positional name=value arguments, as with amtool). It prints the
// matched route path(s), the matchers that matched on each step and the
// resulting team, category and priority (without kNN: rules, taxonomy,
// matrix). With --verify-team/--verify-category/--verify-priority it exits
// 1 when the result differs. Exit 2 on bad usage or configuration.
func RouteTestMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("route test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file with a classify: section (required)")
	labelsArg := fs.String("labels", "", "alert labels, e.g. 'alertname=Foo,service=bar,severity=critical'")
	vTeam := fs.String("verify-team", "", "exit 1 unless the team is this")
	vCat := fs.String("verify-category", "", "exit 1 unless the category is this")
	vPrio := fs.String("verify-priority", "", "exit 1 unless the priority is this")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sift route test --config FILE --labels 'name=value,...' [name=value ...]")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "route test: --config FILE is required")
		return 2
	}
	spec := *labelsArg
	if len(pos) > 0 {
		if spec != "" {
			spec += ","
		}
		spec += strings.Join(pos, ",")
	}
	labels, err := ParseLabels(spec)
	if err != nil {
		fmt.Fprintf(stderr, "route test: --labels: %v\n", err)
		return 2
	}
	cfg, err := LoadConfigFile(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "route test: %s: %v\n", *cfgPath, err)
		return 2
	}
	cfg.KNN.IndexPath = "" // rules only: do not open (or lock) the learned index
	cl, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "route test: %v\n", err)
		return 2
	}
	defer cl.Close()

	matches := cl.Router().Match(labels)
	fmt.Fprintf(stdout, "labels: %s\n", labels)
	if len(matches) == 1 && matches[0].IsRoot() {
		fmt.Fprintf(stdout, "matched the default route only: %s\n", matches[0].Name())
	} else {
		fmt.Fprintf(stdout, "matched %d route(s):\n", len(matches))
	}
	for i, m := range matches {
		fmt.Fprintf(stdout, "%d. %s\n", i+1, strings.Join(m.Path, " > "))
		for _, w := range m.Why {
			fmt.Fprintf(stdout, "     %s\n", w)
		}
		fmt.Fprintf(stdout, "     -> team=%s category=%s priority=%s\n",
			from(m.Team, m.TeamFrom), from(m.Category, m.CategoryFrom), from(m.Priority, m.PriorityFrom))
	}
	inc := &model.Incident{}
	res := cl.Classify(inc, []model.AlertState{{Alert: model.Alert{Labels: labels}, Status: model.StatusFiring}})
	fmt.Fprintf(stdout, "result (rules, taxonomy, matrix; kNN not consulted): team=%s category=%s priority=%s\n", orDash(res.Team), orDash(res.Category), orDash(res.Priority))
	for _, s := range res.Sources {
		fmt.Fprintf(stdout, "  %s\n", s)
	}
	code := 0
	for _, v := range []struct{ name, want, got string }{
		{"team", *vTeam, res.Team}, {"category", *vCat, res.Category}, {"priority", *vPrio, res.Priority},
	} {
		if v.want != "" && v.want != v.got {
			fmt.Fprintf(stdout, "verify failed: %s is %q, want %q\n", v.name, v.got, v.want)
			code = 1
		}
	}
	return code
}

func from(v, src string) string {
	if v == "" {
		return "-"
	}
	return v + " (from " + src + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ImportMain implements `sift import --config FILE [--index PATH]
// [--format csv|ndjson] FILE` (FILE "-" is standard input; the format
// defaults from the file extension). It reports rows imported, rows
// rejected (line and reason) and the index build rate. Exit 0 when every
// row was imported, 1 when some were rejected, 2 on bad usage or input
// that cannot be read.
func ImportMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file with a classify: section")
	indexPath := fs.String("index", "", "index directory (default: classify.knn.index_path of --config)")
	format := fs.String("format", "", "csv or ndjson (default: from the file extension)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sift import [--config FILE] [--index PATH] [--format csv|ndjson] FILE")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "import: want exactly one input FILE (or - for standard input)")
		fs.Usage()
		return 2
	}
	var cfg Config
	if *cfgPath != "" {
		if cfg, err = LoadConfigFile(*cfgPath); err != nil {
			fmt.Fprintf(stderr, "import: %s: %v\n", *cfgPath, err)
			return 2
		}
	}
	if *indexPath != "" {
		cfg.KNN.IndexPath = *indexPath
	}
	if cfg.KNN.IndexPath == "" {
		fmt.Fprintln(stderr, "import: no index path: set classify.knn.index_path in --config or pass --index PATH (an in-memory index would be lost)")
		return 2
	}
	f := *format
	if f == "" {
		switch strings.ToLower(filepath.Ext(pos[0])) {
		case ".csv":
			f = "csv"
		case ".ndjson", ".jsonl", ".json":
			f = "ndjson"
		default:
			fmt.Fprintf(stderr, "import: cannot tell the format of %s: pass --format csv or --format ndjson\n", pos[0])
			return 2
		}
	}
	var in io.Reader = os.Stdin
	if pos[0] != "-" {
		fh, err := os.Open(pos[0])
		if err != nil {
			fmt.Fprintf(stderr, "import: %v\n", err)
			return 2
		}
		defer fh.Close()
		in = fh
	}
	cl, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "import: %v\n", err)
		return 2
	}
	defer cl.Close()
	rep, err := cl.ImportReport(in, f)
	if rep != nil {
		for _, r := range rep.Rejected {
			fmt.Fprintf(stdout, "rejected line %d: %s\n", r.Line, r.Reason)
		}
		if len(rep.Ignored) > 0 {
			fmt.Fprintf(stdout, "ignored columns: %s\n", strings.Join(rep.Ignored, ", "))
		}
		total, _ := cl.Count()
		fmt.Fprintf(stdout, "imported %d rows, rejected %d rows in %.2fs (%.0f rows/s); index %s now holds %d incidents\n",
			rep.Imported, len(rep.Rejected), rep.Elapsed.Seconds(), rep.Rate(), cfg.KNN.IndexPath, total)
	}
	if err != nil {
		fmt.Fprintf(stderr, "import: %v\n", err)
		return 2
	}
	if rep.Imported > 0 {
		t0 := time.Now()
		if err := cl.Compact(context.Background()); err != nil {
			fmt.Fprintf(stderr, "import: compacting the index: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "compacted the index in %.2fs\n", time.Since(t0).Seconds())
	}
	if len(rep.Rejected) > 0 {
		return 1
	}
	return 0
}
