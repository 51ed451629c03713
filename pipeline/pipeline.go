// Package pipeline wires Sift's stages together: receivers append batches
// to the journal (durable), each committed record is applied in order to
// the correlation engine, and the incident events it produces go to the
// exporters. It is the one place where the arrows of the pipeline meet.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/journal"
	"github.com/sift-aiops/sift/model"
)

// Exporter receives incident events after the records that caused them
// are durable. Export is called from one goroutine, in order.
type Exporter interface {
	Export(ctx context.Context, events []model.IncidentEvent) error
}

// HistoryExporter is implemented by exporters that record history: after
// Export of a commit's incident events, ExportHistory receives the alert
// state changes and incident lifecycle events of the same records (see
// correlate.Engine.EmitHistory). It is also called while the pipeline
// recovers, with the events of the replayed records (hb.Replayed).
type HistoryExporter interface {
	ExportHistory(ctx context.Context, hb *model.HistoryBatch)
}

// Barrierer is implemented by exporters that keep what they receive
// durably (a spool): done is called once everything handed over before
// the barrier is durable. The pipeline waits for it before a snapshot
// lets the journal forget the records those events came from.
type Barrierer interface {
	Barrier(done func())
}

// ForwardHistory passes hb on to the exporters of xs that record history
// (for a stage that passes events on).
func ForwardHistory(ctx context.Context, xs []Exporter, hb *model.HistoryBatch) {
	for _, x := range xs {
		if h, ok := x.(HistoryExporter); ok {
			h.ExportHistory(ctx, hb)
		}
	}
}

// ForwardBarrier passes a barrier on to the exporters of xs that keep
// events durably; done is called once all of them are done.
func ForwardBarrier(xs []Exporter, done func()) {
	var bs []Barrierer
	for _, x := range xs {
		if b, ok := x.(Barrierer); ok {
			bs = append(bs, b)
		}
	}
	if len(bs) == 0 {
		done()
		return
	}
	var wg sync.WaitGroup
	wg.Add(len(bs))
	for _, b := range bs {
		var once sync.Once
		b.Barrier(func() { once.Do(wg.Done) })
	}
	go func() {
		wg.Wait()
		done()
	}()
}

// exportQueue bounds the commits whose events wait for the exporters. Each
// holds copies of the incidents it changed (up to MaxEventMembers members
// each), so a storm of large incidents makes them big: a short queue
// bounds memory and slows ingest (backpressure) instead.
const exportQueue = 64

// barrierTimeout bounds how long a snapshot waits for the history spool.
const barrierTimeout = 30 * time.Second

// exportItem is what one commit hands to the exporters.
type exportItem struct {
	ev      []model.IncidentEvent
	hist    *model.HistoryBatch
	barrier chan struct{} // closed when the durable exporters have all before it
}

// ExporterFunc adapts a function to Exporter.
type ExporterFunc func(ctx context.Context, events []model.IncidentEvent) error

// Export calls f.
func (f ExporterFunc) Export(ctx context.Context, ev []model.IncidentEvent) error { return f(ctx, ev) }

// Options configure a pipeline.
type Options struct {
	DataDir   string
	Correlate correlate.Config
	Topology  correlate.Topology
	// SnapshotEvery and SnapshotInterval: a snapshot of the engine state is
	// taken after this many alert notifications (at least 10 × the number of
	// alerts held) or this much time, whichever first.
	SnapshotEvery    int
	SnapshotInterval time.Duration
	// Tick is how often the event clock follows the wall clock when no
	// alerts arrive (to expire alerts whose endsAt passed). 0: 1s.
	Tick       time.Duration
	NoSync     bool
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
	// MaxActiveAlerts bounds the active alerts (firing, held by a silence
	// or not): a batch that would make more alerts active is refused with
	// model.ErrTooManyAlerts (0: no bound). The batches admitted but not
	// yet applied count too, so the bound holds under concurrent senders.
	// It also bounds the alerts stored: beyond it the oldest resolved
	// alerts that no open incident holds are forgotten (see
	// correlate.Engine.SetMaxAlerts).
	MaxActiveAlerts int
	// History turns on history events (alert state changes and incident
	// lifecycle) for the exporters that implement HistoryExporter.
	History bool
	// SLA starts incidents' SLA clocks (nil: none).
	SLA correlate.SLAPolicy
}

// Pipeline is a running Sift pipeline.
type Pipeline struct {
	opts      Options
	j         *journal.Journal
	mu        sync.RWMutex
	eng       *correlate.Engine
	exporters []Exporter
	events    chan exportItem
	sinceSnap int
	applied   uint64 // last journal sequence applied to the engine
	lastSnap  time.Time
	snapping  sync.Mutex
	stop      chan struct{}
	wg        sync.WaitGroup
	m         *metrics
	log       *slog.Logger
	ready     bool
	exported  time.Time // what the acknowledging exporters delivered (resync.go)
	// admitMu serialises admit; reserved counts the alerts that batches
	// admitted but not yet applied make active (see admit), resv each such
	// batch's share. A batch's share leaves reserved in the same critical
	// section of p.mu that applies it, so admit never counts it twice.
	admitMu  sync.Mutex
	reserved atomic.Int64
	resvMu   sync.Mutex // guards resv; taken last, alone
	resv     map[*model.Batch]int
}

// Open opens the journal under opts.DataDir, restores the engine from the
// latest snapshot and the records after it, and starts the pipeline.
func Open(opts Options, exporters ...Exporter) (*Pipeline, error) {
	if opts.SnapshotEvery <= 0 {
		opts.SnapshotEvery = 1_000_000
	}
	if opts.SnapshotInterval <= 0 {
		opts.SnapshotInterval = 5 * time.Minute
	}
	if opts.Tick <= 0 {
		opts.Tick = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	p := &Pipeline{
		opts:      opts,
		eng:       newEngine(opts),
		exporters: exporters,
		events:    make(chan exportItem, exportQueue),
		stop:      make(chan struct{}),
		log:       opts.Logger,
		lastSnap:  opts.Now(),
	}
	p.m = newMetrics(opts.Registerer, p)
	j, err := journal.Open(opts.DataDir, journal.Options{NoSync: opts.NoSync, OnCommit: p.applyCommitted, Observe: p.m.observeCommit})
	if err != nil {
		return nil, err
	}
	p.j = j
	if err := p.recover(); err != nil {
		j.Close()
		return nil, err
	}
	if err := p.initExported(); err != nil {
		j.Close()
		return nil, err
	}
	p.eng.EmitEvents(true)
	p.ready = true
	p.wg.Add(2)
	go p.exportLoop()
	go p.tickLoop()
	return p, nil
}

func (p *Pipeline) recover() error {
	start := time.Now()
	state, seq, err := p.j.LoadSnapshot()
	if err != nil {
		return err
	}
	p.applied = seq
	if state != nil {
		if err := p.eng.Restore(state); err != nil {
			return fmt.Errorf("pipeline: restore snapshot at record %d: %w", seq, err)
		}
	}
	n := 0
	// The events of the replayed records go to history again: what a
	// crash kept from the spool is written now (the stores skip what
	// they have).
	p.eng.EmitHistory(p.opts.History)
	err = p.j.Replay(seq, func(r *model.Record) error {
		n++
		p.applied = r.Seq
		if err := p.eng.Apply(r); err != nil {
			// An action refused at replay was refused live too: not fatal.
			p.log.Debug("replayed action refused", "seq", r.Seq, "err", err)
		}
		if p.opts.History {
			if a, l := p.eng.DrainHistory(); len(a) > 0 || len(l) > 0 {
				ForwardHistory(context.Background(), p.exporters, &model.HistoryBatch{Seq: r.Seq, Alerts: a, Lifecycle: l, Replayed: true})
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pipeline: replay journal: %w", err)
	}
	p.sinceSnap = n
	known, firing := p.eng.AlertCount()
	p.log.Info("state recovered", "snapshot_seq", seq, "replayed_records", n, "alerts", known, "firing", firing,
		"incidents", len(p.eng.All()), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// applyCommitted runs on the journal's committer goroutine, in order.
func (p *Pipeline) applyCommitted(recs []*model.Record) {
	start := time.Now()
	p.mu.Lock()
	for _, r := range recs {
		if err := p.eng.Apply(r); err != nil {
			p.log.Warn("action refused", "seq", r.Seq, "err", err)
		}
		p.applied = r.Seq
		if r.Batch != nil {
			p.unreserve(r.Batch) // applied: it is counted as active now
		}
	}
	ev := p.eng.Drain()
	for i := range ev {
		if ev[i].Type == model.EventSLABreached && ev[i].Incident.SLA != nil {
			p.m.slaBreaches.WithLabelValues(ev[i].Detail, ev[i].Incident.SLA.Priority).Inc()
		}
	}
	var hb *model.HistoryBatch
	if p.opts.History {
		if a, l := p.eng.DrainHistory(); len(a) > 0 || len(l) > 0 {
			hb = &model.HistoryBatch{Seq: recs[len(recs)-1].Seq, Alerts: a, Lifecycle: l}
		}
	}
	for _, r := range recs {
		p.sinceSnap++
		if r.Batch != nil {
			p.sinceSnap += len(r.Batch.Alerts)
		}
	}
	var snap *correlate.Captured
	var seq uint64
	// Snapshot (and truncate the journal) after SnapshotEvery notifications,
	// but no more often than every 10 × the state size, so that the cost of
	// snapshots stays a fraction of the cost of ingest however large the
	// state; or after SnapshotInterval. Only the copy of the state is
	// taken here, on the commit path; it is encoded and written by
	// another goroutine (encoding a 20,000-alert state took longer than
	// applying a 1,000-alert batch, and the batch's appender waited).
	due := p.sinceSnap >= max(p.opts.SnapshotEvery, 10*p.eng.Known())
	if due || (p.sinceSnap > 0 && p.opts.Now().Sub(p.lastSnap) >= p.opts.SnapshotInterval) {
		if p.snapping.TryLock() {
			snap = p.eng.Capture()
			seq = recs[len(recs)-1].Seq
			p.sinceSnap = 0
			p.lastSnap = p.opts.Now()
		}
	}
	p.mu.Unlock()
	p.m.correlateSeconds.Observe(time.Since(start).Seconds())
	var barrier chan struct{}
	if snap != nil && p.opts.History {
		barrier = make(chan struct{})
	}
	p.publish(exportItem{ev: ev, hist: hb, barrier: barrier})
	if snap != nil {
		go func() {
			defer p.snapping.Unlock()
			p.waitBarrier(barrier)
			t := time.Now()
			if err := p.saveSnapshot(seq, snap); err != nil {
				p.log.Error("snapshot failed", "err", err)
				return
			}
			p.m.snapshotSeconds.Observe(time.Since(t).Seconds())
		}()
	}
}

// waitBarrier waits until the durable exporters have what came before the
// barrier (nil: nothing to wait for), or barrierTimeout.
func (p *Pipeline) waitBarrier(b chan struct{}) {
	if b == nil {
		return
	}
	select {
	case <-b:
	case <-time.After(barrierTimeout):
		p.log.Warn("history spool did not confirm its events before a snapshot; a crash now may lose some history", "waited", barrierTimeout)
	case <-p.stop:
	}
}

// saveSnapshot encodes a captured state and writes it as the snapshot
// covering the records up to seq.
func (p *Pipeline) saveSnapshot(seq uint64, c *correlate.Captured) error {
	return p.j.SaveSnapshotTo(seq, c.EncodeTo)
}

func (p *Pipeline) publish(it exportItem) {
	if len(p.exporters) == 0 || len(it.ev) == 0 && it.hist.Empty() && it.barrier == nil {
		if it.barrier != nil {
			close(it.barrier)
		}
		return
	}
	select {
	case p.events <- it:
	case <-p.stop:
	}
}

func (p *Pipeline) exportLoop() {
	defer p.wg.Done()
	for {
		select {
		case it := <-p.events:
			ctx := context.Background()
			if len(it.ev) > 0 {
				for _, x := range p.exporters {
					if err := x.Export(ctx, it.ev); err != nil {
						p.log.Warn("export failed", "err", err)
					}
				}
			}
			if !it.hist.Empty() {
				ForwardHistory(ctx, p.exporters, it.hist)
			}
			if it.barrier != nil {
				b := it.barrier
				ForwardBarrier(p.exporters, func() { close(b) })
			}
		case <-p.stop:
			return
		}
	}
}

func (p *Pipeline) tickLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.opts.Tick)
	defer t.Stop()
	var lastWarn time.Time
	for {
		select {
		case <-t.C:
			p.noteExported()
			// The clock moves through the journal (an empty batch), so that
			// a replay sees it between the same batches as the live engine
			// did; only when it changes something.
			now := p.opts.Now()
			p.mu.RLock()
			due := p.eng.Due(now)
			p.mu.RUnlock()
			// A journal that refuses appends heals on the next one: a
			// tick gives it one even when no alert arrives.
			if due || p.j.Err() != nil {
				if err := p.j.Append(context.Background(), &model.Record{Batch: &model.Batch{At: now}}); err != nil {
					// Once a minute while the journal refuses appends.
					if time.Since(lastWarn) >= time.Minute {
						lastWarn = time.Now()
						p.log.Error("the journal refuses appends; alerts are answered 503 until it heals", "err", err)
					}
				} else if !lastWarn.IsZero() {
					lastWarn = time.Time{}
					p.log.Info("the journal accepts appends again")
				}
			}
		case <-p.stop:
			return
		}
	}
}

// Append implements model.Sink: it returns once b is durable and applied.
func (p *Pipeline) Append(ctx context.Context, b model.Batch) error {
	n, err := p.admit(&b)
	if err != nil {
		return err
	}
	if n > 0 {
		// Applied (applyCommitted released it already) or refused by
		// the journal: either way no longer in flight.
		defer p.unreserve(&b)
	}
	start := time.Now()
	err = p.j.Append(ctx, &model.Record{Batch: &b})
	if err == nil {
		p.m.appendSeconds.Observe(time.Since(start).Seconds())
	}
	return err
}

// admit refuses a batch that would take the active alerts (firing, held
// by a silence or not) beyond MaxActiveAlerts, counting those that the
// batches admitted before it and not yet applied make active. It returns
// how many alerts of b it reserved (release them once b is applied or
// refused). A refusal happens at ingest, before the journal: it never
// changes the engine's state, so a replay needs no knowledge of it.
//
// An alert counts when b fires it and it is not firing now (a new alert,
// or one that fires again); a notification of an alert that is firing
// already, or a resolution, costs nothing. The count is exact but for an
// alert that resolves and fires again while its batch is in flight.
func (p *Pipeline) admit(b *model.Batch) (int, error) {
	max := p.opts.MaxActiveAlerts
	if max <= 0 {
		return 0, nil
	}
	// The fingerprints of what the batch fires, outside the locks.
	fps := make([]model.Fingerprint, 0, len(b.Alerts))
	for i := range b.Alerts {
		// Resolved by the time the batch is applied (b.At, or the
		// engine's clock if later): so at b.At, or not firing anyway.
		if a := &b.Alerts[i]; !a.ResolvedAt(b.At) {
			fps = append(fps, a.Fingerprint())
		}
	}
	p.admitMu.Lock()
	defer p.admitMu.Unlock()
	p.mu.RLock()
	defer p.mu.RUnlock()
	active := p.eng.Active()
	added := 0
	for _, fp := range fps {
		if !p.eng.Firing(fp) {
			added++
		}
	}
	reserved := int(p.reserved.Load())
	if added > 0 && active+reserved+added > max {
		p.m.refusedFull.Add(float64(added))
		return 0, fmt.Errorf("%w: %d active, %d in flight, %d new in this batch, at most %d", model.ErrTooManyAlerts, active, reserved, added, max)
	}
	if added > 0 {
		p.reserved.Add(int64(added))
		p.resvMu.Lock()
		if p.resv == nil {
			p.resv = map[*model.Batch]int{}
		}
		p.resv[b] = added
		p.resvMu.Unlock()
	}
	return added, nil
}

// unreserve takes b's share out of the alerts in flight, once (see admit).
func (p *Pipeline) unreserve(b *model.Batch) {
	p.resvMu.Lock()
	n, ok := p.resv[b]
	delete(p.resv, b)
	p.resvMu.Unlock()
	if ok {
		p.reserved.Add(-int64(n))
	}
}

// Act journals an agent action and returns the incident after it.
func (p *Pipeline) Act(ctx context.Context, a model.Action) (*model.Incident, error) {
	if a.At.IsZero() {
		a.At = p.opts.Now()
	}
	p.mu.RLock()
	err := p.eng.CheckAction(&a)
	p.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	if err := p.j.Append(ctx, &model.Record{Action: &a}); err != nil {
		return nil, err
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.eng.Incident(a.Incident), nil
}

// View runs fn with read access to the engine. fn must not keep references.
func (p *Pipeline) View(fn func(e *correlate.Engine)) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	fn(p.eng)
}

// Alerts returns the firing alerts (for GET /api/v2/alerts).
func (p *Pipeline) Alerts() []model.AlertState {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.eng.Alerts()
}

// FiringFingerprints returns the fingerprints of the firing alerts, sorted
// (for GET /api/v2/alerts, which fetches their states page by page with
// AlertStates).
func (p *Pipeline) FiringFingerprints() []model.Fingerprint {
	p.mu.RLock()
	fps := p.eng.FiringFingerprints()
	p.mu.RUnlock()
	slices.Sort(fps)
	return fps
}

// AlertStates appends to dst the states of the alerts of fps that are
// still firing, in the order of fps (a page of Alerts).
func (p *Pipeline) AlertStates(dst []model.AlertState, fps []model.Fingerprint) []model.AlertState {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.eng.AlertStates(dst, fps)
}

// Cursor implements model.CursorStore.
func (p *Pipeline) Cursor(key string) (int64, bool) { return p.j.Cursor(key) }

// Ready reports whether recovery finished.
func (p *Pipeline) Ready() bool { return p != nil && p.ready }

// Health reports why the pipeline cannot accept alerts now (the journal
// refuses appends until it heals), or nil.
func (p *Pipeline) Health() error {
	if p == nil || p.j == nil {
		return nil
	}
	return p.j.Err()
}

// Snapshot forces a snapshot now (used on clean shutdown).
func (p *Pipeline) Snapshot() error {
	p.snapping.Lock()
	defer p.snapping.Unlock()
	p.mu.Lock()
	snap := p.eng.Capture()
	seq := p.applied
	p.sinceSnap = 0
	p.lastSnap = p.opts.Now()
	var barrier chan struct{}
	if p.opts.History {
		barrier = make(chan struct{})
	}
	p.mu.Unlock()
	if barrier != nil {
		p.publish(exportItem{barrier: barrier})
		p.waitBarrier(barrier)
	}
	return p.saveSnapshot(seq, snap)
}

// Close stops the pipeline: pending appends are committed, a final
// snapshot is written, and the journal is closed.
func (p *Pipeline) Close() error {
	err := p.Snapshot()
	close(p.stop)
	p.wg.Wait()
	if cerr := p.j.Close(); err == nil {
		err = cerr
	}
	return err
}

// Silences returns the silences held (see correlate.Engine.Silences).
func (p *Pipeline) Silences() []model.Silence {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.eng.Silences()
}

// Silence returns the silence with id, or nil.
func (p *Pipeline) Silence(id string) *model.Silence {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.eng.Silence(id)
}

// Changes returns the changes recorded (see correlate.Engine.Changes).
func (p *Pipeline) Changes(service string, since time.Time, limit int) []model.Change {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.eng.Changes(service, since, limit)
}

func newEngine(opts Options) *correlate.Engine {
	e := correlate.New(opts.Correlate, opts.Topology)
	e.SetSLA(opts.SLA)
	e.SetMaxAlerts(opts.MaxActiveAlerts)
	return e
}
