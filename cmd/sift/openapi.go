package main

import (
	_ "embed"
	"fmt"
	"net/http"
	"strings"

	"github.com/sift-aiops/sift/tickets"
)

// openAPIDoc is the OpenAPI 3 description of the whole HTTP API, served at
// GET /api/v1/openapi.json. openapi_test.go checks it against the routes
// serve registers and the answers they give.
//
//go:embed openapi.json
var openAPIDoc []byte

// serveOpenAPI answers GET /api/v1/openapi.json.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPIDoc)
}

// routesRegistered, when set (by tests only), receives the pattern of every
// route serve registered, once they all are.
var routesRegistered func(patterns []string)

// noRoute answers a request no route took: 405 with an Allow header when
// the path is served with other methods, 404 otherwise.
func noRoute(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if m == r.Method {
				continue
			}
			if _, p := mux.Handler(&http.Request{Method: m, Host: r.Host, URL: r.URL}); p != "" && p != "/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			a := strings.Join(allow, ", ")
			w.Header().Set("Allow", a)
			tickets.WriteError(w, http.StatusMethodNotAllowed, "",
				fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, r.URL.Path, a))
			return
		}
		tickets.WriteError(w, http.StatusNotFound, "", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	}
}
