package testenv

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMain(m *testing.M) { Main(m) }

func get(t *testing.T, url string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body
}

func TestFreePortIsBindable(t *testing.T) {
	p := FreePort(t)
	if p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d", p)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d from FreePort not bindable: %v", p, err)
	}
	l.Close()
}

// recTB records Fatalf/Skip instead of acting on a real test.
type recTB struct {
	testing.TB
	fatal, skip string
}

func (r *recTB) Helper() {}
func (r *recTB) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recTB) Skip(args ...any) {
	r.skip = fmt.Sprint(args...)
	runtime.Goexit()
}

// run calls f with a recording TB in its own goroutine (Fatalf and Skip
// end it, as on a real test).
func run(t *testing.T, f func(tb testing.TB)) *recTB {
	r := &recTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestRequire(t *testing.T) {
	paths := Require(t, "sh")
	if !strings.HasPrefix(paths["sh"], "/") {
		t.Fatalf("Require(sh) = %q, want an absolute path", paths["sh"])
	}

	// Outside CI a missing binary skips, naming it and the install script.
	t.Setenv("CI", "")
	r := run(t, func(tb testing.TB) { Require(tb, "sh", "sift-no-such-binary-xyz") })
	if r.fatal != "" || !strings.Contains(r.skip, "sift-no-such-binary-xyz") ||
		!strings.Contains(r.skip, "scripts/install-deps.sh") {
		t.Fatalf("outside CI: skip=%q fatal=%q", r.skip, r.fatal)
	}

	// Under CI=true it fails instead.
	t.Setenv("CI", "true")
	r = run(t, func(tb testing.TB) { Require(tb, "amtool", "sift-no-such-binary-xyz") })
	if r.skip != "" || !strings.Contains(r.fatal, "sift-no-such-binary-xyz") || !strings.Contains(r.fatal, "CI=true") {
		t.Fatalf("under CI: skip=%q fatal=%q", r.skip, r.fatal)
	}
}

func TestSharedDataUnsetSkips(t *testing.T) {
	t.Setenv("SIFT_SHARED_DATA", "")
	var skipped bool
	t.Run("unset", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		SharedData(t)
		t.Error("SharedData returned with SIFT_SHARED_DATA unset")
	})
	if !skipped {
		t.Fatal("SharedData did not skip with SIFT_SHARED_DATA unset")
	}
	dir := t.TempDir()
	t.Setenv("SIFT_SHARED_DATA", dir)
	if got := SharedData(t); got != dir {
		t.Fatalf("SharedData = %q, want %q", got, dir)
	}
}

func TestWithRuleFile(t *testing.T) {
	out, err := withRuleFile("global:\n  evaluation_interval: 1s\n", "/x/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "rule_files:") || !strings.Contains(out, "/x/rules.yml") ||
		!strings.Contains(out, "evaluation_interval: 1s") {
		t.Fatalf("withRuleFile result lacks rule file or original settings:\n%s", out)
	}
	kept := "rule_files: [mine.yml]\n"
	out, err = withRuleFile(kept, "/x/rules.yml")
	if err != nil || out != kept {
		t.Fatalf("withRuleFile changed a config that lists rule files: %q, %v", out, err)
	}
	if _, err := withRuleFile("global: [unclosed", "/x"); err == nil {
		t.Fatal("withRuleFile accepted invalid YAML")
	}
}

func TestPrometheus(t *testing.T) {
	rules := `groups:
  - name: testenv
    interval: 1s
    rules:
      - alert: TestenvAlwaysFiring
        expr: vector(1)
        labels: {severity: info}
`
	url := StartPrometheus(t, "", rules)
	var info struct {
		Status string `json:"status"`
		Data   struct {
			Version string `json:"version"`
		} `json:"data"`
	}
	if err := json.Unmarshal(get(t, url+"/api/v1/status/buildinfo"), &info); err != nil {
		t.Fatal(err)
	}
	if info.Status != "success" || info.Data.Version == "" {
		t.Fatalf("buildinfo: %+v", info)
	}
	t.Logf("prometheus %s at %s", info.Data.Version, url)
	// The rules file must be loaded and evaluated: the alert appears.
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := get(t, url+"/api/v1/alerts")
		if strings.Contains(string(body), "TestenvAlwaysFiring") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rule alert not active after 30s: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestAlertmanager(t *testing.T) {
	url := StartAlertmanager(t, "")
	var st struct {
		Cluster struct {
			Status string `json:"status"`
		} `json:"cluster"`
		VersionInfo struct {
			Version string `json:"version"`
		} `json:"versionInfo"`
		Config struct {
			Original string `json:"original"`
		} `json:"config"`
	}
	if err := json.Unmarshal(get(t, url+"/api/v2/status"), &st); err != nil {
		t.Fatal(err)
	}
	if st.VersionInfo.Version == "" {
		t.Fatalf("no version in /api/v2/status: %+v", st)
	}
	if !strings.Contains(st.Config.Original, "blackhole") {
		t.Fatalf("alertmanager did not load our config: %q", st.Config.Original)
	}
	if st.Cluster.Status != "disabled" {
		t.Errorf("cluster status = %q, want disabled (gossip off)", st.Cluster.Status)
	}
	t.Logf("alertmanager %s at %s", st.VersionInfo.Version, url)
}

func TestClickHouse(t *testing.T) {
	native, httpURL := StartClickHouse(t)
	v := strings.TrimSpace(ClickHouseQuery(t, httpURL, "SELECT version()"))
	if v == "" || !strings.Contains(v, ".") {
		t.Fatalf("SELECT version() = %q", v)
	}
	c, err := net.DialTimeout("tcp", native, 5*time.Second)
	if err != nil {
		t.Fatalf("native port %s: %v", native, err)
	}
	c.Close()
	t.Logf("clickhouse %s at native %s, http %s", v, native, httpURL)
}

func TestSharedClickHouse(t *testing.T) {
	_, h1 := SharedClickHouse(t)
	_, h2 := SharedClickHouse(t)
	if h1 != h2 {
		t.Fatalf("SharedClickHouse gave two servers: %s, %s", h1, h2)
	}
	db := NewClickHouseDatabase(t, h1)
	ClickHouseQuery(t, h1, "CREATE TABLE "+db+".t (a String, n UInt32) ENGINE = MergeTree ORDER BY a")
	ClickHouseQuery(t, h1, "INSERT INTO "+db+".t FORMAT TabSeparated\nx\t1\ny\t2\n")
	got := strings.TrimSpace(ClickHouseQuery(t, h1, "SELECT sum(n) FROM "+db+".t"))
	if got != "3" {
		t.Fatalf("sum = %q, want 3", got)
	}
	if _, err := clickHouseQuery(h1, "SELECT * FROM "+db+".no_such_table"); err == nil {
		t.Fatal("query on a missing table did not fail")
	}
}

func TestChromiumPresent(t *testing.T) {
	// Only resolution: UI tests start the browser themselves.
	p := Require(t, "chromium")["chromium"]
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		t.Fatalf("chromium at %q: %v", p, err)
	}
}

func TestPrometheusSendsToAlertmanager(t *testing.T) {
	am := StartAlertmanager(t, "")
	start := time.Now()
	StartPrometheus(t, PrometheusAlertingConfig(strings.TrimPrefix(am, "http://")), `groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: TestenvE2E
        expr: vector(1)
        labels: {severity: page}
`)
	deadline := time.Now().Add(45 * time.Second)
	for {
		body := get(t, am+"/api/v2/alerts")
		if strings.Contains(string(body), "TestenvE2E") {
			t.Logf("alert reached alertmanager %s after prometheus start", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("alert from prometheus not at alertmanager after 45s: %s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestWaitForAndMetricSum(t *testing.T) {
	n := 0
	WaitFor(t, time.Second, "three polls", func() bool { n++; return n == 3 })
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, []string{"k"})
	reg.MustRegister(c)
	c.WithLabelValues("a").Add(2)
	c.WithLabelValues("b").Add(3)
	if v := MetricSum(t, reg, "x_total"); v != 5 {
		t.Fatalf("MetricSum = %v, want 5", v)
	}
}
