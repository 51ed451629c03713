package correlate

import (
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

func TestWorkloadOfPod(t *testing.T) {
	for pod, want := range map[string]string{
		"user-kqhcq68xwd-f4j4l":        "user",
		"memcached-rate-7d9f8c-x2z9":   "memcached-rate-7d9f8c-x2z9", // not a replica suffix
		"memcached-rate-7d9f8cb-x2z9k": "memcached-rate",
		"mongodb-geo-0":                "mongodb-geo",
		"node-exporter-tdtx4":          "node-exporter",
		"standalone":                   "standalone",
	} {
		if got := workloadOfPod(pod); got != want {
			t.Errorf("workloadOfPod(%q) = %q, want %q", pod, got, want)
		}
	}
}

// With the Prometheus Operator, alerts about a node or a pod carry the
// exporter's service: the node alert is about the node, the pod alert
// about the pod's workload.
func TestObserverServicesAreNotServices(t *testing.T) {
	e := New(Config{}, Topology{DependsOn: map[string][]string{"frontend": {"user"}}})
	ksm := func(name string, extra ...string) model.Alert {
		a := al(name, "kube-state-metrics", append([]string{"job", "kube-state-metrics"}, extra...)...)
		return a
	}
	send(e, ksm("KubeNodeNotReady", "node", "n1", "pod", "kube-state-metrics-9tfbjnxj7h-4j4nj", "container", "kube-rbac-proxy-main"), time.Minute, time.Minute)
	send(e, al("HighErrorRate", "frontend", "node", "n1"), 70*time.Second, 70*time.Second)
	inc := only(t, e)
	if inc.RootCause.Service != "node:n1" || inc.AlertCount != 2 {
		t.Fatalf("node failure: %s", dump(inc))
	}
	// Two workloads' crash loops, both reported by kube-state-metrics: not
	// one group; each joins its own service's fault.
	e = New(Config{}, Topology{DependsOn: map[string][]string{"frontend": {"user"}}})
	send(e, ksm("KubePodCrashLooping", "namespace", "app", "pod", "user-kqhcq68xwd-f4j4l", "container", "user"), time.Minute, time.Minute)
	send(e, al("HighLatency", "frontend"), 80*time.Second, 80*time.Second)
	send(e, ksm("KubePodCrashLooping", "namespace", "app", "pod", "billing-0"), 90*time.Second, 90*time.Second)
	all := e.All()
	if len(all) != 2 || all[0].RootCause.Service != "user" || all[0].AlertCount != 2 || all[1].RootCause.Service != "billing" {
		t.Fatalf("crash loops: %s", dump(all))
	}
	// observers: [] restores the labels as they are.
	e = New(Config{Observers: []string{}}, Topology{})
	send(e, ksm("KubePodCrashLooping", "pod", "user-kqhcq68xwd-f4j4l"), time.Minute, time.Minute)
	if rc := only(t, e).RootCause.Service; rc != "kube-state-metrics" {
		t.Fatalf("without observers: %s", rc)
	}
}

// A systemd unit failure seen by node_exporter is about the unit's service.
func TestSystemdUnitNamesItsService(t *testing.T) {
	e := New(Config{}, Topology{Label: "job"})
	a := model.Alert{Labels: model.LabelSet{"alertname": "SystemdUnitFailed", "job": "node", "instance": "app-02", "name": "payment.service"}}
	send(e, a, time.Minute, time.Minute)
	b := model.Alert{Labels: model.LabelSet{"alertname": "HostHighLoad", "job": "node", "instance": "app-02", "name": "cpu"}}
	send(e, b, time.Minute, time.Minute)
	for _, inc := range e.All() {
		if inc.Members[0].Name == "SystemdUnitFailed" && inc.RootCause.Service != "payment" {
			t.Fatalf("systemd unit: %s", dump(inc))
		}
		if inc.Members[0].Name == "HostHighLoad" && inc.Members[0].Service != "" {
			t.Fatalf("a host alert got a service: %s", dump(inc))
		}
	}
}

// Without a topology, alerts on the same service at the same moment are
// one incident (issue #12: most users start without one).
func TestSameServiceJoinsWithoutTopology(t *testing.T) {
	e := New(Config{}, Topology{})
	send(e, al("NodeDown", "frontend", "node", "node-4"), time.Minute, time.Minute)
	send(e, al("HighErrorRate", "frontend", "node", "node-4"), time.Minute, time.Minute)
	if inc := only(t, e); inc.AlertCount != 2 || inc.Members[1].Reason.Kind != model.ReasonTopology {
		t.Fatalf("same service, same second: %s", dump(inc))
	}
}

// A cause alert that starts minutes late on the service of a fault that is
// still firing (a rule with for: 5m) joins it.
func TestLateCauseJoinsFiringFault(t *testing.T) {
	e := New(Config{}, Topology{})
	sendLong(e, al("HighLatency", "search"), time.Minute)
	sendLong(e, al("PodCrashLooping", "search"), 5*time.Minute) // 4 minutes later
	if inc := only(t, e); inc.AlertCount != 2 {
		t.Fatalf("late cause: %s", dump(inc))
	}
	// Once the fault stopped firing, a cause alert much later is its own.
	e = New(Config{}, Topology{})
	send(e, al("HighLatency", "search"), time.Minute, time.Minute)
	resolve(e, al("HighLatency", "search"), 2*time.Minute)
	sendLong(e, al("PodCrashLooping", "search"), 5*time.Minute)
	if n := len(e.All()); n != 2 {
		t.Fatalf("after the fault resolved: %d incidents", n)
	}
}
