package llm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	openai "github.com/sashabaranov/go-openai"

	"github.com/sift-aiops/sift/model"
)

// Errors. Every error of Triage and Draft that is not the caller's context
// wraps one of these or is a request failure.
var (
	ErrBudget      = errors.New("llm: hourly token budget spent")
	ErrBreakerOpen = errors.New("llm: circuit breaker open")
	ErrRateLimited = errors.New("llm: rate limited by the server")
	ErrInvalid     = errors.New("llm: invalid answer")
	ErrTimeout     = errors.New("llm: request timed out")
)

// Outcomes, as in the sift_llm_requests_total{outcome} metric and
// Audit.Outcome.
const (
	OutcomeOK          = "ok"
	OutcomeCached      = "cached"
	OutcomeInvalid     = "invalid"
	OutcomeError       = "error"
	OutcomeTimeout     = "timeout"
	OutcomeRateLimited = "rate_limited"
	OutcomeBudget      = "budget"
	OutcomeBreakerOpen = "breaker_open"
	OutcomeCanceled    = "canceled"
)

// Source is Triage.Source.
const Source = "llm"

// Triage is the model's triage of an incident. Text fields are untrusted
// plain text (validated, capped, other incidents' IDs redacted): display
// them escaped, never execute or follow them. Team, Category and Priority
// are suggestions inside the taxonomy; rules stay authoritative.
type Triage = model.Triage

// Message is one chat message sent to the model.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Audit is the prompt/response record kept with the incident: what was
// sent and what came back. It never holds the API key or HTTP headers.
type Audit struct {
	Op       string    `json:"op"` // triage or draft
	Incident string    `json:"incident,omitempty"`
	Model    string    `json:"model"`
	At       time.Time `json:"at"`
	// Messages are the messages of the last request (system, user, and
	// for a corrective retry the first answer and the correction).
	Messages []Message `json:"messages,omitempty"`
	// Responses are the raw texts of the answers, in order; Response is
	// the last one.
	Responses        []string      `json:"responses,omitempty"`
	Response         string        `json:"response,omitempty"`
	PromptTokens     int           `json:"promptTokens"`
	CompletionTokens int           `json:"completionTokens"`
	Latency          time.Duration `json:"latency"` // whole call, nanoseconds in JSON
	Outcome          string        `json:"outcome"`
	Attempts         int           `json:"attempts"` // requests sent
	Problems         []string      `json:"problems,omitempty"`
	Redacted         int           `json:"redacted,omitempty"` // incident IDs redacted from the answer
	Error            string        `json:"error,omitempty"`
}

const (
	maxAuditResponse = 32 << 10
	// default pause after a 429 without a usable Retry-After, and the
	// longest pause honoured.
	defaultRateLimitPause = 5 * time.Second
	maxRateLimitPause     = time.Hour
)

// Client asks the model. It is safe for concurrent use.
type Client struct {
	cfg  Config
	tax  Taxonomy
	api  *openai.Client
	log  *slog.Logger
	now  func() time.Time
	sem  chan struct{}
	m    *metrics
	br   *breaker
	bud  *budget
	hash string // taxonomy + model, part of cache keys

	mu          sync.Mutex
	pausedUntil time.Time
	cache       *lru
	flights     map[string]*flight
}

type flight struct {
	done chan struct{}
	tri  *Triage
}

// New returns a client for cfg (defaults applied). It reads the API key
// from the environment variable cfg.APIKeyEnv names. Metrics are
// registered on reg when it is not nil (a client replacing an older one on
// the same registry takes over its metrics).
func New(cfg Config, tax Taxonomy, reg prometheus.Registerer, log *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("llm: not enabled: llm.base_url and llm.model are required")
	}
	cfg = cfg.WithDefaults()
	var key string
	if cfg.APIKeyEnv != "" {
		key = strings.TrimSpace(os.Getenv(cfg.APIKeyEnv))
		if key == "" {
			return nil, fmt.Errorf("llm.api_key_env: environment variable %s is not set or empty", cfg.APIKeyEnv)
		}
	}
	if log == nil {
		log = slog.Default()
	}
	tax = Taxonomy{Teams: cleanNames(tax.Teams), Categories: cleanNames(tax.Categories)}
	c := &Client{
		cfg:     cfg,
		tax:     tax,
		log:     log.With("component", "llm", "model", cfg.Model),
		now:     time.Now,
		sem:     make(chan struct{}, max(cfg.MaxConcurrency, 1)),
		br:      &breaker{threshold: cfg.BreakerFailures, cooldown: time.Duration(cfg.BreakerCooldown)},
		bud:     &budget{limit: cfg.BudgetTokensPerHour},
		flights: map[string]*flight{},
	}
	if cfg.CacheSize > 0 {
		c.cache = newLRU(cfg.CacheSize)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s", cfg.Model, strings.Join(tax.Teams, "\x01"), strings.Join(tax.Categories, "\x01"), cfg.ResponseFormat)
	c.hash = hex.EncodeToString(h.Sum(nil))

	var oc openai.ClientConfig
	if cfg.Azure {
		oc = openai.DefaultAzureConfig(key, cfg.BaseURL)
		oc.APIVersion = cfg.AzureAPIVersion
		oc.AzureModelMapperFunc = func(m string) string { return m } // the model is the deployment name
	} else {
		oc = openai.DefaultConfig(key)
		oc.BaseURL = cfg.BaseURL
	}
	base := http.DefaultTransport
	if t, ok := base.(*http.Transport); ok {
		base = t.Clone()
	}
	// No http.Client timeout: every request has a context deadline.
	oc.HTTPClient = &http.Client{Transport: &retryAfterTransport{base: base, c: c}}
	c.api = openai.NewClientWithConfig(oc)

	m, err := newMetrics(reg, c)
	if err != nil {
		return nil, err
	}
	c.m = m
	return c, nil
}

func cleanNames(xs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range xs {
		x = strings.TrimSpace(x)
		if x == "" || seen[x] {
			continue
		}
		seen[x] = true
		out = append(out, x)
	}
	return out
}

// Config returns the client's configuration, defaults applied.
func (c *Client) Config() Config { return c.cfg }

// Taxonomy returns the taxonomy answers are validated against.
func (c *Client) Taxonomy() Taxonomy { return c.tax }

// Triage asks the model for a triage of in.Incident. The audit is returned
// in every case (with the outcome), the triage only with a nil error. A
// triage for the same signature and taxonomy is answered from the cache
// (outcome cached) unless in.NoCache. An invalid answer (malformed JSON,
// team or category outside the taxonomy, priority not P1..P5, empty
// summary) is retried once with a corrective message, then dropped with
// ErrInvalid.
func (c *Client) Triage(ctx context.Context, in Input) (*Triage, *Audit, error) {
	au := &Audit{Op: "triage", Model: c.cfg.Model, At: c.now()}
	start := time.Now()
	var t *Triage
	var err error
	if in.Incident == nil {
		err = errors.New("llm: no incident")
	} else {
		au.Incident = in.Incident.ID
		t, err = c.triage(ctx, in, au)
	}
	c.finish("triage", au, start, err)
	if err != nil {
		return nil, au, err
	}
	return t, au, nil
}

// selfMark stands for the incident's own ID in cached triages, so that a
// cached answer names the incident it is served for.
const selfMark = "\x00self\x00"

func (c *Client) cacheKey(in Input) string {
	sig := strings.TrimSpace(in.Incident.Signature)
	if c.cache == nil || sig == "" {
		return ""
	}
	h := sha256.Sum256([]byte(c.hash + "\x00" + sig))
	return hex.EncodeToString(h[:])
}

// fromCache returns a copy of a cached triage for in's incident.
func (c *Client) fromCache(t *Triage, in Input, au *Audit) *Triage {
	cp := *t
	cp.NextSteps = append([]string(nil), t.NextSteps...)
	self := func(s string) string { return strings.ReplaceAll(s, selfMark, in.Incident.ID) }
	cp.Summary, cp.ProbableCause = self(cp.Summary), self(cp.ProbableCause)
	for i := range cp.NextSteps {
		cp.NextSteps[i] = self(cp.NextSteps[i])
	}
	au.Redacted = newRedactor(in.allowedIDs()...).triage(&cp, c.tax)
	au.Outcome = OutcomeCached
	c.m.cacheHits.Inc()
	return &cp
}

func (c *Client) toCache(key string, t *Triage, id string) {
	cp := *t
	cp.NextSteps = append([]string(nil), t.NextSteps...)
	if id != "" {
		mark := func(s string) string { return replaceID(s, id, selfMark) }
		cp.Summary, cp.ProbableCause = mark(cp.Summary), mark(cp.ProbableCause)
		for i := range cp.NextSteps {
			cp.NextSteps[i] = mark(cp.NextSteps[i])
		}
	}
	c.cache.put(key, &cp)
}

// replaceID replaces the occurrences of id in s that are whole tokens
// (INC-7 but not INC-70).
func replaceID(s, id, with string) string {
	if id == "" {
		return s
	}
	var b strings.Builder
	from := 0 // s[:from] is written
	for off := 0; ; {
		i := strings.Index(s[off:], id)
		if i < 0 {
			b.WriteString(s[from:])
			return b.String()
		}
		i += off
		end := i + len(id)
		if (i == 0 || !isWordByte(s[i-1])) && (end == len(s) || !isWordByte(s[end])) {
			b.WriteString(s[from:i])
			b.WriteString(with)
			from = end
		}
		off = end
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (c *Client) triage(ctx context.Context, in Input, au *Audit) (*Triage, error) {
	key := c.cacheKey(in)
	if key != "" && !in.NoCache {
		c.mu.Lock()
		if t := c.cache.get(key); t != nil {
			c.mu.Unlock()
			return c.fromCache(t, in, au), nil
		}
		f, waiting := c.flights[key]
		if !waiting {
			f = &flight{done: make(chan struct{})}
			c.flights[key] = f
		}
		c.mu.Unlock()
		if waiting {
			// Another incident with this signature is being triaged: wait
			// for its answer rather than paying twice.
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.tri != nil {
				return c.fromCache(f.tri, in, au), nil
			}
			// It failed: ask ourselves (the breaker and budget decide).
		} else {
			var res *Triage
			defer func() {
				c.mu.Lock()
				delete(c.flights, key)
				f.tri = res
				c.mu.Unlock()
				close(f.done)
			}()
			t, err := c.ask(ctx, in, au)
			if err == nil {
				c.mu.Lock()
				c.toCache(key, t, in.Incident.ID)
				res = c.cache.get(key)
				c.mu.Unlock()
			}
			return t, err
		}
	}
	t, err := c.ask(ctx, in, au)
	if err == nil && key != "" {
		c.mu.Lock()
		c.toCache(key, t, in.Incident.ID)
		c.mu.Unlock()
	}
	return t, err
}

var triageKeys = []string{"summary", "probable_cause", "next_steps", "team", "category", "priority"}

func (c *Client) ask(ctx context.Context, in Input, au *Audit) (*Triage, error) {
	doc := encodeDoc(buildDoc(in, c.tax, ""))
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: triageSystem(c.tax)},
		{Role: openai.ChatMessageRoleUser, Content: userMessage(triageTask, doc)},
	}
	rf := c.responseFormat("incident_triage", triageSchema(c.tax))
	var t *Triage
	err := c.converse(ctx, msgs, rf, au, triageKeys, func(text string) []problem {
		var ps []problem
		t, ps = parseTriage(text, c.tax)
		return ps
	})
	if err != nil {
		return nil, err
	}
	au.Redacted = newRedactor(in.allowedIDs()...).triage(t, c.tax)
	t.Source, t.Model, t.At = Source, c.cfg.Model, c.now()
	au.Outcome = OutcomeOK
	return t, nil
}

// Draft asks the model for a knowledge-article draft from a resolved
// incident and the agents' resolution notes, and renders it as Markdown:
// marked at the top as an LLM draft to review, with every untrusted text
// escaped (no raw HTML, no links). Drafts are not cached.
func (c *Client) Draft(ctx context.Context, in Input, resolutionNotes string) (string, *Audit, error) {
	au := &Audit{Op: "draft", Model: c.cfg.Model, At: c.now()}
	start := time.Now()
	var out string
	var err error
	if in.Incident == nil {
		err = errors.New("llm: no incident")
	} else {
		au.Incident = in.Incident.ID
		out, err = c.draft(ctx, in, resolutionNotes, au)
	}
	c.finish("draft", au, start, err)
	return out, au, err
}

var draftKeys = []string{"title", "summary", "symptoms", "probable_cause", "resolution", "prevention"}

func (c *Client) draft(ctx context.Context, in Input, notes string, au *Audit) (string, error) {
	doc := encodeDoc(buildDoc(in, c.tax, notes))
	msgs := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: draftSystem()},
		{Role: openai.ChatMessageRoleUser, Content: userMessage(draftTask, doc)},
	}
	rf := c.responseFormat("kb_article", draftSchema())
	var a *article
	err := c.converse(ctx, msgs, rf, au, draftKeys, func(text string) []problem {
		var ps []problem
		a, ps = parseDraft(text)
		return ps
	})
	if err != nil {
		return "", err
	}
	au.Redacted = newRedactor(in.allowedIDs()...).article(a)
	au.Outcome = OutcomeOK
	return renderDraft(a, in, c.cfg.Model, c.now()), nil
}

// converse sends msgs, validates the answer with check and, when it is
// invalid, retries once with a corrective message.
func (c *Client) converse(ctx context.Context, msgs []openai.ChatCompletionMessage, rf *openai.ChatCompletionResponseFormat,
	au *Audit, keys []string, check func(string) []problem) error {
	// Cheap checks before queueing for a slot.
	if err := c.precheck(); err != nil {
		return err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-c.sem }()

	for attempt := 1; ; attempt++ {
		text, err := c.complete(ctx, msgs, rf, au)
		if err != nil {
			return err
		}
		ps := check(text)
		if len(ps) == 0 {
			return nil
		}
		au.Problems = append(au.Problems, problemStrings(ps)...)
		if attempt >= 2 {
			return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problemStrings(ps), "; "))
		}
		c.m.retries.Inc()
		prev := capStr(text, 4000)
		if prev == "" {
			prev = "(empty answer)"
		}
		msgs = append(msgs[:len(msgs):len(msgs)],
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: prev},
			openai.ChatCompletionMessage{Role: openai.ChatMessageRoleUser, Content: corrective(ps, keys)})
	}
}

func isReasoningModel(m string) bool {
	m = strings.ToLower(m)
	for _, p := range []string{"o1", "o3", "o4", "gpt-5", "gpt-6"} {
		if strings.HasPrefix(m, p) {
			return true
		}
	}
	return false
}

func (c *Client) request(msgs []openai.ChatCompletionMessage, rf *openai.ChatCompletionResponseFormat) openai.ChatCompletionRequest {
	req := openai.ChatCompletionRequest{Model: c.cfg.Model, Messages: msgs, ResponseFormat: rf}
	if isReasoningModel(c.cfg.Model) {
		// These models refuse max_tokens and any temperature but 1.
		req.MaxCompletionTokens = c.cfg.MaxTokens
		return req
	}
	req.MaxTokens = c.cfg.MaxTokens
	req.Temperature = float32(c.cfg.Temperature)
	if req.Temperature == 0 {
		// go-openai omits a zero temperature (the server default, often 1,
		// would apply); the smallest positive float32 is sent instead.
		req.Temperature = math.SmallestNonzeroFloat32
	}
	return req
}

// complete sends one request (after the rate-limit, budget and breaker
// checks) and returns the answer's text.
func (c *Client) complete(ctx context.Context, msgs []openai.ChatCompletionMessage, rf *openai.ChatCompletionResponseFormat, au *Audit) (string, error) {
	if err := c.admit(); err != nil {
		return "", err
	}
	au.Messages = au.Messages[:0]
	for _, m := range msgs {
		au.Messages = append(au.Messages, Message{Role: m.Role, Content: m.Content})
	}
	au.Attempts++
	timeout := time.Duration(c.cfg.Timeout)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	resp, err := c.api.CreateChatCompletion(rctx, c.request(msgs, rf))
	c.m.latency.Observe(time.Since(start).Seconds())
	if err != nil {
		var apiErr *openai.APIError
		var reqErr *openai.RequestError
		status := 0
		if errors.As(err, &apiErr) {
			status = apiErr.HTTPStatusCode
		} else if errors.As(err, &reqErr) {
			status = reqErr.HTTPStatusCode
		}
		switch {
		case ctx.Err() != nil: // the caller gave up: says nothing about the server
			c.br.neutral()
			return "", ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			c.failure()
			return "", fmt.Errorf("%w after %s: %w", ErrTimeout, timeout, err)
		case status == http.StatusTooManyRequests:
			c.br.neutral() // the server is up; Retry-After was recorded by the transport
			return "", fmt.Errorf("%w (no request before %s): %w", ErrRateLimited, c.pausedTill().UTC().Format(time.RFC3339), err)
		default:
			c.failure()
			return "", fmt.Errorf("llm: request failed: %w", err)
		}
	}
	c.br.success()
	pt, ct := resp.Usage.PromptTokens, resp.Usage.CompletionTokens
	au.PromptTokens += pt
	au.CompletionTokens += ct
	c.m.promptTokens.Add(float64(pt))
	c.m.completionTokens.Add(float64(ct))
	var text string
	if len(resp.Choices) > 0 {
		text = resp.Choices[0].Message.Content
		if text == "" && resp.Choices[0].Message.Refusal != "" {
			text = "refusal: " + resp.Choices[0].Message.Refusal
		}
	}
	total := resp.Usage.TotalTokens
	if total == 0 {
		total = pt + ct
	}
	if total == 0 { // the server reports no usage: estimate (4 bytes a token)
		n := len(text)
		for _, m := range msgs {
			n += len(m.Content)
		}
		total = n/4 + 1
	}
	c.bud.spend(c.now(), total)
	stored := text
	if len(stored) > maxAuditResponse {
		stored = truncUTF8(stored, maxAuditResponse)
	}
	au.Responses = append(au.Responses, stored)
	au.Response = stored
	return text, nil
}

func truncUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (c *Client) failure() {
	if c.br.failure(c.now()) {
		c.log.Warn("llm circuit breaker opened", "consecutive_failures", c.br.threshold, "cooldown", c.br.cooldown)
	}
}

// precheck refuses early, without claiming anything.
func (c *Client) precheck() error {
	now := c.now()
	if until := c.pausedTill(); now.Before(until) {
		return fmt.Errorf("%w: no request before %s", ErrRateLimited, until.UTC().Format(time.RFC3339))
	}
	if c.bud.spent(now) {
		return ErrBudget
	}
	if c.br.state(now) == stateOpen {
		return ErrBreakerOpen
	}
	return nil
}

// admit is precheck plus claiming the half-open probe of the breaker.
func (c *Client) admit() error {
	now := c.now()
	if until := c.pausedTill(); now.Before(until) {
		return fmt.Errorf("%w: no request before %s", ErrRateLimited, until.UTC().Format(time.RFC3339))
	}
	if c.bud.spent(now) {
		return ErrBudget
	}
	if !c.br.allow(now) {
		return ErrBreakerOpen
	}
	return nil
}

func (c *Client) pausedTill() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pausedUntil
}

// pause records a Retry-After: no request is sent before it.
func (c *Client) pause(status int, retryAfter string) {
	now := c.now()
	until, ok := parseRetryAfter(retryAfter, now)
	if !ok {
		if status != http.StatusTooManyRequests {
			return
		}
		until = now.Add(defaultRateLimitPause)
	}
	if until.Sub(now) > maxRateLimitPause {
		until = now.Add(maxRateLimitPause)
	}
	c.mu.Lock()
	if until.After(c.pausedUntil) {
		c.pausedUntil = until
	}
	c.mu.Unlock()
	c.log.Warn("llm server asked to slow down", "status", status, "until", until)
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if isNumber(v) {
		secs, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return time.Time{}, false
		}
		if secs > maxRateLimitPause.Seconds() {
			secs = maxRateLimitPause.Seconds()
		}
		return now.Add(time.Duration(secs * float64(time.Second))), true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return time.Time{}, false
	}
	if t.Before(now) {
		return now, true
	}
	return t, true
}

func isNumber(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && r != '.' {
			return false
		}
	}
	return s != ""
}

// retryAfterTransport records Retry-After of 429 and 503 responses (the
// only place it can be read: go-openai's errors carry no headers).
type retryAfterTransport struct {
	base http.RoundTripper
	c    *Client
}

func (t *retryAfterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		t.c.pause(resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	return resp, err
}

// outcomeOf maps an error to its outcome.
func outcomeOf(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, ErrBudget):
		return OutcomeBudget
	case errors.Is(err, ErrBreakerOpen):
		return OutcomeBreakerOpen
	case errors.Is(err, ErrRateLimited):
		return OutcomeRateLimited
	case errors.Is(err, ErrInvalid):
		return OutcomeInvalid
	case errors.Is(err, ErrTimeout):
		return OutcomeTimeout
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return OutcomeCanceled
	default:
		return OutcomeError
	}
}

func (c *Client) finish(op string, au *Audit, start time.Time, err error) {
	au.Latency = time.Since(start)
	if err != nil {
		au.Outcome = outcomeOf(err)
		au.Error = err.Error()
	} else if au.Outcome == "" {
		au.Outcome = OutcomeOK
	}
	c.m.requests.WithLabelValues(op, au.Outcome).Inc()
	lvl := slog.LevelDebug
	if err != nil && au.Outcome != OutcomeCanceled {
		lvl = slog.LevelWarn
	}
	c.log.Log(context.Background(), lvl, "llm call", "op", op, "incident", au.Incident, "outcome", au.Outcome,
		"attempts", au.Attempts, "prompt_tokens", au.PromptTokens, "completion_tokens", au.CompletionTokens,
		"latency", au.Latency, "redacted", au.Redacted, "err", err)
}
