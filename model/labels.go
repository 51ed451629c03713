// Package model holds the domain types shared by every stage of the Sift
// pipeline: alerts as they arrive, the journal entries that make them
// durable, and the incidents and problems that correlation produces.
package model

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// LabelSet is a set of label name/value pairs identifying an alert.
type LabelSet map[string]string

// Fingerprint identifies a label set. It is computed exactly as
// Alertmanager's model.LabelSet.Fingerprint (FNV-1a 64 over the sorted
// label names, each name and value followed by the byte 255), so Sift and
// Alertmanager show the same identity for the same alert.
type Fingerprint uint64

const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
	separator   = byte(255)
)

// Fingerprint returns the Alertmanager-compatible fingerprint of ls.
func (ls LabelSet) Fingerprint() Fingerprint {
	if len(ls) == 0 {
		return Fingerprint(fnvOffset64)
	}
	var small [16]string
	names := small[:0]
	for n := range ls {
		names = append(names, n)
	}
	sort.Strings(names)
	h := uint64(fnvOffset64)
	for _, n := range names {
		h = fnvAdd(h, n)
		h = fnvAddByte(h, separator)
		h = fnvAdd(h, ls[n])
		h = fnvAddByte(h, separator)
	}
	return Fingerprint(h)
}

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

func fnvAddByte(h uint64, b byte) uint64 {
	h ^= uint64(b)
	h *= fnvPrime64
	return h
}

// String renders the fingerprint as 16 hex digits, as Alertmanager does.
func (f Fingerprint) String() string { return fmt.Sprintf("%016x", uint64(f)) }

// MarshalText implements encoding.TextMarshaler.
func (f Fingerprint) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Fingerprint) UnmarshalText(b []byte) error {
	v, err := ParseFingerprint(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// ParseFingerprint parses 16 hex digits.
func ParseFingerprint(s string) (Fingerprint, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("fingerprint %q: want 16 hex digits", s)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("fingerprint %q: %w", s, err)
	}
	return Fingerprint(v), nil
}

// Names returns the label names in sorted order.
func (ls LabelSet) Names() []string {
	names := make([]string, 0, len(ls))
	for n := range ls {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// String renders the set as {a="1", b="2"} with sorted names.
func (ls LabelSet) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range ls.Names() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(n)
		b.WriteString("=")
		b.WriteString(strconv.Quote(ls[n]))
	}
	b.WriteByte('}')
	return b.String()
}

// Clone returns a copy of ls.
func (ls LabelSet) Clone() LabelSet {
	if ls == nil {
		return nil
	}
	c := make(LabelSet, len(ls))
	for k, v := range ls {
		c[k] = v
	}
	return c
}

// ValidLabelName reports whether s is a valid Prometheus label name.
func ValidLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}
