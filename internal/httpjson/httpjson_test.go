package httpjson

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
)

func TestRoutesRecordAndServe(t *testing.T) {
	mux := http.NewServeMux()
	r := NewRoutes(mux)
	var m Mux = r
	m.HandleFunc("GET /a/{id}", func(w http.ResponseWriter, req *http.Request) { Write(w, http.StatusOK, req.PathValue("id")) })
	m.Handle("/b", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { Error(w, http.StatusTeapot, "x", "no") }))
	if got, want := r.Patterns(), []string{"GET /a/{id}", "/b"}; !slices.Equal(got, want) {
		t.Fatalf("Patterns() = %q, want %q", got, want)
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/a/42", nil))
	if w.Code != 200 || w.Body.String() != "\"42\"\n" {
		t.Errorf("GET /a/42: %d %q", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("POST", "/b", nil))
	if w.Code != http.StatusTeapot || w.Body.String() != `{"error":"no","field":"x"}`+"\n" {
		t.Errorf("POST /b: %d %q", w.Code, w.Body)
	}
	var _ Mux = mux // a ServeMux is a Mux too
}
