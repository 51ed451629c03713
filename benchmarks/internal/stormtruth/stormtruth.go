// Package stormtruth gives every incident Sift forms on a storm scenario
// (benchmarks/storm) its true owning team, for the evaluation programs
// that score team routing (benchmarks/stormclassify, benchmarks/llmeval).
//
// The scenario's ground truth names the root cause (a service, or
// host:<name>) of every alert episode; Ownership maps services to teams
// and host failures belong to InfraTeam. Generate replays the scenario
// through the real correlation engine, and an incident's true team is
// the owner of the root cause of the majority of its episodes.
package stormtruth

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sift-aiops/sift/benchmarks/storm"
	"github.com/sift-aiops/sift/config"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/model"
)

// Ownership maps every service of the generator's topologies (Online
// Boutique and the DeathStarBench social network) to its owning team.
// Root causes "host:<name>" belong to InfraTeam.
var Ownership = map[string]string{
	// Online Boutique
	"frontend": "storefront", "ad": "storefront", "recommendation": "storefront",
	"checkout": "checkout", "payment": "checkout", "shipping": "checkout", "email": "checkout", "currency": "checkout",
	"productcatalog": "catalog", "cart": "catalog", "redis-cart": "catalog",
	// DeathStarBench social network
	"nginx-thrift": "social-timeline", "home-timeline": "social-timeline", "user-timeline": "social-timeline",
	"home-timeline-redis": "social-timeline", "user-timeline-mongodb": "social-timeline", "user-timeline-redis": "social-timeline",
	"compose-post": "social-posts", "post-storage": "social-posts", "text": "social-posts", "url-shorten": "social-posts",
	"user-mention": "social-posts", "media": "social-posts", "unique-id": "social-posts",
	"post-storage-mongodb": "social-posts", "post-storage-memcached": "social-posts", "url-shorten-mongodb": "social-posts",
	"media-mongodb": "social-posts",
	"social-graph":  "social-users", "user": "social-users", "social-graph-mongodb": "social-users",
	"social-graph-redis": "social-users", "user-mongodb": "social-users", "user-memcached": "social-users",
}

// InfraTeam owns host failures.
const InfraTeam = "infra"

// Unowned is the team TeamOf gives a root cause that no team owns.
const Unowned = "unowned"

// TeamOf returns the team owning a root cause: InfraTeam for
// "host:<name>", the Ownership entry of a service, else Unowned.
func TeamOf(rootCause string) string {
	if strings.HasPrefix(rootCause, "host:") {
		return InfraTeam
	}
	if t, ok := Ownership[rootCause]; ok {
		return t
	}
	return Unowned
}

// AllTeams returns every team of Ownership plus InfraTeam, sorted.
func AllTeams() []string {
	set := map[string]bool{InfraTeam: true}
	for _, t := range Ownership {
		set[t] = true
	}
	var ts []string
	for t := range set {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// Scenario is a replayed scenario: Sift's incidents with their alerts and
// their true team.
type Scenario struct {
	Incidents []*model.Incident             // in the order of the engine's All
	Alerts    map[string][]model.AlertState // incident id -> its alerts
	// Truth maps an incident id to its true team: the owner of the root
	// cause of the majority of its episodes; ties go to the team of the
	// first member's episode, then alphabetically.
	Truth map[string]string
	// Storm maps an incident id to whether the majority of its episodes
	// come from a cascade or a host failure.
	Storm map[string]bool
	Lines int // notifications in the replay
	// Rejected counts the notifications the decoder refused and that were
	// skipped (Options.SkipRejected; the generator occasionally writes an
	// endsAt before startsAt).
	Rejected int
	Hosts    []string // the hosts of the scenario's topology
}

// Options tunes Generate.
type Options struct {
	// SkipRejected skips a notification the decoder refuses, as Sift's
	// ingest would, and counts it in Scenario.Rejected; when false,
	// Generate fails on it.
	SkipRejected bool
}

// Generate replays the scenario of cfg through the correlation engine
// and returns its incidents with their true team. The scenario's files
// are in dir: generated there (storm.GenerateFiles) unless its ground
// truth is already present, in which case they are reused.
func Generate(cfg storm.Config, dir string, opts Options) (*Scenario, error) {
	if _, err := os.Stat(filepath.Join(dir, storm.TruthFile)); err != nil {
		if _, err := storm.GenerateFiles(cfg, dir); err != nil {
			return nil, err
		}
	}
	scfg, err := config.Load(filepath.Join(dir, storm.ConfigFile))
	if err != nil {
		return nil, err
	}
	scfg.Correlate.Retention = correlate.Duration(90 * 24 * time.Hour) // keep every incident of the scenario
	eng := correlate.New(scfg.Correlate, scfg.Topology)
	dec := ingest.NewDecoder(scfg.Ingest)
	f, err := os.Open(filepath.Join(dir, storm.ReplayFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	s := &Scenario{Alerts: map[string][]model.AlertState{}, Truth: map[string]string{}, Storm: map[string]bool{}}
	for sc.Scan() {
		s.Lines++
		var l struct {
			At    time.Time       `json:"at"`
			Alert json.RawMessage `json:"alert"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s line %d: %v", storm.ReplayFile, s.Lines, err)
		}
		as, err := dec.DecodeAMv2(l.Alert, l.At)
		if err != nil {
			if opts.SkipRejected { // as Sift's ingest would: the notification is refused
				s.Rejected++
				continue
			}
			return nil, fmt.Errorf("%s line %d: %v", storm.ReplayFile, s.Lines, err)
		}
		eng.ApplyBatch(&model.Batch{At: l.At, Source: "replay", Alerts: as})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	eps, err := storm.ReadTruth(filepath.Join(dir, storm.TruthFile))
	if err != nil {
		return nil, err
	}
	byFP := map[model.Fingerprint][]*storm.Episode{}
	for i := range eps {
		byFP[eps[i].Fingerprint] = append(byFP[eps[i].Fingerprint], &eps[i])
	}
	// the episode of fp that a member joining at t belongs to: one whose
	// span contains t (with slack for late deliveries), else the nearest
	find := func(fp model.Fingerprint, t time.Time) *storm.Episode {
		var best *storm.Episode
		var bestD time.Duration
		for _, e := range byFP[fp] {
			var d time.Duration
			switch {
			case t.Before(e.FirstAt):
				d = e.FirstAt.Sub(t)
			case t.After(e.LastAt):
				d = t.Sub(e.LastAt)
			}
			if best == nil || d < bestD {
				best, bestD = e, d
			}
		}
		return best
	}
	for _, inc := range eng.All() {
		if len(inc.Members) == 0 {
			continue
		}
		count := map[string]int{}
		first := ""
		stormN := 0
		seen := map[*storm.Episode]bool{}
		for _, m := range inc.Members {
			e := find(m.Fingerprint, m.JoinedAt)
			if e == nil || seen[e] {
				continue
			}
			seen[e] = true
			t := TeamOf(e.RootCause)
			if first == "" {
				first = t
			}
			count[t]++
			if e.Storm() {
				stormN++
			}
		}
		if first == "" {
			return nil, fmt.Errorf("incident %s: no member maps to a truth episode", inc.ID)
		}
		// majority; ties go to the team of the first member's episode,
		// then alphabetically
		best := first
		var ts []string
		for t := range count {
			ts = append(ts, t)
		}
		sort.Strings(ts)
		for _, t := range ts {
			if count[t] > count[best] {
				best = t
			}
		}
		s.Incidents = append(s.Incidents, inc)
		s.Alerts[inc.ID] = eng.IncidentAlerts(inc.ID)
		s.Truth[inc.ID] = best
		s.Storm[inc.ID] = 2*stormN > len(seen)
	}
	topo, err := storm.NewTopology(cfg.Topology, cfg.Cluster, cfg.Hosts, cfg.Seed)
	if err != nil {
		return nil, err
	}
	s.Hosts = topo.Hosts
	return s, nil
}

// WithID returns a copy of inc whose ID is prefix + inc.ID, so that the
// incidents of two scenarios (whose ids overlap) can share a classifier.
func WithID(inc *model.Incident, prefix string) *model.Incident {
	c := *inc
	c.ID = prefix + inc.ID
	return &c
}
