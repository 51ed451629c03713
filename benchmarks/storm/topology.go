package storm

import (
	"fmt"
	"sort"
)

// App is one application: services and the call graph between them.
type App struct {
	Name      string              // namespace the services run in
	Services  []string            // in a fixed order
	Calls     map[string][]string // service -> services it calls
	PortBase  int                 // first container port, for instance labels
	subnetIdx int
}

// OnlineBoutique is the call graph of Google's Online Boutique demo
// (github.com/GoogleCloudPlatform/microservices-demo), with the "service"
// suffix dropped from the names.
func OnlineBoutique() App {
	return App{
		Name: "boutique",
		Services: []string{"frontend", "productcatalog", "currency", "cart", "recommendation",
			"shipping", "checkout", "ad", "payment", "email", "redis-cart"},
		Calls: map[string][]string{
			"frontend":       {"productcatalog", "currency", "cart", "recommendation", "shipping", "checkout", "ad"},
			"checkout":       {"payment", "email", "shipping", "currency", "cart", "productcatalog"},
			"recommendation": {"productcatalog"},
			"cart":           {"redis-cart"},
		},
		PortBase: 8080,
	}
}

// SocialNetwork is the call graph of the DeathStarBench social network
// application (github.com/delimitrou/DeathStarBench, socialNetwork), as
// wired in its docker-compose deployment, storage back ends included.
func SocialNetwork() App {
	return App{
		Name: "social",
		Services: []string{"nginx-thrift", "compose-post", "home-timeline", "user-timeline",
			"post-storage", "social-graph", "user", "text", "url-shorten", "user-mention", "media",
			"unique-id", "post-storage-mongodb", "post-storage-memcached", "user-timeline-mongodb",
			"user-timeline-redis", "home-timeline-redis", "social-graph-mongodb", "social-graph-redis",
			"user-mongodb", "user-memcached", "url-shorten-mongodb", "media-mongodb"},
		Calls: map[string][]string{
			"nginx-thrift":  {"compose-post", "home-timeline", "user-timeline", "social-graph", "user", "media"},
			"compose-post":  {"text", "unique-id", "media", "user", "post-storage", "user-timeline", "home-timeline"},
			"text":          {"url-shorten", "user-mention"},
			"home-timeline": {"post-storage", "social-graph", "home-timeline-redis"},
			"user-timeline": {"post-storage", "user-timeline-mongodb", "user-timeline-redis"},
			"post-storage":  {"post-storage-mongodb", "post-storage-memcached"},
			"social-graph":  {"user", "social-graph-mongodb", "social-graph-redis"},
			"user":          {"user-mongodb", "user-memcached"},
			"url-shorten":   {"url-shorten-mongodb"},
			"user-mention":  {"user-mongodb", "user-memcached"},
			"media":         {"media-mongodb"},
		},
		PortBase: 9090,
	}
}

// Topology is the simulated estate: applications, hosts, and where each
// service runs.
type Topology struct {
	Cluster  string
	Apps     []App
	Hosts    []string
	Services []string            // all services, in a fixed order
	AppOf    map[string]int      // service -> index in Apps
	HostOf   map[string]string   // service -> host
	OnHost   map[string][]string // host -> services, in Services order
	Callers  map[string][]string // service -> services that call it
	Calls    map[string][]string // union of the apps' call graphs
}

// NewTopology builds the estate for the named topology ("boutique",
// "social" or "both") with n hosts. Placement is a seeded round robin.
func NewTopology(name, cluster string, hosts int, seed uint64) (*Topology, error) {
	var apps []App
	switch name {
	case "", "boutique":
		apps = []App{OnlineBoutique()}
	case "social":
		apps = []App{SocialNetwork()}
	case "both":
		apps = []App{OnlineBoutique(), SocialNetwork()}
	default:
		return nil, fmt.Errorf("unknown topology %q (want boutique, social or both)", name)
	}
	if hosts < 1 {
		return nil, fmt.Errorf("hosts = %d, want >= 1", hosts)
	}
	t := &Topology{Cluster: cluster, Apps: apps, AppOf: map[string]int{}, HostOf: map[string]string{},
		OnHost: map[string][]string{}, Callers: map[string][]string{}, Calls: map[string][]string{}}
	for i := 1; i <= hosts; i++ {
		t.Hosts = append(t.Hosts, fmt.Sprintf("node-%d", i))
	}
	for ai := range apps {
		apps[ai].subnetIdx = ai + 1
		for _, s := range apps[ai].Services {
			if _, dup := t.AppOf[s]; dup {
				return nil, fmt.Errorf("service %q appears in two applications", s)
			}
			t.AppOf[s] = ai
			t.Services = append(t.Services, s)
		}
		for from, tos := range apps[ai].Calls {
			t.Calls[from] = append(t.Calls[from], tos...)
			for _, to := range tos {
				t.Callers[to] = append(t.Callers[to], from)
			}
		}
	}
	for s := range t.Callers {
		sort.Strings(t.Callers[s])
	}
	// Seeded placement: shuffle the services, then deal them to hosts.
	r := newRand(seed ^ 0x9e3779b97f4a7c15)
	order := append([]string(nil), t.Services...)
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	for i, s := range order {
		t.HostOf[s] = t.Hosts[i%hosts]
	}
	for _, s := range t.Services {
		h := t.HostOf[s]
		t.OnHost[h] = append(t.OnHost[h], s)
	}
	return t, nil
}

// Upstream returns the services that (transitively) call s, nearest first,
// each with its hop distance from s.
func (t *Topology) Upstream(s string) (svcs []string, hops []int) {
	seen := map[string]bool{s: true}
	frontier := []string{s}
	for d := 1; len(frontier) > 0; d++ {
		var next []string
		for _, f := range frontier {
			for _, c := range t.Callers[f] {
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
	return svcs, hops
}

// instance returns a stable pod-ish instance label for service s.
func (t *Topology) instance(s string) string {
	app := t.Apps[t.AppOf[s]]
	idx := 0
	for i, x := range app.Services {
		if x == s {
			idx = i
		}
	}
	return fmt.Sprintf("10.%d.%d.%d:%d", app.subnetIdx, 1+idx/200, 10+idx%200, app.PortBase+idx)
}

// dependsOn returns the call graph for the Sift configuration.
func (t *Topology) dependsOn() map[string][]string {
	out := map[string][]string{}
	for k, v := range t.Calls {
		out[k] = append([]string(nil), v...)
	}
	return out
}
