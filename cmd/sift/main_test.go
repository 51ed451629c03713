package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sift-aiops/sift/ingest/httpapi"
)

// The test binary doubles as the sift binary: with SIFT_EXEC_MAIN=1 it
// runs main's command line instead of the tests, so tests can start real
// sift processes and kill -9 them.
func TestMain(m *testing.M) {
	if os.Getenv("SIFT_EXEC_MAIN") == "1" {
		if d, err := time.ParseDuration(os.Getenv("SIFT_TEST_WRITE_TIMEOUT")); err == nil {
			serverWriteTimeout, httpapi.StreamWriteTimeout = d, d // the tests of slow and stalled readers
		}
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startSift starts "sift serve" as a child process and waits until ready.
func startSift(t *testing.T, args ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--listen", addr}, args...)...)
	cmd.Env = append(os.Environ(), "SIFT_EXEC_MAIN=1")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, url: "http://" + addr, logs: &logs}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("sift output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(p.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("sift did not become ready:\n%s", logs.String())
	return nil
}

func (p *proc) kill9(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
}

func alertJSON(name, service, instance string, start, end time.Time) map[string]any {
	return map[string]any{
		"labels":      map[string]string{"alertname": name, "service": service, "instance": instance, "severity": "critical"},
		"annotations": map[string]string{"summary": name + " on " + service},
		"startsAt":    start.Format(time.RFC3339Nano),
		"endsAt":      end.Format(time.RFC3339Nano),
	}
}

func postJSON(url string, v any) (int, []byte, error) {
	b, _ := json.Marshal(v)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, nil
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// Every alert Sift answered 2xx for must survive kill -9, even when the
// kill lands in the middle of a stream of concurrent posts.
func TestAcknowledgedAlertsSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	p := startSift(t, "--data-dir", dir)
	now := time.Now().UTC()
	var acked sync.Map
	var nAcked atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := 0; c < 8; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var batch []map[string]any
				var ids []string
				for k := 0; k < 20; k++ {
					inst := fmt.Sprintf("c%d-b%d-a%d", c, i, k)
					batch = append(batch, alertJSON("DiskFull", "svc"+fmt.Sprint(k%5), inst, now, now.Add(time.Hour)))
					ids = append(ids, inst)
				}
				code, _, err := postJSON(p.url+"/api/v2/alerts", batch)
				if err != nil {
					return // killed
				}
				if code == 200 {
					for _, id := range ids {
						acked.Store(id, true)
					}
					nAcked.Add(int64(len(ids)))
				}
			}
		}(c)
	}
	for nAcked.Load() < 3000 {
		time.Sleep(10 * time.Millisecond)
	}
	p.kill9(t)
	close(stop)
	wg.Wait()

	p2 := startSift(t, "--data-dir", dir)
	var alerts []struct {
		Labels      map[string]string `json:"labels"`
		Fingerprint string            `json:"fingerprint"`
	}
	getJSON(t, p2.url+"/api/v2/alerts", &alerts)
	have := map[string]bool{}
	for _, a := range alerts {
		have[a.Labels["instance"]] = true
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !have[k.(string)] {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged alerts lost after kill -9", missing, nAcked.Load())
	}
	t.Logf("%d acknowledged alerts, all present after kill -9 (%d alerts stored)", nAcked.Load(), len(alerts))
	var list struct {
		Total int `json:"total"`
	}
	getJSON(t, p2.url+"/api/v1/incidents", &list)
	if list.Total == 0 {
		t.Fatal("no incidents after recovery")
	}
}

// An incident, its explanation and agent actions through the HTTP API,
// and the state after a restart (clean shutdown: snapshot path).
func TestIncidentLifecycleOverHTTP(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yml")
	kb := filepath.Join(dir, "kb")
	os.MkdirAll(kb, 0o755)
	os.WriteFile(filepath.Join(kb, "payment-errors.md"), []byte("# Payment service errors\n\nWhen payment returns errors, check the card processor connection.\n"), 0o644)
	os.WriteFile(filepath.Join(kb, "disk.md"), []byte("# Disk full\n\nClean up old logs.\n"), 0o644)
	os.WriteFile(cfg, []byte("topology:\n  depends_on:\n    frontend: [checkout]\n    checkout: [payment]\nknowledge:\n  dir: "+kb+"\n"), 0o644)
	p := startSift(t, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)
	now := time.Now().UTC()
	for i, svc := range []string{"payment", "checkout", "frontend"} {
		code, body, err := postJSON(p.url+"/api/v2/alerts", []any{alertJSON("Errors", svc, "i1", now.Add(time.Duration(i)*time.Second), now.Add(time.Hour))})
		if err != nil || code != 200 {
			t.Fatalf("post: %d %s %v", code, body, err)
		}
	}
	var list struct {
		Incidents []struct {
			ID        string `json:"id"`
			RootCause string `json:"rootCause"`
			Alerts    int    `json:"alerts"`
		} `json:"incidents"`
	}
	getJSON(t, p.url+"/api/v1/incidents?status=open", &list)
	if len(list.Incidents) != 1 || list.Incidents[0].RootCause != "payment" || list.Incidents[0].Alerts != 3 {
		t.Fatalf("incidents = %+v", list.Incidents)
	}
	id := list.Incidents[0].ID
	var detail struct {
		Explain []struct {
			Kind   string `json:"kind"`
			Reason string `json:"reason"`
		} `json:"explain"`
		Alerts   []any `json:"alerts"`
		Articles []struct {
			ID string `json:"id"`
		} `json:"articles"`
	}
	getJSON(t, p.url+"/api/v1/incidents/"+id, &detail)
	if len(detail.Articles) == 0 || detail.Articles[0].ID != "payment-errors" {
		t.Fatalf("matched articles = %+v", detail.Articles)
	}
	var search struct {
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
	}
	getJSON(t, p.url+"/api/v1/knowledge/search?q=disk+full&limit=1", &search)
	if len(search.Results) != 1 || search.Results[0].ID != "disk" {
		t.Fatalf("search = %+v", search)
	}
	if len(detail.Explain) != 3 || detail.Explain[1].Kind != "topology" || !strings.Contains(detail.Explain[1].Reason, "depends on") {
		t.Fatalf("explain = %+v", detail.Explain)
	}
	for _, c := range []struct {
		path string
		body any
		want int
	}{
		{"/ack", map[string]string{"actor": "ana"}, 200},
		{"/assign", map[string]string{"actor": "ana", "assignee": "bob"}, 200},
		{"/assign", map[string]string{"actor": "ana"}, 400},
		{"/frobnicate", nil, 404},
		{"/resolve", map[string]string{"actor": "bob", "note": "rolled back payment v2"}, 200},
	} {
		code, body, err := postJSON(p.url+"/api/v1/incidents/"+id+c.path, c.body)
		if err != nil || code != c.want {
			t.Fatalf("POST %s: %d %s (want %d)", c.path, code, body, c.want)
		}
		if code >= 400 && !json.Valid(body) {
			t.Fatalf("error body is not JSON: %s", body)
		}
	}
	code, draft, _ := postJSON(p.url+"/api/v1/incidents/"+id+"/draft-article", nil)
	if code != 200 || !strings.Contains(string(draft), "rolled back payment v2") || !strings.Contains(string(draft), "status: draft") {
		t.Fatalf("draft article: %d\n%s", code, draft)
	}
	code, _, _ = postJSON(p.url+"/api/v1/incidents/INC-999/ack", nil)
	if code != 404 {
		t.Fatalf("ack of unknown incident: %d", code)
	}
	// Clean stop, restart: state comes back from the snapshot.
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.cmd.Wait()
	p2 := startSift(t, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)
	var got struct {
		Incident struct {
			Status   string `json:"status"`
			Assignee string `json:"assignee"`
			Notes    string `json:"notes"`
		} `json:"incident"`
	}
	getJSON(t, p2.url+"/api/v1/incidents/"+id, &got)
	if got.Incident.Status != "resolved" || got.Incident.Assignee != "bob" || got.Incident.Notes != "rolled back payment v2" {
		t.Fatalf("after restart: %+v", got.Incident)
	}
}

func TestBadInputGetsJSONErrors(t *testing.T) {
	p := startSift(t, "--data-dir", t.TempDir())
	cases := []struct {
		method, path, ctype, body string
		want                      int
	}{
		{"POST", "/api/v2/alerts", "application/json", `{not json`, 400},
		{"POST", "/api/v2/alerts", "text/plain", `[]`, 415},
		{"POST", "/api/v2/alerts", "application/json", `[{"labels":{"alertname":"A"},"startsAt":"yesterday"}]`, 400},
		{"GET", "/api/v1/incidents?status=weird", "", "", 400},
		{"GET", "/api/v1/incidents?limit=-1", "", "", 400},
		{"GET", "/api/v1/incidents/INC-404", "", "", 404},
		{"GET", "/no/such/route", "", "", 404},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, p.url+c.path, strings.NewReader(c.body))
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != c.want || json.Unmarshal(body, &e) != nil || e.Error == "" {
			t.Errorf("%s %s: %d %s (want %d with a JSON error)", c.method, c.path, resp.StatusCode, body, c.want)
		}
	}
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	os.WriteFile(good, []byte("correlate:\n  window: 5m\ntopology:\n  depends_on:\n    a: [b]\n"), 0o644)
	if code, out, errs := runCLI("config", "check", good); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("good config: %d %s %s", code, out, errs)
	}
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(bad, []byte("correlate:\n  window: 5m\n  group_by: [alertname]\n  text_threshold: 7\n"), 0o644)
	code, _, errs := runCLI("config", "check", bad)
	if code == 0 || !strings.Contains(errs, "bad.yml:4") || !strings.Contains(errs, "text_threshold") {
		t.Fatalf("bad config: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI("config", "check", filepath.Join(dir, "missing.yml")); code == 0 || errs == "" {
		t.Fatalf("missing file: %d %q", code, errs)
	}
	if code, _, _ := runCLI("frobnicate"); code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}
}

func TestReplayIsDeterministicAndReportsBadLines(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfg, []byte("topology:\n  depends_on:\n    frontend: [checkout]\n    checkout: [payment]\n"), 0o644)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var in bytes.Buffer
	line := func(at time.Time, a map[string]any) {
		b, _ := json.Marshal(map[string]any{"at": at.Format(time.RFC3339Nano), "alert": a})
		in.Write(b)
		in.WriteByte('\n')
	}
	// Cascade: payment, then checkout and frontend, each resent every minute.
	for m := 0; m < 5; m++ {
		for i, svc := range []string{"payment", "checkout", "frontend"} {
			at := t0.Add(time.Duration(m)*time.Minute + time.Duration(i)*20*time.Second)
			line(at, alertJSON("Errors", svc, "i1", t0.Add(time.Duration(i)*20*time.Second), at.Add(4*time.Minute)))
		}
	}
	// Unrelated alert an hour later.
	line(t0.Add(time.Hour), alertJSON("DiskFull", "db", "i9", t0.Add(time.Hour), t0.Add(time.Hour+4*time.Minute)))
	in.WriteString("{not json\n")
	in.WriteString(`{"at":"yesterday","alert":{"labels":{"alertname":"A"}}}` + "\n")
	in.WriteString(`{"at":"2026-11-01T12:00:00Z","alert":{"labels":{}}}` + "\n")
	input := filepath.Join(dir, "in.ndjson")
	os.WriteFile(input, in.Bytes(), 0o644)

	out1, out2 := filepath.Join(dir, "o1.ndjson"), filepath.Join(dir, "o2.ndjson")
	code, _, errs := runCLI("replay", "--config", cfg, "--input", input, "--output", out1)
	if code != 0 {
		t.Fatalf("replay: %d %s", code, errs)
	}
	for _, want := range []string{"lines read:        19", "rejected:          3", "line 17: invalid JSON", "line 18: at: invalid time", "line 19: alert", "incidents:         2", "distinct alerts:   4"} {
		if !strings.Contains(errs, want) {
			t.Errorf("summary lacks %q:\n%s", want, errs)
		}
	}
	if code, _, errs := runCLI("replay", "--config", cfg, "--input", input, "--output", out2); code != 0 {
		t.Fatal(errs)
	}
	b1, _ := os.ReadFile(out1)
	b2, _ := os.ReadFile(out2)
	if !bytes.Equal(b1, b2) {
		t.Fatal("replay output differs between runs")
	}
	lines := strings.Split(strings.TrimSpace(string(b1)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 incidents, got %d:\n%s", len(lines), b1)
	}
	var first ReplayIncident
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.RootCause != "payment" || len(first.Alerts) != 3 || first.Status != "resolved" || first.ID == "" || first.Title == "" {
		t.Fatalf("first incident = %+v", first)
	}
	if code, _, errs := runCLI("replay", "--input", filepath.Join(dir, "nope")); code == 0 || !strings.Contains(errs, "nope") {
		t.Fatalf("missing input: %d %q", code, errs)
	}
}

func TestSplitReplayLineAgreesWithEncodingJSON(t *testing.T) {
	lines := []string{
		`{"at":"2026-01-01T00:00:00Z","alert":{"labels":{"alertname":"A}\"{"}}}`,
		` { "alert" : {"labels":{"a":"[x]"}} , "at" : "2026-01-01T00:00:00Z" } `,
		`{"at":"2026-01-01T00:00:00Z","extra":[1,{"b":2}],"alert":{"labels":{}}}`,
		`{"at":"2026-01-01T00:00:00Z","alert":{"labels":{"a":"b"}}`,
		`{"at":"2026-01-01T00:00:00Z","alert":{"labels":{"a":"b"}}} trailing`,
		`[1,2]`,
		`{"at":"2026-01-\u0030","alert":{}}`,
	}
	for _, l := range lines {
		at, alert, ok := splitReplayLine([]byte(l))
		var want replayLine
		err := json.Unmarshal([]byte(l), &want)
		if !ok {
			continue // the fallback decodes it with encoding/json
		}
		if err != nil {
			t.Errorf("%s: fast path accepted what encoding/json rejects: %v", l, err)
			continue
		}
		if at != want.At || !bytes.Equal(alert, want.Alert) {
			t.Errorf("%s: got %q %s, want %q %s", l, at, alert, want.At, want.Alert)
		}
	}
}

func TestClassificationOverHTTPAndCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfg, []byte(`classify:
  teams: [payments, web, platform]
  categories: [availability, latency]
  services:
    payment: {team: payments, criticality: critical}
  route:
    name: root
    routes:
      - name: web-latency
        matchers: ['alertname=~".*Latency.*"', 'service="frontend"']
        team: web
        category: latency
`), 0o644)
	code, out, errs := runCLI("route", "test", "--config", cfg, "--labels", "alertname=HighLatency,service=frontend")
	if code != 0 || !strings.Contains(out, "web-latency") || !strings.Contains(out, "web") {
		t.Fatalf("route test: %d\n%s\n%s", code, out, errs)
	}
	csv := filepath.Join(dir, "history.csv")
	os.WriteFile(csv, []byte("id,title,description,service,alertnames,team,category,resolution,opened_at\n"+
		"OLD-1,Checkout database connection pool exhausted,db pool,checkout,DBPoolExhausted,payments,availability,raised pool size,2026-01-01T00:00:00Z\n"+
		"OLD-2,broken row,,,,,,,\n"), 0o644)
	code, out, errs = runCLI("import", "--config", cfg, "--index", filepath.Join(dir, "idx.bleve"), "--format", "csv", csv)
	if code != 1 || !strings.Contains(out+errs, "line 3") {
		t.Fatalf("import with one bad row: exit %d\n%s\n%s", code, out, errs)
	}

	p := startSift(t, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)
	now := time.Now().UTC()
	postJSON(p.url+"/api/v2/alerts", []any{alertJSON("FrontendLatencyHigh", "frontend", "i1", now, now.Add(time.Hour))})
	var list struct {
		Incidents []struct{ ID string } `json:"incidents"`
	}
	getJSON(t, p.url+"/api/v1/incidents", &list)
	if len(list.Incidents) != 1 {
		t.Fatalf("incidents: %+v", list)
	}
	id := list.Incidents[0].ID
	type detail struct {
		Classification struct {
			Team     string   `json:"team"`
			Category string   `json:"category"`
			Priority string   `json:"priority"`
			Sources  []string `json:"sources"`
		} `json:"classification"`
	}
	var d detail
	getJSON(t, p.url+"/api/v1/incidents/"+id, &d)
	if d.Classification.Team != "web" || d.Classification.Category != "latency" || d.Classification.Priority == "" {
		t.Fatalf("classification = %+v", d.Classification)
	}
	if code, body, _ := postJSON(p.url+"/api/v1/incidents/"+id+"/classify", map[string]string{"team": "nobody"}); code != 400 {
		t.Fatalf("unknown team accepted: %d %s", code, body)
	}
	if code, body, _ := postJSON(p.url+"/api/v1/incidents/"+id+"/classify", map[string]string{"team": "platform", "actor": "ana"}); code != 200 {
		t.Fatalf("classify: %d %s", code, body)
	}
	getJSON(t, p.url+"/api/v1/incidents/"+id, &d)
	if d.Classification.Team != "platform" || len(d.Classification.Sources) == 0 || d.Classification.Sources[0] != "agent decision" {
		t.Fatalf("after correction = %+v", d.Classification)
	}
}
