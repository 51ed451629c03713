package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sift-aiops/sift/internal/httpjson"
	"github.com/sift-aiops/sift/tickets"
)

// TargetStatus is one webhook as GET /api/v1/notify/targets shows it.
type TargetStatus struct {
	Name            string    `json:"name"`
	URL             string    `json:"url"` // without userinfo, query and fragment
	Events          []string  `json:"events"`
	Matchers        []string  `json:"matchers"`
	Signed          bool      `json:"signed"`
	QueueDepth      int       `json:"queueDepth"`
	QueueBytes      int64     `json:"queueBytes"`
	Delivered       int64     `json:"delivered"`
	DeadLetters     int64     `json:"deadLetters"`
	Dropped         int64     `json:"dropped"`
	LastError       string    `json:"lastError,omitempty"`
	LastErrorAt     time.Time `json:"lastErrorAt,omitzero"`
	LastDeliveredAt time.Time `json:"lastDeliveredAt,omitzero"`
}

// Targets returns the state of every webhook (counts since the start).
func (n *Notifier) Targets() []TargetStatus {
	out := make([]TargetStatus, 0, len(n.targets))
	for _, t := range n.targets {
		evs := t.Events
		if len(evs) == 0 {
			evs = EventTypes
		}
		s := TargetStatus{Name: t.Name, URL: RedactURL(t.URL), Events: append([]string{}, evs...),
			Matchers: append([]string{}, t.Matchers...), Signed: t.secret != nil}
		s.QueueDepth, s.QueueBytes = t.spool.depth()
		t.mu.Lock()
		s.Delivered, s.DeadLetters, s.Dropped = t.delivered, t.deadLetters, t.dropped
		s.LastError, s.LastErrorAt, s.LastDeliveredAt = t.lastError, t.lastErrorAt, t.lastOK
		t.mu.Unlock()
		out = append(out, s)
	}
	return out
}

// maxDeadLetterRead bounds how much of the end of a dead letter file the
// API reads.
const maxDeadLetterRead = 8 << 20

// DeadLetters returns the last limit dead letters of the target named
// name, newest first; ok is false if there is no such target.
func (n *Notifier) DeadLetters(name string, limit int) ([]DeadLetter, bool, error) {
	var t *tstate
	for _, x := range n.targets {
		if x.Name == name {
			t = x
		}
	}
	if t == nil {
		return nil, false, nil
	}
	t.dlMu.Lock()
	b, err := readTail(filepath.Join(t.dir, deadLetterFile), maxDeadLetterRead)
	t.dlMu.Unlock()
	if err != nil {
		return nil, true, err
	}
	out := []DeadLetter{}
	lines := bytes.Split(b, []byte("\n"))
	for i := len(lines) - 1; i >= 0 && len(out) < limit; i-- {
		var dl DeadLetter
		if len(bytes.TrimSpace(lines[i])) == 0 || json.Unmarshal(lines[i], &dl) != nil {
			continue // empty, or the first line cut by the tail read
		}
		out = append(out, dl)
	}
	return out, true, nil
}

// readTail returns up to limit bytes from the end of the file at path
// (nothing if it does not exist).
func readTail(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max(st.Size()-limit, 0)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// Register adds GET /api/v1/notify/targets and GET
// /api/v1/notify/dead-letters?target=NAME[&limit=N] to mux.
func (n *Notifier) Register(mux httpjson.Mux) {
	mux.HandleFunc("GET /api/v1/notify/targets", func(w http.ResponseWriter, r *http.Request) {
		tickets.WriteJSON(w, http.StatusOK, n.Targets())
	})
	mux.HandleFunc("GET /api/v1/notify/dead-letters", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		name := q.Get("target")
		if name == "" {
			tickets.WriteError(w, http.StatusBadRequest, "target", "target: required (the name of a webhook)")
			return
		}
		limit := 100
		if v := q.Get("limit"); v != "" {
			l, err := strconv.Atoi(v)
			if err != nil || l < 1 || l > 1000 {
				tickets.WriteError(w, http.StatusBadRequest, "limit", fmt.Sprintf("limit: want 1 to 1000, got %q", v))
				return
			}
			limit = l
		}
		dls, ok, err := n.DeadLetters(name, limit)
		switch {
		case !ok:
			tickets.WriteError(w, http.StatusNotFound, "target", fmt.Sprintf("target %q: no such webhook", name))
		case err != nil:
			tickets.WriteError(w, http.StatusInternalServerError, "", "dead letters of "+name+": "+err.Error())
		default:
			tickets.WriteJSON(w, http.StatusOK, dls)
		}
	})
}
