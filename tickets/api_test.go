package tickets_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
	"github.com/sift-aiops/sift/tickets"
)

// The incident list over a real pipeline (journal in a temp dir):
// filters, paging and their errors.
func TestListFiltersAndPaging(t *testing.T) {
	p, err := pipeline.Open(pipeline.Options{DataDir: t.TempDir(), Correlate: correlate.Config{}, Topology: correlate.Topology{}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	now := time.Now().UTC()
	for i := 0; i < 25; i++ {
		a := model.Alert{Labels: model.LabelSet{"alertname": fmt.Sprintf("Alert%d", i), "service": fmt.Sprintf("svc%d", i%5)},
			StartsAt: now.Add(time.Duration(i) * time.Hour), EndsAt: now.Add(time.Duration(i)*time.Hour + 90*time.Minute)}
		if i%2 == 0 { // the even ones resolve at once
			a.StartsAt, a.EndsAt = now.Add(-time.Hour), now.Add(-time.Minute)
		}
		// Each alert far apart in time: 25 incidents (13 of them never fire: resolved on arrival).
		if err := p.Append(context.Background(), model.Batch{At: now.Add(time.Duration(i) * time.Hour), Alerts: []model.Alert{a}}); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	tickets.New(p).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	type list struct {
		Incidents []tickets.Summary `json:"incidents"`
		Total     int               `json:"total"`
	}
	get := func(q string, want int) list {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1/incidents" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var l list
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", q, resp.StatusCode, want)
		}
		json.NewDecoder(resp.Body).Decode(&l)
		return l
	}
	all := get("", 200)
	if all.Total != 12 || len(all.Incidents) != 12 {
		t.Fatalf("total %d, %d listed (want the 12 alerts that fired)", all.Total, len(all.Incidents))
	}
	if all.Incidents[0].OpenedAt.Before(all.Incidents[11].OpenedAt) {
		t.Fatal("not newest first")
	}
	page := get("?limit=5&offset=10", 200)
	if page.Total != 12 || len(page.Incidents) != 2 || page.Incidents[0].ID != all.Incidents[10].ID {
		t.Fatalf("page = %+v", page)
	}
	if svc := get("?service=svc1", 200); svc.Total == 0 || svc.Total == 12 {
		t.Fatalf("service filter: %d", svc.Total)
	} else {
		for _, inc := range svc.Incidents {
			if inc.Services[0] != "svc1" {
				t.Fatalf("service filter returned %+v", inc)
			}
		}
	}
	// The event clock is at the last batch: only the last firing alert
	// (hour 23, ending at 24:30) is still open.
	if open := get("?status=open", 200); open.Total != 1 || open.Incidents[0].Title == "" {
		t.Fatalf("open: %+v", open)
	}
	if res := get("?status=resolved", 200); res.Total != 11 {
		t.Fatalf("resolved: %d", res.Total)
	}
	for _, bad := range []string{"?status=nope", "?limit=x", "?offset=-2", "?since=yesterday"} {
		get(bad, 400)
	}
	resp, err := http.Get(srv.URL + "/api/v1/problems")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("problems: %v %v", resp, err)
	}
	resp.Body.Close()
}
