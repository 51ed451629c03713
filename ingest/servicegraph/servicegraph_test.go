package servicegraph

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/internal/testenv"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
)

// A real Prometheus scrapes service-graph metrics (as Tempo's metrics
// generator exposes them); the reader turns them into topology edges in
// the engine, and a caller's symptom then joins its failing dependency.
func TestServiceGraphFromRealPrometheus(t *testing.T) {
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprint(w, `# TYPE traces_service_graph_request_total counter
traces_service_graph_request_total{client="checkout",server="payment"} 120
traces_service_graph_request_total{client="frontend",server="checkout"} 300
traces_service_graph_request_total{client="frontend",server="frontend"} 3
`)
	}))
	defer metrics.Close()
	prom := testenv.StartPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: tempo
    static_configs:
      - targets: [%q]
`, strings.TrimPrefix(metrics.URL, "http://")), "")

	p, err := pipeline.Open(pipeline.Options{DataDir: t.TempDir(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	current := func() map[string][]string {
		var m map[string][]string
		p.View(func(e *correlate.Engine) { m = e.LearnedTopology()[Source] })
		return m
	}
	cfg := correlate.ServiceGraph{PrometheusURL: prom, Query: `traces_service_graph_request_total > 0`}
	if err := Validate(&cfg); err != nil {
		t.Fatal(err)
	}
	r := New(cfg, p, current, nil, nil)
	ctx := context.Background()
	var changed bool
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if changed, err = r.Sync(ctx); changed {
			break
		}
	}
	if !changed {
		t.Fatalf("no edges from Prometheus (last error %v)", err)
	}
	got := current()
	if fmt.Sprint(got) != "map[checkout:[payment] frontend:[checkout]]" {
		t.Fatalf("learned edges: %v", got)
	}
	if changed, err := r.Sync(ctx); changed || err != nil {
		t.Fatalf("an unchanged graph was journaled again: %v %v", changed, err)
	}
	now := time.Now()
	for _, a := range []model.Alert{
		{Labels: model.LabelSet{"alertname": "PaymentDown", "service": "payment"}, StartsAt: now},
		{Labels: model.LabelSet{"alertname": "CheckoutErrors", "service": "checkout"}, StartsAt: now},
	} {
		if err := p.Append(ctx, model.Batch{At: time.Now(), Alerts: []model.Alert{a}}); err != nil {
			t.Fatal(err)
		}
	}
	p.View(func(e *correlate.Engine) {
		if all := e.All(); len(all) != 1 || all[0].RootCause.Service != "payment" {
			t.Fatalf("incidents with the service graph: %+v", all)
		}
	})
	// A Prometheus that answers an error keeps the last graph.
	bad := New(correlate.ServiceGraph{PrometheusURL: prom, Query: `sum(`}, p, current, nil, nil)
	if _, err := bad.Sync(ctx); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Fatalf("bad query: %v", err)
	}
	if fmt.Sprint(current()) != "map[checkout:[payment] frontend:[checkout]]" {
		t.Fatal("a failed read changed the topology")
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []correlate.ServiceGraph{{}, {PrometheusURL: "prometheus:9090"}, {PrometheusURL: "http://p:9090", Interval: correlate.Duration(time.Second)}} {
		if err := Validate(&c); err == nil || !strings.HasPrefix(err.Error(), "topology.service_graph.") {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
}
