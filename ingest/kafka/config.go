package kafka

import (
	"fmt"
	"strings"
	"time"

	"github.com/sift-aiops/sift/ingest"
)

// Defaults applied by Config.WithDefaults to zero fields.
const (
	DefaultTopic             = "alerts"
	DefaultGroup             = "sift"
	DefaultIncidentsTopic    = "sift.incidents"
	DefaultDeadLetterSuffix  = ".dlq"
	DefaultBatchSize         = 1000
	DefaultBatchAlerts       = 20000
	DefaultBatchWait         = 50 * time.Millisecond
	DefaultQueueCapacity     = 1000
	DefaultFetchMaxBytes     = 1 << 20
	DefaultHeartbeatInterval = 3 * time.Second
	DefaultSessionTimeout    = 30 * time.Second
	DefaultRebalanceTimeout  = 30 * time.Second
	DefaultRetryBackoffMax   = 5 * time.Second
	DefaultClientID          = "sift"
)

// Config configures Kafka ingest (the alerts consumer and its dead-letter
// producer) and the incidents topic that kafkaexport publishes to. Kafka is
// off unless brokers are set (Enabled).
//
//	kafka:
//	  brokers: [kafka-1:9092, kafka-2:9092]
//	  topic: alerts              # consumed by the group
//	  group: sift                # consumer group shared by all Sift instances
//	  format: ""                 # amv2 | webhook | event | "" (detect per message)
//	  dead_letter_topic: ""      # default "<topic>.dlq"
//	  incidents_topic: ""        # default "sift.incidents"
//	  publish_incidents: true    # false: do not publish incident events
//	  batch_size: 1000           # messages per durable batch
//	  batch_wait: 50ms           # longest a message waits for its batch to fill
type Config struct {
	Brokers []string `yaml:"brokers"`
	Topic   string   `yaml:"topic"`
	Group   string   `yaml:"group"`
	// Format of every message on Topic: "amv2", "webhook", "event", or ""
	// to detect it per message (ingest.Detect).
	Format          string `yaml:"format"`
	DeadLetterTopic string `yaml:"dead_letter_topic"`
	IncidentsTopic  string `yaml:"incidents_topic"`
	// PublishIncidents: nil or true publishes incident events to
	// IncidentsTopic (see kafkaexport); false turns that off.
	PublishIncidents *bool `yaml:"publish_incidents"`
	// BatchSize is the most messages in one durable batch, BatchAlerts the
	// most alerts (a message may hold many); BatchWait the longest the first
	// message of a batch waits for more.
	BatchSize   int           `yaml:"batch_size"`
	BatchAlerts int           `yaml:"batch_alerts"`
	BatchWait   time.Duration `yaml:"batch_wait"`
	// QueueCapacity is the number of fetched messages the client buffers
	// ahead of the batcher (kafka-go's Reader queue).
	QueueCapacity int `yaml:"queue_capacity"`
	// FetchMaxBytes bounds one fetch response per partition (default
	// 1 MiB, Kafka's own default). It is not a message size limit: a
	// larger message is still delivered whole. Larger fetches do not go
	// faster: kafka-go gives the broker max 1 s to start answering a
	// fetch, and a busy broker assembling 10 MiB responses for several
	// partitions at once missed that (i/o timeout, reconnect, the whole
	// fetch again).
	FetchMaxBytes int `yaml:"fetch_max_bytes"`
	// StartOffset is where a group with no committed offset starts:
	// "earliest" (default: nothing already on the topic is missed) or "latest".
	StartOffset       string        `yaml:"start_offset"`
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	SessionTimeout    time.Duration `yaml:"session_timeout"`
	RebalanceTimeout  time.Duration `yaml:"rebalance_timeout"`
	// RetryBackoffMax caps the backoff between retries of a failed
	// dead-letter write or durable append (they are retried until they
	// succeed or Sift stops; the offsets are not committed meanwhile).
	RetryBackoffMax time.Duration `yaml:"retry_backoff_max"`
	ClientID        string        `yaml:"client_id"`
}

// Enabled reports whether Kafka is configured (brokers are set).
func (c Config) Enabled() bool { return len(c.Brokers) > 0 }

// IncidentsEnabled reports whether incident events are to be published.
func (c Config) IncidentsEnabled() bool {
	return c.Enabled() && (c.PublishIncidents == nil || *c.PublishIncidents)
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.Group == "" {
		c.Group = DefaultGroup
	}
	if c.DeadLetterTopic == "" {
		c.DeadLetterTopic = c.Topic + DefaultDeadLetterSuffix
	}
	if c.IncidentsTopic == "" {
		c.IncidentsTopic = DefaultIncidentsTopic
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchAlerts == 0 {
		c.BatchAlerts = DefaultBatchAlerts
	}
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.QueueCapacity == 0 {
		c.QueueCapacity = DefaultQueueCapacity
	}
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if c.StartOffset == "" {
		c.StartOffset = "earliest"
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = DefaultRetryBackoffMax
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	return c
}

// Validate reports the first problem with c. Zero values are fine (they
// mean the default); with no brokers Kafka is simply off.
func (c Config) Validate() error {
	for i, b := range c.Brokers {
		if strings.TrimSpace(b) == "" || !strings.Contains(b, ":") {
			return fmt.Errorf("kafka.brokers[%d]: %q is not host:port", i, b)
		}
	}
	switch c.Format {
	case "", ingest.FormatAMv2, ingest.FormatWebhook, ingest.FormatEvent:
	default:
		return fmt.Errorf("kafka.format: unknown format %q (want amv2, webhook, event, or empty to detect)", c.Format)
	}
	for _, f := range []struct{ name, v string }{
		{"topic", c.Topic}, {"dead_letter_topic", c.DeadLetterTopic}, {"incidents_topic", c.IncidentsTopic},
	} {
		if err := validTopic(f.v); err != nil {
			return fmt.Errorf("kafka.%s: %v", f.name, err)
		}
	}
	d := c.WithDefaults()
	if d.DeadLetterTopic == d.Topic {
		return fmt.Errorf("kafka.dead_letter_topic: must differ from kafka.topic %q", d.Topic)
	}
	if d.IncidentsTopic == d.Topic {
		return fmt.Errorf("kafka.incidents_topic: must differ from kafka.topic %q", d.Topic)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"batch_size", c.BatchSize}, {"batch_alerts", c.BatchAlerts}, {"queue_capacity", c.QueueCapacity}, {"fetch_max_bytes", c.FetchMaxBytes}} {
		if f.v < 0 {
			return fmt.Errorf("kafka.%s: must not be negative, got %d", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"batch_wait", c.BatchWait}, {"heartbeat_interval", c.HeartbeatInterval}, {"session_timeout", c.SessionTimeout},
		{"rebalance_timeout", c.RebalanceTimeout}, {"retry_backoff_max", c.RetryBackoffMax}} {
		if f.v < 0 {
			return fmt.Errorf("kafka.%s: must not be negative, got %s", f.name, f.v)
		}
	}
	switch c.StartOffset {
	case "", "earliest", "latest":
	default:
		return fmt.Errorf("kafka.start_offset: %q (want earliest or latest)", c.StartOffset)
	}
	if d.HeartbeatInterval >= d.SessionTimeout {
		return fmt.Errorf("kafka.heartbeat_interval: %s must be shorter than session_timeout %s", d.HeartbeatInterval, d.SessionTimeout)
	}
	return nil
}

// validTopic applies Kafka's topic name rules (empty means the default).
func validTopic(t string) error {
	if t == "" {
		return nil
	}
	if t == "." || t == ".." {
		return fmt.Errorf("invalid topic name %q", t)
	}
	if len(t) > 249 {
		return fmt.Errorf("topic name longer than 249 characters")
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("invalid topic name %q: only letters, digits, '.', '_' and '-' are allowed", t)
		}
	}
	return nil
}
