// Command soak runs a real `sift serve` under mixed load for a duration
// (issue #15) and checks that nothing acknowledged is lost and that memory
// does not creep:
//
//	go build -o bin/sift ./cmd/sift
//	go run ./benchmarks/soak -duration 30m -out /tmp/sift-soak.ndjson
//
// The load, all at once:
//   - ingest: a pool of -pool alert identities that fire (refreshed every
//     -refresh), resolve and fire again as new episodes, plus a churn of
//     -new-rate brand-new distinct alerts per second that fire for 1-10
//     minutes and resolve for good, plus every -storm-every a storm of
//     -storm-size new alerts sharing alertname and service. Every identity
//     carries a unique label soak_id; each is sent by one worker only, one
//     request at a time, so the order of its notifications is known;
//   - queries: incidents list, incident detail (paged), GET /api/v2/alerts,
//     GET /api/v1/analytics/volume;
//   - agent actions through the API: ack, assign, note, resolve;
//   - restarts every -restart-every, alternately SIGTERM and kill -9, from
//     the same data directory.
//
// Every -sample (10 s) one NDJSON line goes to -out: the RSS of sift
// (VmRSS), go_goroutines from /metrics, p50/p99 latency per request kind
// over the interval, requests and errors per kind, alerts acknowledged.
//
// At the end it stops the load and checks every identity that got a 2xx:
// it must be listed by the API (firing in GET /api/v2/alerts, or as a
// member of an incident, paged through every incident's detail), in the
// state and episode (startsAt) of its last acknowledged notification (an
// identity whose later notification got no answer, e.g. at a kill -9, may
// be in either state). It checks once on the running process and once more
// after a final kill -9 and restart. It then compares the median RSS of the
// last window with that of the first window after -warmup and flags a leak
// when the growth, less what the newly held alerts explain at -per-held
// bytes each, exceeds -leak-pct of the first. Exit 1 on a lost or stale
// alert, a leak or a crash.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sift-aiops/sift/benchmarks/internal/loadgen"
	"github.com/sift-aiops/sift/benchmarks/internal/machine"
	"github.com/sift-aiops/sift/benchmarks/internal/siftproc"
)

type options struct {
	sift         string
	duration     time.Duration
	warmup       time.Duration
	window       time.Duration
	sample       time.Duration
	workers      int
	pool         int
	newRate      float64
	refresh      time.Duration
	stormEvery   time.Duration
	stormSize    int
	restartEvery time.Duration
	leakPct      float64
	perHeld      int64
	out          string
	keep         bool
	seed         uint64
}

func main() {
	var o options
	flag.StringVar(&o.sift, "sift", "bin/sift", "the sift binary (go build -o bin/sift ./cmd/sift)")
	flag.DurationVar(&o.duration, "duration", 30*time.Minute, "how long the load runs")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Minute, "RSS growth: the first window starts after this")
	flag.DurationVar(&o.window, "window", 5*time.Minute, "RSS growth: the length of the first and last windows")
	flag.DurationVar(&o.sample, "sample", 10*time.Second, "how often a line goes to -out")
	flag.IntVar(&o.workers, "workers", 2, "ingest workers (each owns a share of the identities)")
	flag.IntVar(&o.pool, "pool", 20000, "alert identities that fire, resolve and fire again")
	flag.Float64Var(&o.newRate, "new-rate", 20, "brand-new distinct alerts per second (each fires 1-10 min, then resolves)")
	flag.DurationVar(&o.refresh, "refresh", time.Minute, "firing alerts are sent again this often (as Prometheus does)")
	flag.DurationVar(&o.stormEvery, "storm-every", 5*time.Minute, "a storm of -storm-size new alerts of one alertname and service this often")
	flag.IntVar(&o.stormSize, "storm-size", 2000, "alerts per storm")
	flag.DurationVar(&o.restartEvery, "restart-every", 4*time.Minute, "restart sift this often, alternately SIGTERM and kill -9 (0: never)")
	flag.Float64Var(&o.leakPct, "leak-pct", 25, "leak: RSS growth beyond what held alerts explain, in % of the first window")
	flag.Int64Var(&o.perHeld, "per-held", 4096, "RSS growth each newly held alert explains (bytes)")
	flag.StringVar(&o.out, "out", "/tmp/sift-soak.ndjson", "NDJSON samples (one line every -sample, plus restarts and the summary)")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory and log")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed")
	flag.Parse()
	if o.duration <= 0 || o.workers < 1 || o.pool < 0 || o.newRate < 0 || o.sample <= 0 {
		fmt.Fprintln(os.Stderr, "soak: bad flags")
		os.Exit(2)
	}
	if o.warmup+2*o.window > o.duration {
		// A short run: scale the windows to it.
		o.warmup, o.window = o.duration/6, o.duration/3
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "soak %s: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
}

// ---- identities and what was acknowledged ----------------------------------

const (
	stNone = iota
	stFiring
	stResolved
)

type ident struct {
	id     string // the soak_id label
	keys   []string
	labels map[string]string
	sum    string
	pool   bool // fires again after resolving
	// The lifecycle (worker-owned).
	state   int       // what Sift was last told, acknowledged
	episode time.Time // startsAt of the current (or last) episode
	next    time.Time // when the next notification is due
	until   time.Time // firing: when to resolve
	done    bool      // distinct: resolved for good
	// What Sift must show: the last acknowledged notification and, when a
	// later one got no answer, that one too.
	ackState   int
	ackEpisode time.Time
	ackEnds    time.Time
	unsure     bool
	unsState   int
	unsEpisode time.Time
	unsEnds    time.Time
}

type sendItem struct {
	id      *ident
	state   int
	episode time.Time
	ends    time.Time
}

// kinds of requests measured.
var kinds = []string{"ingest", "list", "detail", "alerts", "volume", "action"}

type stats struct {
	lat         map[string]*siftproc.Latencies
	reqs, errs  map[string]*atomic.Int64
	terrs       map[string]*atomic.Int64
	acked       atomic.Int64 // alert notifications acknowledged
	refused     atomic.Int64 // alert notifications answered non-2xx
	unsure      atomic.Int64 // alert notifications without an answer
	held        atomic.Int64 // identities acknowledged at least once
	actionsOK   atomic.Int64
	actions409  atomic.Int64
	restarts    atomic.Int64
	down        atomic.Bool
	firstErr    sync.Map // kind → first error text
	lastRestart atomic.Int64
	incidentIDs atomic.Pointer[[]incRef]
	crashes     atomic.Int64
}

type incRef struct {
	ID     string
	Status string
}

func newStats() *stats {
	s := &stats{lat: map[string]*siftproc.Latencies{}, reqs: map[string]*atomic.Int64{}, errs: map[string]*atomic.Int64{}, terrs: map[string]*atomic.Int64{}}
	for _, k := range kinds {
		s.lat[k], s.reqs[k], s.errs[k], s.terrs[k] = &siftproc.Latencies{}, &atomic.Int64{}, &atomic.Int64{}, &atomic.Int64{}
	}
	return s
}

func (s *stats) note(kind string, err string) {
	s.firstErr.LoadOrStore(kind, err)
}

// ---- the run ---------------------------------------------------------------

func run(ctx context.Context, o options) (bool, error) {
	bin, work, cleanup, err := siftproc.Workdir(o.sift, "sift-soak-", o.keep)
	if err != nil {
		return false, err
	}
	defer cleanup()
	if o.keep {
		logf("keeping %s", work)
	}
	out, err := os.Create(o.out)
	if err != nil {
		return false, err
	}
	defer out.Close()
	var outMu sync.Mutex
	emit := func(v any) {
		b, _ := json.Marshal(v)
		outMu.Lock()
		out.Write(append(b, '\n'))
		outMu.Unlock()
	}

	p, err := siftproc.New(bin, filepath.Join(work, "data"), "", filepath.Join(work, "sift.log"))
	if err != nil {
		return false, err
	}
	if _, err := p.Start(60 * time.Second); err != nil {
		return false, err
	}
	defer p.Stop(syscall.SIGTERM, 60*time.Second)
	base := p.URL()
	started := time.Now()
	loadStart := machine.LoadAvgOr("n/a")
	logf("sift pid %d on %s, data %s; %s of load: pool %d, %.0f new alerts/s, storm of %d every %s, restart every %s; samples to %s",
		p.PID(), base, p.DataDir, o.duration, o.pool, o.newRate, o.stormSize, o.stormEvery, o.restartEvery, o.out)
	emit(map[string]any{"event": "start", "at": started.UTC(), "options": fmt.Sprintf("%+v", o), "loadavg": loadStart, "sift": bin})

	st := newStats()
	rng := rand.New(rand.NewPCG(o.seed, 7))
	// The identities, by worker.
	owned := make([][]*ident, o.workers)
	var all []*ident
	var allMu sync.Mutex
	mk := func(k int, id string, pool bool, alertname, service string) *ident {
		ls := loadgen.LabelSet(k)
		if alertname != "" {
			ls["alertname"], ls["service"] = alertname, service
		}
		ls["soak_id"] = id
		return &ident{id: id, keys: siftproc.SortedKeys(ls), labels: ls, pool: pool,
			sum: ls["alertname"] + " on " + ls["instance"] + " (" + ls["service"] + ")"}
	}
	now := time.Now()
	for k := 0; k < o.pool; k++ {
		id := mk(k, "p"+strconv.Itoa(k), true, "", "")
		// Spread the first firings over the first two minutes; a third
		// start firing at once.
		id.next = now.Add(time.Duration(rng.Int64N(int64(2 * time.Minute))))
		if k%3 == 0 {
			id.next = now
		}
		owned[k%o.workers] = append(owned[k%o.workers], id)
		all = append(all, id)
	}
	var seq atomic.Int64 // distinct identities
	// newIdents hands new distinct identities to the workers.
	newIdents := make([]chan *ident, o.workers)
	for w := range newIdents {
		newIdents[w] = make(chan *ident, 1<<16)
	}

	loadCtx, stopLoad := context.WithTimeout(ctx, o.duration)
	defer stopLoad()
	ingestClient := siftproc.HTTPClient(o.workers*2, 120*time.Second)
	queryClient := siftproc.HTTPClient(4, 120*time.Second)
	var wg sync.WaitGroup

	// Distinct churn and storms.
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		lastStorm := time.Now()
		storms := 0
		carry := 0.0
		for {
			select {
			case <-loadCtx.Done():
				return
			case now := <-tick.C:
				carry += o.newRate / 10
				var batch []*ident
				for ; carry >= 1; carry-- {
					n := int(seq.Add(1))
					batch = append(batch, mk(o.pool+n, "d"+strconv.Itoa(n), false, "", ""))
				}
				if o.stormEvery > 0 && o.stormSize > 0 && now.Sub(lastStorm) >= o.stormEvery {
					lastStorm = now
					storms++
					for range o.stormSize {
						n := int(seq.Add(1))
						batch = append(batch, mk(o.pool+n, "d"+strconv.Itoa(n), false, "SoakStorm", fmt.Sprintf("storm-%d", storms)))
					}
					logf("storm %d: %d new alerts", storms, o.stormSize)
				}
				for i, id := range batch {
					id.next = now
					allMu.Lock()
					all = append(all, id)
					allMu.Unlock()
					newIdents[i%o.workers] <- id
				}
			}
		}
	}()

	// Ingest workers.
	for w := 0; w < o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ingestWorker(loadCtx, o, st, ingestClient, base, owned[w], newIdents[w], rand.New(rand.NewPCG(o.seed, uint64(100+w))))
		}()
	}
	// Queries and actions.
	wg.Add(2)
	go func() {
		defer wg.Done()
		queryWorker(loadCtx, st, queryClient, base, rand.New(rand.NewPCG(o.seed, 200)))
	}()
	go func() {
		defer wg.Done()
		actionWorker(loadCtx, st, queryClient, base, rand.New(rand.NewPCG(o.seed, 300)))
	}()

	// Restarts.
	var restartLog []map[string]any
	var restartMu sync.Mutex
	if o.restartEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(o.restartEvery)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-loadCtx.Done():
					return
				case <-t.C:
				}
				sig := syscall.SIGTERM
				if i%2 == 1 {
					sig = syscall.SIGKILL
				}
				rssBefore, _ := siftproc.RSS(p.PID())
				st.down.Store(true)
				stopTook, stopErr := p.Stop(sig, 60*time.Second)
				ready, startErr := p.Start(120 * time.Second)
				st.down.Store(false)
				st.restarts.Add(1)
				st.lastRestart.Store(time.Now().UnixNano())
				ev := map[string]any{"event": "restart", "at": time.Now().UTC(), "signal": sig.String(), "stop_s": stopTook.Seconds(),
					"ready_s": ready.Seconds(), "rss_before": rssBefore, "pid": p.PID()}
				if stopErr != nil {
					ev["stop_error"] = stopErr.Error()
				}
				if startErr != nil {
					ev["start_error"] = startErr.Error()
					st.crashes.Add(1)
				}
				emit(ev)
				restartMu.Lock()
				restartLog = append(restartLog, ev)
				restartMu.Unlock()
				logf("restart %d (%v): stopped in %.1fs, ready again in %.1fs (pid %d); stop error %v, start error %v",
					i+1, sig, stopTook.Seconds(), ready.Seconds(), p.PID(), stopErr, startErr)
				if startErr != nil {
					return
				}
			}
		}()
	}

	// Samples.
	type sampleRow struct {
		At         time.Time                     `json:"at"`
		T          float64                       `json:"t_s"`
		RSS        int64                         `json:"rss_bytes"`
		Goroutines float64                       `json:"goroutines"`
		Uptime     float64                       `json:"uptime_s"`
		Held       int64                         `json:"held_identities"`
		Acked      int64                         `json:"alerts_acked"`
		AckedRate  float64                       `json:"alerts_acked_per_s"`
		Refused    int64                         `json:"alerts_refused"`
		Unsure     int64                         `json:"alerts_unanswered"`
		Restarts   int64                         `json:"restarts"`
		Kinds      map[string]map[string]float64 `json:"kinds"`
		LoadAvg    string                        `json:"loadavg"`
	}
	var samples []sampleRow
	sampleDone := make(chan struct{})
	go func() {
		defer close(sampleDone)
		t := time.NewTicker(o.sample)
		defer t.Stop()
		var lastAcked int64
		lastAt := time.Now()
		for {
			select {
			case <-loadCtx.Done():
				return
			case now := <-t.C:
				row := sampleRow{At: now.UTC(), T: now.Sub(started).Seconds(), Held: st.held.Load(), Acked: st.acked.Load(),
					Refused: st.refused.Load(), Unsure: st.unsure.Load(), Restarts: st.restarts.Load(),
					Kinds: map[string]map[string]float64{}, LoadAvg: machine.LoadAvgOr("")}
				row.AckedRate = float64(row.Acked-lastAcked) / now.Sub(lastAt).Seconds()
				lastAcked, lastAt = row.Acked, now
				if pid := p.PID(); pid > 0 && !st.down.Load() {
					row.RSS, _ = siftproc.RSS(pid)
					mctx, cancel := context.WithTimeout(loadCtx, 5*time.Second)
					if m, err := siftproc.Metrics(mctx, queryClient, base, "go_goroutines"); err == nil {
						row.Goroutines = m["go_goroutines"]
					}
					cancel()
				}
				since := started
				if lr := st.lastRestart.Load(); lr > 0 {
					since = time.Unix(0, lr)
				}
				row.Uptime = now.Sub(since).Seconds()
				for _, k := range kinds {
					d := st.lat[k].Take()
					row.Kinds[k] = map[string]float64{"n": float64(len(d)), "p50_ms": siftproc.Quantile(d, .5), "p99_ms": siftproc.Quantile(d, .99),
						"errors": float64(st.errs[k].Load()), "transport_errors": float64(st.terrs[k].Load())}
				}
				samples = append(samples, row)
				emit(row)
				logf("t=%4.0fs RSS %s goroutines %.0f held %d acked %d (%.0f/s) ingest p99 %.0f ms, list p99 %.0f ms, alerts p99 %.0f ms, restarts %d",
					row.T, siftproc.MiB(row.RSS), row.Goroutines, row.Held, row.Acked, row.AckedRate,
					row.Kinds["ingest"]["p99_ms"], row.Kinds["list"]["p99_ms"], row.Kinds["alerts"]["p99_ms"], row.Restarts)
			}
		}
	}()

	// Watch for a crash (sift exiting on its own).
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for loadCtx.Err() == nil {
			<-t.C
			if !st.down.Load() && p.Exited() {
				logf("sift exited on its own: restarting")
				st.crashes.Add(1)
				st.down.Store(true)
				p.Stop(syscall.SIGKILL, time.Second)
				p.Start(120 * time.Second)
				st.down.Store(false)
			}
		}
	}()

	<-loadCtx.Done()
	wg.Wait()
	<-sampleDone
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	loadEnd := machine.LoadAvgOr("n/a")
	logf("load done: %d alert notifications acknowledged, %d refused, %d unanswered; %d identities held; %d restarts",
		st.acked.Load(), st.refused.Load(), st.unsure.Load(), st.held.Load(), st.restarts.Load())

	// Account for every acknowledged alert: on the running process, then
	// after a kill -9 and a restart.
	allMu.Lock()
	idents := slices.Clone(all)
	allMu.Unlock()
	time.Sleep(2 * time.Second)
	chk1, err := check(ctx, queryClient, base, idents)
	if err != nil {
		return false, fmt.Errorf("check: %w", err)
	}
	logf("check on the running process: %s", chk1)
	p.Stop(syscall.SIGKILL, 10*time.Second)
	ready, err := p.Start(180 * time.Second)
	if err != nil {
		return false, fmt.Errorf("restart for the final check: %w", err)
	}
	chk2, err := check(ctx, queryClient, base, idents)
	if err != nil {
		return false, fmt.Errorf("check after kill -9: %w", err)
	}
	logf("check after a final kill -9 (ready again in %.1fs): %s", ready.Seconds(), chk2)

	// Memory growth.
	first, last := o.warmup, o.duration-o.window
	med := func(from, to time.Duration, f func(sampleRow) float64) (float64, float64, int) {
		var v, h []float64
		pick := func(needUptime bool) {
			v, h = v[:0], h[:0]
			for _, s := range samples {
				t := time.Duration(s.T * float64(time.Second))
				if t < from || t >= to || s.RSS == 0 || needUptime && s.Uptime < 60 {
					continue
				}
				v = append(v, f(s))
				h = append(h, float64(s.Held))
			}
		}
		pick(true)
		if len(v) == 0 {
			pick(false)
		}
		if len(v) == 0 {
			return 0, 0, 0
		}
		sort.Float64s(v)
		sort.Float64s(h)
		return v[len(v)/2], h[len(h)/2], len(v)
	}
	rss := func(s sampleRow) float64 { return float64(s.RSS) }
	gor := func(s sampleRow) float64 { return s.Goroutines }
	rss1, held1, n1 := med(first, first+o.window, rss)
	rss2, held2, n2 := med(last, o.duration+o.sample, rss)
	gor1, _, _ := med(first, first+o.window, gor)
	gor2, _, _ := med(last, o.duration+o.sample, gor)
	growth := rss2 - rss1
	explained := (held2 - held1) * float64(o.perHeld)
	excess := growth - explained
	leak := n1 > 0 && n2 > 0 && excess > rss1*o.leakPct/100 && excess > 32<<20
	goroutineLeak := gor1 > 0 && gor2 > 2*gor1+20

	// Latency over the whole run, per kind: from the samples' p99 (max and
	// median of the intervals).
	summary := map[string]any{"event": "summary", "at": time.Now().UTC(), "duration_s": o.duration.Seconds(),
		"loadavg_start": loadStart, "loadavg_end": loadEnd,
		"alerts_acked": st.acked.Load(), "alerts_refused": st.refused.Load(), "alerts_unanswered": st.unsure.Load(),
		"identities_held": st.held.Load(), "identities_created": len(idents), "restarts": st.restarts.Load(), "crashes": st.crashes.Load(),
		"actions_ok": st.actionsOK.Load(), "actions_409": st.actions409.Load(),
		"check_running": chk1, "check_after_kill": chk2,
		"rss_first_window": rss1, "rss_last_window": rss2, "held_first_window": held1, "held_last_window": held2,
		"rss_growth": growth, "rss_growth_explained": explained, "rss_growth_excess": excess, "leak": leak,
		"goroutines_first_window": gor1, "goroutines_last_window": gor2, "goroutine_leak": goroutineLeak,
		"windows": fmt.Sprintf("first [%s, %s), last [%s, %s]", first, first+o.window, last, o.duration)}
	kindSum := map[string]map[string]float64{}
	for _, k := range kinds {
		var p50s, p99s []float64
		var n, maxP99 float64
		for _, s := range samples {
			ks := s.Kinds[k]
			if ks["n"] == 0 {
				continue
			}
			n += ks["n"]
			p50s = append(p50s, ks["p50_ms"])
			p99s = append(p99s, ks["p99_ms"])
			maxP99 = max(maxP99, ks["p99_ms"])
		}
		sort.Float64s(p50s)
		sort.Float64s(p99s)
		m := map[string]float64{"requests": float64(st.reqs[k].Load()), "sampled": n, "errors": float64(st.errs[k].Load()), "transport_errors": float64(st.terrs[k].Load()), "max_interval_p99_ms": maxP99}
		if len(p50s) > 0 {
			m["median_interval_p50_ms"] = p50s[len(p50s)/2]
			m["median_interval_p99_ms"] = p99s[len(p99s)/2]
		}
		kindSum[k] = m
	}
	summary["kinds"] = kindSum
	emit(summary)

	// Report.
	w := os.Stdout
	fmt.Fprintf(w, "soak: %s of mixed load on %s, started %s; load average %s → %s\n", o.duration, bin, started.UTC().Format(time.RFC3339), loadStart, loadEnd)
	fmt.Fprintf(w, "load              pool %d identities, %.0f new distinct alerts/s, storms of %d every %s, refresh %s, restarts every %s (SIGTERM and kill -9 alternately)\n",
		o.pool, o.newRate, o.stormSize, o.stormEvery, o.refresh, o.restartEvery)
	fmt.Fprintf(w, "ingest            %d notifications acknowledged (%.0f/s), %d refused, %d unanswered; %d identities acknowledged of %d created\n",
		st.acked.Load(), float64(st.acked.Load())/o.duration.Seconds(), st.refused.Load(), st.unsure.Load(), st.held.Load(), len(idents))
	fmt.Fprintf(w, "actions           %d ok, %d conflict (409)\n", st.actionsOK.Load(), st.actions409.Load())
	fmt.Fprintf(w, "restarts          %d (crashes: %d)\n", st.restarts.Load(), st.crashes.Load())
	restartMu.Lock()
	for _, r := range restartLog {
		fmt.Fprintf(w, "  %v %-8v stop %.1fs, ready %.1fs after start\n", r["at"].(time.Time).Format("15:04:05"), r["signal"], r["stop_s"], r["ready_s"])
	}
	restartMu.Unlock()
	fmt.Fprintf(w, "%-8s %9s %7s %7s %14s %14s %14s\n", "kind", "requests", "errors", "t.errs", "median p50 ms", "median p99 ms", "max p99 ms")
	for _, k := range kinds {
		m := kindSum[k]
		fmt.Fprintf(w, "%-8s %9.0f %7.0f %7.0f %14.1f %14.1f %14.1f\n", k, m["requests"], m["errors"], m["transport_errors"], m["median_interval_p50_ms"], m["median_interval_p99_ms"], m["max_interval_p99_ms"])
	}
	for k, v := range func() map[string]string {
		m := map[string]string{}
		st.firstErr.Range(func(k, v any) bool { m[k.(string)] = v.(string); return true })
		return m
	}() {
		fmt.Fprintf(w, "first error %-6s %.300s\n", k, v)
	}
	fmt.Fprintf(w, "accounting        running: %s\n", chk1)
	fmt.Fprintf(w, "                  after kill -9 and restart (ready in %.1fs): %s\n", ready.Seconds(), chk2)
	fmt.Fprintf(w, "RSS               first window %s (median of %d samples, %0.f held), last window %s (%d samples, %.0f held)\n",
		siftproc.MiB(int64(rss1)), n1, held1, siftproc.MiB(int64(rss2)), n2, held2)
	fmt.Fprintf(w, "                  growth %+.0f MiB, explained by held alerts %.0f MiB (× %d B), excess %+.0f MiB; threshold %.0f%% of the first window: %s\n",
		growth/(1<<20), explained/(1<<20), o.perHeld, excess/(1<<20), o.leakPct, map[bool]string{true: "LEAK", false: "no leak"}[leak])
	fmt.Fprintf(w, "goroutines        first window %.0f, last window %.0f: %s\n", gor1, gor2, map[bool]string{true: "GROWING", false: "steady"}[goroutineLeak])
	okAll := chk1.Lost == 0 && chk1.Stale == 0 && chk2.Lost == 0 && chk2.Stale == 0 && !leak && st.crashes.Load() == 0
	if okAll {
		fmt.Fprintln(w, "result            PASS: every acknowledged alert accounted for, no leak")
	} else {
		fmt.Fprintln(w, "result            FAIL")
	}
	return okAll, nil
}

// ---- ingest ----------------------------------------------------------------

func ingestWorker(ctx context.Context, o options, st *stats, client *http.Client, base string, mine []*ident, incoming <-chan *ident, rng *rand.Rand) {
	const maxBatch = 500
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var buf bytes.Buffer
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	drain:
		for {
			select {
			case id := <-incoming:
				mine = append(mine, id)
			default:
				break drain
			}
		}
		now := time.Now()
		var due []sendItem
		keep := mine[:0]
		for _, id := range mine {
			if id.done {
				continue
			}
			keep = append(keep, id)
			if now.Before(id.next) {
				continue
			}
			switch {
			case id.state != stFiring && (id.pool || id.state == stNone):
				// A new episode (its startsAt is fixed by the first attempt).
				if id.episode.IsZero() || id.state == stResolved && !id.episode.After(id.ackEpisode) {
					id.episode = now
				}
				due = append(due, sendItem{id: id, state: stFiring, episode: id.episode, ends: now.Add(time.Hour)})
			case id.state == stFiring && !now.Before(id.until):
				due = append(due, sendItem{id: id, state: stResolved, episode: id.episode, ends: now.Add(-time.Second)})
			case id.state == stFiring:
				due = append(due, sendItem{id: id, state: stFiring, episode: id.episode, ends: now.Add(time.Hour)})
			}
		}
		mine = keep
		for len(due) > 0 && ctx.Err() == nil {
			n := min(len(due), maxBatch)
			part := due[:n]
			due = due[n:]
			buf.Reset()
			buf.WriteByte('[')
			for i, it := range part {
				if i > 0 {
					buf.WriteByte(',')
				}
				siftproc.AlertJSON(&buf, it.id.keys, it.id.labels, it.id.sum, it.episode, it.ends)
			}
			buf.WriteByte(']')
			req, _ := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, base+"/api/v2/alerts", bytes.NewReader(buf.Bytes()))
			req.Header.Set("Content-Type", "application/json")
			t0 := time.Now()
			resp, err := client.Do(req)
			st.reqs["ingest"].Add(1)
			if err != nil {
				// No answer: Sift may or may not have stored it.
				st.terrs["ingest"].Add(1)
				st.unsure.Add(int64(n))
				if !st.down.Load() {
					st.note("ingest", err.Error())
				}
				for _, it := range part {
					it.id.unsure, it.id.unsState, it.id.unsEpisode, it.id.unsEnds = true, it.state, it.episode, it.ends
					it.id.next = time.Now().Add(time.Second)
				}
				continue
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				st.errs["ingest"].Add(1)
				st.refused.Add(int64(n))
				st.note("ingest", fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body)))
				for _, it := range part {
					it.id.next = time.Now().Add(time.Second)
				}
				continue
			}
			st.lat["ingest"].Add(time.Since(t0))
			st.acked.Add(int64(n))
			now := time.Now()
			for _, it := range part {
				id := it.id
				if id.ackState == stNone {
					st.held.Add(1)
				}
				id.ackState, id.ackEpisode, id.ackEnds, id.unsure = it.state, it.episode, it.ends, false
				prev := id.state
				id.state = it.state
				switch {
				case it.state == stFiring && prev != stFiring:
					// Fires for 1-6 minutes (pool) or 1-10 (distinct),
					// storms for 3.
					life := time.Minute + time.Duration(rng.Int64N(int64(5*time.Minute)))
					if !id.pool {
						life = time.Minute + time.Duration(rng.Int64N(int64(9*time.Minute)))
						if strings.HasPrefix(id.labels["service"], "storm-") {
							life = 3 * time.Minute
						}
					}
					id.until = now.Add(life)
					id.next = now.Add(min(o.refresh, life))
				case it.state == stFiring:
					id.next = now.Add(min(o.refresh, max(time.Until(id.until), 0)))
				case it.state == stResolved:
					if !id.pool {
						id.done = true
					}
					id.next = now.Add(30*time.Second + time.Duration(rng.Int64N(int64(210*time.Second))))
				}
			}
		}
	}
}

// ---- queries and actions ---------------------------------------------------

func do(ctx context.Context, st *stats, client *http.Client, kind, method, url string, body []byte, into any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	st.reqs[kind].Add(1)
	if err != nil {
		if ctx.Err() == nil {
			st.terrs[kind].Add(1)
			if !st.down.Load() {
				st.note(kind, err.Error())
			}
		}
		return 0, err
	}
	defer resp.Body.Close()
	var b []byte
	if into != nil {
		b, err = io.ReadAll(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		st.terrs[kind].Add(1)
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 == 2 || kind == "action" && resp.StatusCode == http.StatusConflict {
		st.lat[kind].Add(time.Since(t0))
	} else {
		st.errs[kind].Add(1)
		st.note(kind, fmt.Sprintf("%s %s: HTTP %d %.200s", method, url, resp.StatusCode, b))
	}
	if resp.StatusCode == 200 && into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

func queryWorker(ctx context.Context, st *stats, client *http.Client, base string, rng *rand.Rand) {
	for i := 0; ctx.Err() == nil; i++ {
		time.Sleep(500 * time.Millisecond)
		switch i % 8 {
		case 0, 4:
			var list struct{ Incidents []incRef }
			if code, err := do(ctx, st, client, "list", "GET", base+"/api/v1/incidents?limit=200", nil, &list); err == nil && code == 200 {
				st.incidentIDs.Store(&list.Incidents)
			}
		case 1, 3, 5, 7:
			if l := st.incidentIDs.Load(); l != nil && len(*l) > 0 {
				inc := (*l)[rng.IntN(len(*l))]
				do(ctx, st, client, "detail", "GET", base+"/api/v1/incidents/"+inc.ID+"?alerts_limit=100", nil, nil)
			}
		case 2:
			do(ctx, st, client, "alerts", "GET", base+"/api/v2/alerts", nil, nil)
		case 6:
			do(ctx, st, client, "volume", "GET", base+"/api/v1/analytics/volume?since=1h", nil, nil)
		}
	}
}

func actionWorker(ctx context.Context, st *stats, client *http.Client, base string, rng *rand.Rand) {
	actors := []string{"ana", "bob", "chen", "dara"}
	for ctx.Err() == nil {
		time.Sleep(time.Second)
		l := st.incidentIDs.Load()
		if l == nil || len(*l) == 0 {
			continue
		}
		var open []incRef
		for _, inc := range *l {
			if inc.Status != "resolved" {
				open = append(open, inc)
			}
		}
		if len(open) == 0 {
			continue
		}
		inc := open[rng.IntN(len(open))]
		actor := actors[rng.IntN(len(actors))]
		var action string
		var body map[string]string
		switch r := rng.IntN(10); {
		case r < 4:
			action, body = "ack", map[string]string{"actor": actor}
		case r < 6:
			action, body = "assign", map[string]string{"actor": actor, "assignee": actors[rng.IntN(len(actors))]}
		case r < 8:
			action, body = "note", map[string]string{"actor": actor, "note": fmt.Sprintf("soak note %d: looked at it", rng.IntN(1e6))}
		default:
			action, body = "resolve", map[string]string{"actor": actor, "note": "soak: resolved by hand"}
		}
		b, _ := json.Marshal(body)
		code, err := do(ctx, st, client, "action", "POST", base+"/api/v1/incidents/"+inc.ID+"/"+action, b, nil)
		switch {
		case err != nil:
		case code == 200:
			st.actionsOK.Add(1)
		case code == http.StatusConflict:
			st.actions409.Add(1)
		}
	}
}

// ---- the accounting --------------------------------------------------------

// Check is the outcome of accounting for every acknowledged identity.
type Check struct {
	Checked     int      `json:"checked"`
	OK          int      `json:"ok"`
	Unsure      int      `json:"unsure_ok"` // in the state of a notification that got no answer
	Lost        int      `json:"lost"`      // listed nowhere
	Stale       int      `json:"stale"`     // listed, but not in the last acknowledged state or episode
	Firing      int      `json:"listed_firing"`
	Members     int      `json:"listed_members"`
	Incidents   int      `json:"incidents"`
	Seconds     float64  `json:"seconds"`
	LostSample  []string `json:"lost_sample,omitempty"`
	StaleSample []string `json:"stale_sample,omitempty"`
}

func (c Check) String() string {
	return fmt.Sprintf("%d acknowledged identities checked: %d ok (%d in an unanswered notification's state), %d LOST, %d stale; listed %d firing, %d incident members in %d incidents; %.1fs %v %v",
		c.Checked, c.OK, c.Unsure, c.Lost, c.Stale, c.Firing, c.Members, c.Incidents, c.Seconds, c.LostSample, c.StaleSample)
}

type seen struct {
	state   int
	startMs int64
}

func check(ctx context.Context, client *http.Client, base string, idents []*ident) (Check, error) {
	t0 := time.Now()
	var c Check
	firing := map[string]seen{}
	members := map[string]seen{}
	get := func(url string, into any) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
			return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
		}
		return json.NewDecoder(resp.Body).Decode(into)
	}
	type alertJSON struct {
		Labels   map[string]string `json:"labels"`
		StartsAt time.Time         `json:"startsAt"`
		Status   json.RawMessage   `json:"status"`
	}
	var listed []alertJSON
	if err := get(base+"/api/v2/alerts", &listed); err != nil {
		return c, err
	}
	for _, a := range listed {
		if id := a.Labels["soak_id"]; id != "" {
			firing[id] = seen{stFiring, a.StartsAt.UnixMilli()}
		}
	}
	c.Firing = len(firing)
	for off := 0; ; off += 10000 {
		var list struct {
			Incidents []incRef
			Total     int
		}
		if err := get(fmt.Sprintf("%s/api/v1/incidents?limit=10000&offset=%d", base, off), &list); err != nil {
			return c, err
		}
		for _, inc := range list.Incidents {
			c.Incidents++
			cursor := ""
			for {
				var d struct {
					Alerts []struct {
						Labels   map[string]string `json:"labels"`
						StartsAt time.Time         `json:"startsAt"`
						Status   string            `json:"status"`
					}
					AlertsPage struct{ NextCursor string }
				}
				if err := get(fmt.Sprintf("%s/api/v1/incidents/%s?alerts_limit=1000&alerts_cursor=%s", base, inc.ID, cursor), &d); err != nil {
					return c, err
				}
				for _, a := range d.Alerts {
					id := a.Labels["soak_id"]
					if id == "" {
						continue
					}
					s := seen{stFiring, a.StartsAt.UnixMilli()}
					if a.Status == "resolved" {
						s.state = stResolved
					}
					if prev, ok := members[id]; !ok || s.startMs >= prev.startMs {
						members[id] = s
					}
				}
				if d.AlertsPage.NextCursor == "" {
					break
				}
				cursor = d.AlertsPage.NextCursor
			}
		}
		if len(list.Incidents) < 10000 {
			break
		}
	}
	c.Members = len(members)
	now := time.Now()
	// What Sift shows for an identity: firing (GET /api/v2/alerts) wins
	// over its incident membership.
	shown := func(id string) (seen, bool) {
		if s, ok := firing[id]; ok {
			return s, true
		}
		s, ok := members[id]
		if ok && s.state == stFiring {
			// A member said firing, but GET /api/v2/alerts did not list it.
			s.state = -1
		}
		return s, ok
	}
	matches := func(s seen, state int, episode, ends time.Time) bool {
		want := state
		if state == stFiring && !ends.After(now) {
			want = stResolved // expired meanwhile
		}
		return s.state == want && s.startMs == episode.UnixMilli()
	}
	for _, id := range idents {
		if id.ackState == stNone {
			continue
		}
		c.Checked++
		s, ok := shown(id.id)
		switch {
		case !ok:
			c.Lost++
			if len(c.LostSample) < 5 {
				c.LostSample = append(c.LostSample, id.id)
			}
		case matches(s, id.ackState, id.ackEpisode, id.ackEnds):
			c.OK++
		case id.unsure && matches(s, id.unsState, id.unsEpisode, id.unsEnds):
			c.OK++
			c.Unsure++
		default:
			c.Stale++
			if len(c.StaleSample) < 5 {
				c.StaleSample = append(c.StaleSample, fmt.Sprintf("%s: shown state %d start %d, acknowledged state %d start %d",
					id.id, s.state, s.startMs, id.ackState, id.ackEpisode.UnixMilli()))
			}
		}
	}
	c.Seconds = time.Since(t0).Seconds()
	return c, nil
}
