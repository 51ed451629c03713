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

// GET /api/v1/alertnames over a real pipeline: a warning that always fires
// alone becomes background noise, a crash with company does not; the
// noise filter and its error.
func TestAlertNamesShowLearnedNoise(t *testing.T) {
	topo := correlate.Topology{Label: "service", DependsOn: map[string][]string{"checkout": {"payment"}}}
	p, err := pipeline.Open(pipeline.Options{DataDir: t.TempDir(), Topology: topo})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	send := func(at time.Duration, name, svc string, lasts time.Duration) {
		t.Helper()
		a := model.Alert{Labels: model.LabelSet{"alertname": name, "service": svc},
			StartsAt: t0.Add(at), EndsAt: t0.Add(at + lasts)}
		if err := p.Append(context.Background(), model.Batch{At: t0.Add(at), Alerts: []model.Alert{a}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 8; i++ {
		h := time.Duration(i) * time.Hour
		send(h, "CertificateExpiringSoon", "payment", 5*time.Minute)
		send(h+20*time.Minute, "PodCrashLooping", "payment", 5*time.Minute)
		send(h+20*time.Minute+30*time.Second, "UpstreamErrorRate", "checkout", 5*time.Minute)
	}
	send(9*time.Hour, "Tick", "payment", time.Minute) // moves the event clock past every end
	mux := http.NewServeMux()
	tickets.New(p).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(q string, want int) map[string]correlate.AlertName {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/v1/alertnames" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d, want %d", q, resp.StatusCode, want)
		}
		var body struct {
			AlertNames []correlate.AlertName `json:"alertnames"`
			Error      string                `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		if want != 200 {
			if body.Error == "" {
				t.Fatalf("GET %s: no error message", q)
			}
			return nil
		}
		out := map[string]correlate.AlertName{}
		for _, n := range body.AlertNames {
			out[n.Name] = n
		}
		return out
	}
	all := get("", 200)
	cert, crash := all["CertificateExpiringSoon"], all["PodCrashLooping"]
	if !cert.Noise || cert.WithCompany != 0 || cert.Episodes < 5 {
		t.Fatalf("CertificateExpiringSoon should be learned noise: %+v", cert)
	}
	if crash.Noise || crash.WithCompany == 0 {
		t.Fatalf("PodCrashLooping fires with its callers' symptoms, not noise: %+v", crash)
	}
	if noise := get("?noise=true", 200); len(noise) != 1 || !noise["CertificateExpiringSoon"].Noise {
		t.Fatalf("?noise=true: %+v", noise)
	}
	if other := get("?noise=false", 200); other["CertificateExpiringSoon"].Name != "" || other["PodCrashLooping"].Name == "" {
		t.Fatalf("?noise=false: %+v", other)
	}
	get("?noise=maybe", 400)
}
