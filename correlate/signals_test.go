package correlate

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestSignalDefaults: the default weights are the scores Sift was tuned
// with, and match runs group, topology, infra, then text as a fallback.
func TestSignalDefaults(t *testing.T) {
	s := Config{}.WithDefaults().Signals
	want := map[string]float64{
		"group.score": 1, "topology.same_service": 0.95, "topology.caller_symptom_on_self": 0.85,
		"topology.degraded_caller": 0.9, "topology.dependency": 0.9, "topology.dependent": 0.8,
		"topology.per_hop": 0.15, "topology.root_bonus": 0.05, "topology.adopt_orphans": 0.85,
		"infra.host_alert": 0.85, "infra.on_failing_host": 1, "infra.on_learned_host": 0.95, "infra.same_alert_hosts": 0.8, "infra.unnamed_host": 0.8, "probe.entry_service": 0.75, "text.weight": 0.5,
	}
	ws := s.weights()
	if len(ws) != len(want) {
		t.Fatalf("%d weights, want %d", len(ws), len(want))
	}
	for _, w := range ws {
		if v, ok := want[w.key]; !ok || *w.p == nil || **w.p != v {
			t.Errorf("%s: %v, want %v", w.key, *w.p, v)
		}
	}
	var names []string
	for _, sg := range New(Config{}, Topology{}).signals {
		names = append(names, sg.name())
		if sg.fallback() != (sg.name() == "text") {
			t.Errorf("%s: fallback %v", sg.name(), sg.fallback())
		}
	}
	if got := strings.Join(names, ","); got != "group,topology,infra,probe,text" {
		t.Fatalf("signals %s", got)
	}
}

func TestSignalWeightsValidated(t *testing.T) {
	for _, w := range (&Signals{}).weights() {
		for _, v := range []float64{-0.1, 1.5, math.NaN()} {
			var s Signals
			for _, o := range s.weights() {
				if o.key == w.key {
					*o.p = &v
				}
			}
			err := Config{Signals: s}.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), "correlate.signals."+w.key+": must be between 0 and 1") {
				t.Errorf("%s = %v: %v", w.key, v, err)
			}
		}
	}
	zero, one := 0.0, 1.0
	if err := (Config{Signals: Signals{Topology: TopologyWeights{PerHop: &zero, RootBonus: &one}}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestSignalWeightsApply: a configured weight is the score of the
// reason, and decides between signals.
func TestSignalWeightsApply(t *testing.T) {
	ss := 0.7
	for _, g := range []float64{0.6, 0.8} {
		e := New(Config{Signals: Signals{Group: GroupWeights{Score: &g}, Topology: TopologyWeights{SameService: &ss}}}, boutique())
		send(e, al("PodCrashLooping", "payment", "pod", "payment-1"), 0, 0)
		send(e, al("PodCrashLooping", "payment", "pod", "payment-2"), 10*time.Second, 10*time.Second)
		inc := only(t, e)
		if len(inc.Members) != 2 {
			t.Fatalf("members %+v", inc.Members)
		}
		// The same service, its root cause: same_service plus root_bonus,
		// against the group's score.
		want, score := "topology", ss+0.05
		if g > score {
			want, score = "group", g
		}
		if r := inc.Members[1].Reason; r.Kind != want || r.Score != score {
			t.Errorf("group score %v: %+v, want %s %v", g, r, want, score)
		}
	}
}

// TestEvidenceKeys: snapshots write evidence keys as before the typed
// keys ("s:payment", "nv:host=node-3") and read them back.
func TestEvidenceKeys(t *testing.T) {
	for kind, p := range evPrefix {
		k := evKey{evKind(kind), "host=node-3"}
		if s := k.String(); s != p+"host=node-3" {
			t.Errorf("%v: %q", k, s)
		}
		if back, ok := parseEvKey(k.String()); !ok || back != k {
			t.Errorf("%q read as %v %v", k.String(), back, ok)
		}
	}
	if _, ok := parseEvKey("x:payment"); ok {
		t.Error("an unknown prefix was read")
	}
}
