package ingest

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sift-aiops/sift/model"
)

// Defaults applied by Config.WithDefaults to zero fields.
const (
	DefaultMaxBodyBytes           = 16 << 20 // 16 MiB: ~10000 typical alerts
	DefaultMaxBatch               = 10000
	DefaultMaxLabelsPerAlert      = 64
	DefaultMaxAnnotationsPerAlert = 64
	DefaultMaxLabelBytes          = 8 << 10  // one label name or value, or annotation name
	DefaultMaxAnnotationBytes     = 64 << 10 // one annotation value, or the generatorURL
	DefaultMaxFuture              = Duration(365 * 24 * time.Hour)
)

// MinMaxLabelBytes is the smallest max_label_bytes or max_annotation_bytes
// Validate accepts.
const MinMaxLabelBytes = 64

// MinMaxFuture is the smallest max_future Validate accepts: Prometheus
// sends endsAt a few minutes after the time it sends the alert, and clocks
// drift.
const MinMaxFuture = Duration(time.Hour)

// MinTime is the earliest startsAt or endsAt accepted,
// 2000-01-01T00:00:00Z (the zero time, "0001-01-01T00:00:00Z", still
// means unset). Nothing Sift receives started before it: an earlier time
// is a bug in the sender (a Unix time of 0, seconds taken for
// milliseconds, ...). It is informational: changing it changes nothing.
var MinTime = time.Unix(minUnix, 0).UTC()

const minUnix = 946684800 // 2000-01-01T00:00:00Z

// DefaultDropLabels are the labels that distinguish the members of a highly
// available Prometheus pair (Prometheus Operator's prometheus_replica, the
// Thanos convention replica). Both replicas send the same alert; without
// these labels they are one alert identity.
var DefaultDropLabels = []string{"prometheus_replica", "replica"}

// Config configures decoding and validation of incoming alerts.
//
// The zero Config is valid: WithDefaults fills the zero limits and, when
// DropLabels is nil (absent from YAML), DropLabels. An explicit empty
// list (drop_labels: []) drops nothing.
type Config struct {
	// DropLabels are removed from every alert's labels before it gets an
	// identity (fingerprint), so that alerts differing only by them merge.
	DropLabels []string `yaml:"drop_labels"`
	// MaxBodyBytes limits the size of one HTTP request body.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxBatch limits the number of alerts in one request or message.
	MaxBatch int `yaml:"max_batch"`
	// GitHubSecretEnv names the environment variable holding the secret
	// of GitHub webhooks (POST /api/v1/changes/github): their
	// X-Hub-Signature-256 is then checked, and it stands for a token.
	GitHubSecretEnv string `yaml:"github_secret_env"`

	// Limits on one alert; a request or message with an alert beyond
	// them is refused whole (HTTP 413, Kafka: dead-lettered).

	// MaxLabelsPerAlert limits the labels of one alert (counted after
	// empty values and drop_labels are removed).
	MaxLabelsPerAlert int `yaml:"max_labels_per_alert"`
	// MaxAnnotationsPerAlert limits the annotations of one alert (counted
	// after empty values are removed).
	MaxAnnotationsPerAlert int `yaml:"max_annotations_per_alert"`
	// MaxLabelBytes limits the length in bytes of one label name, label
	// value or annotation name.
	MaxLabelBytes int `yaml:"max_label_bytes"`
	// MaxAnnotationBytes limits the length in bytes of one annotation
	// value, and of the generatorURL.
	MaxAnnotationBytes int `yaml:"max_annotation_bytes"`
	// MaxFuture is how far after the receipt time startsAt and endsAt may
	// be (HTTP 400 beyond).
	MaxFuture Duration `yaml:"max_future"`
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
	if c.MaxLabelsPerAlert == 0 {
		c.MaxLabelsPerAlert = DefaultMaxLabelsPerAlert
	}
	if c.MaxAnnotationsPerAlert == 0 {
		c.MaxAnnotationsPerAlert = DefaultMaxAnnotationsPerAlert
	}
	if c.MaxLabelBytes == 0 {
		c.MaxLabelBytes = DefaultMaxLabelBytes
	}
	if c.MaxAnnotationBytes == 0 {
		c.MaxAnnotationBytes = DefaultMaxAnnotationBytes
	}
	if c.MaxFuture == 0 {
		c.MaxFuture = DefaultMaxFuture
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
	for _, l := range []struct {
		key string
		v   int
	}{
		{"max_labels_per_alert", c.MaxLabelsPerAlert},
		{"max_annotations_per_alert", c.MaxAnnotationsPerAlert},
		{"max_label_bytes", c.MaxLabelBytes},
		{"max_annotation_bytes", c.MaxAnnotationBytes},
	} {
		if l.v < 0 {
			return fmt.Errorf("ingest.%s: must not be negative, got %d", l.key, l.v)
		}
	}
	for _, l := range []struct {
		key string
		v   int
	}{
		{"max_label_bytes", c.MaxLabelBytes},
		{"max_annotation_bytes", c.MaxAnnotationBytes},
	} {
		if l.v != 0 && l.v < MinMaxLabelBytes {
			return fmt.Errorf("ingest.%s: must be at least %d (label names are limited by it too), got %d", l.key, MinMaxLabelBytes, l.v)
		}
	}
	if c.MaxFuture < 0 {
		return fmt.Errorf("ingest.max_future: must not be negative, got %s", c.MaxFuture)
	}
	if c.MaxFuture != 0 && c.MaxFuture < MinMaxFuture {
		return fmt.Errorf("ingest.max_future: must be at least %s (Prometheus sends endsAt minutes ahead), got %s", MinMaxFuture, c.MaxFuture)
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

// Duration is a time.Duration that reads "90s", "2h", "365d" from YAML.
type Duration time.Duration

// UnmarshalYAML accepts Go durations plus a "d" (day) suffix.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: duration must be a string like 365d: %w", n.Line, err)
	}
	v, err := parseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML renders the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// String renders whole days as "365d", anything else as time.Duration.
func (d Duration) String() string {
	const day = Duration(24 * time.Hour)
	if d != 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return time.Duration(d).String()
}

func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		const maxDays = uint64(1<<63-1) / uint64(24*time.Hour)
		if n, err := strconv.ParseUint(days, 10, 64); err == nil && n <= maxDays && strconv.FormatUint(n, 10) == days {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 12h, 30d, 365d)", s)
	}
	return v, nil
}
