// Package notify delivers incident events to webhooks (ticketing systems,
// paging services, chat bridges) and streams them to live consumers.
//
// # Webhooks
//
// Each target of notify.webhooks gets the events it asks for (events:,
// matchers:) as JSON POSTs:
//
//	Content-Type:     application/json
//	X-Sift-Signature: sha256=<hex of HMAC-SHA256(secret, body)>  (with secret_env)
//	Idempotency-Key:  <hex>, the same on every attempt and after restarts
//	X-Sift-Event:     opened | updated | classified | resolved | reopened | sla_breached
//	User-Agent:       sift
//
// The body is {"type","at","incident"} (incident as served by GET
// /api/v1/incidents/{id}), or what the target's template renders (see
// deploy/notify/ for Jira Service Management, ServiceNow and PagerDuty).
//
// # Delivery
//
// Export never waits for a target: it renders the events for each target
// and appends them to the target's spool (<data_dir>/notify/<name>/),
// synced to disk before it returns. One goroutine per target delivers its
// spool in order. A 2xx answer is a delivery; 4xx other than 408 and 429
// fails for good (the delivery goes to dead-letter.ndjson at once); 5xx,
// 408, 429 and network errors are retried with exponential back-off with
// jitter (capped at max_backoff), or after Retry-After when the answer
// has one (at most an hour); after max_attempts the delivery goes to the
// dead letter file and the next one is sent. Deliveries survive restarts
// and kill -9: what was not confirmed is sent again (at least once; the
// Idempotency-Key lets receivers drop duplicates). The Notifier is a
// pipeline.Acknowledger: the pipeline sends again, after a crash, the
// incidents that changed after the last event the Notifier had spooled.
// A spool holding max_queue_bytes drops new deliveries (counted, logged at
// most once a minute) until it drains.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/model"
)

// Header names.
const (
	HeaderSignature   = "X-Sift-Signature"
	HeaderIdempotency = "Idempotency-Key"
	HeaderEvent       = "X-Sift-Event"
)

// Delivery outcomes (label outcome of sift_notify_deliveries_total).
const (
	OutcomeDelivered  = "delivered"
	OutcomeRetried    = "retried"
	OutcomeDeadLetter = "dead_letter"
	OutcomeDropped    = "dropped"
)

const (
	deadLetterFile = "dead-letter.ndjson"
	// deadLetterBytes: a dead letter file beyond it is renamed to
	// dead-letter.ndjson.1 (replacing the previous one).
	deadLetterBytes = 64 << 20
	// maxRetryAfter bounds how long a Retry-After can park a target.
	maxRetryAfter = time.Hour
	baseBackoff   = 500 * time.Millisecond
)

// Notifier delivers incident events to the configured webhooks. It
// implements pipeline.Exporter and pipeline.Acknowledger.
type Notifier struct {
	targets []*tstate
	log     *slog.Logger
	m       *metrics
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once

	mark  atomic.Pointer[time.Time] // event time of the last event spooled
	stuck atomic.Bool               // a spool write failed: the mark stays

	// in carries the events Export takes to the spool writer, so that the
	// pipeline never waits for a render or an fsync; the writer takes
	// whatever has queued up at once (one fsync per target for all of it).
	in      chan []model.IncidentEvent
	idle    sync.Cond // signalled when the writer has spooled what was queued
	idleMu  sync.Mutex
	queued  int // batches handed to Export and not spooled yet (idleMu)
	writerW sync.WaitGroup
}

// inQueue bounds the event batches waiting for the spool writer; beyond
// it Export drops (counted, and the pipeline resends them after a restart).
const inQueue = 4096

// maxWrite bounds the events the writer spools together.
const maxWrite = 8192

// tstate is one target and its delivery state.
type tstate struct {
	*target
	dir    string
	spool  *spool
	client *http.Client
	wake   chan struct{}
	log    *slog.Logger
	base   time.Duration // first back-off

	dlMu sync.Mutex // guards the dead letter file

	mu          sync.Mutex
	delivered   int64
	deadLetters int64
	dropped     int64
	lastError   string
	lastErrorAt time.Time
	lastOK      time.Time
	lastDropLog time.Time
}

// New opens the spools of cfg's webhooks under dataDir/notify and starts
// delivering. reg and log may be nil. With no webhooks it delivers
// nothing (and Delivered reports ok=false).
func New(cfg Config, dataDir string, reg prometheus.Registerer, log *slog.Logger) (*Notifier, error) {
	return newNotifier(cfg, dataDir, reg, log, baseBackoff)
}

func newNotifier(cfg Config, dataDir string, reg prometheus.Registerer, log *slog.Logger, base time.Duration) (*Notifier, error) {
	ts, err := cfg.compile()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	n := &Notifier{log: log.With("component", "notify"), m: newMetrics(reg)}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for _, t := range ts {
		dir := filepath.Join(dataDir, "notify", t.Name)
		tl := n.log.With("target", t.Name)
		sp, err := openSpool(dir, tl)
		if err != nil {
			n.closeSpools()
			return nil, fmt.Errorf("notify.webhooks %s: spool: %w", t.Name, err)
		}
		st := &tstate{target: t, dir: dir, spool: sp, wake: make(chan struct{}, 1), log: tl, base: base,
			client: &http.Client{
				Transport: http.DefaultTransport,
				// A redirect would turn the POST into a GET: the url must be
				// the final address.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}}
		n.targets = append(n.targets, st)
		depth, _ := sp.depth()
		n.m.depth.WithLabelValues(t.Name).Set(float64(depth))
		for _, o := range []string{OutcomeDelivered, OutcomeRetried, OutcomeDeadLetter, OutcomeDropped} {
			n.m.deliveries.WithLabelValues(t.Name, o)
		}
		n.m.deadLetters.WithLabelValues(t.Name)
		if depth > 0 {
			tl.Info("sending again the deliveries not confirmed before the restart", "deliveries", depth)
		}
	}
	n.in = make(chan []model.IncidentEvent, inQueue)
	n.idle.L = &n.idleMu
	n.writerW.Add(1)
	go n.writer()
	for _, t := range n.targets {
		n.wg.Add(1)
		go n.run(t)
	}
	if len(n.targets) > 0 {
		names := make([]string, len(n.targets))
		for i, t := range n.targets {
			names[i] = t.Name + " → " + RedactURL(t.URL)
		}
		n.log.Info("webhooks enabled", "targets", names)
	}
	return n, nil
}

// Delivered implements pipeline.Acknowledger: the event time of the last
// event handed to Export, every one of which is in the spools (or was
// given up by design: filtered out, or dropped for a full spool). It
// stops moving if a spool could not be written, so that after a restart
// the pipeline sends those incidents again. ok is false without webhooks.
func (n *Notifier) Delivered() (time.Time, bool) {
	if len(n.targets) == 0 {
		return time.Time{}, false
	}
	if t := n.mark.Load(); t != nil {
		return *t, true
	}
	return time.Time{}, true
}

// Export renders events for each target that wants them and appends them
// to its spool (implements pipeline.Exporter). It does not wait for any
// target.
func (n *Notifier) Export(ctx context.Context, events []model.IncidentEvent) error {
	if len(n.targets) == 0 || len(events) == 0 {
		return nil
	}
	n.idleMu.Lock()
	n.queued++
	n.idleMu.Unlock()
	select {
	case n.in <- events:
		return nil
	default:
	}
	n.idleMu.Lock()
	n.queued--
	n.idleMu.Unlock()
	n.stuck.Store(true) // after a restart the pipeline sends them again
	for _, t := range n.targets {
		n.m.deliveries.WithLabelValues(t.Name, OutcomeDropped).Add(float64(len(events)))
		t.noteDropped(len(events))
	}
	n.log.Warn("notify: the spool writer is behind; events dropped (sent again after a restart)", "events", len(events))
	return nil
}

// writer spools what Export queued until Close.
func (n *Notifier) writer() {
	defer n.writerW.Done()
	for {
		var evs []model.IncidentEvent
		batches := 0
		select {
		case b := <-n.in:
			evs, batches = append(evs, b...), 1
		case <-n.ctx.Done():
			// Spool what is queued before stopping.
			for {
				select {
				case b := <-n.in:
					n.write(coalesce(b))
					n.doneBatches(1)
				default:
					return
				}
			}
		}
	more:
		for len(evs) < maxWrite {
			select {
			case b := <-n.in:
				evs = append(evs, b...)
				batches++
			default:
				break more
			}
		}
		n.write(coalesce(evs))
		n.doneBatches(batches)
	}
}

func (n *Notifier) doneBatches(k int) {
	n.idleMu.Lock()
	n.queued -= k
	if n.queued == 0 {
		n.idle.Broadcast()
	}
	n.idleMu.Unlock()
}

// Sync waits until everything handed to Export is in the spools.
func (n *Notifier) Sync() {
	n.idleMu.Lock()
	for n.queued > 0 {
		n.idle.Wait()
	}
	n.idleMu.Unlock()
}

// coalesce drops the "updated" events of an incident that a later event of
// the same incident in evs supersedes (each event carries the whole
// incident as it was): a storm that updates an incident a thousand times
// a second sends its latest state, not a thousand copies.
func coalesce(evs []model.IncidentEvent) []model.IncidentEvent {
	if len(evs) < 2 {
		return evs
	}
	lastAt := make(map[string]int, len(evs))
	for i := range evs {
		lastAt[incidentID(&evs[i])] = i
	}
	out := evs[:0:0]
	for i := range evs {
		if evs[i].Type == model.EventUpdated && lastAt[incidentID(&evs[i])] != i {
			continue
		}
		out = append(out, evs[i])
	}
	return out
}

// write renders events for each target that wants them and appends them
// to its spool (one fsync per target), then moves the Delivered mark.
func (n *Notifier) write(events []model.IncidentEvent) {
	var last time.Time
	defs := make([][]byte, len(events)) // default bodies, rendered once
	var errs error
	failed := false
	for _, t := range n.targets {
		var recs []record
		for i := range events {
			ev := &events[i]
			if !t.wants(ev) {
				continue
			}
			key := IdempotencyKey(t.Name, ev)
			body, err := t.render(ev, key, &defs[i])
			if err != nil {
				t.log.Error("notify: body not rendered: written to the dead letter file", "incident", incidentID(ev), "event", ev.Type, "err", err)
				t.deadLetter(n, &record{Key: key, Type: ev.Type, At: ev.At.UTC(), Incident: incidentID(ev)}, 0, "render: "+err.Error())
				continue
			}
			recs = append(recs, record{Key: key, Type: ev.Type, At: ev.At.UTC(), Incident: ev.Incident.ID, Body: body})
		}
		if len(recs) == 0 {
			continue
		}
		written, err := t.spool.append(recs, t.MaxQueueBytes)
		if err != nil {
			failed = true
			n.m.deliveries.WithLabelValues(t.Name, OutcomeDropped).Add(float64(len(recs)))
			t.noteDropped(len(recs))
			t.log.Error("notify spool write failed: deliveries lost (sent again after a restart)", "deliveries", len(recs), "err", err)
			errs = errors.Join(errs, fmt.Errorf("notify: target %s: %w", t.Name, err))
			continue
		}
		if d := len(recs) - written; d > 0 {
			n.m.deliveries.WithLabelValues(t.Name, OutcomeDropped).Add(float64(d))
			t.noteDropped(d)
			_, qb := t.spool.depth()
			t.mu.Lock()
			logNow := time.Since(t.lastDropLog) >= time.Minute
			if logNow {
				t.lastDropLog = time.Now()
			}
			t.mu.Unlock()
			if logNow {
				t.log.Warn("notify queue full: new deliveries dropped until the target catches up", "dropped", d,
					"queue_bytes", qb, "max_queue_bytes", t.MaxQueueBytes)
			}
		}
		if written > 0 {
			depth, _ := t.spool.depth()
			n.m.depth.WithLabelValues(t.Name).Set(float64(depth))
			select {
			case t.wake <- struct{}{}:
			default:
			}
		}
	}
	for i := range events {
		if events[i].At.After(last) {
			last = events[i].At
		}
	}
	if failed {
		n.stuck.Store(true)
	}
	if !n.stuck.Load() {
		if cur := n.mark.Load(); cur == nil || last.After(*cur) {
			n.mark.Store(&last)
		}
	}
	if errs != nil {
		n.log.Error("notify spool", "err", errs)
	}
}

func incidentID(ev *model.IncidentEvent) string {
	if ev.Incident == nil {
		return ""
	}
	return ev.Incident.ID
}

func (t *tstate) noteDropped(k int) {
	t.mu.Lock()
	t.dropped += int64(k)
	t.mu.Unlock()
}

// run delivers t's spool in order until Close.
func (n *Notifier) run(t *tstate) {
	defer n.wg.Done()
	for {
		e, ok := t.spool.head()
		if !ok {
			if err := t.spool.flushCursor(); err != nil {
				t.log.Warn("notify spool cursor not written (deliveries may be sent twice)", "err", err)
			}
			select {
			case <-t.wake:
				continue
			case <-n.ctx.Done():
				return
			}
		}
		rec, err := t.spool.read(e)
		if err != nil {
			t.log.Error("notify spool: unreadable delivery skipped", "seq", e.seq, "err", err)
			t.deadLetter(n, &record{Seq: e.seq}, 0, "spool: "+err.Error())
		} else if !n.deliver(t, rec) {
			return // closing: sent again after the restart
		}
		if err := t.spool.done(e); err != nil {
			t.log.Warn("notify spool cursor not written (deliveries may be sent twice)", "err", err)
		}
		depth, _ := t.spool.depth()
		n.m.depth.WithLabelValues(t.Name).Set(float64(depth))
	}
}

// deliver sends rec until it is delivered or given up; false if the
// Notifier closed first.
func (n *Notifier) deliver(t *tstate, rec *record) bool {
	for attempt := 1; ; attempt++ {
		start := time.Now()
		code, retryAfter, err := t.post(n.ctx, rec)
		if n.ctx.Err() != nil {
			return false
		}
		n.m.seconds.WithLabelValues(t.Name).Observe(time.Since(start).Seconds())
		if err == nil {
			n.m.deliveries.WithLabelValues(t.Name, OutcomeDelivered).Inc()
			t.mu.Lock()
			t.delivered++
			t.lastOK = time.Now()
			t.mu.Unlock()
			return true
		}
		t.mu.Lock()
		t.lastError, t.lastErrorAt = err.Error(), time.Now()
		t.mu.Unlock()
		permanent := code >= 300 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
		if permanent || attempt >= t.MaxAttempts {
			why := "gave up after max_attempts"
			if permanent {
				why = "the target refused it"
			}
			t.log.Warn("notify delivery failed for good: written to the dead letter file", "incident", rec.Incident, "event", rec.Type,
				"attempts", attempt, "reason", why, "err", err)
			t.deadLetter(n, rec, attempt, err.Error())
			return true
		}
		n.m.deliveries.WithLabelValues(t.Name, OutcomeRetried).Inc()
		wait := t.backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, maxRetryAfter)
		}
		lvl := slog.LevelDebug
		if attempt == 1 {
			lvl = slog.LevelWarn
		}
		t.log.Log(n.ctx, lvl, "notify delivery failed; retrying", "incident", rec.Incident, "event", rec.Type, "attempt", attempt, "err", err, "retry_in", wait.Round(time.Millisecond))
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-n.ctx.Done():
			timer.Stop()
			return false
		}
	}
}

// backoff returns the wait after the attempt-th failure: exponential,
// capped at max_backoff, with jitter (half of it random).
func (t *tstate) backoff(attempt int) time.Duration {
	d := t.base
	for i := 1; i < attempt && d < time.Duration(t.MaxBackoff); i++ {
		d *= 2
	}
	d = min(d, time.Duration(t.MaxBackoff))
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// post sends rec once. It returns the status code (0 without an answer),
// the Retry-After of the answer (0 if none), and an error unless 2xx.
func (t *tstate) post(ctx context.Context, rec *record) (int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(t.Timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL, bytes.NewReader(rec.Body))
	if err != nil {
		return 0, 0, errors.New("bad request: " + redactErr(err).Error())
	}
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sift")
	req.Header.Set(HeaderIdempotency, rec.Key)
	req.Header.Set(HeaderEvent, rec.Type)
	if t.secret != nil {
		req.Header.Set(HeaderSignature, Sign(t.secret, rec.Body))
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, 0, redactErr(err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, 0, nil
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if s := oneLine(string(snippet), 200); s != "" {
		msg += ": " + s
	}
	if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode < 400 {
		msg += " (redirect to " + RedactURL(loc) + ": set the url to the final address)"
	}
	return resp.StatusCode, parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), errors.New(msg)
}

// Sign returns the X-Sift-Signature of body: "sha256=" and the hex
// HMAC-SHA256 of body with secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the X-Sift-Signature of body with secret
// (for receivers written in Go).
func Verify(secret, body []byte, sig string) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(secret, body)))
}

// parseRetryAfter reads a Retry-After value: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return min(time.Duration(s)*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// redactErr keeps credentials in the URL out of an error.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		inner := ue.Err
		if errors.Is(inner, context.DeadlineExceeded) {
			inner = errors.New("timed out")
		}
		return fmt.Errorf("%s %s: %v", ue.Op, RedactURL(ue.URL), inner)
	}
	return err
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// DeadLetter is one line of dead-letter.ndjson.
type DeadLetter struct {
	At        time.Time       `json:"at"` // when it was given up
	Target    string          `json:"target"`
	Key       string          `json:"key,omitempty"`
	Type      string          `json:"type,omitempty"`
	EventAt   time.Time       `json:"eventAt,omitzero"`
	Incident  string          `json:"incident,omitempty"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"lastError"`
	Event     json.RawMessage `json:"event,omitempty"` // the body that was to be sent
}

// deadLetter appends rec to the dead letter file.
func (t *tstate) deadLetter(n *Notifier, rec *record, attempts int, lastErr string) {
	n.m.deliveries.WithLabelValues(t.Name, OutcomeDeadLetter).Inc()
	n.m.deadLetters.WithLabelValues(t.Name).Inc()
	t.mu.Lock()
	t.deadLetters++
	t.lastError, t.lastErrorAt = lastErr, time.Now()
	t.mu.Unlock()
	dl := DeadLetter{At: time.Now().UTC(), Target: t.Name, Key: rec.Key, Type: rec.Type, EventAt: rec.At, Incident: rec.Incident,
		Attempts: attempts, LastError: lastErr, Event: rec.Body}
	b, err := json.Marshal(dl)
	if err != nil {
		t.log.Error("notify dead letter not encoded", "err", err)
		return
	}
	b = append(b, '\n')
	t.dlMu.Lock()
	defer t.dlMu.Unlock()
	path := filepath.Join(t.dir, deadLetterFile)
	if st, err := os.Stat(path); err == nil && st.Size()+int64(len(b)) > deadLetterBytes {
		os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		_, err = f.Write(b)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.log.Error("notify dead letter not written", "incident", rec.Incident, "err", err)
	}
}

// Close stops delivering (a request under way is abandoned: it is sent
// again after a restart) and closes the spools. Export must not be called
// after Close.
func (n *Notifier) Close() error {
	n.once.Do(func() {
		n.cancel()
		n.writerW.Wait() // after spooling what was queued
		n.wg.Wait()
		n.closeSpools()
	})
	return nil
}

func (n *Notifier) closeSpools() {
	for _, t := range n.targets {
		t.spool.close()
	}
}

type metrics struct {
	deliveries  *prometheus.CounterVec
	depth       *prometheus.GaugeVec
	seconds     *prometheus.HistogramVec
	deadLetters *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sift_notify_deliveries_total",
			Help: "Webhook delivery outcomes: delivered, retried (a failed attempt that will be retried), dead_letter, dropped (queue full)."},
			[]string{"target", "outcome"}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "sift_notify_queue_depth",
			Help: "Deliveries waiting in the target's spool."}, []string{"target"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sift_notify_delivery_seconds",
			Help: "Duration of webhook delivery attempts.", Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
			[]string{"target"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sift_notify_dead_letters_total",
			Help: "Deliveries written to the dead letter file."}, []string{"target"}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.depth, m.seconds, m.deadLetters)
	}
	return m
}
