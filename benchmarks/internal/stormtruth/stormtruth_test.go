package stormtruth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
)

func TestEveryServiceHasAnOwner(t *testing.T) {
	topo, err := storm.NewTopology("both", "c", 6, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range topo.Services {
		if TeamOf(s) == Unowned {
			t.Errorf("service %s has no owner in Ownership", s)
		}
	}
	if len(Ownership) != len(topo.Services) {
		t.Errorf("Ownership has %d services, the topologies %d", len(Ownership), len(topo.Services))
	}
	if got := TeamOf("host:node-3"); got != InfraTeam {
		t.Errorf("TeamOf(host:node-3) = %q, want %q", got, InfraTeam)
	}
	if got, want := strings.Join(AllTeams(), ","), "catalog,checkout,infra,social-posts,social-timeline,social-users,storefront"; got != want {
		t.Errorf("AllTeams() = %s, want %s", got, want)
	}
}

// A short scenario replayed through the real engine: every incident gets
// a true team from the ground truth.
func TestScenarioTruth(t *testing.T) {
	cfg := storm.Config{Seed: 3, Duration: 3 * time.Hour, Topology: "both"}.WithDefaults()
	s, err := Generate(cfg, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Incidents) < 20 {
		t.Fatalf("only %d incidents", len(s.Incidents))
	}
	teams := map[string]int{}
	for _, inc := range s.Incidents {
		tm := s.Truth[inc.ID]
		if tm == "" || tm == Unowned {
			t.Fatalf("incident %s: true team %q", inc.ID, tm)
		}
		teams[tm]++
		if len(s.Alerts[inc.ID]) == 0 {
			t.Fatalf("incident %s has no alerts", inc.ID)
		}
	}
	if len(teams) < 4 {
		t.Errorf("only %d teams among the incidents: %v", len(teams), teams)
	}
	if len(s.Hosts) != cfg.Hosts {
		t.Errorf("%d hosts, want %d", len(s.Hosts), cfg.Hosts)
	}
}

// A notification the decoder refuses fails Generate, or with
// SkipRejected is skipped and counted.
func TestRefusedNotification(t *testing.T) {
	cfg := storm.Config{Seed: 3, Duration: 3 * time.Hour, Topology: "both"}.WithDefaults()
	dir := t.TempDir()
	before, err := Generate(cfg, dir, Options{SkipRejected: true})
	if err != nil {
		t.Fatal(err)
	}
	// append a notification whose endsAt is before its startsAt
	path := filepath.Join(dir, storm.ReplayFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	var last struct {
		At time.Time `json:"at"`
	}
	if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil {
		t.Fatal(err)
	}
	at := last.At.UTC()
	bad := fmt.Sprintf(`{"at":%q,"alert":{"labels":{"alertname":"Refused","service":"frontend"},"startsAt":%q,"endsAt":%q}}`+"\n",
		at.Format(time.RFC3339Nano), at.Format(time.RFC3339Nano), at.Add(-time.Hour).Format(time.RFC3339Nano))
	if err := os.WriteFile(path, append(b, bad...), 0o644); err != nil {
		t.Fatal(err)
	}

	_, err = Generate(cfg, dir, Options{})
	if want := fmt.Sprintf("%s line %d:", storm.ReplayFile, before.Lines+1); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("without SkipRejected: error %v, want one with %q", err, want)
	}
	after, err := Generate(cfg, dir, Options{SkipRejected: true})
	if err != nil {
		t.Fatal(err)
	}
	if after.Lines != before.Lines+1 || after.Rejected != before.Rejected+1 || len(after.Incidents) != len(before.Incidents) {
		t.Errorf("with SkipRejected: %d lines, %d rejected, %d incidents; want %d, %d, %d",
			after.Lines, after.Rejected, len(after.Incidents), before.Lines+1, before.Rejected+1, len(before.Incidents))
	}
}
