package main

import (
	"math"
	"testing"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
)

func TestEveryServiceHasAnOwner(t *testing.T) {
	topo, err := storm.NewTopology("both", "c", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range topo.Services {
		if teamOf(s) == "unowned" {
			t.Errorf("service %s has no owner in Ownership", s)
		}
	}
	if len(Ownership) != len(topo.Services) {
		t.Errorf("Ownership has %d services, the topologies %d", len(Ownership), len(topo.Services))
	}
	if got := teamOf("host:node-3"); got != InfraTeam {
		t.Errorf("teamOf(host:node-3) = %q, want %q", got, InfraTeam)
	}
}

func TestScore(t *testing.T) {
	truth := []string{"a", "a", "b", "c"}
	pred := []string{"a", "b", "b", "b"}
	s := score(truth, pred)
	if s.acc != 0.5 {
		t.Errorf("accuracy %v, want 0.5", s.acc)
	}
	// F1: a = 2*1*0.5/1.5 = 2/3, b = 2*(1/3)*1/(4/3) = 0.5, c = 0
	if want := (2.0/3 + 0.5 + 0) / 3; math.Abs(s.macroF1-want) > 1e-9 {
		t.Errorf("macro-F1 %v, want %v", s.macroF1, want)
	}
}

// A short scenario replayed through the real engine: every incident gets
// a true team from the ground truth, and the service-owner taxonomy finds
// most of them.
func TestScenarioTruth(t *testing.T) {
	cfg := storm.Config{Seed: 3, Duration: 3 * time.Hour, Topology: "both"}.WithDefaults()
	s, err := generate(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.incs) < 20 {
		t.Fatalf("only %d incidents", len(s.incs))
	}
	teams := map[string]int{}
	for _, inc := range s.incs {
		tm := s.truth[inc.ID]
		if tm == "" || tm == "unowned" {
			t.Fatalf("incident %s: true team %q", inc.ID, tm)
		}
		teams[tm]++
		if len(s.alerts[inc.ID]) == 0 {
			t.Fatalf("incident %s has no alerts", inc.ID)
		}
	}
	if len(teams) < 4 {
		t.Errorf("only %d teams among the incidents: %v", len(teams), teams)
	}
}
