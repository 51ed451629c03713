package knowledge

import (
	"bufio"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Article is one parsed Markdown file.
type Article struct {
	ID       string   // path relative to the directory, without ".md", "/" separated
	Title    string   // front matter title, else first "# " heading, else file name
	Tags     []string // front matter tags
	Alerts   []string // front matter alerts (alert names the article applies to)
	Services []string // front matter services
	Headings []string // text of every heading
	Body     string   // text outside headings and front matter
}

// frontMatter is the part of the YAML front matter Sift reads. Other keys
// (weight, draft, menu settings, ...) are ignored.
type frontMatter struct {
	Title    string      `yaml:"title"`
	Tags     stringOrSeq `yaml:"tags"`
	Alerts   stringOrSeq `yaml:"alerts"`
	Services stringOrSeq `yaml:"services"`
}

// stringOrSeq accepts "a", "a, b" or ["a", "b"].
type stringOrSeq []string

func (s *stringOrSeq) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		for _, p := range strings.Split(n.Value, ",") {
			if p = strings.TrimSpace(p); p != "" {
				*s = append(*s, p)
			}
		}
		return nil
	case yaml.SequenceNode:
		var v []string
		if err := n.Decode(&v); err != nil {
			return err
		}
		*s = append(*s, v...)
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// ArticleID returns the id of the file at rel (a path relative to the
// knowledge directory, OS separators allowed).
func ArticleID(rel string) string {
	return strings.TrimSuffix(filepath.ToSlash(rel), ".md")
}

var linkTarget = regexp.MustCompile(`\]\([^)\s]*\)`)

// ParseArticle parses Markdown text. id names the article in errors and
// gives the fallback title.
func ParseArticle(id string, data []byte) (*Article, error) {
	a := &Article{ID: id}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.TrimPrefix(text, "\ufeff")
	if strings.HasPrefix(text, "---\n") {
		rest := text[4:]
		end := -1
		if strings.HasPrefix(rest, "---\n") || rest == "---" {
			end = 0
		} else if i := strings.Index(rest, "\n---\n"); i >= 0 {
			end = i + 1
		} else if strings.HasSuffix(rest, "\n---") {
			end = len(rest) - 3
		}
		if end < 0 {
			return nil, fmt.Errorf("article %s: front matter starts with --- but is never closed", id)
		}
		var fm frontMatter
		if err := yaml.Unmarshal([]byte(rest[:end]), &fm); err != nil {
			return nil, fmt.Errorf("article %s: front matter: %w", id, err)
		}
		a.Title = strings.TrimSpace(fm.Title)
		a.Tags, a.Alerts, a.Services = fm.Tags, fm.Alerts, fm.Services
		text = rest[end:]
		text = strings.TrimPrefix(strings.TrimPrefix(text, "---"), "\n")
	}
	var body strings.Builder
	firstH1 := ""
	inFence := false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			inFence = !inFence
			continue
		}
		if !inFence && strings.HasPrefix(trimmed, "#") {
			level := len(trimmed) - len(strings.TrimLeft(trimmed, "#"))
			if level <= 6 && (len(trimmed) == level || trimmed[level] == ' ') {
				h := strings.TrimSpace(strings.TrimRight(trimmed[level:], "#"))
				if h != "" {
					a.Headings = append(a.Headings, h)
					if level == 1 && firstH1 == "" {
						firstH1 = h
					}
				}
				continue
			}
		}
		body.WriteString(linkTarget.ReplaceAllString(line, "]"))
		body.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("article %s: %w", id, err)
	}
	a.Body = strings.TrimSpace(body.String())
	if a.Title == "" {
		a.Title = firstH1
	}
	if a.Title == "" {
		a.Title = path.Base(id)
	}
	return a, nil
}

// empty reports whether the article has nothing to read (only front
// matter), as Hugo section indexes often do.
func (a *Article) empty() bool { return a.Body == "" && len(a.Headings) == 0 }

// SplitCamel splits an identifier such as "KubePodCrashLooping" or
// "etcdGRPCRequestsSlow" into its words: [Kube Pod Crash Looping],
// [etcd GRPC Requests Slow]. Underscores, dashes, dots and other
// punctuation separate words too; a run of capitals is one word
// ("KubeAPIDown" -> [Kube API Down]).
func SplitCamel(s string) []string {
	var words []string
	rs := []rune(s)
	start := -1
	flush := func(end int) {
		if start >= 0 && end > start {
			words = append(words, string(rs[start:end]))
		}
		start = -1
	}
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
			continue
		}
		p := rs[i-1]
		switch {
		case unicode.IsLower(p) && unicode.IsUpper(r):
			flush(i)
			start = i
		case unicode.IsUpper(p) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			// "APIError": the last capital starts the next word.
			flush(i)
			start = i
		case unicode.IsLower(p) && unicode.IsDigit(r):
			// "http5xx" -> http 5xx
			flush(i)
			start = i
		case unicode.IsDigit(p) && unicode.IsUpper(r) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			// "Http2Errors" -> Http 2 Errors; "E2E" stays whole.
			flush(i)
			start = i
		}
	}
	flush(len(rs))
	return words
}

// ExpandCamel returns text with every compound word (camel case or joined
// with _ - .) followed by its parts, so "KubePodCrashLooping fired" becomes
// "KubePodCrashLooping Kube Pod Crash Looping fired". The original word is
// kept so an exact mention still matches.
func ExpandCamel(text string) string {
	var b strings.Builder
	fields := strings.FieldsFunc(text, unicode.IsSpace)
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f)
		parts := SplitCamel(f)
		if len(parts) > 1 {
			for _, p := range parts {
				b.WriteByte(' ')
				b.WriteString(p)
			}
		}
	}
	return b.String()
}
