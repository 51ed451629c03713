package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Set C, the rule-expression held-out set (issue #12, second round).
//
// Halves A and B query with the awesome rules' descriptions and names.
// Half B had been run twice by the end of the first round, so it is no
// longer a clean held-out set. Set C uses text of the same real rules that
// no earlier query used: the PromQL expression of each paired awesome rule
// (its `query` field), taken verbatim (metric names, label matchers,
// operators and thresholds included), as an engineer pastes it from the
// alert's generator URL or a rule file. The awesome rules have no
// `summary` annotation in the file (the published rules generate it from
// the rule name, which halves A and B already use), so the expression is
// the real rule text left unused.
//
// The pairing is the frozen awesomePairs table (every pair, both halves):
// runbook alert -> awesome rule -> that rule's query. No pair is added,
// removed or chosen here, and no query text is edited; a rule whose query
// is empty would be skipped (none is). Two query kinds: the expression
// alone, and the awesome rule's name followed by the expression (an alert
// from another rule set, with its rule). Only Search is measured: an
// alert carries no expression annotation for Match to read.
//
// Set C was built and its digest (exprSetDigest over the sorted
// "runbook<TAB>expression" lines) recorded before the ranking changes of
// this round (knowledge/rank.go, abbrev.go); it was run once before them
// and once with them on. They are off by default, so a default run
// reproduces the "before" figures.
const exprSetDigest = "76d876cf8316"

var exprQueries = []hiddenQuery{
	{"rule expression only", func(p pair) string { return p.Expr }},
	{"awesome name + rule expression", func(p pair) string { return p.OtherName + " " + p.Expr }},
}

// ruleExprs reads the query of every awesome rule (first rule of a name
// wins, as for descriptions).
func ruleExprs(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Groups []struct {
			Services []struct {
				Exporters []struct {
					Rules []struct {
						Name  string `yaml:"name"`
						Query string `yaml:"query"`
					} `yaml:"rules"`
				} `yaml:"exporters"`
			} `yaml:"services"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]string{}
	for _, g := range f.Groups {
		for _, s := range g.Services {
			for _, e := range s.Exporters {
				for _, r := range e.Rules {
					if _, dup := out[r.Name]; !dup {
						out[r.Name] = strings.TrimSpace(r.Query)
					}
				}
			}
		}
	}
	return out, nil
}

// exprSet returns the awesome pairs that have an expression, and the
// SHA-256 (first 12 hex digits) of their sorted "runbook<TAB>expression"
// lines, printed with the results so that a later change of the set shows.
func exprSet(pairs []pair) ([]pair, string) {
	var out []pair
	var lines []string
	for _, p := range pairs {
		if p.Source != "awesome" || p.Expr == "" {
			continue
		}
		out = append(out, p)
		lines = append(lines, p.Want+"\t"+p.Expr)
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return out, fmt.Sprintf("%x", sum[:6])
}
