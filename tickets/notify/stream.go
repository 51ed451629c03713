package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sift-aiops/sift/internal/httpjson"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/tickets"
)

// Stream serves incident events to live consumers as server-sent events
// on GET /api/v1/stream (implements pipeline.Exporter):
//
//	id: 42
//	event: opened
//	data: {"type":"opened","at":"...","incident":{...}}
//
// ?events=opened,resolved keeps only those types. A comment line
// (": keep-alive") goes out every 15 s. Each subscriber has a bounded
// buffer: one that falls behind gets "event: lagged" and is disconnected
// (it reconnects and reads the current state from /api/v1/incidents);
// Export never waits for a subscriber. Ids count the events since Sift
// started; there is no replay (Last-Event-ID is ignored).
type Stream struct {
	// KeepAlive is the interval of keep-alive comments (default 15s).
	KeepAlive time.Duration
	// Buffer is how many events a subscriber may fall behind (default 256).
	Buffer int
	// MaxSubscribers bounds the open streams (default 1000).
	MaxSubscribers int
	// WriteTimeout bounds one write to a subscriber (default 30s).
	WriteTimeout time.Duration

	log    *slog.Logger
	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	seq    uint64
	closed bool
	done   chan struct{}
}

type subscriber struct {
	events map[string]bool // nil: all
	ch     chan sseEvent
	lagged chan struct{} // closed when it fell behind
}

type sseEvent struct {
	id   uint64
	typ  string
	data []byte
}

// NewStream returns a Stream; log may be nil.
func NewStream(log *slog.Logger) *Stream {
	if log == nil {
		log = slog.Default()
	}
	return &Stream{KeepAlive: 15 * time.Second, Buffer: 256, MaxSubscribers: 1000, WriteTimeout: 30 * time.Second,
		log: log.With("component", "stream"), subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
}

// Export hands events to the subscribers that want them, without waiting
// (implements pipeline.Exporter).
func (s *Stream) Export(ctx context.Context, events []model.IncidentEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range events {
		ev := &events[i]
		s.seq++
		if s.closed || len(s.subs) == 0 || ev.Incident == nil {
			continue
		}
		var data []byte
		for sub := range s.subs {
			if sub.events != nil && !sub.events[ev.Type] {
				continue
			}
			if data == nil {
				b, err := DefaultBody(ev)
				if err != nil {
					s.log.Warn("stream: event not encoded", "incident", ev.Incident.ID, "err", err)
					break
				}
				data = b
			}
			select {
			case sub.ch <- sseEvent{id: s.seq, typ: ev.Type, data: data}:
			default:
				close(sub.lagged)
				delete(s.subs, sub)
			}
		}
	}
	return nil
}

// Subscribers returns the number of open streams.
func (s *Stream) Subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

var errTooMany = errors.New("too many open streams")

func (s *Stream) subscribe(events map[string]bool) (*subscriber, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("shutting down")
	}
	if len(s.subs) >= s.MaxSubscribers {
		return nil, errTooMany
	}
	sub := &subscriber{events: events, ch: make(chan sseEvent, max(s.Buffer, 1)), lagged: make(chan struct{})}
	s.subs[sub] = struct{}{}
	return sub, nil
}

func (s *Stream) unsubscribe(sub *subscriber) {
	s.mu.Lock()
	delete(s.subs, sub)
	s.mu.Unlock()
}

// Register adds GET /api/v1/stream to mux.
func (s *Stream) Register(mux httpjson.Mux) { mux.Handle("GET /api/v1/stream", s) }

// ServeHTTP serves one subscriber until it goes, falls behind, or Close.
func (s *Stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var filter map[string]bool
	if v := r.URL.Query().Get("events"); v != "" {
		filter = map[string]bool{}
		for _, e := range strings.Split(v, ",") {
			e = strings.TrimSpace(e)
			if !slices.Contains(EventTypes, e) {
				tickets.WriteError(w, http.StatusBadRequest, "events", fmt.Sprintf("events: unknown event %q (want a comma-separated list of %s)", e, strings.Join(EventTypes, ", ")))
				return
			}
			filter[e] = true
		}
	}
	sub, err := s.subscribe(filter)
	if err != nil {
		tickets.WriteError(w, http.StatusServiceUnavailable, "", "stream: "+err.Error())
		return
	}
	defer s.unsubscribe(sub)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	write := func(chunks ...string) bool {
		// The server's WriteTimeout would end the stream: each write gets
		// its own deadline instead.
		if err := rc.SetWriteDeadline(time.Now().Add(s.WriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return false
		}
		for _, c := range chunks {
			if _, err := w.Write([]byte(c)); err != nil {
				return false
			}
		}
		return rc.Flush() == nil
	}
	send := func(e sseEvent) bool {
		return write("id: ", strconv.FormatUint(e.id, 10), "\nevent: ", e.typ, "\ndata: ", string(e.data), "\n\n")
	}
	if !write(": sift incident events\nretry: 3000\n\n") {
		return
	}
	tick := time.NewTicker(s.KeepAlive)
	defer tick.Stop()
	for {
		select {
		case e := <-sub.ch:
			if !send(e) {
				return
			}
		case <-sub.lagged:
			// What is buffered goes first, then the notice.
			for {
				select {
				case e := <-sub.ch:
					if !send(e) {
						return
					}
					continue
				default:
				}
				break
			}
			write("event: lagged\ndata: {\"error\":\"this consumer fell behind by more than " + strconv.Itoa(cap(sub.ch)) +
				" events and is disconnected; reconnect and read /api/v1/incidents for the current state\"}\n\n")
			return
		case <-tick.C:
			if !write(": keep-alive\n\n") {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// Close ends every stream and refuses new ones.
func (s *Stream) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.done)
	clear(s.subs)
}
