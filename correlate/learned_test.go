package correlate

import (
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

func topoUpdate(src string, off time.Duration, edges map[string][]string) *model.Action {
	return &model.Action{At: t0.Add(off), Kind: model.ActionTopology, Topology: &model.TopologyUpdate{Source: src, DependsOn: edges}}
}

// Edges learned from a service graph join a caller's symptom to its
// failing dependency as configured ones would; a source's next update
// replaces its edges; a snapshot keeps them.
func TestLearnedTopologyJoinsLikeConfigured(t *testing.T) {
	run := func(learn bool, restart bool) int {
		e := New(Config{}, Topology{})
		if learn {
			apply(t, e, topoUpdate("service_graph", 0, map[string][]string{"checkout": {"payment"}}))
		}
		if restart {
			e = restoredCopy(t, e)
		}
		send(e, al("PaymentDown", "payment"), time.Minute, time.Minute)
		send(e, al("CheckoutErrors", "checkout"), 70*time.Second, 70*time.Second)
		return len(e.All())
	}
	if n := run(false, false); n != 2 {
		t.Fatalf("without the edge: %d incidents", n)
	}
	if n := run(true, false); n != 1 {
		t.Fatalf("with the learned edge: %d incidents", n)
	}
	if n := run(true, true); n != 1 {
		t.Fatalf("with the learned edge after a restart: %d incidents", n)
	}
	e := New(Config{}, Topology{DependsOn: map[string][]string{"frontend": {"checkout"}}})
	apply(t, e, topoUpdate("service_graph", 0, map[string][]string{"checkout": {"payment", "checkout"}}))
	apply(t, e, topoUpdate("service_graph", time.Second, map[string][]string{"checkout": {"cart"}}))
	eff := e.EffectiveTopology()
	if dump(eff.DependsOn) != dump(map[string][]string{"checkout": {"cart"}, "frontend": {"checkout"}}) {
		t.Fatalf("effective topology: %s", dump(eff.DependsOn))
	}
	if err := e.CheckAction(topoUpdate("", 0, nil)); err == nil {
		t.Fatal("an update without a source was accepted")
	}
}
