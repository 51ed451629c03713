package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
	"github.com/sift-aiops/sift/tickets"
)

// classifyStage classifies incidents as their events flow from correlation
// to the exporters, so every exporter (and the API) sees pre-classified
// incidents. It learns from incidents that resolve with a classification.
type classifyStage struct {
	c    *classify.Classifier
	p    *pipeline.Pipeline
	view func(id string) []model.AlertState // instead of p (backfill)
	next []pipeline.Exporter
	log  *slog.Logger
	// triage, when an LLM is configured, is asked about the incidents the
	// classification is not confident about.
	triage *triageStage

	mu      sync.RWMutex
	cache   map[string]cached
	checked map[string]bool // incidents whose triage an agent's decision checked

	// prio journals the classifier's priority of an incident (it sets the
	// SLA clock) off the export path; nil: not journaled (backfill).
	prio        chan model.Action
	prioMu      sync.Mutex
	prioPending map[string]string // incident -> "priority|team" queued
}

// checkTriage counts, once per incident, whether the agent's team is the
// one the LLM proposed.
func (s *classifyStage) checkTriage(inc *model.Incident) {
	if s.c.Trust == nil {
		return
	}
	s.mu.Lock()
	if s.checked == nil {
		s.checked = map[string]bool{}
	}
	done := s.checked[inc.ID]
	s.checked[inc.ID] = true
	s.mu.Unlock()
	if done {
		return
	}
	if err := s.c.Trust.Record(inc.Triage.Model, inc.Triage.Team, inc.Class.Team); err != nil {
		s.log.Warn("llm trust not saved", "err", err)
	}
}

// startPrioritizer journals, with act, the priorities the stage decides
// (see prioritize) until ctx ends.
func (s *classifyStage) startPrioritizer(ctx context.Context, act func(context.Context, model.Action) (*model.Incident, error)) {
	s.prio = make(chan model.Action, 1024)
	s.prioPending = map[string]string{}
	go func() {
		for {
			select {
			case a := <-s.prio:
				if _, err := act(ctx, a); err != nil && ctx.Err() == nil {
					s.log.Debug("classify: journal priority", "incident", a.Incident, "err", err)
				}
				s.prioMu.Lock()
				delete(s.prioPending, a.Incident)
				s.prioMu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
}

// prioritize queues the classifier's priority (and team) of inc when its
// SLA clock runs on another one. The queue never blocks the export path:
// when it is full the next update of the incident tries again.
func (s *classifyStage) prioritize(inc *model.Incident, c model.Classification) {
	if s.prio == nil || c.Priority == "" || inc.Status == model.IncidentResolved {
		return
	}
	if inc.SLA != nil && inc.SLA.Priority == c.Priority && inc.SLA.Team == c.Team {
		return
	}
	key := c.Priority + "|" + c.Team
	s.prioMu.Lock()
	defer s.prioMu.Unlock()
	if s.prioPending[inc.ID] == key {
		return
	}
	select {
	case s.prio <- model.Action{Kind: model.ActionPrioritize, Incident: inc.ID, Actor: "classifier",
		Class: &model.Classification{Team: c.Team, Priority: c.Priority}}:
		s.prioPending[inc.ID] = key
	default:
	}
}

type cached struct {
	res     classify.Result
	at      time.Time
	root    string
	triaged bool
}

// reclassifyEvery bounds how often an incident that keeps growing is
// classified again (classification costs milliseconds; storms update
// incidents thousands of times).
const reclassifyEvery = 15 * time.Second

func newClassifyStage(c *classify.Classifier, log *slog.Logger) *classifyStage {
	if log == nil {
		log = slog.Default()
	}
	return &classifyStage{c: c, log: log, cache: map[string]cached{}}
}

func (s *classifyStage) alerts(id string) []model.AlertState {
	if s.view != nil {
		return s.view(id)
	}
	var out []model.AlertState
	s.p.View(func(e *correlate.Engine) { out = e.IncidentAlertsN(id, tickets.MaxAlertsLimit) })
	return out
}

// Export implements pipeline.Exporter.
func (s *classifyStage) Export(ctx context.Context, evs []model.IncidentEvent) error {
	for i := range evs {
		ev := &evs[i]
		inc := ev.Incident
		if inc == nil {
			continue
		}
		if ev.Type == model.EventClassified && inc.Class != nil && inc.Triage != nil {
			// An agent's decision checks the LLM's proposal (classify.Trust).
			s.checkTriage(inc)
		}
		s.mu.RLock()
		prev, seen := s.cache[inc.ID]
		s.mu.RUnlock()
		fresh := seen && ev.Type == model.EventUpdated && prev.root == inc.RootCause.Service && time.Since(prev.at) < reclassifyEvery &&
			prev.triaged == (inc.Triage != nil)
		var res classify.Result
		if fresh {
			res = prev.res
		} else {
			res = s.classifyAuto(inc, s.alerts(inc.ID))
			s.mu.Lock()
			s.cache[inc.ID] = cached{res: res, at: time.Now(), root: inc.RootCause.Service, triaged: inc.Triage != nil}
			s.mu.Unlock()
		}
		if inc.Class == nil { // an agent's decision wins over ours
			c := res.Classification
			inc.Class = &c
			s.prioritize(inc, c)
			if ev.Type == model.EventOpened || ev.Type == model.EventUpdated || ev.Type == model.EventReopened {
				s.triage.consider(inc, res)
			}
		}
		// What the LLM decided is not learned from (a bad model must not
		// teach the kNN); agents' decisions and the rest are.
		fromLLM := res.TeamFrom == "llm" || res.CategoryFrom == "llm"
		if ev.Type == model.EventClassified || ev.Type == model.EventResolved && !fromLLM {
			if err := s.c.Learn(inc, s.alerts(inc.ID), *inc.Class); err != nil {
				s.log.Warn("classify: learn", "incident", inc.ID, "err", err)
			}
		}
		if ev.Type == model.EventResolved {
			s.mu.Lock()
			delete(s.cache, inc.ID)
			delete(s.checked, inc.ID)
			s.mu.Unlock()
			s.triage.forget(inc.ID)
		}
	}
	for _, x := range s.next {
		if err := x.Export(ctx, evs); err != nil {
			s.log.Warn("export failed", "err", err)
		}
	}
	return nil
}

// ExportHistory implements pipeline.HistoryExporter for the exporters
// after the stage (which see the classification of Export first).
func (s *classifyStage) ExportHistory(ctx context.Context, hb *model.HistoryBatch) {
	pipeline.ForwardHistory(ctx, s.next, hb)
}

// Barrier implements pipeline.Barrierer for the exporters after the stage.
func (s *classifyStage) Barrier(done func()) { pipeline.ForwardBarrier(s.next, done) }

// Delivered implements pipeline.Acknowledger for the exporters after the
// stage.
func (s *classifyStage) Delivered() (time.Time, bool) { return pipeline.EarliestDelivered(s.next) }

// classifyAuto is the classifier's decision with what the gating takes of
// the incident's LLM triage.
func (s *classifyStage) classifyAuto(inc *model.Incident, alerts []model.AlertState) classify.Result {
	res := s.c.Classify(inc, alerts)
	if inc.Triage != nil {
		res = s.c.WithTriage(res, inc.Triage, classify.DefaultTriageWeight)
	}
	return res
}

// Classify returns the classification of an incident for the API: the
// agent's decision if there is one, else the classifier's.
func (s *classifyStage) Classify(inc *model.Incident, alerts []model.AlertState) classify.Result {
	res := s.classifyAuto(inc, alerts)
	if inc.Class != nil {
		res.Classification = *inc.Class
		res.Sources = append([]string{"agent decision"}, inc.Class.Sources...)
	}
	return res
}
