package storm

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Rule is one alert rule the generator can fire: its alertname, severity
// and annotation templates. Templates may use {{ $labels.<name> }} and
// {{ $value }} as in Prometheus rules.
type Rule struct {
	Name        string
	Severity    string
	Summary     string
	Description string
}

// Vocabulary holds the rules used for each role an alert plays.
type Vocabulary struct {
	Source      string // "builtin" or the rules file path
	Own         []Rule // a failing service's own alerts
	Caller      []Rule // a caller of a failing service (errors, latency)
	Host        []Rule // a failing host itself (no service label)
	HostService []Rule // a service on a failing host
	NoiseSvc    []Rule // unrelated single alerts on a service
	NoiseHost   []Rule // unrelated single alerts on a host
}

// BuiltinVocabulary is a small vocabulary written for Sift.
func BuiltinVocabulary() *Vocabulary {
	return &Vocabulary{
		Source: "builtin",
		Own: []Rule{
			{"ServiceDown", "critical", "{{ $labels.service }} is down", "No healthy endpoint of {{ $labels.service }} has answered its health check for more than a minute."},
			{"PodCrashLooping", "warning", "{{ $labels.service }} pod is crash looping", "A pod of {{ $labels.service }} restarted {{ $value }} times in the last 10 minutes."},
			{"ContainerOOMKilled", "warning", "{{ $labels.service }} container was OOM killed", "The kernel killed a container of {{ $labels.service }} for exceeding its memory limit."},
			{"HighErrorRate", "critical", "{{ $labels.service }} error rate above 5%", "{{ $value }}% of requests served by {{ $labels.service }} failed over the last 5 minutes."},
			{"ReadinessProbeFailing", "warning", "{{ $labels.service }} readiness probe failing", "The readiness probe of {{ $labels.instance }} has failed {{ $value }} times in a row."},
			{"SaturatedWorkerPool", "warning", "{{ $labels.service }} worker pool saturated", "All workers of {{ $labels.service }} have been busy for 5 minutes; requests are queueing."},
		},
		Caller: []Rule{
			{"UpstreamErrorRate", "warning", "{{ $labels.service }} sees errors from its dependencies", "{{ $value }}% of outbound calls from {{ $labels.service }} returned an error in the last 5 minutes."},
			{"HighRequestLatency", "warning", "{{ $labels.service }} p99 latency is high", "The 99th percentile latency of {{ $labels.service }} is {{ $value }}s, above the 1s objective."},
			{"HighErrorRate", "critical", "{{ $labels.service }} error rate above 5%", "{{ $value }}% of requests served by {{ $labels.service }} failed over the last 5 minutes."},
			{"CircuitBreakerOpen", "warning", "{{ $labels.service }} opened a circuit breaker", "{{ $labels.service }} stopped calling a dependency after repeated failures."},
		},
		Host: []Rule{
			{"HostDown", "critical", "Host {{ $labels.host }} is down", "The node exporter on {{ $labels.instance }} has not been scraped for 2 minutes."},
			{"NodeNotReady", "critical", "Node {{ $labels.host }} is not ready", "The kubelet on {{ $labels.host }} has reported NotReady for more than a minute."},
			{"HostUnreachable", "critical", "Host {{ $labels.host }} does not answer ping", "ICMP probes to {{ $labels.host }} have failed for 2 minutes."},
		},
		HostService: []Rule{
			{"TargetDown", "warning", "Scrape target {{ $labels.instance }} is down", "Prometheus cannot scrape {{ $labels.service }} at {{ $labels.instance }} on {{ $labels.host }}."},
			{"PodNotReady", "warning", "{{ $labels.service }} pod on {{ $labels.host }} is not ready", "A pod of {{ $labels.service }} scheduled on {{ $labels.host }} has not been ready for 2 minutes."},
		},
		NoiseSvc: []Rule{
			{"CertificateExpiringSoon", "warning", "TLS certificate of {{ $labels.service }} expires soon", "The serving certificate of {{ $labels.service }} expires in {{ $value }} days."},
			{"HighGCPause", "info", "{{ $labels.service }} spends long in garbage collection", "GC pauses of {{ $labels.service }} took {{ $value }}% of wall time in the last 10 minutes."},
			{"ConfigReloadFailed", "warning", "{{ $labels.service }} failed to reload its configuration", "The last configuration reload of {{ $labels.service }} failed; it keeps running the previous one."},
			{"HighFileDescriptorUsage", "warning", "{{ $labels.service }} uses many file descriptors", "{{ $labels.instance }} uses {{ $value }}% of its file descriptor limit."},
			{"DeploymentReplicasMismatch", "warning", "{{ $labels.service }} has fewer replicas than desired", "The deployment of {{ $labels.service }} has not matched its desired replica count for 10 minutes."},
			{"SlowStartup", "info", "{{ $labels.service }} took long to start", "The last start of {{ $labels.service }} took {{ $value }}s."},
		},
		NoiseHost: []Rule{
			{"HostDiskSpaceLow", "warning", "Disk space low on {{ $labels.host }}", "Less than {{ $value }}% of the root filesystem of {{ $labels.host }} is free."},
			{"HostHighCPULoad", "warning", "High CPU load on {{ $labels.host }}", "The CPU of {{ $labels.host }} has been {{ $value }}% busy for 10 minutes."},
			{"HostMemoryPressure", "warning", "Memory pressure on {{ $labels.host }}", "{{ $labels.host }} has been reclaiming memory heavily for 5 minutes."},
			{"HostClockSkew", "warning", "Clock skew on {{ $labels.host }}", "The clock of {{ $labels.host }} is {{ $value }}s away from NTP time."},
			{"HostNetworkErrors", "warning", "Network errors on {{ $labels.host }}", "An interface of {{ $labels.host }} reported {{ $value }} receive errors in 5 minutes."},
		},
	}
}

// DefaultRulesFile returns the awesome-prometheus-alerts rules file under
// $SIFT_SHARED_DATA, or "" when the variable is not set.
func DefaultRulesFile() string {
	d := os.Getenv("SIFT_SHARED_DATA")
	if d == "" {
		return ""
	}
	return filepath.Join(d, "alert-rules", "awesome-prometheus-alerts.yml")
}

// RulesFile is the layout of awesome-prometheus-alerts.yml: groups of
// services whose exporters list alert rules.
type RulesFile struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Services []struct {
			Name      string `yaml:"name"`
			Exporters []struct {
				Name  string `yaml:"name"`
				Slug  string `yaml:"slug"`
				Rules []struct {
					Name        string `yaml:"name"`
					Description string `yaml:"description"`
					Severity    string `yaml:"severity"`
				} `yaml:"rules"`
			} `yaml:"exporters"`
		} `yaml:"services"`
	} `yaml:"groups"`
}

// ReadRulesFile reads an awesome-prometheus-alerts.yml file.
func ReadRulesFile(path string) (*RulesFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	var f RulesFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("rules file %s: %w", path, err)
	}
	return &f, nil
}

type roleFilter struct {
	services map[string]bool
	name     *regexp.Regexp
	exclude  *regexp.Regexp // optional
}

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// The roles are chosen by the rule's service section and name; the text
// itself is read from the file at run time.
var roleFilters = map[string]roleFilter{
	"own": {set("Kubernetes", "Docker containers", "Golang", "JVM", "Blackbox"),
		regexp.MustCompile(`(?i)crash|oom|killed|unhealthy|not healthy|probe failed|memory leak|replicas mismatch`), nil},
	"caller": {set("Envoy", "Istio", "Linkerd", "Nginx"),
		regexp.MustCompile(`(?i)5xx|error rate|latency|timeout|no healthy upstream|circuit breaker|connection failures`), regexp.MustCompile(`(?i)pilot|control plane|gateway`)},
	"host": {set("Host and hardware", "Kubernetes"),
		regexp.MustCompile(`(?i)node not ready|node network unavailable|out of memory|oom kill|filesystem device error|uncorrectable|physical component too hot`), nil},
	"hostService": {set("Docker containers", "Kubernetes", "Blackbox", "Prometheus self-monitoring"),
		regexp.MustCompile(`(?i)container absent|pod not healthy|container waiting|^blackbox probe failed|target missing$`), nil},
	"noiseSvc": {set("Kubernetes", "Docker containers", "Golang", "JVM", "Blackbox", "Envoy", "Nginx", "SSL/TLS", "cert-manager"),
		regexp.MustCompile(`.`), regexp.MustCompile(`(?i)node|host|api server|kube-state|cluster|daemonset|cronjob|job `)},
	"noiseHost": {set("Host and hardware", "Systemd", "S.M.A.R.T Device Monitoring"),
		regexp.MustCompile(`.`), nil},
}

// LoadVocabulary reads an awesome-prometheus-alerts style rules file and
// builds a vocabulary from it. Roles the file does not cover fall back to
// the built-in rules.
func LoadVocabulary(path string) (*Vocabulary, error) {
	f, err := ReadRulesFile(path)
	if err != nil {
		return nil, err
	}
	roles := map[string][]Rule{}
	seen := map[string]map[string]bool{}
	for _, g := range f.Groups {
		for _, s := range g.Services {
			for _, e := range s.Exporters {
				for _, r := range e.Rules {
					if r.Name == "" || r.Description == "" {
						continue
					}
					rule := Rule{Name: camel(r.Name), Severity: normSeverity(r.Severity),
						Summary: r.Name + " ({{ $labels.instance }})", Description: r.Description}
					if rule.Name == "" {
						continue
					}
					for role, flt := range roleFilters {
						if flt.services[s.Name] && flt.name.MatchString(r.Name) && (flt.exclude == nil || !flt.exclude.MatchString(r.Name)) {
							if seen[role] == nil {
								seen[role] = map[string]bool{}
							}
							if !seen[role][rule.Name] {
								seen[role][rule.Name] = true
								roles[role] = append(roles[role], rule)
							}
						}
					}
				}
			}
		}
	}
	if len(roles) == 0 {
		return nil, fmt.Errorf("rules file %s: no usable rules (want groups[].services[].exporters[].rules[] with name and description)", path)
	}
	v := BuiltinVocabulary()
	v.Source = path
	pick := func(dst *[]Rule, role string) {
		if len(roles[role]) >= 2 {
			*dst = roles[role]
		}
	}
	pick(&v.Own, "own")
	pick(&v.Caller, "caller")
	pick(&v.Host, "host")
	pick(&v.HostService, "hostService")
	pick(&v.NoiseSvc, "noiseSvc")
	pick(&v.NoiseHost, "noiseHost")
	return v, nil
}

func normSeverity(s string) string {
	switch s {
	case "critical", "warning", "info":
		return s
	}
	return "warning"
}

// camel turns "Kubernetes pod crash looping" into "KubernetesPodCrashLooping".
func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			up = true
			continue
		}
		if b.Len() == 0 && unicode.IsDigit(r) {
			b.WriteByte('_')
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

var (
	reLabel = regexp.MustCompile(`\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	reValue = regexp.MustCompile(`\{\{[^}]*\$value[^}]*\}\}`)
	reOther = regexp.MustCompile(`\{\{[^}]*\}\}`)
)

// render expands the Prometheus-style templates in s.
func render(s string, labels map[string]string, value float64) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	s = reLabel.ReplaceAllStringFunc(s, func(m string) string {
		name := reLabel.FindStringSubmatch(m)[1]
		if v, ok := labels[name]; ok {
			return v
		}
		return "unknown"
	})
	s = reValue.ReplaceAllLiteralString(s, strconv.FormatFloat(value, 'f', -1, 64))
	s = reOther.ReplaceAllLiteralString(s, "")
	return strings.TrimSpace(s)
}
