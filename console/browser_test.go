package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sift-aiops/sift/internal/testenv"
)

// browser starts headless Chromium (testenv.Require: missing, it fails
// under CI=true and skips otherwise) and returns its context.
func browser(t *testing.T) context.Context { return testenv.Browser(t, 90*time.Second) }

// hostile is what an alert's labels, annotations, notes, an LLM or a
// runbook could carry.
const hostile = `<img src=x onerror=window.__xss=1><script>window.__xss=1</script>"'><svg onload=window.__xss=1>`

// fakeAPI answers the API routes the console reads with hostile data
// everywhere a string can go.
func fakeAPI(t *testing.T) *httptest.Server {
	t.Helper()
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	h := hostile
	sla := map[string]any{"policy": "default", "priority": "P1", "respondBy": ts(-time.Minute), "resolveBy": ts(3 * time.Hour), "breached": true, "breaches": []string{"respond"}}
	summary := map[string]any{"id": "INC-1", "title": h, "status": "open", "rootCause": h, "services": []string{h, "db"}, "alerts": 2,
		"openedAt": ts(-10 * time.Minute), "updatedAt": ts(-time.Minute), "team": h, "priority": "P1", "assignee": h, "sla": sla}
	incident := map[string]any{"id": "INC-1", "title": h, "status": "open", "openedAt": ts(-10 * time.Minute), "updatedAt": ts(-time.Minute),
		"signature": h, "services": []string{h, "db"}, "alertCount": 2, "notes": h, "assignee": h, "sla": sla, "problem": "PRB-1",
		"rootCause": map[string]any{"service": "db", "evidence": []string{h},
			"changes": []any{map[string]any{"id": "c1", "service": "db", "kind": "deploy", "summary": h, "at": ts(-15 * time.Minute), "author": h,
				"url": "javascript:window.__xss=1", "relation": "root", "beforeSeconds": 300}}},
		"members": []any{
			map[string]any{"fingerprint": "a1", "alertname": h, "service": "db", "joinedAt": ts(-10 * time.Minute), "reason": map[string]any{"kind": "first", "detail": h, "score": 1}},
			map[string]any{"fingerprint": "a2", "alertname": "Errors", "service": h, "joinedAt": ts(-9 * time.Minute), "reason": map[string]any{"kind": "topology", "detail": h, "score": 0.9, "via": "a1"}},
		},
		"timeline": []any{map[string]any{"at": ts(-10 * time.Minute), "event": "opened", "detail": h, "actor": h}}}
	alert := map[string]any{"fingerprint": "a1", "labels": map[string]string{"alertname": h, "service": "db", h: h},
		"annotations": map[string]string{"description": h, "runbook_url": "javascript:window.__xss=1"}, "startsAt": ts(-10 * time.Minute),
		"status": "firing", "firstSeen": ts(-10 * time.Minute), "lastSeen": ts(0), "count": 1, "generatorURL": "javascript:window.__xss=1", "silencedBy": []string{h}}
	detail := map[string]any{"incident": incident, "alerts": []any{alert},
		"explain":   []any{map[string]any{"fingerprint": "a1", "alertname": h, "service": "db", "joinedAt": ts(-10 * time.Minute), "kind": h, "score": 1, "reason": h}},
		"rootCause": incident["rootCause"], "alertsPage": map[string]any{}, "alertsSummary": map[string]any{},
		"classification": map[string]any{"team": h, "category": h, "priority": "P1", "confidence": 0.5, "sources": []string{h},
			"similar": []any{map[string]any{"id": h, "title": h, "score": 0.8, "resolution": h}}},
		"articles": []any{map[string]any{"id": h, "title": h, "score": 2, "matched": []string{h}}},
		"triage":   map[string]any{"summary": h, "probableCause": h, "nextSteps": []string{h}, "source": "llm", "model": h, "at": ts(0)}}
	gettable := map[string]any{"fingerprint": "a1", "labels": alert["labels"], "annotations": alert["annotations"], "startsAt": ts(-time.Hour),
		"endsAt": ts(time.Hour), "updatedAt": ts(0), "receivers": []any{}, "generatorURL": "javascript:window.__xss=1",
		"status": map[string]any{"state": "suppressed", "silencedBy": []string{h}, "inhibitedBy": []string{}}}
	silence := map[string]any{"id": "s1", "status": map[string]any{"state": "active"}, "updatedAt": ts(0), "startsAt": ts(-time.Hour), "endsAt": ts(time.Hour),
		"matchers": []any{map[string]any{"name": h, "value": h, "isRegex": false}}, "createdBy": h, "comment": h}
	problem := map[string]any{"id": "PRB-1", "signature": h, "title": h, "incidents": []string{"INC-1"}, "firstSeen": ts(-time.Hour), "lastSeen": ts(0)}
	answers := map[string]any{
		"/api/v1/incidents":          map[string]any{"incidents": []any{summary}, "total": 1, "offset": 0, "limit": 50},
		"/api/v1/incidents/INC-1":    detail,
		"/api/v2/alerts":             []any{gettable},
		"/api/v2/silences":           []any{silence},
		"/api/v1/problems":           map[string]any{"problems": []any{problem}},
		"/api/v1/problems/PRB-1":     map[string]any{"problem": problem, "incidents": []any{summary}},
		"/api/v1/analytics/volume":   map[string]any{"series": []any{}},
		"/api/v1/analytics/noise":    map[string]any{"points": []any{}, "total": map[string]any{"t": ts(0), "notifications": 0, "alerts": 0, "incidents": 0, "reduction": 0, "compression": 0}},
		"/api/v1/analytics/response": map[string]any{"by": "team", "groups": []any{}, "total": map[string]any{}},
		"/api/v1/analytics/forecast": map[string]any{"history": []any{}, "forecast": []any{}, "anomalies": []any{}},
	}
	mux := http.NewServeMux()
	Register(mux)
	mux.HandleFunc("GET /api/v1/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte(": hi\nretry: 3000\n\n"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		v, ok := answers[r.URL.Path]
		if !ok {
			w.WriteHeader(404)
			w.Write([]byte(`{"error":"no route"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return srv
}

// Every page shows hostile strings as text: nothing runs, no element is
// made of them, no javascript: link; and the pages render with no data.
func TestBrowserEscapesHostileData(t *testing.T) {
	ctx := browser(t)
	srv := fakeAPI(t)
	for _, c := range []struct{ path, ready string }{
		{"/", "#queue-body tr"},
		{"/incidents/INC-1", "#explain tbody tr"},
		{"/problems", "#problems tbody tr"},
		{"/problems/PRB-1", "#problem-incidents tbody tr"},
		{"/alerts", "#silences tbody tr"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+c.path), chromedp.WaitVisible(chromedp.CSS(c.ready))); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, `<script>window.__xss=1</script>`) || !strings.Contains(text, `<img src=x onerror=window.__xss=1>`) {
			t.Errorf("%s: the hostile string is not shown as text:\n%s", c.path, text)
		}
		bad, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
			const out = [];
			if (window.__xss !== undefined) out.push('window.__xss is set');
			for (const e of document.querySelectorAll('main img, main script, main iframe, main object, main embed, [onerror], [onload]')) out.push('element ' + e.outerHTML.slice(0, 80));
			for (const a of document.querySelectorAll('a[href]')) if (!/^(https?:|\/|#)/.test(a.getAttribute('href'))) out.push('link ' + a.getAttribute('href'));
			return out;
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if len(bad) > 0 {
			t.Errorf("%s: %q", c.path, bad)
		}
	}
	// The trends page with no history says where history comes from.
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/trends"), chromedp.WaitVisible(chromedp.CSS("#no-history"))); err != nil {
		t.Fatalf("/trends: %v", err)
	}
}

// The dependency graph takes its edges from the topology API when it
// answers: direct edges, and dashed ones through services that are not in
// the incident; service names such as "__proto__" or "constructor" are
// only names. Without the topology it falls back on the join reasons.
func TestConsoleGraphFromTopology(t *testing.T) {
	ctx := browser(t)
	now := time.Now().UTC().Format(time.RFC3339)
	member := func(svc, detail string) map[string]any {
		return map[string]any{"fingerprint": svc, "alertname": "Errors", "service": svc, "joinedAt": now, "reason": map[string]any{"kind": "topology", "detail": detail, "score": 1}}
	}
	services := []string{"payment", "checkout", "web", "__proto__", "constructor"}
	incident := map[string]any{"id": "INC-7", "title": "payment errors", "status": "open", "openedAt": now, "updatedAt": now, "services": services, "alertCount": 5,
		"rootCause": map[string]any{"service": "payment"},
		"members": []any{member("payment", ""), member("checkout", "checkout depends on payment (1 hop), alerting in INC-7"),
			member("web", "web depends on payment (3 hops), alerting in INC-7"), member("__proto__", ""), member("constructor", "")}}
	detail := map[string]any{"incident": incident, "alerts": []any{}, "explain": []any{}, "classification": map[string]any{}, "articles": []any{}}
	topology := map[string]any{"label": "service", "dependsOn": map[string][]string{
		"web": {"gateway"}, "gateway": {"checkout"}, "checkout": {"payment"}, "__proto__": {"payment"}, "constructor": {"toString"}}}
	var noTopology atomic.Bool
	mux := http.NewServeMux()
	Register(mux)
	mux.HandleFunc("GET /api/v1/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	mux.HandleFunc("GET /api/v1/incidents/INC-7", func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(detail) })
	mux.HandleFunc("GET /api/v1/topology", func(w http.ResponseWriter, r *http.Request) {
		if noTopology.Load() {
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"forbidden"}`))
			return
		}
		json.NewEncoder(w).Encode(topology)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })

	edges := func() (string, []string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/incidents/INC-7"), chromedp.WaitVisible(chromedp.CSS("#graph svg"))); err != nil {
			t.Fatal(err)
		}
		src, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#graph svg').dataset.edgesFrom`))
		if err != nil {
			t.Fatal(err)
		}
		es, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#graph line.edge')].map((l) =>
			l.dataset.from + '>' + l.dataset.to + ' ' + l.dataset.hops + (l.classList.contains('indirect') ? ' dashed' : '')).sort()`))
		if err != nil {
			t.Fatal(err)
		}
		return src, es
	}
	src, es := edges()
	if want := []string{"__proto__>payment 1", "checkout>payment 1", "web>checkout 2 dashed"}; src != "topology" || strings.Join(es, ",") != strings.Join(want, ",") {
		t.Errorf("from the topology: %s %q, want topology %q", src, es, want)
	}
	// Layers: web above checkout above payment (the root, at the bottom).
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const y = (s) => document.querySelector('#graph [data-service="' + s + '"] rect').y.baseVal.value;
		return y('web') < y('checkout') && y('checkout') < y('payment') && document.querySelector('#graph .node.root').dataset.service === 'payment'; })()`))
	if err != nil || !ok {
		t.Errorf("layers: %v %v", ok, err)
	}
	noTopology.Store(true)
	src, es = edges()
	if want := []string{"checkout>payment 1"}; src != "reasons" || strings.Join(es, ",") != strings.Join(want, ",") {
		t.Errorf("from the join reasons: %s %q, want reasons %q", src, es, want)
	}
}
