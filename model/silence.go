package model

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Silence states, as in Alertmanager.
const (
	SilencePending = "pending"
	SilenceActive  = "active"
	SilenceExpired = "expired"
)

// SilenceMatcher is one matcher of a silence in Alertmanager's API form.
// IsEqual is true unless the matcher negates (!= or !~); it defaults to
// true when absent, as in Alertmanager.
type SilenceMatcher struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	IsRegex bool   `json:"isRegex"`
	IsEqual *bool  `json:"isEqual,omitempty"`
}

// Equal reports whether the matcher is positive (= or =~).
func (m SilenceMatcher) Equal() bool { return m.IsEqual == nil || *m.IsEqual }

// Type returns the matcher operator.
func (m SilenceMatcher) Type() MatchType {
	switch {
	case m.IsRegex && m.Equal():
		return MatchRegexp
	case m.IsRegex:
		return MatchNotRegexp
	case m.Equal():
		return MatchEqual
	}
	return MatchNotEqual
}

// Silence mutes the alerts its matchers select between StartsAt and
// EndsAt: they are stored and shown (suppressed) but open and join no
// incident. Silences are journaled like agent actions.
type Silence struct {
	ID        string           `json:"id"`
	Matchers  []SilenceMatcher `json:"matchers"`
	StartsAt  time.Time        `json:"startsAt"`
	EndsAt    time.Time        `json:"endsAt"`
	CreatedBy string           `json:"createdBy"`
	Comment   string           `json:"comment"`
	UpdatedAt time.Time        `json:"updatedAt"`
	// Maintenance names the maintenance window that created the silence.
	Maintenance string `json:"maintenance,omitempty"`
}

// State returns the silence state at t.
func (s *Silence) State(t time.Time) string {
	switch {
	case !t.Before(s.EndsAt):
		return SilenceExpired
	case t.Before(s.StartsAt):
		return SilencePending
	}
	return SilenceActive
}

// Compile returns the silence's matchers, or an error that names the bad
// one.
func (s *Silence) Compile() ([]*Matcher, error) {
	out := make([]*Matcher, 0, len(s.Matchers))
	for i, sm := range s.Matchers {
		m, err := NewMatcher(sm.Name, sm.Type(), sm.Value)
		if err != nil {
			return nil, fmt.Errorf("matchers[%d]: %w", i, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Validate checks a silence as Alertmanager does: at least one matcher,
// valid label names and regular expressions, at least one matcher that
// does not match the empty string (a silence must not mute everything),
// and an end after the start. The error names the field.
func (s *Silence) Validate() error {
	if len(s.Matchers) == 0 {
		return errors.New("matchers: at least one matcher is required")
	}
	for i, m := range s.Matchers {
		if !ValidLabelName(m.Name) {
			return fmt.Errorf("matchers[%d].name: invalid label name %q", i, m.Name)
		}
	}
	ms, err := s.Compile()
	if err != nil {
		return err
	}
	all := true
	for _, m := range ms {
		if !m.Matches(LabelSet{}) {
			all = false
		}
	}
	if all {
		return errors.New("matchers: at least one matcher must not match the empty string (this silence would mute every alert)")
	}
	if s.StartsAt.IsZero() || s.EndsAt.IsZero() {
		return errors.New("startsAt, endsAt: both are required")
	}
	if !s.EndsAt.After(s.StartsAt) {
		return fmt.Errorf("endsAt: %s is not after startsAt %s", s.EndsAt.Format(time.RFC3339), s.StartsAt.Format(time.RFC3339))
	}
	if strings.TrimSpace(s.CreatedBy) == "" {
		return errors.New("createdBy: required")
	}
	return nil
}

// MatcherString renders the matchers in Alertmanager syntax.
func (s *Silence) MatcherString() string {
	parts := make([]string, len(s.Matchers))
	for i, m := range s.Matchers {
		mm := Matcher{Name: m.Name, Type: m.Type(), Value: m.Value}
		parts[i] = mm.String()
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// ErrSilenceNotFound is returned for an action on an unknown silence.
type ErrSilenceNotFound struct{ ID string }

func (e ErrSilenceNotFound) Error() string { return fmt.Sprintf("silence %q not found", e.ID) }
