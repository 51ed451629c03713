package correlate

import (
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

func change(id, service string, at, posted time.Duration) *model.Action {
	return &model.Action{At: t0.Add(posted), Kind: model.ActionChange, Change: &model.Change{
		ID: id, Service: service, Kind: "deploy", Summary: "v2 rollout", At: t0.Add(at), Author: "alice"}}
}

// A deploy on a service the root cause depends on, shortly before, is
// listed under rootCause.changes and said in the evidence.
func TestChangeOnDependencyIsRootCauseEvidence(t *testing.T) {
	e := New(Config{}, boutique())
	apply(t, e, change("d1", "payment", 0, 0))
	apply(t, e, change("old", "payment", -2*time.Hour, 0)) // long before: not evidence
	apply(t, e, change("far", "ad", 0, 0))                 // unrelated service
	send(e, al("CheckoutErrors", "checkout"), 4*time.Minute, 4*time.Minute)
	send(e, al("FrontendLatency", "frontend"), 5*time.Minute, 5*time.Minute)
	inc := only(t, e)
	rc := inc.RootCause
	if rc.Service != "checkout" || len(rc.Changes) != 1 || rc.Changes[0].ID != "d1" || rc.Changes[0].Relation != "dependency" ||
		rc.Changes[0].Before != 240 {
		t.Fatalf("root cause: %s", dump(rc))
	}
	if !strings.Contains(strings.Join(rc.Evidence, "\n"), "deploy on payment, which checkout depends on 4m0s before the incident started: v2 rollout (by alice)") {
		t.Fatalf("evidence does not say it: %q", rc.Evidence)
	}
}

// Between root-cause candidates that explain as much, the one that changed
// shortly before wins over the one that started first.
func TestChangeBreaksRootCauseTie(t *testing.T) {
	run := func(withChange bool) model.RootCause {
		e := New(Config{GroupBy: []string{"cluster"}}, boutique()) // one group: one incident
		if withChange {
			apply(t, e, change("d1", "catalog", 0, 0))
		}
		send(e, al("CheckoutErrors", "checkout", "cluster", "c1"), time.Minute, time.Minute)
		send(e, al("FrontendErrors", "frontend", "cluster", "c1"), 90*time.Second, 90*time.Second)
		send(e, al("CatalogErrors", "catalog", "cluster", "c1"), 2*time.Minute, 2*time.Minute)
		return only(t, e).RootCause
	}
	if rc := run(false); rc.Service != "checkout" {
		t.Fatalf("without a change the earliest candidate should win: %s", dump(rc))
	}
	rc := run(true)
	if rc.Service != "catalog" || len(rc.Changes) != 1 || rc.Changes[0].Relation != "root" {
		t.Fatalf("with a deploy on catalog: %s", dump(rc))
	}
	if !strings.Contains(strings.Join(rc.Evidence, "\n"), "then changed shortly before") {
		t.Fatalf("evidence does not say why: %q", rc.Evidence)
	}
}

// A change posted after the incident opened (CI reports late) still
// becomes evidence: the incident is updated, its timeline says so.
func TestLateChangeUpdatesOpenIncident(t *testing.T) {
	e := New(Config{}, boutique())
	e.EmitEvents(true)
	send(e, al("CartDown", "cart"), time.Minute, time.Minute)
	e.Drain()
	apply(t, e, change("d9", "cart", 0, 2*time.Minute))
	inc := only(t, e)
	if len(inc.RootCause.Changes) != 1 || inc.Timeline[len(inc.Timeline)-1].Event != "change" {
		t.Fatalf("late change: %s", dump(inc))
	}
	if evs := e.Drain(); len(evs) != 1 || evs[0].Type != model.EventUpdated {
		t.Fatalf("events after a late change: %s", dump(evs))
	}
	// Resending the same id replaces it; changes are listed newest first
	// and survive a snapshot.
	apply(t, e, change("d9", "cart", 30*time.Second, 3*time.Minute))
	apply(t, e, change("d10", "redis", 20*time.Second, 3*time.Minute))
	r := restoredCopy(t, e)
	for _, x := range []*Engine{e, r} {
		all := x.Changes("", t0.Add(-time.Hour), 0)
		if len(all) != 2 || all[0].ID != "d9" || !all[0].At.Equal(t0.Add(30*time.Second)) || all[1].ID != "d10" {
			t.Fatalf("changes: %s", dump(all))
		}
		if got := x.Changes("redis", t0.Add(-time.Hour), 0); len(got) != 1 || got[0].ID != "d10" {
			t.Fatalf("changes of redis: %s", dump(got))
		}
		if got := x.Changes("", t0.Add(25*time.Second), 0); len(got) != 1 {
			t.Fatalf("changes since 25s: %s", dump(got))
		}
	}
	for _, bad := range []*model.Change{
		{ID: "x", Kind: "deploy", At: t0},
		{Service: "a", Kind: "deploy", At: t0},
		{ID: "x", Service: "a", At: t0},
		{ID: "x", Service: "a", Kind: "deploy"},
		{ID: "x", Service: "a", Kind: "deploy", At: t0, URL: "javascript:alert(1)"},
	} {
		if err := e.CheckAction(&model.Action{Kind: model.ActionChange, Change: bad}); err == nil {
			t.Errorf("change %+v accepted", bad)
		}
	}
}
