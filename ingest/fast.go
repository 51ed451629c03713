package ingest

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
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
	// hints are the names and values of the last labels (0) and
	// annotations (1) objects read, by position (see strMap).
	hints     [2][]string
	keepHints bool // more objects to come: record hints

	lastStart, lastEnd, lastURL string

	// seen, if not nil (a Session's scanner), holds the interned strings
	// and shares the strings read recently (label values of one service,
	// cluster, ... repeat from one message to the next): up to maxSeen
	// strings of up to maxSeenLen bytes.
	seen map[string]string

	// sets, if not nil (a Session's scanner), holds the label and
	// annotation sets decoded and checked before, by the bytes of their
	// JSON object; meta says, for each alert of the last amv2 call, which
	// of its sets came from there and the bytes of those that did not.
	sets *setCache
	meta []setMeta
}

// setMeta is what the scanner tells decodeAMv2 about one alert's sets
// (index 0: labels, 1: annotations).
type setMeta struct {
	raw    [2][]byte // the object's bytes (in the message), if cacheable and not cached
	hash   [2]uint64 // their hash
	cached [2]bool   // the set came from the cache: already checked, read-only
}

// setCache maps the exact bytes of a labels or annotations object to the
// set they decoded to, after the checks and normalisation of finish (a
// set is only added once its alert was accepted). The sets are shared by
// every alert decoded from the same bytes and are never modified.
//
// Entries are found by a hash of the bytes and checked against the bytes
// themselves. A set is kept only when its bytes come a second time: the
// first time only the hash is noted (in a fixed table, where another
// hash may overwrite it), so that sets that never repeat (an annotation
// carrying the current value) cost a hash and no copy.
//
// It is bounded by two generations of maxSetBytes each (32 MiB in all)
// of kept bytes plus setEntryCost per entry, and the 1 MiB table: when
// the current generation is full it becomes the old one (the older is
// dropped), and a set found in the old one moves to the current one, so
// the sets in use stay while those no longer seen go.
type setCache struct {
	seed     maphash.Seed
	cur, old [2]map[uint64]setEntry
	bytes    int         // cost of cur
	once     [2][]uint64 // hashes of sets seen once, by their low bits
	rnd      uint64
}

type setEntry struct {
	key string // the object's bytes
	ls  model.LabelSet
}

const (
	maxSetKey    = 2048     // longest object cached, in bytes
	maxSetBytes  = 16 << 20 // per generation (≈ 30,000 identities with 400 + 150 bytes of labels and annotations)
	setEntryCost = 64       // counted per entry besides its bytes
	onceSlots    = 1 << 16  // per kind
)

func newSetCache() *setCache {
	c := &setCache{seed: maphash.MakeSeed(), rnd: 0x9E3779B97F4A7C15}
	c.cur = [2]map[uint64]setEntry{{}, {}}
	c.once = [2][]uint64{make([]uint64, onceSlots), make([]uint64, onceSlots)}
	return c
}

// get returns the set raw decoded to, if it is kept, and raw's hash.
func (c *setCache) get(kind int, raw []byte) (uint64, model.LabelSet, bool) {
	h := maphash.Bytes(c.seed, raw)
	if e, ok := c.cur[kind][h]; ok && e.key == string(raw) {
		return h, e.ls, true
	}
	if e, ok := c.old[kind][h]; ok && e.key == string(raw) {
		delete(c.old[kind], h)
		c.put(kind, h, e)
		return h, e.ls, true
	}
	return h, nil, false
}

// add notes that raw (hash h) decoded to ls: the first time only the
// hash, the next time the set (replacing another set of the same hash).
//
// The table has two slots per bucket; a new hash takes an empty slot or
// one chosen at random, so that two sets alternating on one bucket cannot
// evict each other for ever.
func (c *setCache) add(kind int, h uint64, raw []byte, ls model.LabelSet) {
	b := c.once[kind][h&(onceSlots-2) : h&(onceSlots-2)+2]
	for i, v := range b {
		if v == h {
			b[i] = 0
			c.put(kind, h, setEntry{key: string(raw), ls: ls})
			return
		}
	}
	switch {
	case b[0] == 0:
		b[0] = h
	case b[1] == 0:
		b[1] = h
	default:
		c.rnd ^= c.rnd << 13 // xorshift
		c.rnd ^= c.rnd >> 7
		c.rnd ^= c.rnd << 17
		b[c.rnd&1] = h
	}
}

func (c *setCache) put(kind int, h uint64, e setEntry) {
	cost := setEntryCost + len(e.key)
	if c.bytes+cost > maxSetBytes {
		c.old = c.cur
		c.cur = [2]map[uint64]setEntry{{}, {}}
		c.bytes = 0
	}
	c.cur[kind][h] = e
	c.bytes += cost
}

// objectEnd returns the index after the '}' closing the object that
// starts at d[i] ('{'), if it holds no nested object or array; else -1.
// It does not validate: a set is only found in the cache if the same
// bytes were decoded successfully before.
func objectEnd(d []byte, i int) int {
	for j := i + 1; j < len(d); j++ {
		switch d[j] {
		case '"':
			// The closing quote: the next one not escaped, i.e. after
			// an even number of backslashes.
			for k := j + 1; ; k++ {
				q := bytes.IndexByte(d[k:], '"')
				if q < 0 {
					return -1
				}
				k += q
				n := 0
				for m := k - 1; m > j && d[m] == '\\'; m-- {
					n++
				}
				if n%2 == 0 {
					j = k
					break
				}
			}
		case '}':
			return j + 1
		case '{', '[':
			return -1
		}
	}
	return -1
}

// set reads a labels (kind 0) or annotations (1) object: from the cache
// if these bytes were seen before, else with strMap.
func (s *scanner) set(kind int, meta *setMeta) (model.LabelSet, bool) {
	if s.sets == nil {
		return s.strMap(kind)
	}
	s.ws()
	end := -1
	if s.i < len(s.d) && s.d[s.i] == '{' {
		end = objectEnd(s.d, s.i)
	}
	if end < 0 || end-s.i > maxSetKey {
		return s.strMap(kind)
	}
	raw := s.d[s.i:end]
	h, ls, ok := s.sets.get(kind, raw)
	if ok {
		s.i = end
		meta.cached[kind] = true
		return ls, true
	}
	ls, ok = s.strMap(kind)
	if ok && s.i == end {
		meta.raw[kind], meta.hash[kind] = raw, h
	}
	return ls, ok
}

const (
	maxHints   = 128 // names and values remembered per kind
	maxSeen    = 4096
	maxSeenLen = 64
)

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

// resetSeen empties (or creates) the scanner's recent strings, keeping
// the interned ones.
func (s *scanner) resetSeen() {
	if s.seen == nil {
		s.seen = make(map[string]string, maxSeen)
	} else {
		clear(s.seen)
	}
	for k, v := range interned {
		s.seen[k] = v
	}
}

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
			if !ascii && !utf8.Valid(raw) {
				// encoding/json would substitute U+FFFD; the general
				// path refuses it, naming the field.
				return "", false
			}
			if esc {
				var out string
				if json.Unmarshal(s.d[start-1:j+1], &out) != nil {
					return "", false
				}
				return out, true
			}
			if s.seen == nil {
				if v, ok := interned[string(raw)]; ok {
					return v, true
				}
				return string(raw), true
			}
			if v, ok := s.seen[string(raw)]; ok {
				return v, true
			}
			v := string(raw)
			if len(raw) <= maxSeenLen {
				if len(s.seen) >= maxSeen {
					s.resetSeen() // bounded: start over
				}
				s.seen[v] = v
			}
			return v, true
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
//
// The names and values are read with recent against those at the same
// position in the previous object of the same kind (labels or
// annotations): successive alerts usually list the same names in the same
// order, and often share values.
func (s *scanner) strMap(kind int) (model.LabelSet, bool) {
	if !s.consume('{') {
		return nil, false
	}
	if s.consume('}') {
		return model.LabelSet{}, true
	}
	s.pairs = s.pairs[:0]
	hint := s.hints[kind]
	for {
		var k, v string
		var ok bool
		if i := len(s.pairs); i+1 < len(hint) {
			k, ok = s.recent(&hint[i])
		} else {
			k, ok = s.str()
		}
		if !ok || !s.consume(':') {
			return nil, false
		}
		if i := len(s.pairs) + 1; i < len(hint) {
			v, ok = s.recent(&hint[i])
		} else {
			v, ok = s.str()
		}
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
		if s.keepHints && len(s.pairs) > len(hint) && len(s.pairs) <= maxHints {
			s.hints[kind] = append(hint[:0], s.pairs...)
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
	var meta setMeta
	if s.sets != nil {
		defer func() { s.meta = append(s.meta, meta) }() // one entry per alert
	}
	if !s.consume('{') {
		return false
	}
	if s.consume('}') {
		return true
	}
	var ok, hasLabels, hasAnn bool
	for {
		k, kok := s.str()
		if !kok || !s.consume(':') {
			return false
		}
		switch k {
		case "labels":
			if hasLabels {
				return false // encoding/json would merge the two objects
			}
			hasLabels = true
			a.Labels, ok = s.set(0, &meta)
		case "annotations":
			if hasAnn {
				return false
			}
			hasAnn = true
			a.Annotations, ok = s.set(1, &meta)
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
	var s scanner
	return s.amv2(data, nil)
}

// amv2 parses a JSON array of alerts, or one alert object, appending them
// to out (which must have length 0). The scanner's scratch space and the
// strings it remembers carry over from the previous call: a Session
// decodes a stream of messages with one scanner.
func (s *scanner) amv2(data []byte, out []amv2Alert) ([]amv2Alert, bool) {
	s.d, s.i = data, 0
	defer func() { s.d = nil }() // do not keep the message alive
	s.meta = s.meta[:0]
	s.ws()
	// One alert decoded on its own has no use for hints.
	s.keepHints = s.seen != nil || (s.i < len(data) && data[s.i] == '[')
	if s.i < len(data) && data[s.i] == '{' {
		out = append(out, amv2Alert{})
		if !s.alert(&out[0]) {
			return nil, false
		}
	} else {
		if !s.consume('[') {
			return nil, false
		}
		if out == nil {
			out = make([]amv2Alert, 0, bytes.Count(data, labelsKey))
		}
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
