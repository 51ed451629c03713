package model

import (
	"context"
	"errors"
	"time"
)

// ErrTooManyAlerts is returned by a Sink that holds as many distinct alerts
// as it may (limits.max_active_alerts): new alerts are refused until some
// are forgotten; notifications of known alerts are still taken.
var ErrTooManyAlerts = errors.New("too many active alerts (limits.max_active_alerts)")

// Alert is one alert notification as received, normalised from any of the
// ingest formats (Alertmanager v2 API, Alertmanager webhook, generic event,
// Kafka message).
type Alert struct {
	Labels       LabelSet  `json:"labels"`
	Annotations  LabelSet  `json:"annotations,omitempty"`
	StartsAt     time.Time `json:"startsAt"`
	EndsAt       time.Time `json:"endsAt,omitempty"`
	GeneratorURL string    `json:"generatorURL,omitempty"`
}

// Fingerprint is the alert's identity (see LabelSet.Fingerprint).
func (a *Alert) Fingerprint() Fingerprint { return a.Labels.Fingerprint() }

// Name returns the alertname label.
func (a *Alert) Name() string { return a.Labels["alertname"] }

// Summary returns the summary annotation, falling back to description.
func (a *Alert) Summary() string {
	if s := a.Annotations["summary"]; s != "" {
		return s
	}
	return a.Annotations["description"]
}

// ResolvedAt reports whether the alert is resolved at time t: it has an
// end time and that end time is not after t.
func (a *Alert) ResolvedAt(t time.Time) bool {
	return !a.EndsAt.IsZero() && !a.EndsAt.After(t)
}

// Batch is a group of alerts accepted together: all or none of them become
// durable. At is the time Sift received them; every correlation decision is
// taken on this event time, never on the wall clock, so that replaying the
// journal gives the same result as the live run.
type Batch struct {
	At     time.Time `json:"at"`
	Source string    `json:"source,omitempty"` // receiver that accepted it, e.g. "amv2", "webhook", "event", "kafka"
	Alerts []Alert   `json:"alerts"`
	// Cursors, when set, records positions in an upstream log (for Kafka:
	// "topic/partition" -> offset of the last message in this batch). The
	// journal stores them atomically with the batch, so a consumer that
	// restarts can skip what is already durable (see CursorStore).
	Cursors map[string]int64 `json:"cursors,omitempty"`
}

// CursorStore reports the durable upstream positions recorded with batches.
type CursorStore interface {
	// Cursor returns the highest position stored for key, and whether any was.
	Cursor(key string) (int64, bool)
}

// Sink accepts batches of alerts. Append returns only once the batch is
// durable (it survives kill -9); a nil error is what lets a receiver
// answer 2xx or commit a Kafka offset. Append must be safe for concurrent
// use.
type Sink interface {
	Append(ctx context.Context, b Batch) error
}

// AlertState is the deduplicated state of one alert identity.
type AlertState struct {
	Fingerprint Fingerprint `json:"fingerprint"`
	Alert
	Status     string    `json:"status"` // "firing" or "resolved"
	FirstSeen  time.Time `json:"firstSeen"`
	LastSeen   time.Time `json:"lastSeen"`
	Count      int       `json:"count"`
	Flapping   bool      `json:"flapping,omitempty"`
	Incident   string    `json:"incident,omitempty"`
	ResolvedAt time.Time `json:"resolvedAt,omitempty"`
	// SilencedBy lists the silences that mute the alert now; Held says
	// it fired while muted and so belongs to no incident.
	SilencedBy []string `json:"silencedBy,omitempty"`
	Held       bool     `json:"held,omitempty"`
}

// Alert statuses.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)
