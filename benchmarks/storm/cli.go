package storm

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Main runs the storm command line: "gen ..." or "score ...". It returns
// the process exit code (0 ok, 1 failure, 2 usage).
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: storm gen|score [flags]  (storm gen -h, storm score -h)")
		return 2
	}
	switch args[0] {
	case "gen", "simulate":
		return GenMain(args[1:], stdout, stderr)
	case "score":
		return ScoreMain(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, "usage: storm gen|score [flags]  (storm gen -h, storm score -h)")
		return 0
	}
	fmt.Fprintf(stderr, "storm: unknown command %q (want gen or score)\n", args[0])
	return 2
}

// GenMain is "storm gen": generate a scenario into a directory.
func GenMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "", "start from a preset: small (6h, CI) or week (168h, ~1M lines); flags given override it")
	out := fs.String("out", "", "output directory (writes "+ReplayFile+", "+TruthFile+", "+ConfigFile+"); required")
	seed := fs.Uint64("seed", 1, "random seed")
	start := fs.String("start", DefaultStart.Format(time.RFC3339), "simulated start time (RFC3339)")
	dur := fs.Duration("duration", 24*time.Hour, "simulated duration")
	inc := fs.Float64("incidents-per-hour", 2, "cascading service failures per hour")
	hostf := fs.Float64("host-failures-per-hour", 0.15, "host failures per hour")
	noise := fs.Float64("noise-per-hour", 20, "unrelated single alerts per hour")
	flaps := fs.Float64("flaps-per-hour", 0.5, "flapping alerts per hour")
	topo := fs.String("topology", "boutique", "boutique, social (DeathStarBench) or both")
	hosts := fs.Int("hosts", 6, "number of hosts")
	cluster := fs.String("cluster", "prod-eu1", "cluster label")
	resend := fs.Duration("resend", time.Minute, "resend interval of firing alerts (0: send once)")
	ha := fs.Int("ha", 2, "Prometheus replicas sending each alert (1: no HA duplicates)")
	late := fs.Float64("late-fraction", 0.05, "fraction of deliveries arriving late (0: none)")
	maxLate := fs.Duration("max-late", 2*time.Minute, "maximum extra delay of a late delivery")
	overlap := fs.Float64("overlap-fraction", 0.2, "fraction of cascades with a concurrent unrelated cascade (0: none)")
	callerP := fs.Float64("caller-alert-prob", 0.7, "chance that a caller of a failing service alerts (0: never)")
	meanFail := fs.Duration("mean-failure", 20*time.Minute, "mean failure duration")
	window := fs.Duration("window", 5*time.Minute, "correlation window written to "+ConfigFile)
	rules := fs.String("rules", DefaultRulesFile(), "awesome-prometheus-alerts rules YAML for alert names and text (default from $SIFT_SHARED_DATA; empty: built-in)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "storm gen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *out == "" {
		fmt.Fprintln(stderr, "storm gen: -out directory is required")
		return 2
	}
	st, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintf(stderr, "storm gen: -start: %v\n", err)
		return 2
	}
	var cfg Config
	switch *preset {
	case "":
		cfg = Config{}.WithDefaults()
	case "small":
		cfg = SmallScenario(*seed)
	case "week":
		cfg = WeekScenario(*seed)
	default:
		fmt.Fprintf(stderr, "storm gen: unknown -preset %q (want small or week)\n", *preset)
		return 2
	}
	// Negative means "off" in Config; the flags use 0 for off.
	off := func(d time.Duration) time.Duration {
		if d == 0 {
			return -1
		}
		return d
	}
	offF := func(f float64) float64 {
		if f == 0 {
			return -1
		}
		return f
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	apply := func(name string, fn func()) {
		if *preset == "" || set[name] {
			fn()
		}
	}
	apply("seed", func() { cfg.Seed = *seed })
	apply("start", func() { cfg.Start = st })
	apply("duration", func() { cfg.Duration = *dur })
	rates := []float64{*inc, *hostf, *noise, *flaps}
	if *preset == "" || set["incidents-per-hour"] || set["host-failures-per-hour"] || set["noise-per-hour"] || set["flaps-per-hour"] {
		if rates[0]+rates[1]+rates[2]+rates[3] == 0 {
			fmt.Fprintln(stderr, "storm gen: all rates are zero")
			return 2
		}
		apply("incidents-per-hour", func() { cfg.IncidentsPerHour = *inc })
		apply("host-failures-per-hour", func() { cfg.HostFailuresPerHour = *hostf })
		apply("noise-per-hour", func() { cfg.NoisePerHour = *noise })
		apply("flaps-per-hour", func() { cfg.FlapsPerHour = *flaps })
	}
	apply("topology", func() { cfg.Topology = *topo })
	apply("hosts", func() { cfg.Hosts = *hosts })
	apply("cluster", func() { cfg.Cluster = *cluster })
	apply("resend", func() { cfg.ResendInterval = off(*resend) })
	apply("ha", func() { cfg.HAReplicas = *ha })
	apply("late-fraction", func() { cfg.LateFraction = offF(*late) })
	apply("max-late", func() { cfg.MaxLate = *maxLate })
	apply("overlap-fraction", func() { cfg.OverlapFraction = offF(*overlap) })
	apply("caller-alert-prob", func() { cfg.CallerAlertProb = offF(*callerP) })
	apply("mean-failure", func() { cfg.MeanFailure = *meanFail })
	apply("window", func() { cfg.Window = *window })
	cfg.RulesFile = *rules
	if cfg.HAReplicas == 0 {
		fmt.Fprintln(stderr, "storm gen: -ha must be >= 1")
		return 2
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(stderr, "storm gen: %v\n", err)
		return 2
	}
	s, err := GenerateFiles(cfg, *out)
	if err != nil {
		fmt.Fprintf(stderr, "storm gen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: %d notifications (%d firing, %d resolutions, %d late), %d episodes; %d cascades, %d host failures, %d noise, %d flaps; %d alerts skipped as already firing; %.2fs\n",
		filepath.Join(*out, ReplayFile), s.Lines, s.Firing, s.Resolved, s.Late, s.Episodes,
		s.Cascades, s.HostFails, s.Noise, s.Flaps, s.Skipped, s.Elapsed.Seconds())
	return 0
}

// ScoreMain is "storm score": score Sift's output and the baselines.
func ScoreMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "scenario directory: defaults -truth and -input to its "+TruthFile+" and "+ReplayFile)
	truthPath := fs.String("truth", "", "ground truth NDJSON")
	output := fs.String("output", "", "Sift replay output NDJSON (empty: baselines only)")
	input := fs.String("input", "", "replay input NDJSON (for compression and baselines)")
	window := fs.Duration("window", 5*time.Minute, "baseline grouping window")
	slack := fs.Duration("slack", 0, "how far outside an episode a member may join (default: window)")
	jsonOut := fs.String("json", "", "also write the scorecard as JSON to this file (- for stdout)")
	config := fs.String("config", "", "Sift config with the scenario's topology, to classify merged faults (default: the -dir's "+ConfigFile+" if present)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "storm score: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *dir != "" {
		if *truthPath == "" {
			*truthPath = filepath.Join(*dir, TruthFile)
		}
		if *input == "" {
			*input = filepath.Join(*dir, ReplayFile)
		}
		if p := filepath.Join(*dir, ConfigFile); *config == "" && fileExists(p) {
			*config = p
		}
	}
	var deps map[string][]string
	if *config != "" {
		var err error
		if deps, err = ReadDependsOn(*config); err != nil {
			fmt.Fprintf(stderr, "storm score: %v\n", err)
			return 2
		}
	}
	if *truthPath == "" {
		fmt.Fprintln(stderr, "storm score: -truth (or -dir) is required")
		return 2
	}
	if *output == "" && *input == "" {
		fmt.Fprintln(stderr, "storm score: nothing to score: give -output and/or -input")
		return 2
	}
	sc, err := ScoreWith(*truthPath, *output, *input, ScoreOptions{Window: *window, Slack: *slack, DependsOn: deps})
	if err != nil {
		fmt.Fprintf(stderr, "storm score: %v\n", err)
		return 1
	}
	if *jsonOut != "-" {
		if err := sc.WriteTable(stdout); err != nil {
			fmt.Fprintf(stderr, "storm score: %v\n", err)
			return 1
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(sc, "", "  ")
		b = append(b, '\n')
		if *jsonOut == "-" {
			_, err = stdout.Write(b)
		} else {
			err = os.WriteFile(*jsonOut, b, 0o644)
		}
		if err != nil {
			fmt.Fprintf(stderr, "storm score: %v\n", err)
			return 1
		}
	}
	return 0
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ReadDependsOn reads topology.depends_on from a Sift config file.
func ReadDependsOn(path string) (map[string][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c struct {
		Topology struct {
			DependsOn map[string][]string `yaml:"depends_on"`
		} `yaml:"topology"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c.Topology.DependsOn, nil
}
