package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sift-aiops/sift/internal/testenv"
)

// toggleProxy forwards TCP connections to target while up; while down it
// refuses them (accepts and closes), as a ClickHouse that is away would.
type toggleProxy struct {
	ln     net.Listener
	target string
	up     atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newToggleProxy(t *testing.T, target string) *toggleProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &toggleProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setUp(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				c.Close()
				continue
			}
			d, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { io.Copy(d, c); d.Close() }()
			go func() { io.Copy(c, d); c.Close() }()
		}
	}()
	return p
}

func (p *toggleProxy) setUp(up bool) {
	p.up.Store(up)
	if !up {
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
		p.mu.Unlock()
	}
}

// chCount runs a count query (DB. stands for the database); -1 when it
// fails (the table may not exist yet).
func chCount(t *testing.T, httpURL, db, query string) int {
	t.Helper()
	out, err := testenv.ClickHouseQueryIn(httpURL, db, strings.ReplaceAll(query, "DB.", ""))
	if err != nil {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return -1
	}
	return n
}

func postAlerts(t *testing.T, url string, from, n int, start time.Time) {
	t.Helper()
	var batch []map[string]any
	for i := from; i < from+n; i++ {
		batch = append(batch, alertJSON("HistoryProbe", fmt.Sprintf("svc-%d", i%5), fmt.Sprintf("i-%d", i), start, time.Time{}))
	}
	for i := range batch {
		delete(batch[i], "endsAt")
	}
	code, body, err := postJSON(url+"/api/v2/alerts", batch)
	if err != nil || code != 200 {
		t.Fatalf("post alerts: %d %s %v", code, body, err)
	}
}

// History goes to ClickHouse: while ClickHouse is away ingest goes on and
// the rows wait in the spool; a kill -9 loses none of them and writes
// none twice; the analytics API answers from ClickHouse.
func TestHistoryClickHouseOutageAndKill9(t *testing.T) {
	native, httpURL := testenv.SharedClickHouse(t)
	db := testenv.NewClickHouseDatabase(t, httpURL)
	proxy := newToggleProxy(t, native)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir: %s\nhistory:\n  clickhouse: {addr: %q, database: %s}\n  flush_interval: 200ms\n",
		filepath.Join(dir, "data"), proxy.ln.Addr().String(), db)), 0o644)

	// ClickHouse is away from the start: Sift still starts and accepts.
	p := startSift(t, "--config", cfg)
	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	postAlerts(t, p.url, 0, 40, start)
	testenv.WaitFor(t, 10*time.Second, "history backlog", func() bool { return metricValue(t, p.url, "sift_history_backlog") >= 40 })

	proxy.setUp(true)
	testenv.WaitFor(t, 60*time.Second, "40 firing rows in ClickHouse", func() bool {
		return chCount(t, httpURL, db, "SELECT count() FROM DB.alert_events WHERE kind = 'firing'") == 40
	})
	// Posted just before a kill -9: acknowledged, so it reaches history.
	postAlerts(t, p.url, 40, 25, start)
	p.kill9(t)
	p = startSift(t, "--config", cfg)
	testenv.WaitFor(t, 60*time.Second, "65 firing rows in ClickHouse", func() bool {
		return chCount(t, httpURL, db, "SELECT count() FROM DB.alert_events WHERE kind = 'firing'") >= 65
	})
	time.Sleep(time.Second) // a duplicate would come now
	if n, u := chCount(t, httpURL, db, "SELECT count() FROM DB.alert_events"), chCount(t, httpURL, db, "SELECT uniqExact(event_id) FROM DB.alert_events"); n != u || n != 65 {
		t.Fatalf("alert_events: %d rows, %d distinct events; want 65 and 65", n, u)
	}
	if n := chCount(t, httpURL, db, "SELECT count() FROM DB.incident_events WHERE event = 'opened'"); n < 1 {
		t.Fatalf("no incident opened in incident_events")
	}
	var vol struct {
		Series []struct {
			Key    string
			Points []struct{ Alerts, Incidents int }
		}
	}
	getJSON(t, p.url+"/api/v1/analytics/volume?since=1h&step=1h&by=service", &vol)
	total := 0
	for _, s := range vol.Series {
		if !strings.HasPrefix(s.Key, "svc-") {
			t.Fatalf("unexpected key %q", s.Key)
		}
		for _, pt := range s.Points {
			total += pt.Alerts
		}
	}
	if len(vol.Series) != 5 || total != 65 {
		t.Fatalf("volume by service: %d series, %d alerts; want 5 and 65: %+v", len(vol.Series), total, vol)
	}
}

func metricValue(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := httpGet(url + "/metrics")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(resp, "\n") {
		if strings.HasPrefix(l, name+" ") {
			v, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(l, name)), 64)
			return v
		}
	}
	return -1
}

func httpGet(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// backfillInput writes a recorded day: each hour payment fails (its
// alert resent every minute for 10 minutes, then resolved) and checkout
// errors follow; a noisy disk alert fires alone every 3 hours.
func backfillInput(t *testing.T, dir string) (path string, day time.Time, episodes, incidents int) {
	t.Helper()
	day = time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)
	var b strings.Builder
	line := func(at time.Time, a map[string]any) {
		j, _ := json.Marshal(map[string]any{"at": at.Format(time.RFC3339Nano), "alert": a})
		b.Write(j)
		b.WriteByte('\n')
	}
	for h := 0; h < 24; h++ {
		s := day.Add(time.Duration(h) * time.Hour)
		for m := 0; m <= 10; m++ {
			at := s.Add(time.Duration(m) * time.Minute)
			end := at.Add(4 * time.Minute)
			if m == 10 {
				end = at
			}
			line(at, alertJSON("PaymentDown", "payment", "p1", s, end))
			line(at.Add(20*time.Second), alertJSON("CheckoutErrors", "checkout", "c1", s.Add(20*time.Second), end.Add(20*time.Second)))
		}
		episodes += 2
		incidents++
		if h%3 == 1 {
			d := s.Add(30 * time.Minute)
			line(d, alertJSON("DiskAlmostFull", "batch", "b1", d, d.Add(2*time.Minute)))
			line(d.Add(2*time.Minute), alertJSON("DiskAlmostFull", "batch", "b1", d, d.Add(2*time.Minute)))
			episodes++
			incidents++
		}
	}
	path = filepath.Join(dir, "recorded.ndjson")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, day, episodes, incidents
}

// sift backfill writes the whole history of recorded alerts on their
// event time; a second run writes nothing twice; `sift analytics` reads it
// back. Checked on the embedded store and on ClickHouse, with the same
// answers from both.
func TestBackfillTwiceAndAnalyticsCLI(t *testing.T) {
	dir := t.TempDir()
	input, day, episodes, incidents := backfillInput(t, dir)
	embedded := filepath.Join(dir, "embedded.yaml")
	os.WriteFile(embedded, []byte("data_dir: "+filepath.Join(dir, "data")+"\ntopology:\n  depends_on:\n    checkout: [payment]\n"), 0o644)
	configs := map[string]string{"embedded": embedded}
	if testenv.LookPath("clickhouse-server") != "" || testenv.InCI() {
		native, httpURL := testenv.SharedClickHouse(t)
		db := testenv.NewClickHouseDatabase(t, httpURL)
		ch := filepath.Join(dir, "clickhouse.yaml")
		os.WriteFile(ch, []byte(fmt.Sprintf("data_dir: %s\ntopology:\n  depends_on:\n    checkout: [payment]\nhistory:\n  clickhouse: {addr: %q, database: %s}\n",
			filepath.Join(dir, "chdata"), native, db)), 0o644)
		configs["clickhouse"] = ch
	} else {
		t.Log("clickhouse-server not installed: checking the embedded store only")
	}
	answers := map[string]string{}
	for name, cfg := range configs {
		code, out, errs := runCLI("backfill", "--config", cfg, "--input", input, "--progress=false")
		if code != 0 {
			t.Fatalf("%s: backfill: %d %s %s", name, code, out, errs)
		}
		// firing + resolved rows of every episode
		if !strings.Contains(out, fmt.Sprintf("alert events added:     %d ", 2*episodes)) {
			t.Fatalf("%s: first backfill:\n%s", name, out)
		}
		code, out, errs = runCLI("backfill", "--config", cfg, "--input", input, "--progress=false")
		if code != 0 || !strings.Contains(out, "alert events added:     0 ") || !strings.Contains(out, "incident events added:  0 ") {
			t.Fatalf("%s: second backfill wrote again: %d\n%s%s", name, code, out, errs)
		}
		since, until := day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339)
		code, out, errs = runCLI("analytics", "volume", "--config", cfg, "--since", since, "--until", until, "--step", "24h", "--json")
		if code != 0 {
			t.Fatalf("%s: analytics volume: %d %s", name, code, errs)
		}
		var vol struct {
			Series []struct {
				Key    string
				Points []struct {
					T                 time.Time
					Alerts, Incidents int
				}
			}
		}
		if err := json.Unmarshal([]byte(out), &vol); err != nil {
			t.Fatal(err)
		}
		if len(vol.Series) != 1 || len(vol.Series[0].Points) != 1 || vol.Series[0].Points[0].Alerts != episodes || vol.Series[0].Points[0].Incidents != incidents {
			t.Fatalf("%s: volume: %s\nwant %d alert episodes and %d incidents", name, out, episodes, incidents)
		}
		all := out
		for _, ep := range []string{"response", "noise", "noisy", "problems"} {
			code, out, errs = runCLI("analytics", ep, "--config", cfg, "--since", since, "--until", until, "--json")
			if code != 0 {
				t.Fatalf("%s: analytics %s: %d %s", name, ep, code, errs)
			}
			all += out
		}
		if !strings.Contains(all, `"alertname": "DiskAlmostFull"`) {
			t.Fatalf("%s: noisy alert names lack DiskAlmostFull:\n%s", name, all)
		}
		code, out, _ = runCLI("analytics", "noisy", "--config", cfg, "--since", since, "--until", until)
		if code != 0 || !strings.Contains(out, "ALERTNAME") || !strings.Contains(out, "PaymentDown") {
			t.Fatalf("%s: table output: %s", name, out)
		}
		answers[name] = all
	}
	if ch, ok := answers["clickhouse"]; ok && ch != answers["embedded"] {
		t.Fatalf("ClickHouse and the embedded store answer differently:\n--- clickhouse\n%s\n--- embedded\n%s", ch, answers["embedded"])
	}
	if code, _, errs := runCLI("analytics", "volume", "--config", embedded, "--by", "colour"); code != 2 || !strings.Contains(errs, "colour") {
		t.Fatalf("bad --by: %d %s", code, errs)
	}
}

// With no configuration, history goes to the embedded store and the
// analytics API answers from it: volume, MTTA after an acknowledgement,
// a forecast, and clear 4xx errors for bad parameters.
func TestHistoryEmbeddedByDefaultOverHTTP(t *testing.T) {
	dataDir := t.TempDir()
	p := startSift(t, "--data-dir", dataDir)
	start := time.Now().Add(-2 * time.Minute)
	postAlerts(t, p.url, 0, 10, start)
	var list struct {
		Incidents []struct{ ID string }
	}
	testenv.WaitFor(t, 10*time.Second, "incidents", func() bool {
		getJSON(t, p.url+"/api/v1/incidents", &list)
		return len(list.Incidents) > 0
	})
	id := list.Incidents[0].ID
	if code, body, err := postJSON(p.url+"/api/v1/incidents/"+id+"/ack", map[string]string{"actor": "ana"}); err != nil || code != 200 {
		t.Fatalf("ack: %d %s %v", code, body, err)
	}
	var resp struct {
		Total struct {
			Incidents, Acknowledged int
			MTTA                    struct{ Count int }
		}
	}
	testenv.WaitFor(t, 15*time.Second, "the acknowledgement in history", func() bool {
		getJSON(t, p.url+"/api/v1/analytics/response?since=1h", &resp)
		return resp.Total.Acknowledged == 1
	})
	if resp.Total.Incidents != len(list.Incidents) || resp.Total.MTTA.Count != 1 {
		t.Fatalf("response: %+v, %d incidents listed", resp, len(list.Incidents))
	}
	var vol struct {
		Series []struct {
			Key    string
			Points []struct{ Alerts, Incidents int }
		}
	}
	getJSON(t, p.url+"/api/v1/analytics/volume?since=1h&step=10m", &vol)
	alerts, incs := 0, 0
	for _, pt := range vol.Series[0].Points {
		alerts += pt.Alerts
		incs += pt.Incidents
	}
	if len(vol.Series) != 1 || vol.Series[0].Key != "" || alerts != 10 || incs != len(list.Incidents) || len(vol.Series[0].Points) < 6 {
		t.Fatalf("volume: %+v (want one series, 10 alerts, %d incidents)", vol, len(list.Incidents))
	}
	// The command line asks the running server, which holds the store.
	cfg := filepath.Join(t.TempDir(), "sift.yaml")
	os.WriteFile(cfg, []byte("listen: "+strings.TrimPrefix(p.url, "http://")+"\ndata_dir: "+dataDir+"\n"), 0o644)
	code, out, errs := runCLI("analytics", "response", "--config", cfg, "--since", "1h")
	if code != 0 || !strings.Contains(out, "(all)") {
		t.Fatalf("sift analytics response while serving: %d %s %s", code, out, errs)
	}
	var fc struct {
		Forecast []struct{ Expected, Lower, Upper float64 }
		History  []any
	}
	getJSON(t, p.url+"/api/v1/analytics/forecast?by=service&key=svc-1&horizon=3h&lookback=2d", &fc)
	if len(fc.Forecast) != 3 {
		t.Fatalf("forecast: %+v", fc)
	}
	for _, c := range []struct {
		query, field string
		code         int
	}{
		{"volume?step=fortnight", "step", 400},
		{"volume?by=colour", "by", 400},
		{"volume?since=yesterday-ish", "since", 400},
		{"volume?since=1h&until=2h", "", 400},
		{"volume?step=1s&since=7d", "", 400},
		{"forecast?by=service", "", 400},
		{"volume?bogus=1", "bogus", 400},
		{"nonsense", "endpoint", 404},
	} {
		resp, err := http.Get(p.url + "/api/v1/analytics/" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error, Field string }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.code || body.Error == "" || body.Field != c.field {
			t.Errorf("%s: %d %+v, want %d with field %q", c.query, resp.StatusCode, body, c.code, c.field)
		}
	}
}
