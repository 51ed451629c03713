package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Every page renders, empty (no data: the script reads it from the API
// with the user's token), with the script, the navigation, the login form
// and a strict Content-Security-Policy.
func TestPagesRenderEmpty(t *testing.T) {
	srv := newServer(t)
	for path, want := range map[string][]string{
		"/":                 {`data-page="queue"`, `id="queue-body"`, `id="empty"`, "No incidents match.", `id="f-status"`, `<label for="f-service">`},
		"/incidents/INC-42": {`data-page="incident"`, `data-id="INC-42"`, `id="act-ack"`, `<label for="assignee">`, `id="explain"`, `id="articles"`, `id="timeline"`},
		"/problems":         {`data-page="problems"`, "No recurring incidents yet."},
		"/problems/PRB-1":   {`data-page="problem"`, `data-id="PRB-1"`},
		"/trends":           {`data-page="trends"`, `id="no-history"`, "History and analytics", `id="chart-volume"`},
		"/alerts":           {`data-page="alerts"`, `id="silence-form"`, `id="silences"`},
	} {
		resp, body := get(t, srv.URL+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
		for _, w := range append(want, `<script src="/console/static/console.js" defer></script>`, `href="/console/static/console.css"`,
			`id="login-form"`, `<label for="token">`, `<html lang="en">`, `name="viewport"`, `aria-current="page"`) {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %s in\n%s", path, w, body)
			}
		}
		// One script, ours; no inline script or handler.
		if n := strings.Count(body, "<script"); n != 1 {
			t.Errorf("GET %s: %d script elements", path, n)
		}
		if regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(body) {
			t.Errorf("GET %s: an inline event handler", path)
		}
	}
	// Only GET / exactly: other paths are someone else's (the API's 404).
	mux := http.NewServeMux()
	Register(mux)
	for _, p := range []string{"/nope", "/api/v1/nothing", "/incidents/", "/incidents/a/b"} {
		if _, pat := mux.Handler(httptest.NewRequest("GET", p, nil)); pat != "" {
			t.Errorf("GET %s is taken by the console (%s)", p, pat)
		}
	}
}

// The only server-rendered values are the ids of the path: hostile ones
// come out escaped, in the text and in attributes.
func TestHostilePathIsEscaped(t *testing.T) {
	srv := newServer(t)
	for _, p := range []string{"/incidents/", "/problems/"} {
		hostile := `"><script>window.__xss=1</script><img src=x onerror=alert(1)>`
		resp, body := get(t, srv.URL+p+strings.NewReplacer("<", "%3C", ">", "%3E", `"`, "%22", " ", "%20", "/", "%2F").Replace(hostile))
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s...: %d", p, resp.StatusCode)
		}
		if strings.Contains(body, "<script>window") || strings.Contains(body, "<img") {
			t.Errorf("GET %s<hostile>: not escaped:\n%s", p, body)
		}
		if !strings.Contains(body, "&lt;script&gt;window.__xss=1&lt;/script&gt;") && !strings.Contains(body, `&#34;&gt;&lt;script&gt;`) {
			t.Errorf("GET %s<hostile>: the id is not shown escaped:\n%s", p, body)
		}
	}
}

// The script never writes HTML: data reaches the page as text only.
func TestScriptWritesNoHTML(t *testing.T) {
	b, err := fs.ReadFile(staticFS, "static/console.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", "createContextualFragment", "DOMParser"} {
		if strings.Contains(js, bad) {
			t.Errorf("console.js uses %s", bad)
		}
	}
	for _, want := range []string{"textContent", "createTextNode", "safeURL", "'Bearer '", "sessionStorage", "EventSource", "/api/v1/stream"} {
		if !strings.Contains(js, want) {
			t.Errorf("console.js: no %s", want)
		}
	}
	// No CDN: nothing is loaded from another origin.
	err = fs.WalkDir(templateFS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(templateFS, path)
		if regexp.MustCompile(`(src|href)="(https?:)?//`).Match(b) {
			t.Errorf("%s loads from another origin", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`https?://[^'"\s]+`).FindAllString(js, -1); len(m) != 1 || m[0] != "http://www.w3.org/2000/svg" {
		t.Errorf("console.js names URLs %q (want only the SVG namespace)", m)
	}
}

func TestStaticFiles(t *testing.T) {
	srv := newServer(t)
	for path, ct := range map[string]string{"console.js": "text/javascript", "console.css": "text/css"} {
		resp, body := get(t, srv.URL+StaticPrefix+path)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), ct) || len(body) < 1000 {
			t.Errorf("GET %s: %d %q %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
	for _, p := range []string{"", "nope.js", "../console.go"} {
		if resp, _ := get(t, srv.URL+StaticPrefix+p); resp.StatusCode != 404 {
			t.Errorf("GET %s%s: %d, want 404", StaticPrefix, p, resp.StatusCode)
		}
	}
}

func BenchmarkRenderQueue(b *testing.B) {
	w := httptest.NewRecorder()
	for b.Loop() {
		w.Body.Reset()
		Render(w, Page{Name: "queue", Title: "Incident queue"})
	}
}
