// Package testenv gives tests real components to run against: it finds the
// binaries installed by scripts/install-deps.sh and starts private
// Prometheus, Alertmanager and ClickHouse servers on free loopback ports,
// each in its own temporary directory, stopped when the test ends.
//
// Missing binaries make a test skip with a message saying how to install
// them, except under CI (env CI=true), where they make it fail: CI must never
// pass by skipping the real-component tests.
//
// Starting ClickHouse takes seconds, so besides StartClickHouse (a fresh
// server per call) there is SharedClickHouse, one server per test binary.
// Packages that use it should stop it from TestMain:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// (Without that the server still dies with the test binary, because every
// process started here gets SIGKILL when its parent exits, but its temporary
// directory is left behind.)
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// packages maps the binaries tests look for to the Debian package that
// provides them, for the install hint.
var packages = map[string]string{
	"clickhouse-server":       "clickhouse-server",
	"clickhouse-client":       "clickhouse-client",
	"clickhouse":              "clickhouse-server",
	"prometheus":              "prometheus",
	"promtool":                "prometheus",
	"prometheus-alertmanager": "prometheus-alertmanager",
	"amtool":                  "prometheus-alertmanager",
	"kcat":                    "kcat",
	"chromium":                "chromium",
	"chromedriver":            "chromium-driver",
}

// InCI reports whether the tests run under CI (env CI == "true"), where a
// missing component is a failure, not a reason to skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// LookPath finds bin on PATH, then in /usr/sbin and /usr/bin (non-root PATHs
// often lack /usr/sbin, where clickhouse-server lives). It returns "" if the
// binary is nowhere.
func LookPath(bin string) string {
	if p, err := exec.LookPath(bin); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			return abs
		}
		return p
	}
	if strings.ContainsRune(bin, '/') {
		return ""
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin", "/sbin"} {
		p := filepath.Join(dir, bin)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Require resolves each binary and returns name -> absolute path. If any is
// missing the test is skipped with the reason and how to install it, or,
// under CI=true, fails.
func Require(t testing.TB, bins ...string) map[string]string {
	t.Helper()
	paths := make(map[string]string, len(bins))
	var missing, pkgs []string
	for _, b := range bins {
		p := LookPath(b)
		if p == "" {
			missing = append(missing, b)
			pkg := packages[b]
			if pkg == "" {
				pkg = b
			}
			pkgs = append(pkgs, pkg)
			continue
		}
		paths[b] = p
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("testenv: %s not found on PATH; install with scripts/install-deps.sh "+
			"(Debian: apt-get install --no-install-recommends %s)",
			strings.Join(missing, ", "), strings.Join(pkgs, " "))
		if InCI() {
			t.Fatalf("%s [CI=true: real components are required]", msg)
		}
		t.Skip(msg)
	}
	return paths
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. The
// servers started here retry with new ports if one is taken in between.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("testenv: no free port: %v", err)
	}
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SharedData returns the shared data directory named by $SIFT_SHARED_DATA
// (scripts/test.sh sets it to ../shared/data when that exists). If the
// variable is unset the test is skipped; if it names something that is not a
// directory the test fails, since that is a broken setup.
func SharedData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SIFT_SHARED_DATA")
	if dir == "" {
		t.Skip("SIFT_SHARED_DATA not set: this test needs the shared data directory " +
			"(scripts/test.sh sets it to ../shared/data when present)")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("testenv: SIFT_SHARED_DATA=%q: %v", dir, err)
	}
	if !fi.IsDir() {
		t.Fatalf("testenv: SIFT_SHARED_DATA=%q is not a directory", dir)
	}
	return dir
}
