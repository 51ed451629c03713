package model

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Change is something done to a service (a deploy, a configuration or
// infrastructure change), posted by CI/CD or an operator. A change on a
// service, or on one it depends on, shortly before an incident started is
// evidence for the incident's root cause. Changes are journaled.
type Change struct {
	ID      string    `json:"id"`
	Service string    `json:"service"`
	Kind    string    `json:"kind"` // deploy, config, infra, feature_flag, ...
	Summary string    `json:"summary,omitempty"`
	At      time.Time `json:"at"`
	Author  string    `json:"author,omitempty"`
	URL     string    `json:"url,omitempty"`
}

// Validate checks a change; the error names the field.
func (c *Change) Validate() error {
	switch {
	case strings.TrimSpace(c.ID) == "":
		return errors.New("id: required (it makes a resend harmless)")
	case len(c.ID) > 256:
		return errors.New("id: at most 256 bytes")
	case strings.TrimSpace(c.Service) == "":
		return errors.New("service: required (the service that changed)")
	case strings.TrimSpace(c.Kind) == "":
		return errors.New("kind: required (deploy, config, infra, ...)")
	case c.At.IsZero():
		return errors.New("at: required (RFC 3339 time of the change)")
	case len(c.Summary) > 4096:
		return errors.New("summary: at most 4096 bytes")
	}
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("url: %q is not an http(s) URL", c.URL)
		}
	}
	return nil
}

// CausalChange is a change listed as evidence for a root cause.
type CausalChange struct {
	Change
	// Relation says how the changed service relates to the root cause:
	// "root" (the root-cause service itself), "dependency" (a service the
	// root cause depends on) or "member" (another service of the incident).
	Relation string `json:"relation"`
	// Before is how long before the incident started the change was made
	// (negative: just after), in seconds.
	Before float64 `json:"beforeSeconds"`
}
