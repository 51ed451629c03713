package correlate

import (
	"regexp"
	"strings"
)

// Service identity. The topology label (service by default) names what an
// alert is about, except when it names the monitoring component that
// observed it: with the Prometheus Operator, KubeNodeNotReady and
// KubePodCrashLooping carry service="kube-state-metrics", node alerts
// service="node-exporter", scrape failures job="node". Such observers
// (correlate.observers) are not services: the alert is about the workload
// its workload labels name (deployment, statefulset, pod with its replica
// suffix cut, ...), and when they name none (or the observer itself), it is
// about the infrastructure in its infra labels (node, host, ...).

// DefaultObservers are exporters and probes of common Prometheus set-ups
// (kube-prometheus, node_exporter, blackbox_exporter, snmp_exporter).
var DefaultObservers = []string{
	"kube-state-metrics", "node-exporter", "prometheus-node-exporter", "kubelet", "cadvisor",
	"blackbox-exporter", "prometheus-blackbox-exporter", "blackbox", "snmp-exporter", "snmp",
	"node", "systemd", "windows-exporter", "process-exporter",
}

// DefaultWorkloadLabels are where kube-state-metrics names the workload an
// alert is about, and node_exporter's systemd collector the unit ("name",
// its .service suffix cut).
var DefaultWorkloadLabels = []string{"deployment", "statefulset", "daemonset", "pod", "name"}

// Pod names: <deployment>-<replicaset hash>-<5>, <statefulset>-<ordinal>,
// <daemonset>-<5>; Kubernetes writes hashes and random suffixes in an
// alphabet without vowels and without 0, 1 and 3 (rand.SafeEncodeString),
// so "node-exporter" is not mistaken for "node" and a hash.
var (
	podOfDeployment  = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
	podOfStatefulSet = regexp.MustCompile(`^(.+)-[0-9]+$`)
	podOfDaemonSet   = regexp.MustCompile(`^(.+)-[bcdfghjklmnpqrstvwxz2456789]{5}$`)
)

// workloadOfPod returns the workload a pod name belongs to.
func workloadOfPod(pod string) string {
	for _, re := range []*regexp.Regexp{podOfDeployment, podOfStatefulSet, podOfDaemonSet} {
		if m := re.FindStringSubmatch(pod); m != nil {
			return m[1]
		}
	}
	return pod
}

// serviceOf returns the service an alert is about ("" for an alert on
// infrastructure).
func (e *Engine) serviceOf(ls labelSet) string {
	svc := ls.Get(e.topo.Label)
	if svc == "" || !e.observer[svc] {
		return svc
	}
	for _, l := range e.cfg.WorkloadLabels {
		v := ls.Get(l)
		if v == "" {
			continue
		}
		switch l {
		case "pod":
			v = workloadOfPod(v)
		case "name":
			var ok bool
			if v, ok = strings.CutSuffix(v, ".service"); !ok {
				continue // only systemd units name a workload here
			}
		}
		if e.observer[v] || strings.HasPrefix(v, svc) {
			return "" // the observer's own labels: about infrastructure
		}
		return v
	}
	return ""
}
