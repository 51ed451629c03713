// Package servicegraph reads the service dependency graph that Tempo's
// metrics generator and the OpenTelemetry Collector's servicegraph
// connector publish to Prometheus (traces_service_graph_request_total with
// client and server labels) and gives it to the correlation engine as a
// journaled topology update whenever it changes (topology.service_graph).
package servicegraph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/model"
)

// Source is the name of the updates in the engine.
const Source = "service_graph"

// Defaults.
const (
	DefaultQuery    = `sum by (client, server) (increase(traces_service_graph_request_total[1h])) > 0`
	DefaultInterval = 5 * time.Minute
)

// Validate checks topology.service_graph.
func Validate(c *correlate.ServiceGraph) error {
	if c == nil {
		return nil
	}
	u, err := url.Parse(c.PrometheusURL)
	if c.PrometheusURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("topology.service_graph.prometheus_url: %q: want the http(s) base URL of a Prometheus API", c.PrometheusURL)
	}
	if c.Interval != 0 && time.Duration(c.Interval) < 10*time.Second {
		return fmt.Errorf("topology.service_graph.interval: %s: at least 10s", time.Duration(c.Interval))
	}
	return nil
}

// Actor journals an action (the pipeline).
type Actor interface {
	Act(ctx context.Context, a model.Action) (*model.Incident, error)
}

// Reader polls the graph.
type Reader struct {
	cfg     correlate.ServiceGraph
	act     Actor
	current func() map[string][]string // the edges the engine has from this source
	log     *slog.Logger
	client  *http.Client
	edges   prometheus.Gauge
	errs    prometheus.Counter
}

// New returns a reader of a validated configuration. current reports the
// edges the engine holds from this source (so a restart journals nothing
// when the graph did not change); reg may be nil.
func New(cfg correlate.ServiceGraph, act Actor, current func() map[string][]string, reg prometheus.Registerer, log *slog.Logger) *Reader {
	if cfg.Query == "" {
		cfg.Query = DefaultQuery
	}
	if cfg.ClientLabel == "" {
		cfg.ClientLabel = "client"
	}
	if cfg.ServerLabel == "" {
		cfg.ServerLabel = "server"
	}
	if cfg.Interval == 0 {
		cfg.Interval = correlate.Duration(DefaultInterval)
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reader{cfg: cfg, act: act, current: current, log: log, client: &http.Client{Timeout: 30 * time.Second},
		edges: prometheus.NewGauge(prometheus.GaugeOpts{Name: "sift_service_graph_edges", Help: "Dependency edges read from the service graph."}),
		errs:  prometheus.NewCounter(prometheus.CounterOpts{Name: "sift_service_graph_errors_total", Help: "Failed reads of the service graph."})}
	if reg != nil {
		reg.MustRegister(r.edges, r.errs)
	}
	return r
}

// Read queries Prometheus and returns the edges: client -> servers.
func (r *Reader) Read(ctx context.Context) (map[string][]string, error) {
	u := strings.TrimSuffix(r.cfg.PrometheusURL, "/") + "/api/v1/query?query=" + url.QueryEscape(r.cfg.Query)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	var out struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("service graph query: %d, not a Prometheus API answer: %v", resp.StatusCode, err)
	}
	if out.Status != "success" {
		return nil, fmt.Errorf("service graph query: %s: %s", out.ErrorType, out.Error)
	}
	if out.Data.ResultType != "vector" {
		return nil, fmt.Errorf("service graph query: result type %q, want an instant vector", out.Data.ResultType)
	}
	edges := map[string][]string{}
	for _, s := range out.Data.Result {
		c, sv := s.Metric[r.cfg.ClientLabel], s.Metric[r.cfg.ServerLabel]
		if c == "" || sv == "" || c == sv {
			continue
		}
		edges[c] = append(edges[c], sv)
	}
	for c, deps := range edges {
		slices.Sort(deps)
		edges[c] = slices.Compact(deps)
	}
	return edges, nil
}

// Sync reads the graph and journals it if it differs from what the
// engine has; it reports whether it did.
func (r *Reader) Sync(ctx context.Context) (bool, error) {
	edges, err := r.Read(ctx)
	if err != nil {
		r.errs.Inc()
		return false, err
	}
	n := 0
	for _, d := range edges {
		n += len(d)
	}
	r.edges.Set(float64(n))
	if cur := r.current(); reflect.DeepEqual(normal(cur), normal(edges)) {
		return false, nil
	}
	if _, err := r.act.Act(ctx, model.Action{Kind: model.ActionTopology, Actor: "service graph",
		Topology: &model.TopologyUpdate{Source: Source, DependsOn: edges}}); err != nil {
		return false, err
	}
	r.log.Info("service graph updated the topology", "edges", n, "prometheus", r.cfg.PrometheusURL)
	return true, nil
}

func normal(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range m {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// Run syncs now and every interval until ctx ends; failures are logged
// (at most once per interval) and counted, and the last graph stays.
func (r *Reader) Run(ctx context.Context) {
	t := time.NewTicker(time.Duration(r.cfg.Interval))
	defer t.Stop()
	for {
		if _, err := r.Sync(ctx); err != nil && !errors.Is(err, context.Canceled) {
			r.log.Warn("service graph not read; the topology keeps its last edges", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
