// Package kafkaexport publishes incident events to a Kafka topic so that
// agents, ticketing bridges and other consumers can follow incidents
// (already correlated, and classified when the classify stage ran)
// without polling Sift's API.
//
// # Topic and keys
//
// Events go to kafka.Config.IncidentsTopic (default "sift.incidents"),
// keyed by incident id: all events of one incident land on one partition,
// in the order Sift produced them. Events of different incidents carry no
// order between them.
//
// # Message value: JSON, schema "sift.incident-event/v1"
//
//	{
//	  "schema": "sift.incident-event/v1",
//	  "type":   "opened" | "updated" | "classified" | "resolved" | "reopened",
//	  "at":     "2026-11-25T21:30:00Z",          // event time (RFC 3339)
//	  "incident": {                               // the incident after the change
//	    "id": "...", "title": "...", "status": "open" | "acknowledged" | "resolved",
//	    "severity": "critical", "openedAt": "...", "updatedAt": "...", "resolvedAt": "...",
//	    "signature": "...",
//	    "rootCause": {"service": "db", "evidence": ["..."]},
//	    "services": ["api", "db"],
//	    "members": [{"fingerprint": "16 hex digits", "alertname": "...", "service": "...",
//	                 "joinedAt": "...", "reason": {"kind": "seed|group|topology|infra|text|flap",
//	                 "detail": "...", "score": 1, "via": "fingerprint"}}],
//	    "timeline": [{"at": "...", "event": "opened|joined|resolved|reopened|...", "detail": "...", "actor": "..."}],
//	    "problem": "...", "assignee": "...", "notes": "...",
//	    "classification": {"team": "...", "category": "...", "priority": "...",
//	                       "confidence": 0.9, "sources": ["rule:..."]}
//	  }
//	}
//
// The incident object is model.Incident as served by GET
// /api/v1/incidents/{id}; fields that are empty are omitted. Consumers
// must ignore fields they do not know (new ones may be added within v1).
//
// # Headers
//
//	sift-schema      sift.incident-event/v1
//	sift-event-type  the "type" field, to filter without decoding JSON
//	sift-incident    the incident id (same as the key)
//
// # Delivery
//
// Export is called by the pipeline after the records that caused the
// events are durable, one call at a time, in order. It encodes the events
// and queues them (at most QueueSize calls' worth) without waiting for
// Kafka, so that a slow or unreachable Kafka never holds up alert ingest
// and correlation. One goroutine produces the queue in order (acks=all),
// retrying a failed produce with backoff (up to 5 s between tries) until it
// succeeds: events are delivered at least once and in order per incident.
// If Kafka stays away until the queue is full, Export drops the new events
// and returns an error (counted in sift_kafka_incident_events_dropped_total):
// the incident's next event carries its full state, and
// GET /api/v1/incidents is the source of truth. Close flushes the queue
// (waiting up to 10 s).
//
// What Kafka acknowledged is kept in the data directory (file "exported",
// the event time of the last event published). After a crash, `sift
// serve` sends the current state of every incident that changed after
// it (or up to one correlation window before it) again: "opened" for an
// incident opened since, "resolved" for one resolved since, "updated"
// otherwise. So an event queued but not yet published when the process
// died is not lost; a consumer may see an incident's state twice.
package kafkaexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/ingest/kafka"
	"github.com/sift-aiops/sift/model"
)

// Schema is the value of the "schema" field and the sift-schema header.
const Schema = "sift.incident-event/v1"

// Headers set on every published event.
const (
	HeaderSchema    = "sift-schema"
	HeaderEventType = "sift-event-type"
	HeaderIncident  = "sift-incident"
)

// Event is the JSON value of a published message.
type Event struct {
	Schema   string          `json:"schema"`
	Type     string          `json:"type"`
	At       time.Time       `json:"at"`
	Incident *model.Incident `json:"incident"`
}

// QueueSize is how many Export calls may wait for Kafka before new events
// are dropped.
const QueueSize = 4096

// Exporter publishes incident events to Kafka. It implements
// pipeline.Exporter.
type Exporter struct {
	topic     string
	w         *kafkago.Writer
	log       *slog.Logger
	published *prometheus.CounterVec
	failed    prometheus.Counter
	dropped   prometheus.Counter
	retries   prometheus.Counter

	q         chan queued
	delivered atomic.Pointer[time.Time] // event time of the last event delivered
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	mu        sync.RWMutex // guards closed and sends on q
	closed    bool
	closeWait time.Duration
}

// New returns an Exporter for cfg.Brokers and cfg.IncidentsTopic. It
// fails if Kafka is off or publish_incidents is false. reg and log may be nil.
func New(cfg kafka.Config, reg prometheus.Registerer, log *slog.Logger) (*Exporter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.IncidentsEnabled() {
		return nil, errors.New("kafkaexport: kafka is off (no brokers) or kafka.publish_incidents is false")
	}
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "kafka-incidents", "topic", cfg.IncidentsTopic)
	e := &Exporter{
		topic: cfg.IncidentsTopic,
		log:   log,
		w:     kafka.NewWriter(cfg, cfg.IncidentsTopic, log),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sift_kafka_incident_events_published_total",
			Help: "Incident events published to the Kafka incidents topic.", ConstLabels: prometheus.Labels{"topic": cfg.IncidentsTopic}}, []string{"type"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_kafka_incident_events_failed_total",
			Help: "Incident events that could not be encoded.", ConstLabels: prometheus.Labels{"topic": cfg.IncidentsTopic}}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_kafka_incident_events_dropped_total",
			Help: "Incident events dropped because Kafka was unreachable until the queue was full.", ConstLabels: prometheus.Labels{"topic": cfg.IncidentsTopic}}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_kafka_incident_produce_retries_total",
			Help: "Failed produce attempts to the incidents topic (retried).", ConstLabels: prometheus.Labels{"topic": cfg.IncidentsTopic}}),
		q:         make(chan queued, QueueSize),
		done:      make(chan struct{}),
		closeWait: 10 * time.Second,
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	if reg != nil {
		reg.MustRegister(e.published, e.failed, e.dropped, e.retries)
	}
	go e.loop()
	return e, nil
}

// queued is one Export call's messages and the event time of its last
// event.
type queued struct {
	msgs []kafkago.Message
	last time.Time
}

// Delivered implements pipeline.Acknowledger: the event time of the last
// event Kafka acknowledged (every event queued before it was published or
// dropped); the zero time before the first.
func (e *Exporter) Delivered() (time.Time, bool) {
	if t := e.delivered.Load(); t != nil {
		return *t, true
	}
	return time.Time{}, true
}

// Encode returns the message for one event.
func Encode(ev model.IncidentEvent) (kafkago.Message, error) {
	if ev.Incident == nil || ev.Incident.ID == "" {
		return kafkago.Message{}, fmt.Errorf("kafkaexport: %s event without an incident id", ev.Type)
	}
	v, err := json.Marshal(Event{Schema: Schema, Type: ev.Type, At: ev.At.UTC(), Incident: ev.Incident})
	if err != nil {
		return kafkago.Message{}, fmt.Errorf("kafkaexport: encode %s event of %s: %w", ev.Type, ev.Incident.ID, err)
	}
	return kafkago.Message{
		Key:   []byte(ev.Incident.ID),
		Value: v,
		Time:  ev.At,
		Headers: []kafkago.Header{
			{Key: HeaderSchema, Value: []byte(Schema)},
			{Key: HeaderEventType, Value: []byte(ev.Type)},
			{Key: HeaderIncident, Value: []byte(ev.Incident.ID)},
		},
	}, nil
}

// Export queues events for publication, in order (implements
// pipeline.Exporter). It does not wait for Kafka.
func (e *Exporter) Export(ctx context.Context, events []model.IncidentEvent) error {
	msgs := make([]kafkago.Message, 0, len(events))
	var encErr error
	var last time.Time
	for _, ev := range events {
		if ev.At.After(last) {
			last = ev.At
		}
		m, err := Encode(ev)
		if err != nil {
			e.failed.Inc()
			encErr = errors.Join(encErr, err)
			continue
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return encErr
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		e.dropped.Add(float64(len(msgs)))
		return errors.Join(errors.New("kafkaexport: exporter closed"), encErr)
	}
	select {
	case e.q <- queued{msgs: msgs, last: last}:
		return encErr
	default:
		e.dropped.Add(float64(len(msgs)))
		return errors.Join(fmt.Errorf("kafkaexport: %d incident events dropped: %d batches already wait for Kafka (topic %s)", len(msgs), QueueSize, e.topic), encErr)
	}
}

func (e *Exporter) loop() {
	defer close(e.done)
	for b := range e.q {
		msgs := b.msgs
		backoff := 100 * time.Millisecond
		for {
			err := e.w.WriteMessages(e.ctx, msgs...)
			if err == nil {
				for _, m := range msgs {
					e.published.WithLabelValues(eventType(m)).Inc()
				}
				if last, _ := e.Delivered(); b.last.After(last) {
					last = b.last
					e.delivered.Store(&last)
				}
				break
			}
			if e.ctx.Err() != nil {
				e.dropped.Add(float64(len(msgs)))
				break
			}
			e.retries.Inc()
			e.log.Warn("publishing incident events failed; retrying", "events", len(msgs), "err", err, "backoff", backoff)
			select {
			case <-time.After(backoff):
			case <-e.ctx.Done():
			}
			backoff = min(2*backoff, 5*time.Second)
		}
	}
}

func eventType(m kafkago.Message) string {
	for _, h := range m.Headers {
		if h.Key == HeaderEventType {
			return string(h.Value)
		}
	}
	return ""
}

// Close publishes what is queued (waiting up to 10 s; what is left then is
// dropped) and closes the producer. Export must not be called after Close.
func (e *Exporter) Close() error {
	e.closeOnce.Do(func() {
		e.mu.Lock()
		e.closed = true
		close(e.q)
		e.mu.Unlock()
		select {
		case <-e.done:
		case <-time.After(e.closeWait):
			e.cancel()
			<-e.done
		}
		e.cancel()
	})
	return e.w.Close()
}
