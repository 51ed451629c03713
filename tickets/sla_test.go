package tickets

import (
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
)

func TestSLAPolicyPrecedence(t *testing.T) {
	d := func(s string) correlate.Duration { v, _ := correlate.ParseDuration(s); return correlate.Duration(v) }
	c := SLAConfig{
		Policies: map[string]SLATarget{"P1": {Respond: d("15m"), Resolve: d("4h")}},
		Teams:    map[string]map[string]SLATarget{"payments": {"P1": {Respond: d("5m"), Resolve: d("1h")}}},
		Services: map[string]map[string]SLATarget{"checkout": {"P1": {Respond: d("2m"), Resolve: d("30m")}}},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	p := c.Policy()
	for _, tc := range []struct {
		prio, team string
		svcs       []string
		policy     string
		respond    time.Duration
		ok         bool
	}{
		{"P1", "", nil, "P1", 15 * time.Minute, true},
		{"P1", "payments", []string{"cart"}, "team payments P1", 5 * time.Minute, true},
		{"P1", "payments", []string{"cart", "checkout"}, "service checkout P1", 2 * time.Minute, true},
		{"P2", "payments", []string{"checkout"}, "", 0, false},
	} {
		got, ok := p.Targets(tc.prio, tc.team, tc.svcs)
		if ok != tc.ok || got.Policy != tc.policy || got.Respond != tc.respond {
			t.Errorf("Targets(%s, %s, %v) = %+v %v", tc.prio, tc.team, tc.svcs, got, ok)
		}
	}
	// No section: the defaults; enabled: false: none.
	if got, ok := (SLAConfig{}).Policy().Targets("P1", "", nil); !ok || got.Respond != 15*time.Minute {
		t.Fatalf("default P1: %+v %v", got, ok)
	}
	off := false
	if (SLAConfig{Enabled: &off}).Policy() != nil {
		t.Fatal("enabled: false still has a policy")
	}
	for _, bad := range []SLAConfig{
		{Policies: map[string]SLATarget{"P1": {}}},
		{Policies: map[string]SLATarget{"P1": {Respond: d("2h"), Resolve: d("1h")}}},
		{Teams: map[string]map[string]SLATarget{"x": {"P1": {Respond: -1}}}},
	} {
		if err := bad.Validate(); err == nil || !strings.HasPrefix(err.Error(), "sla.") {
			t.Errorf("Validate(%+v) = %v, want an error naming the setting", bad, err)
		}
	}
}
