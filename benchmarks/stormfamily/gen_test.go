package stormfamily

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/model"
)

type line struct {
	At    time.Time `json:"at"`
	Alert struct {
		Labels   model.LabelSet `json:"labels"`
		StartsAt time.Time      `json:"startsAt"`
		EndsAt   time.Time      `json:"endsAt"`
	} `json:"alert"`
}

func gen6h(t *testing.T, family string, seed uint64, rules string) ([]line, []storm.Episode, []byte) {
	t.Helper()
	var rb, tb bytes.Buffer
	if _, err := Generate(Config{Family: family, Seed: seed, Duration: 6 * time.Hour, RulesFile: rules}, &rb, &tb); err != nil {
		t.Fatal(err)
	}
	var ls []line
	for _, b := range bytes.Split(bytes.TrimSpace(rb.Bytes()), []byte("\n")) {
		var l line
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatalf("replay line %s: %v", b, err)
		}
		ls = append(ls, l)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "truth.ndjson")
	if err := os.WriteFile(p, tb.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	eps, err := storm.ReadTruth(p)
	if err != nil {
		t.Fatal(err)
	}
	return ls, eps, append(rb.Bytes(), tb.Bytes()...)
}

func TestDeterministicPerSeed(t *testing.T) {
	for _, f := range Families {
		_, _, a := gen6h(t, f, 3, "")
		_, _, b := gen6h(t, f, 3, "")
		_, _, c := gen6h(t, f, 4, "")
		if !bytes.Equal(a, b) {
			t.Errorf("%s: same seed, different output", f)
		}
		if bytes.Equal(a, c) {
			t.Errorf("%s: different seeds, same output", f)
		}
	}
}

// every notification maps to a truth episode of its identity (replica
// label dropped) whose span holds it, and every episode has a notification
func checkTruthCovers(t *testing.T, family string, ls []line, eps []storm.Episode) {
	byFP := map[model.Fingerprint][]int{}
	for i, e := range eps {
		byFP[e.Fingerprint] = append(byFP[e.Fingerprint], i)
	}
	used := make([]bool, len(eps))
	for _, l := range ls {
		lab := l.Alert.Labels.Clone()
		for _, d := range DropLabels {
			delete(lab, d)
		}
		found := false
		for _, i := range byFP[lab.Fingerprint()] {
			e := eps[i]
			if !l.Alert.StartsAt.Before(e.FirstAt) && !l.At.After(e.LastAt) {
				found, used[i] = true, true
				break
			}
		}
		if !found {
			t.Fatalf("%s: notification %v at %s has no truth episode", family, l.Alert.Labels, l.At)
		}
	}
	for i, u := range used {
		if !u {
			t.Fatalf("%s: truth episode %+v has no notification", family, eps[i])
		}
	}
	storms := 0
	for _, e := range eps {
		if e.Storm() {
			storms++
			if e.RootCause == "" {
				t.Fatalf("%s: storm episode without root cause: %+v", family, e)
			}
		}
	}
	if storms == 0 {
		t.Fatalf("%s: no storm episodes", family)
	}
}

func TestKubeConventions(t *testing.T) {
	ls, eps, _ := gen6h(t, "kube", 1, "")
	checkTruthCovers(t, "kube", ls, eps)
	replicas := map[model.Fingerprint]map[string]bool{}
	exporterInfra := 0
	for _, l := range ls {
		lab := l.Alert.Labels
		rep := lab["prometheus_replica"]
		if rep != "prometheus-k8s-0" && rep != "prometheus-k8s-1" {
			t.Fatalf("alert without prometheus_replica: %v", lab)
		}
		c := lab.Clone()
		delete(c, "prometheus_replica")
		if replicas[c.Fingerprint()] == nil {
			replicas[c.Fingerprint()] = map[string]bool{}
		}
		replicas[c.Fingerprint()][rep] = true
		switch lab["alertname"] {
		case "KubeNodeNotReady", "KubeNodeUnreachable", "KubePodCrashLooping", "KubePodNotReady", "KubeDeploymentReplicasMismatch":
			if lab["service"] != "kube-state-metrics" || lab["job"] != "kube-state-metrics" {
				t.Fatalf("kube-state-metrics alert with service %q: %v", lab["service"], lab)
			}
			exporterInfra++
		case "NodeFilesystemSpaceFillingUp", "NodeFilesystemAlmostOutOfSpace", "NodeClockNotSynchronising":
			if lab["service"] != "node-exporter" || !strings.HasSuffix(lab["instance"], ".compute.internal") {
				t.Fatalf("node-exporter alert: %v", lab)
			}
			exporterInfra++
		}
		if lab["pod"] != "" && lab["namespace"] == "" {
			t.Fatalf("pod without namespace: %v", lab)
		}
	}
	if exporterInfra == 0 {
		t.Fatal("no infrastructure alert from kube-state-metrics or node-exporter")
	}
	for fp, reps := range replicas {
		if len(reps) != 2 {
			t.Fatalf("%s sent by %d replicas, want 2", fp, len(reps))
		}
	}
	// for: delays: callers' symptoms start 1-8 minutes after their root
	first := map[string]time.Time{}
	for _, e := range eps {
		if e.Kind == storm.KindCascade && e.Cause {
			if f, ok := first[e.Incident]; !ok || e.FirstAt.Before(f) {
				first[e.Incident] = e.FirstAt
			}
		}
	}
	late := 0
	for _, e := range eps {
		if f, ok := first[e.Incident]; ok && !e.Cause && e.FirstAt.Sub(f) >= time.Minute {
			late++
		}
		if f, ok := first[e.Incident]; ok && !e.Cause && e.FirstAt.Sub(f) > 12*time.Minute {
			t.Errorf("symptom %s of %s starts %s after its root", e.Fingerprint, e.Incident, e.FirstAt.Sub(f))
		}
	}
	if late == 0 {
		t.Error("no caller symptom starts a minute or more after its root")
	}
	for _, e := range eps {
		if e.Kind == storm.KindHost && !strings.HasPrefix(e.RootCause, "node:") {
			t.Fatalf("node failure with root %q", e.RootCause)
		}
	}
}

func TestLegacyConventions(t *testing.T) {
	ls, eps, _ := gen6h(t, "legacy", 1, "")
	checkTruthCovers(t, "legacy", ls, eps)
	observers := map[string]bool{}
	for _, l := range ls {
		lab := l.Alert.Labels
		if _, ok := lab["service"]; ok {
			t.Fatalf("legacy alert with a service label: %v", lab)
		}
		if lab["job"] == "" || lab["instance"] == "" {
			t.Fatalf("legacy alert without job/instance: %v", lab)
		}
		if lab["prometheus_replica"] != "" || lab["replica"] != "" {
			t.Fatalf("legacy alert with a replica label: %v", lab)
		}
		switch lab["job"] {
		case "node", "blackbox", "systemd", "snmp":
			observers[lab["job"]] = true
		}
	}
	if !observers["node"] || !observers["blackbox"] {
		t.Fatalf("want node and blackbox observer jobs, got %v", observers)
	}
	for _, e := range eps {
		if e.Kind == storm.KindHost && !strings.HasPrefix(e.RootCause, "instance:") {
			t.Fatalf("host failure with root %q", e.RootCause)
		}
	}
}

func TestConfigsParse(t *testing.T) {
	for _, f := range Families {
		dir := t.TempDir()
		if _, err := GenerateFiles(Config{Family: f, Seed: 1, Duration: time.Hour}, dir); err != nil {
			t.Fatal(err)
		}
		deps, err := storm.ReadDependsOn(filepath.Join(dir, storm.ConfigFile))
		if err != nil || len(deps) == 0 {
			t.Fatalf("%s: depends_on %v, %v", f, deps, err)
		}
		deps, err = storm.ReadDependsOn(filepath.Join(dir, NoTopologyConfigFile))
		if err != nil || len(deps) != 0 {
			t.Fatalf("%s: no-topology config has depends_on %v, %v", f, deps, err)
		}
	}
}

func TestRulesFile(t *testing.T) {
	p := DefaultRulesFile()
	if p == "" {
		t.Skip("SIFT_SHARED_DATA is unset: skipping the awesome-prometheus-alerts rules file")
	}
	v, err := loadVocab(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.sel("Memcached", "eviction", time.Hour)) == 0 || len(v.sel("Host and hardware", "out of memory", time.Hour)) == 0 {
		t.Fatal("rules file lacks Memcached eviction or host out-of-memory rules")
	}
	for _, f := range Families {
		ls, eps, _ := gen6h(t, f, 2, p)
		checkTruthCovers(t, f, ls, eps)
		fromFile := 0
		for _, l := range ls {
			if _, ok := v.names[l.Alert.Labels["alertname"]]; ok {
				fromFile++
			}
		}
		if fromFile < len(ls)/4 {
			t.Errorf("%s: only %d of %d notifications use names from the rules file", f, fromFile, len(ls))
		}
	}
}
