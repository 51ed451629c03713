package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/sift-aiops/sift/config"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/model"
)

// replayLine is one line of replay input.
type replayLine struct {
	At    string          `json:"at"`
	Alert json.RawMessage `json:"alert"`
}

// ReplayIncident is one line of replay output.
type ReplayIncident struct {
	ID         string                `json:"id"`
	Alerts     []string              `json:"alerts"`
	Members    []ReplayMember        `json:"members"`
	RootCause  string                `json:"root_cause"`
	Evidence   []string              `json:"root_cause_evidence,omitempty"`
	Title      string                `json:"title"`
	Status     string                `json:"status"`
	Severity   string                `json:"severity,omitempty"`
	Services   []string              `json:"services,omitempty"`
	OpenedAt   time.Time             `json:"opened_at"`
	ResolvedAt *time.Time            `json:"resolved_at,omitempty"`
	Problem    string                `json:"problem"`
	Class      *model.Classification `json:"classification,omitempty"`
}

// ReplayMember is an alert of a replayed incident and why it joined.
type ReplayMember struct {
	Fingerprint string    `json:"fingerprint"`
	Alertname   string    `json:"alertname"`
	JoinedAt    time.Time `json:"joined_at"`
	Reason      string    `json:"reason"`
	Detail      string    `json:"detail"`
}

type replayStats struct {
	lines    int
	rejected int
	badLines []string
}

func replayMain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML); none: built-in defaults")
	input := fs.String("input", "", "replay input, NDJSON: {\"at\": RFC3339, \"alert\": {Alertmanager v2 alert}} per line (- for stdin)")
	output := fs.String("output", "", "incidents output, NDJSON, one incident per line (- or empty for stdout)")
	progress := fs.Bool("progress", isTerminal(stderr), "show a progress bar on stderr")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *input == "" {
		fmt.Fprintln(stderr, "sift replay: --input is required (use - for stdin)")
		return 2
	}
	cfg := config.Default()
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "sift replay: invalid configuration: %v\n", err)
			return 1
		}
		cfg = c
	}
	var in io.Reader = stdin
	var size int64
	if *input != "-" {
		f, err := os.Open(*input)
		if err != nil {
			fmt.Fprintf(stderr, "sift replay: %v\n", err)
			return 1
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			size = st.Size()
		}
		in = f
	}
	var out io.Writer = stdout
	var outFile *os.File
	if *output != "" && *output != "-" {
		f, err := os.Create(*output)
		if err != nil {
			fmt.Fprintf(stderr, "sift replay: %v\n", err)
			return 1
		}
		outFile = f
		out = f
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "sift replay: %v\n", err)
			return 1
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	var bar *progressBar
	if *progress && size > 0 {
		bar = &progressBar{w: stderr, total: size, start: start}
	}
	eng := correlate.New(cfg.Correlate, cfg.Topology)
	eng.SetSLA(cfg.SLA.Policy())
	st, err := replay(in, ingest.NewDecoder(cfg.Ingest), eng, bar)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		fmt.Fprintf(stderr, "sift replay: %v\n", err)
		return 1
	}
	var incs []*model.Incident
	for _, inc := range eng.All() {
		if len(inc.Members) > 0 {
			incs = append(incs, inc)
		}
	}
	bw := bufio.NewWriterSize(out, 1<<20)
	if err := writeIncidents(bw, incs); err == nil {
		err = bw.Flush()
	}
	if outFile != nil {
		if cerr := outFile.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "sift replay: write output: %v\n", err)
		return 1
	}
	elapsed := time.Since(start)
	known, _ := eng.AlertCount()
	accepted := st.lines - st.rejected
	fmt.Fprintf(stderr, "lines read:        %d\n", st.lines)
	fmt.Fprintf(stderr, "rejected:          %d\n", st.rejected)
	for _, b := range st.badLines {
		fmt.Fprintf(stderr, "  %s\n", b)
	}
	if st.rejected > len(st.badLines) {
		fmt.Fprintf(stderr, "  ... and %d more\n", st.rejected-len(st.badLines))
	}
	fmt.Fprintf(stderr, "distinct alerts:   %d\n", known)
	fmt.Fprintf(stderr, "incidents:         %d\n", len(incs))
	fmt.Fprintf(stderr, "problems:          %d\n", len(eng.Problems()))
	if len(incs) > 0 {
		fmt.Fprintf(stderr, "compression ratio: %.1fx (%d alert notifications -> %d incidents)\n", float64(accepted)/float64(len(incs)), accepted, len(incs))
	}
	fmt.Fprintf(stderr, "took:              %s (%.0f lines/s)\n", elapsed.Round(time.Millisecond), float64(st.lines)/elapsed.Seconds())
	return 0
}

func writeIncidents(w io.Writer, incs []*model.Incident) error {
	enc := json.NewEncoder(w)
	for _, inc := range incs {
		if len(inc.Members) == 0 {
			continue // merged into another incident
		}
		o := ReplayIncident{ID: inc.ID, RootCause: inc.RootCause.Service, Evidence: inc.RootCause.Evidence, Title: inc.Title,
			Status: inc.Status, Severity: inc.Severity, Services: inc.Services, OpenedAt: inc.OpenedAt, Problem: inc.Problem,
			Class: inc.Class, Alerts: make([]string, 0, len(inc.Members)), Members: make([]ReplayMember, 0, len(inc.Members))}
		if !inc.ResolvedAt.IsZero() {
			t := inc.ResolvedAt
			o.ResolvedAt = &t
		}
		for _, m := range inc.Members {
			fp := m.Fingerprint.String()
			o.Alerts = append(o.Alerts, fp)
			o.Members = append(o.Members, ReplayMember{Fingerprint: fp, Alertname: m.Name, JoinedAt: m.JoinedAt, Reason: m.Reason.Kind, Detail: m.Reason.Detail})
		}
		if err := enc.Encode(&o); err != nil {
			return err
		}
	}
	return nil
}

// chunk is a run of consecutive input lines, decoded by a worker.
type chunk struct {
	first   int // line number of lines[0]
	n       int // number of lines
	lines   [][]byte
	batches []model.Batch
	errs    []string
	read    int64
	done    chan struct{}
}

const maxBadLines = 20

// replay decodes the input in parallel and applies it to eng in order.
func replay(in io.Reader, dec *ingest.Decoder, eng *correlate.Engine, bar *progressBar) (replayStats, error) {
	return replayThen(in, dec, eng, bar, nil)
}

// replayThen is replay calling after (if not nil) after each batch.
func replayThen(in io.Reader, dec *ingest.Decoder, eng *correlate.Engine, bar *progressBar, after func() error) (replayStats, error) {
	var st replayStats
	workers := runtime.GOMAXPROCS(0)
	todo := make(chan *chunk, workers*2)
	ordered := make(chan *chunk, workers*4)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Replay input repeats the same alerts over and over: a stream
			// session decodes each label set once.
			sess := dec.NewStreamSession()
			for c := range todo {
				decodeChunk(c, sess)
				close(c.done)
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(todo)
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		line := 0
		c := &chunk{first: 1, done: make(chan struct{})}
		flush := func() {
			if len(c.lines) == 0 {
				return
			}
			todo <- c
			ordered <- c
			c = &chunk{first: line + 1, done: make(chan struct{})}
		}
		for sc.Scan() {
			line++
			b := sc.Bytes()
			c.read += int64(len(b) + 1)
			c.lines = append(c.lines, append([]byte(nil), b...))
			if len(c.lines) == 2048 {
				flush()
			}
		}
		flush()
		if err := sc.Err(); err != nil {
			readErr <- fmt.Errorf("read input at line %d: %w", line+1, err)
		}
		close(readErr)
	}()
	for c := range ordered {
		<-c.done
		st.lines += c.n
		st.rejected += len(c.errs)
		for _, e := range c.errs {
			if len(st.badLines) < maxBadLines {
				st.badLines = append(st.badLines, e)
			}
		}
		for i := range c.batches {
			eng.ApplyBatch(&c.batches[i])
			if after != nil {
				if err := after(); err != nil {
					return st, err
				}
			}
		}
		if bar != nil {
			bar.add(c.read)
		}
	}
	wg.Wait()
	if err := <-readErr; err != nil {
		return st, err
	}
	return st, nil
}

func decodeChunk(c *chunk, sess *ingest.Session) {
	c.n = len(c.lines)
	c.batches = make([]model.Batch, 0, len(c.lines))
	for i, raw := range c.lines {
		n := c.first + i
		if len(bytes.TrimSpace(raw)) == 0 {
			c.errs = append(c.errs, fmt.Sprintf("line %d: empty line", n))
			continue
		}
		var l replayLine
		if at, alert, ok := splitReplayLine(raw); ok {
			l.At, l.Alert = at, alert
		} else if err := json.Unmarshal(raw, &l); err != nil {
			c.errs = append(c.errs, fmt.Sprintf("line %d: invalid JSON: %v", n, err))
			continue
		}
		if l.At == "" {
			c.errs = append(c.errs, fmt.Sprintf("line %d: at: missing", n))
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, l.At)
		if err != nil {
			c.errs = append(c.errs, fmt.Sprintf("line %d: at: invalid time %q (want RFC 3339)", n, l.At))
			continue
		}
		if len(l.Alert) == 0 || l.Alert[0] != '{' {
			c.errs = append(c.errs, fmt.Sprintf("line %d: alert: missing or not an object", n))
			continue
		}
		alerts, err := sess.AppendDecode(nil, ingest.FormatAMv2, l.Alert, at)
		if err != nil {
			var ie *ingest.Error
			if errors.As(err, &ie) {
				c.errs = append(c.errs, fmt.Sprintf("line %d: alert%s", n, prefixField(ie.Error())))
			} else {
				c.errs = append(c.errs, fmt.Sprintf("line %d: alert: %v", n, err))
			}
			continue
		}
		c.batches = append(c.batches, model.Batch{At: at, Source: "replay", Alerts: alerts})
	}
	c.lines = nil
}

func prefixField(msg string) string {
	if strings.HasPrefix(msg, ".") || strings.HasPrefix(msg, "[") {
		return msg
	}
	return ": " + msg
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type progressBar struct {
	w     io.Writer
	total int64
	done  int64
	start time.Time
	last  time.Time
}

func (p *progressBar) add(n int64) {
	p.done += n
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progressBar) draw() {
	frac := float64(p.done) / float64(p.total)
	if frac > 1 {
		frac = 1
	}
	const width = 40
	n := int(frac * width)
	fmt.Fprintf(p.w, "\r[%s%s] %3.0f%% %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), frac*100, time.Since(p.start).Round(100*time.Millisecond))
}

func (p *progressBar) finish() {
	p.done = p.total
	p.draw()
	fmt.Fprintln(p.w)
}
