package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/classify/llm"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/knowledge"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
	"github.com/sift-aiops/sift/tickets"
)

// triageStage asks the LLM for a triage of the incidents the rules and kNN
// are not confident about (or whose signature is new), off the pipeline:
// incidents are created, classified and delivered at once, and enriched
// when the answer comes. The answer is journaled as an action (replay
// gives the same incident), which makes an "updated" event; the classify
// stage then takes what the gating allows of it (classify.WithTriage). The
// prompt/response pair of every exchange is kept for audit under
// DATA_DIR/llm/audit, one file per incident.
type triageStage struct {
	client   *llm.Client
	cfg      llm.Config
	p        *pipeline.Pipeline
	c        *classify.Classifier
	kb       *knowledge.Base
	log      *slog.Logger
	auditDir string

	q       chan string
	mu      sync.Mutex
	pending map[string]bool   // queued or in flight
	asked   map[string]string // incident -> signature last asked about
	dropped prometheus.Counter
	stop    chan struct{}
	wg      sync.WaitGroup
}

// triageQueue bounds the incidents waiting for the LLM.
const triageQueue = 256

func newTriageStage(cfg llm.Config, c *classify.Classifier, dataDir string, reg prometheus.Registerer, log *slog.Logger) (*triageStage, error) {
	cfg = cfg.WithDefaults()
	client, err := llm.New(cfg, llm.TaxonomyOf(c.Config()), reg, log)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, "llm", "audit")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	t := &triageStage{client: client, cfg: cfg, c: c, log: log, auditDir: dir,
		q: make(chan string, triageQueue), pending: map[string]bool{}, asked: map[string]string{}, stop: make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_llm_queue_dropped_total",
			Help: "Incidents not sent to the LLM because its queue was full."})}
	if err := reg.Register(t.dropped); err != nil {
		return nil, err
	}
	return t, nil
}

// start runs the workers once the pipeline is open.
func (t *triageStage) start(p *pipeline.Pipeline, kb *knowledge.Base) {
	t.p, t.kb = p, kb
	for i := 0; i < t.cfg.MaxConcurrency; i++ {
		t.wg.Add(1)
		go t.worker()
	}
}

func (t *triageStage) close() {
	close(t.stop)
	t.wg.Wait()
}

// consider queues inc for a triage when it helps: no route decided its
// team, and the decision is not confident or its signature is new; once
// per signature of an incident.
func (t *triageStage) consider(inc *model.Incident, res classify.Result) {
	if t == nil || inc.Status == model.IncidentResolved || inc.Signature == "" {
		return
	}
	if !llm.ShouldAsk(res.Confidence, res.TeamFrom == "route", len(res.Similar) == 0, t.cfg.MinConfidence) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending[inc.ID] || t.asked[inc.ID] == inc.Signature {
		return
	}
	select {
	case t.q <- inc.ID:
		t.pending[inc.ID] = true
		t.asked[inc.ID] = inc.Signature
	default:
		t.dropped.Inc()
	}
}

// forget drops what is kept about a resolved incident.
func (t *triageStage) forget(id string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	delete(t.asked, id)
	t.mu.Unlock()
}

func (t *triageStage) worker() {
	defer t.wg.Done()
	for {
		select {
		case <-t.stop:
			return
		case id := <-t.q:
			t.triage(id)
			t.mu.Lock()
			delete(t.pending, id)
			t.mu.Unlock()
		}
	}
}

func (t *triageStage) triage(id string) {
	var inc *model.Incident
	var alerts []model.AlertState
	t.p.View(func(e *correlate.Engine) {
		inc = e.Incident(id)
		if inc != nil {
			alerts = e.IncidentAlertsN(id, tickets.MaxAlertsLimit) // a bounded sample (the prompt is capped anyway)
		}
	})
	if inc == nil || inc.Status == model.IncidentResolved {
		return
	}
	res := t.c.Classify(inc, alerts)
	in := llm.Input{Incident: inc, Alerts: alerts, Neighbors: res.Similar, Current: res.PromptView()}
	if t.kb != nil {
		if arts, err := t.kb.Match(inc, alerts, 5); err == nil {
			in.Articles = arts
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-t.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	tr, audit, err := t.client.Triage(ctx, in)
	t.keepAudit(id, audit)
	if err != nil {
		lvl := slog.LevelWarn
		if errors.Is(err, llm.ErrBudget) || errors.Is(err, llm.ErrBreakerOpen) || errors.Is(err, llm.ErrRateLimited) {
			lvl = slog.LevelDebug
		}
		t.log.Log(ctx, lvl, "llm triage failed", "incident", id, "err", err)
		return
	}
	if _, err := t.p.Act(ctx, model.Action{Kind: model.ActionTriage, Incident: id, Actor: "llm:" + tr.Model, Triage: tr}); err != nil {
		t.log.Warn("llm triage not recorded", "incident", id, "err", err)
	}
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// keepAudit appends the exchange to the incident's audit file.
func (t *triageStage) keepAudit(id string, a *llm.Audit) {
	if a == nil || !safeID.MatchString(id) {
		return
	}
	b, err := json.Marshal(a)
	if err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(t.auditDir, id+".ndjson"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.log.Warn("llm audit not kept", "incident", id, "err", err)
		return
	}
	defer f.Close()
	f.Write(append(b, '\n'))
}

// audits returns the kept exchanges of an incident, oldest first.
func (t *triageStage) audits(id string) ([]json.RawMessage, error) {
	if !safeID.MatchString(id) {
		return nil, fmt.Errorf("invalid incident id %q", id)
	}
	data, err := os.ReadFile(filepath.Join(t.auditDir, id+".ndjson"))
	if errors.Is(err, os.ErrNotExist) {
		return []json.RawMessage{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []json.RawMessage{}
	for _, l := range bytes.Split(data, []byte{'\n'}) {
		if len(l) > 0 && json.Valid(l) {
			out = append(out, json.RawMessage(l))
		}
	}
	return out, nil
}
