package history

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/model"
)

// Recorder is the history output of the pipeline. It turns the engine's
// history events into rows (with the incident's classification as the
// classify stage last decided it), appends them to its spool from its own
// queue, and ships the spool to the store in batches. Nothing it does
// waits for the store: a store that is down or slow only makes the spool
// grow, up to its bound, beyond which new rows are dropped and counted.
type Recorder struct {
	store Store
	sp    *spool
	cfg   Config
	log   *slog.Logger

	in     chan recItem
	wake   chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	closed atomic.Bool

	mu      sync.Mutex
	classes map[string]model.Classification // incident -> latest classification
	forget  []string                        // resolved: forget after their history rows
	shipMu  sync.Mutex

	// AlwaysCheck makes every row be checked against the store (a
	// backfill run again writes nothing twice).
	AlwaysCheck bool
	// IDPrefix is put before incident and problem ids in rows (a backfill
	// keeps its incidents apart from the live ones).
	IDPrefix string

	// OnSpoolFull, if set, is called (at most once a minute, on its own
	// goroutine) while rows are dropped because the spool is full.
	OnSpoolFull func()
	lastFull    time.Time

	m recMetrics
}

// recQueue bounds the batches waiting for the spool (one per journal
// commit, up to a few thousand rows each).
const recQueue = 256

type recItem struct {
	b    *Batch
	done func()
}

type recMetrics struct {
	rows      *prometheus.CounterVec
	errors    prometheus.Counter
	dropped   prometheus.Counter
	backlog   prometheus.GaugeFunc
	spoolSize prometheus.GaugeFunc
	full      prometheus.Gauge
	writeSecs prometheus.Histogram
}

// NewRecorder starts a recorder writing to store through a spool in dir.
func NewRecorder(store Store, dir string, cfg Config, reg prometheus.Registerer, log *slog.Logger) (*Recorder, error) {
	cfg = cfg.WithDefaults()
	sp, err := openSpool(dir, cfg.SpoolMaxBytes)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Recorder{
		store:   store,
		sp:      sp,
		cfg:     cfg,
		log:     log,
		in:      make(chan recItem, recQueue),
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		classes: map[string]model.Classification{},
	}
	r.m = recMetrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sift_history_rows_written_total",
			Help: "History rows written to the store, by table."}, []string{"table"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_history_write_errors_total",
			Help: "Failed writes of history rows to the store (they are retried from the spool)."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_history_dropped_total",
			Help: "History rows dropped because the spool was full."}),
		backlog: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sift_history_backlog",
			Help: "History rows in the spool not yet written to the store."}, func() float64 { _, n := sp.backlog(); return float64(n) }),
		spoolSize: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sift_history_spool_bytes",
			Help: "Bytes in the history spool not yet written to the store."}, func() float64 { n, _ := sp.backlog(); return float64(n) }),
		full: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sift_history_spool_full",
			Help: "1 while the history spool is full and rows are dropped."}),
		writeSecs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sift_history_write_duration_seconds",
			Help: "Time to write one batch of history rows to the store.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{r.m.rows, r.m.errors, r.m.dropped, r.m.backlog, r.m.spoolSize, r.m.full, r.m.writeSecs} {
			if err := reg.Register(c); err != nil {
				sp.close()
				return nil, err
			}
		}
	}
	r.wg.Add(2)
	go r.spoolLoop()
	go r.shipLoop()
	return r, nil
}

// Store returns the store the recorder writes to.
func (r *Recorder) Store() Store { return r.store }

// Export implements pipeline.Exporter: it follows the classification of
// every incident, and records a "classified" event when the automatic
// classification of an incident changes (an agent's is an engine event).
func (r *Recorder) Export(ctx context.Context, evs []model.IncidentEvent) error {
	var rows []IncidentRow
	r.mu.Lock()
	for i := range evs {
		inc := evs[i].Incident
		if inc != nil && evs[i].Type == model.EventResolved {
			r.forget = append(r.forget, inc.ID)
		}
		if inc == nil || inc.Class == nil {
			continue
		}
		c := *inc.Class
		prev, seen := r.classes[inc.ID]
		if seen && prev.Team == c.Team && prev.Category == c.Category && prev.Priority == c.Priority {
			continue
		}
		r.classes[inc.ID] = model.Classification{Team: c.Team, Category: c.Category, Priority: c.Priority}
		if evs[i].Type == model.EventClassified {
			continue // an agent's: the engine records it
		}
		ev := model.LifecycleEvent{At: evs[i].At, Incident: inc.ID, Event: "classified",
			Detail:   "team=" + c.Team + " category=" + c.Category + " priority=" + c.Priority,
			Services: inc.Services, RootCause: inc.RootCause.Service, Signature: inc.Signature, Problem: inc.Problem,
			Title: inc.Title, Severity: inc.Severity, OpenedAt: inc.OpenedAt, AlertCount: inc.AlertCount}
		rows = append(rows, IncidentRowOf(&ev, &c))
	}
	r.mu.Unlock()
	if len(rows) > 0 {
		r.enqueue(&Batch{Incidents: rows, Check: r.AlwaysCheck})
	}
	return nil
}

// ExportHistory implements pipeline.HistoryExporter.
func (r *Recorder) ExportHistory(ctx context.Context, hb *model.HistoryBatch) {
	b := &Batch{Check: hb.Replayed || r.AlwaysCheck}
	b.Alerts = make([]AlertRow, 0, len(hb.Alerts))
	b.Incidents = make([]IncidentRow, 0, len(hb.Lifecycle))
	r.mu.Lock()
	for i := range hb.Alerts {
		ev := &hb.Alerts[i]
		c := r.classes[ev.Incident]
		b.Alerts = append(b.Alerts, AlertRowOf(ev, c.Team, c.Priority))
	}
	for i := range hb.Lifecycle {
		ev := &hb.Lifecycle[i]
		var cp *model.Classification
		if c, ok := r.classes[ev.Incident]; ok {
			cp = &c
		}
		b.Incidents = append(b.Incidents, IncidentRowOf(ev, cp))
	}
	// Incidents that resolved in this commit: their rows are made.
	for _, id := range r.forget {
		delete(r.classes, id)
	}
	r.forget = r.forget[:0]
	r.mu.Unlock()
	r.enqueue(b)
}

// Barrier implements pipeline.Barrierer: done is called once every row
// handed over before is in the spool, synced.
func (r *Recorder) Barrier(done func()) {
	if r.closed.Load() {
		done()
		return
	}
	r.in <- recItem{done: done}
}

func (r *Recorder) enqueue(b *Batch) {
	if b.Len() == 0 || r.closed.Load() {
		return
	}
	if p := r.IDPrefix; p != "" {
		for i := range b.Alerts {
			if b.Alerts[i].Incident != "" {
				b.Alerts[i].Incident = p + b.Alerts[i].Incident
			}
		}
		for i := range b.Incidents {
			x := &b.Incidents[i]
			x.Incident = p + x.Incident
			if x.Problem != "" {
				x.Problem = p + x.Problem
			}
		}
	}
	r.in <- recItem{b: b}
}

// spoolLoop appends what arrives to the spool, syncing at least every
// 200ms and at every barrier.
func (r *Recorder) spoolLoop() {
	defer r.wg.Done()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	dirty := false
	var waiting []func()
	sync := func() {
		if dirty {
			if err := r.sp.sync(); err != nil {
				r.log.Warn("history spool sync failed", "err", err)
			}
			dirty = false
			select {
			case r.wake <- struct{}{}:
			default:
			}
		}
		for _, d := range waiting {
			d()
		}
		waiting = waiting[:0]
	}
	handle := func(it recItem) {
		if it.b != nil {
			r.write(it.b)
			dirty = true
		}
		if it.done != nil {
			waiting = append(waiting, it.done)
		}
	}
	for {
		select {
		case it := <-r.in:
			handle(it)
			// Take what else is queued before syncing.
			for n := 0; n < 256; n++ {
				select {
				case it := <-r.in:
					handle(it)
					continue
				default:
				}
				break
			}
			if len(waiting) > 0 {
				sync()
			}
		case <-t.C:
			sync()
		case <-r.stop:
			for {
				select {
				case it := <-r.in:
					handle(it)
					continue
				default:
				}
				break
			}
			sync()
			return
		}
	}
}

func (r *Recorder) write(b *Batch) {
	err := r.sp.append(b)
	if err == nil {
		r.m.full.Set(0)
		return
	}
	r.m.dropped.Add(float64(b.Len()))
	if errors.Is(err, ErrSpoolFull) {
		r.m.full.Set(1)
		if time.Since(r.lastFull) >= time.Minute {
			r.lastFull = time.Now()
			r.log.Error("history spool full: rows dropped until the store catches up", "max_bytes", r.cfg.SpoolMaxBytes)
			if f := r.OnSpoolFull; f != nil {
				go f()
			}
		}
		return
	}
	r.log.Error("history spool append failed: rows dropped", "rows", b.Len(), "err", err)
}

// shipLoop writes the spool to the store in batches of up to BatchSize
// rows, once FlushInterval passed or a batch is full, retrying with
// back-off while the store fails.
func (r *Recorder) shipLoop() {
	defer r.wg.Done()
	flush := time.Duration(r.cfg.FlushInterval)
	backoff := time.Duration(0)
	for {
		wait := flush
		if backoff > 0 {
			wait = backoff
		}
		if _, rows := r.sp.backlog(); rows >= int64(r.cfg.BatchSize) && backoff == 0 {
			wait = 0
		}
		if wait > 0 {
			select {
			case <-r.stop:
				r.shipOnce(5 * time.Second) // what is there, briefly
				return
			case <-time.After(wait):
			case <-r.wake:
				if _, rows := r.sp.backlog(); rows < int64(r.cfg.BatchSize) {
					select {
					case <-r.stop:
						r.shipOnce(5 * time.Second)
						return
					case <-time.After(wait):
					}
				}
			}
		}
		switch err := r.shipOnce(time.Duration(r.cfg.ClickHouseReadTimeout())); {
		case err == nil:
			backoff = 0
		case errors.Is(err, errNothing):
			backoff = 0
		default:
			r.m.errors.Inc()
			backoff = min(max(2*backoff, time.Second), 30*time.Second)
			r.log.Warn("history write failed; retrying from the spool", "err", err, "retry_in", backoff)
		}
	}
}

var errNothing = errors.New("nothing to ship")

// shipOnce writes one batch from the spool, and, when a full batch more
// is waiting behind it, that one too, concurrently: the next batch is read
// and encoded while the store takes the first (two cores do twice the
// work of one writer waiting on its insert). They are acknowledged in
// order; after a failure both are sent again, with Batch.Check. Batches
// with Check are written one after the other.
func (r *Recorder) shipOnce(timeout time.Duration) error {
	r.shipMu.Lock()
	defer r.shipMu.Unlock()
	b, pos, err := r.sp.next(r.cfg.BatchSize)
	if err != nil {
		return err
	}
	if b == nil {
		return errNothing
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	first := r.shipWrite(ctx, b)
	var b2 *Batch
	var pos2 spoolPos
	var second chan error
	if _, rows := r.sp.backlog(); rows-int64(b.Len()) >= int64(r.cfg.BatchSize) {
		if b2, pos2, err = r.sp.nextFrom(&pos, r.cfg.BatchSize); err == nil && b2 != nil {
			if b.Check || b2.Check {
				// Rows that may be stored already (a retry, a replay) are
				// checked against the store before they are inserted: the
				// same row in both batches must not be checked by both
				// before either is inserted.
				err1 := <-first
				first = make(chan error, 1)
				first <- err1
				if err1 == nil {
					second = r.shipWrite(ctx, b2)
				}
			} else {
				second = r.shipWrite(ctx, b2)
			}
		}
	}
	if err := <-first; err != nil {
		if second != nil {
			<-second
		}
		r.sp.markRetry()
		return err
	}
	if err := r.sp.ack(pos, b.Len()); err != nil {
		if second != nil {
			<-second
		}
		return err
	}
	if second == nil {
		return nil
	}
	if err := <-second; err != nil {
		r.sp.markRetry()
		return err
	}
	return r.sp.ack(pos2, b2.Len())
}

// shipWrite writes b to the store on a goroutine of its own.
func (r *Recorder) shipWrite(ctx context.Context, b *Batch) chan error {
	done := make(chan error, 1)
	go func() {
		start := time.Now()
		if b.Len() > 0 {
			if err := r.store.Write(ctx, b); err != nil {
				done <- err
				return
			}
		}
		r.m.writeSecs.Observe(time.Since(start).Seconds())
		r.m.rows.WithLabelValues("alert_events").Add(float64(len(b.Alerts)))
		r.m.rows.WithLabelValues("incident_events").Add(float64(len(b.Incidents)))
		done <- nil
	}()
	return done
}

// Flush writes everything spooled to the store now (for tests, backfill
// and shutdown); it returns the first error.
func (r *Recorder) Flush(ctx context.Context) error {
	done := make(chan struct{})
	r.Barrier(func() { close(done) })
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		err := r.shipOnce(time.Duration(r.cfg.ClickHouseReadTimeout()))
		if errors.Is(err, errNothing) {
			return nil
		}
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// Close stops the recorder: what is queued goes to the spool (and, briefly,
// to the store); the rest is written after the next start.
func (r *Recorder) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	close(r.stop)
	r.wg.Wait()
	return r.sp.close()
}

// ClickHouseReadTimeout is the time allowed for one write.
func (c Config) ClickHouseReadTimeout() time.Duration {
	if c.ClickHouse != nil && c.ClickHouse.ReadTimeout > 0 {
		return time.Duration(c.ClickHouse.ReadTimeout)
	}
	return 30 * time.Second
}
