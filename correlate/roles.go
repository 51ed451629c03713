package correlate

import (
	"fmt"
	"strings"

	"github.com/sift-aiops/sift/model"
)

// Roles: whether an alert says its service is failing (a cause: down,
// crashing, out of memory) or shows a failure propagated from a
// dependency (a symptom: errors, latency, timeouts) decides what it may
// join and which service is the root cause. Configured rules, in
// Alertmanager matcher syntax like inhibit rules, decide first:
//
//	correlate:
//	  roles:
//	    - {matchers: ['alertname=~"Memcached.*Evictions.*"'], role: cause}
//	    - {matchers: ['alertname="RabbitMQNoQueueConsumer"'], role: symptom}
//	    - {matchers: ['alertname="Watchdog"'], role: none}
//
// Otherwise the words of the alert's name and summary seed the decision
// (correlate.cause_words, correlate.symptom_words), and a name that has
// been on the root-cause service of nearly every incident it was part of
// acts as a cause whatever its words (learned, see nameStat.OnRoot). A
// configured cause is never taken for background noise.

// Alert roles.
const (
	RoleCause   = "cause"
	RoleSymptom = "symptom"
	RoleNone    = "none" // neither: joins only by group, infrastructure or text
)

// RoleRule gives the alerts its matchers select a role.
type RoleRule struct {
	Matchers []string `yaml:"matchers"`
	Role     string   `yaml:"role"`
}

type compiledRole struct {
	ms   []*model.Matcher
	role byte
}

const (
	roleUnset byte = iota
	roleCause
	roleSymptom
	roleNone
)

// DefaultCauseWords and DefaultSymptomWords seed the roles of alerts no
// rule names (see text.go for how they are read).
var (
	DefaultCauseWords = []string{"down", "crash", "crashing", "crashed", "crashloop", "looping", "oom",
		"killed", "killer", "unhealthy", "healthy", "ready", "unavailable",
		"probe", "restart", "restarts", "restarting", "leak", "mismatch",
		"evicted", "terminated", "exhausted", "deadlock", "panic", "panics",
		"absent", "missing", "unreachable", "failed", "failing", "failure",
		"saturated", "saturation", "full", "memory", "waiting"}
	DefaultSymptomWords = []string{"error", "errors", "5xx", "latency", "slow", "timeout", "timeouts",
		"unavailable", "upstream", "unreachable", "refused", "circuit",
		"retries", "saturation", "degraded"}
)

func compileRoles(rules []RoleRule) ([]compiledRole, error) {
	var out []compiledRole
	for i, r := range rules {
		var c compiledRole
		switch r.Role {
		case RoleCause:
			c.role = roleCause
		case RoleSymptom:
			c.role = roleSymptom
		case RoleNone:
			c.role = roleNone
		default:
			return nil, fmt.Errorf("correlate.roles[%d].role: %q: want cause, symptom or none", i, r.Role)
		}
		if len(r.Matchers) == 0 {
			return nil, fmt.Errorf("correlate.roles[%d].matchers: at least one matcher is required", i)
		}
		for j, s := range r.Matchers {
			m, err := model.ParseMatcher(s)
			if err != nil {
				return nil, fmt.Errorf("correlate.roles[%d].matchers[%d]: %v", i, j, err)
			}
			c.ms = append(c.ms, m)
		}
		out = append(out, c)
	}
	return out, nil
}

// configuredRole returns the role the first matching rule gives ls.
func (e *Engine) configuredRole(ls labelSet) byte {
	for _, r := range e.roles {
		if ls.matches(r.ms) {
			return r.role
		}
	}
	return roleUnset
}

func wordSet(words []string) map[string]bool {
	set := make(map[string]bool, len(words))
	for _, w := range words {
		set[strings.ToLower(w)] = true
	}
	return set
}
