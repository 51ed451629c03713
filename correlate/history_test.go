package correlate

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// The history events of one incident's life, in order, with what each
// carries; incident ids take the configured prefix.
func TestHistoryEvents(t *testing.T) {
	e := New(Config{IDPrefix: "eu1"}, Topology{DependsOn: map[string][]string{"checkout": {"payment"}}})
	e.EmitHistory(true)
	pay, co := al("PaymentDown", "payment"), al("CheckoutErrors", "checkout")
	send(e, pay, 0, 0)
	send(e, pay, time.Minute, 0) // a repeat: no event
	send(e, co, 90*time.Second, 90*time.Second)
	if err := e.ApplyAction(&model.Action{At: t0.Add(2 * time.Minute), Kind: model.ActionAck, Incident: "eu1-INC-1", Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	resolve(e, pay, 3*time.Minute)
	resolve(e, co, 4*time.Minute)
	send(e, pay, 5*time.Minute, 5*time.Minute) // fires again within the reopen grace

	alerts, life := e.DrainHistory()
	var got []string
	for _, a := range alerts {
		got = append(got, fmt.Sprintf("%s %s %s %s n=%d", a.At.Sub(t0), a.Labels["alertname"], a.Kind, a.Incident, a.Notifications))
	}
	want := []string{
		"0s PaymentDown firing eu1-INC-1 n=1",
		"1m30s CheckoutErrors firing eu1-INC-1 n=1",
		"3m0s PaymentDown resolved eu1-INC-1 n=2", // the repeat and the resolving notification
		"4m0s CheckoutErrors resolved eu1-INC-1 n=1",
		"5m0s PaymentDown refired eu1-INC-1 n=1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("alert events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = got[:0]
	for _, l := range life {
		got = append(got, fmt.Sprintf("%s %s %s %s root=%s", l.At.Sub(t0), l.Incident, l.Event, l.AlertName, l.RootCause))
	}
	want = []string{
		"0s eu1-INC-1 opened PaymentDown root=payment",
		"1m30s eu1-INC-1 joined CheckoutErrors root=payment",
		"2m0s eu1-INC-1 acknowledged  root=payment",
		"4m0s eu1-INC-1 resolved  root=payment",
		"5m0s eu1-INC-1 reopened PaymentDown root=payment",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lifecycle events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if life[2].Actor != "ana" || life[0].OpenedAt != t0 || life[0].Fingerprint != pay.Labels.Fingerprint() {
		t.Fatalf("event details: %+v", life[:3])
	}
	if a, l := e.DrainHistory(); a != nil || l != nil {
		t.Fatal("drained twice")
	}
	// Without EmitHistory nothing is kept.
	quiet := New(Config{}, Topology{})
	send(quiet, pay, 0, 0)
	if a, l := quiet.DrainHistory(); a != nil || l != nil {
		t.Fatal("history events without EmitHistory")
	}
	if err := (Config{IDPrefix: "eu 1"}).Validate(); err == nil {
		t.Fatal("id_prefix with a space accepted")
	}
}

// An incident that holds max_alerts_per_incident alerts stops growing and
// says so; the alerts that belong with it open an overflow incident whose
// seed says why.
func TestMaxAlertsPerIncident(t *testing.T) {
	e := New(Config{MaxAlertsPerIncident: 5}, Topology{})
	for i := 0; i < 12; i++ {
		send(e, al("HighLatency", "api", "pod", fmt.Sprint(i)), time.Duration(i)*time.Second, 0)
	}
	all := e.All()
	if len(all) != 3 {
		t.Fatalf("%d incidents, want 3 (5 + 5 + 2)", len(all))
	}
	sizes := []int{len(all[0].Members), len(all[1].Members), len(all[2].Members)}
	if fmt.Sprint(sizes) != "[5 5 2]" && fmt.Sprint(sizes) != "[2 5 5]" {
		t.Fatalf("sizes %v", sizes)
	}
	var full, overflow *model.Incident
	for _, inc := range all {
		if inc.ID == "INC-1" {
			full = inc
		}
		if inc.ID == "INC-2" {
			overflow = inc
		}
	}
	if seed := overflow.Members[0].Reason; !strings.Contains(seed.Detail, "overflow") || seed.Via != "INC-1" {
		t.Fatalf("overflow seed reason: %+v", seed)
	}
	hasFull := false
	for _, tl := range full.Timeline {
		hasFull = hasFull || tl.Event == "full"
	}
	if !hasFull {
		t.Fatalf("INC-1's timeline does not say it is full: %+v", full.Timeline)
	}
	// A restart keeps the bound.
	r := restoredCopy(t, e)
	send(r, al("HighLatency", "api", "pod", "new"), 20*time.Second, 20*time.Second)
	for _, inc := range r.All() {
		if len(inc.Members) > 5 {
			t.Fatalf("%s grew to %d after a restart", inc.ID, len(inc.Members))
		}
	}
}

// An LLM's triage reaches history as a "triaged" lifecycle event whose
// detail is the triage itself, and the incident's subscribers get an
// "updated" event carrying it (issue #11: the incident events on Kafka and
// in history carry the triage).
func TestTriageInHistoryAndEvents(t *testing.T) {
	e := New(Config{}, Topology{})
	e.EmitHistory(true)
	e.EmitEvents(true)
	send(e, al("PaymentDown", "payment"), 0, 0)
	e.DrainHistory()
	e.Drain()
	tr := &model.Triage{Summary: "Payment is down.", ProbableCause: "crash loop", NextSteps: []string{"roll back"},
		Team: "payments", Category: "availability", Priority: "P2", Source: "llm", Model: "m1", At: t0.Add(time.Minute)}
	if err := e.ApplyAction(&model.Action{At: t0.Add(time.Minute), Kind: model.ActionTriage, Incident: "INC-1", Actor: "llm:m1", Triage: tr}); err != nil {
		t.Fatal(err)
	}
	_, life := e.DrainHistory()
	if len(life) != 1 || life[0].Event != "triaged" || life[0].Actor != "llm:m1" {
		t.Fatalf("lifecycle: %+v", life)
	}
	var got model.Triage
	if err := json.Unmarshal([]byte(life[0].Detail), &got); err != nil || got.Summary != tr.Summary || got.Team != "payments" || len(got.NextSteps) != 1 {
		t.Fatalf("triaged detail %q: %v", life[0].Detail, err)
	}
	ev := e.Drain()
	if len(ev) != 1 || ev[0].Type != model.EventUpdated || ev[0].Incident.Triage == nil || ev[0].Incident.Triage.ProbableCause != "crash loop" {
		t.Fatalf("events: %s", dump(ev))
	}
}
