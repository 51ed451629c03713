package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/config"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/history"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/model"
)

// loadConfig reads --config (none: defaults) for a command.
func loadConfig(cmd, path string, stderr io.Writer) (*config.Config, bool) {
	if path == "" {
		return config.Default(), true
	}
	c, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "sift %s: invalid configuration: %v\n", cmd, err)
		return nil, false
	}
	return c, true
}

// historyMain runs `sift history migrate`.
func historyMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "migrate" {
		fmt.Fprintln(stderr, "usage: sift history migrate --config FILE   (apply the ClickHouse migrations of deploy/clickhouse)")
		return 2
	}
	fs := flag.NewFlagSet("history migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML) with history.clickhouse")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, ok := loadConfig("history migrate", *cfgPath, stderr)
	if !ok {
		return 1
	}
	if cfg.History.ClickHouse == nil {
		fmt.Fprintln(stderr, "sift history migrate: the configuration has no history.clickhouse (the embedded store needs no migration)")
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// OpenClickHouse applies what is missing; report what the table holds.
	s, err := history.OpenClickHouse(ctx, cfg.History.WithDefaults().ClickHouse)
	if err != nil {
		fmt.Fprintf(stderr, "sift history migrate: %v\n", err)
		return 1
	}
	defer s.Close()
	ms, _ := history.Migrations()
	for _, m := range ms {
		fmt.Fprintf(stdout, "%04d_%s: applied\n", m.Version, m.Name)
	}
	return 0
}

// analyticsMain runs `sift analytics ENDPOINT`.
func analyticsMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(stderr, "usage: sift analytics %s --config FILE [--since T] [--until T] [--step D] [--by DIM] [--key K] [--json] ...\n",
			strings.Join(history.Endpoints, "|"))
		return 2
	}
	ep := args[0]
	fs := flag.NewFlagSet("analytics "+ep, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML); none: built-in defaults")
	asJSON := fs.Bool("json", false, "print JSON (the API's answer) instead of a table")
	q := url.Values{}
	for _, name := range []string{"since", "until", "step", "by", "key", "limit", "horizon", "lookback", "window", "baseline", "min_count"} {
		fs.Func(strings.ReplaceAll(name, "_", "-"), "as the API parameter "+name, func(v string) error { q.Set(name, v); return nil })
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	cfg, ok := loadConfig("analytics", *cfgPath, stderr)
	if !ok {
		return 1
	}
	def := 7 * 24 * time.Hour
	if ep == "volume" || ep == "noise" {
		def = 24 * time.Hour
	}
	p, err := history.ParseParams(q, time.Now(), def)
	if err != nil {
		fmt.Fprintf(stderr, "sift analytics: --%v\n", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var v any
	store, err := history.Open(ctx, cfg.History, cfg.DataDir)
	switch {
	case errors.Is(err, history.ErrLocked):
		// sift serve has the embedded store: ask it.
		v, err = analyticsOverHTTP(ctx, cfg.Listen, ep, q, p)
	case err != nil:
		fmt.Fprintf(stderr, "sift analytics: %v\n", err)
		return 1
	default:
		defer store.Close()
		v, err = (&history.Analytics{Store: store}).Run(ctx, ep, p)
	}
	if err != nil {
		fmt.Fprintf(stderr, "sift analytics %s: %v\n", ep, err)
		if _, ok := err.(*history.ParamError); ok {
			return 2
		}
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(v)
		return 0
	}
	printTable(stdout, v)
	return 0
}

// analyticsOverHTTP asks a running sift serve (which holds the embedded
// store) for the answer.
func analyticsOverHTTP(ctx context.Context, listen, ep string, q url.Values, p *history.Params) (any, error) {
	var v any
	switch ep {
	case "volume":
		v = &history.VolumeResult{}
	case "response", "mtta", "mttr":
		v = &history.ResponseResult{}
	case "noise":
		v = &history.NoiseResult{}
	case "noisy", "flapping":
		v = &history.TopResult{}
	case "problems":
		v = &history.ProblemsResult{}
	case "forecast":
		v = &history.ForecastResult{}
	case "emerging":
		v = &history.EmergingResult{}
	default:
		return nil, &history.ParamError{Field: "endpoint", Msg: fmt.Sprintf("%q is not one of %s", ep, strings.Join(history.Endpoints, ", "))}
	}
	// Relative times are resolved here, as this command would.
	q.Set("since", p.Since.Format(time.RFC3339Nano))
	q.Set("until", p.Until.Format(time.RFC3339Nano))
	u := "http://" + listen + "/api/v1/analytics/" + ep + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the embedded store is in use by sift serve, and asking it at %s failed: %w", listen, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Field string }
		json.NewDecoder(resp.Body).Decode(&e)
		if e.Field != "" {
			return nil, &history.ParamError{Field: e.Field, Msg: e.Error}
		}
		return nil, fmt.Errorf("sift serve at %s: %s: %s", listen, resp.Status, e.Error)
	}
	return v, json.NewDecoder(resp.Body).Decode(v)
}

func printTable(w io.Writer, v any) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	defer tw.Flush()
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	secs := func(s history.Stats) string {
		if s.Count == 0 {
			return "-"
		}
		return fmt.Sprintf("%s/%s/%s", time.Duration(s.P50*float64(time.Second)).Round(time.Second),
			time.Duration(s.P90*float64(time.Second)).Round(time.Second), time.Duration(s.Mean*float64(time.Second)).Round(time.Second))
	}
	switch r := v.(type) {
	case *history.VolumeResult:
		fmt.Fprintln(tw, "KEY\tTIME\tALERTS\tINCIDENTS")
		for _, s := range r.Series {
			for _, p := range s.Points {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", s.Key, ts(p.T), p.Alerts, p.Incidents)
			}
		}
	case *history.ResponseResult:
		fmt.Fprintln(tw, "TEAM\tPRIORITY\tINCIDENTS\tACKED\tRESOLVED\tMTTA p50/p90/mean\tMTTR p50/p90/mean")
		total := r.Total
		total.Team = "(all)"
		for _, g := range append(r.Groups, total) {
			team, prio := g.Team, g.Priority
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", team, prio, g.Incidents, g.Acknowledged, g.Resolved, secs(g.MTTA), secs(g.MTTR))
		}
	case *history.NoiseResult:
		fmt.Fprintln(tw, "TIME\tNOTIFICATIONS\tALERTS\tINCIDENTS\tREDUCTION\tALERTS/INCIDENT")
		for _, p := range append(r.Points, r.Total) {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f%%\t%.1f\n", ts(p.T), p.Notifications, p.Alerts, p.Incidents, 100*p.Reduction, p.Compression)
		}
	case *history.TopResult:
		fmt.Fprintln(tw, "ALERTNAME\tEPISODES\tNOTIFICATIONS\tFINGERPRINTS\tINCIDENTS\tREFIRES\tFLAPPING")
		for _, n := range r.AlertNames {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", n.AlertName, n.Episodes, n.Notifications, n.Fingerprints, n.Incidents, n.Refires, n.Flapping)
		}
	case *history.ProblemsResult:
		fmt.Fprintln(tw, "PROBLEM\tINCIDENTS\tFIRST\tLAST\tMTTR p50/p90/mean\tTITLE")
		for _, p := range r.Problems {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", p.Problem, p.Incidents, ts(p.FirstSeen), ts(p.LastSeen), secs(p.MTTR), p.Title)
		}
	case *history.ForecastResult:
		fmt.Fprintf(tw, "# %s=%q step %s, method %s, %d anomalies in the history\n", r.By, r.Key, r.Step, r.Method, len(r.Anomalies))
		fmt.Fprintln(tw, "TIME\tACTUAL\tEXPECTED\tLOWER\tUPPER\tANOMALY")
		for _, p := range r.History {
			if !p.Anomaly {
				continue
			}
			fmt.Fprintf(tw, "%s\t%.0f\t%.1f\t%.0f\t%.0f\tyes\n", ts(p.T), *p.Actual, p.Expected, p.Lower, p.Upper)
		}
		for _, p := range r.Forecast {
			fmt.Fprintf(tw, "%s\t-\t%.1f\t%.0f\t%.0f\t\n", ts(p.T), p.Expected, p.Lower, p.Upper)
		}
	case *history.EmergingResult:
		fmt.Fprintln(tw, "SIGNATURE\tRECENT\tBASELINE\tEXPECTED\tRATIO\tSCORE\tTITLE")
		for _, e := range r.Rising {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%s\n", e.Signature, e.Recent, e.Baseline, e.Expected, e.Ratio, e.Score, e.Title)
		}
	default:
		json.NewEncoder(w).Encode(v)
	}
}

// backfillMain runs `sift backfill`: the pipeline over recorded alerts on
// their event time, writing their whole history; a rerun writes nothing
// twice.
func backfillMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("backfill", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML); none: built-in defaults (embedded store under data_dir)")
	input := fs.String("input", "", "recorded alerts, NDJSON in the replay format: {\"at\": RFC3339, \"alert\": {...}} per line (- for stdin)")
	progress := fs.Bool("progress", true, "show a progress bar on stderr")
	prefix := fs.String("id-prefix", "BF-", "put before the incident and problem ids of the backfill (keeps them apart from live incidents)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *input == "" {
		fmt.Fprintln(stderr, "sift backfill: --input is required (use - for stdin)")
		return 2
	}
	cfg, ok := loadConfig("backfill", *cfgPath, stderr)
	if !ok {
		return 1
	}
	var in io.Reader = stdin
	var size int64
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			fmt.Fprintf(stderr, "sift backfill: %v\n", err)
			return 1
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	ctx := context.Background()
	store, err := history.Open(ctx, cfg.History, cfg.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "sift backfill: %v\n", err)
		return 1
	}
	defer store.Close()
	a0, i0, err := store.Counts(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sift backfill: %v\n", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "sift-backfill-")
	if err != nil {
		fmt.Fprintf(stderr, "sift backfill: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	hc := cfg.History.WithDefaults()
	rec, err := history.NewRecorder(store, filepath.Join(tmp, "spool"), hc, nil, nil)
	if err != nil {
		fmt.Fprintf(stderr, "sift backfill: %v\n", err)
		return 1
	}
	rec.AlwaysCheck, rec.IDPrefix = true, *prefix
	ccfg := cfg.Classify
	ccfg.KNN.IndexPath = filepath.Join(tmp, "incidents.bleve")
	classifier, err := classify.New(ccfg)
	if err != nil {
		rec.Close()
		fmt.Fprintf(stderr, "sift backfill: %v\n", err)
		return 1
	}
	defer classifier.Close()
	eng := correlate.New(cfg.Correlate, cfg.Topology)
	eng.SetSLA(cfg.SLA.Policy())
	eng.EmitEvents(true)
	eng.EmitHistory(true)
	// The stage's per-incident warnings (nothing to learn from an
	// unclassified incident) are noise here: errors only.
	stage := newClassifyStage(classifier, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	stage.view = func(id string) []model.AlertState { return eng.IncidentAlerts(id) }
	stage.next = append(stage.next, rec)
	after := func() error {
		evs := eng.Drain()
		if len(evs) > 0 {
			stage.Export(ctx, evs)
		}
		if a, l := eng.DrainHistory(); len(a) > 0 || len(l) > 0 {
			stage.ExportHistory(ctx, &model.HistoryBatch{Alerts: a, Lifecycle: l})
		}
		return nil
	}
	start := time.Now()
	var bar *progressBar
	if *progress && size > 0 {
		bar = &progressBar{w: stderr, total: size, start: start}
	}
	st, err := replayThen(in, ingest.NewDecoder(cfg.Ingest), eng, bar, after)
	if bar != nil {
		bar.finish()
	}
	if err == nil {
		err = rec.Flush(ctx)
	}
	if cerr := rec.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintf(stderr, "sift backfill: %v\n", err)
		return 1
	}
	a1, i1, err := store.Counts(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "sift backfill: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "lines read:             %d\n", st.lines)
	fmt.Fprintf(stdout, "rejected:               %d\n", st.rejected)
	for _, b := range st.badLines {
		fmt.Fprintf(stdout, "  %s\n", b)
	}
	fmt.Fprintf(stdout, "alert events added:     %d (store now holds %d)\n", a1-a0, a1)
	fmt.Fprintf(stdout, "incident events added:  %d (store now holds %d)\n", i1-i0, i1)
	fmt.Fprintf(stdout, "store:                  %s\n", store.Kind())
	fmt.Fprintf(stdout, "took:                   %s\n", time.Since(start).Round(time.Millisecond))
	return 0
}
