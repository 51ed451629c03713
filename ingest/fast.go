package ingest

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/sift-aiops/sift/model"
)

// The fast path: a specialised parser for the common shape of Alertmanager
// v2 bodies (what Prometheus and amtool send), several times faster than
// encoding/json. It accepts only input it can decode exactly as
// encoding/json would: the known keys, string values, objects of strings.
// Anything else — a syntax error, an unknown or case-variant key, a null, a
// number, a repeated labels object — makes it decline (ok=false), and the
// caller decodes with encoding/json, which gives the general behaviour and
// the precise error. TestFastPathMatchesEncodingJSON and FuzzFastAMv2 check
// the equivalence.

type scanner struct {
	d     []byte
	i     int
	pairs []string // scratch for strMap

	lastStart, lastEnd, lastURL string
}

func (s *scanner) ws() {
	for s.i < len(s.d) {
		switch s.d[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.d) && s.d[s.i] == c {
		s.i++
		return true
	}
	return false
}

// interned holds label names and values common enough that sharing one
// copy saves an allocation per alert.
var interned = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"alertname", "severity", "service", "job", "instance", "namespace", "pod", "container",
		"cluster", "prometheus", "node", "host", "team", "env", "environment", "region", "zone",
		"summary", "description", "runbook_url", "message", "dashboard",
		"critical", "warning", "info", "error", "page", "none", "kube-state-metrics", "node-exporter",
	} {
		m[s] = s
	}
	return m
}()

// str reads a JSON string.
func (s *scanner) str() (string, bool) {
	s.ws()
	if s.i >= len(s.d) || s.d[s.i] != '"' {
		return "", false
	}
	start := s.i + 1
	ascii, esc := true, false
	for j := start; j < len(s.d); j++ {
		c := s.d[j]
		switch {
		case c == '"':
			raw := s.d[start:j]
			s.i = j + 1
			if esc {
				var out string
				if json.Unmarshal(s.d[start-1:j+1], &out) != nil {
					return "", false
				}
				return out, true
			}
			if !ascii && !utf8.Valid(raw) {
				return "", false // encoding/json would substitute U+FFFD
			}
			if v, ok := interned[string(raw)]; ok {
				return v, true
			}
			return string(raw), true
		case c == '\\':
			esc = true
			j++ // the escaped byte cannot end the string
		case c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// strMap reads an object whose values are all strings. The pairs are
// collected first so that the map is allocated once at its final size.
func (s *scanner) strMap() (model.LabelSet, bool) {
	if !s.consume('{') {
		return nil, false
	}
	if s.consume('}') {
		return model.LabelSet{}, true
	}
	s.pairs = s.pairs[:0]
	for {
		k, ok := s.str()
		if !ok || !s.consume(':') {
			return nil, false
		}
		v, ok := s.str()
		if !ok {
			return nil, false
		}
		s.pairs = append(s.pairs, k, v)
		if s.consume(',') {
			continue
		}
		if !s.consume('}') {
			return nil, false
		}
		m := make(model.LabelSet, len(s.pairs)/2)
		for i := 0; i < len(s.pairs); i += 2 {
			m[s.pairs[i]] = s.pairs[i+1] // a repeated key: the last wins, as in encoding/json
		}
		return m, true
	}
}

// plain reports whether raw string bytes need no decoding (*last being a
// decoded string, it is then valid UTF-8).
func plain(raw []byte) bool {
	for _, c := range raw {
		if c < 0x20 || c == '\\' {
			return false
		}
	}
	return true
}

// recent reads a string that often repeats from one alert to the next in
// a batch (times and generatorURL of one rule), sharing the copy.
func (s *scanner) recent(last *string) (string, bool) {
	s.ws()
	if i := s.i + 1 + len(*last); s.i < len(s.d) && s.d[s.i] == '"' && i < len(s.d) && s.d[i] == '"' &&
		string(s.d[s.i+1:i]) == *last && plain(s.d[s.i+1:i]) {
		s.i = i + 1
		return *last, true
	}
	v, ok := s.str()
	*last = v
	return v, ok
}

func (s *scanner) alert(a *amv2Alert) bool {
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	var ok bool
	for {
		k, kok := s.str()
		if !kok || !s.consume(':') {
			return false
		}
		switch k {
		case "labels":
			if a.Labels != nil {
				return false // encoding/json would merge the two objects
			}
			a.Labels, ok = s.strMap()
		case "annotations":
			if a.Annotations != nil {
				return false
			}
			a.Annotations, ok = s.strMap()
		case "startsAt":
			a.StartsAt, ok = s.recent(&s.lastStart)
		case "endsAt":
			a.EndsAt, ok = s.recent(&s.lastEnd)
		case "generatorURL":
			a.GeneratorURL, ok = s.recent(&s.lastURL)
		default:
			return false
		}
		if !ok {
			return false
		}
		if s.consume(',') {
			continue
		}
		return s.consume('}')
	}
}

var labelsKey = []byte(`"labels"`)

// fastAMv2 parses a JSON array of alerts, or one alert object.
func fastAMv2(data []byte) ([]amv2Alert, bool) {
	s := scanner{d: data}
	var out []amv2Alert
	s.ws()
	if s.i < len(data) && data[s.i] == '{' {
		out = make([]amv2Alert, 1)
		if !s.alert(&out[0]) {
			return nil, false
		}
	} else {
		if !s.consume('[') {
			return nil, false
		}
		out = make([]amv2Alert, 0, bytes.Count(data, labelsKey))
		if !s.consume(']') {
			for {
				out = append(out, amv2Alert{})
				if !s.alert(&out[len(out)-1]) {
					return nil, false
				}
				if s.consume(',') {
					continue
				}
				if s.consume(']') {
					break
				}
				return nil, false
			}
		}
	}
	s.ws()
	if s.i != len(data) {
		return nil, false
	}
	return out, true
}
