package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/model"
)

// An agent's classification of a triaged incident is counted, once, as a
// check of the LLM's proposal, and the counts are saved.
func TestAgentDecisionChecksTriage(t *testing.T) {
	c, err := classify.New(classify.Config{Teams: []string{"payments", "web"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	path := filepath.Join(t.TempDir(), "trust.json")
	if c.Trust, err = classify.OpenTrust(path); err != nil {
		t.Fatal(err)
	}
	s := newClassifyStage(c, nil)
	s.view = func(string) []model.AlertState { return nil }
	ev := func(id, agentTeam string) model.IncidentEvent {
		return model.IncidentEvent{Type: model.EventClassified, At: time.Now(), Incident: &model.Incident{ID: id, Status: model.IncidentOpen,
			Class:  &model.Classification{Team: agentTeam, Sources: []string{"corrected by ann"}},
			Triage: &model.Triage{Team: "payments", Model: "m1", Source: "llm"}}}
	}
	s.Export(context.Background(), []model.IncidentEvent{ev("INC-1", "payments"), ev("INC-2", "web")})
	s.Export(context.Background(), []model.IncidentEvent{ev("INC-1", "web")}) // reclassified: counted once
	again, err := classify.OpenTrust(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, n := again.Level("m1"); n != 2 || p != 0.5 {
		t.Fatalf("trust after two checks (one right): precision %v over %d", p, n)
	}
}
