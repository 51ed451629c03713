// Package storm generates alert-storm scenarios with ground truth and
// scores how well an alert correlator (Sift, or the Alertmanager-style
// baselines computed here) turned them into incidents.
//
// A scenario is three files: the replay input (NDJSON of
// {"at", "alert"} lines, an Alertmanager v2 alert each, sorted by "at"),
// the ground truth (NDJSON, one line per alert episode) and a Sift
// configuration (YAML) describing the topology. Generation is seeded and
// deterministic: the same Config gives byte-identical files.
package storm

import (
	"fmt"
	"time"
)

// Config describes a scenario. The zero value is a usable one-day
// scenario: zero fields take the defaults listed on each field; for the
// fields that say so, a negative value switches the feature off.
type Config struct {
	Seed     uint64        `yaml:"seed"`
	Start    time.Time     `yaml:"start"`    // default 2026-01-05T00:00:00Z (a Monday)
	Duration time.Duration `yaml:"duration"` // default 24h

	// Rates per simulated hour. If all four are zero the defaults apply
	// (2, 0.15, 20, 0.5); otherwise a zero rate means none of that kind.
	IncidentsPerHour    float64 `yaml:"incidents_per_hour"`     // cascading service failures
	HostFailuresPerHour float64 `yaml:"host_failures_per_hour"` // host/node failures
	NoisePerHour        float64 `yaml:"noise_per_hour"`         // unrelated single alerts
	FlapsPerHour        float64 `yaml:"flaps_per_hour"`         // flapping alerts

	Topology string `yaml:"topology"` // boutique (default), social or both
	Hosts    int    `yaml:"hosts"`    // default 6
	Cluster  string `yaml:"cluster"`  // default "prod-eu1"

	// ResendInterval is how often a firing alert is re-sent (endsAt is
	// then at + 4*interval). Default 1m; negative: sent once, no endsAt.
	ResendInterval time.Duration `yaml:"resend_interval"`
	// HAReplicas is the number of Prometheus replicas sending each alert
	// (label replica="a", "b"). Default 2; 1 switches HA duplicates off.
	HAReplicas int `yaml:"ha_replicas"`
	// LateFraction of deliveries arrive late by up to MaxLate (hence out
	// of order). Default 0.05; negative: none.
	LateFraction float64       `yaml:"late_fraction"`
	MaxLate      time.Duration `yaml:"max_late"` // default 2m
	// OverlapFraction of cascades come with a concurrent cascade on an
	// unrelated part of the graph. Default 0.2; negative: none.
	OverlapFraction float64 `yaml:"overlap_fraction"`
	// CallerAlertProb is the chance that a caller of a failing service
	// alerts at all. Default 0.7; negative: callers never alert.
	CallerAlertProb float64 `yaml:"caller_alert_prob"`
	// MeanFailure is the mean duration of a failure. Default 20m.
	MeanFailure time.Duration `yaml:"mean_failure"`

	// Window is the correlation window written to the Sift config.
	// Default 5m.
	Window time.Duration `yaml:"window"`
	// RulesFile is an awesome-prometheus-alerts style YAML to draw alert
	// names and text from; empty: the built-in vocabulary.
	RulesFile string `yaml:"rules_file"`
}

// DefaultStart is the default scenario start.
var DefaultStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// WithDefaults returns c with zero fields replaced by their defaults.
func (c Config) WithDefaults() Config {
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	c.Start = c.Start.UTC()
	if c.Duration == 0 {
		c.Duration = 24 * time.Hour
	}
	if c.IncidentsPerHour == 0 && c.HostFailuresPerHour == 0 && c.NoisePerHour == 0 && c.FlapsPerHour == 0 {
		c.IncidentsPerHour, c.HostFailuresPerHour, c.NoisePerHour, c.FlapsPerHour = 2, 0.15, 20, 0.5
	}
	if c.Topology == "" {
		c.Topology = "boutique"
	}
	if c.Hosts == 0 {
		c.Hosts = 6
	}
	if c.Cluster == "" {
		c.Cluster = "prod-eu1"
	}
	if c.ResendInterval == 0 {
		c.ResendInterval = time.Minute
	}
	if c.HAReplicas == 0 {
		c.HAReplicas = 2
	}
	if c.LateFraction == 0 {
		c.LateFraction = 0.05
	}
	if c.MaxLate == 0 {
		c.MaxLate = 2 * time.Minute
	}
	if c.OverlapFraction == 0 {
		c.OverlapFraction = 0.2
	}
	if c.CallerAlertProb == 0 {
		c.CallerAlertProb = 0.7
	}
	if c.MeanFailure == 0 {
		c.MeanFailure = 20 * time.Minute
	}
	if c.Window == 0 {
		c.Window = 5 * time.Minute
	}
	return c
}

// Validate reports the first problem with c (after defaults).
func (c Config) Validate() error {
	d := c.WithDefaults()
	switch {
	case d.Duration < 0:
		return fmt.Errorf("storm: duration %s is negative", d.Duration)
	case d.IncidentsPerHour < 0 || d.HostFailuresPerHour < 0 || d.NoisePerHour < 0 || d.FlapsPerHour < 0:
		return fmt.Errorf("storm: rates per hour must not be negative")
	case d.Hosts < 1 || d.Hosts > 10000:
		return fmt.Errorf("storm: hosts = %d, want 1..10000", d.Hosts)
	case d.HAReplicas < 1 || d.HAReplicas > 26:
		return fmt.Errorf("storm: ha_replicas = %d, want 1..26", d.HAReplicas)
	case d.LateFraction > 1 || d.OverlapFraction > 1 || d.CallerAlertProb > 1:
		return fmt.Errorf("storm: late_fraction, overlap_fraction and caller_alert_prob must be <= 1")
	case d.MaxLate < 0:
		return fmt.Errorf("storm: max_late %s is negative", d.MaxLate)
	case d.MeanFailure < 0:
		return fmt.Errorf("storm: mean_failure %s is negative", d.MeanFailure)
	case d.Window <= 0:
		return fmt.Errorf("storm: window %s must be positive", d.Window)
	case d.Cluster == "":
		return fmt.Errorf("storm: cluster is empty")
	}
	if _, err := NewTopology(d.Topology, d.Cluster, d.Hosts, 0); err != nil {
		return fmt.Errorf("storm: %w", err)
	}
	// Expected number of episodes, to refuse absurd requests early.
	hours := d.Duration.Hours()
	if n := hours * (d.IncidentsPerHour*15 + d.HostFailuresPerHour*10 + d.NoisePerHour + d.FlapsPerHour); n > 5e7 {
		return fmt.Errorf("storm: about %.0f episodes requested; lower the rates or the duration", n)
	}
	return nil
}

// SmallScenario is a quick scenario for CI: 6 simulated hours, a few
// thousand alert notifications.
func SmallScenario(seed uint64) Config {
	return Config{
		Seed: seed, Duration: 6 * time.Hour,
		IncidentsPerHour: 1, HostFailuresPerHour: 0.3, NoisePerHour: 6, FlapsPerHour: 0.3,
	}.WithDefaults()
}

// WeekScenario is the default one-week benchmark: about a million alert
// notifications over 168 simulated hours.
func WeekScenario(seed uint64) Config {
	return Config{
		Seed: seed, Duration: 168 * time.Hour, Topology: "both", Hosts: 12,
		IncidentsPerHour: 8, HostFailuresPerHour: 0.5, NoisePerHour: 100, FlapsPerHour: 2,
	}.WithDefaults()
}
