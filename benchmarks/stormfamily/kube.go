package stormfamily

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/model"
)

// The "kube" family: the DeathStarBench hotel-reservation application
// (github.com/delimitrou/DeathStarBench, hotelReservation: Go gRPC
// services with memcached and MongoDB back ends; call graph written here
// from its docker-compose/kubernetes manifests) on a five-node
// Kubernetes cluster monitored by kube-prometheus.
//
// Label conventions follow the Prometheus Operator: application alerts
// carry namespace, service, job (and pod, container, endpoint, instance
// for per-pod rules, plus node, which the user's ServiceMonitor relabels
// from __meta_kubernetes_pod_node_name); alerts computed from
// kube-state-metrics carry service="kube-state-metrics" and the subject's
// namespace/pod/container (or node, or deployment); node-exporter alerts
// carry service="node-exporter" and instance=<node name>; TargetDown
// carries only job/namespace/service. Every alert comes from two
// Prometheus replicas (prometheus_replica=prometheus-k8s-0|1).

const kubeNS = "hotel-reservation"

type kcomp struct {
	name, kind string // kind: app, memcached, mongodb
	port       int
	pods       []*kpod
}

type kpod struct {
	name, node, ip string
	comp           *kcomp
}

type kube struct {
	comps   []*kcomp
	byName  map[string]*kcomp
	calls   map[string][]string
	callers map[string][]string
	nodes   []string
	podsOn  map[string][]*kpod
	ksmPod  string
	nodeExp map[string]string // node -> node-exporter pod

	// rules by role
	appCrash, appOOM, appDegraded, ownErrors []Rule
	memcachedCause, mongoCause               []Rule
	symptom, probe                           []Rule
	nodeDown, nodeExpDown, nodePressure      []Rule
	ksmNodePressure, podNotReady, targetDown []Rule
	deployMismatch                           []Rule
	noiseNode, noiseKubelet, noiseKSM        []Rule
	noiseApp, noiseCache, noiseCert          []Rule
}

// hotelReservation is the call graph (caller -> callees).
func hotelReservation() (names []string, kinds map[string]string, calls map[string][]string) {
	calls = map[string][]string{
		"frontend":       {"search", "profile", "recommendation", "user", "reservation"},
		"search":         {"geo", "rate"},
		"geo":            {"mongodb-geo"},
		"rate":           {"memcached-rate", "mongodb-rate"},
		"profile":        {"memcached-profile", "mongodb-profile"},
		"recommendation": {"mongodb-recommendation"},
		"user":           {"mongodb-user"},
		"reservation":    {"memcached-reserve", "mongodb-reservation"},
	}
	names = []string{"frontend", "search", "geo", "rate", "profile", "recommendation", "user", "reservation",
		"memcached-rate", "memcached-profile", "memcached-reserve",
		"mongodb-geo", "mongodb-rate", "mongodb-profile", "mongodb-recommendation", "mongodb-user", "mongodb-reservation"}
	kinds = map[string]string{}
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "memcached-"):
			kinds[n] = "memcached"
		case strings.HasPrefix(n, "mongodb-"):
			kinds[n] = "mongodb"
		default:
			kinds[n] = "app"
		}
	}
	return
}

const podChars = "bcdfghjklmnpqrstvwxz2456789"

func randName(g interface{ IntN(int) int }, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = podChars[g.IntN(len(podChars))]
	}
	return string(b)
}

func newKube(cfg Config, v *vocab) *kube {
	r := newRand(cfg.Seed ^ 0x3c6ef372fe94f82b)
	k := &kube{byName: map[string]*kcomp{}, callers: map[string][]string{}, podsOn: map[string][]*kpod{}, nodeExp: map[string]string{}}
	names, kinds, calls := hotelReservation()
	k.calls = calls
	for from, tos := range calls {
		for _, to := range tos {
			k.callers[to] = append(k.callers[to], from)
		}
	}
	for s := range k.callers {
		sort.Strings(k.callers[s])
	}
	for i := 0; i < 5; i++ {
		n := fmt.Sprintf("ip-10-42-%d-%d.eu-west-1.compute.internal", i+1, 10+r.IntN(240))
		k.nodes = append(k.nodes, n)
		k.nodeExp[n] = "node-exporter-" + randName(r, 5)
	}
	k.ksmPod = "kube-state-metrics-" + randName(r, 10) + "-" + randName(r, 5)
	next := r.IntN(len(k.nodes))
	for i, n := range names {
		c := &kcomp{name: n, kind: kinds[n], port: 8080 + i}
		replicas := 1
		switch {
		case n == "frontend":
			replicas = 3
		case c.kind == "app":
			replicas = 2
		}
		if c.kind == "memcached" {
			c.port = 11211
		}
		if c.kind == "mongodb" {
			c.port = 27017
		}
		hash := randName(r, 10)
		for j := 0; j < replicas; j++ {
			node := k.nodes[next%len(k.nodes)]
			next++
			p := &kpod{name: n + "-" + hash + "-" + randName(r, 5), node: node,
				ip: fmt.Sprintf("10.42.%d.%d", 1+r.IntN(5), 2+r.IntN(250)), comp: c}
			c.pods = append(c.pods, p)
			k.podsOn[node] = append(k.podsOn[node], p)
		}
		k.comps = append(k.comps, c)
		k.byName[n] = c
	}

	m := time.Minute
	gen := func(name, sev string, f time.Duration, what string) Rule {
		return R(name, sev, f, what+" ({{ $labels.service }} {{ $labels.pod }})", what+".")
	}
	// kube-prometheus alert names (kubernetes-mixin / node-mixin) with our
	// own text; `for:` shortened from the mixins' 15m so that they fire
	// within a typical failure.
	kubePodCrashLooping := R("KubePodCrashLooping", "warning", 5*m, "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is in waiting state (reason: CrashLoopBackOff).", "Pod is restarting repeatedly.")
	kubePodNotReady := R("KubePodNotReady", "warning", 5*m, "Pod {{ $labels.namespace }}/{{ $labels.pod }} has been in a non-ready state.", "Pod has not been ready for longer than the rule's for duration.")
	kubeDeploy := R("KubeDeploymentReplicasMismatch", "warning", 8*m, "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has not matched the expected number of replicas.", "Deployment replicas mismatch.")
	kubeNodeNotReady := R("KubeNodeNotReady", "warning", 3*m, "{{ $labels.node }} has been unready.", "Node is not ready.")
	kubeNodeUnreach := R("KubeNodeUnreachable", "warning", 3*m, "{{ $labels.node }} is unreachable and some workloads may be rescheduled.", "Node is unreachable.")
	targetDown := R("TargetDown", "warning", 3*m, "{{ $value }}% of the {{ $labels.job }}/{{ $labels.service }} targets in {{ $labels.namespace }} namespace are down.", "Some targets were not reachable from the monitoring server.")
	k.podNotReady = []Rule{kubePodNotReady}
	k.targetDown = []Rule{targetDown}
	k.deployMismatch = []Rule{kubeDeploy}

	k.appCrash = v.sel("Kubernetes", "pod crash looping|container waiting", 5*m, kubePodCrashLooping)
	k.appCrash = append(k.appCrash, kubePodCrashLooping)
	k.appOOM = v.sel("Kubernetes", "oom killer", 2*m, gen("KubeContainerOOMKilled", "warning", 0, "Container was OOM killed"))
	k.appDegraded = cat(v.sel("Golang", "memory leak|memory usage high|goroutine|gc duration", 5*m, gen("GoMemoryHigh", "warning", 5*m, "Go process memory high")),
		v.sel("JVM", "memory filling|threads deadlocked", 5*m))
	k.ownErrors = v.sel("Istio", "5xx|latency", 2*m, gen("HighErrorRate", "critical", 2*m, "Service error rate high"))
	k.memcachedCause = v.sel("Memcached", "down|eviction|memory usage high|out of memory|connections rejected", 5*m,
		gen("MemcachedDown", "critical", m, "Memcached is down"), gen("MemcachedEvictionsHigh", "warning", 5*m, "Memcached evicts items"))
	k.mongoCause = v.sel("MongoDB", "mongodb down|replica member unhealthy|no primary|tickets exhausted|too many connections \\(percona", 5*m,
		gen("MongodbDown", "critical", m, "MongoDB is down"), gen("MongodbConnectionsHigh", "warning", 2*m, "MongoDB has too many connections"))
	k.symptom = cat(v.sel("Istio", "5xx|request latency|latency 99", 5*m),
		v.sel("Envoy", "upstream 5xx|upstream connection failures|upstream request timeout|no healthy upstream|downstream http 5xx", 5*m,
			gen("HighErrorRate", "critical", 2*m, "Service error rate high"), gen("HighLatency", "warning", 5*m, "Service p99 latency high")))
	k.probe = v.sel("Blackbox", "probe http failure|slow probe|probe slow http", 2*m, gen("ProbeFailed", "critical", m, "Probe failed"))
	k.nodeDown = []Rule{kubeNodeNotReady, kubeNodeUnreach}
	k.nodeExpDown = []Rule{targetDown}
	k.nodePressure = cat(v.sel("Host and hardware", "out of memory|out of disk space|oom kill|filesystem device error", 2*m,
		gen("NodeMemoryHighUtilization", "warning", 2*m, "Node memory high")),
		[]Rule{R("NodeFilesystemAlmostOutOfSpace", "warning", 3*m, "Filesystem on {{ $labels.device }} at {{ $labels.instance }} has less than 5% space left.", "Filesystem almost out of space.")})
	k.ksmNodePressure = v.sel("Kubernetes", "node memory pressure|node disk pressure", 2*m, gen("KubeNodePressure", "warning", 2*m, "Node under pressure"))
	k.noiseNode = cat(v.sel("Host and hardware", "clock skew|disk may fill|high cpu load|context switching|unusual disk io|network receive errors", 10*m),
		[]Rule{R("NodeFilesystemSpaceFillingUp", "warning", 10*m, "Filesystem on {{ $labels.device }} at {{ $labels.instance }} is predicted to run out of space within the next 24 hours.", "Filesystem is predicted to run out of space."),
			R("NodeClockNotSynchronising", "warning", 10*m, "Clock at {{ $labels.instance }} is not synchronising.", "Clock not synchronising.")})
	k.noiseKubelet = []Rule{R("CPUThrottlingHigh", "info", 15*m, "{{ $value }}% throttling of CPU in namespace {{ $labels.namespace }} for container {{ $labels.container }} in pod {{ $labels.pod }}.", "Processes experience elevated CPU throttling.")}
	k.noiseKSM = cat(v.sel("Kubernetes", "hpa scale maximum|job failed|persistentvolumeclaim pending|volume full in four days", 10*m),
		[]Rule{R("KubeHpaMaxedOut", "warning", 10*m, "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has been running at max replicas.", "HPA is running at max replicas."),
			R("KubeJobFailed", "warning", 5*m, "Job {{ $labels.namespace }}/{{ $labels.job_name }} failed to complete.", "Job failed to complete.")})
	k.noiseApp = v.sel("Golang", "gc cpu fraction|goroutine spike|heap objects|thread count", 10*m, gen("GoGCSlow", "info", 10*m, "Go GC slow"))
	k.noiseCache = cat(v.sel("Memcached", "low cache hit rate|items too large|eviction", 10*m, gen("MemcachedLowHitRate", "warning", 10*m, "Memcached hit rate low")),
		v.sel("MongoDB", "cursors timeouts \\(percona|number cursors open \\(percona|recently restarted", 5*m))
	k.noiseCert = v.sel("SSL/TLS", "expiry", 0, gen("CertificateExpiringSoon", "warning", 0, "Certificate expires soon"))
	return k
}

func (k *kube) replicas() (string, []string) {
	return "prometheus_replica", []string{"prometheus-k8s-0", "prometheus-k8s-1"}
}

func (k *kube) schedule(*gen) []event { return nil }

func base(extra ...string) model.LabelSet {
	ls := model.LabelSet{"prometheus": "monitoring/k8s"}
	for i := 0; i+1 < len(extra); i += 2 {
		ls[extra[i]] = extra[i+1]
	}
	return ls
}

func (k *kube) svcLabels(c *kcomp) model.LabelSet {
	return base("namespace", kubeNS, "service", c.name, "job", c.name)
}

func (k *kube) podLabels(p *kpod) model.LabelSet {
	container := p.comp.name
	if p.comp.kind != "app" {
		container = "exporter"
	}
	return base("namespace", kubeNS, "service", p.comp.name, "job", p.comp.name, "pod", p.name, "container", container,
		"endpoint", "http-metrics", "instance", fmt.Sprintf("%s:%d", p.ip, p.comp.port), "node", p.node)
}

func (k *kube) ksmLabels(extra ...string) model.LabelSet {
	ls := base("job", "kube-state-metrics", "service", "kube-state-metrics", "endpoint", "https-main",
		"instance", "10.42.0.17:8443", "namespace", "monitoring", "container", "kube-rbac-proxy-main", "pod", k.ksmPod)
	for i := 0; i+1 < len(extra); i += 2 {
		ls[extra[i]] = extra[i+1]
	}
	return ls
}

func (k *kube) ksmPodLabels(p *kpod) model.LabelSet {
	return k.ksmLabels("namespace", kubeNS, "pod", p.name, "container", p.comp.name)
}

func (k *kube) nodeExpLabels(node string) model.LabelSet {
	return base("namespace", "monitoring", "service", "node-exporter", "job", "node-exporter", "pod", k.nodeExp[node],
		"container", "kube-rbac-proxy", "endpoint", "https", "instance", node)
}

func (k *kube) probeLabels() model.LabelSet {
	return base("job", "probe/monitoring/hotel-frontend", "namespace", "monitoring", "instance", "https://hotel.example.com/", "module", "http_2xx")
}

// upstream returns the (transitive) callers of s, nearest first, with hops.
func upstream(callers map[string][]string, s string) (svcs []string, hops []int) {
	seen := map[string]bool{s: true}
	frontier := []string{s}
	for d := 1; len(frontier) > 0; d++ {
		var next []string
		for _, f := range frontier {
			for _, c := range callers[f] {
				if !seen[c] {
					seen[c] = true
					next = append(next, c)
					svcs = append(svcs, c)
					hops = append(hops, d)
				}
			}
		}
		frontier = next
	}
	return
}

// symptoms raises the callers' symptoms of a fault on the components in
// from, starting at t: each caller's condition begins a few tens of
// seconds per hop later and its alert fires after the rule's `for:`.
func (k *kube) symptoms(g *gen, from []string, t, end time.Time, inc, root, kind string, p float64) {
	done := map[string]bool{}
	for _, f := range from {
		done[f] = true
	}
	for _, f := range from {
		ups, hops := upstream(k.callers, f)
		for i, c := range ups {
			if done[c] {
				continue
			}
			done[c] = true
			if !g.chance(p) {
				continue
			}
			onset := t.Add(time.Duration(hops[i])*g.uniform(10*time.Second, time.Minute) + g.uniform(0, 30*time.Second))
			for n := 1 + g.r.IntN(2); n > 0; n-- {
				g.fire(k.svcLabels(k.byName[c]), pick(g, k.symptom), onset.Add(g.uniform(0, 20*time.Second)), end.Add(g.uniform(0, 2*time.Minute)), inc, root, kind, false)
			}
			if c == "frontend" && g.chance(0.35) {
				g.fire(k.probeLabels(), pick(g, k.probe), onset, end.Add(g.uniform(0, time.Minute)), inc, root, kind, false)
			}
		}
	}
}

func (k *kube) cascade(g *gen, t time.Time) {
	g.st.Cascades++
	c := pick(g, k.comps)
	inc, root := g.id('T'), c.name
	end := t.Add(g.failureDuration())
	own := func(ls model.LabelSet, r Rule, fast bool) {
		if fast {
			r.For = min(r.For, 2*time.Minute)
		}
		g.fire(ls, r, t.Add(g.uniform(0, 60*time.Second)), end.Add(g.uniform(0, time.Minute)), inc, root, storm.KindCascade, true)
	}
	switch c.kind {
	case "app":
		switch g.r.IntN(3) {
		case 0: // crash loop: pods restart, the service's own error rate
			own(k.svcLabels(c), pick(g, k.ownErrors), true)
			for _, p := range c.pods {
				if g.chance(0.7) {
					own(k.ksmPodLabels(p), pick(g, k.appCrash), false)
				}
			}
			if g.chance(0.5) {
				own(k.ksmLabels("namespace", kubeNS, "deployment", c.name), k.deployMismatch[0], false)
			}
		case 1: // OOM kills
			p := pick(g, c.pods)
			own(k.ksmPodLabels(p), pick(g, k.appOOM), true)
			if g.chance(0.6) {
				own(k.ksmPodLabels(p), pick(g, k.appCrash), false)
			}
			if g.chance(0.5) {
				own(k.svcLabels(c), pick(g, k.ownErrors), false)
			}
		default: // degraded (warning-level cause on the pods)
			for _, p := range c.pods {
				if g.chance(0.8) {
					own(k.podLabels(p), pick(g, k.appDegraded), true)
				}
			}
			if g.chance(0.5) {
				own(k.svcLabels(c), pick(g, k.ownErrors), false)
			}
		}
	case "memcached":
		for n := 1 + g.r.IntN(2); n > 0; n-- {
			own(k.podLabels(c.pods[0]), pick(g, k.memcachedCause), n == 1)
		}
	case "mongodb":
		for n := 1 + g.r.IntN(2); n > 0; n-- {
			own(k.podLabels(c.pods[0]), pick(g, k.mongoCause), n == 1)
		}
		if g.chance(0.3) {
			own(k.ksmPodLabels(c.pods[0]), k.podNotReady[0], false)
		}
	}
	k.symptoms(g, []string{c.name}, t, end, inc, root, storm.KindCascade, 0.75)
}

func (k *kube) hostFailure(g *gen, t time.Time) {
	g.st.HostFails++
	node := pick(g, k.nodes)
	inc, root := g.id('T'), "node:"+node
	end := t.Add(g.failureDuration())
	cause := func(ls model.LabelSet, r Rule) {
		g.fire(ls, r, t.Add(g.uniform(0, 30*time.Second)), end.Add(g.uniform(0, time.Minute)), inc, root, storm.KindHost, true)
	}
	pods := k.podsOn[node]
	var comps []string
	seen := map[string]bool{}
	for _, p := range pods {
		if !seen[p.comp.name] {
			seen[p.comp.name] = true
			comps = append(comps, p.comp.name)
		}
	}
	if g.chance(0.6) { // the node goes down
		for _, r := range k.nodeDown {
			if g.chance(0.8) {
				cause(k.ksmLabels("node", node), r)
			}
		}
		cause(base("job", "node-exporter", "namespace", "monitoring", "service", "node-exporter"), k.nodeExpDown[0])
		if g.chance(0.5) {
			cause(base("job", "kubelet", "namespace", "kube-system", "service", "kubelet", "metrics_path", "/metrics"), k.targetDown[0])
		}
		for _, p := range pods {
			if g.chance(0.7) {
				g.fire(k.ksmPodLabels(p), k.podNotReady[0], t.Add(g.uniform(0, time.Minute)), end.Add(g.uniform(0, 2*time.Minute)), inc, root, storm.KindHost, false)
			}
		}
		for _, c := range comps {
			if g.chance(0.5) {
				g.fire(base("job", c, "namespace", kubeNS, "service", c), k.targetDown[0], t.Add(g.uniform(0, time.Minute)), end.Add(g.uniform(0, 2*time.Minute)), inc, root, storm.KindHost, false)
			}
		}
	} else { // memory or disk pressure: pods are evicted or OOM killed
		for n := 1 + g.r.IntN(2); n > 0; n-- {
			cause(k.nodeExpLabels(node), pick(g, k.nodePressure))
		}
		if g.chance(0.7) {
			cause(k.ksmLabels("node", node), pick(g, k.ksmNodePressure))
		}
		for _, p := range pods {
			switch g.r.IntN(3) {
			case 0:
				g.fire(k.ksmPodLabels(p), pick(g, k.appCrash), t.Add(g.uniform(0, 2*time.Minute)), end.Add(g.uniform(0, 2*time.Minute)), inc, root, storm.KindHost, false)
			case 1:
				if p.comp.kind == "app" {
					g.fire(k.podLabels(p), pick(g, k.appDegraded), t.Add(g.uniform(0, 2*time.Minute)), end.Add(g.uniform(0, 2*time.Minute)), inc, root, storm.KindHost, false)
				}
			}
		}
	}
	k.symptoms(g, comps, t.Add(time.Minute), end, inc, root, storm.KindHost, 0.4)
}

func (k *kube) partition(*gen, time.Time) {}

func (k *kube) noise(g *gen, t time.Time) {
	g.st.Noise++
	inc := g.id('N')
	end := t.Add(min(3*time.Minute+time.Duration(g.r.ExpFloat64()*float64(25*time.Minute)), 4*time.Hour))
	var ls model.LabelSet
	var r Rule
	var root string
	p := pick(g, pick(g, k.comps).pods)
	switch g.r.IntN(7) {
	case 0, 1:
		node := pick(g, k.nodes)
		ls, r, root = k.nodeExpLabels(node), pick(g, k.noiseNode), "node:"+node
		ls["device"], ls["mountpoint"], ls["fstype"] = "/dev/nvme0n1p1", "/", "xfs"
	case 2:
		ls, r, root = base("namespace", kubeNS, "pod", p.name, "container", p.comp.name, "service", "kubelet", "job", "kubelet",
			"endpoint", "https-metrics", "metrics_path", "/metrics/cadvisor", "node", p.node), pick(g, k.noiseKubelet), p.comp.name
	case 3:
		ls, r, root = k.ksmLabels("namespace", kubeNS, "horizontalpodautoscaler", p.comp.name), pick(g, k.noiseKSM), p.comp.name
		if strings.Contains(r.Name, "Job") {
			ls = k.ksmLabels("namespace", "batch", "job_name", fmt.Sprintf("nightly-report-%d", 29000000+g.r.IntN(999999)))
			root = "batch"
		}
	case 4:
		if p.comp.kind != "app" {
			p = pick(g, k.byName["frontend"].pods)
		}
		ls, r, root = k.podLabels(p), pick(g, k.noiseApp), p.comp.name
	case 5:
		c := k.byName[pick(g, []string{"memcached-rate", "memcached-profile", "memcached-reserve", "mongodb-rate", "mongodb-user"})]
		ls, r, root = k.podLabels(c.pods[0]), pick(g, k.noiseCache), c.name
	default:
		ls, r, root = base("job", "probe/monitoring/tls", "namespace", "monitoring", "instance", "hotel.example.com:443"), pick(g, k.noiseCert), "tls"
	}
	g.fire(ls, r, t, end, inc, root, storm.KindNoise, false)
}

func (k *kube) flap(g *gen, t time.Time) {
	g.st.Flaps++
	inc := g.id('F')
	c := pick(g, k.comps)
	var ls model.LabelSet
	var r Rule
	switch g.r.IntN(3) {
	case 0:
		ls, r = k.ksmPodLabels(pick(g, c.pods)), k.podNotReady[0]
	case 1:
		ls, r = k.svcLabels(k.byName[pick(g, []string{"frontend", "search", "reservation", "profile"})]), pick(g, k.symptom)
	default:
		ls, r = k.probeLabels(), pick(g, k.probe)
	}
	var sp []span
	at := t
	for i, n := 0, 3+g.r.IntN(5); i < n; i++ {
		en := at.Add(g.uniform(time.Minute, 4*time.Minute))
		sp = append(sp, span{at, en})
		at = en.Add(g.uniform(time.Minute, 5*time.Minute))
	}
	g.alert(ls, r, sp, inc, c.name, storm.KindFlap, false)
}

func (k *kube) configs() (string, string) {
	var b strings.Builder
	b.WriteString(`# What a new user of kube-prometheus writes for the hotel-reservation
# namespace: the service label names a service (it is what the Prometheus
# Operator puts on application alerts) and the call graph is copied from
# the application's documentation. Everything else is Sift's default
# (prometheus_replica is among the default drop_labels).
topology:
  label: service
  depends_on:
`)
	writeDependsOn(&b, k.calls)
	return b.String(), `# A new kube-prometheus user without a topology: Sift's defaults.
correlate: {}
`
}
