package knowledge

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sift-aiops/sift/internal/httpjson"
)

// MaxLimit caps the number of results one request may ask for.
const MaxLimit = 100

type searchResponse struct {
	Results []Result `json:"results"`
}

// SearchHandler serves GET /api/v1/knowledge/search?q=TEXT&limit=N with
// {"results":[{"id","title","score","matched"}]}. q is required; limit
// defaults to 10 and must be 1..100. Bad input gets 400 with
// {"error": "..."}; other methods get 405.
func (b *Base) SearchHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			httpjson.Error(w, http.StatusMethodNotAllowed, "", "method "+r.Method+" not allowed: use GET")
			return
		}
		vals := r.URL.Query()
		q := strings.TrimSpace(vals.Get("q"))
		if q == "" {
			httpjson.Error(w, http.StatusBadRequest, "q", "missing query parameter q")
			return
		}
		limit := 10
		if s := vals.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > MaxLimit {
				httpjson.Error(w, http.StatusBadRequest, "limit", "invalid limit "+strconv.Quote(s)+": want an integer from 1 to "+strconv.Itoa(MaxLimit))
				return
			}
			limit = n
		}
		res, err := b.Search(q, limit)
		if err != nil {
			if strings.Contains(err.Error(), "no searchable words") {
				httpjson.Error(w, http.StatusBadRequest, "", err.Error())
				return
			}
			httpjson.Error(w, http.StatusInternalServerError, "", err.Error())
			return
		}
		httpjson.Write(w, http.StatusOK, searchResponse{Results: res})
	})
}
