// Package siftproc runs a real `sift serve` for the hostile-load
// benchmarks (benchmarks/overload, benchmarks/soak): start it on a free
// loopback port in a data directory, wait until it is ready, read its
// resident memory and metrics, stop it with SIGTERM or kill it with
// SIGKILL, and start it again on the same data directory. It also holds
// what both benchmarks send and measure: alert bodies and latency
// quantiles.
package siftproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one sift serve process (restartable on the same data dir).
type Proc struct {
	Bin     string // the sift binary
	DataDir string
	Config  string // --config file ("" for none)
	Addr    string // host:port it listens on
	LogPath string // stdout and stderr, appended across restarts

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error // of the last exit
}

// New prepares a process on a free loopback port; call Start.
func New(bin, dataDir, config, logPath string) (*Proc, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	return &Proc{Bin: bin, DataDir: dataDir, Config: config, Addr: fmt.Sprintf("127.0.0.1:%d", port), LogPath: logPath}, nil
}

// URL is the base URL of the server.
func (p *Proc) URL() string { return "http://" + p.Addr }

// Start starts the process and waits (up to timeout) until /readyz
// answers 200; it returns how long that took.
func (p *Proc) Start(timeout time.Duration) (time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return 0, errors.New("siftproc: already running")
	}
	args := []string{"serve", "--listen", p.Addr, "--data-dir", p.DataDir}
	if p.Config != "" {
		args = append(args, "--config", p.Config)
	}
	logf, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(logf, "---- siftproc: %s %s at %s\n", p.Bin, strings.Join(args, " "), time.Now().UTC().Format(time.RFC3339))
	cmd := exec.Command(p.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return 0, err
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(done)
	}()
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := start.Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case <-done:
			return 0, fmt.Errorf("siftproc: sift exited while starting (%v); see %s", p.err, p.LogPath)
		default:
		}
		resp, err := client.Get(p.URL() + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start), nil
			}
		}
	}
	return 0, fmt.Errorf("siftproc: not ready within %s; see %s", timeout, p.LogPath)
}

// PID is the process id (0 when not running).
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Stop sends sig (SIGTERM or SIGKILL) and waits up to timeout for the
// exit; after the timeout it kills the process. It returns how long the
// exit took and the exit error (nil for a clean exit).
func (p *Proc) Stop(sig syscall.Signal, timeout time.Duration) (time.Duration, error) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return 0, nil
	}
	start := time.Now()
	cmd.Process.Signal(sig)
	var err error
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		err = fmt.Errorf("siftproc: no exit within %s of %v: killed", timeout, sig)
	}
	took := time.Since(start)
	p.mu.Lock()
	if err == nil && sig != syscall.SIGKILL {
		err = p.err
	}
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	return took, err
}

// Exited reports whether a started process has exited on its own.
func (p *Proc) Exited() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// RSS returns the resident set size of pid in bytes (VmRSS in
// /proc/PID/status).
func RSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// Metrics fetches /metrics and returns the value of each unlabelled
// sample whose name is in names (missing names are absent).
func Metrics(ctx context.Context, client *http.Client, baseURL string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// RSSSampler reads a process's RSS every interval and keeps the peak and
// every sample.
type RSSSampler struct {
	mu      sync.Mutex
	pid     func() int
	samples []RSSSample
	peak    int64
	mark    int64 // the peak since the last Mark
	stop    chan struct{}
	stopped chan struct{}
}

// RSSSample is one reading (Bytes 0: the process was not running).
type RSSSample struct {
	At    time.Time `json:"at"`
	Bytes int64     `json:"rss_bytes"`
}

// SampleRSS starts sampling the process pid() names every interval.
func SampleRSS(pid func() int, interval time.Duration) *RSSSampler {
	s := &RSSSampler{pid: pid, stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(s.stopped)
		t := time.NewTicker(interval)
		defer t.Stop()
		s.sample()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *RSSSampler) sample() {
	var b int64
	if pid := s.pid(); pid > 0 {
		b, _ = RSS(pid)
	}
	s.mu.Lock()
	s.samples = append(s.samples, RSSSample{At: time.Now(), Bytes: b})
	s.peak = max(s.peak, b)
	s.mark = max(s.mark, b)
	s.mu.Unlock()
}

// Now takes a sample at once and returns it.
func (s *RSSSampler) Now() int64 {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples[len(s.samples)-1].Bytes
}

// Peak is the highest sample so far.
func (s *RSSSampler) Peak() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Mark returns the peak since the previous Mark and starts a new one.
func (s *RSSSampler) Mark() int64 {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mark
	s.mark = 0
	return m
}

// Stop ends sampling and returns every sample.
func (s *RSSSampler) Stop() []RSSSample {
	close(s.stop)
	<-s.stopped
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// Quantile returns the q-quantile (0..1) of sorted durations, in ms.
func Quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(q*float64(len(sorted)-1))]) / float64(time.Millisecond)
}

// Latencies collects request latencies safely from many goroutines.
type Latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

// Add records one latency.
func (l *Latencies) Add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// Take returns the recorded latencies, sorted, and starts afresh.
func (l *Latencies) Take() []time.Duration {
	l.mu.Lock()
	d := l.d
	l.d = nil
	l.mu.Unlock()
	slices.Sort(d)
	return d
}

// AlertJSON appends one Alertmanager v2 postable alert to buf: labels (in
// the order of keys, whose values must be plain JSON-safe text: no quote,
// backslash or control character), a summary annotation, startsAt and, if
// not zero, endsAt.
func AlertJSON(buf *bytes.Buffer, keys []string, labels map[string]string, summary string, startsAt, endsAt time.Time) {
	buf.WriteString(`{"labels":{`)
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('"')
		buf.WriteString(k)
		buf.WriteString(`":"`)
		buf.WriteString(labels[k])
		buf.WriteByte('"')
	}
	buf.WriteString(`},"annotations":{"summary":`)
	buf.WriteString(strconv.Quote(summary))
	buf.WriteString(`},"startsAt":"`)
	buf.WriteString(startsAt.UTC().Format(time.RFC3339Nano))
	buf.WriteByte('"')
	if !endsAt.IsZero() {
		buf.WriteString(`,"endsAt":"`)
		buf.WriteString(endsAt.UTC().Format(time.RFC3339Nano))
		buf.WriteByte('"')
	}
	buf.WriteByte('}')
}

// SortedKeys returns the keys of m in order.
func SortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// HTTPClient is a client for one local server: keep-alive, no compression.
func HTTPClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// MiB formats bytes as MiB.
func MiB(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// Workdir checks that the sift binary exists and makes a temporary
// directory named after prefix for a run; cleanup removes it unless keep.
func Workdir(sift, prefix string, keep bool) (bin, work string, cleanup func(), err error) {
	if bin, err = filepath.Abs(sift); err != nil {
		return "", "", nil, err
	}
	if _, err := os.Stat(bin); err != nil {
		return "", "", nil, fmt.Errorf("%s: %w (go build -o bin/sift ./cmd/sift)", sift, err)
	}
	if work, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", nil, err
	}
	cleanup = func() {
		if !keep {
			os.RemoveAll(work)
		}
	}
	return bin, work, cleanup, nil
}
