package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/model"
)

// pagedLister lists the same states as staticLister, page by page.
type pagedLister struct {
	staticLister
	pages *int
}

func (l pagedLister) FiringFingerprints() []model.Fingerprint {
	var fps []model.Fingerprint
	for _, st := range l.staticLister {
		if st.Status == model.StatusFiring {
			fps = append(fps, st.Fingerprint)
		}
	}
	slices.Sort(fps)
	return fps
}

func (l pagedLister) AlertStates(dst []model.AlertState, fps []model.Fingerprint) []model.AlertState {
	*l.pages++
	for _, fp := range fps {
		for _, st := range l.staticLister {
			if st.Fingerprint == fp && st.Status == model.StatusFiring {
				dst = append(dst, st)
			}
		}
	}
	return dst
}

// Issue #15, finding 2: GET /api/v2/alerts fetched every state before the
// first byte; from a pager it fetches a page at a time, and answers
// byte for byte what it answered from the whole list.
func TestGetAlertsPagedIsIdentical(t *testing.T) {
	var all staticLister
	for i := range 2500 {
		status, end := model.StatusFiring, time.Time{}
		switch i % 7 {
		case 3:
			status, end = model.StatusResolved, t0.Add(-time.Minute)
		case 5:
			end = t0.Add(-time.Second) // endsAt passed
		}
		st := state(status, end, "alertname", fmt.Sprintf("A%d", i%4), "instance", fmt.Sprint(i), "severity", []string{"critical", "warning"}[i%2])
		st.Annotations = model.LabelSet{"summary": "s"}
		if i%11 == 0 {
			st.SilencedBy = []string{"sil-1"}
		}
		all = append(all, st)
	}
	pages := 0
	serve := func(l AlertLister) *httptest.Server {
		api := New(ingest.Config{}, &memSink{}, l, nil, func() time.Time { return t0 })
		mux := http.NewServeMux()
		api.Register(mux)
		return httptest.NewServer(mux)
	}
	whole, paged := serve(all), serve(pagedLister{all, &pages})
	defer whole.Close()
	defer paged.Close()
	body := func(srv *httptest.Server, q string) string {
		resp, err := http.Get(srv.URL + "/api/v2/alerts" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprint(resp.StatusCode, resp.Header.Get("Content-Type"), string(b))
	}
	for _, q := range []string{"", "?silenced=false", "?active=false", `?filter=alertname="A1"`, "?receiver=other", `?filter=severity=~"crit.*"&silenced=true`} {
		pages = 0
		a, b := body(whole, q), body(paged, q)
		if a != b {
			t.Errorf("%q: paged answer differs (%d vs %d bytes)", q, len(a), len(b))
		}
		if len(a) < 100 && q != "?active=false" && q != "?receiver=other" {
			t.Errorf("%q: nearly empty answer %q", q, a)
		}
		if q == "" && pages < 2 {
			t.Errorf("%d pages fetched for about 1,800 alerts", pages)
		}
	}
}
