package correlate

import (
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// placementEngine: kube-prometheus conventions, no topology.
func placementEngine(cfg Config) *Engine {
	cfg.InfraLabels = []string{"node"}
	return New(cfg, Topology{Label: "service"})
}

// An alert that does not say where it runs (TargetDown on a service) joins
// the failure of the node its service's own alerts came from, and says it
// learned that; the service then counts as running there for the root
// cause. Without that history it stays apart.
func TestLearnedPlacementJoinsNodeFailure(t *testing.T) {
	for _, learn := range []bool{true, false} {
		e := placementEngine(Config{})
		if learn {
			// An hour earlier, the service alerted from its pod on node n1.
			a := al("GoGoroutineSpike", "rate", "node", "n1", "pod", "rate-6d9f7b8c4d-x2x7k")
			send(e, a, -time.Hour, -time.Hour)
			resolve(e, a, -time.Hour+5*time.Minute)
		}
		send(e, al("KubeNodeNotReady", "kube-state-metrics", "node", "n1"), 0, 0)
		send(e, al("TargetDown", "rate"), 20*time.Second, 20*time.Second)
		var inc *model.Incident
		for _, i := range e.All() {
			if i.Status != model.IncidentResolved {
				for _, m := range i.Members {
					if m.Name == "TargetDown" {
						inc = i
					}
				}
			}
		}
		joined := len(inc.Members) == 2
		if joined != learn {
			t.Fatalf("learned=%v: TargetDown joined=%v: %s", learn, joined, dump(e.All()))
		}
		if !learn {
			continue
		}
		m := inc.Members[1]
		if m.Reason.Kind != model.ReasonInfra || !strings.Contains(m.Reason.Detail, "runs on node=n1 (learned: rate alerted from it at") {
			t.Fatalf("reason: %+v", m.Reason)
		}
		if inc.RootCause.Service != "node:n1" {
			t.Fatalf("root cause %q, want node:n1: %s", inc.RootCause.Service, dump(inc.RootCause))
		}
		// A restart keeps what was learned: the next alert of the service
		// after the restart is placed the same way.
		r := restoredCopy(t, e)
		send(r, al("KubePodNotReady", "kube-state-metrics", "pod", "rate-6d9f7b8c4d-x2x7k"), 40*time.Second, 40*time.Second)
		found := false
		for _, i := range r.All() {
			if i.ID == inc.ID {
				for _, m := range i.Members {
					found = found || m.Name == "KubePodNotReady" && m.Reason.Kind == model.ReasonInfra
				}
			}
		}
		if !found {
			t.Fatalf("after restore the pod's alert did not join the node failure: %s", dump(r.All()))
		}
	}
}

// Among the nodes a service runs on, the one failing now is chosen; a
// place older than correlate.placement_ttl is forgotten; a negative TTL
// learns nothing.
func TestLearnedPlacementChoosesFailingNode(t *testing.T) {
	e := placementEngine(Config{})
	for i, n := range []string{"n1", "n2", "n3"} {
		a := al("HighLatency", "search", "node", n, "pod", "search-6d9f7b8c4d-x2x7"+string(rune('k'+i)))
		send(e, a, -2*time.Hour, -2*time.Hour)
		resolve(e, a, -2*time.Hour+time.Minute)
	}
	send(e, al("KubeNodeNotReady", "kube-state-metrics", "node", "n2"), 0, 0)
	send(e, al("TargetDown", "search"), 30*time.Second, 30*time.Second)
	var rec *alertRec
	for _, r := range e.alerts {
		if r.alert.Name() == "TargetDown" {
			rec = r
		}
	}
	if got := e.placedKey(rec); got != "node=n2" {
		t.Fatalf("placed on %q, want node=n2", got)
	}

	old := placementEngine(Config{PlacementTTL: Duration(time.Hour)})
	a := al("HighLatency", "search", "node", "n1")
	send(old, a, -2*time.Hour, -2*time.Hour)
	resolve(old, a, -2*time.Hour+time.Minute)
	send(old, al("KubeNodeNotReady", "kube-state-metrics", "node", "n1"), 0, 0)
	send(old, al("TargetDown", "search"), 30*time.Second, 30*time.Second)
	for _, r := range old.alerts {
		if r.alert.Name() == "TargetDown" && r.placed != 0 {
			t.Fatalf("a place older than the TTL was used: %s", old.placedKey(r))
		}
	}
	if n := len(old.All()); n != 3 {
		t.Fatalf("want the old alert's, the node's and TargetDown's incidents, got %d: %s", n, dump(old.All()))
	}

	off := placementEngine(Config{PlacementTTL: Duration(-1)})
	send(off, al("HighLatency", "search", "node", "n1"), -time.Minute, -time.Minute)
	if len(off.places) != 0 {
		t.Fatalf("placement_ttl < 0 learned %v", off.places)
	}
}

// Hosts that start failing with the same alert at nearly the same moment
// (a switch or rack lost) end in one incident; the same alert minutes
// apart on another host is another fault.
func TestSameAlertOnHostsTogether(t *testing.T) {
	e := New(Config{InfraLabels: []string{"instance"}}, Topology{Label: "job"})
	for i, h := range []string{"app-03", "mq-01", "db-02"} {
		off := time.Duration(i) * 20 * time.Second
		send(e, al("PrometheusTargetMissing", "", "job", "node", "instance", h), off, off)
		send(e, al("BlackboxProbeFailed", "", "job", "blackbox", "instance", h), off+5*time.Second, off+5*time.Second)
	}
	inc := only(t, e)
	if len(inc.Members) != 6 {
		t.Fatalf("members: %s", dump(inc.Members))
	}
	found := false
	for _, m := range inc.Members {
		found = found || strings.Contains(m.Reason.Detail, "started on other hosts")
	}
	if !found {
		t.Fatalf("no member says the hosts failed together: %s", dump(inc.Members))
	}
	// Five minutes later, on another host: a fault of its own.
	send(e, al("PrometheusTargetMissing", "", "job", "node", "instance", "web-01"), 5*time.Minute, 5*time.Minute)
	if n := len(e.All()); n != 2 {
		t.Fatalf("a later failure joined: %d incidents", n)
	}
	// Turned off, each host is its own incident.
	off := New(Config{InfraLabels: []string{"instance"}, Signals: Signals{Infra: InfraWeights{SameAlertHosts: new(0.0)}}}, Topology{Label: "job"})
	for i, h := range []string{"app-03", "mq-01", "db-02"} {
		off2 := time.Duration(i) * 20 * time.Second
		send(off, al("BlackboxProbeFailed", "", "job", "blackbox", "instance", h), off2, off2)
		send(off, al("PrometheusTargetMissing", "", "job", "node", "instance", h), off2+5*time.Second, off2+5*time.Second)
	}
	if n := len(off.All()); n < 2 {
		t.Fatalf("same_alert_hosts: 0 still joined every host: %s", dump(off.All()))
	}
}

// The order the host alerts come in does not matter.
func TestSameAlertOnHostsEitherOrder(t *testing.T) {
	e := New(Config{InfraLabels: []string{"instance"}}, Topology{Label: "job"})
	for i, h := range []string{"app-03", "mq-01", "db-02"} {
		off := time.Duration(i) * 20 * time.Second
		send(e, al("BlackboxProbeFailed", "", "job", "blackbox", "instance", h), off, off)
		send(e, al("PrometheusTargetMissing", "", "job", "node", "instance", h), off+5*time.Second, off+5*time.Second)
	}
	if inc := only(t, e); len(inc.Members) != 6 {
		t.Fatalf("members: %s", dump(inc.Members))
	}
}

// An exporter's own alert that names no host (TargetDown of node-exporter)
// joins a host failure that started moments before; minutes later it does
// not.
func TestUnnamedHostJoinsHostFailure(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		join  bool
	}{{15 * time.Second, true}, {3 * time.Minute, false}} {
		e := placementEngine(Config{})
		send(e, al("KubeNodeNotReady", "kube-state-metrics", "node", "n1"), 0, 0)
		send(e, al("TargetDown", "node-exporter"), tc.after, tc.after)
		if joined := len(e.All()) == 1; joined != tc.join {
			t.Fatalf("%v after: joined=%v: %s", tc.after, joined, dump(e.All()))
		}
		if tc.join && !strings.Contains(only(t, e).Members[1].Reason.Detail, "names no host") {
			t.Fatalf("reason: %+v", only(t, e).Members[1].Reason)
		}
	}
}
