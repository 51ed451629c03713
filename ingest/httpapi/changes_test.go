package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/pipeline"
)

func TestChangesAPI(t *testing.T) {
	dir := t.TempDir()
	open := func() (*pipeline.Pipeline, *httptest.Server) {
		p, err := pipeline.Open(pipeline.Options{DataDir: dir, NoSync: true,
			Topology: correlate.Topology{Label: "service", DependsOn: map[string][]string{"checkout": {"payment"}}}})
		if err != nil {
			t.Fatal(err)
		}
		api := New(ingest.Config{}, p, p, nil, time.Now)
		api.Changes = p
		mux := http.NewServeMux()
		api.Register(mux)
		return p, httptest.NewServer(mux)
	}
	p, srv := open()
	post := func(path, body string, hdr ...string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		b, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(b, &out); err != nil && len(b) > 0 {
			t.Fatalf("POST %s answered non-JSON %q", path, b)
		}
		return resp.StatusCode, out
	}
	at := time.Now().Add(-3 * time.Minute).UTC().Format(time.RFC3339)
	if code, out := post("/api/v1/changes", `{"id":"c1","service":"payment","kind":"deploy","summary":"v1.4.2","at":"`+at+`","author":"alice","url":"https://ci.example/1"}`); code != 200 || out["accepted"] != 1.0 {
		t.Fatalf("POST change: %d %v", code, out)
	}
	if code, out := post("/api/v1/changes", `[{"id":"c2","service":"cart","kind":"config"},{"id":"c3","service":"cart","kind":"infra","at":"`+at+`"}]`); code != 200 || out["accepted"] != 2.0 {
		t.Fatalf("POST list: %d %v", code, out)
	}
	for _, c := range []struct{ body, field string }{
		{`{"id":"x","kind":"deploy"}`, "service"},
		{`{"service":"a","kind":"deploy"}`, "id"},
		{`{"id":"x","service":"a"}`, "kind"},
		{`{"id":"x","service":"a","kind":"deploy","url":"javascript:alert(1)"}`, "url"},
		{`[{"id":"x","service":"a","kind":"deploy"},{"id":"y","kind":"deploy"}]`, "[1].service"},
		{`{"id":"x","service":"a","kind":"deploy","colour":"red"}`, ""},
		{`[]`, ""},
		{`{"id":`, ""},
	} {
		if code, out := post("/api/v1/changes", c.body); code != 400 || out["error"] == nil || (out["field"] != nil && out["field"] != c.field) || (c.field != "" && out["field"] != c.field) {
			t.Errorf("POST %s: %d %v, want 400 naming %q", c.body, code, out, c.field)
		}
	}
	// GitHub deployment webhook.
	gh := `{"deployment":{"id":42,"sha":"0123456789abcdef","ref":"main","environment":"production","description":"hotfix","created_at":"` + at + `","creator":{"login":"bob"}},"repository":{"name":"payment-api","full_name":"acme/payment-api","html_url":"https://github.com/acme/payment-api"}}`
	if code, out := post("/api/v1/changes/github?service=payment", gh, "X-GitHub-Event", "deployment"); code != 200 || out["id"] != "github:acme/payment-api:42" {
		t.Fatalf("github deployment: %d %v", code, out)
	}
	if code, out := post("/api/v1/changes/github", `{"zen":"hi"}`, "X-GitHub-Event", "ping"); code != 200 || out["accepted"] != 0.0 {
		t.Fatalf("github ping: %d %v", code, out)
	}
	if code, _ := post("/api/v1/changes/github", gh); code != 400 {
		t.Fatalf("github webhook without X-GitHub-Event: %d", code)
	}

	list := func(q string) []map[string]any {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1/changes" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct{ Changes []map[string]any }
		json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode != 200 {
			t.Fatalf("GET changes%s: %d", q, resp.StatusCode)
		}
		return out.Changes
	}
	if got := list(""); len(got) != 4 || got[0]["id"] != "c2" {
		t.Fatalf("changes, newest first: %v", got)
	}
	if got := list("?service=payment"); len(got) != 2 || got[1]["summary"] != "v1.4.2" {
		t.Fatalf("changes of payment: %v", got)
	}
	if got := list("?since=1m"); len(got) != 1 || got[0]["id"] != "c2" {
		t.Fatalf("changes of the last minute: %v", got)
	}
	if resp, _ := http.Get(srv.URL + "/api/v1/changes?since=yesterday"); resp.StatusCode != 400 {
		t.Fatalf("bad since: %d", resp.StatusCode)
	}

	// An alert on checkout now: the payment deploy 3 minutes ago is
	// evidence; changes are journaled (they survive a restart).
	code, _ := post("/api/v2/alerts", `[{"labels":{"alertname":"CheckoutErrors","service":"checkout"}}]`)
	if code != 200 {
		t.Fatalf("post alert: %d", code)
	}
	srv.Close()
	p.Close()
	p, srv = open()
	defer p.Close()
	defer srv.Close()
	if got := list("?service=payment"); len(got) != 2 {
		t.Fatalf("changes after a restart: %v", got)
	}
	p.View(func(e *correlate.Engine) {
		all := e.All()
		if len(all) != 1 || len(all[0].RootCause.Changes) != 2 || all[0].RootCause.Changes[0].Relation != "dependency" {
			t.Fatalf("incident root cause: %+v", all[0].RootCause)
		}
	})
}

// With a GitHub secret, a webhook must carry the right X-Hub-Signature-256.
func TestGitHubWebhookSignature(t *testing.T) {
	p, err := pipeline.Open(pipeline.Options{DataDir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	api := New(ingest.Config{}, p, p, nil, time.Now)
	api.Changes = p
	api.GitHubSecret = []byte("s3cret")
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	body := `{"deployment":{"id":7,"ref":"v2","environment":"prod","created_at":"2026-12-01T10:00:00Z","creator":{"login":"bob"}},"repository":{"name":"cart","full_name":"acme/cart"}}`
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte(body))
	for _, c := range []struct {
		sig  string
		want int
	}{
		{"", 401},
		{"sha256=00", 401},
		{"sha256=" + hex.EncodeToString(mac.Sum(nil)), 200},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/changes/github", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "deployment")
		if c.sig != "" {
			req.Header.Set("X-Hub-Signature-256", c.sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("signature %q: %d, want %d", c.sig, resp.StatusCode, c.want)
		}
	}
	if got := p.Changes("cart", time.Time{}, 0); len(got) != 1 || got[0].Author != "bob" {
		t.Fatalf("changes: %+v", got)
	}
}
