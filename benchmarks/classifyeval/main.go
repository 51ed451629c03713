// Command classifyeval measures the classify stage: accuracy and macro-F1
// of the kNN team/category vote against a majority-class baseline,
// accuracy against coverage at confidence thresholds, and per-incident
// classification latency with a large index (built through the same
// import path as `sift import`).
//
// Past incidents are synthesised from the alert rules of
// awesome-prometheus-alerts (read from $SIFT_SHARED_DATA at run time,
// nothing of it is copied into the repository): each rule becomes several
// incidents with varied hosts, environments and clusters; its group and
// service decide the owning team (teamFor) and the category (the group).
// Train and test are split by rule, so no test incident's rule is in the
// index.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/sift-aiops/sift/benchmarks/internal/evalstats"
	"github.com/sift-aiops/sift/benchmarks/internal/machine"
	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/model"
)

// rule is one alert rule with its ground truth.
type rule struct {
	Alert, Description, Severity string
	Group, Service, Slug         string
	Team, Category               string
}

// groupTeam maps each group of the rules file to its owning team.
var groupTeam = map[string]string{
	"Basic resource monitoring": "infra",
	"Databases":                 "dba",
	"Message brokers":           "messaging",
	"Proxies, load balancers and service meshes": "web",
	"Runtimes":             "app",
	"Data engineering":     "data",
	"Orchestrators":        "platform",
	"CI/CD":                "cicd",
	"Network and security": "network",
	"Storage":              "storage",
	"Cloud providers":      "cloud",
	"Observability":        "observability",
	"Other":                "app",
}

// serviceTeam overrides the group's team for some services.
var serviceTeam = map[string]string{
	"Prometheus self-monitoring": "observability",
	"Blackbox":                   "network",
	"Envoy":                      "platform", // service meshes run on the platform
	"Linkerd":                    "platform",
	"Istio":                      "platform",
	"SSL/TLS":                    "security",
	"cert-manager":               "security",
	"Hashicorp Vault":            "security",
	"Keycloak":                   "security",
	"APC UPS":                    "infra",
}

func teamFor(group, service string) string {
	if t, ok := serviceTeam[service]; ok {
		return t
	}
	if t, ok := groupTeam[group]; ok {
		return t
	}
	return "unmapped"
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)
var template = regexp.MustCompile(`\{\{[^}]*\}\}`)

// alertName turns "MySQL too many connections (> 80%)" into
// "MysqlTooManyConnections80".
func alertName(s string) string {
	var b strings.Builder
	for _, w := range nonWord.Split(s, -1) {
		if w == "" {
			continue
		}
		b.WriteString(strings.ToUpper(w[:1]) + strings.ToLower(w[1:]))
	}
	return b.String()
}

func slug(s string) string {
	return strings.Trim(strings.ToLower(nonWord.ReplaceAllString(s, "-")), "-")
}

func loadRules(path string) ([]rule, error) {
	f, err := storm.ReadRulesFile(path)
	if err != nil {
		return nil, err
	}
	var out []rule
	seen := map[string]bool{}
	for _, g := range f.Groups {
		for _, s := range g.Services {
			for _, e := range s.Exporters {
				for _, r := range e.Rules {
					name := alertName(r.Name)
					key := name + "/" + s.Name
					if name == "" || seen[key] {
						continue
					}
					seen[key] = true
					out = append(out, rule{Alert: name, Description: strings.TrimSpace(template.ReplaceAllString(r.Description, "X")),
						Severity: r.Severity, Group: g.Name, Service: s.Name, Slug: e.Slug,
						Team: teamFor(g.Name, s.Name), Category: slug(g.Name)})
				}
			}
		}
	}
	return out, nil
}

var envs = []string{"prod", "staging", "dev"}
var regions = []string{"eu-west-1", "us-east-1", "ap-south-1"}

// incident makes one incident of rule r; withLabels adds service/job labels.
func incident(r rule, id string, rnd *rand.Rand, withLabels bool) (*model.Incident, []model.AlertState) {
	host := fmt.Sprintf("node-%03d", rnd.Intn(400))
	ls := model.LabelSet{"alertname": r.Alert, "severity": r.Severity,
		"instance": fmt.Sprintf("%s:%d", host, 9100+rnd.Intn(10)), "env": envs[rnd.Intn(len(envs))],
		"region": regions[rnd.Intn(len(regions))]}
	svc := ""
	if withLabels {
		svc = slug(r.Service)
		ls["service"] = svc
		ls["job"] = r.Slug
	}
	a := model.AlertState{Alert: model.Alert{Labels: ls, Annotations: model.LabelSet{"summary": r.Description}}, Status: model.StatusFiring}
	inc := &model.Incident{ID: id, Title: r.Alert + " on " + host, Severity: r.Severity,
		Members: []model.Member{{Name: r.Alert, Service: svc}}}
	if svc != "" {
		inc.Services = []string{svc}
		inc.RootCause.Service = svc
	}
	return inc, []model.AlertState{a}
}

func pastRow(r rule, id string, rnd *rand.Rand, withLabels bool) classify.PastIncident {
	inc, alerts := incident(r, id, rnd, withLabels)
	labels := map[string]string{}
	for k, v := range alerts[0].Labels {
		if k != "alertname" {
			labels[k] = v
		}
	}
	var service string
	if withLabels {
		service = slug(r.Service)
	}
	return classify.PastIncident{ID: id, Title: inc.Title, Description: r.Description, Service: service,
		AlertNames: []string{r.Alert}, Labels: labels, Team: r.Team, Category: r.Category,
		Resolution: "resolved " + strings.ToLower(r.Alert)}
}

type scores struct {
	acc, macroF1 float64
	n            int
}

func score(truth, pred []string) scores {
	acc, f1 := evalstats.Score(truth, pred)
	return scores{acc: acc, macroF1: f1, n: len(truth)}
}

func split(rules []rule, testShare float64, seed int64) (train, test []rule) {
	for _, r := range rules {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s/%s", seed, r.Service, r.Alert)
		if float64(h.Sum64()%10000)/10000 < testShare {
			test = append(test, r)
		} else {
			train = append(train, r)
		}
	}
	return
}

type evalOut struct {
	teamKNN, teamBase, catKNN, catBase scores
	rows                               []string // coverage table rows
	trainN, testN                      int
}

func evaluate(train, test []rule, variants, k int, seed int64, withLabels bool, thresholds []float64) (*evalOut, error) {
	cl, err := classify.New(classify.Config{KNN: classify.KNNConfig{K: k, MinConfidence: 1e-9}})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	rnd := rand.New(rand.NewSource(seed))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	var trainTeams, trainCats []string
	for i, r := range train {
		for v := 0; v < variants; v++ {
			if err := enc.Encode(pastRow(r, fmt.Sprintf("TR-%d-%d", i, v), rnd, withLabels)); err != nil {
				return nil, err
			}
			trainTeams = append(trainTeams, r.Team)
			trainCats = append(trainCats, r.Category)
		}
	}
	rep, err := cl.ImportReport(&buf, "ndjson")
	if err != nil {
		return nil, err
	}
	if len(rep.Rejected) > 0 {
		return nil, fmt.Errorf("rejected rows: %+v", rep.Rejected[:1])
	}
	out := &evalOut{trainN: rep.Imported}
	mt, mc := evalstats.Majority(trainTeams), evalstats.Majority(trainCats)
	var tTruth, tPred, tBase, cTruth, cPred, cBase []string
	var conf []float64
	for i, r := range test {
		for v := 0; v < variants; v++ {
			inc, alerts := incident(r, fmt.Sprintf("TE-%d-%d", i, v), rnd, withLabels)
			vote, err := cl.Vote(inc, alerts)
			if err != nil {
				return nil, err
			}
			tTruth, tPred, tBase = append(tTruth, r.Team), append(tPred, vote.Team), append(tBase, mt)
			cTruth, cPred, cBase = append(cTruth, r.Category), append(cPred, vote.Category), append(cBase, mc)
			conf = append(conf, vote.TeamConfidence)
		}
	}
	out.testN = len(tTruth)
	out.teamKNN, out.teamBase = score(tTruth, tPred), score(tTruth, tBase)
	out.catKNN, out.catBase = score(cTruth, cPred), score(cTruth, cBase)
	for _, th := range thresholds {
		covered, right := 0, 0
		for i := range conf {
			if conf[i] >= th {
				covered++
				if tPred[i] == tTruth[i] {
					right++
				}
			}
		}
		acc := 0.0
		if covered > 0 {
			acc = float64(right) / float64(covered)
		}
		out.rows = append(out.rows, fmt.Sprintf("| %.2f | %.1f%% | %.1f%% | %d |", th, 100*float64(covered)/float64(len(conf)), 100*acc, covered))
	}
	return out, nil
}

func main() {
	shared := os.Getenv("SIFT_SHARED_DATA")
	rulesPath := flag.String("rules", filepath.Join(shared, "alert-rules", "awesome-prometheus-alerts.yml"), "awesome-prometheus-alerts rules file")
	variants := flag.Int("variants", 4, "incidents per rule (train and test)")
	testShare := flag.Float64("test-share", 0.25, "share of rules held out for test")
	seed := flag.Int64("seed", 1, "random seed")
	k := flag.Int("k", 10, "kNN k")
	threshold := flag.Float64("threshold", 0.6, "chosen confidence threshold (classify.knn.min_confidence)")
	latencyN := flag.Int("latency-n", 100000, "past incidents indexed for the latency benchmark (0 skips it)")
	queries := flag.Int("queries", 2000, "incidents classified in the latency benchmark")
	indexDir := flag.String("index-dir", "", "directory for the on-disk latency index (default: a temporary directory, removed)")
	reuse := flag.Bool("reuse-index", false, "with -index-dir: reuse an index built by an earlier run instead of rebuilding it")
	evalQuality := flag.Bool("quality", true, "run the accuracy evaluation")
	budget := flag.Int("postings-budget", 0, "classify.knn.postings_budget for the latency index (0: the default)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the latency benchmark's queries here")
	flag.Parse()
	if shared == "" && !flag.CommandLine.Parsed() {
		fmt.Fprintln(os.Stderr, "SIFT_SHARED_DATA not set")
	}
	rules, err := loadRules(*rulesPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "classifyeval: %v (set SIFT_SHARED_DATA or -rules)\n", err)
		os.Exit(2)
	}
	train, test := split(rules, *testShare, *seed)
	teams := map[string]int{}
	for _, r := range rules {
		teams[r.Team]++
	}
	fmt.Printf("# classifyeval\n\n%d rules (%d train, %d test, split by rule), %d teams, %d incidents per rule, k=%d\n\n",
		len(rules), len(train), len(test), len(teams), *variants, *k)
	var tn []string
	for t := range teams {
		tn = append(tn, t)
	}
	sort.Slice(tn, func(i, j int) bool {
		return teams[tn[i]] > teams[tn[j]] || (teams[tn[i]] == teams[tn[j]] && tn[i] < tn[j])
	})
	fmt.Print("Rules per team:")
	for _, t := range tn {
		fmt.Printf(" %s %d,", t, teams[t])
	}
	fmt.Println()
	thresholds := []float64{0, 0.4, 0.5, *threshold, 0.7, 0.8, 0.9}
	sort.Float64s(thresholds)
	for _, withLabels := range []bool{true, false} {
		if !*evalQuality {
			break
		}
		name := "alert text + labels (service, job, instance, env, region, severity)"
		if !withLabels {
			name = "alert text only (alertname, summary; no service/job labels)"
		}
		start := time.Now()
		o, err := evaluate(train, test, *variants, *k, *seed, withLabels, thresholds)
		if err != nil {
			fmt.Fprintf(os.Stderr, "classifyeval: %v\n", err)
			os.Exit(1)
		}
		fmt.Printf("\n## %s\n\n%d train incidents, %d test incidents (%.1fs)\n\n", name, o.trainN, o.testN, time.Since(start).Seconds())
		fmt.Println("| target | kNN accuracy | kNN macro-F1 | majority accuracy | majority macro-F1 |")
		fmt.Println("|---|---|---|---|---|")
		fmt.Printf("| team | %s | %s | %s | %s |\n", evalstats.Pct(o.teamKNN.acc), evalstats.Pct(o.teamKNN.macroF1), evalstats.Pct(o.teamBase.acc), evalstats.Pct(o.teamBase.macroF1))
		fmt.Printf("| category | %s | %s | %s | %s |\n", evalstats.Pct(o.catKNN.acc), evalstats.Pct(o.catKNN.macroF1), evalstats.Pct(o.catBase.acc), evalstats.Pct(o.catBase.macroF1))
		fmt.Print("\nTeam accuracy at confidence threshold (kNN decides only at or above it):\n\n")
		fmt.Println("| threshold | coverage | accuracy on covered | incidents covered |")
		fmt.Println("|---|---|---|---|")
		for _, r := range o.rows {
			fmt.Println(r)
		}
	}
	if *latencyN > 0 {
		if err := latency(rules, *latencyN, *queries, *k, *threshold, *seed, *indexDir, *reuse, *cpuProfile, *budget); err != nil {
			fmt.Fprintf(os.Stderr, "classifyeval: latency: %v\n", err)
			os.Exit(1)
		}
	}
}

func latency(rules []rule, n, queries, k int, threshold float64, seed int64, dir string, reuse bool, profile string, budget int) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "classifyeval-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	path := filepath.Join(dir, "classify.idx")
	if !reuse {
		os.RemoveAll(path)
	}
	cl, err := classify.New(classify.Config{KNN: classify.KNNConfig{K: k, MinConfidence: threshold, IndexPath: path, PostingsBudget: budget}})
	if err != nil {
		return err
	}
	defer cl.Close()
	rnd := rand.New(rand.NewSource(seed + 7))
	// generate in chunks so memory stays small; time only the import
	var built time.Duration
	imported := 0
	const chunk = 10000
	if have, _ := cl.Count(); reuse && have > 0 {
		n = 0
	}
	for off := 0; off < n; off += chunk {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		for i := off; i < off+chunk && i < n; i++ {
			r := rules[rnd.Intn(len(rules))]
			p := pastRow(r, fmt.Sprintf("H-%d", i), rnd, rnd.Intn(4) != 0)
			p.Labels["cluster"] = fmt.Sprintf("c%d", rnd.Intn(20))
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		rep, err := cl.ImportReport(&buf, "ndjson")
		if err != nil {
			return err
		}
		built += rep.Elapsed
		imported += rep.Imported
	}
	t0 := time.Now()
	if err := cl.Compact(context.Background()); err != nil {
		return err
	}
	compact := time.Since(t0)
	count, _ := cl.Count()
	fmt.Printf("\n## latency (on-disk index, %d past incidents)\n\n", count)
	if imported > 0 {
		fmt.Printf("Index build (import path, NDJSON, batches of 500): %d incidents in %.1fs = %.0f incidents/s\n",
			imported, built.Seconds(), float64(imported)/built.Seconds())
	}
	fmt.Printf("Compaction to one segment (Classifier.Compact, run by sift import): %.1fs\n", compact.Seconds())
	// warm up
	for i := 0; i < 50; i++ {
		inc, alerts := incident(rules[rnd.Intn(len(rules))], "W", rnd, true)
		cl.Classify(inc, alerts)
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// thread CPU time is measured too: on a machine shared with other
	// work, wall-clock tails include time spent waiting for a core
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lat := make([]time.Duration, 0, queries)
	cpu := make([]time.Duration, 0, queries)
	right, decided, decidedRight := 0, 0, 0
	for i := 0; i < queries; i++ {
		r := rules[rnd.Intn(len(rules))]
		inc, alerts := incident(r, fmt.Sprintf("Q-%d", i), rnd, i%2 == 0)
		// a few incidents with several alerts
		if i%5 == 0 {
			_, more := incident(rules[rnd.Intn(len(rules))], "", rnd, true)
			alerts = append(alerts, more...)
		}
		c0 := threadCPU()
		t0 := time.Now()
		res := cl.Classify(inc, alerts)
		lat = append(lat, time.Since(t0))
		cpu = append(cpu, threadCPU()-c0)
		if len(res.Similar) == 0 {
			return fmt.Errorf("no similar incident for %s", inc.Title)
		}
		if len(res.Similar) > 0 && res.Similar[0].Team == r.Team {
			right++
		}
		if strings.HasPrefix(res.Sources[0], "team: kNN") {
			decided++
			if res.Team == r.Team {
				decidedRight++
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	sort.Slice(cpu, func(i, j int) bool { return cpu[i] < cpu[j] })
	q := func(xs []time.Duration, p float64) time.Duration { return xs[int(p*float64(len(xs)-1))] }
	fmt.Printf("Classify (routes + kNN vote + similar + matrix), %d incidents, wall clock: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (load average %s on %d cores)\n",
		len(lat), ms(q(lat, 0.5)), ms(q(lat, 0.9)), ms(q(lat, 0.99)), ms(lat[len(lat)-1]), machine.LoadAvgOr("?"), runtime.NumCPU())
	fmt.Printf("Same, CPU time of the classifying thread: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		ms(q(cpu, 0.5)), ms(q(cpu, 0.9)), ms(q(cpu, 0.99)), ms(cpu[len(cpu)-1]))
	fmt.Printf("Sanity on the same queries (rules are in this index; every 5th incident also has an alert of another rule): top neighbour's team right %.1f%%; kNN decided (confidence >= %.2f) %.1f%%, right on %.1f%% of those\n",
		100*float64(right)/float64(len(lat)), threshold, 100*float64(decided)/float64(len(lat)), 100*float64(decidedRight)/float64(max(decided, 1)))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// threadCPU is the CPU time of the calling OS thread
// (clock_gettime(CLOCK_THREAD_CPUTIME_ID), nanosecond precision).
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
