package httpapi

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sift-aiops/sift/model"
)

// matchType is one of the four Alertmanager matcher operators.
type matchType int

const (
	matchEqual matchType = iota
	matchNotEqual
	matchRegexp
	matchNotRegexp
)

// matcher is an Alertmanager label matcher (name op "value"). A missing
// label matches as the empty string, as in Alertmanager.
type matcher struct {
	name  string
	typ   matchType
	value string
	re    *regexp.Regexp
}

func (m *matcher) matches(ls model.LabelSet) bool {
	v := ls[m.name]
	switch m.typ {
	case matchEqual:
		return v == m.value
	case matchNotEqual:
		return v != m.value
	case matchRegexp:
		return m.re.MatchString(v)
	default:
		return !m.re.MatchString(v)
	}
}

// parseMatchers parses one filter parameter as Alertmanager does: one or
// more comma-separated matchers, optionally in braces, each
// name=value, name!=value, name=~regex or name!~regex, the value quoted
// ("...", Go escapes) or bare (up to the next comma).
func parseMatchers(s string) ([]matcher, error) {
	in := strings.TrimSpace(s)
	if strings.HasPrefix(in, "{") {
		if !strings.HasSuffix(in, "}") {
			return nil, fmt.Errorf("bad matcher %q: missing closing '}'", s)
		}
		in = strings.TrimSpace(in[1 : len(in)-1])
	}
	var out []matcher
	for in != "" {
		// name
		i := 0
		for i < len(in) && (in[i] == '_' || in[i] >= 'a' && in[i] <= 'z' || in[i] >= 'A' && in[i] <= 'Z' || i > 0 && in[i] >= '0' && in[i] <= '9') {
			i++
		}
		name := in[:i]
		if name == "" {
			return nil, fmt.Errorf("bad matcher %q: expected a label name at %q", s, in)
		}
		rest := strings.TrimLeft(in[i:], " ")
		var typ matchType
		switch {
		case strings.HasPrefix(rest, "=~"):
			typ, rest = matchRegexp, rest[2:]
		case strings.HasPrefix(rest, "!~"):
			typ, rest = matchNotRegexp, rest[2:]
		case strings.HasPrefix(rest, "!="):
			typ, rest = matchNotEqual, rest[2:]
		case strings.HasPrefix(rest, "="):
			typ, rest = matchEqual, rest[1:]
		default:
			return nil, fmt.Errorf("bad matcher %q: expected =, !=, =~ or !~ after %q", s, name)
		}
		rest = strings.TrimLeft(rest, " ")
		var value string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(rest) {
				return nil, fmt.Errorf("bad matcher %q: unterminated quoted value", s)
			}
			v, err := strconv.Unquote(rest[:end+1])
			if err != nil {
				return nil, fmt.Errorf("bad matcher %q: %v", s, err)
			}
			value, rest = v, rest[end+1:]
		} else {
			j := strings.IndexByte(rest, ',')
			if j < 0 {
				j = len(rest)
			}
			value, rest = strings.TrimSpace(rest[:j]), rest[j:]
		}
		m := matcher{name: name, typ: typ, value: value}
		if typ == matchRegexp || typ == matchNotRegexp {
			re, err := regexp.Compile("^(?:" + value + ")$")
			if err != nil {
				return nil, fmt.Errorf("bad matcher %q: invalid regular expression: %v", s, err)
			}
			m.re = re
		}
		out = append(out, m)
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("bad matcher %q: expected ',' at %q", s, rest)
		}
		in = strings.TrimLeft(rest[1:], " ")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bad matcher %q: empty", s)
	}
	return out, nil
}
