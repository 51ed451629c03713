package llm

import (
	"container/list"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Breaker states.
const (
	stateClosed = iota
	stateOpen
	stateHalfOpen
)

// breaker is a consecutive-failure circuit breaker: threshold failures in
// a row open it for cooldown; then one request (the probe) is let through
// half-open: its success closes the circuit, its failure opens it again.
type breaker struct {
	threshold int // <= 0: disabled
	cooldown  time.Duration

	mu       sync.Mutex
	st       int
	failures int
	until    time.Time
	probing  bool
}

// state is the state at now (open turns half-open once the cooldown is
// over; half-open with its probe in flight reports open).
func (b *breaker) state(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.st == stateOpen && now.Before(b.until):
		return stateOpen
	case b.st == stateOpen, b.st == stateHalfOpen && !b.probing:
		return stateHalfOpen
	case b.st == stateHalfOpen:
		return stateOpen
	}
	return stateClosed
}

// gauge: 0 closed, 1 open, 0.5 half-open.
func (b *breaker) gauge(now time.Time) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.st == stateOpen && now.Before(b.until):
		return 1
	case b.st == stateOpen, b.st == stateHalfOpen:
		return 0.5
	}
	return 0
}

// allow reports whether a request may be sent, claiming the probe when
// half-open.
func (b *breaker) allow(now time.Time) bool {
	if b.threshold <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.st {
	case stateOpen:
		if now.Before(b.until) {
			return false
		}
		b.st, b.probing = stateHalfOpen, true
		return true
	case stateHalfOpen:
		if b.probing {
			return false
		}
		b.probing = true
		return true
	}
	return true
}

func (b *breaker) success() {
	b.mu.Lock()
	b.st, b.failures, b.probing = stateClosed, 0, false
	b.mu.Unlock()
}

// neutral ends a request that says nothing about the server's health
// (caller canceled, 429): a probe is released for the next request.
func (b *breaker) neutral() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// failure records a failed request; it reports whether the circuit opened.
func (b *breaker) failure(now time.Time) bool {
	if b.threshold <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	b.probing = false
	if b.st == stateHalfOpen || b.failures >= b.threshold {
		opened := b.st != stateOpen
		b.st, b.until = stateOpen, now.Add(b.cooldown)
		return opened
	}
	return false
}

// budget is a rolling one-hour token budget.
type budget struct {
	limit int // <= 0: unlimited

	mu      sync.Mutex
	entries []spend
	used    int
}

type spend struct {
	at     time.Time
	tokens int
}

func (b *budget) pruneLocked(now time.Time) {
	cut := now.Add(-time.Hour)
	i := 0
	for i < len(b.entries) && !b.entries[i].at.After(cut) {
		b.used -= b.entries[i].tokens
		i++
	}
	b.entries = b.entries[i:]
}

func (b *budget) spend(now time.Time, tokens int) {
	if b.limit <= 0 || tokens <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(now)
	b.entries = append(b.entries, spend{now, tokens})
	b.used += tokens
}

// spent reports whether the tokens of the last hour reached the limit.
func (b *budget) spent(now time.Time) bool {
	return b.left(now) <= 0
}

// left is the tokens left in the rolling hour (+Inf when unlimited).
func (b *budget) left(now time.Time) float64 {
	if b.limit <= 0 {
		return math.Inf(1)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pruneLocked(now)
	return math.Max(0, float64(b.limit-b.used))
}

// lru is a least-recently-used cache of triages (not synchronised).
type lru struct {
	max   int
	order *list.List
	items map[string]*list.Element
}

type lruEntry struct {
	key string
	val *Triage
}

func newLRU(max int) *lru {
	return &lru{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru) get(key string) *Triage {
	if l == nil {
		return nil
	}
	if e, ok := l.items[key]; ok {
		l.order.MoveToFront(e)
		return e.Value.(*lruEntry).val
	}
	return nil
}

func (l *lru) put(key string, v *Triage) {
	if l == nil {
		return
	}
	if e, ok := l.items[key]; ok {
		e.Value.(*lruEntry).val = v
		l.order.MoveToFront(e)
		return
	}
	l.items[key] = l.order.PushFront(&lruEntry{key, v})
	for l.order.Len() > l.max {
		e := l.order.Back()
		l.order.Remove(e)
		delete(l.items, e.Value.(*lruEntry).key)
	}
}

// metrics are the sift_llm_* metrics.
type metrics struct {
	requests         *prometheus.CounterVec
	promptTokens     prometheus.Counter
	completionTokens prometheus.Counter
	latency          prometheus.Histogram
	cacheHits        prometheus.Counter
	retries          prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, c *Client) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sift_llm_requests_total",
			Help: "LLM calls by operation (triage, draft) and outcome (ok, cached, invalid, error, timeout, rate_limited, budget, breaker_open, canceled).",
		}, []string{"op", "outcome"}),
		promptTokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sift_llm_prompt_tokens_total", Help: "Prompt tokens reported by the LLM server.",
		}),
		completionTokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sift_llm_completion_tokens_total", Help: "Completion tokens reported by the LLM server.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sift_llm_request_duration_seconds",
			Help:    "Duration of LLM HTTP requests.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60},
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sift_llm_cache_hits_total", Help: "Triages answered from the per-signature cache.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sift_llm_retries_total", Help: "Corrective retries after an invalid answer.",
		}),
	}
	for _, op := range []string{"triage", "draft"} {
		for _, o := range []string{OutcomeOK, OutcomeInvalid, OutcomeError, OutcomeTimeout, OutcomeRateLimited, OutcomeBudget, OutcomeBreakerOpen} {
			m.requests.WithLabelValues(op, o)
		}
	}
	m.requests.WithLabelValues("triage", OutcomeCached)
	budgetLeft := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sift_llm_budget_tokens_left",
		Help: "Tokens left in the rolling hour's budget (+Inf when unlimited).",
	}, func() float64 { return c.bud.left(c.now()) })
	breakerState := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sift_llm_breaker_state",
		Help: "LLM circuit breaker: 0 closed, 1 open, 0.5 half-open.",
	}, func() float64 { return c.br.gauge(c.now()) })
	if reg == nil {
		return m, nil
	}
	var err error
	if m.requests, err = registerShared(reg, m.requests); err != nil {
		return nil, err
	}
	for _, p := range []*prometheus.Counter{&m.promptTokens, &m.completionTokens, &m.cacheHits, &m.retries} {
		if *p, err = registerShared(reg, *p); err != nil {
			return nil, err
		}
	}
	if m.latency, err = registerShared(reg, m.latency); err != nil {
		return nil, err
	}
	for _, g := range []prometheus.Collector{budgetLeft, breakerState} {
		if err := registerReplace(reg, g); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// registerShared registers col, or returns the collector already
// registered under its name.
func registerShared[T prometheus.Collector](reg prometheus.Registerer, col T) (T, error) {
	if err := reg.Register(col); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ex, ok := are.ExistingCollector.(T); ok {
				return ex, nil
			}
		}
		return col, err
	}
	return col, nil
}

// registerReplace registers col in place of a collector of the same name
// (gauges computed from a client's state follow the newest client).
func registerReplace(reg prometheus.Registerer, col prometheus.Collector) error {
	err := reg.Register(col)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		reg.Unregister(are.ExistingCollector)
		err = reg.Register(col)
	}
	return err
}
