package correlate

import (
	"slices"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

type testPolicy map[string][2]time.Duration

func (p testPolicy) Targets(priority, team string, services []string) (model.SLATargets, bool) {
	t, ok := p[priority]
	if team != "" {
		if tt, ok2 := p[team+"/"+priority]; ok2 {
			return model.SLATargets{Policy: "team " + team + " " + priority, Respond: tt[0], Resolve: tt[1]}, true
		}
	}
	return model.SLATargets{Policy: priority, Respond: t[0], Resolve: t[1]}, ok
}

func slaEngine() *Engine {
	e := New(Config{}, boutique())
	e.SetSLA(testPolicy{"P1": {15 * time.Minute, time.Hour}, "P3": {4 * time.Hour, 24 * time.Hour}, "ops/P1": {5 * time.Minute, 30 * time.Minute}})
	e.EmitEvents(true)
	return e
}

func prioritize(id, prio string, off time.Duration) *model.Action {
	return &model.Action{At: t0.Add(off), Kind: model.ActionPrioritize, Incident: id, Actor: "classifier",
		Class: &model.Classification{Priority: prio}}
}

func breaches(evs []model.IncidentEvent) []string {
	var out []string
	for _, ev := range evs {
		if ev.Type == model.EventSLABreached {
			out = append(out, ev.Detail)
		}
	}
	return out
}

// Nobody acknowledges a P1: the response target is missed at 15 minutes
// and the resolution target at an hour, each once, as incident events on
// the event clock.
func TestSLABreachesOnTheEventClock(t *testing.T) {
	e := slaEngine()
	sendLong(e, al("PaymentDown", "payment"), time.Minute)
	inc := only(t, e)
	if inc.SLA != nil {
		t.Fatalf("SLA before a priority: %+v", inc.SLA)
	}
	apply(t, e, prioritize(inc.ID, "P1", 90*time.Second))
	inc = only(t, e)
	if s := inc.SLA; s == nil || s.Policy != "P1" || !s.RespondBy.Equal(t0.Add(16*time.Minute)) || !s.ResolveBy.Equal(t0.Add(61*time.Minute)) || s.Breached {
		t.Fatalf("SLA after prioritize: %+v", s)
	}
	e.Drain()
	if e.Due(t0.Add(15*time.Minute)) || !e.Due(t0.Add(16*time.Minute)) {
		t.Fatal("the response deadline is not what is due")
	}
	e.Advance(t0.Add(20 * time.Minute))
	if got := breaches(e.Drain()); !slices.Equal(got, []string{model.SLARespond}) {
		t.Fatalf("breaches at 20m: %v", got)
	}
	inc = only(t, e)
	if !inc.SLA.Breached || inc.Timeline[len(inc.Timeline)-1].Event != "sla_breached" {
		t.Fatalf("after the response breach: %+v %+v", inc.SLA, inc.Timeline)
	}
	e.Advance(t0.Add(40 * time.Minute))
	if got := breaches(e.Drain()); len(got) != 0 {
		t.Fatalf("breach counted twice: %v", got)
	}
	sendLong(e, al("PaymentDown", "payment"), 50*time.Minute)
	e.Advance(t0.Add(62 * time.Minute))
	if got := breaches(e.Drain()); !slices.Equal(got, []string{model.SLAResolve}) {
		t.Fatalf("breaches at 62m: %v", got)
	}
	if s := only(t, e).SLA; !slices.Equal(s.Breaches, []string{"respond", "resolve"}) {
		t.Fatalf("SLA: %+v", s)
	}
}

// Acknowledging stops the response clock; resolving stops both; an agent's
// priority wins over the classifier's and restarts the clocks from opening.
func TestSLAStopsOnAckAndResolve(t *testing.T) {
	e := slaEngine()
	sendLong(e, al("PaymentDown", "payment"), time.Minute)
	id := only(t, e).ID
	apply(t, e, prioritize(id, "P1", time.Minute))
	apply(t, e, &model.Action{At: t0.Add(10 * time.Minute), Kind: model.ActionAck, Incident: id, Actor: "ann"})
	e.Advance(t0.Add(30 * time.Minute))
	if s := only(t, e).SLA; s.Breached || !s.RespondedAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("acknowledged at 10m: %+v", s)
	}
	// An agent makes it P3 and the ops team's: targets from opening time.
	apply(t, e, &model.Action{At: t0.Add(31 * time.Minute), Kind: model.ActionClassify, Incident: id, Actor: "ann",
		Class: &model.Classification{Team: "ops", Priority: "P1"}})
	if s := only(t, e).SLA; s.Policy != "team ops P1" || !s.ResolveBy.Equal(t0.Add(31*time.Minute)) {
		t.Fatalf("after the agent's classification: %+v", s)
	}
	apply(t, e, prioritize(id, "P3", 32*time.Minute)) // the classifier does not override the agent
	if s := only(t, e).SLA; s.Priority != "P1" {
		t.Fatalf("classifier overrode the agent: %+v", s)
	}
	e.Advance(t0.Add(32 * time.Minute))
	if got := breaches(e.Drain()); !slices.Equal(got, []string{model.SLAResolve}) {
		t.Fatalf("a shorter resolution target already passed: %v", got)
	}
	// Resolved before its deadline: no breach.
	e2 := slaEngine()
	sendLong(e2, al("CartDown", "cart"), time.Minute)
	id2 := only(t, e2).ID
	apply(t, e2, prioritize(id2, "P1", time.Minute))
	apply(t, e2, &model.Action{At: t0.Add(5 * time.Minute), Kind: model.ActionResolve, Incident: id2, Actor: "bob"})
	e2.Advance(t0.Add(2 * time.Hour))
	if s := only(t, e2).SLA; s.Breached || s.ResolvedAt.IsZero() || s.RespondedAt.IsZero() {
		t.Fatalf("resolved in time: %+v", s)
	}
	if got := breaches(e2.Drain()); len(got) != 0 {
		t.Fatalf("breaches after resolving in time: %v", got)
	}
}

// A restart between the priority and the deadline gives the same breach.
func TestSLASurvivesSnapshot(t *testing.T) {
	e := slaEngine()
	sendLong(e, al("PaymentDown", "payment"), time.Minute)
	apply(t, e, prioritize(only(t, e).ID, "P1", time.Minute))
	r := restoredCopy(t, e)
	r.EmitEvents(true)
	for _, x := range []*Engine{e, r} {
		x.Drain()
		x.Advance(t0.Add(20 * time.Minute))
		if got := breaches(x.Drain()); !slices.Equal(got, []string{model.SLARespond}) {
			t.Fatalf("breaches: %v", got)
		}
	}
	if dump(e.All()) != dump(r.All()) {
		t.Fatalf("restored engine differs:\n%s\n%s", dump(e.All()), dump(r.All()))
	}
}
