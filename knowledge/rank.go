package knowledge

import (
	"math"
	"sort"
	"strings"

	"github.com/blevesearch/bleve/v2/analysis"
)

// Ranking is BM25F (Robertson, Zaragoza and Taylor, "Simple BM25
// extension to multiple weighted fields", 2004), computed in memory from
// the analysed articles rather than by bleve. bleve 2.6's "bm25" scoring
// is not the textbook formula: it takes the square root of the term
// frequency, multiplies the score again by the boosted idf (idf squared),
// multiplies each disjunction by the share of its clauses that matched,
// and its "average field length" is the number of distinct terms in the
// field's dictionary divided by the number of documents, which for a body
// field of a few hundred words is several times too small, so every long
// article is heavily penalised. Summing one such score per field also
// counts a word that appears in the title, the name and the body three
// times. BM25F instead adds a term's length-normalised, weighted
// frequencies over the fields first and saturates the sum once, so a word
// says as much as its idf allows wherever it appears, and the field
// weights decide only how strongly the frequency saturates.
//
// bleve still stores the index (and keeps it on disk with index_path);
// the statistics below are rebuilt from the files when a Base opens.
//
// k1 is larger than the usual 1.2 because the summed frequency is
// weighted: one occurrence of a word in the title, the name and the
// headings gives 7.5, and with k1 = 1.2 it would be saturated at once,
// leaving a word of the article's name barely above a single mention in
// its body. b is the usual 0.75. k1 was chosen among 1.2, 2, 5 and 10 on
// the development half of benchmarks/kbeval only (5 and 10 score alike).
const (
	bm25K1 = 5.0
	bm25B  = 0.75
)

// field indexes of docStats.tf, with their weights.
const (
	fTitle = iota
	fName
	fHeadings
	fBody
	nFields
)

var fieldWeight = [nFields]float64{
	fTitle:    boostTitle,
	fName:     boostName,
	fHeadings: boostHeadings,
	fBody:     boostBody,
}

// docStats is what the ranker keeps of one article.
type docStats struct {
	display string
	tf      map[string]*[nFields]float64
	length  [nFields]float64
	alerts  []string // exact names (lower case)
}

// rankStats holds the statistics of every indexed article. It is guarded by
// Base.mu.
type rankStats struct {
	docs     map[string]*docStats
	postings map[string]map[string]struct{} // term -> ids of the articles containing it
	alerts   map[string]map[string]struct{} // exact alert name -> ids
	sumLen   [nFields]float64
}

func newRankStats() *rankStats {
	return &rankStats{
		docs:     map[string]*docStats{},
		postings: map[string]map[string]struct{}{},
		alerts:   map[string]map[string]struct{}{},
	}
}

// analyse builds the statistics of d with the index's analyzer.
func analyse(an analysis.Analyzer, d doc) *docStats {
	s := &docStats{display: d.Display, tf: map[string]*[nFields]float64{}}
	for f, text := range [nFields]string{fTitle: d.Title, fName: d.Name, fHeadings: d.Headings, fBody: d.Body} {
		for _, tok := range an.Analyze([]byte(text)) {
			t := string(tok.Term)
			v := s.tf[t]
			if v == nil {
				v = &[nFields]float64{}
				s.tf[t] = v
			}
			v[f]++
			s.length[f]++
		}
	}
	s.alerts = append(s.alerts, d.Alert...)
	return s
}

func (c *rankStats) remove(id string) {
	s, ok := c.docs[id]
	if !ok {
		return
	}
	for t := range s.tf {
		if p := c.postings[t]; p != nil {
			delete(p, id)
			if len(p) == 0 {
				delete(c.postings, t)
			}
		}
	}
	for _, a := range s.alerts {
		if p := c.alerts[a]; p != nil {
			delete(p, id)
			if len(p) == 0 {
				delete(c.alerts, a)
			}
		}
	}
	for f := range c.sumLen {
		c.sumLen[f] -= s.length[f]
	}
	delete(c.docs, id)
}

func (c *rankStats) add(id string, s *docStats) {
	c.remove(id)
	c.docs[id] = s
	for t := range s.tf {
		p := c.postings[t]
		if p == nil {
			p = map[string]struct{}{}
			c.postings[t] = p
		}
		p[id] = struct{}{}
	}
	for _, a := range s.alerts {
		p := c.alerts[a]
		if p == nil {
			p = map[string]struct{}{}
			c.alerts[a] = p
		}
		p[id] = struct{}{}
	}
	for f := range c.sumLen {
		c.sumLen[f] += s.length[f]
	}
}

// idf is the BM25 inverse document frequency (never negative).
func idf(n, df float64) float64 { return math.Log(1 + (n-df+0.5)/(df+0.5)) }

type ranked struct {
	id      string
	score   float64
	terms   []string // matched query terms
	exactly []string // matched exact names
}

// rank scores the articles for the query terms (term -> weight of the
// query parts it occurs in) and exact names, best first.
func (c *rankStats) rank(terms map[string]float64, exact []string, limit int) []ranked {
	n := float64(len(c.docs))
	if n == 0 {
		return nil
	}
	var avg [nFields]float64
	for f := range avg {
		avg[f] = c.sumLen[f] / n
	}
	byID := map[string]*ranked{}
	get := func(id string) *ranked {
		r := byID[id]
		if r == nil {
			r = &ranked{id: id}
			byID[id] = r
		}
		return r
	}
	for t, w := range terms {
		p := c.postings[t]
		if len(p) == 0 {
			continue
		}
		weight := w * idf(n, float64(len(p)))
		for id := range p {
			s := c.docs[id]
			v := s.tf[t]
			tf := 0.0
			for f := 0; f < nFields; f++ {
				if v[f] == 0 || avg[f] == 0 {
					continue
				}
				tf += fieldWeight[f] * v[f] / (1 - bm25B + bm25B*s.length[f]/avg[f])
			}
			r := get(id)
			r.score += weight * tf * (bm25K1 + 1) / (bm25K1 + tf)
			r.terms = append(r.terms, t)
		}
	}
	// An exact alert name weighs as much as boostAlert words found in
	// only one article, which makes it decide alone against text.
	exactWeight := boostAlert * idf(n, 1) * (bm25K1 + 1)
	for _, w := range exact {
		for id := range c.alerts[w] {
			r := get(id)
			r.score += exactWeight
			r.exactly = append(r.exactly, w)
		}
	}
	out := make([]ranked, 0, len(byID))
	for _, r := range byID {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].id < out[j].id
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// queryTerms analyses the text of each query part and returns every
// distinct term with the summed weight of the parts it occurs in (a word
// repeated within one part counts once, so a long description that
// repeats a component's name does not outweigh the rest of it).
func queryTerms(an analysis.Analyzer, parts []queryPart) (map[string]float64, []string) {
	terms := map[string]float64{}
	var texts []string
	for _, p := range parts {
		t := strings.TrimSpace(ExpandCamel(p.text))
		if t == "" {
			continue
		}
		texts = append(texts, t)
		seen := map[string]bool{}
		for _, tok := range an.Analyze([]byte(t)) {
			term := string(tok.Term)
			if !seen[term] {
				seen[term] = true
				terms[term] += p.weight
			}
		}
	}
	return terms, texts
}
