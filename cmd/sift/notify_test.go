package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// webhookReceiver checks the signature of every delivery and keeps the
// distinct Idempotency-Keys of each incident's events.
type webhookReceiver struct {
	*httptest.Server
	secret []byte
	mu     sync.Mutex
	keys   map[string]map[string]bool // incident -> "type key" seen
	bad    []string                   // deliveries with a wrong signature or body
	n      int
}

func newWebhookReceiver(t *testing.T, secret string) *webhookReceiver {
	r := &webhookReceiver{secret: []byte(secret), keys: map[string]map[string]bool{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		m := hmac.New(sha256.New, r.secret)
		m.Write(body)
		want := "sha256=" + hex.EncodeToString(m.Sum(nil))
		var ev struct {
			Type     string `json:"type"`
			Incident struct {
				ID string `json:"id"`
			} `json:"incident"`
		}
		err := json.Unmarshal(body, &ev)
		key := req.Header.Get("Idempotency-Key")
		r.mu.Lock()
		defer r.mu.Unlock()
		r.n++
		switch {
		case !hmac.Equal([]byte(req.Header.Get("X-Sift-Signature")), []byte(want)):
			r.bad = append(r.bad, "bad signature "+req.Header.Get("X-Sift-Signature"))
			w.WriteHeader(401)
			return
		case err != nil || ev.Incident.ID == "" || key == "" || req.Header.Get("X-Sift-Event") != ev.Type ||
			req.Header.Get("Content-Type") != "application/json":
			r.bad = append(r.bad, fmt.Sprintf("bad delivery %q %v %s", body, err, req.Header))
			w.WriteHeader(400)
			return
		}
		if r.keys[ev.Incident.ID] == nil {
			r.keys[ev.Incident.ID] = map[string]bool{}
		}
		r.keys[ev.Incident.ID][ev.Type+" "+key] = true
		w.WriteHeader(200)
	}))
	t.Cleanup(r.Close)
	return r
}

// opened returns the incidents with an "opened" delivery and how many
// distinct keys each had.
func (r *webhookReceiver) opened() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for id, ks := range r.keys {
		for k := range ks {
			if strings.HasPrefix(k, "opened ") {
				out[id]++
			}
		}
	}
	return out
}

// incidents returns the ids of the incidents and the first service of
// each.
func incidents(t *testing.T, url string) ([]string, map[string]string) {
	var list struct {
		Incidents []struct {
			ID       string   `json:"id"`
			Services []string `json:"services"`
		} `json:"incidents"`
		Total int `json:"total"`
	}
	getJSON(t, url+"/api/v1/incidents?limit=1000", &list)
	var ids []string
	svc := map[string]string{}
	for _, i := range list.Incidents {
		ids = append(ids, i.ID)
		if len(i.Services) > 0 {
			svc[i.ID] = i.Services[0]
		}
	}
	if len(ids) != list.Total {
		t.Fatalf("listed %d of %d incidents", len(ids), list.Total)
	}
	return ids, svc
}

var alertNames = []string{"DiskFull", "HighLatency", "OOMKilled", "CertExpiring", "QueueBacklog", "ReplicationLag",
	"PodCrashLooping", "TLSHandshakeErrors", "NodeNotReady", "ErrorBudgetBurn", "DNSFailures", "GCPauses"}

// An incident Sift accepted right before kill -9 still reaches the
// webhook after the restart ("opened", signed), at least once.
func TestNotifyWebhookSurvivesKill9(t *testing.T) {
	const secret = "e2e-webhook-secret-value"
	t.Setenv("SIFT_TEST_WEBHOOK_SECRET", secret)
	rcv := newWebhookReceiver(t, secret)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sift.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`notify:
  webhooks:
    - name: e2e
      url: %s/hook?token=not-for-logs
      secret_env: SIFT_TEST_WEBHOOK_SECRET
      events: [opened, resolved]
      max_backoff: 200ms
`, rcv.URL)), 0o644)
	data := filepath.Join(dir, "data")
	now := time.Now().UTC()
	var atKill []map[string]int // what the receiver had when Sift was killed, per round
	var logs []string
	const rounds = 4
	for round := 0; round < rounds; round++ {
		p := startSift(t, "--data-dir", data, "--config", cfg)
		// Distinct services, names and times: each alert opens its own
		// incident; the kill comes right after the last 2xx.
		for i := 0; i < 3; i++ {
			k := round*3 + i
			svc := fmt.Sprintf("svc%d%c", round, 'a'+i)
			start := now.Add(-time.Duration(k) * 10 * time.Minute)
			code, body, err := postJSON(p.url+"/api/v2/alerts", []any{alertJSON(alertNames[k], svc, fmt.Sprint("host", k), start, now.Add(time.Hour))})
			if err != nil || code != 200 {
				t.Fatalf("post: %d %s %v", code, body, err)
			}
		}
		p.kill9(t)
		atKill = append(atKill, rcv.opened())
		logs = append(logs, p.logs.String())
	}
	p := startSift(t, "--data-dir", data, "--config", cfg)
	ids, svcs := incidents(t, p.url)
	if len(ids) < rounds {
		t.Fatalf("%d incidents", len(ids))
	}
	// The incidents of a round that had no delivery when Sift was killed
	// in that round: they reach the webhook only through the restart.
	missedAtKill := 0
	for _, id := range ids {
		var r int
		var c rune
		if _, err := fmt.Sscanf(svcs[id], "svc%d%c", &r, &c); err == nil && r < rounds && atKill[r][id] == 0 {
			missedAtKill++
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := rcv.opened()
		var missing []string
		for _, id := range ids {
			if got[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no opened delivery for %v of %d incidents after the restart", missing, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
	rcv.mu.Lock()
	bad, n := rcv.bad, rcv.n
	rcv.mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("%d bad deliveries: %v", len(bad), bad)
	}
	extra := 0
	for _, k := range rcv.opened() {
		extra += k - 1
	}
	t.Logf("%d incidents, %d deliveries; %d incidents had no delivery yet when Sift was killed; %d incidents got a second opened key",
		len(ids), n, missedAtKill, extra)
	// The console sees the target, without the token in its URL; the
	// logs never show the secret or the token.
	var targets []struct {
		Name      string `json:"name"`
		URL       string `json:"url"`
		Delivered int    `json:"delivered"`
	}
	getJSON(t, p.url+"/api/v1/notify/targets", &targets)
	if len(targets) != 1 || targets[0].Name != "e2e" || strings.Contains(targets[0].URL, "token") {
		t.Fatalf("targets %+v", targets)
	}
	logs = append(logs, p.logs.String())
	for _, l := range logs {
		if strings.Contains(l, secret) || strings.Contains(l, "not-for-logs") {
			t.Fatal("the webhook secret or URL token is in Sift's log")
		}
	}
}

// GET /api/v1/stream: a live consumer sees an incident open.
func TestStreamOverHTTP(t *testing.T) {
	p := startSift(t, "--data-dir", t.TempDir())
	resp, err := http.Get(p.url + "/api/v1/stream?events=opened")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	frames := make(chan map[string]string, 100)
	go func() {
		defer close(frames)
		br := bufio.NewReader(resp.Body)
		f := map[string]string{}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			if line == "" {
				frames <- f
				f = map[string]string{}
				continue
			}
			k, v, _ := strings.Cut(line, ":")
			f[k] = strings.TrimPrefix(v, " ")
		}
	}()
	select { // the greeting: subscribed
	case <-frames:
	case <-time.After(5 * time.Second):
		t.Fatal("no greeting")
	}
	now := time.Now().UTC()
	if code, body, err := postJSON(p.url+"/api/v2/alerts", []any{alertJSON("StreamCheck", "streamsvc", "i1", now, now.Add(time.Hour))}); err != nil || code != 200 {
		t.Fatalf("post: %d %s %v", code, body, err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("stream ended")
			}
			if f["event"] == "" {
				continue
			}
			var ev struct {
				Type     string `json:"type"`
				Incident struct {
					ID       string   `json:"id"`
					Services []string `json:"services"`
				} `json:"incident"`
			}
			if err := json.Unmarshal([]byte(f["data"]), &ev); err != nil {
				t.Fatalf("data %q: %v", f["data"], err)
			}
			if f["event"] != "opened" || ev.Type != "opened" || ev.Incident.ID == "" || f["id"] == "" ||
				len(ev.Incident.Services) != 1 || ev.Incident.Services[0] != "streamsvc" {
				t.Fatalf("frame %v", f)
			}
			return
		case <-deadline:
			t.Fatal("no opened event on the stream within 5s")
		}
	}
}

// Bad notify settings are refused by "sift config check", naming the
// field and its line.
func TestNotifyConfigErrors(t *testing.T) {
	dir := t.TempDir()
	os.Unsetenv("SIFT_TEST_NOT_SET_SECRET")
	t.Setenv("SIFT_TEST_PD_KEY", "k")
	head := "notify:\n  webhooks:\n    - name: ok\n      url: https://example.com/hook\n    - name: bad\n"
	for _, c := range []struct {
		yaml, want string
	}{
		{"      url: ftp://example.com/x\n", "6: notify.webhooks[1].url: \"ftp://example.com/x\" must be an http:// or https:// URL"},
		{"      url: https://example.com/x\n      events: [opened, exploded]\n", "7: notify.webhooks[1].events[1]: unknown event \"exploded\""},
		{"      url: https://example.com/x\n      matchers: ['team=~\"(\"']\n", "7: notify.webhooks[1].matchers[0]:"},
		{"      url: https://example.com/x\n      matchers: ['colour=\"red\"']\n", "unknown field \"colour\""},
		{"      url: https://example.com/x\n      secret_env: SIFT_TEST_NOT_SET_SECRET\n", "7: notify.webhooks[1].secret_env: environment variable SIFT_TEST_NOT_SET_SECRET is not set or empty"},
		{"      url: https://example.com/x\n    - name: ok\n      url: https://example.com/y\n", "notify.webhooks[2].name: \"ok\" is used by another webhook"},
		{"      url: https://example.com/x\n      retries: 3\n", "field retries not found"},
	} {
		path := filepath.Join(dir, "sift.yml")
		os.WriteFile(path, []byte(head+c.yaml), 0o644)
		code, _, errs := runCLI("config", "check", path)
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%s: exit %d, %q; want %q", c.yaml, code, errs, c.want)
		}
	}
	// The shipped templates pass the check.
	var hooks strings.Builder
	for _, tm := range []string{"pagerduty-events-v2", "servicenow", "jira-service-management"} {
		abs, _ := filepath.Abs(filepath.Join("..", "..", "deploy", "notify", tm+".json.tmpl"))
		fmt.Fprintf(&hooks, "    - name: %s\n      url: https://example.com/%s\n      template: %s\n      vars: {routing_key: \"${SIFT_TEST_PD_KEY}\", service_desk_id: \"1\", request_type_id: \"2\"}\n", tm, tm, abs)
	}
	path := filepath.Join(dir, "good.yml")
	os.WriteFile(path, []byte("notify:\n  webhooks:\n"+hooks.String()), 0o644)
	if code, out, errs := runCLI("config", "check", path); code != 0 {
		t.Fatalf("shipped templates: exit %d %s %s", code, out, errs)
	}
}
