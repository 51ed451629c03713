package correlate

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

func silence(id string, start, end time.Duration, matchers ...model.SilenceMatcher) *model.Action {
	return &model.Action{At: t0.Add(start), Kind: model.ActionSilence, Silence: &model.Silence{
		ID: id, Matchers: matchers, StartsAt: t0.Add(start), EndsAt: t0.Add(end), CreatedBy: "ops", Comment: "maintenance"}}
}

// sendLong sends a that ends an hour after receipt.
func sendLong(e *Engine, a model.Alert, off time.Duration) {
	a.StartsAt = t0.Add(off)
	a.EndsAt = t0.Add(off + time.Hour)
	e.ApplyBatch(&model.Batch{At: t0.Add(off), Alerts: []model.Alert{a}})
}

func eq(name, value string) model.SilenceMatcher {
	return model.SilenceMatcher{Name: name, Value: value}
}

func apply(t *testing.T, e *Engine, a *model.Action) {
	t.Helper()
	if err := e.CheckAction(a); err != nil {
		t.Fatalf("check %s: %v", a.Kind, err)
	}
	if err := e.ApplyAction(a); err != nil {
		t.Fatalf("apply %s: %v", a.Kind, err)
	}
}

func alertState(e *Engine, name string) *model.AlertState {
	for _, st := range e.Alerts() {
		if st.Labels["alertname"] == name {
			return &st
		}
	}
	return nil
}

// A silenced alert is stored and shown as muted, opens no incident while
// the silence lasts, and is correlated when the silence ends.
func TestSilenceHoldsAlertUntilItEnds(t *testing.T) {
	e := New(Config{}, boutique())
	apply(t, e, silence("s1", 0, 30*time.Minute, eq("service", "payment")))
	send(e, al("PaymentDown", "payment"), time.Minute, time.Minute)
	send(e, al("CartLatency", "cart"), time.Minute, time.Minute)
	st := alertState(e, "PaymentDown")
	if st == nil || !st.Held || !slices.Equal(st.SilencedBy, []string{"s1"}) || st.Incident != "" {
		t.Fatalf("silenced alert state: %+v", st)
	}
	inc := only(t, e) // CartLatency alone
	if inc.RootCause.Service != "cart" {
		t.Fatalf("unsilenced alert's incident: %s", dump(inc))
	}
	// Repeated notifications while silenced change nothing.
	send(e, al("PaymentDown", "payment"), 10*time.Minute, time.Minute)
	send(e, al("CartLatency", "cart"), 10*time.Minute, time.Minute)
	if len(e.All()) != 1 {
		t.Fatalf("silenced alert joined or opened an incident: %s", dump(e.All()))
	}
	// The silence ends at 30m: the still-firing alert is correlated then.
	send(e, al("CartLatency", "cart"), 29*time.Minute, time.Minute)
	send(e, al("PaymentDown", "payment"), 29*time.Minute, time.Minute)
	if !e.Due(t0.Add(30 * time.Minute)) {
		t.Fatal("the end of a silence holding an alert is not due")
	}
	e.Advance(t0.Add(30 * time.Minute))
	st = alertState(e, "PaymentDown")
	if st.Held || len(st.SilencedBy) != 0 || st.Incident == "" {
		t.Fatalf("alert after its silence ended: %+v", st)
	}
	pinc := e.Incident(st.Incident)
	if !pinc.OpenedAt.Equal(t0.Add(30*time.Minute)) && pinc.ID != inc.ID {
		t.Fatalf("released alert's incident opened at %s: %s", pinc.OpenedAt, dump(pinc))
	}
}

// An operator expiring a silence releases what it held at once; an alert
// that resolves while held never opens anything.
func TestExpireSilenceAndResolveWhileHeld(t *testing.T) {
	e := New(Config{}, Topology{})
	apply(t, e, silence("s1", 0, time.Hour, eq("alertname", "DiskFull")))
	apply(t, e, silence("s2", 0, time.Hour, model.SilenceMatcher{Name: "instance", Value: "db-.*", IsRegex: true}))
	sendLong(e, al("DiskFull", "db", "instance", "a"), time.Minute)
	sendLong(e, al("Backup", "db", "instance", "db-7"), time.Minute)
	sendLong(e, al("Replica", "db", "instance", "db-7", "alertname", "DiskFull"), time.Minute)
	if n := len(e.All()); n != 0 {
		t.Fatalf("held alerts opened %d incidents", n)
	}
	if st := alertState(e, "DiskFull"); st == nil || len(st.SilencedBy) == 0 {
		t.Fatalf("state %+v", st)
	}
	resolve(e, al("Backup", "db", "instance", "db-7"), 5*time.Minute)
	apply(t, e, &model.Action{At: t0.Add(10 * time.Minute), Kind: model.ActionExpireSilence, Value: "s1"})
	if err := e.CheckAction(&model.Action{At: t0.Add(11 * time.Minute), Kind: model.ActionExpireSilence, Value: "s1"}); err == nil {
		t.Fatal("expiring an expired silence was accepted")
	}
	if err := e.CheckAction(&model.Action{At: t0.Add(11 * time.Minute), Kind: model.ActionExpireSilence, Value: "nope"}); err == nil {
		t.Fatal("expiring an unknown silence was accepted")
	}
	// DiskFull{instance=a} is free; DiskFull{instance=db-7} is still muted by s2.
	all := e.All()
	if len(all) != 1 || all[0].AlertCount != 1 || all[0].Members[0].Name != "DiskFull" || !all[0].OpenedAt.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("after expiring s1: %s", dump(all))
	}
	for _, st := range e.Alerts() {
		if st.Labels["instance"] == "db-7" && (!st.Held || !slices.Equal(st.SilencedBy, []string{"s2"})) {
			t.Fatalf("alert still muted by s2: %+v", st)
		}
	}
	ss := e.Silences()
	if len(ss) != 2 || ss[0].ID != "s2" || ss[0].State(e.Now()) != model.SilenceActive || ss[1].State(e.Now()) != model.SilenceExpired {
		t.Fatalf("silences: %s", dump(ss))
	}
}

// Alerts already in an incident stay there when a silence starts; the
// silence shows them as muted. A pending silence mutes nothing yet.
func TestSilenceStartingLaterDoesNotTearIncidents(t *testing.T) {
	e := New(Config{}, boutique())
	apply(t, e, silence("later", 0, time.Hour, eq("service", "cart")))
	e.sil.byID["later"].s.StartsAt = t0.Add(20 * time.Minute) // pending until 20m
	sendLong(e, al("CartDown", "cart"), time.Minute)
	inc := only(t, e)
	if st := alertState(e, "CartDown"); st.Held || len(st.SilencedBy) != 0 || st.Incident != inc.ID {
		t.Fatalf("alert before its silence started: %+v", st)
	}
	send(e, al("CartDown", "cart"), 21*time.Minute, time.Minute)
	st := alertState(e, "CartDown")
	if st.Held || !slices.Equal(st.SilencedBy, []string{"later"}) || st.Incident != inc.ID {
		t.Fatalf("alert in an incident when its silence started: %+v", st)
	}
}

func TestSilenceValidation(t *testing.T) {
	e := New(Config{}, Topology{})
	for _, c := range []struct {
		a    *model.Action
		want string
	}{
		{silence("a", 0, time.Hour), "at least one matcher"},
		{silence("b", 0, time.Hour, model.SilenceMatcher{Name: "x", Value: ".*", IsRegex: true}), "must not match the empty string"},
		{silence("c", time.Hour, 0, eq("a", "b")), "not after startsAt"},
		{silence("d", 0, time.Hour, model.SilenceMatcher{Name: "x", Value: "(", IsRegex: true}), "invalid regex"},
		{silence("e", 0, time.Hour, eq("bad-name", "b")), "matchers[0].name"},
		{silence("", 0, time.Hour, eq("a", "b")), "id missing"},
	} {
		err := e.CheckAction(c.a)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("silence %+v: error %v, want %q", c.a.Silence, err, c.want)
		}
	}
}

// Silences and held alerts survive a snapshot: the restored engine
// releases the same alert at the same time.
func TestSilencesSurviveSnapshot(t *testing.T) {
	run := func(restart bool) []*model.Incident {
		e := New(Config{}, boutique())
		apply(t, e, silence("s1", 0, 30*time.Minute, eq("service", "payment")))
		send(e, al("PaymentDown", "payment"), time.Minute, time.Minute)
		if restart {
			e = restoredCopy(t, e)
		}
		if st := alertState(e, "PaymentDown"); st == nil || !st.Held {
			t.Fatalf("restart=%v: held state lost: %+v", restart, st)
		}
		sendLong(e, al("PaymentDown", "payment"), 25*time.Minute)
		e.Advance(t0.Add(31 * time.Minute))
		return e.All()
	}
	a, b := run(false), run(true)
	if len(a) != 1 || dump(a) != dump(b) {
		t.Fatalf("restored engine differs:\n%s\n%s", dump(a), dump(b))
	}
}
