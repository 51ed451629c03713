package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sift-aiops/sift/benchmarks/internal/loadgen"
	"github.com/sift-aiops/sift/model"
)

func TestLabelSetsDistinctAndRealistic(t *testing.T) {
	const n = 70000
	seen := make(map[model.Fingerprint]int, n)
	for i := range n {
		ls := model.LabelSet(loadgen.LabelSet(i))
		if len(ls) < 8 {
			t.Fatalf("label set %d has %d labels: %s", i, len(ls), ls)
		}
		for _, k := range []string{"alertname", "service", "instance", "severity", "cluster"} {
			if ls[k] == "" {
				t.Fatalf("label set %d lacks %s: %s", i, k, ls)
			}
		}
		fp := ls.Fingerprint()
		if j, dup := seen[fp]; dup {
			t.Fatalf("label sets %d and %d collide: %s", j, i, ls)
		}
		seen[fp] = i
	}
}

func TestBodyIsAlertmanagerJSON(t *testing.T) {
	c, err := newCorpus(5)
	if err != nil {
		t.Fatal(err)
	}
	var clk clock
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	clk.set(now)
	var buf bytes.Buffer
	c.body(&buf, 3, 4, clk.v.Load()) // wraps around: 3, 4, 0, 1
	var alerts []model.Alert
	if err := json.Unmarshal(buf.Bytes(), &alerts); err != nil {
		t.Fatalf("body is not a JSON alert array: %v\n%s", err, buf.String())
	}
	if len(alerts) != 4 {
		t.Fatalf("got %d alerts, want 4", len(alerts))
	}
	for k, want := range []int{3, 4, 0, 1} {
		a := alerts[k]
		if a.Labels.Fingerprint() != model.LabelSet(loadgen.LabelSet(want)).Fingerprint() {
			t.Errorf("alert %d has labels %s, want set %d", k, a.Labels, want)
		}
		if !a.StartsAt.Equal(now) || !a.EndsAt.Equal(now.Add(5*time.Minute)) {
			t.Errorf("alert %d: startsAt %s endsAt %s", k, a.StartsAt, a.EndsAt)
		}
		if a.Annotations["summary"] == "" || a.Annotations["description"] == "" {
			t.Errorf("alert %d lacks annotations: %v", k, a.Annotations)
		}
	}
}

func TestRunCountsTotalAndErrors(t *testing.T) {
	var mu sync.Mutex
	got := map[model.Fingerprint]int{}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var alerts []model.Alert
		if err := json.NewDecoder(r.Body).Decode(&alerts); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		if len(alerts) == 0 { // the reachability probe
			return
		}
		// Every third request is refused.
		if calls.Add(1)%3 == 0 {
			http.Error(w, `{"error":"busy"}`, 503)
			return
		}
		mu.Lock()
		for _, a := range alerts {
			got[a.Labels.Fingerprint()]++
		}
		mu.Unlock()
	}))
	defer srv.Close()

	res, err := run(context.Background(), options{url: srv.URL, clients: 3, batch: 7, distinct: 50, total: 1000, timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.AlertsSent != 1000 {
		t.Errorf("sent %d alerts, want exactly -total 1000", res.AlertsSent)
	}
	if res.Requests != 143 { // ceil(1000/7)
		t.Errorf("requests = %d, want 143", res.Requests)
	}
	if res.Requests2xx+res.RequestsNon2xx != res.Requests || res.RequestsNon2xx != 47 {
		t.Errorf("2xx %d + non-2xx %d, want 96 + 47", res.Requests2xx, res.RequestsNon2xx)
	}
	var stored int64
	for _, n := range got {
		stored += int64(n)
	}
	if stored != res.AlertsAccepted || len(got) != 50 {
		t.Errorf("server stored %d alerts over %d label sets; load reports %d accepted, want 50 sets", stored, len(got), res.AlertsAccepted)
	}
	if res.FirstError == "" || res.P99Millis < res.P50Millis || res.AcceptedPerSec <= 0 {
		t.Errorf("result incomplete: %+v", res)
	}
}

func TestValidate(t *testing.T) {
	good := options{url: "http://x/api/v2/alerts", clients: 1, batch: 1, distinct: 1, duration: time.Second}
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []options{
		{url: "x", clients: 1, batch: 1, distinct: 1, duration: time.Second},
		{url: good.url, clients: 0, batch: 1, distinct: 1, duration: time.Second},
		{url: good.url, clients: 1, batch: 0, distinct: 1, duration: time.Second},
		{url: good.url, clients: 1, batch: 1, distinct: 0, duration: time.Second},
		{url: good.url, clients: 1, batch: 1, distinct: 1},
		{url: good.url, clients: 1, batch: 1, distinct: 1, total: -1},
	} {
		if err := bad.validate(); err == nil {
			t.Errorf("validate(%+v) = nil", bad)
		}
	}
}
