package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
	index "github.com/blevesearch/bleve_index_api"
)

// Field weights of the BM25F ranking (rank.go). The title and the article's name
// (file name split on camel case, plus front matter alerts, tags and
// services) say what the article is about; headings say what it covers;
// the body is the weakest signal. An exact alert name equal to an
// article's file name or front matter alert is the strongest signal of all.
const (
	boostTitle    = 3.0
	boostName     = 3.0
	boostHeadings = 1.5
	boostBody     = 1.0
	boostAlert    = 6.0
)

// mappingVersion changes whenever the document mapping or the way
// documents are built changes; an on-disk index with another version is
// rebuilt.
const mappingVersion = "sift-knowledge-1"

var (
	keyVersion = []byte("sift.mapping")
	keyFiles   = []byte("sift.files")
)

// Result is one article found by Search or Match.
type Result struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Score   float64  `json:"score"`
	Matched []string `json:"matched"` // query words found in the article
}

// fileStat is what the poller compares to notice a change.
type fileStat struct {
	ModTime int64 `json:"m"` // UnixNano
	Size    int64 `json:"s"`
}

// Base is an indexed directory of articles. It is safe for concurrent use.
type Base struct {
	// OnError, if set before Watch is called, is told about files that
	// could not be read or parsed and about failed scans.
	OnError func(error)

	cfg      Config
	tmpDir   string // temporary index directory (no index_path), removed by Close
	idx      bleve.Index
	analyzer analysis.Analyzer

	syncMu sync.Mutex // one Sync at a time
	mu     sync.RWMutex
	files  map[string]fileStat // relative path -> stat at last index
	stats  *rankStats          // what the ranker reads (rank.go)
	closed bool
}

// doc is what goes into bleve.
type doc struct {
	Display  string   `json:"display"` // title as written, stored for results
	Title    string   `json:"title"`
	Name     string   `json:"name"`
	Headings string   `json:"headings"`
	Body     string   `json:"body"`
	Alert    []string `json:"alert"`
}

func newMapping() mapping.IndexMapping {
	text := func(store bool) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = en.AnalyzerName
		f.Store = store
		f.IncludeTermVectors = true // for matched terms
		f.IncludeInAll = false
		f.DocValues = false
		return f
	}
	kw := bleve.NewKeywordFieldMapping()
	kw.Analyzer = keyword.Name
	kw.Store = false
	kw.IncludeInAll = false
	kw.IncludeTermVectors = true
	kw.DocValues = false

	dm := bleve.NewDocumentStaticMapping()
	disp := bleve.NewTextFieldMapping()
	disp.Index = false
	disp.Store = true
	disp.IncludeInAll = false
	disp.IncludeTermVectors = false
	disp.DocValues = false
	dm.AddFieldMappingsAt("display", disp)
	dm.AddFieldMappingsAt("title", text(false))
	dm.AddFieldMappingsAt("name", text(false))
	dm.AddFieldMappingsAt("headings", text(false))
	dm.AddFieldMappingsAt("body", text(false))
	dm.AddFieldMappingsAt("alert", kw)

	im := bleve.NewIndexMapping()
	im.DefaultMapping = dm
	im.DefaultAnalyzer = en.AnalyzerName
	im.ScoringModel = index.BM25Scoring
	im.StoreDynamic = false
	im.IndexDynamic = false
	return im
}

func toDoc(a *Article) doc {
	base := path.Base(a.ID)
	nameParts := []string{ExpandCamel(strings.ReplaceAll(a.ID, "/", " "))}
	alerts := []string{strings.ToLower(base)}
	for _, al := range a.Alerts {
		nameParts = append(nameParts, ExpandCamel(al))
		alerts = append(alerts, strings.ToLower(al))
	}
	for _, t := range a.Tags {
		nameParts = append(nameParts, ExpandCamel(t))
	}
	for _, s := range a.Services {
		nameParts = append(nameParts, ExpandCamel(s))
		alerts = append(alerts, strings.ToLower(s))
	}
	return doc{
		Display:  a.Title,
		Title:    ExpandCamel(a.Title),
		Name:     strings.Join(nameParts, " "),
		Headings: ExpandCamel(strings.Join(a.Headings, "\n")),
		Body:     ExpandCamel(a.Body),
		Alert:    alerts,
	}
}

// Open opens (or builds) the index for cfg.Dir and brings it up to date
// with the files there. An empty cfg.Dir gives an empty knowledge base.
func Open(cfg Config) (*Base, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Dir != "" {
		st, err := os.Stat(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("knowledge: dir: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("knowledge: dir %s is not a directory", cfg.Dir)
		}
	}
	b := &Base{cfg: cfg, files: map[string]fileStat{}, stats: newRankStats()}
	var err error
	if cfg.IndexPath == "" {
		// bleve's memory-only index is several times slower to query than
		// its on-disk (scorch) one: use a temporary directory instead,
		// removed by Close.
		tmp, terr := os.MkdirTemp("", "sift-knowledge-*")
		if terr != nil {
			return nil, fmt.Errorf("knowledge: temporary index: %w", terr)
		}
		b.tmpDir = tmp
		b.idx, err = bleve.New(filepath.Join(tmp, "index"), newMapping())
		if err != nil {
			os.RemoveAll(tmp)
		}
	} else {
		b.idx, err = openOnDisk(cfg.IndexPath, b.files)
	}
	if err != nil {
		return nil, err
	}
	b.analyzer = b.idx.Mapping().AnalyzerNamed(en.AnalyzerName)
	if b.analyzer == nil {
		b.idx.Close()
		return nil, errors.New("knowledge: english analyzer not registered")
	}
	if _, err := b.Sync(); err != nil {
		b.idx.Close()
		return nil, err
	}
	return b, nil
}

// openOnDisk opens the index at p if it was built with this mapping
// version (loading its file list into files), else builds a new one.
func openOnDisk(p string, files map[string]fileStat) (bleve.Index, error) {
	idx, err := bleve.Open(p)
	if err == nil {
		v, verr := idx.GetInternal(keyVersion)
		raw, ferr := idx.GetInternal(keyFiles)
		if verr == nil && ferr == nil && string(v) == mappingVersion {
			if len(raw) == 0 || json.Unmarshal(raw, &files) == nil {
				return idx, nil
			}
		}
		idx.Close()
		for k := range files {
			delete(files, k)
		}
	} else if !errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		// Unreadable or from another program: rebuild only if it looks
		// like an index directory, never delete anything else.
		if _, serr := os.Stat(filepath.Join(p, "index_meta.json")); serr != nil {
			return nil, fmt.Errorf("knowledge: open index %s: %w", p, err)
		}
	}
	if _, serr := os.Stat(p); serr == nil {
		if _, merr := os.Stat(filepath.Join(p, "index_meta.json")); merr != nil {
			return nil, fmt.Errorf("knowledge: index_path %s exists and is not a bleve index", p)
		}
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("knowledge: remove stale index %s: %w", p, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("knowledge: %w", err)
	}
	idx, err = bleve.New(p, newMapping())
	if err != nil {
		return nil, fmt.Errorf("knowledge: create index %s: %w", p, err)
	}
	if err := idx.SetInternal(keyVersion, []byte(mappingVersion)); err != nil {
		idx.Close()
		return nil, fmt.Errorf("knowledge: %w", err)
	}
	return idx, nil
}

// Changes counts what one Sync did.
type Changes struct {
	Added, Updated, Removed int
	// Errors lists files that could not be read or parsed; they are left
	// out of the index (and retried at the next Sync).
	Errors []error
}

// Sync scans the directory once and re-indexes added, changed and removed
// files (compared by modification time and size).
func (b *Base) Sync() (Changes, error) {
	var ch Changes
	if b.cfg.Dir == "" {
		return ch, nil
	}
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.mu.RLock()
	closed := b.closed
	old := make(map[string]fileStat, len(b.files))
	for k, v := range b.files {
		old[k] = v
	}
	b.mu.RUnlock()
	if closed {
		return ch, errors.New("knowledge: base closed")
	}

	seen := map[string]fileStat{}
	err := filepath.WalkDir(b.cfg.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == b.cfg.Dir {
				return err
			}
			ch.Errors = append(ch.Errors, err)
			return nil
		}
		if d.IsDir() {
			if p != b.cfg.Dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.EqualFold(filepath.Ext(p), ".md") || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			ch.Errors = append(ch.Errors, err)
			return nil
		}
		rel, err := filepath.Rel(b.cfg.Dir, p)
		if err != nil {
			return err
		}
		seen[rel] = fileStat{ModTime: info.ModTime().UnixNano(), Size: info.Size()}
		return nil
	})
	if err != nil {
		return ch, fmt.Errorf("knowledge: scan %s: %w", b.cfg.Dir, err)
	}

	batch := b.idx.NewBatch()
	next := make(map[string]fileStat, len(seen))
	added := map[string]*docStats{} // ranker statistics to add or replace
	var removed []string            // and to drop
	b.mu.RLock()
	ranked := make(map[string]bool, len(b.stats.docs))
	for id := range b.stats.docs {
		ranked[id] = true
	}
	b.mu.RUnlock()
	for rel, st := range seen {
		prev, had := old[rel]
		id := ArticleID(rel)
		// An unchanged file is skipped unless the ranker has not read it
		// yet (an on-disk index opened again): then it is read for the
		// ranker only.
		statsOnly := had && prev == st
		if statsOnly && ranked[id] {
			next[rel] = st
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.cfg.Dir, rel))
		var a *Article
		if err == nil {
			a, err = ParseArticle(id, data)
		}
		if err != nil {
			ch.Errors = append(ch.Errors, err)
			if had {
				batch.Delete(id) // keep nothing stale; retried next time
				removed = append(removed, id)
				ch.Removed++
			}
			continue
		}
		next[rel] = st
		if a.empty() {
			if had {
				batch.Delete(id)
				removed = append(removed, id)
			}
			continue
		}
		d := toDoc(a)
		added[id] = analyse(b.analyzer, d)
		if statsOnly {
			continue
		}
		if err := batch.Index(id, d); err != nil {
			return ch, fmt.Errorf("knowledge: index %s: %w", id, err)
		}
		if had {
			ch.Updated++
		} else {
			ch.Added++
		}
	}
	for rel := range old {
		if _, ok := seen[rel]; !ok {
			batch.Delete(ArticleID(rel))
			removed = append(removed, ArticleID(rel))
			ch.Removed++
		}
	}
	if batch.Size() > 0 {
		if err := b.idx.Batch(batch); err != nil {
			return ch, fmt.Errorf("knowledge: index batch: %w", err)
		}
	}
	if b.cfg.IndexPath != "" && (batch.Size() > 0 || len(next) != len(old)) {
		raw, _ := json.Marshal(next)
		if err := b.idx.SetInternal(keyFiles, raw); err != nil {
			return ch, fmt.Errorf("knowledge: save file list: %w", err)
		}
	}
	b.mu.Lock()
	b.files = next
	for _, id := range removed {
		b.stats.remove(id)
	}
	for id, st := range added {
		b.stats.add(id, st)
	}
	b.mu.Unlock()
	return ch, nil
}

// Watch polls the directory every PollInterval and re-indexes what
// changed, until ctx is done. Scan failures and unreadable files are
// passed to OnError (if set before Watch starts); Watch never stops on them.
func (b *Base) Watch(ctx context.Context) {
	onError := b.OnError
	if b.cfg.Dir == "" {
		return
	}
	t := time.NewTicker(b.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ch, err := b.Sync()
		if onError != nil {
			if err != nil {
				onError(err)
			}
			for _, e := range ch.Errors {
				onError(e)
			}
		}
	}
}

// Len returns how many articles are indexed.
func (b *Base) Len() int {
	n, err := b.idx.DocCount()
	if err != nil {
		return 0
	}
	return int(n)
}

// Close closes the index.
func (b *Base) Close() error {
	b.syncMu.Lock()
	defer b.syncMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	err := b.idx.Close()
	if b.tmpDir != "" {
		os.RemoveAll(b.tmpDir)
	}
	return err
}

// queryPart is a piece of a search: text matched against the text fields
// with a weight, and exact alert names.
type queryPart struct {
	text   string
	weight float64
}

// Search finds the articles best matching free text. Camel case words in
// the query are split ("KubePodCrashLooping" also searches kube pod crash
// looping) and a word equal to an article's alert name matches it exactly.
func (b *Base) Search(q string, limit int) ([]Result, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, errors.New("knowledge: empty query")
	}
	return b.search([]queryPart{{text: q, weight: 1}}, words(q), limit)
}

// words returns the identifier-like words of s (candidates for an exact
// alert name).
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '.' && r != ':'
	})
}

func (b *Base) search(parts []queryPart, exact []string, limit int) ([]Result, error) {
	if limit <= 0 {
		limit = 10
	}
	terms, texts := queryTerms(b.analyzer, parts)
	var names []string
	seen := map[string]bool{}
	for _, w := range exact {
		w = strings.ToLower(strings.Trim(w, ".:-_"))
		if w == "" || seen[w] {
			continue
		}
		seen[w] = true
		names = append(names, w)
	}
	if len(terms) == 0 && len(names) == 0 {
		return nil, errors.New("knowledge: query has no searchable words")
	}
	queryWords := b.queryWords(strings.Join(texts, " "))
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return nil, errors.New("knowledge: base closed")
	}
	hits := b.stats.rank(terms, names, limit)
	out := make([]Result, 0, len(hits))
	for _, h := range hits {
		out = append(out, Result{ID: h.id, Title: b.stats.docs[h.id].display, Score: h.score})
	}
	b.mu.RUnlock()
	for i, h := range hits {
		matched := map[string]bool{}
		for _, t := range h.terms {
			matched[t] = true
		}
		r := &out[i]
		r.Matched = append([]string{}, h.exactly...)
		for _, qw := range queryWords {
			if matched[qw.term] {
				r.Matched = append(r.Matched, qw.word)
			}
		}
		r.Matched = dedupe(r.Matched)
	}
	return out, nil
}

type queryWord struct{ word, term string }

// queryWords analyses text as the index does and pairs each indexed term
// with the word of the query it came from, so results can name matched
// words as the user wrote them rather than as stems.
func (b *Base) queryWords(text string) []queryWord {
	var out []queryWord
	seen := map[string]bool{}
	for _, tok := range b.analyzer.Analyze([]byte(text)) {
		term := string(tok.Term)
		if seen[term] {
			continue
		}
		seen[term] = true
		word := strings.ToLower(text[tok.Start:tok.End])
		out = append(out, queryWord{word: word, term: term})
	}
	return out
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
