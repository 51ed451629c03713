// Package httpjson writes Sift's JSON responses, and its one error body
// ({"error": "...", "field": "..."}) for every API.
package httpjson

import (
	"encoding/json"
	"net/http"
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
