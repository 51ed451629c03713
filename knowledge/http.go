package knowledge

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// MaxLimit caps the number of results one request may ask for.
const MaxLimit = 100

type searchResponse struct {
	Results []Result `json:"results"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// SearchHandler serves GET /api/v1/knowledge/search?q=TEXT&limit=N with
// {"results":[{"id","title","score","matched"}]}. q is required; limit
// defaults to 10 and must be 1..100. Bad input gets 400 with
// {"error": "..."}; other methods get 405.
func (b *Base) SearchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use GET")
			return
		}
		vals := r.URL.Query()
		q := strings.TrimSpace(vals.Get("q"))
		if q == "" {
			writeError(w, http.StatusBadRequest, "missing query parameter q")
			return
		}
		limit := 10
		if s := vals.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > MaxLimit {
				writeError(w, http.StatusBadRequest, "invalid limit "+strconv.Quote(s)+": want an integer from 1 to "+strconv.Itoa(MaxLimit))
				return
			}
			limit = n
		}
		res, err := b.Search(q, limit)
		if err != nil {
			if strings.Contains(err.Error(), "no searchable words") {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, searchResponse{Results: res})
	})
}
