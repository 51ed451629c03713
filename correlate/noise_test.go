package correlate

import (
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/model"
)

// incidentWith returns the latest incident holding a member named name on
// service, joined at or after since.
func incidentWith(t *testing.T, e *Engine, name, service string, since time.Time) *model.Incident {
	t.Helper()
	var found *model.Incident
	for _, inc := range e.All() {
		for _, m := range inc.Members {
			if m.Name == name && m.Service == service && !m.JoinedAt.Before(since) {
				found = inc
			}
		}
	}
	if found == nil {
		t.Fatalf("no incident holds %s on %s since %s: %s", name, service, since, dump(e.All()))
	}
	return found
}

// TestNoiseNamesStopJoining: a warning that fires alone again and again is
// learned to be background noise. Before that it joins a failing
// dependency's incident like any alert on the failing service; after it,
// it opens an incident of its own that says why.
func TestNoiseNamesStopJoining(t *testing.T) {
	e := New(Config{}, boutique())
	at := time.Duration(0)
	crashWithGC := func() (crash, gc *model.Incident) {
		t.Helper()
		crash0, gc0 := al("PodCrashLooping", "payment"), al("HighGCPause", "payment")
		send(e, crash0, at, at)
		send(e, gc0, at+30*time.Second, at+30*time.Second)
		since := t0.Add(at)
		crash = incidentWith(t, e, "PodCrashLooping", "payment", since)
		gc = incidentWith(t, e, "HighGCPause", "payment", since)
		resolve(e, crash0, at+2*time.Minute)
		resolve(e, gc0, at+2*time.Minute)
		at += time.Hour
		return crash, gc
	}
	// Unknown name: it starts together with a crash on its service and joins.
	if crash, gc := crashWithGC(); crash.ID != gc.ID {
		t.Fatalf("before learning, HighGCPause should join the crash: %s and %s", crash.ID, gc.ID)
	}
	// Then it fires alone, day after day, on various services.
	for i := 0; i < 12; i++ {
		a := al("HighGCPause", []string{"cart", "ad", "email", "catalog"}[i%4])
		send(e, a, at, at)
		resolve(e, a, at+10*time.Minute)
		at += time.Hour
	}
	crash, gc := crashWithGC()
	if crash.ID == gc.ID {
		t.Fatalf("after 12 lone episodes HighGCPause still joins the crash: %s", dump(crash))
	}
	if d := gc.Members[0].Reason.Detail; !strings.Contains(d, "background noise") || !strings.Contains(d, "HighGCPause fired alone") {
		t.Fatalf("the noise incident does not say why it stands alone: %q", d)
	}
	// Other names are unaffected: an error on a caller still joins the crash.
	send(e, al("PodCrashLooping", "payment"), at, at)
	send(e, al("UpstreamErrorRate", "checkout"), at+40*time.Second, at+40*time.Second)
	since := t0.Add(at)
	if a, b := incidentWith(t, e, "PodCrashLooping", "payment", since), incidentWith(t, e, "UpstreamErrorRate", "checkout", since); a.ID != b.ID {
		t.Fatalf("a caller's symptom no longer joins the crash: %s and %s", a.ID, b.ID)
	}

	// Switched off, or the name exempted, the same history changes nothing.
	off := 0.0
	for _, cfg := range []Config{{NoiseMaxCompany: &off}, {NoiseExempt: []string{"HighGCPause"}}} {
		e, at = New(cfg, boutique()), 0
		for i := 0; i < 12; i++ {
			a := al("HighGCPause", "cart")
			send(e, a, at, at)
			resolve(e, a, at+10*time.Minute)
			at += time.Hour
		}
		if crash, gc := crashWithGC(); crash.ID != gc.ID {
			t.Fatalf("with %+v, HighGCPause should still join: %s and %s", cfg, crash.ID, gc.ID)
		}
	}
}

// TestNoiseStatisticsSurviveSnapshot: what was learned is part of the
// state, so a restart (or replay from a snapshot) decides the same.
func TestNoiseStatisticsSurviveSnapshot(t *testing.T) {
	e := New(Config{}, boutique())
	at := time.Duration(0)
	for i := 0; i < 12; i++ {
		a := al("CertificateExpiringSoon", "ad")
		send(e, a, at, at)
		resolve(e, a, at+10*time.Minute)
		at += time.Hour
	}
	r := restoredCopy(t, e)
	for _, eng := range []*Engine{e, r} {
		send(eng, al("ServiceDown", "payment"), at, at)
		send(eng, al("CertificateExpiringSoon", "payment"), at+20*time.Second, at+20*time.Second)
		since := t0.Add(at)
		if a, b := incidentWith(t, eng, "ServiceDown", "payment", since), incidentWith(t, eng, "CertificateExpiringSoon", "payment", since); a.ID == b.ID {
			t.Fatalf("learned noise joined after restore=%v: %s", eng == r, dump(a))
		}
	}
}

// TestFreshFaultClaimsSymptoms: frontend calls both cart and ad. Its
// symptoms go to the fault that started closest before them, also when
// frontend is already alerting in an older incident and when one of its
// alerts fires again within the reopen grace period.
func TestFreshFaultClaimsSymptoms(t *testing.T) {
	e := New(Config{}, boutique())
	lat := al("HighRequestLatency", "frontend")
	send(e, al("PodCrashLooping", "cart"), 0, 0)
	send(e, lat, 40*time.Second, 40*time.Second)
	cart := incidentWith(t, e, "PodCrashLooping", "cart", t0)
	if got := incidentWith(t, e, "HighRequestLatency", "frontend", t0); got.ID != cart.ID {
		t.Fatalf("latency should join the cart crash: %s", dump(e.All()))
	}
	resolve(e, lat, 3*time.Minute)

	// ad starts failing 4 minutes later; frontend's errors follow it, and
	// its latency alert fires again (inside the 15 m reopen grace).
	send(e, al("ServiceDown", "ad"), 4*time.Minute, 4*time.Minute)
	send(e, al("UpstreamErrorRate", "frontend"), 4*time.Minute+30*time.Second, 4*time.Minute+30*time.Second)
	send(e, lat, 4*time.Minute+40*time.Second, 4*time.Minute+40*time.Second)
	ad := incidentWith(t, e, "ServiceDown", "ad", t0)
	if ad.ID == cart.ID {
		t.Fatalf("ad's failure should be its own incident: %s", dump(ad))
	}
	since := t0.Add(4 * time.Minute)
	if got := incidentWith(t, e, "UpstreamErrorRate", "frontend", since); got.ID != ad.ID {
		t.Fatalf("frontend's new errors went to %s, want ad's %s: %s", got.ID, ad.ID, dump(e.All()))
	}
	if got := incidentWith(t, e, "HighRequestLatency", "frontend", since); got.ID != ad.ID {
		t.Fatalf("frontend's latency firing again went to %s, want ad's %s", got.ID, ad.ID)
	}
}

// TestHostFailureClaimsItsServices: a service alert on a host that is
// down belongs to the host's incident even when the service was already
// alerting elsewhere a moment before.
func TestHostFailureClaimsItsServices(t *testing.T) {
	e := New(Config{}, boutique())
	send(e, al("HighErrorRate", "payment", "host", "n1"), 0, 0)
	send(e, al("HostDown", "", "host", "n2"), 20*time.Second, 20*time.Second)
	send(e, al("PodNotReady", "payment", "host", "n2"), 50*time.Second, 50*time.Second)
	host := incidentWith(t, e, "HostDown", "", t0)
	if got := incidentWith(t, e, "PodNotReady", "payment", t0); got.ID != host.ID {
		t.Fatalf("PodNotReady on the down host went to %s, want %s: %s", got.ID, host.ID, dump(e.All()))
	}
}

// TestCaptureSharesNothingMutable: a captured state encodes to the state
// of the moment it was captured while the engine goes on changing the same
// incidents, alerts, problems and statistics (run with -race to see any
// sharing).
func TestCaptureSharesNothingMutable(t *testing.T) {
	e := New(Config{ProblemCount: 2}, boutique())
	host := func(at time.Duration, services ...string) {
		send(e, al("HostDown", "", "host", "n1"), at, at)
		for i, s := range services {
			off := at + time.Duration(i+1)*10*time.Second
			send(e, al("PodNotReady", s, "host", "n1"), off, off)
		}
	}
	// Two earlier host failures (a problem), then a third one, still open.
	host(0, "cart")
	host(time.Hour, "cart")
	host(2*time.Hour, "cart", "payment")
	want, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c := e.Capture()
	done := make(chan []byte)
	go func() {
		b, err := c.Encode()
		if err != nil {
			t.Error(err)
		}
		done <- b
	}()
	// Meanwhile more services on the host join the open incident, and a
	// symptom on a caller of payment joins it too.
	host(2*time.Hour+time.Minute, "ad", "email", "catalog", "checkout")
	send(e, al("HighRequestLatency", "frontend"), 2*time.Hour+2*time.Minute, 2*time.Hour+2*time.Minute)
	got := <-done
	restored := func(b []byte) string {
		r := New(Config{ProblemCount: 2}, boutique())
		if err := r.Restore(b); err != nil {
			t.Fatal(err)
		}
		return dump(struct {
			All      []*model.Incident
			Problems []*model.Problem
			Known    int
		}{r.All(), r.Problems(), r.Known()})
	}
	if w, g := restored(want), restored(got); w != g {
		t.Fatalf("captured state changed after capture:\nwant %s\ngot  %s", w, g)
	}
	if now, _ := e.Snapshot(); restored(now) == restored(got) {
		t.Fatal("the engine did not change after the capture: the test proves nothing")
	}
}

// TestCallerSymptomsGoToTheFailingDependency: an alert name learned to fire
// on callers of a failing service (never on the failing service itself)
// goes to a failing dependency's incident rather than to an incident of
// its own service's unrelated failure.
func TestCallerSymptomsGoToTheFailingDependency(t *testing.T) {
	run := func(learn bool) (own, dep, got *model.Incident) {
		e := New(Config{}, boutique())
		at := time.Duration(0)
		if learn {
			for i := 0; i < 12; i++ {
				crash, up := al("PodCrashLooping", "payment"), al("UpstreamErrorRate", "checkout")
				send(e, crash, at, at)
				send(e, up, at+30*time.Second, at+30*time.Second)
				resolve(e, crash, at+3*time.Minute)
				resolve(e, up, at+3*time.Minute)
				at += time.Hour
			}
		}
		send(e, al("PodCrashLooping", "frontend"), at, at)
		send(e, al("ServiceDown", "ad"), at+10*time.Second, at+10*time.Second)
		send(e, al("UpstreamErrorRate", "frontend"), at+40*time.Second, at+40*time.Second)
		since := t0.Add(at)
		return incidentWith(t, e, "PodCrashLooping", "frontend", since), incidentWith(t, e, "ServiceDown", "ad", since),
			incidentWith(t, e, "UpstreamErrorRate", "frontend", since)
	}
	own, dep, got := run(true)
	if own.ID == dep.ID || got.ID != dep.ID {
		t.Fatalf("learned caller symptom went to %s (frontend's own failure %s, ad's failure %s): %s", got.ID, own.ID, dep.ID, dump(got))
	}
	// Without that history the alert stays with its own service's failure.
	if own, _, got := run(false); got.ID != own.ID {
		t.Fatalf("unlearned: %s, want frontend's own incident %s", got.ID, own.ID)
	}
}

// nameInfo returns what e has learned about name.
func nameInfo(e *Engine, name string) AlertName {
	for _, n := range e.AlertNames() {
		if n.Name == name {
			return n
		}
	}
	return AlertName{Name: name}
}

// TestRareNoiseNamesLearnedFast: with hundreds of rules most names fire
// only a few times a day. One that fired alone each of the first
// NoiseFastEpisodes times is background noise already, well before
// NoiseMinEpisodes; set to NoiseMinEpisodes the fast verdict is off.
func TestRareNoiseNamesLearnedFast(t *testing.T) {
	for _, fast := range []int{0, 5} {
		e := New(Config{NoiseFastEpisodes: fast}, boutique())
		at := time.Duration(0)
		for i, svc := range []string{"cart", "ad", "email"} {
			if n := nameInfo(e, "HighGCPause"); n.Noise {
				t.Fatalf("fast=%d: noise after %d lone episodes: %+v", fast, i, n)
			}
			a := al("HighGCPause", svc)
			send(e, a, at, at)
			resolve(e, a, at+10*time.Minute)
			at += time.Hour
		}
		send(e, al("PodCrashLooping", "payment"), at, at)
		send(e, al("HighGCPause", "payment"), at+30*time.Second, at+30*time.Second)
		since := t0.Add(at)
		joined := incidentWith(t, e, "PodCrashLooping", "payment", since).ID == incidentWith(t, e, "HighGCPause", "payment", since).ID
		if want := fast == 5; joined != want {
			t.Fatalf("fast=%d: after 3 lone episodes HighGCPause joined the crash: %v, want %v; %s", fast, joined, want, dump(e.All()))
		}
		if n := nameInfo(e, "HighGCPause"); n.Noise == (fast == 5) || n.Episodes != 3 {
			t.Fatalf("fast=%d: learned %+v", fast, n)
		}
	}
}

// TestTentativeNoiseCountsTheFaultItStarted: a name with a tentative noise
// verdict that turns out to start a real fault (its callers' errors follow
// it) is counted as having had company once its incident resolves, even
// though the callers' alerts came after it and could not join it; the
// verdict then ends. The pending check survives a snapshot.
func TestTentativeNoiseCountsTheFaultItStarted(t *testing.T) {
	e := New(Config{}, boutique())
	at := time.Duration(0)
	for _, svc := range []string{"cart", "ad", "email"} {
		a := al("PodOOMKilled", svc)
		send(e, a, at, at)
		resolve(e, a, at+10*time.Minute)
		at += time.Hour
	}
	if n := nameInfo(e, "PodOOMKilled"); !n.Noise {
		t.Fatalf("not noise after 3 lone episodes: %+v", n)
	}
	oom, up := al("PodOOMKilled", "payment"), al("UpstreamErrorRate", "checkout")
	send(e, oom, at, at)
	send(e, up, at+40*time.Second, at+40*time.Second)
	since := t0.Add(at)
	if a, b := incidentWith(t, e, "PodOOMKilled", "payment", since), incidentWith(t, e, "UpstreamErrorRate", "checkout", since); a.ID == b.ID {
		t.Fatalf("tentative noise attracted the caller's errors: %s", dump(a))
	}
	r := restoredCopy(t, e)
	for _, eng := range []*Engine{e, r} {
		resolve(eng, oom, at+3*time.Minute)
		if n := nameInfo(eng, "PodOOMKilled"); n.Noise || n.Episodes != 4 || n.WithCompany != 1 {
			t.Fatalf("restored=%v: the fault it started was not counted: %+v", eng == r, n)
		}
		// No longer noise: the next fault it starts pulls in the caller.
		at2 := at + time.Hour
		oom2, up2 := al("PodOOMKilled", "payment"), al("UpstreamErrorRate", "checkout")
		send(eng, oom2, at2, at2)
		send(eng, up2, at2+40*time.Second, at2+40*time.Second)
		since := t0.Add(at2)
		if a, b := incidentWith(t, eng, "PodOOMKilled", "payment", since), incidentWith(t, eng, "UpstreamErrorRate", "checkout", since); a.ID != b.ID {
			t.Fatalf("restored=%v: the caller's errors did not join the crash: %s and %s", eng == r, a.ID, b.ID)
		}
	}
}

func TestNoiseFastEpisodesValidated(t *testing.T) {
	err := Config{NoiseFastEpisodes: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "noise_fast_episodes") {
		t.Fatalf("negative noise_fast_episodes: %v", err)
	}
	if c := (Config{}).WithDefaults(); c.NoiseFastEpisodes != 3 {
		t.Fatalf("default noise_fast_episodes %d, want 3", c.NoiseFastEpisodes)
	}
}

// TestNoiseOnAFailingHost: a name learned to be background noise (a
// container that goes missing now and then) still belongs to its host's
// failure when the host alerts at nearly the same moment, before or after
// it; minutes apart it stays alone, and a host's own background noise
// pulls in nothing.
func TestNoiseOnAFailingHost(t *testing.T) {
	e := New(Config{}, boutique())
	at := time.Duration(0)
	for i := 0; i < 6; i++ {
		for _, a := range []model.Alert{al("ContainerAbsent", "cart", "host", "n9"), al("HostSwapFilling", "", "host", "n9")} {
			send(e, a, at, at)
			resolve(e, a, at+10*time.Minute)
			at += time.Hour
		}
	}
	for _, n := range []string{"ContainerAbsent", "HostSwapFilling"} {
		if !nameInfo(e, n).Noise {
			t.Fatalf("%s not learned as noise: %+v", n, nameInfo(e, n))
		}
	}
	cases := []struct {
		first, second model.Alert
		gap           time.Duration
		together      bool
	}{
		{al("HostDown", "", "host", "n1"), al("ContainerAbsent", "payment", "host", "n1"), 30 * time.Second, true},
		{al("ContainerAbsent", "payment", "host", "n2"), al("HostDown", "", "host", "n2"), 30 * time.Second, true},
		{al("HostDown", "", "host", "n3"), al("ContainerAbsent", "payment", "host", "n3"), 3 * time.Minute, false},
		{al("HostSwapFilling", "", "host", "n4"), al("PodNotReady", "payment", "host", "n4"), 30 * time.Second, false},
	}
	for i, c := range cases {
		at += time.Hour
		send(e, c.first, at, at)
		send(e, c.second, at+c.gap, at+c.gap)
		since := t0.Add(at)
		a := incidentWith(t, e, c.first.Name(), c.first.Labels["service"], since)
		b := incidentWith(t, e, c.second.Name(), c.second.Labels["service"], since)
		if (a.ID == b.ID) != c.together {
			t.Fatalf("case %d: %s then %s %s later: together=%v, want %v: %s", i, c.first.Name(), c.second.Name(), c.gap, a.ID == b.ID, c.together, dump([]*model.Incident{a, b}))
		}
		resolve(e, c.first, at+10*time.Minute)
		resolve(e, c.second, at+10*time.Minute)
	}
}
