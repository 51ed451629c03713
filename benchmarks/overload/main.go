// Command overload drives a real `sift serve` beyond limits.max_active_alerts
// (issue #15) and asserts that memory stays bounded by configuration:
//
//	go build -o bin/sift ./cmd/sift
//	go run ./benchmarks/overload -alerts 2000000             # the default limit (1,000,000)
//	go run ./benchmarks/overload -alerts 2000000 -max-active 200000
//
// It starts bin/sift in a temporary data directory (with the default
// configuration, or with -max-active N a config file that sets
// limits.max_active_alerts: N), samples its VmRSS every second, and sends
// -alerts distinct alerts (realistic label sets, benchmarks/internal/loadgen)
// as fast as Sift takes them: -clients workers, -batch alerts per request.
// The first -storm alerts share alertname and service, so they form one
// incident that reaches correlate.max_alerts_per_incident.
//
// Then it checks and reports:
//   - alerts accepted (2xx) and refused with 429; the accepted count must not
//     exceed the limit, and must reach it to within one batch per client;
//   - every 429 carries Retry-After and a JSON body {"error": ...} naming
//     max_active_alerts;
//   - the peak RSS over the whole run (the resolve phase included) stays
//     under -rss-base-mb + limit × -rss-per-alert (the bound is printed);
//   - GET /api/v2/alerts is streamed (chunked), with its time to first byte,
//     bytes, alerts, duration and the RSS during it;
//   - the storm incident's detail is paged (alerts_limit, alerts_cursor): every
//     page ≤ its limit, all pages together hold exactly its alerts, and an
//     alerts_limit beyond the maximum is refused;
//   - known alerts are still taken at the limit; new ones are not;
//   - with -resolve-phase: after every accepted alert is resolved, whether new
//     alerts are taken again (reported, not asserted).
//
// -heap-profile FILE turns on debug.pprof and saves sift's heap profile after
// the load (FILE.load) and after the resolve phase (FILE.resolve).
//
// It exits 1 when a bound or check fails, 2 on a usage error.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sift-aiops/sift/benchmarks/internal/loadgen"
	"github.com/sift-aiops/sift/benchmarks/internal/machine"
	"github.com/sift-aiops/sift/benchmarks/internal/siftproc"
	"github.com/sift-aiops/sift/config"
	"github.com/sift-aiops/sift/correlate"
)

type options struct {
	sift         string
	alerts       int
	clients      int
	batch        int
	maxActive    int
	storm        int
	rssBaseMB    int64
	rssPerAlert  int64
	timeout      time.Duration
	resolvePhase bool
	keep         bool
	jsonOut      string
	heapOut      string
}

// Result is what a run measured (written with -json).
type Result struct {
	Started          time.Time `json:"started"`
	LoadAvgStart     string    `json:"loadavg_start"`
	LoadAvgEnd       string    `json:"loadavg_end"`
	Alerts           int       `json:"alerts"`
	Clients          int       `json:"clients"`
	Batch            int       `json:"batch"`
	Limit            int       `json:"limit"`
	LimitSource      string    `json:"limit_source"`
	Accepted         int64     `json:"accepted"`
	Refused429       int64     `json:"refused_429"`
	RefusedOther     int64     `json:"refused_other"`
	TransportErrors  int64     `json:"transport_errors"`
	Bad429Bodies     int64     `json:"bad_429_bodies"`
	Sample429        string    `json:"sample_429"`
	RetryAfter       string    `json:"retry_after"`
	FirstOtherError  string    `json:"first_other_error,omitempty"`
	LoadSeconds      float64   `json:"load_seconds"`
	SecondsToLimit   float64   `json:"seconds_to_limit"`
	AcceptedPerSec   float64   `json:"accepted_per_sec"`
	P50OKMillis      float64   `json:"p50_2xx_ms"`
	P99OKMillis      float64   `json:"p99_2xx_ms"`
	P50RefusedMillis float64   `json:"p50_429_ms"`
	P99RefusedMillis float64   `json:"p99_429_ms"`
	MetricRefused    float64   `json:"metric_refused_full_total"`
	MetricFiring     float64   `json:"metric_alerts_firing"`

	RSSIdle         int64 `json:"rss_idle_bytes"`
	RSSAtLimit      int64 `json:"rss_at_first_429_bytes"`
	RSSPeakRefusing int64 `json:"rss_peak_after_first_429_bytes"`
	RSSPeakLoad     int64 `json:"rss_peak_load_bytes"`
	RSSAfterLoad    int64 `json:"rss_after_load_bytes"`
	RSSPeak         int64 `json:"rss_peak_bytes"`
	RSSBound        int64 `json:"rss_bound_bytes"`
	RSSAfterPerHeld int64 `json:"rss_after_load_per_alert_bytes"`

	ListChunked      bool     `json:"list_chunked"`
	ListTTFBMillis   float64  `json:"list_ttfb_ms"`
	ListSeconds      float64  `json:"list_seconds"`
	ListBytes        int64    `json:"list_bytes"`
	ListAlerts       int64    `json:"list_alerts"`
	ListRSSBefore    int64    `json:"list_rss_before_bytes"`
	ListRSSPeak      int64    `json:"list_rss_peak_bytes"`
	ListStatus       int      `json:"list_status"`
	ListComplete     bool     `json:"list_complete"` // ends with the closing bracket
	ListError        string   `json:"list_error,omitempty"`
	StormIncident    string   `json:"storm_incident"`
	StormIncidents   int      `json:"storm_incidents"`
	StormAlertCounts []int    `json:"storm_alert_counts"`
	StormFullEvent   []string `json:"storm_full_event_in"`
	StormOverflow    []string `json:"storm_overflow_reason_in"`
	DetailMax        int      `json:"detail_max_alerts_per_incident"`
	DetailDefault    int      `json:"detail_default_page_alerts"`
	DetailDefBytes   int64    `json:"detail_default_page_bytes"`
	DetailPages      int      `json:"detail_pages"`
	DetailPageLimit  int      `json:"detail_page_limit"`
	DetailTotal      int      `json:"detail_total"`
	DetailSeen       int      `json:"detail_distinct_alerts_seen"`
	DetailMaxBytes   int64    `json:"detail_max_page_bytes"`
	DetailMaxMillis  float64  `json:"detail_max_page_ms"`
	DetailOverLimit  int      `json:"detail_alerts_limit_100000_status"`
	KnownAgainStatus int      `json:"known_again_status"`
	NewAtLimitStatus int      `json:"new_at_limit_status"`

	ResolvePhase        bool    `json:"resolve_phase"`
	ResolvedSent        int64   `json:"resolved_sent"`
	ResolvedOK          int64   `json:"resolved_ok"`
	NewAfterResolveCode int     `json:"new_after_resolve_status"`
	NewAfterResolveBody string  `json:"new_after_resolve_body,omitempty"`
	MetricFiringAfter   float64 `json:"metric_alerts_firing_after_resolve"`
	RSSAfterResolve     int64   `json:"rss_after_resolve_bytes"`
	RSSPeakResolve      int64   `json:"rss_peak_resolve_phase_bytes"`
	ResolveFirstError   string  `json:"resolve_first_error,omitempty"`

	Failures []string `json:"failures"`
	Warnings []string `json:"warnings"`
}

func main() {
	var o options
	flag.StringVar(&o.sift, "sift", "bin/sift", "the sift binary (go build -o bin/sift ./cmd/sift)")
	flag.IntVar(&o.alerts, "alerts", 2_000_000, "distinct alerts to send")
	flag.IntVar(&o.clients, "clients", 8, "concurrent senders")
	flag.IntVar(&o.batch, "batch", 1000, "alerts per request")
	flag.IntVar(&o.maxActive, "max-active", 0, "write a config with limits.max_active_alerts: N (0: Sift's default configuration, no config file)")
	flag.IntVar(&o.storm, "storm", 20000, "the first N alerts share alertname and service (one incident reaching max_alerts_per_incident)")
	flag.Int64Var(&o.rssBaseMB, "rss-base-mb", 300, "RSS bound: this many MiB ...")
	flag.Int64Var(&o.rssPerAlert, "rss-per-alert", 4096, "... plus this many bytes per alert of the limit")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "per-request timeout")
	flag.BoolVar(&o.resolvePhase, "resolve-phase", true, "at the end, resolve every accepted alert and try new ones again (reported)")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory and log")
	flag.StringVar(&o.jsonOut, "json", "", "also write the result as JSON to this file")
	flag.StringVar(&o.heapOut, "heap-profile", "", "turn on debug.pprof and save sift's heap profile after the load and after the resolve phase to FILE.load and FILE.resolve")
	flag.Parse()
	if o.alerts < 1 || o.clients < 1 || o.batch < 1 || o.maxActive < 0 || o.storm < 0 {
		fmt.Fprintln(os.Stderr, "overload: -alerts, -clients, -batch must be positive; -max-active, -storm not negative")
		os.Exit(2)
	}
	if o.alerts >= 1<<24 {
		fmt.Fprintln(os.Stderr, "overload: -alerts must be below 16,777,216 (distinct label sets)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
	report(os.Stdout, res)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		os.WriteFile(o.jsonOut, append(b, '\n'), 0o644)
	}
	if len(res.Failures) > 0 {
		os.Exit(1)
	}
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "overload %s: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
}

// gen makes alert i: the loadgen label set, with a shared alertname and
// service for the storm.
type gen struct {
	storm int
	at    time.Time
	ends  time.Time
}

func (g gen) labels(i int) map[string]string {
	ls := loadgen.LabelSet(i)
	if i < g.storm {
		ls["alertname"], ls["service"] = "OverloadStorm", "storm"
	}
	return ls
}

func (g gen) body(buf *bytes.Buffer, from, n int, resolved bool) {
	buf.Reset()
	buf.WriteByte('[')
	ends := g.ends
	if resolved {
		ends = time.Now().Add(-time.Second)
	}
	for i := from; i < from+n; i++ {
		if i > from {
			buf.WriteByte(',')
		}
		ls := g.labels(i)
		siftproc.AlertJSON(buf, siftproc.SortedKeys(ls), ls,
			ls["alertname"]+" on "+ls["instance"]+" ("+ls["service"]+")", g.at, ends)
	}
	buf.WriteByte(']')
}

func run(ctx context.Context, o options) (*Result, error) {
	res := &Result{Started: time.Now().UTC(), LoadAvgStart: machine.LoadAvgOr("n/a"), Alerts: o.alerts, Clients: o.clients, Batch: o.batch}
	fail := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		res.Failures = append(res.Failures, s)
		logf("FAIL: %s", s)
	}
	bin, work, cleanup, err := siftproc.Workdir(o.sift, "sift-overload-", o.keep)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	if o.keep {
		logf("keeping %s", work)
	}
	cfgPath := ""
	res.Limit, res.LimitSource = config.DefaultMaxActiveAlerts, "default configuration (no config file)"
	if o.maxActive > 0 || o.heapOut != "" {
		var cfg []byte
		if o.maxActive > 0 {
			cfg = fmt.Appendf(cfg, "limits:\n  max_active_alerts: %d\n", o.maxActive)
			res.Limit, res.LimitSource = o.maxActive, "config file: limits: {max_active_alerts: "+fmt.Sprint(o.maxActive)+"}"
		}
		if o.heapOut != "" {
			cfg = append(cfg, "debug:\n  pprof: true\n"...)
			res.LimitSource += "; debug.pprof on"
		}
		cfgPath = filepath.Join(work, "sift.yaml")
		if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
			return nil, err
		}
	}
	res.DetailMax = correlate.DefaultMaxAlertsPerIncident
	res.RSSBound = o.rssBaseMB<<20 + int64(res.Limit)*o.rssPerAlert

	p, err := siftproc.New(bin, filepath.Join(work, "data"), cfgPath, filepath.Join(work, "sift.log"))
	if err != nil {
		return nil, err
	}
	if _, err := p.Start(60 * time.Second); err != nil {
		return nil, err
	}
	defer func() {
		if _, err := p.Stop(syscall.SIGTERM, 60*time.Second); err != nil {
			logf("stopping sift: %v", err)
		}
	}()
	base := p.URL()
	logf("sift pid %d on %s; limit %d (%s); RSS bound %s = %d MiB + %d × %d B",
		p.PID(), base, res.Limit, res.LimitSource, siftproc.MiB(res.RSSBound), o.rssBaseMB, res.Limit, o.rssPerAlert)
	rss := siftproc.SampleRSS(p.PID, time.Second)
	defer func() { rss.Stop() }()
	time.Sleep(time.Second)
	res.RSSIdle = rss.Now()
	rss.Mark()

	// Progress every 10 s.
	var accepted, refused, other, terr, bad429 atomic.Int64
	progressDone := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-progressDone:
				return
			case <-t.C:
				logf("accepted %d, 429 %d, other %d, transport errors %d; RSS %s (peak %s)",
					accepted.Load(), refused.Load(), other.Load(), terr.Load(), siftproc.MiB(rss.Now()), siftproc.MiB(rss.Peak()))
			}
		}
	}()

	client := siftproc.HTTPClient(o.clients*2, o.timeout)
	now := time.Now()
	g := gen{storm: o.storm, at: now, ends: now.Add(6 * time.Hour)}
	var (
		next        atomic.Int64
		firstLimit  atomic.Int64 // unix nanos of the first 429
		peakBefore  atomic.Int64 // RSS peak until the first 429
		mu          sync.Mutex
		okRanges    [][2]int // accepted [from, from+n)
		sample429   string
		retryAfter  string
		firstOther  string
		latOK, lat4 siftproc.Latencies
		wg          sync.WaitGroup
	)
	logf("sending %d distinct alerts (%d clients × %d per request, first %d in one storm)", o.alerts, o.clients, o.batch, o.storm)
	start := time.Now()
	for range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for ctx.Err() == nil {
				from := int(next.Add(int64(o.batch))) - o.batch
				if from >= o.alerts {
					return
				}
				n := min(o.batch, o.alerts-from)
				g.body(&buf, from, n, false)
				code, hdr, body, d, err := post(ctx, client, base+"/api/v2/alerts", buf.Bytes())
				switch {
				case err != nil:
					terr.Add(int64(n))
					mu.Lock()
					if firstOther == "" {
						firstOther = err.Error()
					}
					mu.Unlock()
				case code/100 == 2:
					latOK.Add(d)
					accepted.Add(int64(n))
					mu.Lock()
					okRanges = append(okRanges, [2]int{from, from + n})
					mu.Unlock()
				case code == http.StatusTooManyRequests:
					lat4.Add(d)
					refused.Add(int64(n))
					if firstLimit.CompareAndSwap(0, time.Now().UnixNano()) {
						peakBefore.Store(rss.Mark())
						res.RSSAtLimit = rss.Now()
					}
					var e struct {
						Error string `json:"error"`
					}
					if json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "max_active_alerts") || hdr.Get("Retry-After") == "" {
						bad429.Add(1)
					}
					mu.Lock()
					if sample429 == "" {
						sample429, retryAfter = strings.TrimSpace(string(body)), hdr.Get("Retry-After")
					}
					mu.Unlock()
				default:
					other.Add(int64(n))
					mu.Lock()
					if firstOther == "" {
						firstOther = fmt.Sprintf("HTTP %d: %.300s", code, body)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(progressDone)
	elapsed := time.Since(start)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.LoadSeconds = elapsed.Seconds()
	res.Accepted, res.Refused429, res.RefusedOther, res.TransportErrors = accepted.Load(), refused.Load(), other.Load(), terr.Load()
	res.Bad429Bodies, res.Sample429, res.RetryAfter, res.FirstOtherError = bad429.Load(), sample429, retryAfter, firstOther
	if fl := firstLimit.Load(); fl > 0 {
		res.SecondsToLimit = time.Unix(0, fl).Sub(start).Seconds()
		res.AcceptedPerSec = float64(res.Accepted) / res.SecondsToLimit
	} else if elapsed > 0 {
		res.AcceptedPerSec = float64(res.Accepted) / elapsed.Seconds()
	}
	ok, r4 := latOK.Take(), lat4.Take()
	res.P50OKMillis, res.P99OKMillis = siftproc.Quantile(ok, .5), siftproc.Quantile(ok, .99)
	res.P50RefusedMillis, res.P99RefusedMillis = siftproc.Quantile(r4, .5), siftproc.Quantile(r4, .99)
	if res.RSSAtLimit > 0 {
		res.RSSPeakRefusing = rss.Mark()
		res.RSSPeakLoad = max(peakBefore.Load(), res.RSSPeakRefusing)
	} else {
		res.RSSPeakLoad = rss.Mark()
	}
	time.Sleep(3 * time.Second)
	res.RSSAfterLoad = rss.Now()
	if res.Accepted > 0 {
		res.RSSAfterPerHeld = res.RSSAfterLoad / res.Accepted
	}
	if m, err := siftproc.Metrics(ctx, client, base, "sift_alerts_refused_full_total", "sift_alerts_firing"); err == nil {
		res.MetricRefused, res.MetricFiring = m["sift_alerts_refused_full_total"], m["sift_alerts_firing"]
	}
	logf("load done in %.1fs: accepted %d, 429 %d (first after %.1fs), other %d, transport errors %d; RSS peak %s, 3 s after %s",
		res.LoadSeconds, res.Accepted, res.Refused429, res.SecondsToLimit, res.RefusedOther, res.TransportErrors,
		siftproc.MiB(res.RSSPeakLoad), siftproc.MiB(res.RSSAfterLoad))

	// The bounds of the ingest.
	expectRefused := o.alerts > res.Limit
	switch {
	case res.Accepted > int64(res.Limit):
		fail("accepted %d alerts, more than the limit %d", res.Accepted, res.Limit)
	case expectRefused && res.Accepted < int64(res.Limit-o.batch*o.clients):
		fail("accepted %d alerts, fewer than the limit %d less one batch per client", res.Accepted, res.Limit)
	case !expectRefused && res.Accepted != int64(o.alerts):
		fail("accepted %d of %d alerts under the limit %d", res.Accepted, o.alerts, res.Limit)
	}
	if expectRefused && res.Refused429 == 0 {
		fail("no 429 although %d alerts exceed the limit %d", o.alerts, res.Limit)
	}
	if res.Bad429Bodies > 0 {
		fail("%d 429 answers without Retry-After or a JSON error naming max_active_alerts (sample %q)", res.Bad429Bodies, res.Sample429)
	}
	if res.RefusedOther > 0 || res.TransportErrors > 0 {
		fail("%d alerts refused with another status and %d with transport errors (first: %s)", res.RefusedOther, res.TransportErrors, res.FirstOtherError)
	}
	if res.MetricFiring != float64(res.Accepted) {
		fail("sift_alerts_firing %.0f, but %d alerts were accepted", res.MetricFiring, res.Accepted)
	}

	saveHeap(ctx, client, base, o.heapOut, ".load")

	// GET /api/v2/alerts streams.
	listAlerts(ctx, client, base, rss, res)
	if res.ListStatus != 200 || !res.ListChunked || !res.ListComplete {
		fail("GET /api/v2/alerts: status %d, chunked %v, complete JSON array %v (error %q) after %.1fs", res.ListStatus, res.ListChunked, res.ListComplete, res.ListError, res.ListSeconds)
	}
	if res.ListAlerts != res.Accepted {
		fail("GET /api/v2/alerts listed %d alerts, %d accepted", res.ListAlerts, res.Accepted)
	}

	// The storm incident is paged.
	if o.storm > 0 {
		if err := detail(ctx, client, base, res); err != nil {
			fail("storm incident detail: %v", err)
		}
	}

	// At the limit: known alerts are taken, new ones are not.
	var buf bytes.Buffer
	g.body(&buf, 0, min(o.batch, o.alerts), false)
	res.KnownAgainStatus, _, _, _, _ = post(ctx, client, base+"/api/v2/alerts", buf.Bytes())
	if res.KnownAgainStatus != 200 {
		fail("re-sending %d accepted alerts at the limit: %d, want 200", min(o.batch, o.alerts), res.KnownAgainStatus)
	}
	if expectRefused {
		fresh := gen{at: time.Now(), ends: time.Now().Add(time.Hour)}
		fresh.body(&buf, o.alerts, 1, false)
		res.NewAtLimitStatus, _, _, _, _ = post(ctx, client, base+"/api/v2/alerts", buf.Bytes())
		if res.NewAtLimitStatus != 429 {
			fail("one new alert at the limit: %d, want 429", res.NewAtLimitStatus)
		}
	}

	// After everything accepted is resolved: are new alerts taken again?
	if o.resolvePhase && expectRefused {
		res.ResolvePhase = true
		logf("resolving the %d accepted alerts", res.Accepted)
		rss.Mark()
		var rwg sync.WaitGroup
		var idx atomic.Int64
		var sent, okN atomic.Int64
		var resolveErr atomic.Pointer[string]
		for range o.clients {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				var buf bytes.Buffer
				for ctx.Err() == nil {
					k := int(idx.Add(1)) - 1
					if k >= len(okRanges) {
						return
					}
					r := okRanges[k]
					g.body(&buf, r[0], r[1]-r[0], true)
					code, _, body, _, err := post(ctx, client, base+"/api/v2/alerts", buf.Bytes())
					sent.Add(int64(r[1] - r[0]))
					switch {
					case err == nil && code == 200:
						okN.Add(int64(r[1] - r[0]))
					case err != nil:
						resolveErr.CompareAndSwap(nil, ptr(err.Error()))
					default:
						resolveErr.CompareAndSwap(nil, ptr(fmt.Sprintf("HTTP %d: %.300s", code, body)))
					}
				}
			}()
		}
		rwg.Wait()
		res.ResolvedSent, res.ResolvedOK = sent.Load(), okN.Load()
		if e := resolveErr.Load(); e != nil {
			res.ResolveFirstError = *e
		}
		if m, err := siftproc.Metrics(ctx, client, base, "sift_alerts_firing"); err == nil {
			res.MetricFiringAfter = m["sift_alerts_firing"]
		}
		fresh := gen{at: time.Now(), ends: time.Now().Add(time.Hour)}
		fresh.body(&buf, o.alerts+1, 1, false)
		var body []byte
		res.NewAfterResolveCode, _, body, _, _ = post(ctx, client, base+"/api/v2/alerts", buf.Bytes())
		res.NewAfterResolveBody = strings.TrimSpace(string(body))
		res.RSSAfterResolve = rss.Now()
		res.RSSPeakResolve = rss.Mark()
		saveHeap(ctx, client, base, o.heapOut, ".resolve")
		logf("resolved %d/%d; firing now %.0f; one new alert: %d %s", res.ResolvedOK, res.ResolvedSent, res.MetricFiringAfter, res.NewAfterResolveCode, res.NewAfterResolveBody)
	}

	for _, n := range res.StormAlertCounts {
		if n >= res.DetailMax && len(res.StormFullEvent) == 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("an incident holds %d alerts (max_alerts_per_incident) but no incident has a \"full\" timeline event", n))
			break
		}
	}
	if res.ResolvePhase && res.NewAfterResolveCode == http.StatusTooManyRequests {
		res.Warnings = append(res.Warnings, "with every held alert resolved, a new alert is still refused (429): resolved alerts count toward max_active_alerts until correlate.retention drops them")
	}
	res.RSSPeak = rss.Peak()
	if res.RSSPeak > res.RSSBound {
		fail("peak RSS %s exceeds the bound %s", siftproc.MiB(res.RSSPeak), siftproc.MiB(res.RSSBound))
	}
	if p.Exited() {
		fail("sift exited during the run (see its log)")
	}
	res.LoadAvgEnd = machine.LoadAvgOr("n/a")
	return res, nil
}

// saveHeap saves sift's heap profile (go tool pprof -sample_index=inuse_space).
func saveHeap(ctx context.Context, client *http.Client, base, path, suffix string) {
	if path == "" {
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/debug/pprof/heap", nil)
	resp, err := client.Do(req)
	if err != nil {
		logf("heap profile: %v", err)
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode == 200 {
		err = os.WriteFile(path+suffix, b, 0o644)
	}
	logf("heap profile %s%s: %d %v", path, suffix, resp.StatusCode, err)
}

// post sends body as JSON and returns the status, headers, up to 64 KiB of
// the answer and the latency.
func post(ctx context.Context, client *http.Client, url string, body []byte) (int, http.Header, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, 0, err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, b, time.Since(t0), nil
}

// counter counts the bytes and the alerts ("fingerprint" keys) of a
// streamed list without holding it.
type counter struct {
	bytes, alerts int64
	tail          []byte
	last          byte // the last byte that is not white space
}

var fpKey = []byte(`"fingerprint":`)

func (c *counter) Write(p []byte) (int, error) {
	c.bytes += int64(len(p))
	if t := bytes.TrimRight(p, " \r\n\t"); len(t) > 0 {
		c.last = t[len(t)-1]
	}
	buf := append(c.tail, p...)
	c.alerts += int64(bytes.Count(buf, fpKey))
	// Keep the last len(fpKey)-1 bytes for a key split between writes
	// (a whole key in them was counted already: it cannot be, being shorter).
	k := min(len(buf), len(fpKey)-1)
	c.tail = append(c.tail[:0], buf[len(buf)-k:]...)
	return len(p), nil
}

func listAlerts(ctx context.Context, client *http.Client, base string, rss *siftproc.RSSSampler, res *Result) {
	logf("GET /api/v2/alerts")
	res.ListRSSBefore = rss.Now()
	rss.Mark()
	// A fast sampler for the duration of the request.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				rss.Now()
			}
		}
	}()
	var first time.Time
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, base+"/api/v2/alerts", nil)
	c := &http.Client{Timeout: 10 * time.Minute, Transport: client.Transport}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err == nil {
		res.ListStatus = resp.StatusCode
		res.ListChunked = resp.ContentLength == -1 && len(resp.TransferEncoding) > 0 && resp.TransferEncoding[0] == "chunked"
		var cnt counter
		_, err = io.Copy(&cnt, resp.Body)
		resp.Body.Close()
		res.ListBytes, res.ListAlerts, res.ListComplete = cnt.bytes, cnt.alerts, cnt.last == ']'
	}
	if err != nil {
		res.ListError = err.Error()
	}
	res.ListSeconds = time.Since(t0).Seconds()
	if !first.IsZero() {
		res.ListTTFBMillis = float64(first.Sub(t0)) / float64(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	res.ListRSSPeak = rss.Mark()
	if err != nil {
		logf("GET /api/v2/alerts: %v", err)
	}
	logf("GET /api/v2/alerts: %d, first byte after %.0f ms, %d alerts, %d bytes in %.1fs; RSS %s before, peak %s",
		res.ListStatus, res.ListTTFBMillis, res.ListAlerts, res.ListBytes, res.ListSeconds, siftproc.MiB(res.ListRSSBefore), siftproc.MiB(res.ListRSSPeak))
}

func getJSON(ctx context.Context, client *http.Client, url string, into any) (int, int64, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	d := time.Since(t0)
	if err != nil {
		return resp.StatusCode, int64(len(b)), d, err
	}
	if resp.StatusCode == 200 && into != nil {
		err = json.Unmarshal(b, into)
	}
	return resp.StatusCode, int64(len(b)), d, err
}

type incidentDetail struct {
	Incident struct {
		ID       string
		Timeline []struct{ Event string }
		Members  []struct{ Fingerprint string }
	}
	Alerts     []struct{ Fingerprint string }
	Explain    []struct{ Reason string }
	AlertsPage struct {
		Limit, Total int
		NextCursor   string
	}
	AlertsSummary struct{ Total int }
}

// detail pages through the largest storm incident.
func detail(ctx context.Context, client *http.Client, base string, res *Result) error {
	var list struct {
		Incidents []struct {
			ID     string
			Alerts int
		}
	}
	if code, _, _, err := getJSON(ctx, client, base+"/api/v1/incidents?service=storm&limit=1000", &list); err != nil || code != 200 {
		return fmt.Errorf("list: %d %v", code, err)
	}
	if len(list.Incidents) == 0 {
		return errors.New("no incident of service storm")
	}
	sort.Slice(list.Incidents, func(i, j int) bool { return list.Incidents[i].Alerts > list.Incidents[j].Alerts })
	res.StormIncidents = len(list.Incidents)
	for _, inc := range list.Incidents {
		res.StormAlertCounts = append(res.StormAlertCounts, inc.Alerts)
	}
	id := list.Incidents[0].ID
	res.StormIncident = id
	if list.Incidents[0].Alerts > res.DetailMax {
		return fmt.Errorf("incident %s holds %d alerts, more than max_alerts_per_incident %d", id, list.Incidents[0].Alerts, res.DetailMax)
	}
	// Does a full incident say so (timeline event "full"), and do the
	// alerts of an overflow incident say why they are there?
	for _, inc := range list.Incidents {
		var d incidentDetail
		if code, _, _, err := getJSON(ctx, client, base+"/api/v1/incidents/"+inc.ID+"?alerts_limit=1", &d); err != nil || code != 200 {
			return fmt.Errorf("detail of %s: %d %v", inc.ID, code, err)
		}
		for _, e := range d.Incident.Timeline {
			if e.Event == "full" {
				res.StormFullEvent = append(res.StormFullEvent, inc.ID)
				break
			}
		}
		for _, e := range d.Explain {
			if strings.Contains(e.Reason, "overflow") {
				res.StormOverflow = append(res.StormOverflow, inc.ID)
				break
			}
		}
	}
	// The default page.
	var d incidentDetail
	code, n, _, err := getJSON(ctx, client, base+"/api/v1/incidents/"+id, &d)
	if err != nil || code != 200 {
		return fmt.Errorf("detail: %d %v", code, err)
	}
	res.DetailDefault, res.DetailDefBytes = len(d.Alerts), n
	// Every page of 1000.
	const limit = 1000
	res.DetailPageLimit = limit
	seen := map[string]bool{}
	cursor := ""
	for {
		var d incidentDetail
		code, n, took, err := getJSON(ctx, client, fmt.Sprintf("%s/api/v1/incidents/%s?alerts_limit=%d&alerts_cursor=%s", base, id, limit, cursor), &d)
		if err != nil || code != 200 {
			return fmt.Errorf("page %d: %d %v", res.DetailPages, code, err)
		}
		res.DetailPages++
		res.DetailMaxBytes = max(res.DetailMaxBytes, n)
		res.DetailMaxMillis = max(res.DetailMaxMillis, float64(took)/float64(time.Millisecond))
		res.DetailTotal = d.AlertsPage.Total
		if len(d.Alerts) > limit || len(d.Incident.Members) > limit {
			return fmt.Errorf("page %d holds %d alerts and %d members (limit %d)", res.DetailPages, len(d.Alerts), len(d.Incident.Members), limit)
		}
		for _, a := range d.Alerts {
			seen[a.Fingerprint] = true
		}
		if d.AlertsPage.NextCursor == "" {
			break
		}
		if res.DetailPages > 10000 {
			return errors.New("more than 10,000 pages")
		}
		cursor = d.AlertsPage.NextCursor
	}
	res.DetailSeen = len(seen)
	res.DetailOverLimit, _, _, _ = getJSON(ctx, client, base+"/api/v1/incidents/"+id+"?alerts_limit=100000", nil)
	logf("storm incident %s: %d alerts in %d pages of ≤ %d (largest page %d bytes, %.0f ms); default page %d alerts, %d bytes; alerts_limit=100000: %d",
		id, res.DetailSeen, res.DetailPages, limit, res.DetailMaxBytes, res.DetailMaxMillis, res.DetailDefault, res.DetailDefBytes, res.DetailOverLimit)
	switch {
	case res.DetailSeen != res.DetailTotal || res.DetailTotal != list.Incidents[0].Alerts:
		return fmt.Errorf("pages held %d distinct alerts, page total %d, list says %d", res.DetailSeen, res.DetailTotal, list.Incidents[0].Alerts)
	case res.DetailDefault > 100:
		return fmt.Errorf("the default page holds %d alerts", res.DetailDefault)
	case res.DetailOverLimit != 400:
		return fmt.Errorf("alerts_limit=100000: %d, want 400", res.DetailOverLimit)
	}
	return nil
}

func report(w io.Writer, r *Result) {
	mib := func(b int64) string { return siftproc.MiB(b) }
	fmt.Fprintf(w, "overload: %d distinct alerts, %d clients × %d per request, started %s\n", r.Alerts, r.Clients, r.Batch, r.Started.Format(time.RFC3339))
	fmt.Fprintf(w, "load average      start %s, end %s\n", r.LoadAvgStart, r.LoadAvgEnd)
	fmt.Fprintf(w, "limit             max_active_alerts %d (%s)\n", r.Limit, r.LimitSource)
	fmt.Fprintf(w, "accepted          %d alerts (%.0f alerts/s until the limit, reached after %.1fs); p50 %.1f ms, p99 %.1f ms\n",
		r.Accepted, r.AcceptedPerSec, r.SecondsToLimit, r.P50OKMillis, r.P99OKMillis)
	fmt.Fprintf(w, "refused 429       %d alerts; p50 %.1f ms, p99 %.1f ms; Retry-After %q; bad bodies %d\n",
		r.Refused429, r.P50RefusedMillis, r.P99RefusedMillis, r.RetryAfter, r.Bad429Bodies)
	fmt.Fprintf(w, "  sample body     %s\n", r.Sample429)
	fmt.Fprintf(w, "other             %d refused otherwise, %d transport errors %s\n", r.RefusedOther, r.TransportErrors, r.FirstOtherError)
	fmt.Fprintf(w, "metrics           sift_alerts_firing %.0f, sift_alerts_refused_full_total %.0f\n", r.MetricFiring, r.MetricRefused)
	fmt.Fprintf(w, "load time         %.1fs\n", r.LoadSeconds)
	fmt.Fprintf(w, "RSS               idle %s; peak during load %s; 3 s after %s (%d B per accepted alert); peak of the run %s\n",
		mib(r.RSSIdle), mib(r.RSSPeakLoad), mib(r.RSSAfterLoad), r.RSSAfterPerHeld, mib(r.RSSPeak))
	if r.RSSAtLimit > 0 {
		fmt.Fprintf(w, "RSS at the limit  %s at the first 429; peak while refusing %s (%+.1f%%)\n",
			mib(r.RSSAtLimit), mib(r.RSSPeakRefusing), 100*(float64(r.RSSPeakRefusing)/float64(r.RSSAtLimit)-1))
	}
	fmt.Fprintf(w, "RSS bound         %s (%d B per alert of the limit + base): %s\n", mib(r.RSSBound), r.RSSBound/int64(max(r.Limit, 1)), okStr(r.RSSPeak <= r.RSSBound))
	fmt.Fprintf(w, "GET /api/v2/alerts %d, chunked %v, complete %v %s, first byte %.0f ms, %d alerts, %.1f MB in %.1fs; RSS before %s, peak during %s\n",
		r.ListStatus, r.ListChunked, r.ListComplete, r.ListError, r.ListTTFBMillis, r.ListAlerts, float64(r.ListBytes)/1e6, r.ListSeconds, mib(r.ListRSSBefore), mib(r.ListRSSPeak))
	if r.StormIncident != "" {
		fmt.Fprintf(w, "storm incidents   %d (alerts %v); with a \"full\" timeline event: %v; with an overflow reason: %v\n",
			r.StormIncidents, r.StormAlertCounts, r.StormFullEvent, r.StormOverflow)
		fmt.Fprintf(w, "incident detail   %s: default page %d alerts (%d B); %d pages of ≤ %d hold %d distinct alerts (total %d), largest page %.1f KB, slowest %.0f ms; alerts_limit=100000 → %d\n",
			r.StormIncident, r.DetailDefault, r.DetailDefBytes, r.DetailPages, r.DetailPageLimit, r.DetailSeen, r.DetailTotal, float64(r.DetailMaxBytes)/1e3, r.DetailMaxMillis, r.DetailOverLimit)
	}
	fmt.Fprintf(w, "at the limit      known alerts again: %d; one new alert: %d\n", r.KnownAgainStatus, r.NewAtLimitStatus)
	if r.ResolvePhase {
		fmt.Fprintf(w, "after resolving   %d/%d resolutions accepted, sift_alerts_firing %.0f, RSS %s (peak while resolving %s); one new alert: %d %s\n",
			r.ResolvedOK, r.ResolvedSent, r.MetricFiringAfter, mib(r.RSSAfterResolve), mib(r.RSSPeakResolve), r.NewAfterResolveCode, r.NewAfterResolveBody)
		if r.ResolveFirstError != "" {
			fmt.Fprintf(w, "  first failed resolution request: %s\n", r.ResolveFirstError)
		}
	}
	for _, s := range r.Warnings {
		fmt.Fprintln(w, "warning          ", s)
	}
	if len(r.Failures) == 0 {
		fmt.Fprintln(w, "result            PASS: every bound held")
	} else {
		fmt.Fprintf(w, "result            FAIL (%d):\n", len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintln(w, "  -", f)
		}
	}
}

func ptr(s string) *string { return &s }

func okStr(ok bool) string {
	if ok {
		return "held"
	}
	return "BROKEN"
}
