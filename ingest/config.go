package ingest

import (
	"fmt"

	"github.com/sift-aiops/sift/model"
)

// Defaults applied by Config.WithDefaults to zero fields.
const (
	DefaultMaxBodyBytes = 16 << 20 // 16 MiB: ~10000 typical alerts
	DefaultMaxBatch     = 10000
)

// DefaultDropLabels are the labels that distinguish the members of a highly
// available Prometheus pair (Prometheus Operator's prometheus_replica, the
// Thanos convention replica). Both replicas send the same alert; without
// these labels they are one alert identity.
var DefaultDropLabels = []string{"prometheus_replica", "replica"}

// Config configures decoding and validation of incoming alerts.
//
// The zero Config is valid: WithDefaults fills MaxBodyBytes, MaxBatch and,
// when DropLabels is nil (absent from YAML), DropLabels. An explicit empty
// list (drop_labels: []) drops nothing.
type Config struct {
	// DropLabels are removed from every alert's labels before it gets an
	// identity (fingerprint), so that alerts differing only by them merge.
	DropLabels []string `yaml:"drop_labels"`
	// MaxBodyBytes limits the size of one HTTP request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatch limits the number of alerts in one request or message.
	MaxBatch int `yaml:"max_batch"`
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.DropLabels == nil {
		c.DropLabels = append([]string(nil), DefaultDropLabels...)
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBatch == 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	return c
}

// Validate reports the first problem with c (zero values are fine: they
// mean the default).
func (c Config) Validate() error {
	if c.MaxBodyBytes < 0 {
		return fmt.Errorf("ingest.max_body_bytes: must not be negative, got %d", c.MaxBodyBytes)
	}
	if c.MaxBatch < 0 {
		return fmt.Errorf("ingest.max_batch: must not be negative, got %d", c.MaxBatch)
	}
	for i, n := range c.DropLabels {
		if !model.ValidLabelName(n) {
			return fmt.Errorf("ingest.drop_labels[%d]: invalid label name %q", i, n)
		}
		if n == "alertname" {
			return fmt.Errorf("ingest.drop_labels[%d]: alertname cannot be dropped (Sift requires it)", i)
		}
	}
	return nil
}
