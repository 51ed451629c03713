// Package memlimit keeps the process's memory close to what it holds.
//
// Go's garbage collector lets the heap grow to twice what was live after
// the last collection (GOGC=100) and returns freed pages to the system
// only slowly. For a small heap that headroom is cheap; for a million
// active alerts it doubles the memory an operator must provision. A
// Controller watches each collection and sets the runtime's soft memory
// limit to the live heap plus a headroom that is a fraction of it (plus a
// fixed base, so that small heaps keep the GOGC pace): as the live heap
// grows, the collector runs relatively more often and the scavenger
// returns pages promptly. The runtime caps the collector's CPU share when
// the limit binds, so a burst slows down rather than thrashes.
//
// An operator's own GOMEMLIMIT wins: the controller then does nothing.
package memlimit

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is what the controller needs.
type Config struct {
	// Headroom is the fraction of the live heap the heap may grow by
	// before the next collection, once that is smaller than what GOGC
	// allows. 0 or less: no controller.
	Headroom float64
	// Base is added to every limit (bytes), so that a small heap is left
	// to GOGC.
	Base int64
}

// Controller sets the soft memory limit after every collection.
type Controller struct {
	cfg     Config
	stopped atomic.Bool
	limit   atomic.Int64
	sets    atomic.Int64
	samples []metrics.Sample
	mu      sync.Mutex
}

var samplesNames = []string{
	"/gc/heap/live:bytes",
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
}

// active is the running controller: the limit is the process's, so there
// is at most one (tests run several servers in one process).
var active atomic.Pointer[Controller]

// Start installs a controller, unless GOMEMLIMIT is set, the headroom
// is not positive or another controller runs (then it returns nil). reg, when not nil, gets the
// gauge sift_memory_limit_bytes.
func Start(cfg Config, reg prometheus.Registerer) *Controller {
	if cfg.Headroom <= 0 || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	c := &Controller{cfg: cfg}
	if !active.CompareAndSwap(nil, c) {
		return nil
	}
	for _, n := range samplesNames {
		c.samples = append(c.samples, metrics.Sample{Name: n})
	}
	if reg != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sift_memory_limit_bytes",
			Help: "The soft memory limit set from the live heap (limits.gc_headroom); 0 when none is set.",
		}, func() float64 { return float64(c.limit.Load()) }))
	}
	c.update()
	c.arm()
	return c
}

// Stop ends the control and lifts the limit.
func (c *Controller) Stop() {
	if c == nil || c.stopped.Swap(true) {
		return
	}
	c.mu.Lock()
	debug.SetMemoryLimit(math.MaxInt64)
	c.limit.Store(0)
	c.mu.Unlock()
	active.CompareAndSwap(c, nil)
}

// Limit reports the limit last set.
func (c *Controller) Limit() int64 { return c.limit.Load() }

// Updates reports how many times the limit was set.
func (c *Controller) Updates() int64 { return c.sets.Load() }

// arm runs update after the next collection: a finalizer on an object
// nothing refers to runs once that object is found unreachable.
func (c *Controller) arm() {
	s := new([16]byte) // not tiny-allocated: its finalizer runs reliably
	runtime.SetFinalizer(s, func(*[16]byte) {
		if c.stopped.Load() {
			return
		}
		c.update()
		c.arm()
	})
}

// update sets the limit from the heap the last collection found live.
func (c *Controller) update() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped.Load() {
		return
	}
	metrics.Read(c.samples)
	v := func(i int) int64 {
		if c.samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(c.samples[i].Value.Uint64())
	}
	live := v(0)
	// What the runtime holds besides the heap (stacks, its own metadata)
	// counts against the limit too.
	other := v(1) - v(2) - v(3) - v(4) - v(5)
	limit := live + int64(float64(live)*c.cfg.Headroom) + c.cfg.Base + max(other, 0)
	debug.SetMemoryLimit(limit)
	c.limit.Store(limit)
	c.sets.Add(1)
}
