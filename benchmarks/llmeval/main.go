// Command llmeval measures what LLM triage adds to team routing on the
// storm scenarios, where the true owning team of every incident is known,
// with simulated models of known quality: good, random, adversarial and
// constant.
//
// For each seed s, a training scenario (seed s) and a test scenario (seed
// s + -test-offset) are generated with benchmarks/storm and replayed
// through the real correlation engine; every training incident is learned
// with its true team (as in benchmarks/stormclassify). The classifier has
// an empty service-owner taxonomy (kNN alone) but classify.teams lists
// every team, so answers can be checked against it. Every test incident is
// classified (Classify: what Sift decides without an LLM); where
// llm.ShouldAsk says so (as `sift serve` decides), each simulated model is
// asked through a real llm.Client talking to an httptest server that
// speaks the OpenAI chat-completions protocol (real prompt, schema,
// parsing, validation, corrective retry, cache by signature), and its
// answer is applied with Classifier.WithTriage (the gating) and, for
// comparison, without gating (the proposal always taken).
//
// The simulated server reads the incident id (and, for the adversary, the
// similar incidents and the current classification) from the data block
// of the prompt, and looks the true team up in a map held here.
//
// The exit status is 1 when, on any seed or overall, a model applied
// through the gating makes team accuracy lower than kNN alone.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sift-aiops/sift/benchmarks/internal/evalstats"
	"github.com/sift-aiops/sift/benchmarks/internal/machine"
	"github.com/sift-aiops/sift/benchmarks/internal/stormtruth"
	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/classify/llm"
	"github.com/sift-aiops/sift/model"
)

// ---- simulated models ----

// query is what a simulated model reads from a request: the data block
// of the prompt, and whether it is the corrective retry.
type query struct {
	ID        string
	Services  []string
	Neighbors []struct {
		Team       string  `json:"team"`
		Similarity float64 `json:"similarity"`
	}
	Sources []string
	Teams   []string
	Retry   bool
}

// fact is what the simulation knows about a test incident.
type fact struct{ truth string }

// simModel answers a query; rnd is seeded by model, incident and attempt.
type simModel struct {
	name   string
	answer func(q *query, f fact, rnd *rand.Rand) string // team
}

// outsideTeam is the adversary's answer outside the taxonomy.
const outsideTeam = "sre-oncall"

func otherTeam(teams []string, not string, rnd *rand.Rand) string {
	var xs []string
	for _, t := range teams {
		if t != not {
			xs = append(xs, t)
		}
	}
	if len(xs) == 0 {
		return not
	}
	return xs[rnd.IntN(len(xs))]
}

var knnInSources = regexp.MustCompile(`^team: fallback \(kNN (\S+) `)

// plausibleWrong is the most plausible wrong team from what the prompt
// shows: kNN's candidate below the threshold when it is wrong (the
// current classification's sources name it), else the best-scored wrong
// team of the similar incidents, else the owner of another affected
// service (a caller of the root cause), else any other team.
func plausibleWrong(q *query, truth string, rnd *rand.Rand) string {
	for _, s := range q.Sources {
		if m := knnInSources.FindStringSubmatch(s); m != nil && m[1] != truth {
			return m[1]
		}
	}
	score := map[string]float64{}
	for _, n := range q.Neighbors {
		if n.Team != "" && n.Team != truth {
			score[n.Team] += n.Similarity
		}
	}
	best := ""
	for t, v := range score {
		if best == "" || v > score[best] || (v == score[best] && t < best) {
			best = t
		}
	}
	if best != "" {
		return best
	}
	for _, s := range q.Services {
		if t := stormtruth.TeamOf(s); t != truth && t != stormtruth.Unowned {
			return t
		}
	}
	return otherTeam(q.Teams, truth, rnd)
}

func models(goodAcc float64, constant string) []simModel {
	return []simModel{
		{"good", func(q *query, f fact, rnd *rand.Rand) string {
			if rnd.Float64() < goodAcc {
				return f.truth
			}
			return otherTeam(q.Teams, f.truth, rnd)
		}},
		{"random", func(q *query, f fact, rnd *rand.Rand) string {
			return q.Teams[rnd.IntN(len(q.Teams))]
		}},
		{"adversarial", func(q *query, f fact, rnd *rand.Rand) string {
			// one answer in five outside the taxonomy; on the corrective
			// retry, half of those persist (dropped as invalid)
			if x := rnd.Float64(); x < 0.2 || (q.Retry && x < 0.5) {
				return outsideTeam
			}
			return plausibleWrong(q, f.truth, rnd)
		}},
		{"constant", func(*query, fact, *rand.Rand) string { return constant }},
	}
}

// parsePrompt reads the data block of the first user message.
func parsePrompt(msgs []chatMessage) (*query, error) {
	q := &query{}
	user := 0
	for _, m := range msgs {
		if m.Role != "user" {
			continue
		}
		user++
		if user > 1 {
			q.Retry = true
			continue
		}
		i := strings.Index(m.Content, "```json\n")
		if i < 0 {
			return nil, fmt.Errorf("no data block")
		}
		rest := m.Content[i+len("```json\n"):]
		j := strings.Index(rest, "\n```")
		if j < 0 {
			return nil, fmt.Errorf("unterminated data block")
		}
		var d struct {
			Incident struct {
				ID       string   `json:"id"`
				Services []string `json:"services"`
			} `json:"incident"`
			Similar []struct {
				Team       string  `json:"team"`
				Similarity float64 `json:"similarity"`
			} `json:"similar_past_incidents"`
			Current *struct {
				Sources []string `json:"sources"`
			} `json:"current_classification"`
			Taxonomy struct {
				Teams []string `json:"teams"`
			} `json:"taxonomy"`
		}
		if err := json.Unmarshal([]byte(rest[:j]), &d); err != nil {
			return nil, fmt.Errorf("data block: %v", err)
		}
		q.ID, q.Services, q.Teams = d.Incident.ID, d.Incident.Services, d.Taxonomy.Teams
		q.Neighbors = d.Similar
		if d.Current != nil {
			q.Sources = d.Current.Sources
		}
	}
	if q.ID == "" || len(q.Teams) == 0 {
		return nil, fmt.Errorf("no incident id or no taxonomy in the data block")
	}
	return q, nil
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func seedOf(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		io.WriteString(h, p)
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// server is a chat-completions endpoint answering as m, with usage
// estimated at 4 bytes a token.
func server(m simModel, seed string, facts map[string]fact) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []chatMessage `json:"messages"`
		}
		if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
			http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
			return
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
			return
		}
		q, err := parsePrompt(req.Messages)
		if err != nil {
			http.Error(w, fmt.Sprintf(`{"error":{"message":%q}}`, err.Error()), http.StatusBadRequest)
			return
		}
		f, ok := facts[q.ID]
		if !ok {
			http.Error(w, `{"error":{"message":"unknown incident"}}`, http.StatusBadRequest)
			return
		}
		rnd := rand.New(rand.NewPCG(seedOf(m.name, seed, q.ID, strconv.FormatBool(q.Retry)), 1))
		team := m.answer(q, f, rnd)
		cat := "service"
		if team == stormtruth.InfraTeam {
			cat = "host"
		}
		content, _ := json.Marshal(map[string]any{
			"summary":        "Alerts on " + strings.Join(q.Services, ", ") + " fired together.",
			"probable_cause": "A failure of the root-cause service.",
			"next_steps":     []string{"Check the root-cause service", "Check its recent deploys"},
			"team":           team, "category": cat, "priority": "P3",
		})
		in := 0
		for _, msg := range req.Messages {
			in += len(msg.Content)
		}
		pt, ct := in/4+1, len(content)/4+1
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-sim", "object": "chat.completion", "created": 1700000000, "model": "sim-" + m.name,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": string(content)}}},
			"usage": map[string]any{"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
		})
	}))
}

// ---- evaluation ----

// ungated applies a proposal without gating: the proposed team is taken
// wherever the model was asked and answered (what WithTriage prevents).
func ungated(res classify.Result, t *model.Triage) string {
	if t == nil || t.Team == "" {
		return res.Team
	}
	return t.Team
}

// row is one test incident.
type row struct {
	truth, today, knn string
	asked, newSig     bool
	gated, ungated    []string // per model
	trusted           []string // per model: gated with the trust agents' decisions measured so far
	answer            []string // per model: the team answered ("" without a triage)
}

// callStats are one model's LLM calls on one seed.
type callStats struct {
	asked, ok, cached, invalid, failed, requests, promptTok, complTok int
}

func (a *callStats) add(b callStats) {
	a.asked += b.asked
	a.ok += b.ok
	a.cached += b.cached
	a.invalid += b.invalid
	a.failed += b.failed
	a.requests += b.requests
	a.promptTok += b.promptTok
	a.complTok += b.complTok
}

type seedResult struct {
	name  string
	rows  []row
	calls []callStats
}

type options struct {
	k             int
	fallback      string // "", a team, or "majority"
	minConfidence float64
	goodAcc       float64
	agentChecks   float64 // share of asked incidents whose team agents decide (classify.Trust)
}

func evalSeed(name string, train, test *stormtruth.Scenario, o options) (*seedResult, error) {
	teams := stormtruth.AllTeams()
	var trainTeams []string
	for _, inc := range train.Incidents {
		trainTeams = append(trainTeams, train.Truth[inc.ID])
	}
	maj := evalstats.Majority(trainTeams)
	cfg := classify.Config{Teams: teams, KNN: classify.KNNConfig{K: o.k}}
	switch o.fallback {
	case "":
	case "majority":
		cfg.FallbackTeam = maj
	default:
		cfg.FallbackTeam = o.fallback
	}
	cl, err := classify.New(cfg)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	for _, inc := range train.Incidents {
		if err := cl.Learn(stormtruth.WithID(inc, "train-"), train.Alerts[inc.ID], model.Classification{Team: train.Truth[inc.ID]}); err != nil {
			return nil, err
		}
	}
	if err := cl.Compact(context.Background()); err != nil {
		return nil, err
	}
	lcfg := llm.Config{MinConfidence: o.minConfidence}.WithDefaults()
	ms := models(o.goodAcc, maj)
	facts := map[string]fact{}
	type item struct {
		q   *model.Incident
		al  []model.AlertState
		res classify.Result
	}
	items := make([]item, len(test.Incidents))
	rows := make([]row, len(test.Incidents))
	for i, inc := range test.Incidents {
		q := stormtruth.WithID(inc, "test-")
		al := test.Alerts[inc.ID]
		res := cl.Classify(q, al)
		items[i] = item{q, al, res}
		facts[q.ID] = fact{truth: test.Truth[inc.ID]}
		r := row{truth: test.Truth[inc.ID], today: res.Team, knn: res.KNNTeam, newSig: len(res.Similar) == 0,
			asked:   llm.ShouldAsk(res.Confidence, res.TeamFrom == "route", len(res.Similar) == 0, lcfg.MinConfidence),
			gated:   make([]string, len(ms)),
			trusted: make([]string, len(ms)),
			ungated: make([]string, len(ms)),
			answer:  make([]string, len(ms))}
		for j := range ms {
			r.gated[j], r.ungated[j], r.trusted[j] = res.Team, res.Team, res.Team
		}
		rows[i] = r
	}
	calls := make([]callStats, len(ms))
	errs := make([]error, len(ms))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var wg sync.WaitGroup
	for j, m := range ms {
		wg.Add(1)
		go func() { // one model per goroutine; its calls in order (deterministic cache)
			defer wg.Done()
			srv := server(m, name, facts)
			defer srv.Close()
			c := lcfg
			c.BaseURL, c.Model = srv.URL+"/v1", "sim-"+m.name
			client, err := llm.New(c, llm.TaxonomyOf(cl.Config()), nil, quiet)
			if err != nil {
				errs[j] = err
				return
			}
			st := &calls[j]
			// Agents check each asked incident as they resolve it (its
			// true team), in order: the trust the gating follows is what
			// the model has shown on the incidents before.
			trust, _ := classify.OpenTrust("")
			for i := range items {
				if !rows[i].asked {
					continue
				}
				st.asked++
				it := items[i]
				tr, au, err := client.Triage(context.Background(), llm.Input{Incident: it.q, Alerts: it.al, Neighbors: it.res.Similar, Current: it.res.PromptView()})
				st.requests += au.Attempts
				st.promptTok += au.PromptTokens
				st.complTok += au.CompletionTokens
				switch au.Outcome {
				case llm.OutcomeOK:
					st.ok++
				case llm.OutcomeCached:
					st.cached++
				case llm.OutcomeInvalid:
					st.invalid++
				default:
					st.failed++
				}
				if err != nil {
					continue
				}
				rows[i].answer[j] = tr.Team
				rows[i].gated[j] = cl.WithTriageTrust(it.res, tr, 0, nil).Team
				rows[i].trusted[j] = cl.WithTriageTrust(it.res, tr, 0, trust).Team
				rows[i].ungated[j] = ungated(it.res, tr)
				if o.agentChecks > 0 && seedOf(it.q.ID, "check")%1000 < uint64(o.agentChecks*1000) {
					trust.Record(tr.Model, tr.Team, rows[i].truth)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return &seedResult{name: name, rows: rows, calls: calls}, nil
}

// tally counts decisions against the truth.
type tally struct{ n, right, wrong, unassigned, askedN, askedRight int }

func count(rows []row, pick func(row) string) tally {
	var t tally
	for _, r := range rows {
		p := pick(r)
		switch {
		case p == r.truth:
			t.right++
		case p == "":
			t.unassigned++
		default:
			t.wrong++
		}
		t.n++
		if r.asked {
			t.askedN++
			if p == r.truth {
				t.askedRight++
			}
		}
	}
	return t
}

func pct(a, b int) string {
	if b == 0 {
		return "-"
	}
	return evalstats.Pct(float64(a) / float64(b))
}

// report prints the tables of one seed (or of all pooled) and returns the
// regressions found (gated model below kNN alone).
func report(title string, rows []row, calls []callStats, ms []simModel, threshold float64) []string {
	asked, newSig := 0, 0
	for _, r := range rows {
		if r.asked {
			asked++
			if r.newSig {
				newSig++
			}
		}
	}
	fmt.Printf("\n### %s: %d test incidents, %d asked (%d with no similar past incident)\n\n", title, len(rows), asked, newSig)
	fmt.Printf("| team decision | accuracy | wrong team set | unassigned | accuracy on the asked (%d) |\n|---|---|---|---|---|\n", asked)
	line := func(name string, t tally) {
		fmt.Printf("| %s | %s | %d | %d | %s |\n", name, pct(t.right, t.n), t.wrong, t.unassigned, pct(t.askedRight, t.askedN))
	}
	today := count(rows, func(r row) string { return r.today })
	line(fmt.Sprintf("kNN alone, as Sift decides today (min_confidence %.2f, else fallback)", threshold), today)
	line("kNN vote without threshold (reference)", count(rows, func(r row) string { return r.knn }))
	var regress []string
	for j, m := range ms {
		g := count(rows, func(r row) string { return r.gated[j] })
		line("**"+m.name+" model, gated (WithTriage)**", g)
		tg := count(rows, func(r row) string { return r.trusted[j] })
		line("**"+m.name+" model, gated with measured trust**", tg)
		line(m.name+" model, no gating (proposal taken where asked)", count(rows, func(r row) string { return r.ungated[j] }))
		if tg.right < today.right {
			regress = append(regress, fmt.Sprintf("%s: %s model gated with trust %s < kNN alone %s", title, m.name, pct(tg.right, tg.n), pct(today.right, today.n)))
		}
		if g.right < today.right {
			regress = append(regress, fmt.Sprintf("%s: %s model gated %s < kNN alone %s", title, m.name, pct(g.right, g.n), pct(today.right, today.n)))
		}
	}
	fmt.Printf("\n| model | asked | answered (new / cached) | invalid, dropped | other errors | requests | tokens (prompt + completion) | answer right | applied by gating (right / wrong) | right but refused by gating |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for j, m := range ms {
		c := calls[j]
		answered, right, applied, appliedRight, refusedRight := 0, 0, 0, 0, 0
		for _, r := range rows {
			if !r.asked || r.answer[j] == "" {
				continue
			}
			answered++
			if r.answer[j] == r.truth {
				right++
			}
			if r.gated[j] != r.today {
				applied++
				if r.gated[j] == r.truth {
					appliedRight++
				}
			} else if r.answer[j] == r.truth && r.today != r.truth {
				refusedRight++
			}
		}
		fmt.Printf("| %s | %d | %d (%d / %d) | %d | %d | %d | %d (%d + %d) | %s | %d (%d / %d) | %d |\n", m.name, c.asked, answered, c.ok, c.cached,
			c.invalid, c.failed, c.requests, c.promptTok+c.complTok, c.promptTok, c.complTok, pct(right, answered),
			applied, appliedRight, applied-appliedRight, refusedRight)
	}
	return regress
}

func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		v, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("-seeds: %q is not a seed", p)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-seeds: no seed")
	}
	return out, nil
}

func main() {
	seedsF := flag.String("seeds", "1,2,3", "training seeds, comma-separated; each is tested on seed+test-offset")
	offset := flag.Uint64("test-offset", 1, "the test scenario of training seed s has seed s+test-offset")
	dur := flag.Duration("duration", 24*time.Hour, "simulated duration of each scenario")
	topology := flag.String("topology", "both", "boutique, social or both")
	rules := flag.String("rules", storm.DefaultRulesFile(), "awesome-prometheus-alerts rules for alert text (default from $SIFT_SHARED_DATA; empty: built-in)")
	work := flag.String("work", "", "directory for the scenarios (reused when present; default: a temporary directory)")
	k := flag.Int("k", 0, "classify.knn.k (0: the default, 10)")
	fallback := flag.String("fallback-team", "", `classify.fallback_team: empty (unassigned, the default), a team, or "majority" (the training set's majority class)`)
	minConf := flag.Float64("min-confidence", 0, "llm.min_confidence (0: the default, 0.6)")
	goodAcc := flag.Float64("good-accuracy", 0.9, "share of right answers of the good model")
	agentChecks := flag.Float64("agent-checks", 1, "share of asked incidents whose team an agent decides, which the trust counts (0: none)")
	flag.Parse()

	seeds, err := parseSeeds(*seedsF)
	if err != nil {
		fail(err)
	}
	if *work == "" {
		d, err := os.MkdirTemp("", "llmeval-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		*work = d
	}
	t0 := time.Now()
	scen := map[uint64]*stormtruth.Scenario{}
	get := func(seed uint64) (*stormtruth.Scenario, error) {
		if s := scen[seed]; s != nil {
			return s, nil
		}
		cfg := storm.Config{Seed: seed, Duration: *dur, Topology: *topology, RulesFile: *rules}.WithDefaults()
		s, err := stormtruth.Generate(cfg, filepath.Join(*work, fmt.Sprintf("%s-%s-%d", *topology, *dur, seed)), stormtruth.Options{SkipRejected: true})
		if err != nil {
			return nil, err
		}
		scen[seed] = s
		return s, nil
	}
	o := options{k: *k, fallback: *fallback, minConfidence: *minConf, goodAcc: *goodAcc, agentChecks: *agentChecks}
	threshold := classify.Config{}.WithDefaults().KNN.MinConfidence
	ms := models(*goodAcc, "(training majority)")
	fmt.Printf("# llmeval (%s, load average %s, %d cores)\n\n", time.Now().UTC().Format(time.RFC3339), machine.LoadAvgOr("?"), runtime.NumCPU())
	fb := *fallback
	if fb == "" {
		fb = "(none: unassigned)"
	}
	fmt.Printf("Scenarios: topology %s, %s each, rules %q. Classifier: empty service taxonomy, teams %s, knn.min_confidence %.2f, fallback_team %s; llm.min_confidence %.2f; good model right %.0f%% of the time; constant model: the training set's majority team.\n",
		*topology, *dur, *rules, strings.Join(stormtruth.AllTeams(), ", "), threshold, fb, llm.Config{MinConfidence: *minConf}.WithDefaults().MinConfidence, 100**goodAcc)
	var all []row
	pooled := make([]callStats, len(ms))
	var regress []string
	for _, s := range seeds {
		train, err := get(s)
		if err != nil {
			fail(err)
		}
		test, err := get(s + *offset)
		if err != nil {
			fail(err)
		}
		t1 := time.Now()
		name := fmt.Sprintf("seed %d (train seed %d: %d incidents; test seed %d)", s, s, len(train.Incidents), s+*offset)
		for _, x := range []struct {
			seed uint64
			s    *stormtruth.Scenario
		}{{s, train}, {s + *offset, test}} {
			if x.s.Rejected > 0 {
				fmt.Printf("\n(scenario seed %d: %d of %d notifications refused by the decoder and skipped)\n", x.seed, x.s.Rejected, x.s.Lines)
			}
		}
		res, err := evalSeed(strconv.FormatUint(s, 10), train, test, o)
		if err != nil {
			fail(err)
		}
		regress = append(regress, report(name, res.rows, res.calls, ms, threshold)...)
		fmt.Printf("\n(%.1fs for learning, classifying and asking)\n", time.Since(t1).Seconds())
		all = append(all, res.rows...)
		for j := range pooled {
			pooled[j].add(res.calls[j])
		}
	}
	if len(seeds) > 1 {
		regress = append(regress, report(fmt.Sprintf("all %d seeds pooled", len(seeds)), all, pooled, ms, threshold)...)
	}
	fmt.Printf("\ntotal %.1fs, load average %s\n", time.Since(t0).Seconds(), machine.LoadAvgOr("?"))
	if len(regress) > 0 {
		fmt.Println("\nREGRESSION: a simulated model made team accuracy lower than kNN alone:")
		for _, r := range regress {
			fmt.Println("- " + r)
		}
		os.Exit(1)
	}
	fmt.Println("\nno simulated model made team accuracy lower than kNN alone")
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "llmeval: %v\n", err)
	os.Exit(2)
}
