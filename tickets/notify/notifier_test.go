package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
)

// got is one request a receiver saw.
type got struct {
	at     time.Time
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint for the tests; answer decides the
// status of the n-th request (0-based) and may set headers or block.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []got
	answer func(n int, g got, w http.ResponseWriter) int
	notify chan struct{}
}

func newReceiver(t *testing.T, answer func(n int, g got, w http.ResponseWriter) int) *receiver {
	r := &receiver{answer: answer, notify: make(chan struct{}, 1000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		g := got{at: time.Now(), header: req.Header.Clone(), body: b}
		r.mu.Lock()
		n := len(r.reqs)
		r.reqs = append(r.reqs, g)
		r.mu.Unlock()
		select {
		case r.notify <- struct{}{}:
		default:
		}
		code := 200
		if r.answer != nil {
			code = r.answer(n, g, w)
		}
		if code != 0 { // 0: answer wrote the response
			w.WriteHeader(code)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []got {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]got(nil), r.reqs...)
}

// waitFor waits until cond holds over the requests, or fails.
func (r *receiver) waitFor(t *testing.T, what string, d time.Duration, cond func([]got) bool) []got {
	t.Helper()
	deadline := time.After(d)
	for {
		reqs := r.requests()
		if cond(reqs) {
			return reqs
		}
		select {
		case <-r.notify:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; %d requests", what, len(reqs))
		}
	}
}

func incidentOf(g got) (typ, id string) {
	var b struct {
		Type     string `json:"type"`
		Incident struct {
			ID string `json:"id"`
		} `json:"incident"`
	}
	json.Unmarshal(g.body, &b)
	return b.Type, b.Incident.ID
}

func countID(reqs []got, id string) int {
	n := 0
	for _, g := range reqs {
		if _, i := incidentOf(g); i == id {
			n++
		}
	}
	return n
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ev(typ, id string, at time.Time, mod ...func(*model.Incident)) model.IncidentEvent {
	inc := &model.Incident{ID: id, Title: "HighErrorRate on checkout", Status: model.IncidentOpen, Severity: "critical",
		OpenedAt: t0, UpdatedAt: at, RootCause: model.RootCause{Service: "checkout"}, Services: []string{"checkout"},
		Class: &model.Classification{Team: "payments", Category: "application", Priority: "P2"}}
	if typ == model.EventResolved {
		inc.Status, inc.ResolvedAt = model.IncidentResolved, at
	}
	for _, m := range mod {
		m(inc)
	}
	return model.IncidentEvent{Type: typ, At: at, Incident: inc}
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type harness struct {
	n   *Notifier
	reg *prometheus.Registry
	dir string
}

func open(t *testing.T, dir string, log *slog.Logger, hooks ...Webhook) *harness {
	t.Helper()
	reg := prometheus.NewRegistry()
	if log == nil {
		log = quiet()
	}
	n, err := newNotifier(Config{Webhooks: hooks}, dir, reg, log, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return &harness{n: n, reg: reg, dir: dir}
}

func (h *harness) export(t *testing.T, evs ...model.IncidentEvent) {
	t.Helper()
	if err := h.n.Export(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	h.n.Sync() // spooled, as the tests below expect
}

func (h *harness) count(target, outcome string) float64 {
	return metricValue(h.reg, "sift_notify_deliveries_total", "target", target, "outcome", outcome)
}

// metricValue returns the value (histograms: the count) of the series
// of name with the labels of kv (name, value, ...); -1 if there is none.
func metricValue(reg *prometheus.Registry, name string, kv ...string) float64 {
	want := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		want[kv[i]] = kv[i+1]
	}
	mfs, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if want[lp.GetName()] != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return -1
}

func hmacHex(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestSignedDeliveryHeadersAndBody(t *testing.T) {
	t.Setenv("NOTIFY_TEST_SECRET", "s3cret-value")
	rcv := newReceiver(t, nil)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := open(t, t.TempDir(), log, Webhook{Name: "bridge", URL: rcv.URL + "/hook?token=abc", SecretEnv: "NOTIFY_TEST_SECRET",
		Headers: map[string]string{"X-Extra": "1"}})
	e := ev(model.EventOpened, "INC-7", t0.Add(time.Second))
	h.export(t, e)
	g := rcv.waitFor(t, "the delivery", 5*time.Second, func(r []got) bool { return len(r) == 1 })[0]

	sig := g.header.Get("X-Sift-Signature")
	if want := "sha256=" + hmacHex([]byte("s3cret-value"), g.body); sig != want {
		t.Fatalf("X-Sift-Signature %q, want %q", sig, want)
	}
	if sig == "sha256="+hmacHex([]byte("other"), g.body) || !Verify([]byte("s3cret-value"), g.body, sig) || Verify([]byte("other"), g.body, sig) {
		t.Fatal("signature does not depend on the secret")
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Idempotency-Key": IdempotencyKey("bridge", &e),
		"X-Sift-Event": "opened", "User-Agent": "sift", "X-Extra": "1"} {
		if v := g.header.Get(k); v != want {
			t.Errorf("%s: %q, want %q", k, v, want)
		}
	}
	if len(g.header.Get("Idempotency-Key")) != 64 {
		t.Errorf("Idempotency-Key %q: want 64 hex digits", g.header.Get("Idempotency-Key"))
	}
	var body Body
	if err := json.Unmarshal(g.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.Type != "opened" || !body.At.Equal(e.At) || body.Incident == nil || body.Incident.ID != "INC-7" || body.Incident.Class.Team != "payments" {
		t.Fatalf("body %s", g.body)
	}
	h.waitDepth(t, "bridge", 0)
	if h.count("bridge", OutcomeDelivered) != 1 {
		t.Fatal("delivered not counted")
	}
	if strings.Contains(logs.String(), "s3cret-value") || strings.Contains(logs.String(), "token=abc") {
		t.Fatalf("secret in the logs:\n%s", logs.String())
	}
	// The console shows the URL without the query.
	ts := h.n.Targets()
	if len(ts) != 1 || strings.Contains(ts[0].URL, "abc") || !ts[0].Signed || ts[0].Delivered != 1 {
		t.Fatalf("targets %+v", ts)
	}
}

func (h *harness) waitDepth(t *testing.T, target string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if metricValue(h.reg, "sift_notify_queue_depth", "target", target) == float64(want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("queue depth of %s did not reach %d", target, want)
}

func TestRetriesWithBackoffThenDelivered(t *testing.T) {
	rcv := newReceiver(t, func(n int, _ got, _ http.ResponseWriter) int {
		if n < 3 {
			return 500
		}
		return 204
	})
	h := open(t, t.TempDir(), nil, Webhook{Name: "flaky", URL: rcv.URL, MaxBackoff: correlate.Duration(time.Second)})
	h.export(t, ev(model.EventOpened, "INC-1", t0))
	reqs := rcv.waitFor(t, "4 attempts", 10*time.Second, func(r []got) bool { return len(r) == 4 })
	h.waitDepth(t, "flaky", 0)
	// Base 20ms doubling, half of it jitter: at least 10, 20, 40ms.
	for i := 1; i < 4; i++ {
		gap := reqs[i].at.Sub(reqs[i-1].at)
		if least := 10 * time.Millisecond << (i - 1); gap < least {
			t.Errorf("attempt %d came %s after the previous one, want at least %s", i+1, gap, least)
		}
		if reqs[i].header.Get("Idempotency-Key") != reqs[0].header.Get("Idempotency-Key") || !bytes.Equal(reqs[i].body, reqs[0].body) {
			t.Errorf("attempt %d differs from the first", i+1)
		}
	}
	if r, d := h.count("flaky", OutcomeRetried), h.count("flaky", OutcomeDelivered); r != 3 || d != 1 {
		t.Fatalf("retried %v delivered %v, want 3 and 1", r, d)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(rcv.requests()); n != 4 {
		t.Fatalf("%d requests after delivery, want 4", n)
	}
	if got := metricValue(h.reg, "sift_notify_delivery_seconds", "target", "flaky"); got != 4 {
		t.Fatalf("delivery_seconds observed %v attempts, want 4", got)
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	ts := &tstate{target: &target{Webhook: Webhook{MaxBackoff: correlate.Duration(time.Second)}}, base: 100 * time.Millisecond}
	seen := map[time.Duration]bool{}
	for i := 0; i < 50; i++ {
		d := ts.backoff(20)
		if d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("backoff(20) = %s, want within [0.5s, 1s]", d)
		}
		seen[d] = true
		if d1 := ts.backoff(1); d1 < 50*time.Millisecond || d1 > 100*time.Millisecond {
			t.Fatalf("backoff(1) = %s", d1)
		}
	}
	if len(seen) < 10 {
		t.Fatalf("no jitter: %d distinct values", len(seen))
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	rcv := newReceiver(t, func(n int, _ got, w http.ResponseWriter) int {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			return 429
		}
		return 200
	})
	h := open(t, t.TempDir(), nil, Webhook{Name: "limited", URL: rcv.URL, MaxBackoff: correlate.Duration(10 * time.Millisecond)})
	h.export(t, ev(model.EventOpened, "INC-1", t0))
	reqs := rcv.waitFor(t, "2 attempts", 10*time.Second, func(r []got) bool { return len(r) == 2 })
	if gap := reqs[1].at.Sub(reqs[0].at); gap < 950*time.Millisecond {
		t.Fatalf("retried %s after a Retry-After: 1", gap)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-1": 0, "junk": 0, "999999": time.Hour,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second, now.Add(-time.Minute).Format(http.TimeFormat): 0} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q: %s, want %s", v, got, want)
		}
	}
}

func readDeadLetters(t *testing.T, dir, name string) []DeadLetter {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "notify", name, "dead-letter.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	var out []DeadLetter
	for _, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var dl DeadLetter
		if err := json.Unmarshal(l, &dl); err != nil {
			t.Fatalf("dead letter line %q: %v", l, err)
		}
		out = append(out, dl)
	}
	return out
}

func TestClientErrorGoesToDeadLetterAtOnce(t *testing.T) {
	rcv := newReceiver(t, func(_ int, g got, w http.ResponseWriter) int {
		if _, id := incidentOf(g); id == "INC-BAD" {
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"summary is required"}`)
			return 0
		}
		return 200
	})
	dir := t.TempDir()
	h := open(t, dir, nil, Webhook{Name: "jsm", URL: rcv.URL, MaxBackoff: correlate.Duration(10 * time.Millisecond)})
	h.export(t, ev(model.EventOpened, "INC-BAD", t0), ev(model.EventOpened, "INC-OK", t0.Add(time.Second)))
	reqs := rcv.waitFor(t, "INC-OK", 5*time.Second, func(r []got) bool { return countID(r, "INC-OK") == 1 })
	if n := countID(reqs, "INC-BAD"); n != 1 {
		t.Fatalf("INC-BAD sent %d times, want once (400 is final)", n)
	}
	h.waitDepth(t, "jsm", 0)
	dls := readDeadLetters(t, dir, "jsm")
	if len(dls) != 1 || dls[0].Incident != "INC-BAD" || dls[0].Attempts != 1 || dls[0].Target != "jsm" ||
		!strings.Contains(dls[0].LastError, "400") || !strings.Contains(dls[0].LastError, "summary is required") || dls[0].Type != "opened" {
		t.Fatalf("dead letters %+v", dls)
	}
	var body Body
	if err := json.Unmarshal(dls[0].Event, &body); err != nil || body.Incident.ID != "INC-BAD" {
		t.Fatalf("dead letter event %s: %v", dls[0].Event, err)
	}
	if h.count("jsm", OutcomeDeadLetter) != 1 || metricValue(h.reg, "sift_notify_dead_letters_total", "target", "jsm") != 1 || h.count("jsm", OutcomeRetried) != 0 {
		t.Fatal("dead letter not counted")
	}

	// The console API.
	mux := http.NewServeMux()
	h.n.Register(mux)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/notify/dead-letters?target=jsm", nil))
	var api []DeadLetter
	if err := json.Unmarshal(rec.Body.Bytes(), &api); rec.Code != 200 || err != nil || len(api) != 1 || api[0].Incident != "INC-BAD" {
		t.Fatalf("dead-letters API: %d %s", rec.Code, rec.Body)
	}
	for q, code := range map[string]int{"": 400, "?target=nope": 404, "?target=jsm&limit=0": 400} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/notify/dead-letters"+q, nil))
		var e struct{ Error, Field string }
		if rec.Code != code || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Errorf("dead-letters%s: %d %s, want %d with a JSON error", q, rec.Code, rec.Body, code)
		}
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/notify/targets", nil))
	var targets []TargetStatus
	if err := json.Unmarshal(rec.Body.Bytes(), &targets); err != nil || len(targets) != 1 || targets[0].DeadLetters != 1 ||
		targets[0].Delivered != 1 || !strings.Contains(targets[0].LastError, "400") || len(targets[0].Events) != len(EventTypes) {
		t.Fatalf("targets API: %s", rec.Body)
	}
}

func TestMaxAttemptsThenDeadLetterAndNextDelivery(t *testing.T) {
	rcv := newReceiver(t, func(_ int, g got, w http.ResponseWriter) int {
		if _, id := incidentOf(g); id == "INC-A" {
			return 503
		}
		return 200
	})
	dir := t.TempDir()
	h := open(t, dir, nil, Webhook{Name: "svc", URL: rcv.URL, MaxAttempts: 3, MaxBackoff: correlate.Duration(30 * time.Millisecond)})
	h.export(t, ev(model.EventOpened, "INC-A", t0))
	h.export(t, ev(model.EventOpened, "INC-B", t0.Add(time.Second)))
	reqs := rcv.waitFor(t, "INC-B", 10*time.Second, func(r []got) bool { return countID(r, "INC-B") == 1 })
	if n := countID(reqs, "INC-A"); n != 3 {
		t.Fatalf("INC-A sent %d times, want max_attempts=3", n)
	}
	if _, id := incidentOf(reqs[len(reqs)-1]); id != "INC-B" {
		t.Fatal("INC-B was sent before INC-A was given up: order broken")
	}
	h.waitDepth(t, "svc", 0)
	dls := readDeadLetters(t, dir, "svc")
	if len(dls) != 1 || dls[0].Incident != "INC-A" || dls[0].Attempts != 3 || !strings.Contains(dls[0].LastError, "503") {
		t.Fatalf("dead letters %+v", dls)
	}
	if h.count("svc", OutcomeRetried) != 2 || h.count("svc", OutcomeDeadLetter) != 1 || h.count("svc", OutcomeDelivered) != 1 {
		t.Fatal("metrics")
	}
}

// A target that never answers holds up neither Export nor the other
// targets.
func TestHungTargetDelaysNothing(t *testing.T) {
	release := make(chan struct{})
	hung := newReceiver(t, func(int, got, http.ResponseWriter) int {
		<-release
		return 200
	})
	defer close(release) // before the servers close (LIFO)
	fast := newReceiver(t, nil)
	h := open(t, t.TempDir(), nil,
		Webhook{Name: "hung", URL: hung.URL, Timeout: correlate.Duration(time.Hour)},
		Webhook{Name: "fast", URL: fast.URL})
	done := make(chan time.Duration)
	go func() {
		start := time.Now()
		for i := range 50 {
			h.export(t, ev(model.EventOpened, fmt.Sprintf("INC-%d", i), t0.Add(time.Duration(i)*time.Second)))
		}
		done <- time.Since(start)
	}()
	select {
	case d := <-done:
		t.Logf("50 exports in %s", d)
	case <-time.After(10 * time.Second):
		t.Fatal("Export blocked on a hung target")
	}
	reqs := fast.waitFor(t, "50 deliveries to the fast target", 10*time.Second, func(r []got) bool { return len(r) == 50 })
	for i, g := range reqs {
		if _, id := incidentOf(g); id != fmt.Sprintf("INC-%d", i) {
			t.Fatalf("delivery %d is %s: order broken", i, id)
		}
	}
	if n := len(hung.requests()); n != 1 {
		t.Fatalf("hung target got %d requests, want 1 (waiting for the answer)", n)
	}
	if d, _ := h.n.targets[0].spool.depth(); d != 50 {
		t.Fatalf("hung target queue depth %d, want 50", d)
	}
	// Close does not wait for the hung request either.
	closed := make(chan struct{})
	go func() { h.n.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a hung target")
	}
}

func TestEventsAndMatchersFilter(t *testing.T) {
	rcv := newReceiver(t, nil)
	h := open(t, t.TempDir(), nil, Webhook{Name: "p", URL: rcv.URL, Events: []string{"opened", "resolved"},
		Matchers: []string{`team="payments"`, `priority=~"P1|P2"`, `service!="batch"`}})
	set := func(f func(*model.Incident)) func(*model.Incident) { return f }
	evs := []model.IncidentEvent{
		ev(model.EventOpened, "yes-1", t0),
		ev(model.EventUpdated, "no-updated", t0),
		ev(model.EventClassified, "no-classified", t0),
		ev(model.EventOpened, "no-team", t0, set(func(i *model.Incident) { i.Class.Team = "search" })),
		ev(model.EventOpened, "no-prio", t0, set(func(i *model.Incident) { i.Class.Priority = "P3" })),
		ev(model.EventOpened, "no-class", t0, set(func(i *model.Incident) { i.Class = nil })),
		ev(model.EventOpened, "no-batch-member", t0, set(func(i *model.Incident) { i.Services = []string{"checkout", "batch"} })),
		ev(model.EventOpened, "no-batch-root", t0, set(func(i *model.Incident) { i.Services, i.RootCause.Service = nil, "batch" })),
		ev(model.EventResolved, "yes-2", t0, set(func(i *model.Incident) { i.Class.Priority = "P1" })),
		ev(model.EventSLABreached, "no-sla", t0),
		ev(model.EventOpened, "yes-last", t0),
	}
	h.export(t, evs...)
	reqs := rcv.waitFor(t, "the last matching event", 5*time.Second, func(r []got) bool {
		return len(r) > 0 && countID(r, "yes-last") == 1
	})
	var ids []string
	for _, g := range reqs {
		_, id := incidentOf(g)
		ids = append(ids, id)
	}
	if strings.Join(ids, ",") != "yes-1,yes-2,yes-last" {
		t.Fatalf("delivered %v, want yes-1, yes-2, yes-last", ids)
	}
}

func TestMatchFields(t *testing.T) {
	inc := &model.Incident{ID: "INC-3", Title: "Disk full", Status: "acknowledged", Severity: "warning", Problem: "PRB-1",
		Services: []string{"api", "db"}, RootCause: model.RootCause{Service: "storage"},
		Class: &model.Classification{Team: "infra", Category: "capacity", Priority: "P4"}}
	for m, want := range map[string]bool{
		`id="INC-3"`: true, `status="acknowledged"`: true, `severity=~"warn.*"`: true, `title=~"Disk.*"`: true, `problem="PRB-1"`: true,
		`team="infra"`: true, `category!="network"`: true, `priority="P4"`: true, `priority="P1"`: false,
		`service="db"`: true, `service="storage"`: true, `service="web"`: false, `service=~"a.*"`: true,
		`service!="web"`: true, `service!="db"`: false, `service!~"s.*"`: false, `service!~"x.*"`: true,
	} {
		mm, err := model.ParseMatcher(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := Match([]*model.Matcher{mm}, inc); got != want {
			t.Errorf("%s: %v, want %v", m, got, want)
		}
	}
	none := &model.Incident{ID: "x"}
	for m, want := range map[string]bool{`service=""`: true, `service!="db"`: true, `team=""`: true, `team="a"`: false} {
		mm, _ := model.ParseMatcher(m)
		if got := Match([]*model.Matcher{mm}, none); got != want {
			t.Errorf("no services/class, %s: %v, want %v", m, got, want)
		}
	}
}

// What a target confirmed is not sent again after a restart; what it did
// not confirm is, with the same Idempotency-Key.
func TestRestartResendsWhatWasNotConfirmed(t *testing.T) {
	var down sync.Mutex
	refuse := true
	rcv := newReceiver(t, func(_ int, g got, _ http.ResponseWriter) int {
		down.Lock()
		defer down.Unlock()
		if _, id := incidentOf(g); id == "INC-1" || !refuse {
			return 200
		}
		return 503
	})
	dir := t.TempDir()
	hook := Webhook{Name: "r", URL: rcv.URL, MaxBackoff: correlate.Duration(50 * time.Millisecond), MaxAttempts: 1000}
	h := open(t, dir, nil, hook)
	h.export(t, ev(model.EventOpened, "INC-1", t0))
	h.export(t, ev(model.EventOpened, "INC-2", t0.Add(time.Second)), ev(model.EventOpened, "INC-3", t0.Add(2*time.Second)))
	first := rcv.waitFor(t, "INC-2 refused", 5*time.Second, func(r []got) bool { return countID(r, "INC-2") >= 2 })
	h.n.Close()
	if d, _ := h.n.targets[0].spool.depth(); d != 2 {
		t.Fatalf("depth at close %d, want 2", d)
	}
	key2 := ""
	for _, g := range first {
		if _, id := incidentOf(g); id == "INC-2" {
			key2 = g.header.Get("Idempotency-Key")
		}
	}
	// A crash may leave a record cut short at the end of the spool: it was
	// never acknowledged, and must not stop the restart.
	segs, _ := filepath.Glob(filepath.Join(dir, "notify", "r", "*.spool"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	f, _ := os.OpenFile(segs[0], os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":99,"key":"torn","ty`)
	f.Close()

	down.Lock()
	refuse = false
	down.Unlock()
	before := len(rcv.requests())
	h2 := open(t, dir, nil, hook)
	reqs := rcv.waitFor(t, "INC-2 and INC-3 after the restart", 5*time.Second, func(r []got) bool {
		return countID(r[before:], "INC-3") == 1
	})
	after := reqs[before:]
	if countID(after, "INC-1") != 0 {
		t.Fatal("INC-1 was confirmed before the restart but sent again")
	}
	if countID(after, "INC-2") != 1 || after[0].header.Get("Idempotency-Key") != key2 {
		t.Fatalf("INC-2 after restart: %d, key %q (was %q)", countID(after, "INC-2"), after[0].header.Get("Idempotency-Key"), key2)
	}
	h2.waitDepth(t, "r", 0)
	h2.n.Close()

	// Everything confirmed: a third start sends nothing, and new events
	// continue the sequence.
	before = len(rcv.requests())
	h3 := open(t, dir, nil, hook)
	h3.export(t, ev(model.EventOpened, "INC-4", t0.Add(3*time.Second)))
	reqs = rcv.waitFor(t, "INC-4", 5*time.Second, func(r []got) bool { return countID(r, "INC-4") == 1 })
	if len(reqs)-before != 1 {
		t.Fatalf("%d requests after the third start, want only INC-4", len(reqs)-before)
	}
}

func TestSpoolSegmentsRotateAndAreDeleted(t *testing.T) {
	dir := t.TempDir()
	sp, err := openSpool(dir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	sp.segLimit = 1000
	body := json.RawMessage(`{"x":"` + strings.Repeat("a", 300) + `"}`)
	var recs []record
	for i := range 10 {
		recs = append(recs, record{Key: fmt.Sprint(i), Type: "opened", Body: body})
	}
	if n, err := sp.append(recs, 1<<20); err != nil || n != 10 {
		t.Fatal(n, err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.spool"))
	if len(segs) < 4 {
		t.Fatalf("%d segments for 10 records of ~370 bytes with 1000-byte segments", len(segs))
	}
	for i := range 7 {
		e, ok := sp.head()
		if !ok {
			t.Fatal("empty")
		}
		r, err := sp.read(e)
		if err != nil || r.Key != fmt.Sprint(i) || r.Seq != uint64(i+1) {
			t.Fatalf("record %d: %+v %v", i, r, err)
		}
		if err := sp.done(e); err != nil {
			t.Fatal(err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.spool"))
	if len(left) >= len(segs) {
		t.Fatalf("delivered segments not deleted: %d of %d left", len(left), len(segs))
	}
	sp.close()
	sp2, err := openSpool(dir, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer sp2.close()
	if d, _ := sp2.depth(); d != 3 {
		t.Fatalf("depth after reopen %d, want 3", d)
	}
	e, _ := sp2.head()
	if r, err := sp2.read(e); err != nil || r.Key != "7" {
		t.Fatalf("head after reopen: %+v %v", r, err)
	}
	if n, err := sp2.append([]record{{Key: "10", Body: body}}, 1<<20); err != nil || n != 1 || sp2.pending[len(sp2.pending)-1].seq != 11 {
		t.Fatalf("append after reopen: %d %v", n, err)
	}
}

func TestFullQueueDropsNewDeliveries(t *testing.T) {
	release := make(chan struct{})
	hung := newReceiver(t, func(int, got, http.ResponseWriter) int {
		<-release
		return 200
	})
	defer close(release)
	var logs bytes.Buffer
	h := open(t, t.TempDir(), slog.New(slog.NewTextHandler(&logs, nil)),
		Webhook{Name: "small", URL: hung.URL, MaxQueueBytes: 4000, Timeout: correlate.Duration(time.Hour)})
	for i := range 20 {
		h.export(t, ev(model.EventOpened, fmt.Sprintf("INC-%d", i), t0.Add(time.Duration(i)*time.Second)))
	}
	dropped := h.count("small", OutcomeDropped)
	depth, qb := h.n.targets[0].spool.depth()
	if dropped == 0 || float64(depth)+dropped != 20 || qb > 4000 {
		t.Fatalf("dropped %v, depth %d (%d bytes)", dropped, depth, qb)
	}
	if c := strings.Count(logs.String(), "notify queue full"); c != 1 {
		t.Fatalf("queue full logged %d times, want once a minute:\n%s", c, logs.String())
	}
	if h.n.Targets()[0].Dropped != int64(dropped) {
		t.Fatal("dropped not in the targets API")
	}
}

func TestDeliveredMark(t *testing.T) {
	none, err := New(Config{}, t.TempDir(), nil, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	if _, ok := none.Delivered(); ok {
		t.Fatal("a Notifier without webhooks must not acknowledge")
	}
	if err := none.Export(context.Background(), []model.IncidentEvent{ev("opened", "x", t0)}); err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, nil)
	h := open(t, t.TempDir(), nil, Webhook{Name: "m", URL: rcv.URL, Events: []string{"resolved"}})
	if d, ok := h.n.Delivered(); !ok || !d.IsZero() {
		t.Fatalf("before any event: %v %v", d, ok)
	}
	// Spooled or filtered out, the events are done with.
	h.export(t, ev(model.EventOpened, "a", t0.Add(5*time.Second)), ev(model.EventResolved, "b", t0.Add(3*time.Second)))
	if d, _ := h.n.Delivered(); !d.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("mark %v", d)
	}
	h.export(t, ev(model.EventResolved, "c", t0.Add(time.Second)))
	if d, _ := h.n.Delivered(); !d.Equal(t0.Add(5 * time.Second)) {
		t.Fatalf("mark moved back: %v", d)
	}
}

// A storm's updates of one incident are spooled as its latest state, not
// one delivery per update; other events and incidents keep their order.
func TestCoalesceUpdates(t *testing.T) {
	evs := []model.IncidentEvent{
		ev(model.EventOpened, "A", t0), ev(model.EventUpdated, "A", t0.Add(1)), ev(model.EventUpdated, "B", t0.Add(2)),
		ev(model.EventUpdated, "A", t0.Add(3)), ev(model.EventResolved, "B", t0.Add(4)), ev(model.EventUpdated, "A", t0.Add(5)),
	}
	var got []string
	for _, e := range coalesce(evs) {
		got = append(got, e.Type+" "+e.Incident.ID)
	}
	if strings.Join(got, ", ") != "opened A, resolved B, updated A" {
		t.Fatalf("coalesced: %v", got)
	}
}

func TestValidate(t *testing.T) {
	t.Setenv("NOTIFY_SET", "x")
	os.Unsetenv("NOTIFY_UNSET")
	ok := Webhook{Name: "a", URL: "https://example.com/hook"}
	tmpl := filepath.Join(t.TempDir(), "bad.tmpl")
	os.WriteFile(tmpl, []byte(`{"title": {{.Incident.Title}}}`), 0o644)
	for _, c := range []struct {
		w    Webhook
		want string
	}{
		{Webhook{URL: "https://x"}, "notify.webhooks[1].name: required"},
		{Webhook{Name: "../etc", URL: "https://x"}, "notify.webhooks[1].name:"},
		{Webhook{Name: "A", URL: "https://x"}, "notify.webhooks[1].name: \"A\" is used by another webhook"},
		{Webhook{Name: "b"}, "notify.webhooks[1].url: required"},
		{Webhook{Name: "b", URL: "ftp://x"}, "notify.webhooks[1].url:"},
		{Webhook{Name: "b", URL: "example.com/hook"}, "notify.webhooks[1].url:"},
		{Webhook{Name: "b", URL: "https://x", Events: []string{"opened", "closed"}}, "notify.webhooks[1].events[1]: unknown event \"closed\""},
		{Webhook{Name: "b", URL: "https://x", Matchers: []string{`team="a"`, `priority=~"P1|`}}, "notify.webhooks[1].matchers[1]:"},
		{Webhook{Name: "b", URL: "https://x", Matchers: []string{`color="red"`}}, "notify.webhooks[1].matchers[0]: \"color=\\\"red\\\"\": unknown field"},
		{Webhook{Name: "b", URL: "https://x", SecretEnv: "NOTIFY_UNSET"}, "notify.webhooks[1].secret_env: environment variable NOTIFY_UNSET is not set"},
		{Webhook{Name: "b", URL: "https://x", SecretEnv: "hunter2 secret"}, "notify.webhooks[1].secret_env: must be the name"},
		{Webhook{Name: "b", URL: "https://x", Headers: map[string]string{"Authorization": "${NOTIFY_UNSET}"}}, "notify.webhooks[1].headers.Authorization: environment variable NOTIFY_UNSET"},
		{Webhook{Name: "b", URL: "https://x", Headers: map[string]string{"X-Sift-Signature": "x"}}, "notify.webhooks[1].headers.X-Sift-Signature:"},
		{Webhook{Name: "b", URL: "https://x", MaxAttempts: -1}, "notify.webhooks[1].max_attempts:"},
		{Webhook{Name: "b", URL: "https://x", Template: tmpl}, "notify.webhooks[1].template: template bad.tmpl did not render JSON"},
		{Webhook{Name: "b", URL: "https://x", Template: tmpl + ".missing"}, "notify.webhooks[1].template:"},
	} {
		err := Config{Webhooks: []Webhook{ok, c.w}}.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.w, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error echoes a secret: %v", err)
		}
	}
	good := Config{Webhooks: []Webhook{ok, {Name: "b.2_x", URL: "http://u:p@host:8080/x?k=v", SecretEnv: "NOTIFY_SET",
		Events: []string{"opened", "sla_breached"}, Matchers: []string{`service!="batch"`}, Headers: map[string]string{"Authorization": "${NOTIFY_SET}"}}}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := RedactURL("http://u:p@host:8080/x?k=v#f"); got != "http://host:8080/x" {
		t.Fatalf("RedactURL: %s", got)
	}
}
