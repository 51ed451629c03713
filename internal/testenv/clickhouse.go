package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ClickHouseConfigDir is where the packaged config.xml and users.xml are
// copied from.
var ClickHouseConfigDir = "/etc/clickhouse-server"

// StartClickHouse starts a fresh private ClickHouse server and returns its
// native-protocol address (127.0.0.1:PORT, for clickhouse-go) and HTTP base
// URL (http://127.0.0.1:PORT). It is stopped when t ends. Start-up takes a
// few seconds; tests that can share a server should use SharedClickHouse.
// Skips (fails under CI=true) without clickhouse-server.
//
// The packaged /etc/clickhouse-server/config.xml and users.xml are copied to
// a temporary directory with data and log paths moved there, own ports, and
// the ::1 listen_host dropped (IPv6 may be unavailable).
func StartClickHouse(t testing.TB) (nativeAddr, httpURL string) {
	t.Helper()
	bin := Require(t, "clickhouse-server")["clickhouse-server"]
	dir := t.TempDir()
	var native, httpU string
	startForTest(t, "clickhouse", func() (launch, error) {
		l, n, h, err := clickHouseLaunch(bin, dir)
		native, httpU = n, h
		return l, err
	})
	return native, httpU
}

var shared struct {
	mu     sync.Mutex
	p      *proc
	dir    string
	native string
	http   string
	err    error
}

// SharedClickHouse returns the ClickHouse server shared by all tests of this
// test binary, starting it on first use. Tests must not assume an empty
// server: give each test its own database (NewClickHouseDatabase) or unique
// table names. Stop it with StopShared from TestMain (see Main).
// Skips (fails under CI=true) without clickhouse-server.
func SharedClickHouse(t testing.TB) (nativeAddr, httpURL string) {
	t.Helper()
	bin := Require(t, "clickhouse-server")["clickhouse-server"]
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		t.Fatalf("testenv: shared ClickHouse failed to start earlier: %v", shared.err)
	}
	if shared.p != nil && !shared.p.exited() {
		return shared.native, shared.http
	}
	if shared.p != nil { // it died: report once, then start a new one
		t.Logf("testenv: shared ClickHouse had exited (%v); restarting\n%s", shared.p.waitErr, shared.p.logs())
	}
	if shared.dir == "" {
		d, err := os.MkdirTemp("", "sift-clickhouse-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = d
	}
	runDir, err := os.MkdirTemp(shared.dir, "run-")
	if err != nil {
		t.Fatal(err)
	}
	p, err := startServer("clickhouse (shared)", func() (launch, error) {
		l, n, h, err := clickHouseLaunch(bin, runDir)
		shared.native, shared.http = n, h
		return l, err
	})
	if err != nil {
		shared.err = err
		t.Fatalf("testenv: cannot start shared ClickHouse: %v", err)
	}
	shared.p = p
	return shared.native, shared.http
}

// StopShared stops the servers shared by this test binary (SharedClickHouse)
// and removes their directories. Safe to call when none was started.
func StopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.p != nil {
		shared.p.stop()
		shared.p = nil
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
		shared.dir = ""
	}
}

// Main runs the tests and then stops shared servers; use it as
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

var (
	reListenV6 = regexp.MustCompile(`(?m)^[ \t]*<listen_host>::1</listen_host>[ \t]*\n?`)
	chPorts    = []string{"http_port", "tcp_port", "interserver_http_port", "mysql_port", "postgresql_port"}
)

// clickHouseLaunch writes a config into dir (with fresh ports) and returns
// how to start the server.
func clickHouseLaunch(bin, dir string) (l launch, nativeAddr, httpURL string, err error) {
	cfg, err := os.ReadFile(filepath.Join(ClickHouseConfigDir, "config.xml"))
	if err != nil {
		return l, "", "", fmt.Errorf("read packaged ClickHouse config: %w", err)
	}
	users, err := os.ReadFile(filepath.Join(ClickHouseConfigDir, "users.xml"))
	if err != nil {
		return l, "", "", fmt.Errorf("read packaged ClickHouse users: %w", err)
	}
	dataDir := filepath.Join(dir, "data") + "/"
	logDir := filepath.Join(dir, "log") + "/"
	for _, d := range []string{dataDir, logDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return l, "", "", err
		}
	}
	s := string(cfg)
	s = strings.ReplaceAll(s, "/var/lib/clickhouse/", dataDir)
	s = strings.ReplaceAll(s, "/var/log/clickhouse-server/", logDir)
	s = reListenV6.ReplaceAllString(s, "")
	ports := map[string]int{}
	for _, name := range chPorts {
		re := regexp.MustCompile(`<` + name + `>\d+</` + name + `>`)
		if !re.MatchString(s) {
			continue
		}
		p, err := freePort()
		if err != nil {
			return l, "", "", err
		}
		ports[name] = p
		s = re.ReplaceAllString(s, fmt.Sprintf("<%s>%d</%s>", name, p, name))
	}
	if ports["http_port"] == 0 || ports["tcp_port"] == 0 {
		return l, "", "", fmt.Errorf("%s/config.xml has no <http_port>/<tcp_port> to rewrite", ClickHouseConfigDir)
	}
	cfgPath := filepath.Join(dir, "config.xml")
	if err := os.WriteFile(cfgPath, []byte(s), 0o644); err != nil {
		return l, "", "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), users, 0o644); err != nil {
		return l, "", "", err
	}
	nativeAddr = "127.0.0.1:" + strconv.Itoa(ports["tcp_port"])
	httpURL = "http://127.0.0.1:" + strconv.Itoa(ports["http_port"])
	return launch{
		bin:      bin,
		args:     []string{"--config-file=" + cfgPath},
		dir:      dir,
		readyURL: httpURL + "/ping",
		logFiles: []string{
			filepath.Join(logDir, "clickhouse-server.err.log"),
			filepath.Join(logDir, "clickhouse-server.log"),
		},
	}, nativeAddr, httpURL, nil
}

// ClickHouseQuery runs query over ClickHouse's HTTP interface and returns
// the response body; a non-200 answer fails the test.
func ClickHouseQuery(t testing.TB, httpURL, query string) string {
	t.Helper()
	out, err := clickHouseQuery(httpURL, query)
	if err != nil {
		t.Fatalf("testenv: ClickHouse query %q: %v", query, err)
	}
	return out
}

// clickHouseQuery is ClickHouseQueryIn in the server's default database.
func clickHouseQuery(httpURL, query string) (string, error) {
	return ClickHouseQueryIn(httpURL, "", query)
}

// ClickHouseQueryIn runs query over ClickHouse's HTTP interface at httpURL
// in database (the server's default database when empty) and returns the
// response body. Unlike ClickHouseQuery it does not fail the test: a
// non-200 answer is an error with the status and the server's message.
func ClickHouseQueryIn(httpURL, database, query string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	u := httpURL + "/"
	if database != "" {
		u += "?" + url.Values{"database": {database}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(query))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

var dbSeq atomic.Int64

// NewClickHouseDatabase creates a database with a unique name on the server
// at httpURL (e.g. from SharedClickHouse), drops it when t ends, and
// returns its name.
func NewClickHouseDatabase(t testing.TB, httpURL string) string {
	t.Helper()
	name := "t_" + sanitize(t.Name()) + "_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) +
		"_" + strconv.FormatInt(dbSeq.Add(1), 10)
	ClickHouseQuery(t, httpURL, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		if _, err := clickHouseQuery(httpURL, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
		}
	})
	return name
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
