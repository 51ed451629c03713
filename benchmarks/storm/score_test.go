package storm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

var t0 = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func fpOf(kv ...string) model.Fingerprint {
	ls := model.LabelSet{}
	for i := 0; i < len(kv); i += 2 {
		ls[kv[i]] = kv[i+1]
	}
	return ls.Fingerprint()
}

func writeLines(t *testing.T, name string, v []any) string {
	t.Helper()
	var b bytes.Buffer
	for _, x := range v {
		j, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// handTruth: incident A (cascade, 3 episodes, root checkout), incident B
// (host, 2 episodes, root host:node-1) overlapping A in time, and one
// noise episode.
func handTruth(t *testing.T) (string, []model.Fingerprint) {
	fps := []model.Fingerprint{
		fpOf("alertname", "ServiceDown", "service", "checkout"),
		fpOf("alertname", "HighErrorRate", "service", "frontend"),
		fpOf("alertname", "HighRequestLatency", "service", "frontend"),
		fpOf("alertname", "HostDown", "host", "node-1"),
		fpOf("alertname", "TargetDown", "service", "email", "host", "node-1"),
		fpOf("alertname", "HostDiskSpaceLow", "host", "node-2"),
	}
	ep := func(i int, inc, root, kind string, from, to time.Duration) any {
		return Episode{Fingerprint: fps[i], Incident: inc, RootCause: root, FirstAt: t0.Add(from), LastAt: t0.Add(to), Kind: kind, Cause: i == 0 || i == 3}
	}
	return writeLines(t, "truth.ndjson", []any{
		ep(0, "T1", "checkout", KindCascade, 0, 20*time.Minute),
		ep(1, "T1", "checkout", KindCascade, time.Minute, 20*time.Minute),
		ep(2, "T1", "checkout", KindCascade, 2*time.Minute, 21*time.Minute),
		ep(3, "T2", "host:node-1", KindHost, 5*time.Minute, 30*time.Minute),
		ep(4, "T2", "host:node-1", KindHost, 6*time.Minute, 30*time.Minute),
		ep(5, "N1", "host:node-2", KindNoise, 3*time.Minute, 9*time.Minute),
	}), fps
}

type inc struct {
	root string
	eps  []int
}

func siftOutput(t *testing.T, fps []model.Fingerprint, incs []inc) string {
	var lines []any
	for i, in := range incs {
		si := SiftIncident{ID: "INC-" + string(rune('1'+i)), RootCause: in.root, Status: "open", OpenedAt: t0.Format(time.RFC3339)}
		for _, e := range in.eps {
			at := t0.Add(time.Duration(e+1) * time.Minute * 2) // inside every episode here
			if e == 5 {
				at = t0.Add(4 * time.Minute)
			}
			si.Alerts = append(si.Alerts, fps[e].String())
			si.Members = append(si.Members, SiftMember{Fingerprint: fps[e].String(), JoinedAt: at.Format(time.RFC3339)})
		}
		lines = append(lines, si)
	}
	return writeLines(t, "sift.ndjson", lines)
}

func TestScorePerfect(t *testing.T) {
	truth, fps := handTruth(t)
	out := siftOutput(t, fps, []inc{{"checkout", []int{0, 1, 2}}, {"host:node-1", []int{3, 4}}, {"host:node-2", []int{5}}})
	sc, err := Score(truth, out, "", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m := sc.Sift
	if !near(m.PairPrecision, 1) || !near(m.PairRecall, 1) || !near(m.PairF1, 1) ||
		!near(m.BCubedPrecision, 1) || !near(m.BCubedRecall, 1) || !near(m.BCubedF1, 1) {
		t.Fatalf("perfect clustering: %+v", m)
	}
	if m.RootCauseCorrect != 2 || m.RootCauseTotal != 2 || m.MergedStorms != 0 || m.MergedFaults != 0 || m.MissedEpisodes != 0 || m.Incidents != 3 {
		t.Fatalf("perfect clustering: %+v", m)
	}
	if sc.Truth.Episodes != 6 || sc.Truth.Incidents != 3 || sc.Truth.StormIncidents != 2 {
		t.Fatalf("truth stats %+v", sc.Truth)
	}
}

func TestScoreAllInOne(t *testing.T) {
	truth, fps := handTruth(t)
	out := siftOutput(t, fps, []inc{{"checkout", []int{0, 1, 2, 3, 4, 5}}})
	sc, err := Score(truth, out, "", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m := sc.Sift
	// True pairs: C(3,2)+C(2,2) = 4, predicted pairs C(6,2) = 15.
	if !near(m.PairPrecision, 4.0/15) || !near(m.PairRecall, 1) || !near(m.PairF1, 2*(4.0/15)/(4.0/15+1)) {
		t.Fatalf("pairwise: %+v", m)
	}
	// B-cubed precision: (3*3/6 + 2*2/6 + 1*1/6) / 6 = 14/36.
	if !near(m.BCubedPrecision, 14.0/36) || !near(m.BCubedRecall, 1) {
		t.Fatalf("b-cubed: %+v", m)
	}
	if m.RootCauseCorrect != 1 || m.RootCauseTotal != 2 || !near(m.RootCauseAccuracy, 0.5) {
		t.Fatalf("root cause: %+v", m)
	}
	if m.MergedStorms != 1 || m.MergedFaults != 1 || m.StormIncidents != 1 {
		t.Fatalf("merged storms: %+v", m)
	}
}

// A symptom of one storm in a concurrent storm's incident mixes the two
// incidents but does not merge the faults; the faults' own alerts in one
// incident do. A storm whose cause alerts are in no incident counts where
// most of it is.
func TestScoreMergedFaults(t *testing.T) {
	truth, fps := handTruth(t)
	for _, c := range []struct {
		name          string
		incs          []inc
		mixed, merged int
	}{
		{"stray symptom", []inc{{"checkout", []int{0, 1, 2, 4}}, {"host:node-1", []int{3}}, {"", []int{5}}}, 1, 0},
		{"both causes", []inc{{"checkout", []int{0, 1, 3}}, {"host:node-1", []int{2, 4}}, {"", []int{5}}}, 2, 1},
		{"cause missing, home shared", []inc{{"checkout", []int{0, 1, 2, 4}}, {"", []int{5}}}, 1, 1},
		{"cause missing, own home", []inc{{"checkout", []int{0, 1, 2}}, {"", []int{4}}, {"", []int{5}}}, 0, 0},
	} {
		sc, err := Score(truth, siftOutput(t, fps, c.incs), "", 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if m := sc.Sift; m.MergedStorms != c.mixed || m.MergedFaults != c.merged {
			t.Errorf("%s: mixed %d merged %d, want %d and %d", c.name, m.MergedStorms, m.MergedFaults, c.mixed, c.merged)
		}
	}
}

func TestScoreSingletonsAndMissing(t *testing.T) {
	truth, fps := handTruth(t)
	out := siftOutput(t, fps, []inc{{"checkout", []int{0}}, {"frontend", []int{1}}, {"frontend", []int{2}}, {"", []int{3}}, {"email", []int{4}}, {"", []int{5}}})
	sc, err := Score(truth, out, "", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m := sc.Sift
	if !near(m.PairPrecision, 1) || !near(m.PairRecall, 0) || m.PairF1 != 0 {
		t.Fatalf("singletons pairwise: %+v", m)
	}
	// B-cubed recall: (3*1/3 + 2*1/2 + 1) / 6 = 0.5.
	if !near(m.BCubedPrecision, 1) || !near(m.BCubedRecall, 0.5) {
		t.Fatalf("singletons b-cubed: %+v", m)
	}
	if m.RootCauseCorrect != 1 { // T1's tie goes to the first incident (root checkout); T2 -> "" wrong
		t.Fatalf("root cause: %+v", m)
	}
	// Missing episodes count as singletons; an unknown fingerprint is reported.
	var lines []any
	lines = append(lines, SiftIncident{ID: "INC-1", RootCause: "checkout", Members: []SiftMember{
		{fps[0].String(), t0.Add(time.Minute).Format(time.RFC3339)},
		{fps[1].String(), t0.Add(2 * time.Minute).Format(time.RFC3339)},
		{fpOf("alertname", "Other").String(), t0.Format(time.RFC3339)},
	}})
	out = writeLines(t, "partial.ndjson", lines)
	sc, err = Score(truth, out, "", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m = sc.Sift
	if m.MissedEpisodes != 4 || m.UnmappedMembers != 1 || !near(m.PairPrecision, 1) || !near(m.PairRecall, 1.0/4) {
		t.Fatalf("partial: %+v", m)
	}
}

// A label set recurring in two episodes is mapped by time.
func TestScoreRecurringFingerprint(t *testing.T) {
	fp := fpOf("alertname", "HighGCPause", "service", "cart")
	other := fpOf("alertname", "ServiceDown", "service", "cart")
	truth := writeLines(t, "truth.ndjson", []any{
		Episode{fp, "N1", "cart", t0, t0.Add(10 * time.Minute), KindNoise, false},
		Episode{fp, "T1", "cart", t0.Add(2 * time.Hour), t0.Add(2*time.Hour + 10*time.Minute), KindCascade, true},
		Episode{other, "T1", "cart", t0.Add(2 * time.Hour), t0.Add(2*time.Hour + 10*time.Minute), KindCascade, true},
	})
	out := writeLines(t, "out.ndjson", []any{
		SiftIncident{ID: "INC-1", RootCause: "cart", Members: []SiftMember{
			{fp.String(), t0.Add(2*time.Hour + 30*time.Second).Format(time.RFC3339)},
			{other.String(), t0.Add(2*time.Hour + 31*time.Second).Format(time.RFC3339)},
		}},
		SiftIncident{ID: "INC-2", RootCause: "cart", Alerts: []string{fp.String()}, OpenedAt: t0.Add(20 * time.Minute).Format(time.RFC3339)},
	})
	sc, err := Score(truth, out, "", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	m := sc.Sift
	if !near(m.PairF1, 1) || !near(m.BCubedF1, 1) || m.RootCauseCorrect != 1 || m.MissedEpisodes != 0 || m.FarMembers != 1 {
		t.Fatalf("recurring: %+v", m)
	}
}

func replayLine(at time.Duration, name, service string, resolved bool) ReplayLine {
	a := model.Alert{Labels: model.LabelSet{"alertname": name, "service": service, "replica": "a"}, StartsAt: t0}
	if resolved {
		a.EndsAt = t0.Add(at)
	} else {
		a.EndsAt = t0.Add(at + 4*time.Minute)
	}
	return ReplayLine{At: t0.Add(at), Alert: a}
}

func TestBaselines(t *testing.T) {
	f1 := fpOf("alertname", "X", "service", "s1")
	f2 := fpOf("alertname", "Y", "service", "s1")
	f3 := fpOf("alertname", "X", "service", "s2")
	f4 := fpOf("alertname", "X", "service", "s3")
	truth := writeLines(t, "truth.ndjson", []any{
		Episode{f1, "T1", "s1", t0, t0.Add(6 * time.Minute), KindCascade, true},
		Episode{f2, "T1", "s1", t0.Add(time.Minute), t0.Add(6 * time.Minute), KindCascade, true},
		Episode{f3, "T2", "s2", t0.Add(2 * time.Minute), t0.Add(8 * time.Minute), KindCascade, true},
		Episode{f4, "N1", "s3", t0.Add(20 * time.Minute), t0.Add(31 * time.Minute), KindNoise, false},
	})
	input := writeLines(t, "replay.ndjson", []any{
		replayLine(0, "X", "s1", false),
		replayLine(time.Minute, "Y", "s1", false),
		replayLine(2*time.Minute, "X", "s2", false),
		replayLine(6*time.Minute, "X", "s1", true),
		replayLine(6*time.Minute, "Y", "s1", true),
		replayLine(8*time.Minute, "X", "s2", true),
		replayLine(20*time.Minute, "X", "s3", false), // X quiet for 12m > window: new group
		replayLine(24*time.Minute, "X", "s3", false), // resend keeps it
		replayLine(31*time.Minute, "X", "s3", true),
	})
	sc, err := Score(truth, "", input, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Sift != nil || len(sc.Baselines) != 2 || sc.Truth.Notifications != 9 || sc.Truth.StormNotifications != 6 {
		t.Fatalf("scorecard %+v", sc)
	}
	byName, bySvc := sc.Baselines[0], sc.Baselines[1]
	if byName.Name != "alertmanager[alertname]" || bySvc.Name != "alertmanager[service]" {
		t.Fatalf("names %q %q", byName.Name, bySvc.Name)
	}
	// By alertname: {f1,f3} {f2} {f4}: the only predicted pair is wrong.
	if byName.Incidents != 3 || byName.PairPrecision != 0 || byName.PairRecall != 0 || !near(byName.Compression, 3) {
		t.Fatalf("by alertname: %+v", byName)
	}
	// T1 splits 1-1 between G1 (root s1) and G2: tie to G1, correct; T2 is in G1 (root s1): wrong.
	if byName.RootCauseCorrect != 1 || byName.MergedStorms != 1 || byName.MergedFaults != 1 || !near(byName.StormCompression, 6.0/2) {
		t.Fatalf("by alertname: %+v", byName)
	}
	// By service: {f1,f2} {f3} {f4}: perfect.
	if bySvc.Incidents != 3 || !near(bySvc.PairF1, 1) || !near(bySvc.BCubedF1, 1) || bySvc.RootCauseCorrect != 2 || bySvc.MergedStorms != 0 || bySvc.MergedFaults != 0 {
		t.Fatalf("by service: %+v", bySvc)
	}
	// A wider window keeps the X group open across the 12-minute gap.
	sc, err = Score(truth, "", input, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Baselines[0].Incidents != 2 {
		t.Fatalf("window 15m by alertname: %+v", sc.Baselines[0])
	}
}

func TestScoreBadInput(t *testing.T) {
	truth, _ := handTruth(t)
	bad := filepath.Join(t.TempDir(), "bad.ndjson")
	os.WriteFile(bad, []byte("{\"id\":\"INC-1\"}\nnot json\n"), 0o644)
	if _, err := Score(truth, bad, "", 5*time.Minute); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad output: %v", err)
	}
	badFP := writeLines(t, "fp.ndjson", []any{SiftIncident{ID: "I", Members: []SiftMember{{"zz", t0.Format(time.RFC3339)}}}})
	if _, err := Score(truth, badFP, "", 5*time.Minute); err == nil || !strings.Contains(err.Error(), "fingerprint") {
		t.Fatalf("bad fingerprint: %v", err)
	}
	if _, err := Score(bad, "", "", 5*time.Minute); err == nil || !strings.Contains(err.Error(), "truth") {
		t.Fatalf("bad truth: %v", err)
	}
	if _, err := Score(truth, "", bad, 5*time.Minute); err == nil || !strings.Contains(err.Error(), "replay input") {
		t.Fatalf("bad input: %v", err)
	}
}

// End to end through the CLI: generate, score the baselines, write JSON.
func TestCLI(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"gen", "-out", dir, "-preset", "small", "-seed", "3", "-rules", ""}, &out, &errb); code != 0 {
		t.Fatalf("gen exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "notifications") {
		t.Fatalf("gen output %q", out.String())
	}
	// A perfect "Sift" output built from the truth scores 1.0.
	eps, err := ReadTruth(filepath.Join(dir, TruthFile))
	if err != nil {
		t.Fatal(err)
	}
	byInc := map[string]*SiftIncident{}
	var order []string
	for _, e := range eps {
		si := byInc[e.Incident]
		if si == nil {
			si = &SiftIncident{ID: e.Incident, RootCause: e.RootCause}
			byInc[e.Incident] = si
			order = append(order, e.Incident)
		}
		si.Members = append(si.Members, SiftMember{e.Fingerprint.String(), e.FirstAt.Add(time.Second).Format(time.RFC3339Nano)})
	}
	var lines []any
	for _, id := range order {
		lines = append(lines, byInc[id])
	}
	perfect := writeLines(t, "perfect.ndjson", lines)
	jsonPath := filepath.Join(dir, "score.json")
	out.Reset()
	if code := Main([]string{"score", "-dir", dir, "-output", perfect, "-json", jsonPath}, &out, &errb); code != 0 {
		t.Fatalf("score exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "alertmanager[service]") || !strings.Contains(out.String(), "pairwise F1") {
		t.Fatalf("table:\n%s", out.String())
	}
	var sc Scorecard
	b, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	if sc.Sift == nil || !near(sc.Sift.PairF1, 1) || !near(sc.Sift.BCubedF1, 1) || sc.Sift.RootCauseCorrect != sc.Sift.RootCauseTotal ||
		sc.Truth.Notifications == 0 || len(sc.Baselines) != 2 || sc.Sift.Compression <= 1 {
		t.Fatalf("scorecard %s", b)
	}
	unrelated := 0
	for _, m := range sc.Baselines {
		if m.PairF1 >= 1 || m.BCubedF1 >= 1 {
			t.Fatalf("baseline %s is perfect on a storm scenario: %+v", m.Name, m)
		}
		sum := 0
		for _, n := range m.MergedFaultsBy {
			sum += n
		}
		if sum != m.MergedFaults {
			t.Fatalf("baseline %s: merged faults %d, by kind %v", m.Name, m.MergedFaults, m.MergedFaultsBy)
		}
		unrelated += m.MergedFaultsBy["unrelated"]
	}
	if unrelated == 0 {
		t.Fatalf("no unrelated merged faults in the baselines: %s", b)
	}
	// With a topology in which every root calls every other, the same
	// merges are all dependent: the scorer reads the topology from -config.
	roots := map[string]bool{}
	for _, e := range eps {
		roots[e.RootCause] = true
	}
	var cfg bytes.Buffer
	cfg.WriteString("topology:\n  depends_on:\n")
	for r := range roots {
		fmt.Fprintf(&cfg, "    %q: [", r)
		for o := range roots {
			fmt.Fprintf(&cfg, "%q, ", o)
		}
		cfg.WriteString("]\n")
	}
	cfgPath := filepath.Join(dir, "all-connected.yaml")
	if err := os.WriteFile(cfgPath, cfg.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	jsonAll := filepath.Join(dir, "score-all.json")
	if code := Main([]string{"score", "-dir", dir, "-output", perfect, "-config", cfgPath, "-json", jsonAll}, &out, &errb); code != 0 {
		t.Fatalf("score -config exit %d: %s", code, errb.String())
	}
	var all Scorecard
	b, _ = os.ReadFile(jsonAll)
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	dependent := 0
	for _, m := range all.Baselines {
		if m.MergedFaultsBy["unrelated"] != 0 {
			t.Fatalf("baseline %s: unrelated merges with every root connected: %v", m.Name, m.MergedFaultsBy)
		}
		dependent += m.MergedFaultsBy["dependent"]
	}
	if dependent < unrelated {
		t.Fatalf("dependent %d, want at least the %d unrelated merges without that topology", dependent, unrelated)
	}
	if code := Main([]string{"score", "-dir", dir, "-output", perfect, "-config", filepath.Join(dir, "nope.yaml")}, &out, &errb); code != 2 {
		t.Errorf("missing config: exit %d, want 2", code)
	}
	for _, args := range [][]string{{}, {"frob"}, {"gen"}, {"gen", "-out", dir, "-topology", "mesh"}, {"score"}, {"score", "-truth", "x"}} {
		if code := Main(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code := Main([]string{"score", "-truth", filepath.Join(dir, "nope"), "-input", filepath.Join(dir, ReplayFile)}, &out, &errb); code != 1 {
		t.Errorf("missing truth: exit %d, want 1", code)
	}
}

func TestMergedFaultsByKind(t *testing.T) {
	fa := fpOf("alertname", "ServiceDown", "service", "a")
	fb := fpOf("alertname", "ServiceDown", "service", "b")
	fa2 := fpOf("alertname", "OOMKilled", "service", "a")
	fs := fpOf("alertname", "HighErrorRate", "service", "x") // a symptom of c, which raised nothing itself
	ep := func(fp model.Fingerprint, inc, root string, cause bool) Episode {
		return Episode{Fingerprint: fp, Incident: inc, RootCause: root, FirstAt: t0, LastAt: t0.Add(10 * time.Minute), Kind: KindCascade, Cause: cause}
	}
	truth := writeLines(t, "truth.ndjson", []any{ep(fa, "T1", "a", true), ep(fb, "T2", "b", true), ep(fa2, "T3", "a", true), ep(fs, "T4", "c", false)})
	out := func(groups ...[]model.Fingerprint) string {
		var lines []any
		for i, g := range groups {
			si := SiftIncident{ID: fmt.Sprintf("INC-%d", i), Status: "open", OpenedAt: t0.Format(time.RFC3339)}
			for _, fp := range g {
				si.Alerts = append(si.Alerts, fp.String())
				si.Members = append(si.Members, SiftMember{Fingerprint: fp.String(), JoinedAt: t0.Add(time.Minute).Format(time.RFC3339)})
			}
			lines = append(lines, si)
		}
		return writeLines(t, "out.ndjson", lines)
	}
	deps := map[string][]string{"a": {"b"}}
	for _, c := range []struct {
		name   string
		deps   map[string][]string
		groups [][]model.Fingerprint
		want   string
	}{
		{"dependent", deps, [][]model.Fingerprint{{fa, fb}, {fa2}, {fs}}, "dependent"},
		{"no topology", nil, [][]model.Fingerprint{{fa, fb}, {fa2}, {fs}}, "unrelated"},
		{"same root", deps, [][]model.Fingerprint{{fa, fa2}, {fb}, {fs}}, "same root"},
		{"silent", deps, [][]model.Fingerprint{{fb, fs}, {fa}, {fa2}}, "silent"},
		{"most telling pair", deps, [][]model.Fingerprint{{fa, fa2, fb}, {fs}}, "dependent"},
	} {
		sc, err := ScoreWith(truth, out(c.groups...), "", ScoreOptions{DependsOn: c.deps})
		if err != nil {
			t.Fatal(err)
		}
		if m := sc.Sift; m.MergedFaults != 1 || len(m.MergedFaultsBy) != 1 || m.MergedFaultsBy[c.want] != 1 {
			t.Errorf("%s: merged %d by %v, want 1 %s", c.name, m.MergedFaults, m.MergedFaultsBy, c.want)
		}
	}
}

// A failed host stands for the services on it: a fault on a service that
// calls one of them is dependent, not unrelated.
func TestMergedFaultsHostStandsForItsServices(t *testing.T) {
	hostLS := model.LabelSet{"alertname": "HostDown", "host": "n1"}
	onHost := model.LabelSet{"alertname": "TargetDown", "service": "a", "host": "n1"}
	caller := model.LabelSet{"alertname": "ServiceDown", "service": "b"}
	ep := func(ls model.LabelSet, inc, root, kind string, cause bool) Episode {
		return Episode{Fingerprint: ls.Fingerprint(), Incident: inc, RootCause: root, FirstAt: t0, LastAt: t0.Add(10 * time.Minute), Kind: kind, Cause: cause}
	}
	truth := writeLines(t, "truth.ndjson", []any{
		ep(hostLS, "T1", "host:n1", KindHost, true), ep(onHost, "T1", "host:n1", KindHost, false), ep(caller, "T2", "b", KindCascade, true),
	})
	var in []any
	for _, ls := range []model.LabelSet{hostLS, onHost, caller} {
		in = append(in, ReplayLine{At: t0.Add(time.Minute), Alert: model.Alert{Labels: ls, StartsAt: t0, EndsAt: t0.Add(5 * time.Minute)}})
	}
	input := writeLines(t, "replay.ndjson", in)
	fp := func(ls model.LabelSet) string { return ls.Fingerprint().String() }
	out := writeLines(t, "out.ndjson", []any{SiftIncident{ID: "INC-1", Status: "open", OpenedAt: t0.Format(time.RFC3339), Members: []SiftMember{
		{fp(hostLS), t0.Add(time.Minute).Format(time.RFC3339)}, {fp(onHost), t0.Add(time.Minute).Format(time.RFC3339)}, {fp(caller), t0.Add(time.Minute).Format(time.RFC3339)},
	}}})
	for _, c := range []struct {
		deps map[string][]string
		want string
	}{{map[string][]string{"b": {"a"}}, "dependent"}, {map[string][]string{"b": {"c"}}, "unrelated"}} {
		sc, err := ScoreWith(truth, out, input, ScoreOptions{DependsOn: c.deps})
		if err != nil {
			t.Fatal(err)
		}
		if m := sc.Sift; m.MergedFaults != 1 || m.MergedFaultsBy[c.want] != 1 {
			t.Errorf("deps %v: merged %d by %v, want 1 %s", c.deps, m.MergedFaults, m.MergedFaultsBy, c.want)
		}
	}
}
