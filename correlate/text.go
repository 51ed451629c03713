package correlate

import (
	"strings"

	"github.com/sift-aiops/sift/model"
)

// tokens returns the normalised words of an alert's name and summary,
// splitting CamelCase names ("KubePodCrashLooping" -> kube pod crash looping).
func (e *Engine) tokens(rec *alertRec) []string {
	if rec.tokens == nil {
		rec.tokens = e.intern(Tokenize(rec.alert.Name() + " " + rec.alert.Summary()))
	}
	return rec.tokens
}

// maxInterned bounds the words the engine shares between alerts.
const maxInterned = 1 << 17

// intern returns words in a slice of their exact length, each word shared
// with the alerts that had it before (words beyond maxInterned distinct
// ones are kept as they are). Most alerts of a storm say the same words:
// this keeps one copy of each instead of one per alert.
func (e *Engine) intern(words []string) []string {
	if len(words) == 0 {
		return words
	}
	out := make([]string, len(words))
	for i, w := range words {
		if s, ok := e.words[w]; ok {
			w = s
		} else if len(e.words) < maxInterned {
			if e.words == nil {
				e.words = map[string]string{}
			}
			e.words[w] = w
		}
		out[i] = w
	}
	return out
}

// maxDetails bounds the join explanations shared between members.
const maxDetails = 1 << 16

// internDetail returns one shared copy of a join explanation: the members
// that joined an incident for the same reason ("service checkout is
// already alerting in INC-5") keep one string, not one each. When full,
// the table starts again (it is a cache: nothing depends on it).
func (e *Engine) internDetail(d string) string {
	if s, ok := e.details[d]; ok {
		return s
	}
	if e.details == nil || len(e.details) >= maxDetails {
		e.details = make(map[string]string)
	}
	e.details[d] = d
	return d
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

// isSymptom reports whether the alert reads like a propagated symptom.
func (e *Engine) isSymptom(rec *alertRec) bool {
	switch rec.role {
	case roleSymptom:
		return true
	case roleCause, roleNone:
		return false
	}
	for _, w := range e.tokens(rec) {
		if e.symptomWords[w] {
			return true
		}
	}
	// Names like HTTP5xxRate tokenize as "http", "xx": check the raw name too.
	n := strings.ToLower(rec.alert.Name())
	return strings.Contains(n, "5xx") || strings.Contains(n, "error")
}

// isCause reports whether the alert reads like the failure of the service
// itself rather than a symptom or an unrelated warning.
func (e *Engine) isCause(rec *alertRec) bool {
	switch rec.role {
	case roleCause:
		return true
	case roleSymptom, roleNone:
		return false
	}
	for _, w := range e.tokens(rec) {
		if e.causeWords[w] {
			return true
		}
	}
	return strings.Contains(strings.ToLower(rec.alert.Name()), "oom")
}
