package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/sift-aiops/sift/internal/httpjson"
	"github.com/sift-aiops/sift/model"
)

// SilenceStore keeps silences durably (the pipeline journals them as
// actions).
type SilenceStore interface {
	Silences() []model.Silence
	Silence(id string) *model.Silence
	Act(ctx context.Context, a model.Action) (*model.Incident, error)
}

type gettableSilence struct {
	ID        string                 `json:"id"`
	Status    silenceStatus          `json:"status"`
	UpdatedAt amTime                 `json:"updatedAt"`
	Matchers  []model.SilenceMatcher `json:"matchers"`
	StartsAt  amTime                 `json:"startsAt"`
	EndsAt    amTime                 `json:"endsAt"`
	CreatedBy string                 `json:"createdBy"`
	Comment   string                 `json:"comment"`
	// Maintenance names the maintenance window that made the silence
	// (a Sift extension; Alertmanager clients ignore it).
	Maintenance string `json:"maintenance,omitempty"`
}

type silenceStatus struct {
	State string `json:"state"`
}

func (a *API) gettable(s *model.Silence) gettableSilence {
	ms := slices.Clone(s.Matchers)
	for i := range ms {
		eq := ms[i].Equal()
		ms[i].IsEqual = &eq // always present, as Alertmanager answers
	}
	return gettableSilence{ID: s.ID, Status: silenceStatus{State: s.State(a.now())}, UpdatedAt: amTime(s.UpdatedAt),
		Matchers: ms, StartsAt: amTime(s.StartsAt), EndsAt: amTime(s.EndsAt), CreatedBy: s.CreatedBy, Comment: s.Comment,
		Maintenance: s.Maintenance}
}

func (a *API) registerSilences(mux httpjson.Mux) {
	if a.Silences == nil {
		mux.HandleFunc("GET /api/v2/silences", func(w http.ResponseWriter, r *http.Request) {
			httpjson.Write(w, http.StatusOK, []struct{}{})
		})
		mux.HandleFunc("/api/v2/silences", methodNotAllowed("GET, HEAD"))
		return
	}
	mux.HandleFunc("GET /api/v2/silences", a.handleListSilences)
	mux.HandleFunc("POST /api/v2/silences", a.handlePostSilence)
	mux.HandleFunc("/api/v2/silences", methodNotAllowed("GET, HEAD, POST"))
	mux.HandleFunc("GET /api/v2/silence/{id}", a.handleGetSilence)
	mux.HandleFunc("DELETE /api/v2/silence/{id}", a.handleDeleteSilence)
	mux.HandleFunc("/api/v2/silence/{id}", methodNotAllowed("GET, HEAD, DELETE"))
}

// handleListSilences answers Alertmanager's GET /api/v2/silences: a
// filter keeps the silences whose equality matchers satisfy every filter
// matcher, as Alertmanager does.
func (a *API) handleListSilences(w http.ResponseWriter, r *http.Request) {
	var filter []*model.Matcher
	for _, f := range r.URL.Query()["filter"] {
		ms, err := parseMatchers(f)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, "filter", err.Error())
			return
		}
		filter = append(filter, ms...)
	}
	out := []gettableSilence{}
next:
	for _, s := range a.Silences.Silences() {
		ls := model.LabelSet{}
		for _, m := range s.Matchers {
			if m.Type() == model.MatchEqual {
				ls[m.Name] = m.Value
			}
		}
		for _, m := range filter {
			if !m.Matches(ls) {
				continue next
			}
		}
		out = append(out, a.gettable(&s))
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (a *API) handleGetSilence(w http.ResponseWriter, r *http.Request) {
	s := a.Silences.Silence(r.PathValue("id"))
	if s == nil {
		httpjson.Error(w, http.StatusNotFound, "id", fmt.Sprintf("silence %q not found", r.PathValue("id")))
		return
	}
	httpjson.Write(w, http.StatusOK, a.gettable(s))
}

func (a *API) handleDeleteSilence(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s := a.Silences.Silence(id)
	if s == nil {
		httpjson.Error(w, http.StatusNotFound, "id", fmt.Sprintf("silence %q not found", id))
		return
	}
	if s.State(a.now()) == model.SilenceExpired {
		httpjson.Error(w, http.StatusBadRequest, "id", fmt.Sprintf("silence %s already expired", id))
		return
	}
	if _, err := a.Silences.Act(r.Context(), model.Action{At: a.now(), Kind: model.ActionExpireSilence, Value: id, Token: a.tokenOf(r)}); err != nil {
		a.actError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

type postableSilence struct {
	ID        string                 `json:"id"`
	Matchers  []model.SilenceMatcher `json:"matchers"`
	StartsAt  time.Time              `json:"startsAt"`
	EndsAt    time.Time              `json:"endsAt"`
	CreatedBy string                 `json:"createdBy"`
	Comment   string                 `json:"comment"`
}

// handlePostSilence creates or updates a silence as Alertmanager does: a
// start in the past becomes now; an end must be in the future; an active
// silence is updated in place only when its matchers and start stay, else
// it is expired and a new one made (a new id).
func (a *API) handlePostSilence(w http.ResponseWriter, r *http.Request) {
	if err := checkContentType(r); err != nil {
		httpjson.Error(w, http.StatusUnsupportedMediaType, "Content-Type", err.Error())
		return
	}
	var ps postableSilence
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&ps); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "", "invalid silence JSON: "+err.Error())
		return
	}
	now := a.now()
	s := model.Silence{ID: ps.ID, Matchers: ps.Matchers, StartsAt: ps.StartsAt, EndsAt: ps.EndsAt,
		CreatedBy: ps.CreatedBy, Comment: ps.Comment, UpdatedAt: now}
	if err := s.Validate(); err != nil {
		httpjson.Error(w, http.StatusBadRequest, fieldOf(err), err.Error())
		return
	}
	if !s.EndsAt.After(now) {
		httpjson.Error(w, http.StatusBadRequest, "endsAt", fmt.Sprintf("endsAt: %s is in the past", s.EndsAt.Format(time.RFC3339)))
		return
	}
	if s.StartsAt.Before(now) {
		s.StartsAt = now
	}
	if s.ID != "" {
		old := a.Silences.Silence(s.ID)
		if old == nil {
			httpjson.Error(w, http.StatusNotFound, "id", fmt.Sprintf("silence %q not found", s.ID))
			return
		}
		inPlace := false
		switch old.State(now) {
		case model.SilencePending:
			inPlace = true
		case model.SilenceActive:
			inPlace = old.MatcherString() == s.MatcherString() && !ps.StartsAt.After(now)
			if inPlace {
				s.StartsAt = old.StartsAt
			}
		}
		if !inPlace {
			if old.State(now) != model.SilenceExpired {
				if _, err := a.Silences.Act(r.Context(), model.Action{At: now, Kind: model.ActionExpireSilence, Value: old.ID, Token: a.tokenOf(r)}); err != nil {
					a.actError(w, err)
					return
				}
			}
			s.ID = ""
		}
	}
	if s.ID == "" {
		s.ID = newSilenceID()
	}
	if _, err := a.Silences.Act(r.Context(), model.Action{At: now, Kind: model.ActionSilence, Silence: &s, Actor: s.CreatedBy, Token: a.tokenOf(r)}); err != nil {
		a.actError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]string{"silenceID": s.ID})
}

func (a *API) tokenOf(r *http.Request) string {
	if a.TokenName == nil {
		return ""
	}
	return a.TokenName(r.Context())
}

// actError answers an action the store refused: the input was checked
// before, so what is left is an unknown silence or storage that cannot
// take it now.
func (a *API) actError(w http.ResponseWriter, err error) {
	var nf model.ErrSilenceNotFound
	if errors.As(err, &nf) {
		httpjson.Error(w, http.StatusNotFound, "id", err.Error())
		return
	}
	httpjson.Error(w, http.StatusServiceUnavailable, "", "could not store the silence durably: "+err.Error())
}

// fieldOf returns the field a validation error starts with ("matchers[0].name: ...").
func fieldOf(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ":"); i > 0 && !strings.ContainsAny(msg[:i], " ") {
		return msg[:i]
	}
	return ""
}

// newSilenceID returns a random UUID (version 4), the form of
// Alertmanager's silence ids.
func newSilenceID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
