package model

import "time"

// SLA kinds of breach.
const (
	SLARespond = "respond" // nobody acknowledged the incident by RespondBy
	SLAResolve = "resolve" // it was not resolved by ResolveBy
)

// SLATargets are the response and resolution times of an SLA policy.
type SLATargets struct {
	// Policy names the policy the targets come from, e.g. "P1",
	// "team payments P1" or "service checkout P1".
	Policy  string
	Respond time.Duration
	Resolve time.Duration
}

// SLA is the service-level clock of an incident: it starts when the
// incident opens; acknowledging it stops the response clock and resolving
// it stops both. The clocks run on the journaled event time, so a replay
// gives the same breaches.
type SLA struct {
	Policy      string    `json:"policy"`
	Priority    string    `json:"priority"`
	Team        string    `json:"team,omitempty"` // team that chose a team policy
	RespondBy   time.Time `json:"respondBy,omitzero"`
	ResolveBy   time.Time `json:"resolveBy,omitzero"`
	RespondedAt time.Time `json:"respondedAt,omitzero"`
	ResolvedAt  time.Time `json:"resolvedAt,omitzero"`
	// Breached is true once a target was missed; Breaches lists which
	// ("respond", "resolve"), in the order they were missed.
	Breached bool     `json:"breached"`
	Breaches []string `json:"breaches,omitempty"`
}

// Has reports whether the SLA already recorded a breach of kind.
func (s *SLA) Has(kind string) bool {
	for _, b := range s.Breaches {
		if b == kind {
			return true
		}
	}
	return false
}
