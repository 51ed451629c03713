// Command stormclassify evaluates the classify stage on the storm
// scenarios, where the true owning team of every incident is known: the
// scenario's ground truth names the root cause (a service, or
// host:<name>) of every alert episode, and stormtruth.Ownership maps
// services to teams (host failures belong to "infra").
//
// A training scenario and a test scenario (different seeds) are generated
// with benchmarks/storm and replayed through the real correlation engine.
// Each training incident is learned (Classifier.Learn) with its true team:
// the owner of the root cause of the majority of its episodes. The test
// incidents are then classified and scored: kNN alone (empty taxonomy)
// against a majority-class baseline, accuracy against coverage at
// confidence thresholds, and the service-owner taxonomy and a routing tree
// for comparison.
//
// It also writes a CSV of past incidents for `sift import` (-csv-out) and,
// given the index that import built (-latency-index), measures
// classification + knowledge match latency per incident.
package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"gopkg.in/yaml.v3"

	"github.com/sift-aiops/sift/benchmarks/internal/evalstats"
	"github.com/sift-aiops/sift/benchmarks/internal/machine"
	"github.com/sift-aiops/sift/benchmarks/internal/stormtruth"
	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/knowledge"
	"github.com/sift-aiops/sift/model"
)

// taxonomy is the classify configuration with the service owners (and
// host:<name> -> infra for the root causes the correlator names).
func taxonomy(hosts []string) classify.Config {
	var c classify.Config
	c.Services = map[string]classify.Service{}
	teams := map[string]bool{stormtruth.InfraTeam: true}
	for s, t := range stormtruth.Ownership {
		c.Services[s] = classify.Service{Team: t, Criticality: classify.CritHigh}
		teams[t] = true
	}
	for _, h := range hosts {
		c.Services["host:"+h] = classify.Service{Team: stormtruth.InfraTeam, Criticality: classify.CritHigh}
	}
	for t := range teams {
		c.Teams = append(c.Teams, t)
	}
	sort.Strings(c.Teams)
	return c
}

// routes is a routing tree for the same ownership: node-exporter alerts
// to infra, then one route per team matching its services.
func routes() *classify.Route {
	byTeam := map[string][]string{}
	for s, t := range stormtruth.Ownership {
		byTeam[t] = append(byTeam[t], s)
	}
	root := &classify.Route{Name: "root", Routes: []*classify.Route{{Name: "hosts", Matchers: []string{`job="node-exporter"`}, Team: stormtruth.InfraTeam}}}
	var teams []string
	for t := range byTeam {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	for _, t := range teams {
		sort.Strings(byTeam[t])
		root.Routes = append(root.Routes, &classify.Route{Name: t, Team: t,
			Matchers: []string{fmt.Sprintf(`service=~"%s"`, strings.Join(byTeam[t], "|"))}})
	}
	return root
}

type scores struct{ acc, macroF1 float64 }

func score(truth, pred []string) scores {
	acc, f1 := evalstats.Score(truth, pred)
	return scores{acc, f1}
}

func teamCounts(s *stormtruth.Scenario, only func(string) bool) string {
	c := map[string]int{}
	for _, inc := range s.Incidents {
		if only(inc.ID) {
			c[s.Truth[inc.ID]]++
		}
	}
	var ts []string
	for t := range c {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return c[ts[i]] > c[ts[j]] || (c[ts[i]] == c[ts[j]] && ts[i] < ts[j]) })
	var parts []string
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s %d", t, c[t]))
	}
	return strings.Join(parts, ", ")
}

func main() {
	work := flag.String("work", "", "directory for the scenarios (reused when present; default: a temporary directory)")
	trainSeed := flag.Uint64("train-seed", 1, "seed of the training scenario")
	testSeed := flag.Uint64("test-seed", 2, "seed of the test scenario")
	dur := flag.Duration("duration", 168*time.Hour, "simulated duration of each scenario")
	topology := flag.String("topology", "both", "boutique, social or both")
	rules := flag.String("rules", storm.DefaultRulesFile(), "awesome-prometheus-alerts rules for alert text (default from $SIFT_SHARED_DATA; empty: built-in)")
	k := flag.Int("k", 10, "kNN k")
	threshold := flag.Float64("threshold", 0.6, "chosen confidence threshold (classify.knn.min_confidence)")
	csvOut := flag.String("csv-out", "", "write a CSV of past incidents for `sift import` (from the training scenario) here")
	csvRows := flag.Int("csv-rows", 100000, "rows of -csv-out")
	configOut := flag.String("config-out", "", "write a Sift configuration with the ownership taxonomy (classify: section) here")
	latIndex := flag.String("latency-index", "", "measure classification + knowledge match latency on this index (built by sift import)")
	queries := flag.Int("queries", 2000, "incidents classified in the latency run")
	runbooks := flag.String("runbooks", filepath.Join(os.Getenv("SIFT_SHARED_DATA"), "runbooks"), "knowledge base directory for the latency run")
	quality := flag.Bool("quality", true, "run the accuracy evaluation")
	kbIndex := flag.String("kb-index", "", "knowledge.index_path for the latency run (default: in memory)")
	examples = flag.Int("examples", 0, "print this many kNN errors with their neighbours")
	flag.Parse()

	if *work == "" {
		d, err := os.MkdirTemp("", "stormclassify-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*work = d
	}
	mk := func(seed uint64) storm.Config {
		return storm.Config{Seed: seed, Duration: *dur, Topology: *topology, RulesFile: *rules}.WithDefaults()
	}
	t0 := time.Now()
	trainCfg, testCfg := mk(*trainSeed), mk(*testSeed)
	train, err := stormtruth.Generate(trainCfg, filepath.Join(*work, fmt.Sprintf("train-%d", *trainSeed)), stormtruth.Options{})
	if err != nil {
		fail(err)
	}
	test, err := stormtruth.Generate(testCfg, filepath.Join(*work, fmt.Sprintf("test-%d", *testSeed)), stormtruth.Options{})
	if err != nil {
		fail(err)
	}
	all := func(string) bool { return true }
	fmt.Printf("# stormclassify (%s, load average %s, %d cores)\n\n", time.Now().UTC().Format(time.RFC3339), machine.LoadAvgOr("?"), runtime.NumCPU())
	fmt.Printf("Scenarios: topology %s, %s each, default rates, rules %q; generated and replayed in %.1fs\n",
		*topology, *dur, *rules, time.Since(t0).Seconds())
	fmt.Printf("- train seed %d: %d notifications -> %d Sift incidents; true teams: %s\n", *trainSeed, train.Lines, len(train.Incidents), teamCounts(train, all))
	fmt.Printf("- test seed %d: %d notifications -> %d Sift incidents; true teams: %s\n", *testSeed, test.Lines, len(test.Incidents), teamCounts(test, all))

	tax := taxonomy(append(append([]string(nil), train.Hosts...), test.Hosts...))
	if *configOut != "" {
		// only the taxonomy: the zero values of the other fields would be
		// written as empty maps, which are not the same as absent ones
		type svc struct {
			Team        string `yaml:"team"`
			Criticality string `yaml:"criticality"`
		}
		var doc struct {
			Classify struct {
				Teams    []string       `yaml:"teams"`
				Services map[string]svc `yaml:"services"`
			} `yaml:"classify"`
		}
		doc.Classify.Teams = tax.Teams
		doc.Classify.Services = map[string]svc{}
		for n, s := range tax.Services {
			doc.Classify.Services[n] = svc{s.Team, s.Criticality}
		}
		b, err := yaml.Marshal(doc)
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(*configOut, b, 0o644); err != nil {
			fail(err)
		}
		fmt.Printf("\nwrote %s\n", *configOut)
	}
	if *csvOut != "" {
		if err := writeCSV(train, *csvOut, *csvRows); err != nil {
			fail(err)
		}
		fmt.Printf("wrote %s (%d rows)\n", *csvOut, *csvRows)
	}
	if *quality {
		if err := evaluate(train, test, tax, *k, *threshold, *work); err != nil {
			fail(err)
		}
	}
	if *latIndex != "" {
		cfg := tax
		cfg.KNN = classify.KNNConfig{K: *k, MinConfidence: *threshold, IndexPath: *latIndex}
		if err := latency(test, cfg, knowledge.Config{Dir: *runbooks, IndexPath: *kbIndex}, *queries); err != nil {
			fail(err)
		}
	}
}

var examples *int

func fail(err error) {
	fmt.Fprintf(os.Stderr, "stormclassify: %v\n", err)
	os.Exit(1)
}

func evaluate(train, test *stormtruth.Scenario, tax classify.Config, k int, threshold float64, work string) error {
	idxPath := filepath.Join(work, "knn.idx")
	os.RemoveAll(idxPath)
	defer os.RemoveAll(idxPath)
	cl, err := classify.New(classify.Config{KNN: classify.KNNConfig{K: k, MinConfidence: threshold, IndexPath: idxPath}})
	if err != nil {
		return err
	}
	t0 := time.Now()
	var trainTeams []string
	for _, inc := range train.Incidents {
		team := train.Truth[inc.ID]
		if err := cl.Learn(stormtruth.WithID(inc, "train-"), train.Alerts[inc.ID], model.Classification{Team: team}); err != nil {
			cl.Close()
			return err
		}
		trainTeams = append(trainTeams, team)
	}
	learnT := time.Since(t0)
	if err := cl.Compact(context.Background()); err != nil {
		cl.Close()
		return err
	}
	maj := evalstats.Majority(trainTeams)
	fmt.Printf("\nLearned %d training incidents (Classifier.Learn, one at a time) in %.1fs; majority class %q\n", len(train.Incidents), learnT.Seconds(), maj)

	type row struct {
		truth, knn, base, knnFull, taxOnly, taxKNN, routed string
		conf                                               float64
		storm, multi                                       bool
	}
	rows := make([]row, len(test.Incidents))
	shown := 0
	for i, inc := range test.Incidents {
		q := stormtruth.WithID(inc, "test-")
		al := test.Alerts[inc.ID]
		v, err := cl.Vote(q, al)
		if err != nil {
			cl.Close()
			return err
		}
		res := cl.Classify(q, al)
		if v.Team != test.Truth[inc.ID] && shown < *examples {
			shown++
			var as []string
			for _, a := range al {
				as = append(as, a.Name()+"{service="+a.Labels["service"]+",host="+a.Labels["host"]+"}")
			}
			fmt.Printf("\nexample error: %s %q alerts %s; truth %s, vote %s (%.2f); neighbours:", inc.ID, inc.Title, strings.Join(as, " "), test.Truth[inc.ID], v.Team, v.TeamConfidence)
			for j, nb := range v.Neighbors {
				if j == 4 {
					break
				}
				fmt.Printf(" [%q %s %.2f]", nb.Title, nb.Team, nb.Score)
			}
			fmt.Println()
		}
		rows[i] = row{truth: test.Truth[inc.ID], knn: v.Team, conf: v.TeamConfidence, base: maj, knnFull: res.Team,
			storm: test.Storm[inc.ID], multi: len(al) > 1}
	}
	if err := cl.Close(); err != nil {
		return err
	}
	// taxonomy + learned index (production order: routes, kNN >= threshold, service owner)
	tk := tax
	tk.KNN = classify.KNNConfig{K: k, MinConfidence: threshold, IndexPath: idxPath}
	if cl, err = classify.New(tk); err != nil {
		return err
	}
	for i, inc := range test.Incidents {
		rows[i].taxKNN = cl.Classify(stormtruth.WithID(inc, "test-"), test.Alerts[inc.ID]).Team
	}
	cl.Close()
	// taxonomy alone (no history)
	if cl, err = classify.New(tax); err != nil {
		return err
	}
	for i, inc := range test.Incidents {
		rows[i].taxOnly = cl.Classify(stormtruth.WithID(inc, "test-"), test.Alerts[inc.ID]).Team
	}
	cl.Close()
	// routing tree alone (no taxonomy owners, no history)
	rc := classify.Config{Teams: tax.Teams, Route: routes()}
	if cl, err = classify.New(rc); err != nil {
		return err
	}
	for i, inc := range test.Incidents {
		rows[i].routed = cl.Classify(stormtruth.WithID(inc, "test-"), test.Alerts[inc.ID]).Team
	}
	cl.Close()

	sel := func(f func(row) bool, g func(row) string) (truth, pred []string) {
		for _, r := range rows {
			if f(r) {
				truth, pred = append(truth, r.truth), append(pred, g(r))
			}
		}
		return
	}
	subsets := []struct {
		name string
		f    func(row) bool
	}{
		{"all test incidents", func(row) bool { return true }},
		{"storm incidents (majority of episodes from a cascade or host failure)", func(r row) bool { return r.storm }},
		{"incidents with more than one alert", func(r row) bool { return r.multi }},
	}
	methods := []struct {
		name string
		g    func(row) string
	}{
		{"majority class (baseline)", func(r row) string { return r.base }},
		{"kNN vote, no threshold (empty taxonomy)", func(r row) string { return r.knn }},
		{fmt.Sprintf("kNN at min_confidence %.2f, else unassigned (empty taxonomy)", threshold), func(r row) string { return r.knnFull }},
		{"service-owner taxonomy only (no history)", func(r row) string { return r.taxOnly }},
		{fmt.Sprintf("kNN at %.2f, else service owner (taxonomy + history)", threshold), func(r row) string { return r.taxKNN }},
		{"routing tree only (service=~ per team, job=node-exporter -> infra)", func(r row) string { return r.routed }},
	}
	for _, s := range subsets {
		truth, _ := sel(s.f, func(r row) string { return r.truth })
		fmt.Printf("\n### %s (%d)\n\n| method | accuracy | macro-F1 |\n|---|---|---|\n", s.name, len(truth))
		for _, m := range methods {
			t, p := sel(s.f, m.g)
			sc := score(t, p)
			fmt.Printf("| %s | %s | %s |\n", m.name, evalstats.Pct(sc.acc), evalstats.Pct(sc.macroF1))
		}
	}
	fmt.Printf("\nkNN team vote (empty taxonomy) at confidence thresholds, all test incidents:\n\n")
	fmt.Println("| threshold | coverage | accuracy on covered | incidents covered |")
	fmt.Println("|---|---|---|---|")
	ths := []float64{0, 0.4, 0.5, threshold, 0.7, 0.8, 0.9}
	sort.Float64s(ths)
	for i, th := range ths {
		if i > 0 && th == ths[i-1] {
			continue
		}
		cov, right := 0, 0
		for _, r := range rows {
			if r.conf >= th && r.knn != "" {
				cov++
				if r.knn == r.truth {
					right++
				}
			}
		}
		fmt.Printf("| %.2f | %s | %s | %d |\n", th, evalstats.Pct(float64(cov)/float64(len(rows))), evalstats.Pct(float64(right)/float64(max(cov, 1))), cov)
	}
	// the most frequent kNN confusions
	conf := map[string]int{}
	for _, r := range rows {
		if r.knn != r.truth {
			conf[r.truth+" -> "+r.knn]++
		}
	}
	var cs []string
	for c := range conf {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return conf[cs[i]] > conf[cs[j]] || (conf[cs[i]] == conf[cs[j]] && cs[i] < cs[j]) })
	if len(cs) > 6 {
		cs = cs[:6]
	}
	fmt.Print("\nMost frequent kNN errors (truth -> vote):")
	for _, c := range cs {
		fmt.Printf(" %s: %d;", c, conf[c])
	}
	fmt.Println()
	return nil
}

var resolutions = []string{"restarted the pods", "rolled back the last deploy", "scaled out", "failed over to the replica",
	"raised the memory limit", "cleared the disk", "rebooted the host", "no action, recovered by itself"}

// writeCSV writes rows past incidents in the `sift import` CSV format,
// drawn from the training scenario's incidents (with their true team)
// with varied ids, dates and resolution notes.
func writeCSV(s *stormtruth.Scenario, path string, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	w.Write([]string{"id", "title", "description", "service", "alertnames", "team", "category", "resolution", "opened_at"})
	rnd := rand.New(rand.NewSource(42))
	for i := 0; i < rows; i++ {
		inc := s.Incidents[rnd.Intn(len(s.Incidents))]
		var names, sums []string
		seen := map[string]bool{}
		for _, a := range s.Alerts[inc.ID] {
			if n := a.Name(); n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
			if x := a.Summary(); x != "" && !seen[x] && len(sums) < 10 {
				seen[x] = true
				sums = append(sums, x)
			}
		}
		svc := inc.RootCause.Service
		if svc == "" && len(inc.Services) > 0 {
			svc = inc.Services[0]
		}
		cat := "service"
		if strings.HasPrefix(svc, "host:") {
			cat = "host"
		}
		opened := inc.OpenedAt.AddDate(0, 0, -1-rnd.Intn(700))
		w.Write([]string{fmt.Sprintf("HIST-%d", i), inc.Title, strings.Join(sums, "\n"), svc, strings.Join(names, ";"),
			s.Truth[inc.ID], cat, resolutions[rnd.Intn(len(resolutions))], opened.UTC().Format(time.RFC3339)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func latency(s *stormtruth.Scenario, cfg classify.Config, kcfg knowledge.Config, queries int) error {
	runbooks := kcfg.Dir
	cl, err := classify.New(cfg)
	if err != nil {
		return err
	}
	defer cl.Close()
	n, _ := cl.Count()
	kb, err := knowledge.Open(kcfg)
	if err != nil {
		return err
	}
	defer kb.Close()
	fmt.Printf("\n## latency: %d past incidents in %s, %d runbooks from %s (knowledge index %q; empty: in memory)\n\n", n, cfg.KNN.IndexPath, kb.Len(), runbooks, kcfg.IndexPath)
	rnd := rand.New(rand.NewSource(7))
	for i := 0; i < 50; i++ { // warm up
		inc := s.Incidents[rnd.Intn(len(s.Incidents))]
		cl.Classify(stormtruth.WithID(inc, "w-"), s.Alerts[inc.ID])
		kb.Match(inc, s.Alerts[inc.ID], 3)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var wall, cpu, wallC, wallK []time.Duration
	type sample struct {
		cpu    time.Duration
		alerts int
	}
	var samples []sample
	sizes := 0
	withKB := 0
	for i := 0; i < queries; i++ {
		inc := s.Incidents[i%len(s.Incidents)]
		al := s.Alerts[inc.ID]
		sizes += len(al)
		q := stormtruth.WithID(inc, "q-")
		c0 := threadCPU()
		t0 := time.Now()
		res := cl.Classify(q, al)
		t1 := time.Now()
		arts, err := kb.Match(q, al, 3)
		t2 := time.Now()
		cpu = append(cpu, threadCPU()-c0)
		samples = append(samples, sample{cpu[len(cpu)-1], len(al)})
		if err != nil {
			return err
		}
		if len(arts) > 0 {
			withKB++
		}
		if res.Team == "" {
			return fmt.Errorf("incident %s: no team", inc.ID)
		}
		wall, wallC, wallK = append(wall, t2.Sub(t0)), append(wallC, t1.Sub(t0)), append(wallK, t2.Sub(t1))
	}
	for _, xs := range [][]time.Duration{wall, cpu, wallC, wallK} {
		sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	}
	q := func(xs []time.Duration, p float64) float64 {
		return float64(xs[int(p*float64(len(xs)-1))].Microseconds()) / 1000
	}
	fmt.Printf("%d test-scenario incidents (mean %.1f alerts each), Classify (taxonomy + kNN k=%d + similar + priority) then knowledge Match (top 3); %d got at least one article\n\n",
		queries, float64(sizes)/float64(queries), cfg.KNN.K, withKB)
	fmt.Println("| measure | p50 | p90 | p99 | max |\n|---|---|---|---|---|")
	for _, m := range []struct {
		name string
		xs   []time.Duration
	}{{"classify + match, wall clock", wall}, {"classify + match, thread CPU", cpu}, {"classify only, wall", wallC}, {"match only, wall", wallK}} {
		fmt.Printf("| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms |\n", m.name, q(m.xs, .5), q(m.xs, .9), q(m.xs, .99), q(m.xs, 1))
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i].cpu > samples[j].cpu })
	top := samples[:max(1, len(samples)/100)]
	ta := 0
	for _, x := range top {
		ta += x.alerts
	}
	fmt.Printf("\nThe slowest 1%% (%d incidents, by thread CPU) have %.1f alerts on average (all: %.1f)\n", len(top), float64(ta)/float64(len(top)), float64(sizes)/float64(queries))
	fmt.Printf("\nload average after the run: %s (%d cores)\n", machine.LoadAvgOr("?"), runtime.NumCPU())
	return nil
}

// threadCPU is the CPU time of the calling OS thread
// (clock_gettime(CLOCK_THREAD_CPUTIME_ID)).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
