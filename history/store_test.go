package history

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

// sampleBatch is a small history with known answers: 3 incidents (two of
// payments, one of web), acks, resolutions, a reopen, a flapping alert
// and a problem.
func sampleBatch() *Batch {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	var b Batch
	alert := func(m int, fp, name, svc, kind, inc, team, prio string, notes uint32, flap bool) {
		b.Alerts = append(b.Alerts, AlertRow{ID: eventID("a", fp, kind, fmt.Sprint(m)), Time: at(m), Fingerprint: fp, AlertName: name,
			Service: svc, Severity: "critical", Status: map[bool]string{true: "resolved", false: "firing"}[kind == "resolved"],
			Kind: kind, StartsAt: at(m), Incident: inc, Team: team, Priority: prio, Notifications: notes, Flapping: flap,
			LabelKeys: []string{"alertname", "service"}, LabelValues: []string{name, svc}})
	}
	inc := func(m int, id, event, name, root, team, prio, problem string, opened int) {
		b.Incidents = append(b.Incidents, IncidentRow{ID: eventID("i", id, event, fmt.Sprint(m), name), Time: at(m), Incident: id,
			Event: event, AlertName: name, Services: []string{root}, RootCause: root, Signature: root + "|" + name, Title: root + ": " + name,
			Team: team, Priority: prio, Problem: problem, OpenedAt: at(opened), AlertCount: 1})
	}
	// INC-1 payments P1: opened 10:00, acked 10:05, resolved 10:30.
	alert(0, "f1", "PaymentDown", "payment", "firing", "INC-1", "payments", "P1", 1, false)
	alert(1, "f2", "CheckoutErrors", "checkout", "firing", "INC-1", "payments", "P1", 1, false)
	inc(0, "INC-1", "opened", "PaymentDown", "payment", "", "", "", 0) // classified a moment later
	inc(0, "INC-1", "classified", "", "payment", "payments", "P1", "", 0)
	inc(1, "INC-1", "joined", "CheckoutErrors", "payment", "payments", "P1", "", 0)
	inc(5, "INC-1", "acknowledged", "", "payment", "payments", "P1", "", 0)
	alert(30, "f1", "PaymentDown", "payment", "resolved", "INC-1", "payments", "P1", 9, false)
	alert(30, "f2", "CheckoutErrors", "checkout", "resolved", "INC-1", "payments", "P1", 4, false)
	inc(30, "INC-1", "resolved", "", "payment", "payments", "P1", "", 0)
	// INC-2 web P3, 11:10: flapping alert, resolved, reopened, resolved at 12:00; never acked.
	alert(70, "f3", "HighLatency", "frontend", "firing", "INC-2", "web", "P3", 1, false)
	inc(70, "INC-2", "opened", "HighLatency", "frontend", "web", "P3", "", 70)
	alert(80, "f3", "HighLatency", "frontend", "resolved", "INC-2", "web", "P3", 2, false)
	inc(80, "INC-2", "resolved", "", "frontend", "web", "P3", "", 70)
	alert(85, "f3", "HighLatency", "frontend", "refired", "INC-2", "web", "P3", 1, true)
	inc(85, "INC-2", "reopened", "HighLatency", "frontend", "web", "P3", "", 70)
	alert(120, "f3", "HighLatency", "frontend", "resolved", "INC-2", "web", "P3", 3, true)
	inc(120, "INC-2", "resolved", "", "frontend", "web", "P3", "", 70)
	// INC-3 payments P2, next day: same signature as INC-1, in problem PRB-1; reclassified P1 by an agent.
	alert(1440, "f1", "PaymentDown", "payment", "refired", "INC-3", "payments", "P2", 1, false)
	inc(1440, "INC-3", "opened", "PaymentDown", "payment", "payments", "P2", "PRB-1", 1440)
	inc(1442, "INC-3", "acknowledged", "", "payment", "payments", "P2", "PRB-1", 1440)
	inc(1450, "INC-3", "classified", "", "payment", "payments", "P1", "PRB-1", 1440)
	alert(1500, "f1", "PaymentDown", "payment", "resolved", "INC-3", "payments", "P1", 5, false)
	inc(1500, "INC-3", "resolved", "", "payment", "payments", "P1", "PRB-1", 1440)
	return &b
}

// checkStore runs the primitive queries on s (holding sampleBatch) and
// compares them with the answers worked out by hand.
func checkStore(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	since, until := t0.Add(-time.Hour), t0.Add(48*time.Hour)
	vol, err := s.Volume(ctx, Query{Since: since, Until: until, Step: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	want := []VolumeRow{
		{T: t0, Alerts: 2, Notifications: 15, Incidents: 1},
		{T: t0.Add(time.Hour), Alerts: 2, Notifications: 4, Incidents: 1},
		{T: t0.Add(2 * time.Hour), Notifications: 3},
		{T: t0.Add(24 * time.Hour), Alerts: 1, Notifications: 1, Incidents: 1},
		{T: t0.Add(25 * time.Hour), Notifications: 5},
	}
	if !reflect.DeepEqual(vol, want) {
		t.Fatalf("volume:\n got %+v\nwant %+v", vol, want)
	}
	byTeam, err := s.Volume(ctx, Query{Since: since, Until: until, Step: 24 * time.Hour, By: "team", Key: "payments", KeySet: true})
	if err != nil {
		t.Fatal(err)
	}
	wantTeam := []VolumeRow{{T: Bucket(t0, 24*time.Hour), Key: "payments", Alerts: 2, Notifications: 15, Incidents: 0},
		{T: Bucket(t0.Add(24*time.Hour), 24*time.Hour), Key: "payments", Alerts: 1, Notifications: 6, Incidents: 1}}
	if !reflect.DeepEqual(byTeam, wantTeam) {
		t.Fatalf("volume by team=payments:\n got %+v\nwant %+v", byTeam, wantTeam)
	}
	facts, err := s.Incidents(ctx, since, until)
	if err != nil {
		t.Fatal(err)
	}
	if len(facts) != 3 {
		t.Fatalf("incidents: %+v", facts)
	}
	f1, f2, f3 := facts[0], facts[1], facts[2]
	if f1.ID != "INC-1" || f1.Team != "payments" || f1.Priority != "P1" || !f1.AckedAt.Equal(t0.Add(5*time.Minute)) ||
		!f1.ResolvedAt.Equal(t0.Add(30*time.Minute)) || f1.AlertName != "PaymentDown" || f1.RootCause != "payment" {
		t.Fatalf("INC-1 facts: %+v", f1)
	}
	if f2.ID != "INC-2" || !f2.AckedAt.IsZero() || f2.Reopened != 1 || !f2.ResolvedAt.Equal(t0.Add(120*time.Minute)) {
		t.Fatalf("INC-2 facts: %+v", f2)
	}
	if f3.ID != "INC-3" || f3.Priority != "P1" || f3.Problem != "PRB-1" || !f3.OpenedAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("INC-3 facts: %+v", f3)
	}
	// Only incidents opened in the range, with rows after it.
	late, err := s.Incidents(ctx, t0.Add(time.Hour), t0.Add(71*time.Minute))
	if err != nil || len(late) != 1 || late[0].ID != "INC-2" || !late[0].ResolvedAt.Equal(t0.Add(120*time.Minute)) {
		t.Fatalf("incidents opened 11:00-11:11: %+v %v", late, err)
	}
	names, err := s.AlertNames(ctx, since, until)
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []NameStat{
		{AlertName: "HighLatency", Episodes: 2, Refires: 1, Flapping: 1, Notifications: 7, Fingerprints: 1, Incidents: 1},
		{AlertName: "PaymentDown", Episodes: 2, Refires: 1, Flapping: 0, Notifications: 16, Fingerprints: 1, Incidents: 2},
		{AlertName: "CheckoutErrors", Episodes: 1, Notifications: 5, Fingerprints: 1, Incidents: 0}, // it opened none
	}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("alert names:\n got %+v\nwant %+v", names, wantNames)
	}
	a, i, err := s.Counts(ctx)
	if err != nil || a != 10 || i != 13 {
		t.Fatalf("counts: %d alert rows, %d incident rows, %v; want 10, 13", a, i, err)
	}
}

func TestClickHouseStoreAnswers(t *testing.T) {
	s := openTestClickHouse(t)
	ctx := context.Background()
	if err := s.Write(ctx, sampleBatch()); err != nil {
		t.Fatal(err)
	}
	// Written again with Check (a retry, a replay, a backfill run again):
	// nothing twice.
	b := sampleBatch()
	b.Check = true
	if err := s.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	checkStore(t, s)
	an := &Analytics{Store: s}
	r, err := an.Response(ctx, t0.Add(-time.Hour), t0.Add(48*time.Hour), "team")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Groups) != 2 || r.Groups[0].Team != "payments" || r.Groups[0].MTTA.P50 != 120 || r.Groups[0].MTTA.P90 != 300 ||
		r.Groups[0].MTTR.Max != 3600 || r.Groups[1].MTTR.P50 != 3000 || r.Total.Incidents != 3 {
		t.Fatalf("response by team: %+v", r)
	}
}

func TestEmbeddedStoreAnswersLikeClickHouse(t *testing.T) {
	s, err := OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Write(ctx, sampleBatch()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, sampleBatch()); err != nil {
		t.Fatal(err)
	}
	checkStore(t, s)
}

func TestEmbeddedStoreIsLockedByItsProcess(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenEmbedded(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	s.Close()
	s, err = OpenEmbedded(dir)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	s.Close()
}
