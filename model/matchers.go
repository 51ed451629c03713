package model

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchType is a matcher operator.
type MatchType string

// Matcher operators (Alertmanager syntax).
const (
	MatchEqual     MatchType = "="
	MatchNotEqual  MatchType = "!="
	MatchRegexp    MatchType = "=~"
	MatchNotRegexp MatchType = "!~"
)

// Matcher is one label matcher, e.g. severity=~"crit.*". As in
// Alertmanager, a missing label has the value "", and regular
// expressions are anchored at both ends.
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
	re    *regexp.Regexp
}

// ParseMatcher parses `name=value`, `name!="value"`, `name=~"re"` or
// `name!~"re"`. The value may be double-quoted (Go escapes) or bare.
func ParseMatcher(s string) (*Matcher, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
		t = strings.TrimSpace(t[1 : len(t)-1])
	}
	if t == "" {
		return nil, fmt.Errorf("empty matcher")
	}
	i := strings.IndexAny(t, "=!")
	if i < 0 {
		return nil, fmt.Errorf("matcher %q: no operator (want one of =, !=, =~, !~)", s)
	}
	name := strings.TrimSpace(t[:i])
	if uq, err := strconv.Unquote(name); err == nil && strings.HasPrefix(name, `"`) {
		name = uq
	} else if !ValidLabelName(name) {
		return nil, fmt.Errorf("matcher %q: invalid label name %q", s, name)
	}
	rest := t[i:]
	var typ MatchType
	switch {
	case strings.HasPrefix(rest, "=~"):
		typ = MatchRegexp
	case strings.HasPrefix(rest, "!~"):
		typ = MatchNotRegexp
	case strings.HasPrefix(rest, "!="):
		typ = MatchNotEqual
	case strings.HasPrefix(rest, "="):
		typ = MatchEqual
	default:
		return nil, fmt.Errorf("matcher %q: invalid operator (want one of =, !=, =~, !~)", s)
	}
	raw := strings.TrimSpace(rest[len(typ):])
	val := raw
	if strings.HasPrefix(raw, `"`) {
		v, err := strconv.Unquote(raw)
		if err != nil {
			return nil, fmt.Errorf("matcher %q: badly quoted value %s", s, raw)
		}
		val = v
	} else if strings.ContainsAny(raw, `",`) {
		return nil, fmt.Errorf("matcher %q: unquoted value %q contains a quote or comma (one matcher per list entry)", s, raw)
	}
	m := &Matcher{Name: name, Type: typ, Value: val}
	if typ == MatchRegexp || typ == MatchNotRegexp {
		re, err := regexp.Compile("^(?:" + val + ")$")
		if err != nil {
			return nil, fmt.Errorf("invalid regex %q in matcher %q: %v", val, s, err)
		}
		m.re = re
	}
	return m, nil
}

// Matches reports whether labels satisfy m.
func (m *Matcher) Matches(labels LabelSet) bool { return m.MatchesValue(labels[m.Name]) }

// MatchesValue reports whether m matches a set whose m.Name label is v
// ("" if absent).
func (m *Matcher) MatchesValue(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// String renders m in Alertmanager syntax.
func (m *Matcher) String() string { return m.Name + string(m.Type) + strconv.Quote(m.Value) }

// ParseMatchers parses a matcher list as Alertmanager's API and amtool
// accept it: one or more comma-separated matchers, optionally in braces
// ({a="1", b=~"x.*"}). Commas inside quoted values do not separate.
func ParseMatchers(s string) ([]*Matcher, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") {
		if !strings.HasSuffix(t, "}") {
			return nil, fmt.Errorf("matchers %q: missing closing '}'", s)
		}
		t = strings.TrimSpace(t[1 : len(t)-1])
	}
	var out []*Matcher
	start, inQuote := 0, false
	for i := 0; i <= len(t); i++ {
		if i < len(t) {
			switch c := t[i]; {
			case c == '\\' && inQuote:
				i++
				continue
			case c == '"':
				inQuote = !inQuote
				continue
			case c != ',' || inQuote:
				continue
			}
		}
		if inQuote {
			return nil, fmt.Errorf("matchers %q: unterminated quoted value", s)
		}
		part := strings.TrimSpace(t[start:i])
		start = i + 1
		if part == "" {
			if i == len(t) && len(out) > 0 {
				break // trailing comma
			}
			return nil, fmt.Errorf("matchers %q: empty matcher", s)
		}
		m, err := ParseMatcher(part)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// NewMatcher returns a matcher, compiling the regular expression of =~
// and !~ (anchored at both ends, as in Alertmanager).
func NewMatcher(name string, typ MatchType, value string) (*Matcher, error) {
	m := &Matcher{Name: name, Type: typ, Value: value}
	switch typ {
	case MatchEqual, MatchNotEqual:
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + value + ")$")
		if err != nil {
			return nil, fmt.Errorf("invalid regex %q for label %s: %v", value, name, err)
		}
		m.re = re
	default:
		return nil, fmt.Errorf("unknown matcher operator %q", typ)
	}
	return m, nil
}
