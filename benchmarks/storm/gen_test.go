package storm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
	"gopkg.in/yaml.v3"
)

func gen(t *testing.T, cfg Config) (replay, truth []byte, st *Stats) {
	t.Helper()
	var r, tr bytes.Buffer
	st, err := Generate(cfg, &r, &tr)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return r.Bytes(), tr.Bytes(), st
}

func parseReplay(t *testing.T, b []byte) []ReplayLine {
	t.Helper()
	var out []ReplayLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for n := 1; sc.Scan(); n++ {
		var l ReplayLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("replay line %d: %v\n%s", n, err, sc.Bytes())
		}
		out = append(out, l)
	}
	return out
}

func parseTruth(t *testing.T, b []byte) []Episode {
	t.Helper()
	var out []Episode
	for n, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var e Episode
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("truth line %d: %v", n+1, err)
		}
		out = append(out, e)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	cfg := SmallScenario(7)
	r1, t1, _ := gen(t, cfg)
	r2, t2, _ := gen(t, cfg)
	if !bytes.Equal(r1, r2) || !bytes.Equal(t1, t2) {
		t.Fatal("same seed and options gave different output")
	}
	var c1, c2 bytes.Buffer
	if err := WriteSiftConfig(cfg, &c1); err != nil {
		t.Fatal(err)
	}
	if err := WriteSiftConfig(cfg, &c2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c1.Bytes(), c2.Bytes()) {
		t.Fatal("sift config not deterministic")
	}
	r3, _, _ := gen(t, SmallScenario(8))
	if bytes.Equal(r1, r3) {
		t.Fatal("different seeds gave identical output")
	}
}

func TestSmallScenarioSize(t *testing.T) {
	_, _, st := gen(t, SmallScenario(1))
	if st.Lines < 300 || st.Lines > 10000 {
		t.Fatalf("small scenario has %d lines, want a few hundred to a few thousand", st.Lines)
	}
	if st.Cascades == 0 || st.Noise == 0 {
		t.Fatalf("small scenario lacks cascades or noise: %+v", st)
	}
}

func TestScaleKnob(t *testing.T) {
	base := Config{Seed: 3, Duration: 12 * time.Hour, IncidentsPerHour: 2, NoisePerHour: 10, HostFailuresPerHour: 0.2, FlapsPerHour: 0.5}
	_, _, s1 := gen(t, base)
	long := base
	long.Duration = 48 * time.Hour
	_, _, s4 := gen(t, long)
	if r := float64(s4.Lines) / float64(s1.Lines); r < 2.5 || r > 6 {
		t.Fatalf("4x duration: %d -> %d lines (ratio %.2f), want about 4", s1.Lines, s4.Lines, r)
	}
	dense := base
	dense.IncidentsPerHour, dense.NoisePerHour, dense.HostFailuresPerHour, dense.FlapsPerHour = 8, 40, 0.8, 2
	_, _, sd := gen(t, dense)
	if r := float64(sd.Lines) / float64(s1.Lines); r < 2.5 {
		t.Fatalf("4x rates: %d -> %d lines (ratio %.2f), want clearly more", s1.Lines, sd.Lines, r)
	}
	// Without resends each span is one firing line and one resolution.
	once := base
	once.ResendInterval = -1
	once.HAReplicas = 1
	r, _, so := gen(t, once)
	if so.Firing > so.Resolved || so.Lines >= s1.Lines/4 {
		t.Fatalf("resend off: %+v vs %d lines with resends", so, s1.Lines)
	}
	for _, l := range parseReplay(t, r) {
		if !l.Alert.EndsAt.IsZero() && l.Alert.EndsAt.After(l.At) {
			t.Fatalf("resend off: firing line with endsAt in the future: %+v", l)
		}
	}
}

// Every line is a valid Alertmanager v2 alert with the required labels,
// lines are sorted by at, firing lines have endsAt > at and resolutions
// endsAt <= at, and each alert's own deliveries are in order.
func TestAlertsValid(t *testing.T) {
	for _, topo := range []string{"boutique", "social", "both"} {
		cfg := SmallScenario(11)
		cfg.Topology = topo
		r, _, st := gen(t, cfg)
		lines := parseReplay(t, r)
		if int64(len(lines)) != st.Lines {
			t.Fatalf("%s: %d lines, stats say %d", topo, len(lines), st.Lines)
		}
		var prev time.Time
		lastAt := map[model.Fingerprint]time.Time{}
		late, ooo := 0, 0
		var maxStart time.Time
		for i, l := range lines {
			a := l.Alert
			for _, k := range []string{"alertname", "severity", "cluster"} {
				if a.Labels[k] == "" {
					t.Fatalf("%s line %d: no %s label: %v", topo, i+1, k, a.Labels)
				}
			}
			if a.Labels["service"] == "" && a.Labels["host"] == "" {
				t.Fatalf("%s line %d: neither service nor host: %v", topo, i+1, a.Labels)
			}
			for k := range a.Labels {
				if !model.ValidLabelName(k) {
					t.Fatalf("line %d: invalid label name %q", i+1, k)
				}
			}
			if a.Annotations["summary"] == "" || a.Annotations["description"] == "" || strings.Contains(a.Summary(), "{{") {
				t.Fatalf("line %d: bad annotations %v", i+1, a.Annotations)
			}
			if a.StartsAt.IsZero() || a.StartsAt.After(l.At) {
				t.Fatalf("line %d: startsAt %v after at %v", i+1, a.StartsAt, l.At)
			}
			if a.EndsAt.IsZero() {
				t.Fatalf("line %d: resend on but no endsAt", i+1)
			}
			if a.GeneratorURL == "" {
				t.Fatalf("line %d: no generatorURL", i+1)
			}
			if l.At.Before(prev) {
				t.Fatalf("line %d: at %v before previous %v", i+1, l.At, prev)
			}
			prev = l.At
			fp := a.Fingerprint()
			if la, ok := lastAt[fp]; ok && !l.At.After(la) {
				t.Fatalf("line %d: deliveries of one alert out of order", i+1)
			}
			lastAt[fp] = l.At
			if l.At.Sub(a.StartsAt) > 5*time.Second && a.EndsAt.Sub(l.At) == 4*time.Minute && l.At.Sub(a.StartsAt) < time.Minute {
				late++
			}
			if a.StartsAt.Before(maxStart) && a.EndsAt.After(l.At) && l.At.Sub(a.StartsAt) < time.Minute {
				ooo++ // a first delivery arriving after a later-started alert's
			}
			if a.StartsAt.After(maxStart) {
				maxStart = a.StartsAt
			}
		}
		if st.Late == 0 || late == 0 || ooo == 0 {
			t.Fatalf("%s: want late (%d, stats %d) and out-of-order (%d) deliveries", topo, late, st.Late, ooo)
		}
	}
}

// The two replicas' copies of an alert differ only in the replica label
// and collapse to the truth fingerprint once it is dropped; every input
// alert has a truth episode and vice versa.
func TestHADuplicatesAndTruth(t *testing.T) {
	r, tr, _ := gen(t, SmallScenario(5))
	lines := parseReplay(t, r)
	eps := parseTruth(t, tr)
	truthFP := map[model.Fingerprint]bool{}
	for _, e := range eps {
		truthFP[e.Fingerprint] = true
	}
	replicas := map[model.Fingerprint]map[string]model.Fingerprint{}
	for _, l := range lines {
		ls := l.Alert.Labels.Clone()
		rep := ls["replica"]
		if rep != "a" && rep != "b" {
			t.Fatalf("replica label %q", rep)
		}
		delete(ls, "replica")
		fp := ls.Fingerprint()
		if !truthFP[fp] {
			t.Fatalf("input alert %v has no truth episode", ls)
		}
		if replicas[fp] == nil {
			replicas[fp] = map[string]model.Fingerprint{}
		}
		replicas[fp][rep] = l.Alert.Fingerprint()
	}
	for fp := range truthFP {
		m := replicas[fp]
		if len(m) != 2 || m["a"] == m["b"] || m["a"] == fp {
			t.Fatalf("truth fingerprint %s: replicas %v, want two distinct raw fingerprints", fp, m)
		}
	}
	// Episode spans cover their deliveries; same identity never overlaps.
	byFP := map[model.Fingerprint][]Episode{}
	for _, e := range eps {
		if e.LastAt.Before(e.FirstAt) {
			t.Fatalf("episode %+v ends before it starts", e)
		}
		for _, o := range byFP[e.Fingerprint] {
			if !e.FirstAt.After(o.LastAt) && !o.FirstAt.After(e.LastAt) {
				t.Fatalf("overlapping episodes of one fingerprint: %+v %+v", o, e)
			}
		}
		byFP[e.Fingerprint] = append(byFP[e.Fingerprint], e)
	}
	for _, l := range lines {
		ls := l.Alert.Labels.Clone()
		delete(ls, "replica")
		ok := false
		for _, e := range byFP[ls.Fingerprint()] {
			if !l.At.Before(e.FirstAt) && !l.At.After(e.LastAt) {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("delivery at %v of %v outside all its episodes", l.At, ls)
		}
	}
}

// Cascades are rooted at a service whose own alerts are in the incident;
// host failures have a service-less host alert; flaps resolve repeatedly.
func TestIncidentShapes(t *testing.T) {
	cfg := SmallScenario(9)
	cfg.Duration = 24 * time.Hour
	r, tr, _ := gen(t, cfg)
	lines := parseReplay(t, r)
	eps := parseTruth(t, tr)
	labels := map[model.Fingerprint]model.LabelSet{}
	resolutions := map[model.Fingerprint]int{}
	for _, l := range lines {
		ls := l.Alert.Labels.Clone()
		delete(ls, "replica")
		labels[ls.Fingerprint()] = ls
		if l.Alert.ResolvedAt(l.At) && l.Alert.Labels["replica"] == "a" {
			resolutions[ls.Fingerprint()]++
		}
	}
	type inc struct {
		kind, root  string
		rootOwn     bool
		hostAlert   bool
		services    map[string]bool
		withHostLbl int
	}
	incs := map[string]*inc{}
	causes := 0
	for _, e := range eps {
		ls := labels[e.Fingerprint]
		in := incs[e.Incident]
		if in == nil {
			in = &inc{kind: e.Kind, root: e.RootCause, services: map[string]bool{}}
			incs[e.Incident] = in
		}
		if in.kind != e.Kind || in.root != e.RootCause {
			t.Fatalf("incident %s has mixed kind/root", e.Incident)
		}
		switch e.Kind {
		case KindCascade:
			if !strings.HasPrefix(e.Incident, "T") || ls["host"] != "" {
				t.Fatalf("cascade episode %+v %v", e, ls)
			}
			if ls["service"] == e.RootCause {
				in.rootOwn = true
			}
		case KindHost:
			if !strings.HasPrefix(e.RootCause, "host:") {
				t.Fatalf("host episode root %q", e.RootCause)
			}
			if ls["service"] == "" && "host:"+ls["host"] == e.RootCause {
				in.hostAlert = true
			}
			if ls["service"] != "" && ls["host"] != "" {
				in.withHostLbl++
			}
		case KindFlap:
			if resolutions[e.Fingerprint] < 3 {
				t.Fatalf("flap %s resolved %d times, want >= 3", e.Incident, resolutions[e.Fingerprint])
			}
		case KindNoise:
			if !strings.HasPrefix(e.Incident, "N") {
				t.Fatalf("noise incident id %q", e.Incident)
			}
		}
		in.services[ls["service"]] = true
		// The truth marks the failing component's own alerts.
		own := (e.Kind == KindCascade && ls["service"] == e.RootCause) ||
			(e.Kind == KindHost && ls["service"] == "" && "host:"+ls["host"] == e.RootCause)
		if e.Cause != own {
			t.Fatalf("episode %+v (labels %v): cause %v, want %v", e, ls, e.Cause, own)
		}
		if e.Cause {
			causes++
		}
	}
	if causes == 0 {
		t.Fatal("no episode is marked as a cause")
	}
	var cascades, multi, hosts int
	for id, in := range incs {
		switch in.kind {
		case KindCascade:
			cascades++
			if in.rootOwn && len(in.services) > 1 {
				multi++
			}
		case KindHost:
			if in.hostAlert && in.withHostLbl > 0 {
				hosts++
			}
		case KindNoise, KindFlap:
			if len(in.services) != 1 {
				t.Fatalf("%s incident %s spans %d services", in.kind, id, len(in.services))
			}
		}
	}
	if cascades == 0 || multi == 0 || hosts == 0 {
		t.Fatalf("cascades %d (with root alerts and callers %d), complete host failures %d", cascades, multi, hosts)
	}
}

func TestSiftConfigYAML(t *testing.T) {
	dir := t.TempDir()
	st, err := GenerateFiles(SmallScenario(2), dir)
	if err != nil || st.Lines == 0 {
		t.Fatalf("GenerateFiles: %v %+v", err, st)
	}
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Correlate struct {
			Window      string   `yaml:"window"`
			GroupBy     []string `yaml:"group_by"`
			InfraLabels []string `yaml:"infra_labels"`
		} `yaml:"correlate"`
		Topology struct {
			Label     string              `yaml:"label"`
			DependsOn map[string][]string `yaml:"depends_on"`
		} `yaml:"topology"`
		Ingest struct {
			DropLabels []string `yaml:"drop_labels"`
		} `yaml:"ingest"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Correlate.Window != "5m" || strings.Join(c.Correlate.GroupBy, ",") != "alertname,service" ||
		strings.Join(c.Correlate.InfraLabels, ",") != "host" || c.Topology.Label != "service" ||
		strings.Join(c.Ingest.DropLabels, ",") != "replica" {
		t.Fatalf("config: %+v", c)
	}
	if !contains(c.Topology.DependsOn["frontend"], "checkout") || !contains(c.Topology.DependsOn["checkout"], "payment") ||
		!contains(c.Topology.DependsOn["cart"], "redis-cart") {
		t.Fatalf("depends_on: %v", c.Topology.DependsOn)
	}
	for _, f := range []string{ReplayFile, TruthFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	bad := []Config{
		{Topology: "mesh"},
		{Duration: -time.Hour},
		{NoisePerHour: -1},
		{HAReplicas: 40},
		{LateFraction: 2},
		{Duration: 10000 * time.Hour, NoisePerHour: 1e5},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("config %+v accepted", c)
		}
		if _, err := Generate(c, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("Generate accepted %+v", c)
		}
	}
}

func TestTopologyUpstream(t *testing.T) {
	topo, err := NewTopology("boutique", "c", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	up, hops := topo.Upstream("payment")
	if strings.Join(up, ",") != "checkout,frontend" || hops[0] != 1 || hops[1] != 2 {
		t.Fatalf("upstream of payment = %v %v", up, hops)
	}
	up, _ = topo.Upstream("redis-cart")
	if strings.Join(up, ",") != "cart,checkout,frontend" {
		t.Fatalf("upstream of redis-cart = %v", up)
	}
	n := 0
	for _, h := range topo.Hosts {
		n += len(topo.OnHost[h])
	}
	if n != len(topo.Services) || len(topo.Hosts) != 6 {
		t.Fatalf("placement: %d of %d services on %d hosts", n, len(topo.Services), len(topo.Hosts))
	}
}

func TestSharedVocabulary(t *testing.T) {
	path := DefaultRulesFile()
	if path == "" {
		t.Skip("SIFT_SHARED_DATA not set: cannot read awesome-prometheus-alerts rules")
	}
	v, err := LoadVocabulary(path)
	if err != nil {
		t.Fatal(err)
	}
	builtin := BuiltinVocabulary()
	for name, pair := range map[string][2][]Rule{
		"own": {v.Own, builtin.Own}, "caller": {v.Caller, builtin.Caller}, "host": {v.Host, builtin.Host},
		"hostService": {v.HostService, builtin.HostService}, "noiseSvc": {v.NoiseSvc, builtin.NoiseSvc}, "noiseHost": {v.NoiseHost, builtin.NoiseHost},
	} {
		if len(pair[0]) < 2 {
			t.Fatalf("role %s: %d rules", name, len(pair[0]))
		}
		if pair[0][0].Name == pair[1][0].Name {
			t.Errorf("role %s fell back to the built-in rules", name)
		}
		for _, r := range pair[0] {
			if !model.ValidLabelName(r.Name) || r.Description == "" {
				t.Fatalf("role %s: bad rule %+v", name, r)
			}
		}
	}
	cfg := SmallScenario(4)
	cfg.RulesFile = path
	r, _, _ := gen(t, cfg)
	names := map[string]bool{}
	for _, l := range parseReplay(t, r) {
		names[l.Alert.Name()] = true
		if strings.Contains(l.Alert.Annotations["description"], "{{") {
			t.Fatalf("unexpanded template: %q", l.Alert.Annotations["description"])
		}
	}
	if !names["KubernetesPodCrashLooping"] && !names["KubernetesContainerOomKiller"] && len(names) < 10 {
		t.Fatalf("alert names do not come from the rules file: %v", names)
	}
	if _, err := LoadVocabulary(filepath.Join(t.TempDir(), "missing.yml")); err == nil {
		t.Fatal("missing rules file accepted")
	}
}

func TestRender(t *testing.T) {
	got := render("{{ $labels.service }} at {{ $labels.instance }}: {{ $value | humanizePercentage }} {{ if x }}", map[string]string{"service": "cart"}, 12.5)
	if got != "cart at unknown: 12.5" {
		t.Fatalf("render = %q", got)
	}
	if camel("Kubernetes pod crash looping") != "KubernetesPodCrashLooping" || camel("Host out of memory (OOM)") != "HostOutOfMemoryOOM" {
		t.Fatalf("camel: %q %q", camel("Kubernetes pod crash looping"), camel("Host out of memory (OOM)"))
	}
}

// BenchmarkWeek generates the default one-week scenario (about a million
// lines) to io.Discard: go test -run '^$' -bench Week ./benchmarks/storm/
func BenchmarkWeek(b *testing.B) {
	for i := 0; i < b.N; i++ {
		st, err := Generate(WeekScenario(1), io.Discard, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		if st.Lines < 1_000_000 {
			b.Fatalf("week scenario has %d lines, want >= 1M", st.Lines)
		}
		b.ReportMetric(float64(st.Lines), "lines")
	}
}
