package main

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode"

	"github.com/sift-aiops/sift/knowledge"
	"github.com/sift-aiops/sift/model"
)

// Halves of the awesome pairs for the name-hidden evaluation. A pair's
// half is fixed by the FNV-1a 32-bit hash of its runbook alert name (even:
// development, odd: held out), so it does not depend on the scores, on the
// order of the table or on anything else in this program.
const (
	halfDev  = "A (development)"
	halfHeld = "B (held out)"
)

func halfOf(alert string) string {
	h := fnv.New32a()
	h.Write([]byte(alert))
	if h.Sum32()%2 == 0 {
		return halfDev
	}
	return halfHeld
}

// alertName turns an awesome rule name into the alertname its generated
// rule carries: the words title-cased and joined ("Kubernetes pod crash
// looping" -> "KubernetesPodCrashLooping").
func alertName(rule string) string {
	var b strings.Builder
	for _, w := range strings.FieldsFunc(rule, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		rs := []rune(w)
		rs[0] = unicode.ToUpper(rs[0])
		b.WriteString(string(rs))
	}
	return b.String()
}

// hiddenQuery is one name-hidden query kind.
type hiddenQuery struct {
	name string
	text func(p pair) string
}

var hiddenQueries = []hiddenQuery{
	{"description only", func(p pair) string { return p.Description }},
	{"awesome name + description", func(p pair) string { return p.OtherName + " " + p.Description }},
}

// hiddenMethod ranks articles for a pair; the query text is given.
type hiddenMethod struct {
	name  string
	match bool // Match(): only for queries with the awesome name (as alertname)
	rank  func(p pair, q string, limit int) ([]string, error)
}

type score struct {
	n, hit1, hit3 int
	rr            float64
	misses        []string
}

func (s *score) add(p pair, q string, ids []string) {
	rank := 0
	for i, id := range ids {
		if id == p.Want {
			rank = i + 1
			break
		}
	}
	s.n++
	if rank == 1 {
		s.hit1++
	}
	if rank >= 1 && rank <= 3 {
		s.hit3++
	}
	if rank > 0 {
		s.rr += 1 / float64(rank)
	}
	if rank != 1 {
		top := "-"
		if len(ids) > 0 {
			top = ids[0]
		}
		s.misses = append(s.misses, fmt.Sprintf("%s rank=%d top=%s q=%q", p.Want, rank, top, q))
	}
}

func (s *score) cell() string {
	if s.n == 0 {
		return "- | - | -"
	}
	n := float64(s.n)
	return fmt.Sprintf("%.3f (%d/%d) | %.3f (%d/%d) | %.3f", float64(s.hit1)/n, s.hit1, s.n, float64(s.hit3)/n, s.hit3, s.n, s.rr/n)
}

func siftMethods(kb *knowledge.Base) []hiddenMethod {
	ids := func(res []knowledge.Result) []string {
		out := make([]string, len(res))
		for i, r := range res {
			out[i] = r.ID
		}
		return out
	}
	return []hiddenMethod{
		{name: "Sift Search", rank: func(p pair, q string, limit int) ([]string, error) {
			res, err := kb.Search(q, limit)
			return ids(res), err
		}},
		{name: "Sift Match", match: true, rank: func(p pair, q string, limit int) ([]string, error) {
			name := alertName(p.OtherName)
			a := model.AlertState{Alert: model.Alert{
				Labels:      model.LabelSet{"alertname": name, "severity": "warning"},
				Annotations: model.LabelSet{"description": p.Description},
			}}
			res, err := kb.Match(&model.Incident{ID: "eval", Title: name}, []model.AlertState{a}, limit)
			return ids(res), err
		}},
	}
}

// evalSet is one set of name-hidden queries: its pairs, its query kinds
// and whether Match is run (on the second kind, which carries the awesome
// rule's name).
type evalSet struct {
	name  string
	pairs []pair
	kinds []hiddenQuery
	match bool
}

// hiddenReport runs every method on every query kind of every set and
// returns the Markdown tables and the misses.
func hiddenReport(sets []evalSet, methods []hiddenMethod) (string, string, error) {
	const limit = 10
	var tables, misses strings.Builder
	for _, set := range sets {
		hp := set.pairs
		fmt.Fprintf(&tables, "\n%s: %d awesome pairs\n\n", set.name, len(hp))
		tables.WriteString("| method | queries | hit@1 | hit@3 | MRR@10 |\n|---|---|---|---|---|\n")
		for _, m := range methods {
			if m.match && !set.match {
				continue
			}
			var pooled score
			kinds := set.kinds
			if m.match {
				kinds = kinds[1:]
			}
			for _, k := range kinds {
				var s score
				for _, p := range hp {
					q := k.text(p)
					ids, err := m.rank(p, q, limit)
					if err != nil {
						return "", "", fmt.Errorf("%s %q: %w", m.name, q, err)
					}
					s.add(p, q, ids)
					pooled.add(p, q, ids)
				}
				label := k.name
				if m.match {
					label = "alert named after the awesome rule + description annotation"
				}
				fmt.Fprintf(&tables, "| %s | %s | %s |\n", m.name, label, s.cell())
				if len(s.misses) > 0 {
					fmt.Fprintf(&misses, "\nNot first, %s, %s, %s (%d):\n\n", set.name, m.name, label, len(s.misses))
					for _, x := range s.misses {
						fmt.Fprintf(&misses, "- %s\n", x)
					}
				}
			}
			if !m.match {
				fmt.Fprintf(&tables, "| %s | both kinds pooled | %s |\n", m.name, pooled.cell())
			}
		}
	}
	return tables.String(), misses.String(), nil
}
