package stormfamily

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"
)

// vocab holds the rules of awesome-prometheus-alerts.yml by service
// section ("Memcached", "Host and hardware", ...). Families select rules
// by section and a pattern on the rule name; the text is the file's, read
// at run time.
type vocab struct {
	source string
	bySec  map[string][]Rule
	names  map[string]string // camel name -> original name
}

type rulesFile struct {
	Groups []struct {
		Services []struct {
			Name      string `yaml:"name"`
			Exporters []struct {
				Rules []struct {
					Name        string `yaml:"name"`
					Description string `yaml:"description"`
					Severity    string `yaml:"severity"`
					For         string `yaml:"for"`
				} `yaml:"rules"`
			} `yaml:"exporters"`
		} `yaml:"services"`
	} `yaml:"groups"`
}

// loadVocab reads the rules file; an empty path gives an empty vocabulary
// (every selection then falls back to the family's generic rules).
func loadVocab(path string) (*vocab, error) {
	v := &vocab{source: "generic", bySec: map[string][]Rule{}, names: map[string]string{}}
	if path == "" {
		return v, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	var f rulesFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("rules file %s: %w", path, err)
	}
	v.source = path
	n := 0
	for _, g := range f.Groups {
		for _, s := range g.Services {
			for _, e := range s.Exporters {
				for _, r := range e.Rules {
					name := camel(r.Name)
					if name == "" || r.Description == "" {
						continue
					}
					fd, _ := parseFor(r.For)
					v.bySec[s.Name] = append(v.bySec[s.Name], Rule{Name: name, Severity: normSeverity(r.Severity),
						Summary: r.Name + " (instance {{ $labels.instance }})", Description: r.Description, For: fd})
					v.names[name] = r.Name
					n++
				}
			}
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("rules file %s: no rules with a name and a description", path)
	}
	return v, nil
}

// parseFor reads a Prometheus duration such as 2m, 1h, 1w, 30s.
func parseFor(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}
	if u, ok := unit[s[len(s)-1]]; ok {
		if n, err := strconv.Atoi(s[:len(s)-1]); err == nil {
			return time.Duration(n) * u, nil
		}
	}
	return 0, fmt.Errorf("bad duration %q", s)
}

// sel returns the rules of section whose original name matches pattern
// (case-insensitive), with `for:` capped at maxFor; none: fallback.
func (v *vocab) sel(section, pattern string, maxFor time.Duration, fallback ...Rule) []Rule {
	re := regexp.MustCompile("(?i)" + pattern)
	var out []Rule
	seen := map[string]bool{}
	for _, r := range v.bySec[section] {
		if re.MatchString(v.names[r.Name]) && !seen[r.Name] {
			seen[r.Name] = true
			r.For = min(r.For, maxFor)
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return fallback
	}
	return out
}

func normSeverity(s string) string {
	switch s {
	case "critical", "warning", "info":
		return s
	}
	return "warning"
}

// camel turns "Memcached high eviction rate" into
// "MemcachedHighEvictionRate" (other characters dropped).
func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			up = true
			continue
		}
		if b.Len() == 0 && unicode.IsDigit(r) {
			b.WriteByte('_')
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

var (
	reLabel = regexp.MustCompile(`\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)
	reValue = regexp.MustCompile(`\{\{[^}]*\$value[^}]*\}\}`)
	reOther = regexp.MustCompile(`\{\{[^}]*\}\}`)
)

// render expands {{ $labels.x }} and {{ $value }} in s.
func render(s string, labels map[string]string, value float64) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	s = reLabel.ReplaceAllStringFunc(s, func(m string) string {
		if v, ok := labels[reLabel.FindStringSubmatch(m)[1]]; ok {
			return v
		}
		return "unknown"
	})
	s = reValue.ReplaceAllLiteralString(s, strconv.FormatFloat(value, 'f', -1, 64))
	s = reOther.ReplaceAllLiteralString(s, "")
	return strings.TrimSpace(s)
}

// R builds a rule written for this package (kube-prometheus names with
// our own text, or generic fallbacks).
func R(name, sev string, forD time.Duration, summary, desc string) Rule {
	return Rule{Name: name, Severity: sev, For: forD, Summary: summary, Description: desc}
}

func cat(rs ...[]Rule) []Rule {
	var out []Rule
	for _, r := range rs {
		out = append(out, r...)
	}
	return out
}
