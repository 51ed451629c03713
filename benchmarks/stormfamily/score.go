package stormfamily

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/model"
)

// DropLabels are the HA replica labels removed before fingerprinting, as
// Sift's ingest does by default (storm's scorer only drops "replica").
var DropLabels = []string{"prometheus_replica", "replica"}

// Result is the score of one replay of a family scenario: storm's
// scorecard (Sift and the scorer's [alertname] and [service] baselines)
// plus the family's own Alertmanager-style baselines.
type Result struct {
	Family    string           `json:"family"`
	Variant   string           `json:"variant"`
	Card      *storm.Scorecard `json:"scorecard"`
	Baselines []storm.Metrics  `json:"family_baselines"`
}

// familyBaseline is an Alertmanager route: group_by within the window;
// the group's root cause is what its first alert names.
type familyBaseline struct {
	groupBy []string
	root    func(ls model.LabelSet) string
}

func baselinesFor(family string) []familyBaseline {
	svcOrNode := func(ls model.LabelSet) string {
		if s := ls["service"]; s != "" {
			return s
		}
		if n := ls["node"]; n != "" {
			return "node:" + n
		}
		return ls["job"]
	}
	job := func(ls model.LabelSet) string { return ls["job"] }
	inst := func(ls model.LabelSet) string { return "instance:" + ls["instance"] }
	switch family {
	case "storm": // benchmarks/storm's own scenario: the scorer's baselines only
		return nil
	case "legacy":
		return []familyBaseline{{[]string{"job"}, job}, {[]string{"instance"}, inst}, {[]string{"alertname", "instance"}, job}}
	}
	// kube-prometheus' Alertmanager configuration groups by namespace
	return []familyBaseline{{[]string{"namespace"}, svcOrNode}, {[]string{"alertname", "namespace"}, svcOrNode}}
}

// Score scores Sift's output (replay of dir's scenario with config) and
// the baselines.
func Score(family, dir, output, config string, window time.Duration) (*Result, error) {
	if config == "" {
		config = filepath.Join(dir, storm.ConfigFile)
	}
	deps, err := storm.ReadDependsOn(filepath.Join(dir, storm.ConfigFile)) // the true graph, to classify merged faults
	if err != nil {
		return nil, err
	}
	truth, input := filepath.Join(dir, storm.TruthFile), filepath.Join(dir, storm.ReplayFile)
	opts := storm.ScoreOptions{Window: window, DropLabels: DropLabels, DependsOn: deps}
	card, err := storm.ScoreWith(truth, output, input, opts)
	if err != nil {
		return nil, err
	}
	res := &Result{Family: family, Variant: filepath.Base(config), Card: card}
	tmp, err := os.MkdirTemp("", "stormfamily-baseline")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, b := range baselinesFor(family) {
		p := filepath.Join(tmp, "baseline.ndjson")
		if err := writeBaseline(input, p, b, window); err != nil {
			return nil, err
		}
		sc, err := storm.ScoreWith(truth, p, "", opts)
		if err != nil {
			return nil, err
		}
		m := *sc.Sift
		m.Name = "alertmanager[" + strings.Join(b.groupBy, ",") + "]"
		res.Baselines = append(res.Baselines, m)
	}
	return res, nil
}

// writeBaseline groups the replay input like Alertmanager (a group per
// group_by value; it opens at a firing alert and stays open while alerts
// keep arriving within the window) and writes the groups as incidents in
// Sift's replay output format.
func writeBaseline(input, out string, b familyBaseline, window time.Duration) error {
	f, err := os.Open(input)
	if err != nil {
		return err
	}
	defer f.Close()
	type member struct {
		Fingerprint string `json:"fingerprint"`
		JoinedAt    string `json:"joined_at"`
	}
	type group struct {
		ID        string   `json:"id"`
		Members   []member `json:"members"`
		RootCause string   `json:"root_cause"`
		OpenedAt  string   `json:"opened_at"`
		last      time.Time
		seen      map[model.Fingerprint]time.Time
	}
	var groups []*group
	open := map[string]*group{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var l struct {
			At    time.Time `json:"at"`
			Alert struct {
				Labels model.LabelSet `json:"labels"`
				EndsAt time.Time      `json:"endsAt"`
			} `json:"alert"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return err
		}
		ls := l.Alert.Labels
		for _, d := range DropLabels {
			delete(ls, d)
		}
		var kb strings.Builder
		for _, k := range b.groupBy {
			kb.WriteString(ls[k])
			kb.WriteByte(0xff)
		}
		key := kb.String()
		firing := l.Alert.EndsAt.IsZero() || l.Alert.EndsAt.After(l.At)
		gr := open[key]
		if gr == nil || l.At.Sub(gr.last) > window {
			if !firing {
				continue
			}
			gr = &group{ID: fmt.Sprintf("G%d", len(groups)+1), RootCause: b.root(ls), OpenedAt: l.At.Format(time.RFC3339Nano), seen: map[model.Fingerprint]time.Time{}}
			groups = append(groups, gr)
			open[key] = gr
		}
		if l.At.After(gr.last) {
			gr.last = l.At
		}
		fp := ls.Fingerprint()
		if prev, ok := gr.seen[fp]; !ok || (firing && l.At.Sub(prev) > window) {
			gr.Members = append(gr.Members, member{fp.String(), l.At.Format(time.RFC3339Nano)})
		}
		gr.seen[fp] = l.At
	}
	if err := sc.Err(); err != nil {
		return err
	}
	w, err := os.Create(out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, g := range groups {
		if err := enc.Encode(g); err != nil {
			w.Close()
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// Best returns the baseline (of the scorer's and the family's) with the
// highest pairwise F1, and the highest root-cause accuracy of any.
func (r *Result) Best() (f1 storm.Metrics, root storm.Metrics) {
	all := append(append([]storm.Metrics(nil), r.Card.Baselines...), r.Baselines...)
	for i, m := range all {
		if i == 0 || m.PairF1 > f1.PairF1 {
			f1 = m
		}
		if i == 0 || m.RootCauseAccuracy > root.RootCauseAccuracy {
			root = m
		}
	}
	return f1, root
}

// RowHeader is the header of WriteRow's table.
const RowHeader = "| family | seed | config | lines | episodes (storm incidents) | Sift pairwise F1 (P / R) | B-cubed F1 | root cause top-1 | best baseline F1 | best baseline root | storm compression | merged faults | goals (F1 ≥ 0.90, root ≥ 0.85, both ≥ +0.25) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"

// WriteRow writes r as one Markdown table row.
func (r *Result) WriteRow(w io.Writer, seed string) error {
	s := r.Card.Sift
	if s == nil {
		return fmt.Errorf("no Sift output scored")
	}
	bf, br := r.Best()
	var miss []string
	if s.PairF1 < 0.90 {
		miss = append(miss, "F1")
	}
	if s.RootCauseAccuracy < 0.85 {
		miss = append(miss, "root")
	}
	if s.PairF1 < bf.PairF1+0.25 {
		miss = append(miss, "F1 margin")
	}
	if s.RootCauseAccuracy < br.RootCauseAccuracy+0.25 {
		miss = append(miss, "root margin")
	}
	goal := "met"
	if len(miss) > 0 {
		goal = "not met: " + strings.Join(miss, ", ")
	}
	_, err := fmt.Fprintf(w, "| %s | %s | %s | %d | %d (%d) | %.3f (%.3f / %.3f) | %.3f | %.3f (%d/%d) | %.3f %s | %.3f %s | %.1f× | %d | %s |\n",
		r.Family, seed, r.Variant, r.Card.Truth.Notifications, r.Card.Truth.Episodes, r.Card.Truth.StormIncidents,
		s.PairF1, s.PairPrecision, s.PairRecall, s.BCubedF1, s.RootCauseAccuracy, s.RootCauseCorrect, s.RootCauseTotal,
		bf.PairF1, bf.Name, br.RootCauseAccuracy, br.Name, s.StormCompression, s.MergedFaults, goal)
	return err
}
