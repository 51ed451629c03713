package correlate

import (
	"strings"
	"time"
)

// Evidence: an incident keeps the episode starts of its members by what
// they show (incident.evidence, filled by noteEpisode); the signals join
// an alert only on evidence that started close to it in time.

// maxEvidence bounds one evidence list: the oldest start goes first.
const maxEvidence = 32

// evKind says what the episode starts of an evidence list show (see
// incident.evidence).
type evKind uint8

const (
	evService      evKind = iota // episode starts of the members on a service
	evSymptom                    // ... of its symptom-like members (isSymptom)
	evCause                      // ... of its cause-like members (isCause)
	evInfra                      // ... of host-level members on label=value itself
	evOnInfra                    // ... of service members running on label=value
	evNoiseOnInfra               // ... of background-noise service members on it
	evHostAlert                  // ... of host-level members, by alert name
	evAnyHost                    // ... of host-level members that name their host (key "")
)

// evPrefix writes each kind in snapshots, before the service or
// "label=value" ("s:payment", "h:host=node-3").
var evPrefix = [...]string{evService: "s:", evSymptom: "y:", evCause: "c:", evInfra: "h:", evOnInfra: "v:", evNoiseOnInfra: "nv:", evHostAlert: "ha:", evAnyHost: "hx:"}

// evKey names one evidence list: a kind and a service or an
// infrastructure "label=value".
type evKey struct {
	kind evKind
	key  string
}

// String is the key as snapshots write it.
func (k evKey) String() string { return evPrefix[k.kind] + k.key }

// MarshalText writes the key as String does (in JSON maps).
func (k evKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// parseEvKey reads a key that String wrote.
func parseEvKey(s string) (evKey, bool) {
	for kind, p := range evPrefix {
		if rest, ok := strings.CutPrefix(s, p); ok {
			return evKey{evKind(kind), rest}, true
		}
	}
	return evKey{}, false
}

func earliest(ts []time.Time) (time.Time, bool) {
	if len(ts) == 0 {
		return time.Time{}, false
	}
	m := ts[0]
	for _, t := range ts[1:] {
		if t.Before(m) {
			m = t
		}
	}
	return m, true
}

func addEvidence(inc *incident, key evKey, t time.Time) {
	list := inc.evidence[key]
	for _, s := range list {
		if s.Equal(t) {
			return
		}
	}
	if len(list) >= maxEvidence {
		list = append(list[:0], list[1:]...)
	}
	inc.evidence[key] = append(list, t)
}
