package stormfamily

import (
	"sort"
	"strings"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/model"
)

// The "legacy" family: the Weaveworks Sock Shop application
// (github.com/microservices-demo/microservices-demo; call graph written
// here from its deployment manifests) run on virtual machines behind
// HAProxy, with MySQL, MongoDB, Redis and RabbitMQ on their own hosts, in
// two racks, monitored by one Prometheus in rack a with node_exporter,
// database/queue exporters, systemd_exporter, blackbox probes and an SNMP
// exporter for the switches.
//
// Identity is job/instance: every scrape job is named after what it
// scrapes (the application, "mysql-catalogue", "mongodb-orders", or the
// observer: "node", "systemd", "blackbox", "snmp"), instance is the short
// host name (relabelled without the port, as is common), and the
// application teams' own rules add app=<name>. No alert has a service
// label. There are no HA replicas.

type lcomp struct {
	name, kind string // app-go, app-java, app-node, lb, mysql, mongodb, redis, rabbitmq
	hosts      []string
}

type legacy struct {
	comps   []*lcomp
	byName  map[string]*lcomp
	calls   map[string][]string
	callers map[string][]string
	hosts   []string
	onHost  map[string][]*lcomp
	rackB   []string

	javaCause, goCause, nodeCause, crash, targetMissing []Rule
	appSymptom, lbSymptom, lbCause, queueBacklog        []Rule
	mysqlCause, mongoCause, redisCause, rabbitCause     []Rule
	hostDown, hostDegraded, icmp, httpProbe, uplinkDown []Rule
	batchHost, batchTimer, batchDB                      []Rule
	noiseHost, noiseApp, noiseInfra, noiseCert          []Rule
}

func newLegacy(cfg Config, v *vocab) *legacy {
	l := &legacy{byName: map[string]*lcomp{}, callers: map[string][]string{}, onHost: map[string][]*lcomp{}}
	l.calls = map[string][]string{
		"haproxy":      {"front-end"},
		"front-end":    {"catalogue", "carts", "orders", "user", "redis-session"},
		"orders":       {"payment", "shipping", "user", "carts", "mongodb-orders"},
		"shipping":     {"rabbitmq"},
		"queue-master": {"rabbitmq"},
		"catalogue":    {"mysql-catalogue"},
		"carts":        {"mongodb-carts"},
		"user":         {"mongodb-user"},
	}
	for from, tos := range l.calls {
		for _, to := range tos {
			l.callers[to] = append(l.callers[to], from)
		}
	}
	for s := range l.callers {
		sort.Strings(l.callers[s])
	}
	add := func(name, kind string, hosts ...string) {
		c := &lcomp{name: name, kind: kind, hosts: hosts}
		l.comps = append(l.comps, c)
		l.byName[name] = c
		for _, h := range hosts {
			l.onHost[h] = append(l.onHost[h], c)
		}
	}
	add("haproxy", "lb", "lb-01")
	add("front-end", "app-node", "web-01", "web-02")
	add("catalogue", "app-go", "app-01")
	add("carts", "app-java", "app-01")
	add("orders", "app-java", "app-02")
	add("payment", "app-go", "app-02")
	add("user", "app-go", "app-03")
	add("shipping", "app-java", "app-03")
	add("queue-master", "app-java", "app-03")
	add("rabbitmq", "rabbitmq", "mq-01")
	add("mysql-catalogue", "mysql", "db-01")
	add("redis-session", "redis", "db-01")
	add("mongodb-carts", "mongodb", "db-02")
	add("mongodb-orders", "mongodb", "db-03")
	add("mongodb-user", "mongodb", "db-03")
	l.hosts = []string{"lb-01", "web-01", "web-02", "app-01", "app-02", "app-03", "db-01", "db-02", "db-03", "mq-01", "batch-01"}
	l.rackB = []string{"app-03", "db-02", "db-03", "mq-01"}

	m := time.Minute
	gen := func(name, sev string, f time.Duration, what string) Rule {
		return R(name, sev, f, what+" ({{ $labels.job }} on {{ $labels.instance }})", what+".")
	}
	l.javaCause = v.sel("JVM", "memory filling up|threads deadlocked|gc time too high|threads blocked", 5*m, gen("JvmHeapFull", "warning", 5*m, "JVM heap nearly full"))
	l.goCause = v.sel("Golang", "memory leak|memory usage high|goroutine count high", 5*m, gen("GoMemoryHigh", "warning", 5*m, "Go process memory high"))
	l.nodeCause = []Rule{gen("NodeEventLoopLagHigh", "warning", 2*m, "Node.js event loop lag high")}
	l.crash = v.sel("Systemd", "service crash looping|unit failed", 2*m, gen("SystemdUnitFailed", "warning", m, "systemd unit failed"))
	l.targetMissing = v.sel("Prometheus self-monitoring", "^prometheus target missing$", 2*m, gen("TargetMissing", "critical", m, "Scrape target missing"))
	// Application teams' own rules: the rules file has no generic
	// application error/latency rules, so these are written here.
	l.appSymptom = []Rule{
		R("HTTPServerErrorRateHigh", "critical", 2*m, "{{ $labels.app }} on {{ $labels.instance }}: {{ $value }}% of requests fail", "More than 5% of HTTP requests answered with 5xx for 2 minutes."),
		R("HTTPRequestLatencyHigh", "warning", 5*m, "{{ $labels.app }} on {{ $labels.instance }}: p99 latency {{ $value }}s", "The 99th percentile request latency is above 2s for 5 minutes."),
		R("UpstreamRequestsFailing", "warning", 3*m, "{{ $labels.app }} on {{ $labels.instance }}: calls to its dependencies fail", "More than 10% of outgoing calls failed or timed out for 3 minutes."),
	}
	l.lbSymptom = v.sel("HaProxy", "backend connection errors$|5xx error rate backend$|http slowing down$|backend down|no alive backends", 2*m,
		gen("HAProxyBackendErrors", "critical", m, "HAProxy backend errors"))
	l.lbCause = v.sel("HaProxy", "^haproxy down$|dropping logs|pending requests$", 2*m, gen("HAProxyDown", "critical", 0, "HAProxy down"))
	l.queueBacklog = v.sel("RabbitMQ", "too many ready messages|no queue consumer|no consumer|too many messages in queue|slow queue consuming", 5*m,
		gen("RabbitmqQueueBacklog", "warning", 2*m, "RabbitMQ queue backlog"))
	l.mysqlCause = v.sel("MySQL", "mysql down|too many connections|slow queries|high threads running|innodb log waits", 3*m, gen("MysqlDown", "critical", m, "MySQL down"))
	l.mongoCause = v.sel("MongoDB", "mongodb down|tickets exhausted|too many connections \\(percona|replica member unhealthy", 3*m, gen("MongodbDown", "critical", m, "MongoDB down"))
	l.redisCause = v.sel("Redis", "redis down|out of configured maxmemory|out of system memory|rejected connections|too many connections", 3*m, gen("RedisDown", "critical", m, "Redis down"))
	l.rabbitCause = v.sel("RabbitMQ", "rabbitmq node down|memory alarm|memory high|disk space alarm|file descriptors usage|^rabbitmq down$", 3*m, gen("RabbitmqDown", "critical", m, "RabbitMQ down"))
	l.hostDown = l.targetMissing
	l.hostDegraded = v.sel("Host and hardware", "out of memory|oom kill|out of disk space|filesystem device error|disk io saturation|swap is filling", 2*m, gen("HostOutOfMemory", "warning", 2*m, "Host out of memory"))
	l.icmp = v.sel("Blackbox", "^blackbox probe failed$", 2*m, gen("ProbeFailed", "critical", m, "Probe failed"))
	l.httpProbe = v.sel("Blackbox", "probe http failure|slow probe|probe slow http", 2*m, gen("ProbeHttpFailed", "critical", m, "HTTP probe failed"))
	l.uplinkDown = v.sel("SNMP", "interface down", m, gen("SwitchInterfaceDown", "critical", 0, "Switch interface down"))
	l.batchHost = v.sel("Host and hardware", "high cpu load|cpu high iowait|unusual disk io|disk io saturation|unusual network throughput out", 10*m, gen("HostHighLoad", "warning", 5*m, "Host busy"))
	l.batchTimer = v.sel("Systemd", "timer missed trigger|unit failed|tasks near limit", 5*m, gen("SystemdTimerMissed", "warning", 5*m, "systemd timer missed"))
	l.batchDB = v.sel("MySQL", "slow queries|high threads running|innodb log waits", 5*m, gen("MysqlSlowQueries", "warning", 2*m, "MySQL slow queries"))
	l.noiseHost = v.sel("Host and hardware", "clock skew|disk may fill|swap is filling|context switching|conntrack|network receive errors|clock not synchronising", 10*m, gen("HostClockSkew", "warning", 10*m, "Host clock skew"))
	l.noiseApp = cat(v.sel("JVM", "old gen gc frequency|compilation time spike|thread count high", 10*m), v.sel("Golang", "gc cpu fraction|goroutine spike|gc duration", 10*m, gen("GoGCSlow", "info", 10*m, "Go GC slow")))
	l.noiseInfra = cat(v.sel("RabbitMQ", "high connection churn|unroutable|too many connections$", 10*m),
		v.sel("HaProxy", "server healthcheck flapping|frontend security blocked", 10*m),
		v.sel("Redis", "missing backup|not enough connections", 10*m),
		v.sel("MySQL", "^mysql restarted|too many open files", 10*m, gen("MysqlRestarted", "info", 0, "MySQL restarted")))
	l.noiseCert = v.sel("Blackbox", "ssl certificate will expire", 0, gen("CertificateExpiringSoon", "warning", 0, "Certificate expires soon"))
	return l
}

func (l *legacy) replicas() (string, []string) { return "", nil }

func lbase(job, instance string, extra ...string) model.LabelSet {
	ls := model.LabelSet{"job": job, "instance": instance, "env": "production", "dc": "fra1"}
	for i := 0; i+1 < len(extra); i += 2 {
		ls[extra[i]] = extra[i+1]
	}
	return ls
}

// own returns the labels of an alert on component c's instance on host h:
// applications' own rules carry app as well.
func (l *legacy) own(c *lcomp, h string) model.LabelSet {
	if strings.HasPrefix(c.kind, "app") {
		return lbase(c.name, h, "app", c.name)
	}
	return lbase(c.name, h)
}

func (l *legacy) causeRules(c *lcomp) []Rule {
	switch c.kind {
	case "app-java":
		return l.javaCause
	case "app-go":
		return l.goCause
	case "app-node":
		return l.nodeCause
	case "lb":
		return l.lbCause
	case "mysql":
		return l.mysqlCause
	case "mongodb":
		return l.mongoCause
	case "redis":
		return l.redisCause
	}
	return l.rabbitCause
}

// symptoms raises the callers' symptoms of a fault on from. With backoff
// the callers' clients retry with growing pauses, so each hop takes
// minutes to show.
func (l *legacy) symptoms(g *gen, from []string, t, end time.Time, inc, root, kind string, p float64, backoff bool, only func(host string) bool) {
	done := map[string]bool{}
	for _, f := range from {
		done[f] = true
	}
	for _, f := range from {
		// a failing consumer fills its queue: the broker alerts
		if f == "queue-master" || f == "shipping" {
			if g.chance(0.7) {
				g.fire(lbase("rabbitmq", "mq-01", "queue", "shipping-task", "vhost", "/"), pick(g, l.queueBacklog), t.Add(g.uniform(time.Minute, 3*time.Minute)), end.Add(g.uniform(2*time.Minute, 6*time.Minute)), inc, root, kind, false)
			}
		}
		ups, hops := upstream(l.callers, f)
		for i, cn := range ups {
			if done[cn] {
				continue
			}
			done[cn] = true
			c := l.byName[cn]
			per := g.uniform(10*time.Second, time.Minute)
			if backoff {
				per = g.uniform(time.Minute, 5*time.Minute)
			}
			onset := t.Add(time.Duration(hops[i])*per + g.uniform(0, 30*time.Second))
			for _, h := range c.hosts {
				if (only != nil && !only(h)) || !g.chance(p) {
					continue
				}
				if c.kind == "lb" {
					ls := lbase("haproxy", h, "proxy", "front-end")
					g.fire(ls, pick(g, l.lbSymptom), onset, end.Add(g.uniform(0, 2*time.Minute)), inc, root, kind, false)
					if g.chance(0.4) {
						g.fire(lbase("blackbox", "https://shop.example.com/", "module", "http_2xx"), pick(g, l.httpProbe), onset, end.Add(g.uniform(0, time.Minute)), inc, root, kind, false)
					}
					continue
				}
				for n := 1 + g.r.IntN(2); n > 0; n-- {
					g.fire(l.own(c, h), pick(g, l.appSymptom), onset.Add(g.uniform(0, 20*time.Second)), end.Add(g.uniform(0, 2*time.Minute)), inc, root, kind, false)
				}
			}
		}
	}
}

func (l *legacy) schedule(g *gen) []event {
	// batch jobs on batch-01 at 01:00, 07:00, 13:00 and 19:00
	var ev []event
	end := g.cfg.Start.Add(g.cfg.Duration)
	for d := g.cfg.Start.Truncate(24 * time.Hour); d.Before(end); d = d.Add(24 * time.Hour) {
		for _, h := range []int{1, 7, 13, 19} {
			t := d.Add(time.Duration(h) * time.Hour)
			if t.Before(g.cfg.Start) || !t.Before(end) {
				continue
			}
			ev = append(ev, event{t, 0, l.batch})
		}
	}
	return ev
}

func (l *legacy) batch(g *gen, t time.Time) {
	g.st.Batches++
	inc := g.id('N')
	t = t.Add(g.uniform(0, 4*time.Minute))
	end := t.Add(g.uniform(15*time.Minute, 50*time.Minute))
	root := "instance:batch-01"
	for n := 1 + g.r.IntN(2); n > 0; n-- {
		g.fire(lbase("node", "batch-01"), pick(g, l.batchHost), t, end, inc, root, storm.KindNoise, false)
	}
	if g.chance(0.4) {
		g.fire(lbase("systemd", "batch-01", "name", "report-export.service"), pick(g, l.batchTimer), t, end, inc, root, storm.KindNoise, false)
	}
	if g.chance(0.5) {
		g.fire(l.own(l.byName["mysql-catalogue"], "db-01"), pick(g, l.batchDB), t.Add(g.uniform(time.Minute, 5*time.Minute)), end, inc, root, storm.KindNoise, false)
	}
}

func (l *legacy) cascade(g *gen, t time.Time) {
	g.st.Cascades++
	c := pick(g, l.comps)
	inc, root := g.id('T'), c.name
	end := t.Add(g.failureDuration())
	h := pick(g, c.hosts)
	for n := 1 + g.r.IntN(2); n > 0; n-- {
		r := pick(g, l.causeRules(c))
		if n == 1 {
			r.For = min(r.For, 2*time.Minute)
		}
		g.fire(l.own(c, h), r, t.Add(g.uniform(0, time.Minute)), end.Add(g.uniform(0, time.Minute)), inc, root, storm.KindCascade, true)
	}
	if strings.HasPrefix(c.kind, "app") && g.chance(0.4) { // the process crashes and restarts
		g.fire(lbase("systemd", h, "name", c.name+".service"), pick(g, l.crash), t.Add(g.uniform(0, time.Minute)), end, inc, root, storm.KindCascade, true)
		if g.chance(0.5) {
			g.fire(lbase(c.name, h), pick(g, l.targetMissing), t.Add(g.uniform(0, time.Minute)), end, inc, root, storm.KindCascade, true)
		}
	}
	if c.name == "front-end" && g.chance(0.5) {
		g.fire(lbase("blackbox", "https://shop.example.com/", "module", "http_2xx"), pick(g, l.httpProbe), t.Add(g.uniform(0, time.Minute)), end, inc, root, storm.KindCascade, false)
	}
	l.symptoms(g, []string{c.name}, t, end, inc, root, storm.KindCascade, 0.75, g.chance(0.4), nil)
}

// hostFailure: a host dies (nothing on it is scraped any more) or
// degrades (out of memory, disk): its services fail, callers elsewhere
// show symptoms.
func (l *legacy) hostFailure(g *gen, t time.Time) {
	g.st.HostFails++
	h := pick(g, l.hosts[:len(l.hosts)-1]) // batch-01 runs nothing that others call
	inc, root := g.id('T'), "instance:"+h
	end := t.Add(g.failureDuration())
	down := g.chance(0.6)
	if down {
		g.fire(lbase("node", h), pick(g, l.hostDown), t.Add(g.uniform(0, 30*time.Second)), end, inc, root, storm.KindHost, true)
		if g.chance(0.6) {
			g.fire(lbase("blackbox", h, "module", "icmp"), pick(g, l.icmp), t.Add(g.uniform(0, 30*time.Second)), end, inc, root, storm.KindHost, true)
		}
	} else {
		for n := 1 + g.r.IntN(2); n > 0; n-- {
			g.fire(lbase("node", h), pick(g, l.hostDegraded), t.Add(g.uniform(0, time.Minute)), end, inc, root, storm.KindHost, true)
		}
	}
	var names []string
	for _, c := range l.onHost[h] {
		names = append(names, c.name)
		if down {
			if g.chance(0.8) {
				g.fire(lbase(c.name, h), pick(g, l.targetMissing), t.Add(g.uniform(0, time.Minute)), end.Add(g.uniform(0, time.Minute)), inc, root, storm.KindHost, false)
			}
		} else if g.chance(0.7) {
			g.fire(l.own(c, h), pick(g, l.causeRules(c)), t.Add(g.uniform(30*time.Second, 3*time.Minute)), end.Add(g.uniform(0, time.Minute)), inc, root, storm.KindHost, false)
		}
	}
	l.symptoms(g, names, t, end, inc, root, storm.KindHost, 0.5, g.chance(0.3), func(x string) bool { return x != h })
}

// partition: rack b loses its uplink; Prometheus (in rack a) loses every
// target there; the applications in rack a fail to reach their
// dependencies.
func (l *legacy) partition(g *gen, t time.Time) {
	g.st.Partitions++
	inc, root := g.id('T'), "instance:sw-rack-b"
	end := t.Add(g.uniform(6*time.Minute, 30*time.Minute))
	g.fire(lbase("snmp", "sw-core-01", "ifName", "Ethernet1/49", "ifAlias", "uplink rack-b"), pick(g, l.uplinkDown), t, end, inc, root, storm.KindHost, true)
	inB := map[string]bool{}
	var names []string
	for _, h := range l.rackB {
		inB[h] = true
		g.fire(lbase("node", h), pick(g, l.targetMissing), t.Add(g.uniform(0, time.Minute)), end, inc, root, storm.KindHost, false)
		if g.chance(0.5) {
			g.fire(lbase("blackbox", h, "module", "icmp"), pick(g, l.icmp), t.Add(g.uniform(0, time.Minute)), end, inc, root, storm.KindHost, false)
		}
		for _, c := range l.onHost[h] {
			names = append(names, c.name)
			if g.chance(0.8) {
				g.fire(lbase(c.name, h), pick(g, l.targetMissing), t.Add(g.uniform(0, time.Minute)), end, inc, root, storm.KindHost, false)
			}
		}
	}
	l.symptoms(g, names, t, end, inc, root, storm.KindHost, 0.6, false, func(h string) bool { return !inB[h] })
}

func (l *legacy) noise(g *gen, t time.Time) {
	g.st.Noise++
	inc := g.id('N')
	end := t.Add(min(3*time.Minute+time.Duration(g.r.ExpFloat64()*float64(25*time.Minute)), 4*time.Hour))
	c := pick(g, l.comps)
	h := pick(g, c.hosts)
	var ls model.LabelSet
	var r Rule
	root := c.name
	switch g.r.IntN(6) {
	case 0, 1:
		h = pick(g, l.hosts)
		ls, r, root = lbase("node", h), pick(g, l.noiseHost), "instance:"+h
	case 2:
		if !strings.HasPrefix(c.kind, "app") {
			c = l.byName[pick(g, []string{"orders", "carts", "catalogue", "payment"})]
			h, root = c.hosts[0], c.name
		}
		ls, r = l.own(c, h), pick(g, l.noiseApp)
	case 3:
		c = l.byName[pick(g, []string{"rabbitmq", "haproxy", "redis-session", "mysql-catalogue"})]
		h, root = c.hosts[0], c.name
		ls, r = l.own(c, h), pick(g, l.noiseInfra)
	case 4: // a warning that is also a real cause elsewhere
		c = l.byName[pick(g, []string{"mysql-catalogue", "mongodb-orders", "redis-session", "rabbitmq"})]
		h, root = c.hosts[0], c.name
		rs := l.causeRules(c)
		r = rs[g.r.IntN(len(rs))]
		if r.Severity == "critical" {
			r = pick(g, l.noiseInfra)
			c = l.byName["rabbitmq"]
			h, root = "mq-01", "rabbitmq"
		}
		ls = l.own(c, h)
	default:
		ls, r, root = lbase("blackbox", "https://shop.example.com/", "module", "tls"), pick(g, l.noiseCert), "tls"
	}
	g.fire(ls, r, t, end, inc, root, storm.KindNoise, false)
}

func (l *legacy) flap(g *gen, t time.Time) {
	g.st.Flaps++
	inc := g.id('F')
	var ls model.LabelSet
	var r Rule
	root := "haproxy"
	switch g.r.IntN(3) {
	case 0:
		ls, r = lbase("haproxy", "lb-01", "proxy", "front-end", "server", pick(g, []string{"web-01", "web-02"})), pick(g, l.lbSymptom)
	case 1:
		c := l.byName[pick(g, []string{"orders", "carts", "catalogue", "user"})]
		ls, r, root = l.own(c, c.hosts[0]), pick(g, l.appSymptom), c.name
	default:
		ls, r, root = lbase("blackbox", "https://shop.example.com/", "module", "http_2xx"), pick(g, l.httpProbe), "front-end"
	}
	var sp []span
	at := t
	for i, n := 0, 3+g.r.IntN(5); i < n; i++ {
		en := at.Add(g.uniform(time.Minute, 4*time.Minute))
		sp = append(sp, span{at, en})
		at = en.Add(g.uniform(time.Minute, 5*time.Minute))
	}
	g.alert(ls, r, sp, inc, root, storm.KindFlap, false)
}

func (l *legacy) configs() (string, string) {
	var b strings.Builder
	b.WriteString(`# What a new user with VMs writes: every alert has a job (the
# applications' jobs are named after them), hosts are in instance (our
# relabelling strips the port), and the call graph is written by hand in
# terms of job names.
correlate:
  infra_labels: [instance]
topology:
  label: job
  depends_on:
`)
	writeDependsOn(&b, l.calls)
	return b.String(), `# The same user without a topology: job names the service, instance the host.
correlate:
  infra_labels: [instance]
topology:
  label: job
`
}
