package model

import "time"

// Alert event kinds recorded in history: an alert's first episode, a later
// episode of the same identity, and the end of an episode.
const (
	AlertFiring   = "firing"
	AlertRefired  = "refired"
	AlertResolved = "resolved"
)

// AlertEvent is one change of an alert's state, as recorded in history.
// The correlation engine emits it when history is on (Engine.EmitHistory).
type AlertEvent struct {
	At          time.Time   `json:"at"` // event time of the change
	Fingerprint Fingerprint `json:"fingerprint"`
	Kind        string      `json:"kind"` // firing, refired, resolved
	Labels      LabelSet    `json:"labels"`
	StartsAt    time.Time   `json:"startsAt"` // start of the episode
	Incident    string      `json:"incident,omitempty"`
	// Notifications counts the notifications this event accounts for:
	// 1 for the one that started an episode, and the rest of the
	// episode's notifications on its end. Summed over events it is the
	// number of notifications received.
	Notifications int  `json:"notifications"`
	Flapping      bool `json:"flapping,omitempty"`
}

// LifecycleEvent is one event of an incident's life as recorded in history:
// opened, joined, moved, merged, flapping, problem, reopened, resolved, and
// the agents' acknowledged, assigned, note and classified. The incident's
// attributes are the ones it had when the engine handed the event over.
type LifecycleEvent struct {
	At          time.Time   `json:"at"`
	Incident    string      `json:"incident"`
	Event       string      `json:"event"`
	Detail      string      `json:"detail,omitempty"`
	Actor       string      `json:"actor,omitempty"`
	Fingerprint Fingerprint `json:"fingerprint,omitempty"` // the alert concerned, if any
	AlertName   string      `json:"alertname,omitempty"`
	Services    []string    `json:"services,omitempty"`
	RootCause   string      `json:"rootCause,omitempty"`
	Signature   string      `json:"signature,omitempty"`
	Problem     string      `json:"problem,omitempty"`
	Title       string      `json:"title,omitempty"`
	Severity    string      `json:"severity,omitempty"`
	OpenedAt    time.Time   `json:"openedAt"`
	AlertCount  int         `json:"alertCount"`
	// Class is the agent's classification when one was recorded.
	Class *Classification `json:"classification,omitempty"`
}

// HistoryBatch is what one commit of the journal added to history: the
// alert and incident events of the records up to Seq.
type HistoryBatch struct {
	Seq       uint64           `json:"seq"`
	Alerts    []AlertEvent     `json:"alerts,omitempty"`
	Lifecycle []LifecycleEvent `json:"lifecycle,omitempty"`
	// Replayed marks events derived again while recovering from the
	// journal: some may already be in history.
	Replayed bool `json:"replayed,omitempty"`
}

// Empty reports whether b holds no event.
func (b *HistoryBatch) Empty() bool { return b == nil || len(b.Alerts) == 0 && len(b.Lifecycle) == 0 }
