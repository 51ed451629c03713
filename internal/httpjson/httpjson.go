// Package httpjson writes Sift's JSON responses, and its one error body
// ({"error": "...", "field": "..."}) for every API; Mux and Routes are
// where the APIs register their routes.
package httpjson

import (
	"encoding/json"
	"net/http"
	"sync"
)

// ErrorBody is the body of every 4xx/5xx answer: what is wrong and, when
// one field of the request is to blame, which.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// Write writes v as compact JSON with status code.
func Write(w http.ResponseWriter, code int, v any) { write(w, code, v, false) }

// WriteIndented writes v as indented JSON (for APIs people read).
func WriteIndented(w http.ResponseWriter, code int, v any) { write(w, code, v, true) }

// Error writes an ErrorBody with status code.
func Error(w http.ResponseWriter, code int, field, msg string) {
	Write(w, code, ErrorBody{Error: msg, Field: field})
}

func write(w http.ResponseWriter, code int, v any, indent bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v)
}

// Mux is where routes are registered: an *http.ServeMux, or Routes, which
// also records them.
type Mux interface {
	Handle(pattern string, handler http.Handler)
	HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request))
}

// Routes registers routes on a ServeMux and records their patterns, so
// that the routes served can be listed (and checked against the API's
// description).
type Routes struct {
	mux      *http.ServeMux
	mu       sync.Mutex
	patterns []string
}

// NewRoutes returns a Routes registering on mux.
func NewRoutes(mux *http.ServeMux) *Routes { return &Routes{mux: mux} }

// Handle registers handler for pattern on the ServeMux and records it.
func (r *Routes) Handle(pattern string, handler http.Handler) {
	r.mux.Handle(pattern, handler)
	r.record(pattern)
}

// HandleFunc registers handler for pattern on the ServeMux and records it.
func (r *Routes) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	r.mux.HandleFunc(pattern, handler)
	r.record(pattern)
}

func (r *Routes) record(pattern string) {
	r.mu.Lock()
	r.patterns = append(r.patterns, pattern)
	r.mu.Unlock()
}

// Patterns returns the patterns registered so far, in order.
func (r *Routes) Patterns() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.patterns...)
}
