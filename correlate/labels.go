package correlate

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sift-aiops/sift/model"
)

// labelSet is a label (or annotation) set packed into one string: for each
// pair in name order, the length of the name as a uvarint, the name, the
// length of the value as a uvarint and the value. One allocation of about
// the size of the text replaces a Go map (a map of 9 pairs costs ~650
// bytes before its strings), which is most of what an active alert held
// (issue #15). It is immutable, so records and snapshots share it.
//
// Its JSON form is exactly that of the model.LabelSet it was packed from
// (an object with sorted keys), so snapshots read and write as before.
type labelSet string

// packLabels packs ls (nil and empty give "").
func packLabels(ls model.LabelSet) labelSet {
	if len(ls) == 0 {
		return ""
	}
	var small [16]string
	names := small[:0]
	size := 0
	for n, v := range ls {
		names = append(names, n)
		size += len(n) + len(v) + uvarintLen(len(n)) + uvarintLen(len(v))
	}
	slices.Sort(names)
	var b strings.Builder
	b.Grow(size)
	var tmp [binary.MaxVarintLen64]byte
	for _, n := range names {
		v := ls[n]
		b.Write(binary.AppendUvarint(tmp[:0], uint64(len(n))))
		b.WriteString(n)
		b.Write(binary.AppendUvarint(tmp[:0], uint64(len(v))))
		b.WriteString(v)
	}
	return labelSet(b.String())
}

func uvarintLen(n int) int {
	l := 1
	for n >= 0x80 {
		n >>= 7
		l++
	}
	return l
}

// next reads the pair at offset i; it returns the offset after it, or -1
// at the end.
func (s labelSet) next(i int) (name, value string, j int) {
	if i >= len(s) {
		return "", "", -1
	}
	n, k := uvarint(s, i)
	name = string(s[k : k+n])
	m, k2 := uvarint(s, k+n)
	value = string(s[k2 : k2+m])
	return name, value, k2 + m
}

func uvarint(s labelSet, i int) (int, int) {
	var x uint64
	var shift uint
	for {
		c := s[i]
		i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int(x), i
		}
		shift += 7
	}
}

// Get returns the value of the label name ("" if absent).
func (s labelSet) Get(name string) string {
	for i := 0; i < len(s); {
		n, k := uvarint(s, i)
		m, k2 := uvarint(s, k+n)
		if int(n) == len(name) && string(s[k:k+n]) == name {
			return string(s[k2 : k2+m])
		}
		i = k2 + m
	}
	return ""
}

// Len returns the number of pairs.
func (s labelSet) Len() int {
	c := 0
	for i := 0; i >= 0; {
		if _, _, i = s.next(i); i >= 0 {
			c++
		}
	}
	return c
}

// Map returns the set as a new model.LabelSet (nil if empty).
func (s labelSet) Map() model.LabelSet {
	if s == "" {
		return nil
	}
	m := make(model.LabelSet, s.Len())
	for i := 0; ; {
		n, v, j := s.next(i)
		if j < 0 {
			return m
		}
		m[n] = v
		i = j
	}
}

// equal reports whether s holds exactly the pairs of ls.
func (s labelSet) equal(ls model.LabelSet) bool {
	c := 0
	for i := 0; ; {
		n, v, j := s.next(i)
		if j < 0 {
			return c == len(ls)
		}
		if w, ok := ls[n]; !ok || w != v {
			return false
		}
		c++
		i = j
	}
}

// matches reports whether every matcher matches s.
func (s labelSet) matches(ms []*model.Matcher) bool {
	for _, m := range ms {
		if !m.MatchesValue(s.Get(m.Name)) {
			return false
		}
	}
	return true
}

// MarshalJSON writes the set as encoding/json writes a model.LabelSet.
func (s labelSet) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(s)+4*s.Len()+2)
	b = append(b, '{')
	for i, first := 0, true; ; first = false {
		n, v, j := s.next(i)
		if j < 0 {
			break
		}
		if !first {
			b = append(b, ',')
		}
		b = appendJSONString(b, n)
		b = append(b, ':')
		b = appendJSONString(b, v)
		i = j
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads an object of strings (or null).
func (s *labelSet) UnmarshalJSON(data []byte) error {
	var ls model.LabelSet
	if err := json.Unmarshal(data, &ls); err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	*s = packLabels(ls)
	return nil
}

// appendJSONString appends v quoted as encoding/json quotes it: plain
// printable ASCII directly, anything else through encoding/json.
func appendJSONString(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(v)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

// recAlert is what the engine keeps of an alert's latest notification:
// a model.Alert with packed label and annotation sets (same JSON).
type recAlert struct {
	Labels       labelSet  `json:"labels"`
	Annotations  labelSet  `json:"annotations,omitempty"`
	StartsAt     time.Time `json:"startsAt"`
	EndsAt       time.Time `json:"endsAt,omitempty"`
	GeneratorURL string    `json:"generatorURL,omitempty"`
}

func packAlert(a *model.Alert) recAlert {
	return recAlert{Labels: packLabels(a.Labels), Annotations: packLabels(a.Annotations), StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL}
}

// Name returns the alertname label.
func (a *recAlert) Name() string { return a.Labels.Get("alertname") }

// Summary returns the summary annotation, falling back to description
// (as model.Alert.Summary).
func (a *recAlert) Summary() string {
	if s := a.Annotations.Get("summary"); s != "" {
		return s
	}
	return a.Annotations.Get("description")
}

// model returns the alert as a model.Alert with sets of its own.
func (a *recAlert) model() model.Alert {
	return model.Alert{Labels: a.Labels.Map(), Annotations: a.Annotations.Map(), StartsAt: a.StartsAt, EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL}
}
