package classify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"

	"github.com/sift-aiops/sift/model"
)

// PastIncident is one incident of the history the kNN vote learns from:
// what Learn stores for a resolved or corrected incident and what Import
// reads from a ticket export.
type PastIncident struct {
	ID          string            `json:"id"`
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"` // alert summaries, ticket text
	Service     string            `json:"service,omitempty"`
	AlertNames  []string          `json:"alertnames,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Team        string            `json:"team,omitempty"`
	Category    string            `json:"category,omitempty"`
	Resolution  string            `json:"resolution,omitempty"`
	OpenedAt    time.Time         `json:"opened_at,omitempty"`
}

// Neighbor is a similar past incident.
type Neighbor struct {
	ID         string  `json:"id"`
	Title      string  `json:"title"`
	Score      float64 `json:"score"`
	Team       string  `json:"team,omitempty"`
	Category   string  `json:"category,omitempty"`
	Resolution string  `json:"resolution,omitempty"`
}

// mappingVersion changes whenever the document mapping changes; an
// on-disk index with another version is refused (it holds history that
// cannot be rebuilt from elsewhere).
const mappingVersion = "sift-classify-1"

var keyVersion = []byte("sift.classify.mapping")

// Query-time field boosts: alert names say most about what broke; labels
// say where; the free text (title, summaries, resolution notes) is weaker.
const (
	boostAlerts = 2.0
	boostLabels = 1.0
	boostText   = 1.0
)

// Query pruning bounds the work of one search: query terms are taken
// rarest first (by document frequency), and terms are added while the
// total postings scanned stay within the budget (the rarest minTerms are
// always kept). Very common terms (env=prod, "node") have a low BM25 weight
// anyway; on a large index they are what makes a query slow.
const (
	defaultPostingsBudget = 12000
	minTerms              = 4
)

type idxDoc struct {
	Display    string   `json:"display"`
	Alerts     string   `json:"alerts"`
	Text       string   `json:"text"`
	Resolution string   `json:"resolution"`
	Labels     []string `json:"labels"`
	Team       string   `json:"team"`
	Category   string   `json:"category"`
	Opened     string   `json:"opened"`
}

func newMapping() mapping.IndexMapping {
	text := func(store bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = en.AnalyzerName
		f.Store = store
		f.IncludeTermVectors = false
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	kw := func(store bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = store
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}
	stored := bleve.NewTextFieldMapping()
	stored.Index = false
	stored.Store = true
	stored.IncludeInAll = false
	stored.IncludeTermVectors = false
	stored.DocValues = false

	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt("display", stored)
	dm.AddFieldMappingsAt("opened", stored)
	dm.AddFieldMappingsAt("resolution", stored)
	dm.AddFieldMappingsAt("alerts", text(false))
	dm.AddFieldMappingsAt("text", text(false))
	dm.AddFieldMappingsAt("labels", kw(false))
	dm.AddFieldMappingsAt("team", kw(true))
	dm.AddFieldMappingsAt("category", kw(true))

	im := bleve.NewIndexMapping()
	im.DefaultMapping = dm
	im.DefaultAnalyzer = en.AnalyzerName
	im.ScoringModel = index.BM25Scoring
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im
}

// camel returns s followed by its CamelCase-split words, so that
// "KubePodCrashLooping" is found by "crash" as well as by its full name.
func camel(s string) string {
	w := model.Words(s)
	if len(w) == 0 {
		return s
	}
	return s + " " + strings.Join(w, " ")
}

// toDoc builds the bleve document; extra are additional name=value pairs.
func (c *Config) toDoc(p *PastIncident, extra []string) idxDoc {
	var names []string
	for _, a := range p.AlertNames {
		names = append(names, camel(a))
	}
	ignore := set(c.KNN.IgnoreLabels)
	var labels []string
	for _, k := range sortedKeys(p.Labels) {
		if v := p.Labels[k]; v != "" && !ignore[k] {
			labels = append(labels, strings.ToLower(k+"="+v))
		}
	}
	labels = append(labels, extra...)
	if p.Service != "" {
		labels = append(labels, strings.ToLower(c.ServiceLabel+"="+p.Service))
	}
	d := idxDoc{
		Display:    p.Title,
		Alerts:     strings.Join(names, " "),
		Text:       camel(p.Title) + "\n" + camel(p.Description+" "+p.Service) + "\n" + p.Resolution,
		Resolution: p.Resolution,
		Labels:     labels,
		Team:       p.Team,
		Category:   p.Category,
	}
	if !p.OpenedAt.IsZero() {
		d.Opened = p.OpenedAt.UTC().Format(time.RFC3339)
	}
	return d
}

// openIndex opens the on-disk index at path (creating it if missing).
// With an empty path it creates a throw-away index in a new temporary
// directory (tmp, removed by Close): bleve's in-memory scorch never merges
// its segments, so an index fed one incident at a time by Learn would get
// slower with every incident.
func openIndex(path string) (idx bleve.Index, tmp string, err error) {
	if path == "" {
		tmp, err = os.MkdirTemp("", "sift-classify-")
		if err != nil {
			return nil, "", fmt.Errorf("classify: temporary index: %w", err)
		}
		idx, err = bleve.NewUsing(filepath.Join(tmp, "index"), newMapping(), scorch.Name, scorch.Name, nil)
		if err != nil {
			os.RemoveAll(tmp)
			return nil, "", fmt.Errorf("classify: temporary index: %w", err)
		}
		return idx, tmp, nil
	}
	idx, err = openPath(path)
	return idx, "", err
}

func openPath(path string) (bleve.Index, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		idx, err := bleve.New(path, newMapping())
		if err != nil {
			return nil, fmt.Errorf("classify.knn.index_path: create %s: %w", path, err)
		}
		if err := idx.SetInternal(keyVersion, []byte(mappingVersion)); err != nil {
			idx.Close()
			return nil, err
		}
		return idx, nil
	}
	idx, err := bleve.Open(path)
	if err != nil {
		return nil, fmt.Errorf("classify.knn.index_path: open %s: %w", path, err)
	}
	v, err := idx.GetInternal(keyVersion)
	if err != nil || string(v) != mappingVersion {
		idx.Close()
		return nil, fmt.Errorf("classify.knn.index_path: %s was built by another version (%q, want %q); move it away and re-import", path, v, mappingVersion)
	}
	return idx, nil
}

// queryText is what a new incident is searched by.
type queryText struct {
	title, alerts, text string
	labels              []string
}

type qterm struct {
	field string
	term  string
	boost float64
	df    uint64
}

// buildQuery analyses q into (field, term) pairs, prunes them to the
// postings budget, rarest first, and returns their disjunction. pruned
// counts the terms left out.
func (c *Classifier) buildQuery(q queryText) (qry query.Query, pruned int, err error) {
	seen := map[[2]string]bool{}
	var terms []qterm
	add := func(field, term string, boost float64) {
		k := [2]string{field, term}
		if term == "" || seen[k] {
			return
		}
		seen[k] = true
		terms = append(terms, qterm{field: field, term: term, boost: boost})
	}
	analyze := func(field, text string, boost float64) {
		if strings.TrimSpace(text) == "" {
			return
		}
		for _, tok := range c.analyzer.Analyze([]byte(text)) {
			add(field, string(tok.Term), boost)
		}
	}
	analyze("alerts", q.alerts, boostAlerts)
	analyze("text", q.title+"\n"+q.alerts+"\n"+q.text, boostText)
	for _, l := range q.labels {
		add("labels", l, boostLabels)
	}
	if len(terms) == 0 {
		return bleve.NewMatchNoneQuery(), 0, nil
	}
	adv, err := c.idx.Advanced()
	if err != nil {
		return nil, 0, err
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, 0, err
	}
	for i := range terms {
		tfr, err := r.TermFieldReader(context.Background(), []byte(terms[i].term), terms[i].field, false, false, false)
		if err != nil {
			r.Close()
			return nil, 0, err
		}
		terms[i].df = tfr.Count()
		tfr.Close()
	}
	r.Close()
	sort.SliceStable(terms, func(i, j int) bool { return terms[i].df < terms[j].df })
	var should []query.Query
	var budget uint64
	for i, t := range terms {
		if t.df == 0 {
			continue // matches nothing
		}
		if i >= minTerms && budget+t.df > uint64(c.cfg.KNN.PostingsBudget) {
			pruned++
			continue
		}
		budget += t.df
		tq := bleve.NewTermQuery(t.term)
		tq.SetField(t.field)
		tq.SetBoost(t.boost)
		should = append(should, tq)
	}
	if len(should) == 0 {
		return bleve.NewMatchNoneQuery(), pruned, nil
	}
	return bleve.NewDisjunctionQuery(should...), pruned, nil
}

// vote is the outcome of a weighted kNN vote on one field.
type vote struct {
	Winner     string
	Confidence float64
	IDs        []string // neighbours that voted for the winner
}

func tally(ns []Neighbor, field func(Neighbor) string) vote {
	w := map[string]float64{}
	total := 0.0
	for _, n := range ns {
		v := field(n)
		if v == "" {
			continue
		}
		w[v] += n.Score
		total += n.Score
	}
	if total <= 0 {
		return vote{}
	}
	keys := sortedKeys(w)
	sort.SliceStable(keys, func(i, j int) bool { return w[keys[i]] > w[keys[j]] })
	v := vote{Winner: keys[0], Confidence: w[keys[0]] / total}
	for _, n := range ns {
		if field(n) == v.Winner {
			v.IDs = append(v.IDs, n.ID)
		}
	}
	return v
}
