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
// events are durable, one call at a time, in order. Each call is one
// synchronous produce with acks=all (kafka-go retries 3 times); when it
// still fails, Export returns the error (the pipeline logs it) and those
// events are not retried: the incident's next event carries its full
// state, and GET /api/v1/incidents is the source of truth.
package kafkaexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
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

// Exporter publishes incident events to Kafka. It implements
// pipeline.Exporter.
type Exporter struct {
	topic     string
	w         *kafkago.Writer
	log       *slog.Logger
	published *prometheus.CounterVec
	failed    prometheus.Counter
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
		w: &kafkago.Writer{
			Addr:                   kafkago.TCP(cfg.Brokers...),
			Topic:                  cfg.IncidentsTopic,
			Balancer:               &kafkago.Hash{},
			RequiredAcks:           kafkago.RequireAll,
			MaxAttempts:            3,
			WriteBackoffMin:        50 * time.Millisecond,
			WriteBackoffMax:        time.Second,
			BatchTimeout:           2 * time.Millisecond,
			BatchSize:              1000,
			AllowAutoTopicCreation: true,
			Transport:              &kafkago.Transport{ClientID: cfg.ClientID, DialTimeout: 10 * time.Second},
			ErrorLogger:            kafkago.LoggerFunc(func(msg string, args ...any) { log.Warn(fmt.Sprintf(msg, args...)) }),
		},
		published: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sift_kafka_incident_events_published_total",
			Help: "Incident events published to the Kafka incidents topic.", ConstLabels: prometheus.Labels{"topic": cfg.IncidentsTopic}}, []string{"type"}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_kafka_incident_events_failed_total",
			Help: "Incident events that could not be published.", ConstLabels: prometheus.Labels{"topic": cfg.IncidentsTopic}}),
	}
	if reg != nil {
		reg.MustRegister(e.published, e.failed)
	}
	return e, nil
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

// Export publishes events in order (implements pipeline.Exporter).
func (e *Exporter) Export(ctx context.Context, events []model.IncidentEvent) error {
	msgs := make([]kafkago.Message, 0, len(events))
	var encErr error
	for _, ev := range events {
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
	if err := e.w.WriteMessages(ctx, msgs...); err != nil {
		e.failed.Add(float64(len(msgs)))
		return errors.Join(fmt.Errorf("kafkaexport: publish %d incident events to %s: %w", len(msgs), e.topic, err), encErr)
	}
	for _, ev := range events {
		if ev.Incident != nil && ev.Incident.ID != "" {
			e.published.WithLabelValues(ev.Type).Inc()
		}
	}
	return encErr
}

// Close flushes and closes the producer.
func (e *Exporter) Close() error { return e.w.Close() }
