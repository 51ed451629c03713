// Command sift is the Sift AIOps engine: it turns a storm of monitoring
// alerts into a few well-explained incidents.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/ingest/kafka"
	"github.com/sift-aiops/sift/knowledge"
)

const usage = `Sift turns alert storms into a few well-explained incidents.

Usage:
  sift serve [--config FILE] [--listen ADDR] [--data-dir DIR]
  sift replay --config FILE --input alerts.ndjson --output incidents.ndjson
  sift config check FILE
  sift backfill --config FILE --input alerts.ndjson              (write the history of recorded alerts)
  sift analytics volume|response|noise|noisy|flapping|problems|forecast|emerging --config FILE [--json]
  sift history migrate --config FILE                             (apply the ClickHouse migrations)
  sift kb search --dir DIR [--limit N] [--json] "text"
  sift route test --config FILE --labels 'alertname=X,service=Y'   (which route matches and why)
  sift import --config FILE --format csv|ndjson FILE             (load historical tickets)
  sift kafka-broker --dev [--listen 127.0.0.1:9092] [--partitions 8]  (development aid, not a production broker)
  sift simulate -out DIR [-preset small|week] [-seed N] ...   (alert-storm scenario with ground truth)
  sift score -dir DIR -output incidents.ndjson [-json FILE]  (correlation-quality scorecard)
  sift version

Run "sift COMMAND --help" for the flags of a command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serveMain(args[1:], stdout, stderr)
	case "replay":
		return replayMain(args[1:], stdin, stdout, stderr)
	case "config":
		return configMain(args[1:], stdout, stderr)
	case "backfill":
		return backfillMain(args[1:], stdin, stdout, stderr)
	case "analytics":
		return analyticsMain(args[1:], stdout, stderr)
	case "history":
		return historyMain(args[1:], stdout, stderr)
	case "kb":
		if len(args) < 2 || args[1] != "search" {
			fmt.Fprintln(stderr, "usage: sift kb search --dir DIR [--limit N] [--json] \"text\"")
			return 2
		}
		return knowledge.SearchMain(args[2:], stdout, stderr)
	case "route":
		if len(args) < 2 || args[1] != "test" {
			fmt.Fprintln(stderr, "usage: sift route test --config FILE --labels 'name=value,...'")
			return 2
		}
		return classify.RouteTestMain(args[2:], stdout, stderr)
	case "import":
		return classify.ImportMain(args[1:], stdout, stderr)
	case "kafka-broker":
		return kafka.DevBrokerMain(args[1:], stdout, stderr)
	case "simulate":
		return storm.GenMain(args[1:], stdout, stderr)
	case "score":
		return storm.ScoreMain(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "sift", version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "sift: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
