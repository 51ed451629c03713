package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sift-aiops/sift/internal/testenv"
)

// consoleBrowser starts headless Chromium for the console tests
// (testenv.Require: missing, it fails under CI=true, skips otherwise).
func consoleBrowser(t *testing.T) context.Context { return testenv.Browser(t, 2*time.Minute) }

// screenshot writes docs/NAME.png when SIFT_SCREENSHOTS=1 (so that CI
// leaves the tree clean).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("SIFT_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "..", "docs", name+".png")
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// poll waits until the JavaScript expression is true (across page loads).
func poll(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		var ok bool
		if ok, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+expr+`); } catch (e) { return false; } })()`)); err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	t.Fatalf("%s: not after 20s (%v; waited for %s)\npage:\n%s", what, err, expr, page)
}

// The console end to end: a real sift serve, alerts posted while the
// queue is open, the incident appears without a reload, its page explains
// it (join reasons, root cause, runbook), acknowledge works, and an
// annotation holding HTML runs nothing.
func TestConsoleEndToEnd(t *testing.T) {
	ctx := consoleBrowser(t)
	dir := t.TempDir()
	kb := filepath.Join(dir, "kb")
	os.MkdirAll(kb, 0o755)
	os.WriteFile(filepath.Join(kb, "payment-errors.md"), []byte("# Payment service errors runbook\n\nWhen payment returns errors, check the card processor connection and roll back the last deploy.\n"), 0o644)
	cfg := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfg, []byte("topology:\n  depends_on:\n    frontend: [checkout]\n    checkout: [payment]\nknowledge:\n  dir: "+kb+"\n"), 0o644)
	p := startSift(t, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)

	// The shell is HTML; unknown API paths keep their JSON 404.
	for path, ct := range map[string]string{"/": "text/html", "/trends": "text/html", "/api/v1/nope": "application/json", "/nope": "application/json"} {
		resp, err := http.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := 200
		if strings.Contains(path, "nope") {
			want = 404
		}
		if resp.StatusCode != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) {
			t.Errorf("GET %s: %d %q, want %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), want, ct)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/"), chromedp.WaitVisible(chromedp.CSS("#empty"))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the queue listens to the stream", `document.querySelector('#live').textContent === 'live'`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__noReload = 1`)); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for i, svc := range []string{"payment", "checkout", "frontend"} {
		a := alertJSON("Errors", svc, "i1", now.Add(time.Duration(i)*time.Second), now.Add(time.Hour))
		if svc == "payment" {
			a["annotations"] = map[string]string{
				"summary":     "payment errors <img src=x onerror=window.__xss=1>",
				"description": "<script>window.__xss=1</script>",
				"runbook_url": "javascript:window.__xss=1",
			}
		}
		if code, body, err := postJSON(p.url+"/api/v2/alerts", []any{a}); err != nil || code != 200 {
			t.Fatalf("post: %d %s %v", code, body, err)
		}
	}
	poll(t, ctx, "the incident appears in the queue", `(() => { const r = document.querySelectorAll('#queue-body tr');
		return r.length === 1 && r[0].innerText.includes('payment') && r[0].innerText.includes('3'); })()`)
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__noReload || 0`)); err != nil || v != 1 {
		t.Fatalf("the queue page was reloaded (%v %v)", v, err)
	}
	screenshot(t, ctx, "console-queue")

	// Keyboard: j selects the first row, Enter opens it.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("j"), chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the incident page", `location.pathname.startsWith('/incidents/') && document.querySelector('#inc-status') !== null && document.querySelector('#inc-status').innerText === 'open'`)
	poll(t, ctx, "the explanation", `document.querySelector('#explain').innerText.includes('topology') && document.querySelector('#explain').innerText.includes('depends on')`)
	poll(t, ctx, "the runbook", `document.querySelector('#articles').innerText.includes('Payment service errors runbook')`)
	poll(t, ctx, "the root cause", `document.querySelector('#root-service').innerText === 'payment' && document.querySelector('#graph .node.root').dataset.service === 'payment'`)
	poll(t, ctx, "the annotations as text", `document.querySelector('#inc-alerts').innerText.includes('<script>window.__xss=1</script>') &&
		document.querySelector('#inc-alerts').innerText.includes('<img src=x onerror=window.__xss=1>')`)
	bad, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(window.__xss !== undefined ? 'window.__xss set; ' : '') +
		[...document.querySelectorAll('main img, main script, a[href^="javascript"]')].map(e => e.outerHTML).join('; ')`))
	if err != nil || bad != "" {
		t.Fatalf("XSS: %q %v", bad, err)
	}
	screenshot(t, ctx, "console-incident")

	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS("#actor"), "ana"), chromedp.Click(chromedp.CSS("#act-ack"))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "acknowledged", `document.querySelector('#inc-status').innerText === 'acknowledged' && document.querySelector('#timeline').innerText.includes('acknowledged')`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#note"), "checked <b>the</b> processor"), chromedp.Click(chromedp.CSS("#act-note button"))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the note as text", `document.querySelector('#inc-summary').innerText.includes('checked <b>the</b> processor')`)

	// Trends: charts from the embedded history store (or the notice).
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/trends")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the trends page", `document.querySelector('#chart-volume svg') !== null || !document.querySelector('#no-history').hidden`)
	poll(t, ctx, "the forecast", `document.querySelector('#chart-forecast').innerText !== ''`)
	screenshot(t, ctx, "console-trends")

	// Alerts: Alertmanager's view of the same alerts.
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/alerts")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the alerts page", `document.querySelectorAll('#alerts tbody tr').length === 3`)
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__xss === undefined`)); !v {
		t.Fatal("XSS on the alerts page")
	}
}

// With auth.tokens the shell is served without a token but holds no data;
// the console asks for a token, keeps it in the tab and reads the API
// with it (the live stream too).
func TestConsoleWithAuth(t *testing.T) {
	ctx := consoleBrowser(t)
	dir := t.TempDir()
	t.Setenv("SIFT_CONSOLE_TOKEN", "console-agent-token-0123456789")
	cfg := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfg, []byte("auth:\n  tokens:\n    - {name: oncall, token_env: SIFT_CONSOLE_TOKEN, roles: [agent]}\n"), 0o644)
	p := startSift(t, "--data-dir", filepath.Join(dir, "data"), "--config", cfg)
	for path, want := range map[string]int{"/": 200, "/incidents/x": 200, "/console/static/console.js": 200, "/api/v1/incidents": 401, "/nope": 401} {
		resp, err := http.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s without a token: %d, want %d", path, resp.StatusCode, want)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/"), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#token"), "console-agent-token-0123456789"), chromedp.Click(chromedp.CSS("#login-form button"))); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "signed in and live", `document.querySelector('#login').hidden && document.querySelector('#live').textContent === 'live'`)
	now := time.Now().UTC()
	req, _ := http.NewRequest("POST", p.url+"/api/v2/alerts", strings.NewReader(fmt.Sprintf(
		`[{"labels":{"alertname":"DiskFull","service":"db"},"startsAt":%q}]`, now.Format(time.RFC3339))))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer console-agent-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("post: %v %v", resp, err)
	}
	resp.Body.Close()
	poll(t, ctx, "the incident appears through the authenticated stream", `document.querySelectorAll('#queue-body tr').length === 1`)
}

// The queue with 10,000 open incidents: the API pages them and the
// browser shows a first page of 50 and pages on. The times (API page,
// navigation start to first rendered page; target < 1 s) are logged, not
// asserted: a loaded CI machine must not fail on them. They are recorded
// in benchmarks/RESULTS.md with:
//
//	go test ./cmd/sift -run ConsoleQueue10k -count=1 -v
func TestConsoleQueue10k(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: 10,000 incidents")
	}
	ctx := consoleBrowser(t)
	dir := t.TempDir()
	p := startSift(t, "--data-dir", filepath.Join(dir, "data"))
	now := time.Now().UTC()
	start := time.Now()
	const want = 10000
	for b := 0; b < want/1000; b++ {
		var batch []map[string]any
		for i := b * 1000; i < (b+1)*1000; i++ {
			// Nothing in common: one incident each.
			batch = append(batch, map[string]any{
				"labels":   map[string]string{"alertname": fmt.Sprintf("Q%05dz", i), "service": fmt.Sprintf("svc%05d", i)},
				"startsAt": now.Format(time.RFC3339Nano), "endsAt": now.Add(time.Hour).Format(time.RFC3339Nano)})
		}
		if code, body, err := postJSON(p.url+"/api/v2/alerts", batch); err != nil || code != 200 {
			t.Fatalf("post: %d %s %v", code, body, err)
		}
	}
	var list struct {
		Total int `json:"total"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		getJSON(t, p.url+"/api/v1/incidents?status=open&limit=1", &list)
		if list.Total >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if list.Total < want {
		t.Fatalf("%d open incidents, want %d", list.Total, want)
	}
	t.Logf("%d alerts posted, %d open incidents in %s", want, list.Total, time.Since(start).Round(time.Millisecond))

	// Server side: the first page of the queue, as the console asks for it.
	t0 := time.Now()
	getJSON(t, p.url+"/api/v1/incidents?status=open&limit=50&offset=0", &list)
	api := time.Since(t0)
	t0 = time.Now()
	getJSON(t, p.url+fmt.Sprintf("/api/v1/incidents?status=open&limit=50&offset=%d", want-50), &list)
	last := time.Since(t0)
	t.Logf("GET /api/v1/incidents first page %s, last page %s", api.Round(time.Microsecond), last.Round(time.Microsecond))

	// In the browser: from navigation start to the first page rendered.
	for run := 0; run < 3; run++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(p.url+"/")); err != nil {
			t.Fatal(err)
		}
		poll(t, ctx, "the first page", `document.querySelectorAll('#queue-body tr').length === 50 && performance.getEntriesByName('queue-rendered').length === 1`)
		ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByName('queue-rendered')[0].startTime`))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#page-info').textContent`))
		t.Logf("run %d: first page of the queue rendered %.0f ms after navigation start (%s)", run, ms, info)
		if !strings.Contains(info, "10,000") {
			t.Errorf("page info %q", info)
		}
	}
	// Paging: the next page answers as fast.
	if err := chromedp.Do(ctx, chromedp.KeyEvent("n")); err != nil {
		t.Fatal(err)
	}
	poll(t, ctx, "the second page", `document.querySelector('#page-info').textContent.startsWith('51–100')`)
}
