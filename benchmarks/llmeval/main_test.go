package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/sift-aiops/sift/benchmarks/internal/stormtruth"
	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/classify/llm"
	"github.com/sift-aiops/sift/model"
)

func incident(id, svc string) (*model.Incident, []model.AlertState) {
	inc := &model.Incident{ID: id, Title: "HighLatency on " + svc, Signature: svc + "|HighLatency",
		RootCause: model.RootCause{Service: svc}, Services: []string{svc, "frontend"},
		Members: []model.Member{{Name: "HighLatency", Service: svc}}}
	al := []model.AlertState{{Status: model.StatusFiring, Alert: model.Alert{
		Labels:      model.LabelSet{"alertname": "HighLatency", "service": svc, "severity": "warning"},
		Annotations: model.LabelSet{"summary": "p99 latency above 1s"}}}}
	return inc, al
}

// TestSimulatedModelsThroughClient asks every simulated model, through a
// real llm.Client, about incidents whose kNN vote is split (fallback), and
// checks what the models answer and what the gating lets through.
func TestSimulatedModelsThroughClient(t *testing.T) {
	cl, err := classify.New(classify.Config{Teams: stormtruth.AllTeams()})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i, p := range []struct{ svc, team string }{{"payment", "checkout"}, {"payment", "checkout"}, {"shipping", "checkout"},
		{"text", "social-posts"}, {"media", "social-posts"}, {"frontend", "storefront"}, {"ad", "storefront"}} {
		inc, al := incident(fmt.Sprintf("past-%d", i), p.svc)
		if err := cl.Learn(inc, al, model.Classification{Team: p.team}); err != nil {
			t.Fatal(err)
		}
	}
	facts := map[string]fact{}
	type item struct {
		inc *model.Incident
		al  []model.AlertState
		res classify.Result
	}
	var items []item
	for i := 0; i < 24; i++ {
		inc, al := incident(fmt.Sprintf("test-%d", i), "cart") // truth catalog: no past incident of it
		inc.Signature += fmt.Sprint(i)                         // no cache hit between them
		res := cl.Classify(inc, al)
		if res.TeamFrom != "fallback" || res.KNNTeam == "" || res.KNNTeam == "catalog" {
			t.Fatalf("setup: want a fallback with a wrong kNN candidate, got %s from %s (kNN %q) %v", res.Team, res.TeamFrom, res.KNNTeam, res.Sources)
		}
		if !llm.ShouldAsk(res.Confidence, false, len(res.Similar) == 0, llm.DefaultMinConfidence) {
			t.Fatal("setup: ShouldAsk says no")
		}
		facts[inc.ID] = fact{truth: "catalog"}
		items = append(items, item{inc, al, res})
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, m := range models(1, "social-posts") {
		srv := server(m, "t", facts)
		client, err := llm.New(llm.Config{BaseURL: srv.URL + "/v1", Model: "sim-" + m.name}, llm.TaxonomyOf(cl.Config()), nil, quiet)
		if err != nil {
			t.Fatal(err)
		}
		invalid, retried := 0, 0
		for _, it := range items {
			tr, au, err := client.Triage(context.Background(), llm.Input{Incident: it.inc, Alerts: it.al, Neighbors: it.res.Similar, Current: it.res.Classification})
			if au.Attempts > 1 {
				retried++
			}
			if err != nil {
				if au.Outcome != llm.OutcomeInvalid || m.name != "adversarial" {
					t.Fatalf("%s: %v (%s)", m.name, err, au.Outcome)
				}
				invalid++
				continue
			}
			if au.PromptTokens == 0 || au.CompletionTokens == 0 {
				t.Fatalf("%s: no usage in the audit", m.name)
			}
			g := cl.WithTriage(it.res, tr, 0)
			switch m.name {
			case "good": // right; refused by the gating (it contradicts kNN's candidate); taken without
				if tr.Team != "catalog" || g.Team != "" || ungated(it.res, tr) != "catalog" {
					t.Fatalf("good: answer %s, gated %q", tr.Team, g.Team)
				}
			case "adversarial": // kNN's wrong candidate, read from the prompt: let through
				if tr.Team != it.res.KNNTeam || g.Team != it.res.KNNTeam {
					t.Fatalf("adversarial: answer %s, kNN %s, gated %q", tr.Team, it.res.KNNTeam, g.Team)
				}
			case "constant":
				if tr.Team != "social-posts" {
					t.Fatalf("constant: %s", tr.Team)
				}
			}
			if g.Team != "" && g.Team != it.res.KNNTeam {
				t.Fatalf("%s: the gating took %s against kNN's candidate %s", m.name, g.Team, it.res.KNNTeam)
			}
		}
		if m.name == "adversarial" && (retried == 0 || invalid == len(items)) {
			t.Errorf("adversarial: %d of %d answers retried, %d invalid; want some retried, not all invalid", retried, len(items), invalid)
		}
		srv.Close()
	}
}

func TestParsePrompt(t *testing.T) {
	if _, err := parsePrompt([]chatMessage{{Role: "user", Content: "no data"}}); err == nil {
		t.Fatal("no data block: no error")
	}
	q, err := parsePrompt([]chatMessage{{Role: "system", Content: "x"},
		{Role: "user", Content: "```json\n{\"incident\":{\"id\":\"I-1\",\"services\":[\"cart\"]},\"taxonomy\":{\"teams\":[\"a\",\"b\"]}}\n```"},
		{Role: "assistant", Content: "{}"}, {Role: "user", Content: "Your previous answer was invalid"}})
	if err != nil || q.ID != "I-1" || len(q.Teams) != 2 || !q.Retry {
		t.Fatalf("%+v %v", q, err)
	}
}
