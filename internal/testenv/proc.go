package testenv

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readyTimeout bounds how long a server may take to answer its readiness
// URL. Generous: the machines running CI are small and shared.
var readyTimeout = 90 * time.Second

// startAttempts is how many times a server is started with fresh ports when
// it exits before becoming ready (typically: a port was taken in between).
const startAttempts = 3

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// proc is one server process started by this package.
type proc struct {
	name     string
	cmd      *exec.Cmd
	out      *tailBuffer
	done     chan struct{}
	waitErr  error
	logFiles []string // server log files worth showing on failure
	stopOnce sync.Once
}

func startProc(name, bin string, args []string, dir string) (*proc, error) {
	p := &proc{name: name, out: &tailBuffer{max: 64 << 10}, done: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	// Own process group (a terminal's ^C goes to the test binary, which then
	// stops us in order) and SIGKILL when the test binary dies, so that a
	// timed-out or crashed test leaves no server behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitReady polls url until it answers 200, the process exits, or the
// timeout passes.
func (p *proc) waitReady(url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready (%v)", p.name, p.waitErr)
		}
		resp, err := client.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("GET %s: %s", url, resp.Status)
		} else {
			last = err
		}
		select {
		case <-p.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s: %v", p.name, timeout, last)
}

// stop sends SIGTERM, waits up to 15 s, then SIGKILLs.
func (p *proc) stop() {
	p.stopOnce.Do(func() {
		if p.exited() {
			return
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// logs returns the process output and the tails of its log files.
func (p *proc) logs() string {
	var b strings.Builder
	fmt.Fprintf(&b, "---- %s output ----\n%s", p.name, p.out.String())
	for _, f := range p.logFiles {
		data, err := os.ReadFile(f)
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > 16<<10 {
			data = data[len(data)-16<<10:]
		}
		fmt.Fprintf(&b, "\n---- %s ----\n%s", f, data)
	}
	return b.String()
}

// launch describes one start attempt of a server.
type launch struct {
	bin      string
	args     []string
	dir      string
	readyURL string
	logFiles []string
}

// startServer starts a server described by setup (called again with fresh
// ports on each attempt), waits for readiness, and returns it. It does not
// register any cleanup.
func startServer(name string, setup func() (launch, error)) (*proc, error) {
	var errs []error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		l, err := setup()
		if err != nil {
			return nil, err
		}
		p, err := startProc(name, l.bin, l.args, l.dir)
		if err != nil {
			return nil, err
		}
		p.logFiles = l.logFiles
		err = p.waitReady(l.readyURL, readyTimeout)
		if err == nil {
			return p, nil
		}
		exitedEarly := p.exited()
		p.stop()
		errs = append(errs, fmt.Errorf("attempt %d: %w\n%s", attempt, err, p.logs()))
		if !exitedEarly {
			break // hung rather than crashed: a retry will not help
		}
	}
	return nil, errors.Join(errs...)
}

// startForTest starts a server owned by t: stopped in t.Cleanup, with its
// output logged if the test failed.
func startForTest(t testing.TB, name string, setup func() (launch, error)) *proc {
	t.Helper()
	p, err := startServer(name, setup)
	if err != nil {
		t.Fatalf("testenv: cannot start %s: %v", name, err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("testenv: %s logs (test failed):\n%s", name, p.logs())
		}
	})
	return p
}

// startHTTPDaemon starts bin for the test on a free 127.0.0.1 port with a
// fresh data directory (prefix dataPrefix) under dir, with the arguments
// args returns for that address and directory, waits until its /-/ready
// answers, and returns its base URL. A start that fails is retried with
// new ports (see startForTest).
func startHTTPDaemon(t testing.TB, name, bin, dir, dataPrefix string, args func(addr, data string) []string) string {
	t.Helper()
	var url string
	startForTest(t, name, func() (launch, error) {
		port, err := freePort()
		if err != nil {
			return launch{}, err
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		url = "http://" + addr
		data, err := os.MkdirTemp(dir, dataPrefix)
		if err != nil {
			return launch{}, err
		}
		return launch{bin: bin, args: args(addr, data), dir: dir, readyURL: url + "/-/ready"}, nil
	})
	return url
}
