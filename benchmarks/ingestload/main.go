// Command ingestload is a load generator for Alertmanager-compatible
// POST /api/v2/alerts endpoints (the real Alertmanager, or Sift).
//
//	ingestload -url http://127.0.0.1:9093/api/v2/alerts -clients 8 -batch 100 -distinct 20000 -duration 20s
//	ingestload -url ... -total 1000000 -json
//
// Each of -clients workers sends JSON arrays of -batch alerts, cycling over
// -distinct label sets (about 8 realistic labels each, with summary and
// description annotations), startsAt now and endsAt now+5m. It reports the
// accepted alerts per second (alerts in 2xx answers over the run time), the
// 2xx/non-2xx/transport-error counts and the p50/p99 request latency.
//
// The request bodies are assembled from pre-encoded pieces so that the
// generator spends little CPU of its own (it usually shares the machine with
// the server under test).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sift-aiops/sift/benchmarks/internal/loadgen"
)

type options struct {
	url      string
	clients  int
	batch    int
	distinct int
	duration time.Duration
	total    int64
	timeout  time.Duration
	json     bool
}

// Result is what a run measured (printed with -json).
type Result struct {
	URL             string  `json:"url"`
	Clients         int     `json:"clients"`
	Batch           int     `json:"batch"`
	Distinct        int     `json:"distinct"`
	Seconds         float64 `json:"seconds"`
	Requests        int64   `json:"requests"`
	Requests2xx     int64   `json:"requests_2xx"`
	RequestsNon2xx  int64   `json:"requests_non_2xx"`
	TransportErrors int64   `json:"transport_errors"`
	AlertsSent      int64   `json:"alerts_sent"`
	AlertsAccepted  int64   `json:"alerts_accepted"`
	AcceptedPerSec  float64 `json:"accepted_alerts_per_sec"`
	P50Millis       float64 `json:"p50_ms"`
	P99Millis       float64 `json:"p99_ms"`
	MaxMillis       float64 `json:"max_ms"`
	FirstError      string  `json:"first_error,omitempty"`
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:9093/api/v2/alerts", "POST target (Alertmanager v2 alerts endpoint)")
	flag.IntVar(&o.clients, "clients", 8, "concurrent clients")
	flag.IntVar(&o.batch, "batch", 100, "alerts per request")
	flag.IntVar(&o.distinct, "distinct", 20000, "distinct label sets to cycle over")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "run time (ignored when -total is set)")
	flag.Int64Var(&o.total, "total", 0, "send exactly this many alerts instead of running for -duration")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Second, "per-request timeout")
	flag.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	silences := flag.Int("silences", 0, "first create this many active silences on the target (POST /api/v2/silences)")
	onlySilences := flag.Bool("only-silences", false, "create the -silences and exit (no load)")
	recv := flag.String("receive", "", "instead of a load, serve a webhook sink on this address (GET /count: POSTs received)")
	flag.Parse()
	if *recv != "" {
		fmt.Fprintln(os.Stderr, "ingestload: webhook sink:", receive(*recv))
		os.Exit(1)
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "ingestload:", err)
		flag.Usage()
		os.Exit(2)
	}
	if *silences > 0 {
		if err := postSilences(o.url, *silences, o.distinct); err != nil {
			fmt.Fprintln(os.Stderr, "ingestload: silences:", err)
			os.Exit(1)
		}
		if *onlySilences {
			return
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestload:", err)
		os.Exit(1)
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		printResult(os.Stdout, res)
	}
	if res.AlertsAccepted == 0 {
		os.Exit(1)
	}
}

func (o options) validate() error {
	switch {
	case !strings.HasPrefix(o.url, "http://") && !strings.HasPrefix(o.url, "https://"):
		return fmt.Errorf("-url %q: want an http(s) URL", o.url)
	case o.clients < 1:
		return fmt.Errorf("-clients %d: want at least 1", o.clients)
	case o.batch < 1:
		return fmt.Errorf("-batch %d: want at least 1", o.batch)
	case o.distinct < 1:
		return fmt.Errorf("-distinct %d: want at least 1", o.distinct)
	case o.total < 0:
		return fmt.Errorf("-total %d: want 0 (use -duration) or more", o.total)
	case o.total == 0 && o.duration <= 0:
		return fmt.Errorf("-duration %s: want a positive duration", o.duration)
	}
	return nil
}

func printResult(w io.Writer, r Result) {
	fmt.Fprintf(w, "target            %s\n", r.URL)
	fmt.Fprintf(w, "load              %d clients x %d alerts/request, %d distinct label sets, %.1fs\n",
		r.Clients, r.Batch, r.Distinct, r.Seconds)
	fmt.Fprintf(w, "requests          %d (2xx %d, non-2xx %d, transport errors %d)\n",
		r.Requests, r.Requests2xx, r.RequestsNon2xx, r.TransportErrors)
	fmt.Fprintf(w, "alerts            %d sent, %d accepted\n", r.AlertsSent, r.AlertsAccepted)
	fmt.Fprintf(w, "accepted alerts/s %.0f\n", r.AcceptedPerSec)
	fmt.Fprintf(w, "latency           p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", r.P50Millis, r.P99Millis, r.MaxMillis)
	if r.FirstError != "" {
		fmt.Fprintf(w, "first error       %s\n", r.FirstError)
	}
}

// corpus holds the pre-encoded alerts: for alert i, head[i] is
// `{"labels":{...},"annotations":{...},"startsAt":"` and the body continues
// with the start time, `","endsAt":"`, the end time and `"}`.
type corpus struct {
	head [][]byte
}

func newCorpus(distinct int) (*corpus, error) {
	c := &corpus{head: make([][]byte, distinct)}
	for i := range distinct {
		ls := loadgen.LabelSet(i)
		ann := map[string]string{
			"summary": fmt.Sprintf("%s on %s (%s)", ls["alertname"], ls["instance"], ls["service"]),
			"description": fmt.Sprintf("%s has fired for %s in %s/%s; see the runbook for %s.",
				ls["alertname"], ls["pod"], ls["cluster"], ls["namespace"], ls["service"]),
		}
		lb, err := json.Marshal(ls)
		if err != nil {
			return nil, err
		}
		ab, err := json.Marshal(ann)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		b.WriteString(`{"labels":`)
		b.Write(lb)
		b.WriteString(`,"annotations":`)
		b.Write(ab)
		b.WriteString(`,"generatorURL":"http://prometheus.example/graph","startsAt":"`)
		c.head[i] = b.Bytes()
	}
	return c, nil
}

// clock caches the formatted startsAt/endsAt, refreshed every 100 ms.
type clock struct {
	v atomic.Pointer[[2]string]
}

func (c *clock) set(now time.Time) {
	s := [2]string{now.UTC().Format(time.RFC3339Nano), now.Add(5 * time.Minute).UTC().Format(time.RFC3339Nano)}
	c.v.Store(&s)
}

func (c *corpus) body(buf *bytes.Buffer, first, n int, ts *[2]string) {
	buf.Reset()
	buf.WriteByte('[')
	for k := 0; k < n; k++ {
		if k > 0 {
			buf.WriteByte(',')
		}
		buf.Write(c.head[(first+k)%len(c.head)])
		buf.WriteString(ts[0])
		buf.WriteString(`","endsAt":"`)
		buf.WriteString(ts[1])
		buf.WriteString(`"}`)
	}
	buf.WriteByte(']')
}

func run(ctx context.Context, o options) (Result, error) {
	c, err := newCorpus(o.distinct)
	if err != nil {
		return Result{}, err
	}
	var clk clock
	clk.set(time.Now())
	client := &http.Client{
		Timeout: o.timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        o.clients * 2,
			MaxIdleConnsPerHost: o.clients * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}

	// Check the target answers before measuring.
	probe, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, strings.NewReader("[]"))
	if err != nil {
		return Result{}, err
	}
	probe.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(probe)
	if err != nil {
		return Result{}, fmt.Errorf("target not reachable: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if o.total == 0 {
		runCtx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case now := <-t.C:
				clk.set(now)
			}
		}
	}()

	var (
		next                      atomic.Int64 // next alert sequence number
		reqs, ok2xx, non2xx, terr atomic.Int64
		sent, accepted            atomic.Int64
		firstErr                  atomic.Pointer[string]
		wg                        sync.WaitGroup
		lat                       = make([][]time.Duration, o.clients)
	)
	noteErr := func(s string) { firstErr.CompareAndSwap(nil, &s) }
	start := time.Now()
	for w := range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for runCtx.Err() == nil {
				n := int64(o.batch)
				seq := next.Add(n) - n
				if o.total > 0 {
					if seq >= o.total {
						return
					}
					n = min(n, o.total-seq)
				}
				c.body(&buf, int(seq%int64(o.distinct)), int(n), clk.v.Load())
				req, err := http.NewRequestWithContext(runCtx, http.MethodPost, o.url, bytes.NewReader(buf.Bytes()))
				if err != nil {
					noteErr(err.Error())
					return
				}
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if runCtx.Err() != nil {
						return // the run ended mid-request: not the server's fault
					}
					reqs.Add(1)
					sent.Add(n)
					terr.Add(1)
					noteErr(err.Error())
					continue
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				reqs.Add(1)
				sent.Add(n)
				if resp.StatusCode/100 == 2 {
					ok2xx.Add(1)
					accepted.Add(n)
				} else {
					non2xx.Add(1)
					noteErr(fmt.Sprintf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body)))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		i := int(p * float64(len(all)-1))
		return float64(all[i]) / float64(time.Millisecond)
	}
	r := Result{
		URL: o.url, Clients: o.clients, Batch: o.batch, Distinct: o.distinct,
		Seconds:  elapsed.Seconds(),
		Requests: reqs.Load(), Requests2xx: ok2xx.Load(), RequestsNon2xx: non2xx.Load(), TransportErrors: terr.Load(),
		AlertsSent: sent.Load(), AlertsAccepted: accepted.Load(),
		P50Millis: q(0.50), P99Millis: q(0.99), MaxMillis: q(1),
	}
	if elapsed > 0 {
		r.AcceptedPerSec = float64(r.AlertsAccepted) / elapsed.Seconds()
	}
	if e := firstErr.Load(); e != nil {
		r.FirstError = *e
	}
	return r, nil
}
