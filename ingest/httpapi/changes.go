package httpapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/internal/httpjson"
	"github.com/sift-aiops/sift/model"
)

// ChangeStore keeps changes durably (the pipeline journals them).
type ChangeStore interface {
	Changes(service string, since time.Time, limit int) []model.Change
	Act(ctx context.Context, a model.Action) (*model.Incident, error)
}

// maxChangesPerRequest bounds a POST of a list of changes.
const maxChangesPerRequest = 1000

func (a *API) registerChanges(mux httpjson.Mux) {
	if a.Changes == nil {
		return
	}
	mux.HandleFunc("POST /api/v1/changes", a.handlePostChanges)
	mux.HandleFunc("GET /api/v1/changes", a.handleListChanges)
	mux.HandleFunc("/api/v1/changes", methodNotAllowed("GET, HEAD, POST"))
	mux.HandleFunc("POST /api/v1/changes/github", a.handleGitHubChange)
	mux.HandleFunc("/api/v1/changes/github", methodNotAllowed("POST"))
}

// handlePostChanges takes one change object or a list of them:
// {"id", "service", "kind", "summary", "at", "author", "url"}. A change
// without "at" was made now. Each is journaled; a resend with the same id
// replaces the first.
func (a *API) handlePostChanges(w http.ResponseWriter, r *http.Request) {
	if err := checkContentType(r); err != nil {
		httpjson.Error(w, http.StatusUnsupportedMediaType, "Content-Type", err.Error())
		return
	}
	var raw json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&raw); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "", "invalid JSON body: "+err.Error())
		return
	}
	var list []model.Change
	var err error
	if t := strings.TrimSpace(string(raw)); strings.HasPrefix(t, "[") {
		err = strictDecode(raw, &list)
	} else {
		var c model.Change
		err = strictDecode(raw, &c)
		list = []model.Change{c}
	}
	if err != nil {
		httpjson.Error(w, http.StatusBadRequest, "", "invalid change: "+err.Error())
		return
	}
	if len(list) == 0 || len(list) > maxChangesPerRequest {
		httpjson.Error(w, http.StatusBadRequest, "", fmt.Sprintf("want 1 to %d changes, got %d", maxChangesPerRequest, len(list)))
		return
	}
	now := a.now()
	for i := range list {
		c := &list[i]
		if c.At.IsZero() {
			c.At = now
		}
		if err := c.Validate(); err != nil {
			field := fieldOf(err)
			if len(list) > 1 {
				field = fmt.Sprintf("[%d].%s", i, field)
			}
			httpjson.Error(w, http.StatusBadRequest, field, err.Error())
			return
		}
	}
	if !a.storeChanges(w, r, list) {
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"accepted": len(list)})
}

func (a *API) storeChanges(w http.ResponseWriter, r *http.Request, list []model.Change) bool {
	now := a.now()
	for i := range list {
		c := list[i]
		if _, err := a.Changes.Act(r.Context(), model.Action{At: now, Kind: model.ActionChange, Change: &c, Actor: c.Author, Token: a.tokenOf(r)}); err != nil {
			httpjson.Error(w, http.StatusServiceUnavailable, "", fmt.Sprintf("could not store change %s durably (%d of %d stored): %v", c.ID, i, len(list), err))
			return false
		}
	}
	return true
}

func strictDecode(raw []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// handleListChanges answers GET /api/v1/changes?service=&since=&limit=,
// newest first ({"changes": [...]}). since is RFC 3339 or a duration back
// from now (e.g. 24h; default 24h); limit defaults to 500.
func (a *API) handleListChanges(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since := a.now().Add(-24 * time.Hour)
	if s := q.Get("since"); s != "" {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			since = t
		} else if d, err := correlate.ParseDuration(s); err == nil && d > 0 {
			since = a.now().Add(-d)
		} else {
			httpjson.Error(w, http.StatusBadRequest, "since", fmt.Sprintf("since: %q is neither an RFC 3339 time nor a duration like 24h or 7d", s))
			return
		}
	}
	limit := 500
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			httpjson.Error(w, http.StatusBadRequest, "limit", fmt.Sprintf("limit: %q is not a number from 1 to 10000", s))
			return
		}
		limit = n
	}
	out := a.Changes.Changes(q.Get("service"), since, limit)
	if out == nil {
		out = []model.Change{}
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"changes": out})
}

// GitHub's deployment and deployment_status webhook events (the subset
// used): a deployment becomes a change of kind "deploy" on the service
// named by ?service= or else the repository name.
type githubDeployEvent struct {
	Action     string `json:"action"`
	Deployment *struct {
		ID          int64     `json:"id"`
		SHA         string    `json:"sha"`
		Ref         string    `json:"ref"`
		Environment string    `json:"environment"`
		Description string    `json:"description"`
		CreatedAt   time.Time `json:"created_at"`
		URL         string    `json:"url"`
		Creator     struct {
			Login string `json:"login"`
		} `json:"creator"`
	} `json:"deployment"`
	DeploymentStatus *struct {
		State     string    `json:"state"`
		UpdatedAt time.Time `json:"updated_at"`
		TargetURL string    `json:"target_url"`
		Creator   struct {
			Login string `json:"login"`
		} `json:"creator"`
	} `json:"deployment_status"`
	Repository struct {
		Name     string `json:"name"`
		FullName string `json:"full_name"`
		HTMLURL  string `json:"html_url"`
	} `json:"repository"`
}

// handleGitHubChange receives GitHub "deployment" and "deployment_status"
// webhooks (X-GitHub-Event). A deployment is recorded when it is created;
// a status of success, failure or error updates it (same id); other
// statuses and events (ping) are acknowledged and ignored.
func (a *API) handleGitHubChange(w http.ResponseWriter, r *http.Request) {
	if err := checkContentType(r); err != nil {
		httpjson.Error(w, http.StatusUnsupportedMediaType, "Content-Type", err.Error())
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		httpjson.Error(w, http.StatusRequestEntityTooLarge, "", "reading the body: "+err.Error())
		return
	}
	if len(a.GitHubSecret) > 0 {
		mac := hmac.New(sha256.New, a.GitHubSecret)
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if got := r.Header.Get("X-Hub-Signature-256"); !hmac.Equal([]byte(got), []byte(want)) {
			httpjson.Error(w, http.StatusUnauthorized, "X-Hub-Signature-256", "missing or wrong X-Hub-Signature-256 (the webhook secret is ingest.github_secret_env)")
			return
		}
	}
	var ev githubDeployEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "", "invalid JSON body: "+err.Error())
		return
	}
	switch event {
	case "deployment", "deployment_status":
	case "ping":
		httpjson.Write(w, http.StatusOK, map[string]any{"accepted": 0, "ignored": "ping"})
		return
	case "":
		httpjson.Error(w, http.StatusBadRequest, "X-GitHub-Event", "missing X-GitHub-Event header (deployment or deployment_status)")
		return
	default:
		httpjson.Write(w, http.StatusOK, map[string]any{"accepted": 0, "ignored": event})
		return
	}
	d := ev.Deployment
	if d == nil {
		httpjson.Error(w, http.StatusBadRequest, "deployment", "a "+event+" event without a deployment object")
		return
	}
	service := r.URL.Query().Get("service")
	if service == "" {
		service = ev.Repository.Name
	}
	c := model.Change{ID: fmt.Sprintf("github:%s:%d", ev.Repository.FullName, d.ID), Service: service, Kind: "deploy",
		At: d.CreatedAt, Author: d.Creator.Login, URL: ev.Repository.HTMLURL}
	ref := d.Ref
	if len(d.SHA) >= 7 && ref != d.SHA {
		ref += " (" + d.SHA[:7] + ")"
	}
	c.Summary = fmt.Sprintf("deploy %s to %s", ref, d.Environment)
	if d.Description != "" {
		c.Summary += ": " + d.Description
	}
	if st := ev.DeploymentStatus; st != nil {
		switch st.State {
		case "success", "failure", "error":
			c.Summary += " [" + st.State + "]"
			if st.TargetURL != "" {
				c.URL = st.TargetURL
			}
		default:
			httpjson.Write(w, http.StatusOK, map[string]any{"accepted": 0, "ignored": "deployment_status " + st.State})
			return
		}
	}
	if c.At.IsZero() {
		c.At = a.now()
	}
	if err := c.Validate(); err != nil {
		httpjson.Error(w, http.StatusBadRequest, fieldOf(err), err.Error()+" (set ?service= on the webhook URL)")
		return
	}
	if !a.storeChanges(w, r, []model.Change{c}) {
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"accepted": 1, "id": c.ID})
}
