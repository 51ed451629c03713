package correlate

import (
	"strings"
	"testing"
	"time"
)

// A probe of the site joins the incident where the service users enter
// through is failing, when it fails at nearly the same moment; minutes
// later, or with no entry service alerting, it stays apart.
func TestProbeJoinsEntryService(t *testing.T) {
	probe := al("BlackboxProbeFailed", "", "job", "blackbox", "instance", "https://shop.example.com/")
	for _, tc := range []struct {
		name  string
		svc   string
		after time.Duration
		join  bool
	}{
		{"entry service, 20s", "frontend", 20 * time.Second, true},
		{"entry service, 3m", "frontend", 3 * time.Minute, false},
		{"a dependency only", "payment", 20 * time.Second, false},
	} {
		e := New(Config{}, boutique())
		send(e, al("HighErrorRate", tc.svc), 0, 0)
		send(e, probe, tc.after, tc.after)
		if joined := len(e.All()) == 1; joined != tc.join {
			t.Fatalf("%s: joined=%v: %s", tc.name, joined, dump(e.All()))
		}
		if tc.join && !strings.Contains(only(t, e).Members[1].Reason.Detail, "probes a URL users reach, and frontend") {
			t.Fatalf("%s: reason %+v", tc.name, only(t, e).Members[1].Reason)
		}
	}
	off := New(Config{Signals: Signals{Probe: ProbeWeights{EntryService: new(0.0)}}}, boutique())
	send(off, al("HighErrorRate", "frontend"), 0, 0)
	send(off, probe, 20*time.Second, 20*time.Second)
	if n := len(off.All()); n != 2 {
		t.Fatalf("probe.entry_service 0 still joined: %d incidents", n)
	}
}
