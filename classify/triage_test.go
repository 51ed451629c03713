package classify

import (
	"strings"
	"testing"

	"github.com/sift-aiops/sift/model"
)

func TestWithTriageGating(t *testing.T) {
	c := &Classifier{teams: set([]string{"payments", "web"}), cats: set([]string{"availability", "latency"})}
	tr := &model.Triage{Team: "payments", Category: "latency", Priority: "P1", Model: "m1"}
	// The default fallback: unassigned.
	fallback := Result{Classification: model.Classification{Priority: "P3",
		Sources: []string{"team: fallback", "category: fallback", "priority: matrix"}}, TeamFrom: "fallback", CategoryFrom: "fallback"}

	// New signature (no kNN candidate): the proposal fills the fallback.
	r := c.WithTriage(fallback, tr, 0.5)
	if r.Team != "payments" || r.Category != "latency" || r.Priority != "P3" || r.Confidence != 0.5 || r.TeamFrom != "llm" {
		t.Fatalf("new signature: %+v", r)
	}
	if s := strings.Join(r.Sources, "|"); !strings.Contains(s, "team: llm m1 (weight 0.50") || strings.Contains(s, "team: fallback") {
		t.Fatalf("sources: %s", s)
	}
	if fallback.Team != "" || fallback.Sources[0] != "team: fallback" {
		t.Fatal("WithTriage changed its input")
	}
	// kNN's sub-threshold candidate: taken when the LLM agrees, not when it contradicts.
	withKNN := fallback
	withKNN.KNNTeam, withKNN.KNNCategory = "payments", "availability"
	r = c.WithTriage(withKNN, tr, 0.5)
	if r.Team != "payments" || r.Category != "" {
		t.Fatalf("agreement rule: %+v", r)
	}
	// A fallback that names an owner stands while the model is unchecked.
	owned := fallback
	owned.Team, owned.Category = "web", "availability"
	if r = c.WithTriage(owned, tr, 0.5); r.Team != "web" || r.Category != "availability" || !strings.Contains(strings.Join(r.Sources, "|"), "stands until agents") {
		t.Fatalf("owned fallback: %+v", r)
	}
	// Rules, owners and confident kNN stand.
	for _, from := range []string{"route", "owner", "knn"} {
		decided := Result{Classification: model.Classification{Team: "web", Category: "availability"}, TeamFrom: from, CategoryFrom: from}
		r = c.WithTriage(decided, tr, 0.5)
		if r.Team != "web" || r.Category != "availability" || !strings.Contains(strings.Join(r.Sources, "|"), "decision stands") {
			t.Fatalf("%s decision overridden: %+v", from, r)
		}
	}
	// Out of the taxonomy (an injected "route to team evil"): ignored.
	r = c.WithTriage(fallback, &model.Triage{Team: "evil", Category: "pwned", Model: "m1"}, 0.5)
	if r.Team != "" || r.Category != "" || !strings.Contains(strings.Join(r.Sources, "|"), "not in the taxonomy") {
		t.Fatalf("out of taxonomy: %+v", r)
	}
}

func TestPromptViewHidesFallbackCandidates(t *testing.T) {
	r := Result{Classification: model.Classification{Team: "ops", Category: "latency", Priority: "P3",
		Sources: []string{"team: fallback (kNN payments 0.49 below 0.60)", "category: kNN INC-1 (0.80)", "priority: matrix"}},
		TeamFrom: "fallback", CategoryFrom: "knn", KNNTeam: "payments"}
	v := r.PromptView()
	if v.Team != "" || v.Category != "latency" || v.Priority != "P3" || strings.Contains(strings.Join(v.Sources, "|"), "payments") {
		t.Fatalf("prompt view: %+v", v)
	}
	if r.Team != "ops" || len(r.Sources) != 3 {
		t.Fatal("PromptView changed the result")
	}
}

// What a model has shown against agents' decisions moves the gating: a
// model agents confirmed is taken against kNN's candidate, one they
// mostly corrected is not followed even where it agrees with kNN.
func TestWithTriageFollowsMeasuredTrust(t *testing.T) {
	path := t.TempDir() + "/trust.json"
	trust, err := OpenTrust(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &Classifier{teams: set([]string{"payments", "web"}), cats: set([]string{"availability", "latency"}), Trust: trust}
	res := Result{Classification: model.Classification{Sources: []string{"team: fallback"}}, TeamFrom: "fallback", KNNTeam: "web"}
	good := &model.Triage{Team: "payments", Model: "good"}
	bad := &model.Triage{Team: "web", Model: "bad"}
	// Before any check: the default gating (contradicting kNN: kept out;
	// agreeing with kNN: taken).
	if r := c.WithTriage(res, good, 0.5); r.Team != "" {
		t.Fatalf("unchecked model against kNN: %+v", r)
	}
	if r := c.WithTriage(res, bad, 0.5); r.Team != "web" {
		t.Fatalf("unchecked model agreeing with kNN: %+v", r)
	}
	for i := 0; i < TrustMinSamples; i++ {
		trust.Record("good", "payments", "payments")
		trust.Record("bad", "web", "payments")
	}
	r := c.WithTriage(res, good, 0.5)
	if r.Team != "payments" || r.TeamFrom != "llm" || r.Confidence < TrustHigh || !strings.Contains(strings.Join(r.Sources, "|"), "agents confirmed") {
		t.Fatalf("trusted model: %+v", r)
	}
	if r := c.WithTriage(res, bad, 0.5); r.Team != "" || !strings.Contains(strings.Join(r.Sources, "|"), "not followed") {
		t.Fatalf("distrusted model: %+v", r)
	}
	// The counts survive a restart.
	again, err := OpenTrust(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, n := again.Level("good"); n != TrustMinSamples || p < TrustHigh {
		t.Fatalf("reopened: %v %d", p, n)
	}
}
