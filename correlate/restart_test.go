package correlate

import (
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// An alert that joined a long-running incident and later fired again in
// an incident of its own, which resolved and was collected, is still a
// member of the first one: collecting the second must not drop the alert
// (a restart would lose the member, and the incident its count).
func TestGCKeepsAlertsOfLiveIncidents(t *testing.T) {
	e := New(Config{GroupBy: []string{"team"}, Retention: Duration(time.Hour)}, Topology{})
	x, z := al("DiskFull", "", "team", "db"), al("ReplicaLag", "", "team", "db")
	send(e, x, 0, 0)
	z.StartsAt = t0.Add(time.Minute) // sent once, no end: firing until resolved
	e.ApplyBatch(&model.Batch{At: t0.Add(time.Minute), Alerts: []model.Alert{z}})
	resolve(e, x, 2*time.Minute)
	send(e, x, 40*time.Minute, 40*time.Minute) // fires again: alone now
	resolve(e, x, 41*time.Minute)
	if n := len(e.All()); n != 2 {
		t.Fatalf("want 2 incidents, got %d: %s", n, dump(e.All()))
	}
	e.Advance(t0.Add(3 * time.Hour)) // the second incident is collected
	all := e.All()
	if len(all) != 1 || all[0].AlertCount != 2 || len(e.IncidentAlerts(all[0].ID)) != 2 {
		t.Fatalf("want the first incident with its 2 alerts, got %s", dump(all))
	}
	r := restoredCopy(t, e)
	if a, b := dump(e.All()), dump(r.All()); a != b {
		t.Fatalf("restored engine differs:\n%s\n----\n%s", a, b)
	}
	if a, b := dump(e.IncidentAlerts(all[0].ID)), dump(r.IncidentAlerts(all[0].ID)); a != b {
		t.Fatalf("restored alerts differ:\n%s\n----\n%s", a, b)
	}
}

// The words of an alert are read from its first notification; a later
// one with another summary changes nothing, before a restart or after.
func TestRestartKeepsAnAlertsWords(t *testing.T) {
	e := New(Config{}, boutique())
	a := al("PodWarning", "cart")
	a.Annotations = model.LabelSet{"summary": "pod restarted"}
	send(e, a, 0, 0)
	a.Annotations = model.LabelSet{"summary": "upstream latency degraded"}
	send(e, a, time.Minute, 0)
	r := restoredCopy(t, e)
	if a, b := internalView(e), internalView(r); dump(a) != dump(b) {
		t.Fatalf("restored state differs:\n%s\n----\n%s", dump(a), dump(b))
	}
	// A symptom on a caller would join a fault of cart only if cart's
	// alert read like one: the same on both.
	for _, x := range []*Engine{e, r} {
		send(x, al("CheckoutErrors", "checkout"), 2*time.Minute, 2*time.Minute)
	}
	if a, b := dump(e.All()), dump(r.All()); a != b {
		t.Fatalf("incidents differ after a restart:\n%s\n----\n%s", a, b)
	}
}
