// Package console is Sift's web console: the incident queue, incident and
// problem pages, trends and current alerts, served by `sift serve` at /,
// /incidents/{id}, /problems, /problems/{id}, /trends and /alerts.
//
// The pages are HTML shells rendered with html/template that hold no data:
// a small hand-written script (static/console.js, embedded, no build step,
// no CDN) reads everything from the JSON API the agents use, with the API
// token the user typed (kept in sessionStorage, sent as Authorization:
// Bearer), so the API's access control applies to the console unchanged.
// The script only ever puts data into the page as text (textContent,
// setAttribute on a fixed set of attributes; links only to http and https
// URLs), and the pages are served with a Content-Security-Policy that
// allows no inline script.
//
// The pages are not part of the JSON API: they are registered on the
// server's ServeMux directly, not through the recorded routes that
// cmd/sift/openapi.json documents.
package console

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// StaticPrefix is where the embedded CSS and JS are served.
const StaticPrefix = "/console/static/"

// Page is what a shell page template gets.
type Page struct {
	Name  string // queue, incident, problems, problem, trends, alerts
	Title string
	ID    string // the incident or problem id of the path, or ""
}

var pages = map[string]string{
	"queue":    "Incident queue",
	"incident": "Incident",
	"problems": "Problems",
	"problem":  "Problem",
	"trends":   "Trends",
	"alerts":   "Alerts",
}

// tmpl holds one template set per page: layout.html plus the page's own.
var tmpl = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for name := range pages {
		out[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}()

// Render writes the shell of page name.
func Render(w http.ResponseWriter, p Page) {
	var buf bytes.Buffer
	if err := tmpl[p.Name].ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "console: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	setSecurityHeaders(h)
	h.Set("Cache-Control", "no-cache")
	w.Write(buf.Bytes())
}

// CSP allows the console's own script, style and API calls, and nothing
// inline: even an escaping bug could not run an injected script.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// Mux is where the console registers its routes (an *http.ServeMux).
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Patterns are the routes Register adds (internal/auth/policy.go lets
// them through without a token: they hold no data).
var Patterns = []string{
	"GET /{$}",
	"GET /incidents/{id}",
	"GET /problems",
	"GET /problems/{id}",
	"GET /trends",
	"GET /alerts",
	"GET " + StaticPrefix,
}

// Register adds the console's pages and static files to mux.
func Register(mux Mux) {
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			Render(w, Page{Name: name, Title: pages[name], ID: r.PathValue("id")})
		}
	}
	mux.HandleFunc("GET /{$}", page("queue"))
	mux.HandleFunc("GET /incidents/{id}", page("incident"))
	mux.HandleFunc("GET /problems", page("problems"))
	mux.HandleFunc("GET /problems/{id}", page("problem"))
	mux.HandleFunc("GET /trends", page("trends"))
	mux.HandleFunc("GET /alerts", page("alerts"))
	mux.Handle("GET "+StaticPrefix, Static())
}

// Static serves the embedded files under StaticPrefix.
func Static() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix(StaticPrefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		setSecurityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
