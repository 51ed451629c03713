package correlate

import (
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// fireLong fires a at offset off, with an endsAt far ahead (it resolves
// only when told to).
func fireLong(e *Engine, a model.Alert, off time.Duration) {
	a.StartsAt = t0.Add(off)
	a.EndsAt = t0.Add(off + time.Hour)
	e.ApplyBatch(&model.Batch{At: t0.Add(off), Alerts: []model.Alert{a}})
}

func incidentOf(e *Engine, fp model.Fingerprint) *model.Incident {
	for _, inc := range e.All() {
		for _, m := range inc.Members {
			if m.Fingerprint == fp {
				return inc
			}
		}
	}
	return nil
}

// Two faults under checkout start a minute apart; checkout's errors join
// the later one (closer in time).
func twoFaults(t *testing.T, cfg Config) (e *Engine, pay, mail, sym model.Alert) {
	t.Helper()
	e = New(cfg, boutique())
	pay, mail, sym = al("PaymentCrashLooping", "payment"), al("EmailServiceDown", "email"), al("CheckoutHighErrorRate", "checkout")
	fireLong(e, pay, 0)
	fireLong(e, mail, time.Minute)
	fireLong(e, sym, 90*time.Second)
	if inc := incidentOf(e, sym.Labels.Fingerprint()); inc == nil || inc.RootCause.Service != "email" {
		t.Fatalf("setup: the symptom should first join email's incident: %s", dump(e.All()))
	}
	return e, pay, mail, sym
}

// ... but they stop when payment recovers, while email is still down
// (unless emailRecovers): they were payment's.
func recoveryScenario(t *testing.T, cfg Config, emailRecovers time.Duration) (*Engine, model.Alert, model.Alert, model.Alert) {
	t.Helper()
	e, pay, mail, sym := twoFaults(t, cfg)
	resolve(e, pay, 10*time.Minute)
	resolve(e, sym, 10*time.Minute+40*time.Second)
	if emailRecovers > 0 {
		resolve(e, mail, emailRecovers)
	}
	return e, pay, mail, sym
}

func TestSymptomMovesToTheFaultItRecoveredWith(t *testing.T) {
	e, pay, mail, sym := recoveryScenario(t, Config{}, 0)
	// Not before the recheck is due (half the window after it resolved).
	e.Advance(t0.Add(10*time.Minute + 40*time.Second + 2*time.Minute))
	if inc := incidentOf(e, sym.Labels.Fingerprint()); inc.RootCause.Service != "email" {
		t.Fatalf("moved too early: %s", dump(inc))
	}
	e.Advance(t0.Add(14 * time.Minute))
	inc := incidentOf(e, sym.Labels.Fingerprint())
	if inc == nil || inc.ID != incidentOf(e, pay.Labels.Fingerprint()).ID {
		t.Fatalf("the symptom should be in payment's incident: %s", dump(e.All()))
	}
	m := inc.Members[len(inc.Members)-1]
	if m.Fingerprint != sym.Labels.Fingerprint() || m.Reason.Kind != model.ReasonTopology || !strings.Contains(m.Reason.Detail, "recovered") || !strings.Contains(m.Reason.Detail, "moved from") {
		t.Fatalf("member %+v", m)
	}
	old := incidentOf(e, mail.Labels.Fingerprint())
	for _, m := range old.Members {
		if m.Fingerprint == sym.Labels.Fingerprint() {
			t.Fatalf("still in email's incident: %s", dump(old))
		}
	}
	if len(old.Services) != 1 || old.Services[0] != "email" || old.Timeline[len(old.Timeline)-1].Event != "moved" {
		t.Fatalf("email's incident after the move: %s", dump(old))
	}
	if e.Stats().Moved != 1 {
		t.Fatalf("stats %+v", e.Stats())
	}
}

func TestSymptomStaysWhenItsOwnRootRecoveredToo(t *testing.T) {
	e, _, mail, sym := recoveryScenario(t, Config{}, 11*time.Minute)
	e.Advance(t0.Add(20 * time.Minute))
	if inc := incidentOf(e, sym.Labels.Fingerprint()); inc.ID != incidentOf(e, mail.Labels.Fingerprint()).ID {
		t.Fatalf("moved although email recovered with it too: %s", dump(e.All()))
	}
	if e.Stats().Moved != 0 {
		t.Fatalf("stats %+v", e.Stats())
	}
}

// A restart between the symptom's resolution and the recheck changes
// nothing: pending rechecks are part of the snapshot.
func TestRecheckSurvivesSnapshot(t *testing.T) {
	e, pay, _, sym := recoveryScenario(t, Config{}, 0)
	r := restoredCopy(t, e)
	r.Advance(t0.Add(14 * time.Minute))
	if inc := incidentOf(r, sym.Labels.Fingerprint()); inc == nil || inc.ID != incidentOf(r, pay.Labels.Fingerprint()).ID {
		t.Fatalf("restored engine did not move the symptom: %s", dump(r.All()))
	}
}

func TestMoveOnRecoveryCanBeTurnedOff(t *testing.T) {
	off := false
	e, _, mail, sym := recoveryScenario(t, Config{MoveOnRecovery: &off}, 0)
	e.Advance(t0.Add(20 * time.Minute))
	if inc := incidentOf(e, sym.Labels.Fingerprint()); inc.ID != incidentOf(e, mail.Labels.Fingerprint()).ID || e.Stats().Moved != 0 {
		t.Fatalf("moved although move_on_recovery is off: %s", dump(e.All()))
	}
}

// A symptom that came back to its incident while it was open moves with
// its whole history.
func TestFlappingSymptomMovesWhole(t *testing.T) {
	e, pay, mail, sym := twoFaults(t, Config{})
	resolve(e, sym, 5*time.Minute)
	fireLong(e, sym, 5*time.Minute+30*time.Second)
	if inc := incidentOf(e, sym.Labels.Fingerprint()); len(inc.Members) != 3 || inc.Members[2].Reason.Kind != model.ReasonFlap {
		t.Fatalf("setup: the symptom should have come back to email's incident: %s", dump(inc))
	}
	resolve(e, pay, 10*time.Minute)
	resolve(e, sym, 10*time.Minute+40*time.Second)
	e.Advance(t0.Add(14 * time.Minute))
	inc := incidentOf(e, sym.Labels.Fingerprint())
	if inc.ID != incidentOf(e, pay.Labels.Fingerprint()).ID || e.Stats().Moved != 1 {
		t.Fatalf("the symptom should be in payment's incident: %s", dump(e.All()))
	}
	for _, m := range incidentOf(e, mail.Labels.Fingerprint()).Members {
		if m.Fingerprint == sym.Labels.Fingerprint() {
			t.Fatalf("part of its history stayed behind: %s", dump(e.All()))
		}
	}
}

// A symptom on the root-cause service itself moves too when it recovers
// with a failing dependency while that service's own alert goes on.
func TestSymptomOnTheRootServiceMoves(t *testing.T) {
	e := New(Config{}, boutique())
	cat, cert, sym := al("CatalogPodCrashLooping", "catalog"), al("CertificateAbsent", "frontend"), al("FrontendHighErrorRate", "frontend")
	fireLong(e, cat, 0)
	fireLong(e, cert, 50*time.Second)
	fireLong(e, sym, 60*time.Second)
	if inc := incidentOf(e, sym.Labels.Fingerprint()); inc.RootCause.Service != "frontend" {
		t.Fatalf("setup: the symptom should first join frontend's incident: %s", dump(e.All()))
	}
	resolve(e, cat, 10*time.Minute)
	resolve(e, sym, 10*time.Minute+30*time.Second)
	e.Advance(t0.Add(14 * time.Minute))
	if inc := incidentOf(e, sym.Labels.Fingerprint()); inc.ID != incidentOf(e, cat.Labels.Fingerprint()).ID {
		t.Fatalf("the symptom should be in catalog's incident: %s", dump(e.All()))
	}
}

// What an agent resolved by hand stays as they left it: no symptom moves
// into it.
func TestNoMoveIntoAnIncidentResolvedByHand(t *testing.T) {
	e, pay, mail, sym := twoFaults(t, Config{})
	id := incidentOf(e, pay.Labels.Fingerprint()).ID
	if err := e.ApplyAction(&model.Action{At: t0.Add(9 * time.Minute), Kind: model.ActionResolve, Incident: id, Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	resolve(e, pay, 10*time.Minute)
	resolve(e, sym, 10*time.Minute+40*time.Second)
	e.Advance(t0.Add(14 * time.Minute))
	if inc := incidentOf(e, sym.Labels.Fingerprint()); inc.ID != incidentOf(e, mail.Labels.Fingerprint()).ID || e.Stats().Moved != 0 {
		t.Fatalf("moved into an incident resolved by hand: %s", dump(e.All()))
	}
}
