package stormfamily

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
)

const usage = "usage: stormfamily gen|score [flags]  (stormfamily gen -h, stormfamily score -h)"

// Main runs the command line; it returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "gen":
		return genMain(args[1:], stdout, stderr)
	case "score":
		return scoreMain(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "stormfamily: unknown command %q\n%s\n", args[0], usage)
	return 2
}

func genMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	fs.StringVar(&c.Family, "family", "kube", "kube or legacy")
	out := fs.String("out", "", "output directory (required): "+storm.ReplayFile+", "+storm.TruthFile+", "+storm.ConfigFile+", "+NoTopologyConfigFile)
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed")
	fs.DurationVar(&c.Duration, "duration", 24*time.Hour, "simulated duration")
	fs.Float64Var(&c.CascadesPerHour, "cascades-per-hour", 0, "service failures per hour (0: family default 2; negative: none)")
	fs.Float64Var(&c.HostFailuresPerHour, "host-failures-per-hour", 0, "node/host failures per hour (0: default 0.25)")
	fs.Float64Var(&c.PartitionsPerHour, "partitions-per-hour", 0, "legacy: rack partitions per hour (0: default 0.06)")
	fs.Float64Var(&c.NoisePerHour, "noise-per-hour", 0, "unrelated alerts per hour (0: default 15)")
	fs.Float64Var(&c.FlapsPerHour, "flaps-per-hour", 0, "flapping alerts per hour (0: default 0.5)")
	fs.StringVar(&c.RulesFile, "rules", DefaultRulesFile(), "awesome-prometheus-alerts.yml (default from $SIFT_SHARED_DATA; empty: generic names)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "stormfamily gen: -out DIR is required and takes no arguments")
		return 2
	}
	st, err := GenerateFiles(c, *out)
	if err != nil {
		fmt.Fprintf(stderr, "stormfamily gen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s: family %s seed %d, %d notifications, %d episodes; %d cascades, %d host failures, %d partitions, %d noise, %d batch runs, %d flaps; %d skipped as already firing\n",
		filepath.Join(*out, storm.ReplayFile), c.Family, c.Seed, st.Lines, st.Episodes, st.Cascades, st.HostFails, st.Partitions, st.Noise, st.Batches, st.Flaps, st.Skipped)
	return 0
}

func scoreMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	fs.SetOutput(stderr)
	family := fs.String("family", "kube", "kube, legacy or storm (benchmarks/storm; selects the family baselines)")
	dir := fs.String("dir", "", "scenario directory (required)")
	output := fs.String("output", "", "Sift replay output (required)")
	config := fs.String("config", "", "the Sift config the replay used (for the row's label; default DIR/"+storm.ConfigFile+")")
	seed := fs.String("seed", "", "seed, for the row")
	window := fs.Duration("window", 5*time.Minute, "baseline grouping window")
	header := fs.Bool("header", false, "print the table header first")
	full := fs.Bool("full", false, "print the full scorecard and the family baselines instead of a row")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" || *output == "" {
		fmt.Fprintln(stderr, "stormfamily score: -dir and -output are required")
		return 2
	}
	res, err := Score(*family, *dir, *output, *config, *window)
	if err != nil {
		fmt.Fprintf(stderr, "stormfamily score: %v\n", err)
		return 1
	}
	if *full {
		res.Card.Baselines = append(res.Card.Baselines, res.Baselines...)
		err = res.Card.WriteTable(stdout)
	} else {
		if *header {
			fmt.Fprint(stdout, RowHeader)
		}
		err = res.WriteRow(stdout, *seed)
	}
	if err == nil && *jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		err = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "stormfamily score: %v\n", err)
		return 1
	}
	return 0
}
