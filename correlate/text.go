package correlate

import (
	"strings"

	"github.com/sift-aiops/sift/model"
)

// tokens returns the normalised words of an alert's name and summary,
// splitting CamelCase names ("KubePodCrashLooping" -> kube pod crash looping).
func (e *Engine) tokens(rec *alertRec) []string {
	if rec.tokens == nil {
		rec.tokens = Tokenize(rec.alert.Name() + " " + rec.alert.Summary())
	}
	return rec.tokens
}

var stopwords = map[string]bool{
	"the": true, "a": true, "an": true, "is": true, "are": true, "of": true, "on": true, "in": true,
	"for": true, "to": true, "and": true, "or": true, "has": true, "have": true, "be": true, "been": true,
	"with": true, "at": true, "by": true, "than": true, "this": true, "that": true, "it": true, "its": true,
	"value": true, "instance": true, "from": true, "was": true, "were": true, "not": true,
}

// Tokenize splits text into lower-case words (see model.Words), dropping
// stop words.
func Tokenize(s string) []string {
	words := model.Words(s)
	out := words[:0]
	for _, w := range words {
		if !stopwords[w] {
			out = append(out, w)
		}
	}
	return out
}

func jaccard(a []string, set map[string]struct{}) float64 {
	if len(a) == 0 || len(set) == 0 {
		return 0
	}
	inter := 0
	for _, w := range a {
		if _, ok := set[w]; ok {
			inter++
		}
	}
	union := len(a) + len(set) - inter
	return float64(inter) / float64(union)
}

// symptomWords mark alerts on the golden signals that a failing
// dependency propagates to its callers: errors, latency, saturation.
var symptomWords = map[string]bool{
	"error": true, "errors": true, "5xx": true, "latency": true, "slow": true, "timeout": true, "timeouts": true,
	"unavailable": true, "upstream": true, "unreachable": true, "refused": true, "circuit": true,
	"retries": true, "saturation": true, "degraded": true,
}

// isSymptom reports whether the alert reads like a propagated symptom.
func (e *Engine) isSymptom(rec *alertRec) bool {
	for _, w := range e.tokens(rec) {
		if symptomWords[w] {
			return true
		}
	}
	// Names like HTTP5xxRate tokenize as "http", "xx": check the raw name too.
	n := strings.ToLower(rec.alert.Name())
	return strings.Contains(n, "5xx") || strings.Contains(n, "error")
}

// causeWords mark alerts that say a service itself is failing (down,
// crashing, out of memory, unhealthy): failures that callers feel.
var causeWords = map[string]bool{
	"down": true, "crash": true, "crashing": true, "crashed": true, "crashloop": true, "looping": true, "oom": true,
	"killed": true, "killer": true, "unhealthy": true, "healthy": true, "ready": true, "unavailable": true,
	"probe": true, "restart": true, "restarts": true, "restarting": true, "leak": true, "mismatch": true,
	"evicted": true, "terminated": true, "exhausted": true, "deadlock": true, "panic": true, "panics": true,
	"absent": true, "missing": true, "unreachable": true, "failed": true, "failing": true, "failure": true,
	"saturated": true, "saturation": true, "full": true, "memory": true, "waiting": true,
}

// isCause reports whether the alert reads like the failure of the service
// itself rather than a symptom or an unrelated warning.
func (e *Engine) isCause(rec *alertRec) bool {
	for _, w := range e.tokens(rec) {
		if causeWords[w] {
			return true
		}
	}
	return strings.Contains(strings.ToLower(rec.alert.Name()), "oom")
}
