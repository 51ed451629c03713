// Package loadgen makes the realistic, reproducible alert label sets the
// load benchmarks (HTTP ingest, Kafka) send.
package loadgen

import "fmt"

var (
	alertnames = []string{"HighCPUUsage", "HighMemoryUsage", "DiskSpaceLow", "HighErrorRate", "HighLatency",
		"PodCrashLooping", "ServiceDown", "TargetDown", "CertificateExpiring", "QueueBacklog",
		"ReplicationLag", "TooManyConnections", "NodeNotReady", "OOMKilled", "SlowQueries"}
	services = []string{"checkout", "payments", "cart", "catalog", "search", "auth", "users", "orders",
		"inventory", "shipping", "email", "recommendations", "gateway", "frontend", "billing",
		"notifications", "reports", "ledger", "pricing", "media"}
	severities = []string{"critical", "warning", "warning", "info"}
	clusters   = []string{"prod-eu-west-1", "prod-us-east-1", "prod-ap-south-1", "staging-eu-west-1"}
	namespaces = []string{"default", "shop", "platform", "data", "edge"}
	teams      = []string{"sre", "payments-team", "core", "data-eng", "web"}
	jobs       = []string{"node-exporter", "kubelet", "app", "blackbox", "postgres-exporter"}
)

// LabelSet returns the i-th distinct label set (8 labels; distinct for
// i < 2^24 through the instance address).
func LabelSet(i int) map[string]string {
	h := uint64(i)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	pick := func(list []string) string {
		h ^= h >> 29
		h *= 0xBF58476D1CE4E5B9
		return list[h%uint64(len(list))]
	}
	svc := pick(services)
	return map[string]string{
		"alertname": pick(alertnames),
		"service":   svc,
		"instance":  fmt.Sprintf("10.%d.%d.%d:9100", (i>>16)&255, (i>>8)&255, i&255),
		"severity":  pick(severities),
		"cluster":   pick(clusters),
		"namespace": pick(namespaces),
		"team":      pick(teams),
		"job":       pick(jobs),
		"pod":       fmt.Sprintf("%s-%x", svc, (h>>8)&0xfffff),
	}
}
