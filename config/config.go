// Package config reads Sift's YAML configuration file. Every stage owns
// its own section type; this package puts them together, applies
// defaults and reports problems with the line they are on.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/classify/llm"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/history"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/ingest/kafka"
	"github.com/sift-aiops/sift/ingest/servicegraph"
	"github.com/sift-aiops/sift/internal/auth"
	"github.com/sift-aiops/sift/internal/yamlpath"
	"github.com/sift-aiops/sift/knowledge"
	"github.com/sift-aiops/sift/tickets"
	"github.com/sift-aiops/sift/tickets/maintenance"
	"github.com/sift-aiops/sift/tickets/notify"
)

// Defaults.
const (
	DefaultListen  = "127.0.0.1:9093"
	DefaultDataDir = "./data"
)

// Config is the whole configuration file.
type Config struct {
	Listen    string             `yaml:"listen"`
	DataDir   string             `yaml:"data_dir"`
	Ingest    ingest.Config      `yaml:"ingest"`
	Correlate correlate.Config   `yaml:"correlate"`
	Topology  correlate.Topology `yaml:"topology"`
	Knowledge knowledge.Config   `yaml:"knowledge"`
	Classify  classify.Config    `yaml:"classify"`
	Kafka     kafka.Config       `yaml:"kafka"`
	History   history.Config     `yaml:"history"`
	LLM       llm.Config         `yaml:"llm"`
	Debug     Debug              `yaml:"debug"`
	Limits    Limits             `yaml:"limits"`
	Auth      auth.Config        `yaml:"auth"`
	TLS       auth.TLS           `yaml:"tls"`
	SLA       tickets.SLAConfig  `yaml:"sla"`
	// Maintenance lists recurring maintenance windows (silences on a schedule).
	Maintenance maintenance.Config `yaml:"maintenance"`
	Notify      notify.Config      `yaml:"notify"`
}

// Limits bound what senders can make Sift hold (per alert: see ingest).
type Limits struct {
	// MaxActiveAlerts bounds the active alerts (firing, silenced or not):
	// a batch that would make more alerts active gets 429, counting the
	// batches still in flight (default 1,000,000; 0 takes the default, -1:
	// none). Resolved alerts do not count; they are kept for
	// correlate.retention, but when they would take the alerts stored
	// beyond this bound, the oldest that no open incident holds are
	// forgotten (their history is recorded already).
	MaxActiveAlerts int `yaml:"max_active_alerts"`
	// The same bounds as ingest.max_labels_per_alert, ingest.max_label_bytes
	// and correlate.max_alerts_per_incident, for those who keep every
	// bound in one place; set in both sections, they must agree.
	MaxLabelsPerAlert    int `yaml:"max_labels_per_alert"`
	MaxLabelBytes        int `yaml:"max_label_bytes"`
	MaxAlertsPerIncident int `yaml:"max_alerts_per_incident"`
	// GCHeadroom bounds the memory the Go garbage collector keeps beyond
	// what is live: the heap may grow by this fraction of the live heap
	// (plus 128 MiB) before a collection, instead of doubling (Go's
	// default). Small heaps are left to Go's pacing (the bound binds above
	// about 160 MiB live); a million active alerts take about 45 % less
	// memory (1.26 instead of 2.28 KB per alert) for a burst of new ones
	// ingested 40 % slower (benchmarks/RESULTS.md 7.2). Default 0.2; 0: Go's
	// default pacing; an operator's GOMEMLIMIT takes precedence. See
	// internal/memlimit.
	GCHeadroom *float64 `yaml:"gc_headroom"`
}

// mergeLimits copies the bounds of limits: into the sections that apply
// them.
func (c *Config) mergeLimits() error {
	for _, m := range []struct {
		name     string
		from     int
		into     *int
		intoName string
	}{
		{"max_labels_per_alert", c.Limits.MaxLabelsPerAlert, &c.Ingest.MaxLabelsPerAlert, "ingest.max_labels_per_alert"},
		{"max_label_bytes", c.Limits.MaxLabelBytes, &c.Ingest.MaxLabelBytes, "ingest.max_label_bytes"},
		{"max_alerts_per_incident", c.Limits.MaxAlertsPerIncident, &c.Correlate.MaxAlertsPerIncident, "correlate.max_alerts_per_incident"},
	} {
		switch {
		case m.from == 0:
		case *m.into != 0 && *m.into != m.from:
			return fmt.Errorf("limits.%s: %d, but %s is %d: set one of them", m.name, m.from, m.intoName, *m.into)
		default:
			*m.into = m.from
		}
	}
	return nil
}

// DefaultMaxActiveAlerts fits a 2-core, 24 GiB machine with room to spare.
const DefaultMaxActiveAlerts = 1_000_000

// DefaultGCHeadroom: see Limits.GCHeadroom.
const DefaultGCHeadroom = 0.2

// Headroom returns the garbage collector's headroom to apply (0: Go's own).
func (l Limits) Headroom() float64 {
	if l.GCHeadroom == nil {
		return DefaultGCHeadroom
	}
	return *l.GCHeadroom
}

// ActiveAlerts returns the bound to apply (0: none).
func (l Limits) ActiveAlerts() int {
	switch {
	case l.MaxActiveAlerts < 0:
		return 0
	case l.MaxActiveAlerts == 0:
		return DefaultMaxActiveAlerts
	}
	return l.MaxActiveAlerts
}

// Debug holds what helps to debug Sift and is off by default.
type Debug struct {
	// Pprof serves Go's profiling endpoints under /debug/pprof/.
	Pprof bool `yaml:"pprof"`
}

// Default returns the configuration used when no file is given.
func Default() *Config {
	c := &Config{}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	c.Ingest = c.Ingest.WithDefaults()
	c.Correlate = c.Correlate.WithDefaults()
	c.Topology = c.Topology.WithDefaults()
}

// Error is a configuration problem, with the line it is on when known.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	case e.File != "":
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return e.Msg
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	c, err := Parse(data)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			ce.File = path
			return nil, ce
		}
		return nil, &Error{File: path, Msg: err.Error()}
	}
	return c, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// Parse decodes and validates a configuration document. Unknown keys are
// errors (a typo must not silently fall back to a default).
func Parse(data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(err)
	}
	c := &Config{}
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil {
			return nil, yamlError(err)
		}
	}
	if err := c.validate(); err != nil {
		return nil, &Error{Line: yamlpath.Line(&root, err.Error()), Msg: err.Error()}
	}
	c.applyDefaults()
	return c, nil
}

func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		m := yamlLine.FindStringSubmatch(te.Errors[0])
		if m != nil {
			n, _ := strconv.Atoi(m[1])
			return &Error{Line: n, Msg: m[2]}
		}
		return &Error{Msg: te.Errors[0]}
	}
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{Line: n, Msg: m[2]}
	}
	return &Error{Msg: strings.TrimPrefix(msg, "yaml: ")}
}

func (c *Config) validate() error {
	if err := c.mergeLimits(); err != nil {
		return err
	}
	if err := c.Ingest.Validate(); err != nil {
		return err
	}
	if err := c.Correlate.Validate(); err != nil {
		return err
	}
	if err := c.Topology.Validate(); err != nil {
		return err
	}
	if err := c.Knowledge.Validate(); err != nil {
		return err
	}
	if err := c.Classify.Validate(); err != nil {
		return err
	}
	if err := c.Kafka.Validate(); err != nil {
		return err
	}
	if err := c.History.Validate(); err != nil {
		return err
	}
	if err := c.LLM.Validate(); err != nil {
		return err
	}
	if err := c.Auth.Validate(); err != nil {
		return err
	}
	if err := c.TLS.Validate(); err != nil {
		return err
	}
	if err := c.SLA.Validate(); err != nil {
		return err
	}
	if err := servicegraph.Validate(c.Topology.ServiceGraph); err != nil {
		return err
	}
	if err := c.Maintenance.Validate(); err != nil {
		return err
	}
	if err := c.Notify.Validate(); err != nil {
		return err
	}
	if c.Limits.MaxActiveAlerts < -1 {
		return fmt.Errorf("limits.max_active_alerts: %d: use a positive number, or -1 for no bound", c.Limits.MaxActiveAlerts)
	}
	if h := c.Limits.GCHeadroom; h != nil && (*h < 0 || *h > 10) {
		return fmt.Errorf("limits.gc_headroom: %g: use a fraction of the live heap between 0 (Go's default pacing) and 10", *h)
	}
	if c.Listen != "" && !strings.Contains(c.Listen, ":") {
		return fmt.Errorf("listen: %q must be host:port", c.Listen)
	}
	return nil
}
