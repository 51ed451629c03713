package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/standard"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/sift-aiops/sift/knowledge"
)

// ranker returns article ids, best first.
type ranker func(q string, limit int) ([]string, error)

// baselineDoc is the text of an article for the plain baselines: its
// title followed by the Markdown text after the front matter (headings
// included, as written), without Sift's camel-case expansion, name field,
// exact-name field or boosts.
type baselineDoc struct {
	ID   string
	Text string `json:"text"`
}

func readBaselineDocs(dir string) ([]baselineDoc, error) {
	var docs []baselineDoc
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".md") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		a, err := knowledge.ParseArticle(knowledge.ArticleID(rel), data)
		if err != nil {
			return err
		}
		if a.Body == "" && len(a.Headings) == 0 {
			return nil // section index with front matter only, as Sift skips it
		}
		docs = append(docs, baselineDoc{ID: a.ID, Text: a.Title + "\n" + strings.Join(a.Headings, "\n") + "\n" + a.Body})
		return nil
	})
	return docs, err
}

// newBleveBaseline indexes docs in one bleve text field with the standard
// analyzer (Unicode word boundaries, lower case, English stop words; no
// stemming) and bleve's BM25 scoring; the query is one match query (OR of
// its terms) on that field, no boosts.
func newBleveBaseline(docs []baselineDoc) (ranker, func(), error) {
	im := bleve.NewIndexMapping()
	im.DefaultAnalyzer = standard.Name
	im.ScoringModel = index.BM25Scoring
	dm := bleve.NewDocumentStaticMapping()
	f := bleve.NewTextFieldMapping()
	f.Analyzer = standard.Name
	f.Store = false
	dm.AddFieldMappingsAt("text", f)
	im.DefaultMapping = dm
	idx, err := bleve.NewMemOnly(im)
	if err != nil {
		return nil, nil, err
	}
	b := idx.NewBatch()
	for _, d := range docs {
		if err := b.Index(d.ID, d); err != nil {
			idx.Close()
			return nil, nil, err
		}
	}
	if err := idx.Batch(b); err != nil {
		idx.Close()
		return nil, nil, err
	}
	rank := func(q string, limit int) ([]string, error) {
		m := bleve.NewMatchQuery(q)
		m.SetField("text")
		res, err := idx.Search(bleve.NewSearchRequestOptions(m, limit, 0, false))
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(res.Hits))
		for i, h := range res.Hits {
			ids[i] = h.ID
		}
		return ids, nil
	}
	return rank, func() { idx.Close() }, nil
}

// okapi is a hand-written Okapi BM25 (k1 = 1.2, b = 0.75, idf =
// ln(1 + (N - n + 0.5) / (n + 0.5)), raw term frequency, every query term
// counted once per occurrence in the query) over the same text and the
// same standard analyzer as the bleve baseline. bleve's own "BM25" differs
// from the textbook formula (square root of the term frequency, idf
// squared through the query weight, a coordination factor), so both are
// reported.
type okapi struct {
	an    analysis.Analyzer
	split bool // split identifiers (camelCase, snake_case, digits) first
	ids   []string
	tf    []map[string]int
	dl    []float64
	avgdl float64
	df    map[string]int
}

// With split, text and queries are first cut into identifier parts
// (knowledge.SplitCamel: camelCase, snake_case, letters and digits), so
// that "kube_pod_container_status_restarts_total" or
// "KubePodCrashLooping" become words; a plain BM25 with the tokenisation
// Sift uses, as a fairer baseline for rule expressions (set C).
func newOkapi(docs []baselineDoc, split bool) (*okapi, error) {
	an := bleve.NewIndexMapping().AnalyzerNamed(standard.Name)
	if an == nil {
		return nil, fmt.Errorf("standard analyzer not registered")
	}
	o := &okapi{an: an, split: split, df: map[string]int{}}
	total := 0.0
	for _, d := range docs {
		tf := map[string]int{}
		n := 0
		for _, t := range o.terms(d.Text) {
			tf[t]++
			n++
		}
		for t := range tf {
			o.df[t]++
		}
		o.ids = append(o.ids, d.ID)
		o.tf = append(o.tf, tf)
		o.dl = append(o.dl, float64(n))
		total += float64(n)
	}
	if len(docs) > 0 {
		o.avgdl = total / float64(len(docs))
	}
	return o, nil
}

func (o *okapi) terms(s string) []string {
	if o.split {
		s = strings.Join(knowledge.SplitCamel(s), " ")
	}
	var out []string
	for _, tok := range o.an.Analyze([]byte(s)) {
		out = append(out, string(tok.Term))
	}
	return out
}

func (o *okapi) rank(q string, limit int) ([]string, error) {
	const k1, b = 1.2, 0.75
	n := float64(len(o.ids))
	type scored struct {
		i int
		s float64
	}
	var hits []scored
	qt := o.terms(q)
	for i := range o.ids {
		s := 0.0
		for _, t := range qt {
			f := float64(o.tf[i][t])
			if f == 0 {
				continue
			}
			df := float64(o.df[t])
			idf := math.Log(1 + (n-df+0.5)/(df+0.5))
			s += idf * f * (k1 + 1) / (f + k1*(1-b+b*o.dl[i]/o.avgdl))
		}
		if s > 0 {
			hits = append(hits, scored{i, s})
		}
	}
	sort.Slice(hits, func(a, c int) bool {
		if hits[a].s != hits[c].s {
			return hits[a].s > hits[c].s
		}
		return o.ids[hits[a].i] < o.ids[hits[c].i]
	})
	if len(hits) > limit {
		hits = hits[:limit]
	}
	out := make([]string, len(hits))
	for k, h := range hits {
		out[k] = o.ids[h.i]
	}
	return out, nil
}
