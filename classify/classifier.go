package classify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"

	"github.com/sift-aiops/sift/model"
)

// Result is the classification of one incident.
type Result struct {
	model.Classification
	// Similar lists the most similar past incidents, best first.
	Similar []Neighbor `json:"similar,omitempty"`
	// Routes are the routes the incident's alerts matched, each once (the
	// deciding alert's matches first), for explain: an incident of 10,000
	// alerts that all match the default route lists it once, not 10,000
	// times (results are kept per open incident).
	Routes []RouteMatch `json:"-"`
	// Priority explains the matrix decision (also when a route overrode it).
	PriorityDecision PriorityDecision `json:"-"`
	// TeamFrom and CategoryFrom say what decided: route, owner, knn or
	// fallback (and llm after WithTriage).
	TeamFrom, CategoryFrom string `json:"-"`
	// The kNN winners, also below knn.min_confidence ("" without any).
	KNNTeam, KNNCategory string `json:"-"`
}

// Classifier classifies incidents. It is safe for concurrent use.
type Classifier struct {
	cfg    Config
	router *Router
	idx    bleve.Index
	teams  map[string]bool
	cats   map[string]bool

	analyzer analysis.Analyzer
	tmp      string // temporary index directory (no index_path), removed by Close

	// Trust, when set, is what LLM proposals have shown against agents'
	// decisions; WithTriage's gating follows it (see trust.go).
	Trust *Trust
}

// New validates cfg and opens the kNN index (cfg.KNN.IndexPath, or in
// memory when empty).
func New(cfg Config) (*Classifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r, err := NewRouter(cfg)
	if err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	idx, tmp, err := openIndex(cfg.KNN.IndexPath)
	if err != nil {
		return nil, err
	}
	an := idx.Mapping().AnalyzerNamed(en.AnalyzerName)
	if an == nil {
		idx.Close()
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, errors.New("classify: english analyzer not registered")
	}
	return &Classifier{cfg: cfg, router: r, idx: idx, tmp: tmp, teams: set(cfg.Teams), cats: set(cfg.Categories), analyzer: an}, nil
}

// Close closes the index (and removes it when it was temporary).
func (c *Classifier) Close() error {
	err := c.idx.Close()
	if c.tmp != "" {
		if rerr := os.RemoveAll(c.tmp); err == nil {
			err = rerr
		}
	}
	return err
}

// Config returns the configuration in use (with defaults).
func (c *Classifier) Config() Config { return c.cfg }

// Router returns the compiled routing tree.
func (c *Classifier) Router() *Router { return c.router }

// Count returns the number of past incidents indexed.
func (c *Classifier) Count() (uint64, error) { return c.idx.DocCount() }

// orderAlerts puts the alerts of the root-cause service first, then
// firing before resolved, then by first seen: the first alert whose route
// sets a field decides it.
func (c *Classifier) orderAlerts(inc *model.Incident, alerts []model.AlertState) []model.AlertState {
	out := append([]model.AlertState(nil), alerts...)
	root := ""
	if inc != nil {
		root = inc.RootCause.Service
	}
	rank := func(a *model.AlertState) int {
		r := 0
		if root == "" || a.Labels[c.cfg.ServiceLabel] != root {
			r += 2
		}
		if a.Status == model.StatusResolved {
			r++
		}
		return r
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank(&out[i]), rank(&out[j])
		if ri != rj {
			return ri < rj
		}
		return out[i].FirstSeen.Before(out[j].FirstSeen)
	})
	if len(out) == 0 && inc != nil {
		// no alert states given: route on what the incident itself says
		ls := model.LabelSet{}
		if len(inc.Members) > 0 {
			ls["alertname"] = inc.Members[0].Name
		}
		if s := inc.RootCause.Service; s != "" {
			ls[c.cfg.ServiceLabel] = s
		} else if len(inc.Services) > 0 {
			ls[c.cfg.ServiceLabel] = inc.Services[0]
		}
		if inc.Severity != "" {
			ls[c.cfg.Priority.SeverityLabel] = inc.Severity
		}
		out = append(out, model.AlertState{Alert: model.Alert{Labels: ls}})
	}
	return out
}

// Classify decides team, category and priority for inc, whose alert
// states are alerts (may be empty: the incident's own fields are used).
func (c *Classifier) Classify(inc *model.Incident, alerts []model.AlertState) Result {
	var res Result
	ordered := c.orderAlerts(inc, alerts)

	// 1. rules
	var teamM, catM, prioM *RouteMatch
	var teamA, catA, prioA string
	for i := range ordered {
		for _, m := range c.router.Match(ordered[i].Labels) {
			m := m
			if !slices.ContainsFunc(res.Routes, func(r RouteMatch) bool { return slices.Equal(r.Path, m.Path) }) {
				res.Routes = append(res.Routes, m)
			}
			name := ordered[i].Labels["alertname"]
			if teamM == nil && m.Team != "" {
				teamM, teamA = &m, name
			}
			if catM == nil && m.Category != "" {
				catM, catA = &m, name
			}
			if prioM == nil && m.Priority != "" {
				prioM, prioA = &m, name
			}
		}
	}
	onAlert := func(a string) string {
		if a == "" {
			return ""
		}
		return " (alert " + a + ")"
	}

	// 2. kNN
	kv, err := c.Vote(inc, alerts)
	if err != nil {
		res.Sources = append(res.Sources, "knn: error: "+err.Error())
	}
	tv := vote{Winner: kv.Team, Confidence: kv.TeamConfidence, IDs: kv.TeamIDs}
	cv := vote{Winner: kv.Category, Confidence: kv.CategoryConfidence, IDs: kv.CategoryIDs}
	res.Similar = kv.Neighbors
	res.KNNTeam, res.KNNCategory = kv.Team, kv.Category
	if len(res.Similar) > c.cfg.KNN.Similar {
		res.Similar = res.Similar[:c.cfg.KNN.Similar]
	}
	knnSrc := func(v vote) string {
		ids := v.IDs
		more := ""
		if len(ids) > 5 {
			more = fmt.Sprintf(",+%d", len(ids)-5)
			ids = ids[:5]
		}
		return fmt.Sprintf("kNN %s%s (%.2f)", strings.Join(ids, ","), more, v.Confidence)
	}

	// team: a route decides; else the configured owner of the affected
	// service, unless past incidents say otherwise almost unanimously
	// (agents' corrections are learned); else the kNN vote; else fallback.
	ownerSvc, ownerTeam := c.owner(inc, ordered)
	hasOwner := ownerTeam != ""
	switch {
	case teamM != nil:
		res.Team, res.Confidence, res.TeamFrom = teamM.Team, 1, "route"
		res.Sources = append(res.Sources, "team: route "+teamM.TeamFrom+onAlert(teamA))
	case tv.Winner != "" && tv.Confidence >= c.cfg.KNN.MinConfidence && (tv.Confidence >= ownerOverride || !hasOwner):
		res.Team, res.Confidence, res.TeamFrom = tv.Winner, tv.Confidence, "knn"
		res.Sources = append(res.Sources, "team: "+knnSrc(tv))
	default:
		if svc, team := ownerSvc, ownerTeam; team != "" {
			res.Team, res.Confidence, res.TeamFrom = team, 1, "owner"
			res.Sources = append(res.Sources, "team: owner of service "+svc)
		} else {
			res.Team, res.TeamFrom = c.cfg.FallbackTeam, "fallback"
			src := "team: fallback"
			if tv.Winner != "" {
				src += fmt.Sprintf(" (kNN %s %.2f below %.2f)", tv.Winner, tv.Confidence, c.cfg.KNN.MinConfidence)
			}
			res.Sources = append(res.Sources, src)
		}
	}
	// category
	switch {
	case catM != nil:
		res.Category, res.CategoryFrom = catM.Category, "route"
		res.Sources = append(res.Sources, "category: route "+catM.CategoryFrom+onAlert(catA))
	case cv.Winner != "" && cv.Confidence >= c.cfg.KNN.MinConfidence:
		res.Category, res.CategoryFrom = cv.Winner, "knn"
		res.Sources = append(res.Sources, "category: "+knnSrc(cv))
	default:
		res.Category, res.CategoryFrom = c.cfg.FallbackCategory, "fallback"
		src := "category: fallback"
		if cv.Winner != "" {
			src += fmt.Sprintf(" (kNN %s %.2f below %.2f)", cv.Winner, cv.Confidence, c.cfg.KNN.MinConfidence)
		}
		res.Sources = append(res.Sources, src)
	}
	// priority
	res.PriorityDecision = c.cfg.prioritize(inc, alerts)
	if prioM != nil {
		res.Priority = prioM.Priority
		res.Sources = append(res.Sources, "priority: route "+prioM.PriorityFrom+onAlert(prioA))
	} else {
		res.Priority = res.PriorityDecision.Priority
		res.Sources = append(res.Sources, res.PriorityDecision.Why())
	}
	return res
}

// ownerOverride is the kNN confidence needed to overrule the configured
// owner of the affected service.
const ownerOverride = 0.9

// Vote is the outcome of the kNN vote, whatever the threshold.
type Vote struct {
	Team               string
	TeamConfidence     float64  // share of the score-weighted vote
	TeamIDs            []string // neighbours that voted for Team
	Category           string
	CategoryConfidence float64
	CategoryIDs        []string
	// Neighbors are the past incidents retrieved, best first
	// (max(knn.k, knn.similar) of them; the first knn.k vote).
	Neighbors []Neighbor
}

// Vote runs the kNN vote for inc without applying knn.min_confidence.
// inc itself (same ID) is never its own neighbour.
func (c *Classifier) Vote(inc *model.Incident, alerts []model.AlertState) (Vote, error) {
	var exclude string
	if inc != nil {
		exclude = inc.ID
	}
	ns, err := c.search(c.queryFor(inc, alerts), exclude, max(c.cfg.KNN.K, c.cfg.KNN.Similar))
	if err != nil {
		return Vote{}, err
	}
	voters := ns
	if len(voters) > c.cfg.KNN.K {
		voters = voters[:c.cfg.KNN.K]
	}
	tv := tally(voters, func(n Neighbor) string { return n.Team })
	cv := tally(voters, func(n Neighbor) string { return n.Category })
	return Vote{Team: tv.Winner, TeamConfidence: tv.Confidence, TeamIDs: tv.IDs,
		Category: cv.Winner, CategoryConfidence: cv.Confidence, CategoryIDs: cv.IDs, Neighbors: ns}, nil
}

// owner returns the first affected service with an owner in the taxonomy,
// the root cause first.
func (c *Classifier) owner(inc *model.Incident, ordered []model.AlertState) (string, string) {
	var cands []string
	if inc != nil {
		cands = append(cands, inc.RootCause.Service)
		cands = append(cands, inc.Services...)
	}
	for i := range ordered {
		cands = append(cands, ordered[i].Labels[c.cfg.ServiceLabel])
	}
	for _, s := range cands {
		if t := c.cfg.Services[s].Team; s != "" && t != "" {
			return s, t
		}
	}
	return "", ""
}

// past turns an incident and its alerts into a PastIncident with every
// distinct label pair.
func (c *Classifier) past(inc *model.Incident, alerts []model.AlertState) (*PastIncident, []string) {
	p := &PastIncident{ID: inc.ID, Title: inc.Title, Resolution: inc.Notes, OpenedAt: inc.OpenedAt}
	p.Service = inc.RootCause.Service
	if p.Service == "" && len(inc.Services) > 0 {
		p.Service = inc.Services[0]
	}
	seenName, seenSum := map[string]bool{}, map[string]bool{}
	var sums []string
	addName := func(n string) {
		if n != "" && !seenName[n] && len(p.AlertNames) < 50 {
			seenName[n] = true
			p.AlertNames = append(p.AlertNames, n)
		}
	}
	for _, m := range inc.Members {
		addName(m.Name)
	}
	ignore := set(c.cfg.KNN.IgnoreLabels)
	pairs := map[string]bool{}
	for i := range alerts {
		a := &alerts[i]
		addName(a.Name())
		if s := a.Summary(); s != "" && !seenSum[s] && len(sums) < 20 {
			seenSum[s] = true
			sums = append(sums, s)
		}
		for k, v := range a.Labels {
			if v != "" && !ignore[k] && len(pairs) < 200 {
				pairs[strings.ToLower(k+"="+v)] = true
			}
		}
	}
	for _, s := range inc.Services {
		pairs[strings.ToLower(c.cfg.ServiceLabel+"="+s)] = true
	}
	p.Description = strings.Join(sums, "\n")
	return p, sortedKeys(pairs)
}

func (c *Classifier) queryFor(inc *model.Incident, alerts []model.AlertState) queryText {
	if inc == nil {
		inc = &model.Incident{}
	}
	p, pairs := c.past(inc, alerts)
	var names []string
	for _, n := range p.AlertNames {
		names = append(names, camel(n))
	}
	return queryText{title: camel(p.Title), alerts: strings.Join(names, " "), text: p.Description, labels: pairs}
}

// Similar returns the past incidents most similar to inc (at most n).
func (c *Classifier) Similar(inc *model.Incident, alerts []model.AlertState, n int) ([]Neighbor, error) {
	ex := ""
	if inc != nil {
		ex = inc.ID
	}
	return c.search(c.queryFor(inc, alerts), ex, n)
}

func (c *Classifier) search(q queryText, exclude string, n int) ([]Neighbor, error) {
	if n <= 0 {
		return nil, nil
	}
	qry, _, err := c.buildQuery(q)
	if err != nil {
		return nil, err
	}
	// the incident itself is filtered out of the hits (cheaper than a
	// must-not clause on every search)
	req := bleve.NewSearchRequestOptions(qry, n+1, 0, false)
	req.Fields = []string{"display", "team", "category", "resolution"}
	sr, err := c.idx.Search(req)
	if err != nil {
		return nil, err
	}
	out := make([]Neighbor, 0, len(sr.Hits))
	for _, h := range sr.Hits {
		if h.ID == exclude || len(out) == n {
			continue
		}
		str := func(f string) string { s, _ := h.Fields[f].(string); return s }
		out = append(out, Neighbor{ID: h.ID, Title: str("display"), Score: h.Score,
			Team: str("team"), Category: str("category"), Resolution: str("resolution")})
	}
	return out, nil
}

// check validates a past incident against the taxonomy.
func (c *Classifier) check(p *PastIncident) error {
	if strings.TrimSpace(p.ID) == "" {
		return errors.New("id is empty")
	}
	if strings.TrimSpace(p.Title) == "" && strings.TrimSpace(p.Description) == "" && len(p.AlertNames) == 0 {
		return errors.New("no text: title, description and alertnames are all empty")
	}
	if p.Team == "" && p.Category == "" {
		return errors.New("neither team nor category is set: nothing to learn")
	}
	if p.Team != "" && len(c.teams) > 0 && !c.teams[p.Team] {
		return fmt.Errorf("team %q is not one of classify.teams", p.Team)
	}
	if p.Category != "" && len(c.cats) > 0 && !c.cats[p.Category] {
		return fmt.Errorf("category %q is not one of classify.categories", p.Category)
	}
	return nil
}

// Add indexes (or replaces, by ID) one past incident; it is searchable
// when Add returns.
func (c *Classifier) Add(p PastIncident) error {
	if err := c.check(&p); err != nil {
		return err
	}
	return c.idx.Index(p.ID, c.cfg.toDoc(&p, nil))
}

// Learn is feedback: it adds inc, with the final team/category an agent
// confirmed or corrected (and inc.Notes as resolution notes), to the
// index at once, replacing an earlier version of the same incident, so
// the next similar incident uses it.
func (c *Classifier) Learn(inc *model.Incident, alerts []model.AlertState, final model.Classification) error {
	if inc == nil {
		return errors.New("classify: learn: nil incident")
	}
	p, pairs := c.past(inc, alerts)
	p.Team, p.Category = final.Team, final.Category
	if err := c.check(p); err != nil {
		return fmt.Errorf("classify: learn %s: %w", inc.ID, err)
	}
	return c.idx.Index(p.ID, c.cfg.toDoc(p, pairs))
}

// Forget removes a past incident from the index.
func (c *Classifier) Forget(id string) error { return c.idx.Delete(id) }

// Compact merges an on-disk index into a single segment, which makes
// searches on a large index faster; call it after a bulk import (ImportMain
// does).
func (c *Classifier) Compact(ctx context.Context) error {
	adv, err := c.idx.Advanced()
	if err != nil {
		return err
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	return s.ForceMerge(ctx, nil)
}

// CheckLabels reports whether team and category (either may be empty) are
// in the configured taxonomy (any value is fine when it has none).
func (c *Classifier) CheckLabels(team, category string) error {
	if team != "" && len(c.teams) > 0 && !c.teams[team] {
		return fmt.Errorf("team %q is not one of classify.teams", team)
	}
	if category != "" && len(c.cats) > 0 && !c.cats[category] {
		return fmt.Errorf("category %q is not one of classify.categories", category)
	}
	return nil
}
