package storm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sift-aiops/sift/model"
)

// SiftIncident is one line of Sift's replay output.
type SiftIncident struct {
	ID        string       `json:"id"`
	Alerts    []string     `json:"alerts"`
	Members   []SiftMember `json:"members"`
	RootCause string       `json:"root_cause"`
	Title     string       `json:"title"`
	Status    string       `json:"status"`
	OpenedAt  string       `json:"opened_at"`
	Problem   string       `json:"problem"`
}

// SiftMember is one member of a SiftIncident.
type SiftMember struct {
	Fingerprint string `json:"fingerprint"`
	JoinedAt    string `json:"joined_at"`
}

// Metrics is the correlation quality of one clustering of the episodes.
type Metrics struct {
	Name      string `json:"name"`
	Incidents int    `json:"incidents"` // incidents (groups) produced

	PairPrecision   float64 `json:"pair_precision"`
	PairRecall      float64 `json:"pair_recall"`
	PairF1          float64 `json:"pair_f1"`
	BCubedPrecision float64 `json:"bcubed_precision"`
	BCubedRecall    float64 `json:"bcubed_recall"`
	BCubedF1        float64 `json:"bcubed_f1"`

	// Compression is alert notifications in per incident out (0 when the
	// replay input was not given); StormCompression the same restricted
	// to cascade and host episodes and the incidents holding them.
	Compression      float64 `json:"compression"`
	StormCompression float64 `json:"storm_compression"`
	StormIncidents   int     `json:"storm_incidents"` // incidents holding a storm episode

	RootCauseAccuracy float64 `json:"root_cause_accuracy"`
	RootCauseCorrect  int     `json:"root_cause_correct"`
	RootCauseTotal    int     `json:"root_cause_total"`

	// MergedFaults counts incidents holding the cause alerts (raised by
	// the failing service or host itself) of two or more true storm
	// incidents whose time spans overlap: two concurrent faults presented
	// as one. A storm none of whose cause alerts is in an incident is
	// represented by the incident holding most of it.
	MergedFaults int `json:"merged_faults"`
	// MergedFaultsBy splits MergedFaults by the most telling pair of
	// faults in the incident: "unrelated" (both raised alerts of their
	// own, on different services with no dependency path between them),
	// "dependent" (one root service calls the other), "silent" (one fault
	// raised no alert of its own, only symptoms elsewhere), "same root"
	// (the same service or host failed twice). Only "unrelated" can be
	// told apart from the alerts alone. Without a topology (ScoreOptions.
	// DependsOn) dependent pairs count as unrelated.
	MergedFaultsBy map[string]int `json:"merged_faults_by,omitempty"`
	// MergedStorms counts incidents holding any episode of more than one
	// true storm incident whose time spans overlap (a single symptom that
	// went to a concurrent fault's incident counts).
	MergedStorms int `json:"merged_storms"`

	MissedEpisodes  int `json:"missed_episodes"`  // truth episodes in no incident
	UnmappedMembers int `json:"unmapped_members"` // members with a fingerprint absent from the truth
	FarMembers      int `json:"far_members"`      // members joined more than the slack outside their episode
}

// TruthStats summarises the ground truth and the replay input.
type TruthStats struct {
	Episodes           int            `json:"episodes"`
	Incidents          int            `json:"incidents"`
	StormIncidents     int            `json:"storm_incidents"`
	EpisodesByKind     map[string]int `json:"episodes_by_kind"`
	Notifications      int64          `json:"notifications"`
	StormNotifications int64          `json:"storm_notifications"`
	UnmappedInput      int64          `json:"unmapped_input"` // input lines with a fingerprint absent from the truth
}

// Scorecard is the result of scoring Sift (and the baselines).
type Scorecard struct {
	Window    string     `json:"window"`
	Slack     string     `json:"slack"`
	Truth     TruthStats `json:"truth"`
	Sift      *Metrics   `json:"sift,omitempty"`
	Baselines []Metrics  `json:"baselines,omitempty"`
}

// ScoreOptions tunes ScoreWith.
type ScoreOptions struct {
	Window     time.Duration // baseline grouping window (default 5m)
	Slack      time.Duration // how far outside an episode a join still counts (default Window)
	DropLabels []string      // labels removed before fingerprinting the input (default [replica])
	// BaselineGroupBy lists the baselines: each a group_by label list.
	// Default [[alertname], [service]].
	BaselineGroupBy [][]string
	// DependsOn is the scenario's topology (service -> services it
	// calls), to tell dependent from unrelated merged faults. A failed
	// host stands for the services on it that alerted (known from the
	// replay input only).
	DependsOn map[string][]string
}

// Score scores Sift's output against the ground truth; with the replay
// input (inputPath non-empty) it also computes compression and the
// Alertmanager-style baselines. outputPath may be empty to score only
// the baselines.
func Score(truthPath, outputPath, inputPath string, window time.Duration) (*Scorecard, error) {
	return ScoreWith(truthPath, outputPath, inputPath, ScoreOptions{Window: window})
}

// ScoreWith is Score with options.
func ScoreWith(truthPath, outputPath, inputPath string, o ScoreOptions) (*Scorecard, error) {
	if o.Window <= 0 {
		o.Window = 5 * time.Minute
	}
	if o.Slack <= 0 {
		o.Slack = o.Window
	}
	if o.DropLabels == nil {
		o.DropLabels = []string{"replica"}
	}
	if o.BaselineGroupBy == nil {
		o.BaselineGroupBy = [][]string{{"alertname"}, {"service"}}
	}
	eps, err := ReadTruth(truthPath)
	if err != nil {
		return nil, err
	}
	tr := newTruth(eps, o.Slack)
	tr.dependsOn = o.DependsOn
	sc := &Scorecard{Window: fmtDuration(o.Window), Slack: fmtDuration(o.Slack), Truth: tr.stats()}
	var notif *notifCounts
	var base []*grouper
	if inputPath != "" {
		for _, gb := range o.BaselineGroupBy {
			base = append(base, &grouper{labels: gb, window: o.Window, groups: map[string]*bgroup{}, epCluster: newEpCluster(len(eps))})
		}
		if notif, err = tr.readInput(inputPath, o.DropLabels, base); err != nil {
			return nil, err
		}
		sc.Truth.Notifications = notif.total
		sc.Truth.StormNotifications = notif.storm
		sc.Truth.UnmappedInput = notif.unmapped
	}
	if outputPath != "" {
		cl, unmapped, far, err := tr.readOutput(outputPath)
		if err != nil {
			return nil, err
		}
		m := tr.evaluate("sift", cl, notif)
		m.UnmappedMembers, m.FarMembers = unmapped, far
		sc.Sift = &m
	}
	for _, g := range base {
		sc.Baselines = append(sc.Baselines, tr.evaluate("alertmanager["+strings.Join(g.labels, ",")+"]", g.clusters, notif))
	}
	return sc, nil
}

// ReadTruth reads a ground-truth NDJSON file.
func ReadTruth(path string) ([]Episode, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("truth: %w", err)
	}
	defer f.Close()
	var eps []Episode
	err = eachLine(f, func(n int, b []byte) error {
		var e Episode
		if err := json.Unmarshal(b, &e); err != nil {
			return fmt.Errorf("truth %s line %d: %w", path, n, err)
		}
		if e.Incident == "" || e.FirstAt.IsZero() || e.LastAt.Before(e.FirstAt) {
			return fmt.Errorf("truth %s line %d: want incident, first_at and last_at >= first_at", path, n)
		}
		eps = append(eps, e)
		return nil
	})
	return eps, err
}

func eachLine(r io.Reader, fn func(n int, b []byte) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if len(strings.TrimSpace(string(b))) == 0 {
			continue
		}
		if err := fn(n, b); err != nil {
			return err
		}
	}
	return sc.Err()
}

type ref struct {
	ep int
	at time.Time
}

type cluster struct {
	id   string
	root string
	refs []ref
}

type truth struct {
	eps      []Episode
	slack    time.Duration
	byFP     map[model.Fingerprint][]int // sorted by FirstAt
	incOf    []int                       // episode -> true incident index
	incNames []string
	incRoot  []string
	incStorm []bool
	incSpan  []span

	dependsOn map[string][]string
	// hostServices: per host-failure incident, the services on the host
	// that alerted (read from the replay input).
	hostServices map[int]map[string]bool
}

func newTruth(eps []Episode, slack time.Duration) *truth {
	t := &truth{eps: eps, slack: slack, byFP: map[model.Fingerprint][]int{}, incOf: make([]int, len(eps)), hostServices: map[int]map[string]bool{}}
	idx := map[string]int{}
	for i, e := range eps {
		t.byFP[e.Fingerprint] = append(t.byFP[e.Fingerprint], i)
		k, ok := idx[e.Incident]
		if !ok {
			k = len(t.incNames)
			idx[e.Incident] = k
			t.incNames = append(t.incNames, e.Incident)
			t.incRoot = append(t.incRoot, e.RootCause)
			t.incStorm = append(t.incStorm, e.Storm())
			t.incSpan = append(t.incSpan, span{e.FirstAt, e.LastAt})
		}
		t.incOf[i] = k
		if e.FirstAt.Before(t.incSpan[k].start) {
			t.incSpan[k].start = e.FirstAt
		}
		if e.LastAt.After(t.incSpan[k].end) {
			t.incSpan[k].end = e.LastAt
		}
	}
	for _, l := range t.byFP {
		sort.Slice(l, func(a, b int) bool { return eps[l[a]].FirstAt.Before(eps[l[b]].FirstAt) })
	}
	return t
}

func (t *truth) stats() TruthStats {
	s := TruthStats{Episodes: len(t.eps), Incidents: len(t.incNames), EpisodesByKind: map[string]int{}}
	for _, e := range t.eps {
		s.EpisodesByKind[e.Kind]++
	}
	for _, st := range t.incStorm {
		if st {
			s.StormIncidents++
		}
	}
	return s
}

// lookup maps (fingerprint, time) to the episode with that fingerprint
// nearest in time (distance 0 inside its span).
func (t *truth) lookup(fp model.Fingerprint, at time.Time) (int, time.Duration, bool) {
	l := t.byFP[fp]
	if len(l) == 0 {
		return -1, 0, false
	}
	// Episodes of one fingerprint do not overlap: the nearest is the last
	// one starting at or before at, or the one after it.
	k := sort.Search(len(l), func(i int) bool { return t.eps[l[i]].FirstAt.After(at) })
	best, bestD := -1, time.Duration(0)
	for _, j := range []int{k - 2, k - 1, k} {
		if j < 0 || j >= len(l) {
			continue
		}
		e := &t.eps[l[j]]
		var d time.Duration
		switch {
		case at.Before(e.FirstAt):
			d = e.FirstAt.Sub(at)
		case at.After(e.LastAt):
			d = at.Sub(e.LastAt)
		}
		if best < 0 || d < bestD {
			best, bestD = l[j], d
		}
	}
	return best, bestD, true
}

func (t *truth) readOutput(path string) (cl []cluster, unmapped, far int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("sift output: %w", err)
	}
	defer f.Close()
	byID := map[string]int{}
	err = eachLine(f, func(n int, b []byte) error {
		var inc SiftIncident
		if err := json.Unmarshal(b, &inc); err != nil {
			return fmt.Errorf("sift output %s line %d: %w", path, n, err)
		}
		if inc.ID == "" {
			return fmt.Errorf("sift output %s line %d: incident without id", path, n)
		}
		var opened time.Time
		if inc.OpenedAt != "" {
			if opened, err = time.Parse(time.RFC3339Nano, inc.OpenedAt); err != nil {
				return fmt.Errorf("sift output %s line %d: opened_at: %w", path, n, err)
			}
		}
		c := cluster{id: inc.ID, root: inc.RootCause}
		inMembers := map[string]bool{}
		add := func(fps string, at time.Time) error {
			fp, err := model.ParseFingerprint(fps)
			if err != nil {
				return fmt.Errorf("sift output %s line %d: %w", path, n, err)
			}
			ep, d, ok := t.lookup(fp, at)
			if !ok {
				unmapped++
				return nil
			}
			if d > t.slack {
				far++
			}
			c.refs = append(c.refs, ref{ep, at})
			return nil
		}
		for _, m := range inc.Members {
			at, err := time.Parse(time.RFC3339Nano, m.JoinedAt)
			if err != nil {
				return fmt.Errorf("sift output %s line %d: member %s joined_at: %w", path, n, m.Fingerprint, err)
			}
			inMembers[m.Fingerprint] = true
			if err := add(m.Fingerprint, at); err != nil {
				return err
			}
		}
		for _, a := range inc.Alerts {
			if inMembers[a] {
				continue
			}
			if opened.IsZero() {
				return fmt.Errorf("sift output %s line %d: alert %s is not a member and the incident has no opened_at", path, n, a)
			}
			if err := add(a, opened); err != nil {
				return err
			}
		}
		if i, dup := byID[inc.ID]; dup {
			cl[i] = c // a later line for the same incident replaces the earlier
		} else {
			byID[inc.ID] = len(cl)
			cl = append(cl, c)
		}
		return nil
	})
	return cl, unmapped, far, err
}

type notifCounts struct {
	total, storm, unmapped int64
	perEp                  []int64
}

type bgroup struct {
	idx  int
	last time.Time
}

// grouper is the Alertmanager-style baseline: a group per value of the
// group_by labels; it opens at a firing alert and alerts with the same
// key join it while it has seen an alert within the window.
type grouper struct {
	labels    []string
	window    time.Duration
	groups    map[string]*bgroup
	clusters  []cluster
	epCluster []int32
}

func newEpCluster(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = -1
	}
	return s
}

func (g *grouper) add(ls model.LabelSet, at time.Time, firing bool, ep int) {
	var kb strings.Builder
	for i, l := range g.labels {
		if i > 0 {
			kb.WriteByte(0xff)
		}
		kb.WriteString(ls[l])
	}
	key := kb.String()
	gr := g.groups[key]
	if gr == nil || at.Sub(gr.last) > g.window {
		if !firing {
			return // a resolution does not open a group
		}
		root := ls["service"]
		if root == "" && ls["host"] != "" {
			root = "host:" + ls["host"]
		}
		gr = &bgroup{idx: len(g.clusters)}
		g.groups[key] = gr
		g.clusters = append(g.clusters, cluster{id: fmt.Sprintf("G%d", gr.idx+1), root: root})
	}
	if at.After(gr.last) {
		gr.last = at
	}
	if g.epCluster[ep] != int32(gr.idx) {
		g.epCluster[ep] = int32(gr.idx)
		c := &g.clusters[gr.idx]
		c.refs = append(c.refs, ref{ep, at})
	}
}

// readInput counts the notifications per episode and feeds the baselines.
func (t *truth) readInput(path string, drop []string, base []*grouper) (*notifCounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay input: %w", err)
	}
	defer f.Close()
	nc := &notifCounts{perEp: make([]int64, len(t.eps))}
	err = eachLine(f, func(n int, b []byte) error {
		var l struct {
			At    time.Time `json:"at"`
			Alert struct {
				Labels model.LabelSet `json:"labels"`
				EndsAt time.Time      `json:"endsAt"`
			} `json:"alert"`
		}
		if err := json.Unmarshal(b, &l); err != nil {
			return fmt.Errorf("replay input %s line %d: %w", path, n, err)
		}
		if l.At.IsZero() || len(l.Alert.Labels) == 0 {
			return fmt.Errorf("replay input %s line %d: want at and alert.labels", path, n)
		}
		nc.total++
		ls := l.Alert.Labels
		for _, d := range drop {
			delete(ls, d)
		}
		ep, _, ok := t.lookup(ls.Fingerprint(), l.At)
		if !ok {
			nc.unmapped++
			return nil
		}
		nc.perEp[ep]++
		if t.eps[ep].Storm() {
			nc.storm++
		}
		if k := t.incOf[ep]; t.eps[ep].Kind == KindHost && ls["service"] != "" && "host:"+ls["host"] == t.incRoot[k] {
			if t.hostServices[k] == nil {
				t.hostServices[k] = map[string]bool{}
			}
			t.hostServices[k][ls["service"]] = true
		}
		firing := l.Alert.EndsAt.IsZero() || l.Alert.EndsAt.After(l.At)
		for _, g := range base {
			g.add(ls, l.At, firing, ep)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nc, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func f1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func pairs(n int) float64 { return float64(n) * float64(n-1) / 2 }

// evaluate scores one clustering. Each episode belongs to the cluster it
// joined first; episodes in no cluster count as singletons.
func (t *truth) evaluate(name string, cl []cluster, nc *notifCounts) Metrics {
	m := Metrics{Name: name, Incidents: len(cl)}
	n := len(t.eps)
	assign := make([]int, n)
	first := make([]time.Time, n)
	for i := range assign {
		assign[i] = -1
	}
	for ci, c := range cl {
		for _, r := range c.refs {
			if assign[r.ep] < 0 || r.at.Before(first[r.ep]) {
				assign[r.ep], first[r.ep] = ci, r.at
			}
		}
	}
	pred := make([]int, n)
	for i, a := range assign {
		if a < 0 {
			m.MissedEpisodes++
			pred[i] = len(cl) + i
		} else {
			pred[i] = a
		}
	}
	// Contingency table.
	type cell struct{ p, t int }
	cells := map[cell]int{}
	predSize := map[int]int{}
	trueSize := make([]int, len(t.incNames))
	for i := 0; i < n; i++ {
		cells[cell{pred[i], t.incOf[i]}]++
		predSize[pred[i]]++
		trueSize[t.incOf[i]]++
	}
	var tp, pp, tt float64
	for _, c := range cells {
		tp += pairs(c)
	}
	for _, c := range predSize {
		pp += pairs(c)
	}
	for _, c := range trueSize {
		tt += pairs(c)
	}
	m.PairPrecision, m.PairRecall = 1, 1
	if pp > 0 {
		m.PairPrecision = tp / pp
	}
	if tt > 0 {
		m.PairRecall = tp / tt
	}
	m.PairF1 = f1(m.PairPrecision, m.PairRecall)
	if n > 0 {
		var bp, br float64
		for i := 0; i < n; i++ {
			c := float64(cells[cell{pred[i], t.incOf[i]}])
			bp += c / float64(predSize[pred[i]])
			br += c / float64(trueSize[t.incOf[i]])
		}
		m.BCubedPrecision, m.BCubedRecall = bp/float64(n), br/float64(n)
		m.BCubedF1 = f1(m.BCubedPrecision, m.BCubedRecall)
	}
	// Storm incidents per cluster.
	stormIn := make([][]int, len(cl))
	for i := 0; i < n; i++ {
		if a := assign[i]; a >= 0 && t.eps[i].Storm() {
			k := t.incOf[i]
			l := stormIn[a]
			if len(l) == 0 || !containsInt(l, k) {
				stormIn[a] = append(l, k)
			}
		}
	}
	for _, l := range stormIn {
		if len(l) > 0 {
			m.StormIncidents++
		}
		if overlapping(l, t.incSpan) {
			m.MergedStorms++
		}
	}
	if nc != nil {
		m.Compression = ratio(float64(nc.total), float64(len(cl)))
		m.StormCompression = ratio(float64(nc.storm), float64(m.StormIncidents))
	}
	// Root cause: the cluster holding most of each true storm incident
	// (its home).
	home := make([]int, len(t.incNames))
	counts := make([]map[int]int, len(t.incNames))
	for i := 0; i < n; i++ {
		k := t.incOf[i]
		if !t.incStorm[k] || assign[i] < 0 {
			continue
		}
		if counts[k] == nil {
			counts[k] = map[int]int{}
		}
		counts[k][assign[i]]++
	}
	for k, st := range t.incStorm {
		if !st {
			continue
		}
		m.RootCauseTotal++
		best, bestN := -1, 0
		for c, cnt := range counts[k] {
			if cnt > bestN || (cnt == bestN && c < best) {
				best, bestN = c, cnt
			}
		}
		home[k] = best
		if best >= 0 && cl[best].root == t.incRoot[k] {
			m.RootCauseCorrect++
		}
	}
	m.RootCauseAccuracy = ratio(float64(m.RootCauseCorrect), float64(m.RootCauseTotal))
	m.MergedFaults, m.MergedFaultsBy = t.mergedFaults(assign, home, len(cl))
	return m
}

// mergedFaults counts the clusters holding the faults of two or more
// overlapping storms, and classifies them (see Metrics.MergedFaultsBy).
// A storm's fault is where its cause episodes are; without any in a
// cluster, its home.
func (t *truth) mergedFaults(assign, home []int, nc int) (int, map[string]int) {
	faults := make([][]int, nc)
	placed := make([]bool, len(t.incNames))
	add := func(c, k int) {
		if !containsInt(faults[c], k) {
			faults[c] = append(faults[c], k)
		}
	}
	for i, a := range assign {
		if k := t.incOf[i]; a >= 0 && t.eps[i].Storm() && t.eps[i].Cause {
			add(a, k)
			placed[k] = true
		}
	}
	for k, st := range t.incStorm {
		if st && !placed[k] && home[k] >= 0 {
			add(home[k], k)
		}
	}
	// Classes from least to most telling.
	classes := []string{"same root", "silent", "dependent", "unrelated"}
	n, by := 0, map[string]int{}
	for _, l := range faults {
		worst := -1
		for i := 0; i < len(l); i++ {
			for j := i + 1; j < len(l); j++ {
				a, b := l[i], l[j]
				if !t.incSpan[a].overlaps(t.incSpan[b]) {
					continue
				}
				c := 3
				switch ra, rb := t.incRoot[a], t.incRoot[b]; {
				case ra == rb:
					c = 0
				case !placed[a] || !placed[b]:
					c = 1
				case t.dependent(a, b):
					c = 2
				}
				worst = max(worst, c)
			}
		}
		if worst >= 0 {
			n++
			by[classes[worst]]++
		}
	}
	return n, by
}

// dependent reports whether the root services of true incidents a and b
// call one another. A failed host stands for the services on it.
func (t *truth) dependent(a, b int) bool {
	for x := range t.rootServices(a) {
		for y := range t.rootServices(b) {
			if x == y || t.calls(x, y) || t.calls(y, x) {
				return true
			}
		}
	}
	return false
}

func (t *truth) rootServices(k int) map[string]bool {
	if r := t.incRoot[k]; !strings.HasPrefix(r, "host:") {
		return map[string]bool{r: true}
	}
	return t.hostServices[k]
}

// calls reports whether service a depends on b, directly or not.
func (t *truth) calls(a, b string) bool {
	seen := map[string]bool{a: true}
	next := []string{a}
	for len(next) > 0 {
		s := next[len(next)-1]
		next = next[:len(next)-1]
		for _, d := range t.dependsOn[s] {
			if d == b {
				return true
			}
			if !seen[d] {
				seen[d] = true
				next = append(next, d)
			}
		}
	}
	return false
}

func containsInt(l []int, x int) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}

// overlapping reports whether two of the incidents in l overlap in time.
// overlaps reports whether two spans share a moment.
func (a span) overlaps(b span) bool { return !a.start.After(b.end) && !b.start.After(a.end) }

func overlapping(l []int, spans []span) bool {
	for i := 0; i < len(l); i++ {
		for j := i + 1; j < len(l); j++ {
			a, b := spans[l[i]], spans[l[j]]
			if a.overlaps(b) {
				return true
			}
		}
	}
	return false
}

// WriteTable writes the scorecard as a human-readable table.
func (s *Scorecard) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "truth: %d episodes in %d incidents (%d storm); by kind:", s.Truth.Episodes, s.Truth.Incidents, s.Truth.StormIncidents)
	kinds := make([]string, 0, len(s.Truth.EpisodesByKind))
	for k := range s.Truth.EpisodesByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, " %s=%d", k, s.Truth.EpisodesByKind[k])
	}
	fmt.Fprintf(w, "\ninput: %d notifications (%d storm, %d unmapped); window %s, slack %s\n\n",
		s.Truth.Notifications, s.Truth.StormNotifications, s.Truth.UnmappedInput, s.Window, s.Slack)
	var cols []Metrics
	if s.Sift != nil {
		cols = append(cols, *s.Sift)
	}
	cols = append(cols, s.Baselines...)
	if len(cols) == 0 {
		_, err := fmt.Fprintln(w, "nothing scored (no Sift output and no replay input)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, f func(m Metrics) string) {
		fmt.Fprintf(tw, "%s\t", label)
		for _, m := range cols {
			fmt.Fprintf(tw, "%s\t", f(m))
		}
		fmt.Fprintln(tw)
	}
	pct := func(f func(m Metrics) float64) func(Metrics) string {
		return func(m Metrics) string { return fmt.Sprintf("%.3f", f(m)) }
	}
	num := func(f func(m Metrics) int) func(Metrics) string {
		return func(m Metrics) string { return fmt.Sprint(f(m)) }
	}
	row("", func(m Metrics) string { return m.Name })
	row("incidents", num(func(m Metrics) int { return m.Incidents }))
	row("pairwise precision", pct(func(m Metrics) float64 { return m.PairPrecision }))
	row("pairwise recall", pct(func(m Metrics) float64 { return m.PairRecall }))
	row("pairwise F1", pct(func(m Metrics) float64 { return m.PairF1 }))
	row("B-cubed precision", pct(func(m Metrics) float64 { return m.BCubedPrecision }))
	row("B-cubed recall", pct(func(m Metrics) float64 { return m.BCubedRecall }))
	row("B-cubed F1", pct(func(m Metrics) float64 { return m.BCubedF1 }))
	row("compression", func(m Metrics) string { return fmt.Sprintf("%.1f", m.Compression) })
	row("storm compression", func(m Metrics) string { return fmt.Sprintf("%.1f", m.StormCompression) })
	row("root cause top-1", func(m Metrics) string {
		return fmt.Sprintf("%.3f (%d/%d)", m.RootCauseAccuracy, m.RootCauseCorrect, m.RootCauseTotal)
	})
	row("merged concurrent faults", func(m Metrics) string {
		if m.MergedFaults == 0 {
			return "0"
		}
		return fmt.Sprintf("%d (unrelated %d, dependent %d, silent %d, same root %d)", m.MergedFaults,
			m.MergedFaultsBy["unrelated"], m.MergedFaultsBy["dependent"], m.MergedFaultsBy["silent"], m.MergedFaultsBy["same root"])
	})
	row("incidents mixing concurrent storms", num(func(m Metrics) int { return m.MergedStorms }))
	row("missed episodes", num(func(m Metrics) int { return m.MissedEpisodes }))
	row("unmapped members", num(func(m Metrics) int { return m.UnmappedMembers }))
	row("far members", num(func(m Metrics) int { return m.FarMembers }))
	return tw.Flush()
}
