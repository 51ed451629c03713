// Package httpapi serves Sift's HTTP alert receivers: an Alertmanager v2
// compatible API (so Prometheus and amtool can talk to Sift as if it were
// Alertmanager), an Alertmanager webhook receiver and a generic event
// receiver.
//
// Every POST is handled the same way: the Content-Type must be
// application/json (415 otherwise), the body is limited to
// ingest.Config.MaxBodyBytes (413) and read as it arrives (memory follows
// the bytes received, not the Content-Length announced), it is decoded and
// validated as a whole (400 with {"error": "...", "field": "..."} naming
// the first bad field; 413 likewise for an alert beyond a per-alert limit
// such as max_labels_per_alert or max_label_bytes),
// then the batch is appended to the Sink and the request is answered 2xx
// only once Append returned nil, that is once the batch is durable; if
// Append fails the answer is 503 and the sender (Prometheus, Alertmanager)
// retries. A batch is accepted or rejected whole: nothing of an invalid
// batch reaches the sink.
package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/internal/httpjson"
	"github.com/sift-aiops/sift/model"
)

// Build information reported by GET /api/v2/status (set with
// -ldflags "-X github.com/sift-aiops/sift/ingest/httpapi.Version=...").
var (
	Version   = "dev"
	Revision  = "unknown"
	Branch    = "unknown"
	BuildUser = "unknown"
	BuildDate = "unknown"
)

// ReceiverName is the only receiver Sift reports in the Alertmanager API.
const ReceiverName = "sift"

// statusConfig is the Alertmanager configuration reported by GET
// /api/v2/status: every alert goes to Sift itself (amtool config routes
// shows that).
const statusConfig = "route:\n  receiver: " + ReceiverName + "\nreceivers:\n  - name: " + ReceiverName + "\n"

// AlertLister lists the current deduplicated alerts (provided by the
// correlation engine).
type AlertLister interface {
	Alerts() []model.AlertState
}

// AlertPager is an AlertLister that can also list page by page, so that
// GET /api/v2/alerts streams a million alerts in memory bounded by a page.
type AlertPager interface {
	// FiringFingerprints returns the fingerprints of the firing alerts,
	// sorted.
	FiringFingerprints() []model.Fingerprint
	// AlertStates appends to dst the states of the alerts of fps that are
	// still firing, in the order of fps, as Alerts lists them.
	AlertStates(dst []model.AlertState, fps []model.Fingerprint) []model.AlertState
}

// alertsPage is how many alert states GET /api/v2/alerts fetches at a time.
const alertsPage = 1000

// StreamWriteTimeout is how long a streamed answer waits for the client to
// take each chunk: the deadline moves on as data flows, so a slow reader
// gets everything while one that stopped reading is cut off (the server's
// WriteTimeout would cut a long answer after it started). A variable for
// the tests.
var StreamWriteTimeout = 60 * time.Second

// deadlineWriter extends the connection's write deadline before each write.
type deadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(StreamWriteTimeout)) // unsupported (a test recorder): no deadline to move
	return d.w.Write(p)
}

// API holds the HTTP receivers. Create it with New and mount it with
// Register.
type API struct {
	cfg      ingest.Config
	dec      *ingest.Decoder
	sessions sync.Pool // *ingest.Session
	sink     model.Sink
	alerts   AlertLister
	now      func() time.Time
	started  time.Time

	received *prometheus.CounterVec
	rejected *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// Silences, when set, serves Alertmanager's silence API (else GET
	// /api/v2/silences answers an empty list).
	Silences SilenceStore
	// Changes, when set, serves /api/v1/changes.
	Changes ChangeStore
	// GitHubSecret, when set, is the secret GitHub signs its webhooks
	// with (X-Hub-Signature-256), checked on /api/v1/changes/github.
	GitHubSecret []byte
	// TokenName names the API token of a request (access control), for
	// the actions it journals.
	TokenName func(context.Context) string

	fullMu    sync.Mutex
	fullLast  time.Time
	limitLast time.Time
}

// logFull logs a refusal for too many alerts, at most once a minute.
func (a *API) logFull(err error) {
	a.fullMu.Lock()
	defer a.fullMu.Unlock()
	if time.Since(a.fullLast) < time.Minute {
		return
	}
	a.fullLast = time.Now()
	slog.Warn("new alerts refused (429)", "err", err)
}

// logLimit logs a request refused for a configured limit (413), at most
// once a minute (the metric counts them all).
func (a *API) logLimit(what string, r *http.Request) {
	a.fullMu.Lock()
	defer a.fullMu.Unlock()
	if time.Since(a.limitLast) < time.Minute {
		return
	}
	a.limitLast = time.Now()
	slog.Warn("alerts refused (413): over a configured limit", "limit", what, "remote", r.RemoteAddr, "path", r.URL.Path)
}

// Rejection reasons of sift_alerts_rejected_total besides the ingest.Reason*
// ones.
const (
	ReasonContentType   = "content_type"    // not application/json (415)
	ReasonBodyTooLarge  = "body_too_large"  // over max_body_bytes (413)
	ReasonReadError     = "read_error"      // the body could not be read
	ReasonSinkError     = "sink_error"      // Append failed (503)
	ReasonTooManyAlerts = "too_many_alerts" // limits.max_active_alerts held (429)
)

// New returns the API. cfg should have passed Validate (defaults are
// applied). sink must not be nil; alerts may be nil (GET /api/v2/alerts is
// then always empty); reg may be nil (no metrics are registered); now may be
// nil (time.Now): it stamps each batch's receipt time.
func New(cfg ingest.Config, sink model.Sink, alerts AlertLister, reg prometheus.Registerer, now func() time.Time) *API {
	if sink == nil {
		panic("httpapi.New: nil sink")
	}
	if now == nil {
		now = time.Now
	}
	cfg = cfg.WithDefaults()
	a := &API{
		cfg:     cfg,
		dec:     ingest.NewDecoder(cfg),
		sink:    sink,
		alerts:  alerts,
		now:     now,
		started: now(),
	}
	a.sessions.New = func() any { return a.dec.NewSession() }
	a.received = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sift_alerts_received_total",
		Help: "Alerts accepted (durably appended), by receiver.",
	}, []string{"source"}))
	a.rejected = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sift_alerts_rejected_total",
		Help: "Alerts rejected, by receiver and reason; a request whose alerts could not be counted (unreadable, unparsable, too large, wrong content type) counts as one.",
	}, []string{"source", "reason"}))
	a.duration = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sift_ingest_request_duration_seconds",
		Help:    "Time to handle an ingest request, including the durable append.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"source"}))
	for _, s := range []string{ingest.FormatAMv2, ingest.FormatWebhook, ingest.FormatEvent} {
		a.received.WithLabelValues(s)
	}
	return a
}

// register registers c on reg, or returns the collector already registered
// under the same description.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(fmt.Sprintf("httpapi: registering metrics: %v", err))
	}
	return c
}

// Register mounts the routes on mux:
//
//	POST /api/v2/alerts                  Alertmanager v2 postableAlerts (200, empty body)
//	GET  /api/v2/alerts                  Alertmanager v2 gettableAlerts
//	GET  /api/v2/status                  Alertmanager v2 status
//	GET  /api/v2/receivers               [{"name":"sift"}]
//	GET  /api/v2/silences                Alertmanager v2 gettableSilences (POST creates; GET/DELETE /api/v2/silence/{id})
//	POST /api/v1/webhooks/alertmanager   Alertmanager webhook v4 (200 {"accepted": n})
//	POST /api/v1/events                  generic events (200 {"accepted": n})
//
// Other methods on these paths get 405 with a JSON error.
func (a *API) Register(mux httpjson.Mux) {
	mux.HandleFunc("POST /api/v2/alerts", a.handleIngest(ingest.FormatAMv2))
	mux.HandleFunc("GET /api/v2/alerts", a.handleGetAlerts)
	mux.HandleFunc("/api/v2/alerts", methodNotAllowed("GET, HEAD, POST"))
	mux.HandleFunc("GET /api/v2/status", a.handleStatus)
	mux.HandleFunc("/api/v2/status", methodNotAllowed("GET, HEAD"))
	mux.HandleFunc("GET /api/v2/receivers", func(w http.ResponseWriter, r *http.Request) {
		httpjson.Write(w, http.StatusOK, []receiver{{Name: ReceiverName}})
	})
	mux.HandleFunc("/api/v2/receivers", methodNotAllowed("GET, HEAD"))
	a.registerSilences(mux)
	a.registerChanges(mux)
	mux.HandleFunc("POST /api/v1/webhooks/alertmanager", a.handleIngest(ingest.FormatWebhook))
	mux.HandleFunc("/api/v1/webhooks/alertmanager", methodNotAllowed("POST"))
	mux.HandleFunc("POST /api/v1/events", a.handleIngest(ingest.FormatEvent))
	mux.HandleFunc("/api/v1/events", methodNotAllowed("POST"))
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		httpjson.Error(w, http.StatusMethodNotAllowed, "",
			fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow))
	}
}

// checkContentType accepts application/json with an optional UTF-8
// charset.
func checkContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return errors.New("missing Content-Type: want application/json")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("invalid Content-Type %q: %v", ct, err)
	}
	if mt != "application/json" {
		return fmt.Errorf("unsupported Content-Type %q: want application/json", ct)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return fmt.Errorf("unsupported charset %q: JSON must be UTF-8", cs)
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return fmt.Errorf("unsupported Content-Encoding %q: send the body uncompressed", ce)
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuf = 4 << 20

func (a *API) handleIngest(source string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { a.duration.WithLabelValues(source).Observe(time.Since(start).Seconds()) }()

		if err := checkContentType(r); err != nil {
			a.rejected.WithLabelValues(source, ReasonContentType).Inc()
			httpjson.Error(w, http.StatusUnsupportedMediaType, "", err.Error())
			return
		}
		limit := a.cfg.MaxBodyBytes
		tooLarge := func() {
			a.rejected.WithLabelValues(source, ReasonBodyTooLarge).Inc()
			a.logLimit("request body over ingest.max_body_bytes", r)
			httpjson.Error(w, http.StatusRequestEntityTooLarge, "",
				fmt.Sprintf("request body exceeds %d bytes (ingest.max_body_bytes); split the batch", limit))
		}
		if r.ContentLength > limit {
			tooLarge()
			return
		}
		// The body is read as it arrives: the buffer grows with the bytes
		// actually received, never with what Content-Length announces (a
		// header costs the sender nothing; 400 connections announcing 16
		// MiB each and sending nothing would otherwise hold 6.4 GB).
		buf := bufPool.Get().(*bytes.Buffer)
		buf.Reset()
		defer func() {
			if buf.Cap() <= maxPooledBuf {
				bufPool.Put(buf)
			}
		}()
		if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				tooLarge()
				return
			}
			a.rejected.WithLabelValues(source, ReasonReadError).Inc()
			httpjson.Error(w, http.StatusBadRequest, "", "reading request body: "+err.Error())
			return
		}

		now := a.now()
		// A pooled session reuses decoding scratch and interns repeated
		// label strings across requests.
		sess := a.sessions.Get().(*ingest.Session)
		alerts, err := sess.AppendDecode(nil, source, buf.Bytes(), now)
		a.sessions.Put(sess)
		if err != nil {
			var ie *ingest.Error
			if errors.As(err, &ie) {
				n := ie.Alerts()
				if n == 0 {
					n = 1
				}
				a.rejected.WithLabelValues(source, ie.Reason()).Add(float64(n))
				code := http.StatusBadRequest
				if ie.Reason() == ingest.ReasonTooLarge {
					// Well-formed, but beyond a configured limit: as
					// for a body over max_body_bytes.
					code = http.StatusRequestEntityTooLarge
					a.logLimit(ie.Error(), r)
				}
				httpjson.Error(w, code, ie.Field, ie.Error())
				return
			}
			a.rejected.WithLabelValues(source, ingest.ReasonInvalidAlert).Inc()
			httpjson.Error(w, http.StatusBadRequest, "", err.Error())
			return
		}

		batch := model.Batch{At: now, Source: source, Alerts: alerts}
		if err := a.sink.Append(r.Context(), batch); err != nil {
			if errors.Is(err, model.ErrTooManyAlerts) {
				a.rejected.WithLabelValues(source, ReasonTooManyAlerts).Add(float64(len(alerts)))
				a.logFull(err)
				w.Header().Set("Retry-After", "60")
				httpjson.Error(w, http.StatusTooManyRequests, "", "alerts not stored: "+err.Error())
				return
			}
			a.rejected.WithLabelValues(source, ReasonSinkError).Add(float64(len(alerts)))
			httpjson.Error(w, http.StatusServiceUnavailable, "",
				fmt.Sprintf("alerts not stored, retry later: %v", err))
			return
		}
		a.received.WithLabelValues(source).Add(float64(len(alerts)))
		if source == ingest.FormatAMv2 {
			// As Alertmanager: 200 with an empty body.
			w.WriteHeader(http.StatusOK)
			return
		}
		httpjson.Write(w, http.StatusOK, struct {
			Accepted int `json:"accepted"`
		}{len(alerts)})
	}
}

// amTime marshals as Alertmanager's API does (RFC 3339 with milliseconds).
type amTime time.Time

func (t amTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(t).UTC().Format("2006-01-02T15:04:05.000Z07:00") + `"`), nil
}

type receiver struct {
	Name string `json:"name"`
}

type alertStatus struct {
	InhibitedBy []string `json:"inhibitedBy"`
	SilencedBy  []string `json:"silencedBy"`
	State       string   `json:"state"`
}

// gettableAlert is Alertmanager's v2 gettableAlert.
type gettableAlert struct {
	Annotations  model.LabelSet `json:"annotations"`
	EndsAt       amTime         `json:"endsAt"`
	Fingerprint  string         `json:"fingerprint"`
	Receivers    []receiver     `json:"receivers"`
	StartsAt     amTime         `json:"startsAt"`
	Status       alertStatus    `json:"status"`
	UpdatedAt    amTime         `json:"updatedAt"`
	GeneratorURL string         `json:"generatorURL,omitempty"`
	Labels       model.LabelSet `json:"labels"`
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("query parameter %s: invalid boolean %q", name, v)
	}
	return b, nil
}

// handleGetAlerts lists the current firing alerts as Alertmanager's GET
// /api/v2/alerts does. An alert is "suppressed" while a silence mutes it
// and "active" otherwise (Sift has no inhibitions), is routed to the
// receiver "sift", and resolved alerts are not listed.
func (a *API) handleGetAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	flags := map[string]bool{}
	for _, name := range []string{"active", "silenced", "inhibited", "unprocessed"} {
		b, err := boolParam(r, name)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, name, err.Error())
			return
		}
		flags[name] = b
	}
	var matchers []*model.Matcher
	for _, f := range q["filter"] {
		ms, err := parseMatchers(f)
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, "filter", err.Error())
			return
		}
		matchers = append(matchers, ms...)
	}
	receiverOK := true
	if rcv := q.Get("receiver"); rcv != "" {
		re, err := regexp.Compile("^(?:" + rcv + ")$")
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, "receiver", fmt.Sprintf("failed to parse receiver param: %v", err))
			return
		}
		receiverOK = re.MatchString(ReceiverName)
	}

	// The answer is streamed: one alert encoded at a time into a small
	// buffer, so that a million alerts do not become one huge buffer, and
	// with a pager the states are fetched a page at a time, so that they
	// are not all held either.
	list := a.alerts != nil && receiverOK && (flags["active"] || flags["silenced"])
	now := a.now()
	keep := func(st *model.AlertState) bool {
		if st.Status == model.StatusResolved || st.Alert.ResolvedAt(now) {
			return false
		}
		if len(st.SilencedBy) > 0 && !flags["silenced"] || len(st.SilencedBy) == 0 && !flags["active"] {
			return false
		}
		for j := range matchers {
			if !matchers[j].Matches(st.Labels) {
				return false
			}
		}
		return true
	}
	fpOf := func(st *model.AlertState) model.Fingerprint {
		if st.Fingerprint != 0 {
			return st.Fingerprint
		}
		return st.Labels.Fingerprint()
	}
	// Without a pager: every state at once, sorted by fingerprint.
	var all []model.AlertState
	var pick []int // the alerts of all to answer, by index
	pager, paged := a.alerts.(AlertPager)
	if list && !paged {
		all = a.alerts.Alerts()
		fps := map[int]model.Fingerprint{}
		for i := range all {
			if keep(&all[i]) {
				if all[i].Fingerprint == 0 {
					fps[i] = all[i].Labels.Fingerprint()
				}
				pick = append(pick, i)
			}
		}
		fpAt := func(i int) model.Fingerprint {
			if fp := all[i].Fingerprint; fp != 0 {
				return fp
			}
			return fps[i]
		}
		// Fingerprints print as fixed-width hex: numeric order is their order.
		sort.Slice(pick, func(i, j int) bool { return fpAt(pick[i]) < fpAt(pick[j]) })
	}
	var fps []model.Fingerprint
	if list && paged {
		fps = pager.FiringFingerprints()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(deadlineWriter{w: w, rc: http.NewResponseController(w)}, 64<<10)
	enc := json.NewEncoder(bw)
	bw.WriteByte('[')
	first := true
	write := func(st *model.AlertState) error {
		labels, ann := st.Labels, st.Annotations
		if labels == nil {
			labels = model.LabelSet{}
		}
		if ann == nil {
			ann = model.LabelSet{}
		}
		updated := st.LastSeen
		if updated.IsZero() {
			updated = st.StartsAt
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		// Encode adds a newline after each value: valid JSON whitespace.
		return enc.Encode(gettableAlert{
			Annotations:  ann,
			EndsAt:       amTime(st.EndsAt),
			Fingerprint:  fpOf(st).String(),
			Receivers:    []receiver{{Name: ReceiverName}},
			StartsAt:     amTime(st.StartsAt),
			Status:       statusOf(st),
			UpdatedAt:    amTime(updated),
			GeneratorURL: st.GeneratorURL,
			Labels:       labels,
		})
	}
	for _, k := range pick {
		if err := write(&all[k]); err != nil {
			return // the client went away
		}
	}
	var page []model.AlertState
	for len(fps) > 0 {
		n := min(len(fps), alertsPage)
		page = pager.AlertStates(page[:0], fps[:n])
		fps = fps[n:]
		for i := range page {
			if !keep(&page[i]) {
				continue
			}
			if err := write(&page[i]); err != nil {
				return // the client went away, or stopped reading
			}
		}
		clear(page) // what the next page does not overwrite is not kept alive
	}
	bw.WriteString("]\n")
	bw.Flush()
}

// statusOf is an alert's Alertmanager status: suppressed while a silence
// mutes it.
func statusOf(st *model.AlertState) alertStatus {
	if len(st.SilencedBy) > 0 {
		return alertStatus{InhibitedBy: []string{}, SilencedBy: st.SilencedBy, State: "suppressed"}
	}
	return alertStatus{InhibitedBy: []string{}, SilencedBy: []string{}, State: "active"}
}

// handleStatus answers enough of Alertmanager's status for amtool and
// Prometheus.
func (a *API) handleStatus(w http.ResponseWriter, r *http.Request) {
	type versionInfo struct {
		Branch    string `json:"branch"`
		BuildDate string `json:"buildDate"`
		BuildUser string `json:"buildUser"`
		GoVersion string `json:"goVersion"`
		Revision  string `json:"revision"`
		Version   string `json:"version"`
	}
	httpjson.Write(w, http.StatusOK, struct {
		Cluster struct {
			Peers  []struct{} `json:"peers"`
			Status string     `json:"status"`
		} `json:"cluster"`
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
		Uptime      amTime      `json:"uptime"`
		VersionInfo versionInfo `json:"versionInfo"`
	}{
		Cluster: struct {
			Peers  []struct{} `json:"peers"`
			Status string     `json:"status"`
		}{Peers: []struct{}{}, Status: "disabled"},
		Config: struct {
			Original string `json:"original"`
		}{Original: statusConfig},
		Uptime: amTime(a.started),
		VersionInfo: versionInfo{
			Branch: Branch, BuildDate: BuildDate, BuildUser: BuildUser,
			GoVersion: runtime.Version(), Revision: Revision, Version: Version,
		},
	})
}
