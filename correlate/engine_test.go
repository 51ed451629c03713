package correlate

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func boutique() Topology {
	return Topology{Label: "service", DependsOn: map[string][]string{
		"frontend": {"checkout", "catalog", "cart", "ad"},
		"checkout": {"payment", "cart", "email"},
		"cart":     {"redis"},
	}}
}

func al(name, service string, extra ...string) model.Alert {
	ls := model.LabelSet{"alertname": name, "severity": "critical"}
	if service != "" {
		ls["service"] = service
	}
	for i := 0; i+1 < len(extra); i += 2 {
		ls[extra[i]] = extra[i+1]
	}
	return model.Alert{Labels: ls, Annotations: model.LabelSet{"summary": name + " on " + service}}
}

// send applies alert a received at offset off, started at offset start,
// ending 4 minutes after receipt (as Prometheus sends it).
func send(e *Engine, a model.Alert, off, start time.Duration) {
	a.StartsAt = t0.Add(start)
	a.EndsAt = t0.Add(off + 4*time.Minute)
	e.ApplyBatch(&model.Batch{At: t0.Add(off), Alerts: []model.Alert{a}})
}

func resolve(e *Engine, a model.Alert, off time.Duration) {
	a.StartsAt = t0
	a.EndsAt = t0.Add(off)
	e.ApplyBatch(&model.Batch{At: t0.Add(off), Alerts: []model.Alert{a}})
}

func only(t *testing.T, e *Engine) *model.Incident {
	t.Helper()
	all := e.All()
	if len(all) != 1 {
		t.Fatalf("want 1 incident, got %d: %s", len(all), dump(all))
	}
	return all[0]
}

// restoredCopy restores a snapshot of e into a new engine with e's
// configuration, as a restart would.
func restoredCopy(t *testing.T, e *Engine) *Engine {
	t.Helper()
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := New(e.cfg, e.topo)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	return r
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", " ")
	return string(b)
}

func TestDeduplicatesRepeats(t *testing.T) {
	e := New(Config{}, Topology{})
	a := al("HighErrorRate", "payment")
	for i := 0; i < 5; i++ {
		send(e, a, time.Duration(i)*time.Minute, 0)
	}
	inc := only(t, e)
	if len(inc.Members) != 1 {
		t.Fatalf("members = %d", len(inc.Members))
	}
	st := e.IncidentAlerts(inc.ID)
	if st[0].Count != 5 || !st[0].FirstSeen.Equal(t0) || !st[0].LastSeen.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("alert state = %+v", st[0])
	}
	if s := e.Stats(); s.Alerts != 5 || s.Deduplicated != 4 {
		t.Fatalf("stats = %+v", s)
	}
}

func TestGroupByJoinsSameKey(t *testing.T) {
	e := New(Config{}, Topology{})
	send(e, al("HighLatency", "api", "instance", "a:1"), 0, 0)
	send(e, al("HighLatency", "api", "instance", "b:1"), time.Minute, time.Minute)
	send(e, al("DiskFull", "db", "instance", "c:1"), time.Minute, time.Minute)
	all := e.All()
	if len(all) != 2 {
		t.Fatalf("want 2 incidents, got %s", dump(all))
	}
	m := all[0].Members
	if len(m) != 2 || m[1].Reason.Kind != model.ReasonGroup || !strings.Contains(m[1].Reason.Detail, `alertname="HighLatency"`) {
		t.Fatalf("members = %s", dump(m))
	}
}

func TestTopologyCascadeFindsRootCause(t *testing.T) {
	for _, order := range [][]string{{"payment", "checkout", "frontend"}, {"frontend", "checkout", "payment"}} {
		t.Run(strings.Join(order, ">"), func(t *testing.T) {
			e := New(Config{}, boutique())
			for i, svc := range order {
				// Event time says payment started first even when delivered last.
				start := map[string]time.Duration{"payment": 0, "checkout": 40 * time.Second, "frontend": 90 * time.Second}[svc]
				send(e, al("Errors"+svc, svc), time.Duration(i)*time.Minute, start)
			}
			inc := only(t, e)
			if inc.RootCause.Service != "payment" {
				t.Fatalf("root cause = %q, evidence %v", inc.RootCause.Service, inc.RootCause.Evidence)
			}
			for _, m := range inc.Members[1:] {
				if m.Reason.Kind != model.ReasonTopology {
					t.Fatalf("member %s joined by %s", m.Name, m.Reason.Kind)
				}
			}
			if !strings.HasPrefix(inc.Title, "payment: Errorspayment") {
				t.Fatalf("title = %q", inc.Title)
			}
		})
	}
}

func TestTwoHopCascadeWithSilentMiddle(t *testing.T) {
	e := New(Config{}, boutique())
	send(e, al("RedisDown", "redis"), 0, 0)
	send(e, al("FrontendErrors", "frontend"), time.Minute, time.Minute) // cart (between) did not alert
	inc := only(t, e)
	if inc.Members[1].Reason.Kind != model.ReasonTopology || !strings.Contains(inc.Members[1].Reason.Detail, "2 hops") {
		t.Fatalf("reason = %+v", inc.Members[1].Reason)
	}
	if inc.RootCause.Service != "redis" {
		t.Fatalf("root = %q", inc.RootCause.Service)
	}
}

func TestSiblingsAndDistantAlertsStaySeparate(t *testing.T) {
	e := New(Config{}, boutique())
	send(e, al("PaymentErrors", "payment"), 0, 0)
	send(e, al("CatalogErrors", "catalog"), 30*time.Second, 30*time.Second)  // no directed path to payment
	send(e, al("PaymentErrors2", "payment"), 20*time.Minute, 20*time.Minute) // outside the window
	if n := len(e.All()); n != 3 {
		t.Fatalf("want 3 incidents, got %s", dump(e.All()))
	}
}

func TestHostAlertPullsInServicesOnHost(t *testing.T) {
	e := New(Config{}, boutique())
	send(e, al("EmailDown", "email", "host", "node-3"), 0, 0)
	send(e, al("AdDown", "ad", "host", "node-3"), 10*time.Second, 10*time.Second)
	send(e, al("Unrelated", "catalog", "host", "node-1"), 10*time.Second, 10*time.Second)
	if n := len(e.All()); n != 3 {
		t.Fatalf("before host alert: want 3 incidents, got %d", n)
	}
	send(e, al("HostDown", "", "host", "node-3"), 30*time.Second, 0)
	open, _ := e.Incidents(Filter{Status: model.IncidentOpen})
	if len(open) != 2 {
		t.Fatalf("want 2 open incidents after merge, got %s", dump(open))
	}
	var host *model.Incident
	for _, inc := range open {
		if inc.RootCause.Service == "host:node-3" {
			host = inc
		}
	}
	if host == nil || len(host.Members) != 3 {
		t.Fatalf("no merged host incident: %s", dump(open))
	}
}

func TestResolveReopenAndNewEpisode(t *testing.T) {
	e := New(Config{}, Topology{})
	a := al("Down", "api")
	send(e, a, 0, 0)
	resolve(e, a, 2*time.Minute)
	inc := only(t, e)
	if inc.Status != model.IncidentResolved || !inc.ResolvedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("after resolve: %s at %v", inc.Status, inc.ResolvedAt)
	}
	send(e, a, 5*time.Minute, 5*time.Minute) // within 15m grace: reopen
	inc = only(t, e)
	if inc.Status != model.IncidentOpen {
		t.Fatalf("not reopened: %s", inc.Status)
	}
	resolve(e, a, 6*time.Minute)
	send(e, a, time.Hour, time.Hour) // long after: new incident
	if n := len(e.All()); n != 2 {
		t.Fatalf("want a new incident after the grace period, got %d", n)
	}
}

func TestExpiryResolvesSilentAlert(t *testing.T) {
	e := New(Config{}, Topology{})
	send(e, al("Down", "api"), 0, 0) // endsAt = +4m
	e.Advance(t0.Add(3 * time.Minute))
	if inc := only(t, e); inc.Status != model.IncidentOpen {
		t.Fatalf("resolved too early")
	}
	e.Advance(t0.Add(5 * time.Minute))
	inc := only(t, e)
	if inc.Status != model.IncidentResolved || !inc.ResolvedAt.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("want resolved at endsAt, got %s at %v", inc.Status, inc.ResolvedAt)
	}
}

func TestFlappingAlertKeepsOneIncident(t *testing.T) {
	e := New(Config{ReopenGrace: Duration(time.Minute)}, Topology{})
	a := al("Flappy", "api")
	for i := 0; i < 6; i++ {
		off := time.Duration(i) * 5 * time.Minute
		send(e, a, off, off)
		resolve(e, a, off+2*time.Minute)
	}
	all := e.All()
	// The first few transitions are beyond the 1m grace; once flapping is
	// detected (more than 3 firings within the hour) it stays in one incident.
	if len(all) > 4 {
		t.Fatalf("flapping alert opened %d incidents", len(all))
	}
	last := all[len(all)-1]
	st := e.IncidentAlerts(last.ID)
	if !st[0].Flapping {
		t.Fatalf("alert not marked flapping: %+v", st[0])
	}
	found := false
	for _, tl := range last.Timeline {
		found = found || tl.Event == "reopened" && strings.Contains(tl.Detail, "flapping")
	}
	if !found {
		t.Fatalf("no flapping reopen in timeline: %s", dump(last.Timeline))
	}
}

func TestRecurringIncidentsBecomeProblem(t *testing.T) {
	e := New(Config{}, boutique())
	a := al("PaymentErrors", "payment")
	for day := 0; day < 3; day++ {
		off := time.Duration(day) * 24 * time.Hour
		send(e, a, off, off)
		resolve(e, a, off+10*time.Minute)
	}
	ps := e.Problems()
	if len(ps) != 1 || len(ps[0].Incidents) != 3 {
		t.Fatalf("problems = %s", dump(ps))
	}
	for _, inc := range e.All() {
		if inc.Problem != ps[0].ID {
			t.Fatalf("incident %s not linked: %q", inc.ID, inc.Problem)
		}
	}
}

func TestActions(t *testing.T) {
	e := New(Config{}, Topology{})
	send(e, al("Down", "api"), 0, 0)
	id := only(t, e).ID
	if err := e.ApplyAction(&model.Action{At: t0.Add(time.Minute), Kind: model.ActionAck, Incident: id, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	if inc := e.Incident(id); inc.Status != model.IncidentAcknowledged || inc.Assignee != "ana" {
		t.Fatalf("after ack: %+v", inc)
	}
	if err := e.ApplyAction(&model.Action{Kind: model.ActionAssign, Incident: id}); err == nil {
		t.Fatal("assign without assignee accepted")
	}
	if err := e.ApplyAction(&model.Action{Kind: model.ActionAck, Incident: "INC-404"}); err == nil {
		t.Fatal("unknown incident accepted")
	}
	if err := e.ApplyAction(&model.Action{At: t0.Add(2 * time.Minute), Kind: model.ActionResolve, Incident: id, Value: "restarted pod"}); err != nil {
		t.Fatal(err)
	}
	inc := e.Incident(id)
	if inc.Status != model.IncidentResolved || inc.Notes != "restarted pod" {
		t.Fatalf("after resolve: %+v", inc)
	}
	// Still-firing resends do not reopen an incident an agent resolved.
	send(e, al("Down", "api"), 3*time.Minute, 0)
	if inc := only(t, e); inc.Status != model.IncidentResolved {
		t.Fatalf("manual resolution undone by a resend")
	}
}

func TestTokenize(t *testing.T) {
	got := strings.Join(Tokenize("KubePodCrashLooping: HTTPServerErrors on api-7 is high"), " ")
	if got != "kube pod crash looping http server errors api high" {
		t.Fatalf("tokens = %q", got)
	}
}

// A scenario mixing everything, applied straight through and with a
// snapshot/restore in the middle, must give identical incidents.
func TestSnapshotRestoreIsTransparent(t *testing.T) {
	var batches []*model.Batch
	svcs := []string{"frontend", "checkout", "payment", "cart", "redis", "email", "ad", "catalog"}
	for i := 0; i < 400; i++ {
		svc := svcs[(i*7)%len(svcs)]
		a := al(fmt.Sprintf("Alert%d", i%13), svc, "host", fmt.Sprintf("node-%d", i%4), "instance", fmt.Sprint(i%5))
		if i%5 == 0 {
			delete(a.Labels, "host") // some incidents start without infrastructure labels
		}
		at := t0.Add(time.Duration(i) * 17 * time.Second)
		a.StartsAt = at.Add(-time.Duration(i%3) * 10 * time.Second)
		a.EndsAt = at.Add(4 * time.Minute)
		if i%9 == 0 {
			a.EndsAt = at
		}
		batches = append(batches, &model.Batch{At: at, Alerts: []model.Alert{a}})
	}
	straight := New(Config{}, boutique())
	for _, b := range batches {
		straight.ApplyBatch(b)
	}
	split := New(Config{}, boutique())
	for i, b := range batches {
		if i%100 == 50 {
			snap, err := split.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			split = New(Config{}, boutique())
			if err := split.Restore(snap); err != nil {
				t.Fatal(err)
			}
		}
		split.ApplyBatch(b)
	}
	a, b := dump(straight.All()), dump(split.All())
	if a != b {
		t.Fatalf("restored engine diverged:\n%s\n---\n%s", a[:min(len(a), 3000)], b[:min(len(b), 3000)])
	}
	if len(straight.All()) < 5 {
		t.Fatalf("scenario too small to mean anything: %d incidents", len(straight.All()))
	}
}

// Text joins alerts the topology cannot place; it does not join services
// the dependency graph knows and keeps apart.
func TestTextJoinsOnlyWhereTopologyIsSilent(t *testing.T) {
	probe := func(service string) model.Alert {
		a := al("BlackboxProbeFailed", service)
		a.Annotations = model.LabelSet{"summary": "Blackbox probe failed"}
		return a
	}
	e := New(Config{}, boutique())
	send(e, probe("payment"), 0, 0)
	send(e, probe("catalog"), 20*time.Second, 20*time.Second) // both in the graph, no path between them
	if n := len(e.All()); n != 2 {
		t.Fatalf("unrelated services joined by text: %s", dump(e.All()))
	}
	send(e, probe("billing-legacy"), 40*time.Second, 40*time.Second) // not in the graph
	all := e.All()
	if len(all) != 2 {
		t.Fatalf("a service outside the graph should join by text: %s", dump(all))
	}
	var joined *model.Member
	for _, inc := range all {
		for i, m := range inc.Members {
			if m.Service == "billing-legacy" {
				joined = &inc.Members[i]
			}
		}
	}
	if joined == nil || joined.Reason.Kind != model.ReasonText {
		t.Fatalf("want a text join, got %s", dump(all))
	}
}

// A snapshot omits an incident's empty summaries: after a restart, the
// first member with an infrastructure label must not find them missing.
func TestRestoredIncidentTakesFirstInfraMember(t *testing.T) {
	e := New(Config{InfraLabels: []string{"host"}}, boutique())
	send(e, al("PaymentCrashLooping", "payment"), 0, 0)
	r := restoredCopy(t, e)
	send(r, al("CheckoutHighErrorRate", "checkout", "host", "n1"), 30*time.Second, 30*time.Second)
	if inc := only(t, r); len(inc.Members) != 2 || inc.RootCause.Service != "payment" {
		t.Fatalf("%s", dump(inc))
	}
}

// IncidentAlertsN copies at most n alerts of an incident, the first to
// join first; a negative n copies them all.
func TestIncidentAlertsN(t *testing.T) {
	e := New(Config{}, Topology{})
	for i := range 5 {
		send(e, al("HighErrorRate", "payment", "instance", fmt.Sprint(i)), time.Duration(i)*time.Second, time.Duration(i)*time.Second)
	}
	inc := only(t, e)
	all := e.IncidentAlertsN(inc.ID, -1)
	two := e.IncidentAlertsN(inc.ID, 2)
	if len(all) != 5 || len(two) != 2 || two[0].Fingerprint != inc.Members[0].Fingerprint || two[1].Fingerprint != all[1].Fingerprint {
		t.Fatalf("all %d, two %d: %+v", len(all), len(two), two)
	}
	if got := e.IncidentAlertsN(inc.ID, 0); len(got) != 0 {
		t.Fatalf("n=0: %d alerts", len(got))
	}
}
