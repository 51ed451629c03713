package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sift-aiops/sift/classify"
	"github.com/sift-aiops/sift/classify/llm"
	"github.com/sift-aiops/sift/config"
	"github.com/sift-aiops/sift/console"
	"github.com/sift-aiops/sift/correlate"
	"github.com/sift-aiops/sift/history"
	"github.com/sift-aiops/sift/ingest"
	"github.com/sift-aiops/sift/ingest/httpapi"
	"github.com/sift-aiops/sift/ingest/kafka"
	"github.com/sift-aiops/sift/ingest/servicegraph"
	"github.com/sift-aiops/sift/internal/auth"
	"github.com/sift-aiops/sift/internal/httpjson"
	"github.com/sift-aiops/sift/internal/memlimit"
	"github.com/sift-aiops/sift/knowledge"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
	"github.com/sift-aiops/sift/tickets"
	"github.com/sift-aiops/sift/tickets/kafkaexport"
	"github.com/sift-aiops/sift/tickets/maintenance"
	"github.com/sift-aiops/sift/tickets/notify"
)

// serverWriteTimeout bounds how long the server takes to write an answer;
// a streamed answer extends it as data flows (httpapi.StreamWriteTimeout).
// A variable for the tests.
var serverWriteTimeout = 60 * time.Second

func serveMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (YAML); none: built-in defaults")
	listen := fs.String("listen", "", "address to listen on (overrides the config; default "+config.DefaultListen+")")
	dataDir := fs.String("data-dir", "", "directory for durable state (overrides the config; default "+config.DefaultDataDir+")")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sift serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "sift serve: --log-level: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	cfg := config.Default()
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "sift serve: invalid configuration: %v\n", err)
			return 1
		}
		cfg = c
	}
	if *listen != "" {
		cfg.Listen = *listen
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log, nil); err != nil {
		fmt.Fprintf(stderr, "sift serve: %v\n", err)
		return 1
	}
	return 0
}

// serve runs Sift until ctx is done. If ready is not nil it receives the
// listening address once the server accepts connections.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, ready chan<- string) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if mc := memlimit.Start(memlimit.Config{Headroom: cfg.Limits.Headroom(), Base: 128 << 20}, reg); mc != nil {
		defer mc.Stop()
	}
	guard, err := auth.NewGuard(cfg.Auth, reg, log) // reads the tokens from their variables, once
	if err != nil {
		return err
	}
	if !guard.Enabled() && !auth.LoopbackOnly(cfg.Listen) {
		log.Warn("no API tokens (auth.tokens) and a listen address other machines can reach: anyone who reaches it can read incidents, post alerts and act on incidents; configure auth.tokens or listen on 127.0.0.1", "listen", cfg.Listen)
	}
	var tlsCfg *tls.Config
	if cfg.TLS.Enabled() {
		if tlsCfg, err = cfg.TLS.ServerConfig(log); err != nil {
			return err
		}
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	ccfg := cfg.Classify
	if ccfg.KNN.IndexPath == "" {
		ccfg.KNN.IndexPath = filepath.Join(cfg.DataDir, "incidents.bleve")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		ln.Close()
		return fmt.Errorf("data directory: %w", err)
	}
	classifier, err := classify.New(ccfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer classifier.Close()
	stage := newClassifyStage(classifier, log)
	if cfg.LLM.Enabled() {
		ts, err := newTriageStage(cfg.LLM, classifier, cfg.DataDir, reg, log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("llm: %w", err)
		}
		defer ts.close()
		stage.triage = ts
		trust, err := classify.OpenTrust(filepath.Join(cfg.DataDir, "llm", "trust.json"))
		if err != nil {
			ln.Close()
			return fmt.Errorf("llm trust: %w", err)
		}
		classifier.Trust = trust
		log.Info("llm triage enabled", "base_url", cfg.LLM.BaseURL, "model", cfg.LLM.Model)
	}
	if cfg.Kafka.Enabled() && cfg.Kafka.IncidentsEnabled() {
		exp, err := kafkaexport.New(cfg.Kafka, reg, log)
		if err != nil {
			ln.Close()
			return fmt.Errorf("kafka incidents exporter: %w", err)
		}
		defer exp.Close()
		stage.next = append(stage.next, exp)
	}
	// Webhooks and the live stream, after the classify stage: their events
	// carry the classification.
	notifier, err := notify.New(cfg.Notify, cfg.DataDir, reg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer notifier.Close()
	stream := notify.NewStream(log)
	defer stream.Close()
	stage.next = append(stage.next, notifier, stream)
	recorder, err := openHistory(ctx, cfg, reg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer recorder.Close()
	stage.next = append(stage.next, recorder)
	p, err := pipeline.Open(pipeline.Options{
		DataDir:    cfg.DataDir,
		Correlate:  cfg.Correlate,
		Topology:   cfg.Topology,
		Registerer: reg,
		Logger:     log,
		History:    true,

		MaxActiveAlerts: cfg.Limits.ActiveAlerts(),
		SLA:             cfg.SLA.Policy(),
	}, stage)
	if err != nil {
		ln.Close()
		return err
	}
	stage.p = p
	stage.startPrioritizer(ctx, p.Act)
	recorder.OnSpoolFull = func() { raiseSpoolFull(p, log) }
	p.Resync() // events a crash kept from the exporters
	stopConsumer := func() {}
	if cfg.Kafka.Enabled() {
		consumer, err := kafka.Start(ctx, cfg.Kafka, ingest.NewDecoder(cfg.Ingest), p, p, reg, log)
		if err != nil {
			p.Close()
			ln.Close()
			return fmt.Errorf("kafka consumer: %w", err)
		}
		stopConsumer = func() {
			if err := consumer.Close(); err != nil {
				log.Warn("kafka consumer close", "err", err)
			}
		}
		log.Info("kafka consumer started", "brokers", cfg.Kafka.Brokers, "topic", cfg.Kafka.Topic, "group", cfg.Kafka.Group)
	}

	kcfg := cfg.Knowledge
	if kcfg.Dir != "" && kcfg.IndexPath == "" {
		kcfg.IndexPath = filepath.Join(cfg.DataDir, "knowledge.bleve")
	}
	kb, err := knowledge.Open(kcfg)
	if err != nil {
		p.Close()
		ln.Close()
		return err
	}
	defer kb.Close()
	kb.OnError = func(err error) { log.Warn("knowledge base", "err", err) }
	if stage.triage != nil {
		stage.triage.start(p, kb)
	}
	if kcfg.Dir != "" {
		go kb.Watch(ctx)
		log.Info("knowledge base loaded", "dir", kcfg.Dir, "articles", kb.Len())
	}

	serveMux := http.NewServeMux()
	mux := httpjson.NewRoutes(serveMux) // records the routes: openapi_test.go checks them against openapi.json
	ingestAPI := httpapi.New(cfg.Ingest, p, p, reg, time.Now)
	ingestAPI.Silences = p
	ingestAPI.Changes = p
	if env := cfg.Ingest.GitHubSecretEnv; env != "" {
		secret := os.Getenv(env)
		if secret == "" {
			ln.Close()
			p.Close()
			return fmt.Errorf("ingest.github_secret_env: environment variable %s is empty or unset", env)
		}
		ingestAPI.GitHubSecret = []byte(secret)
		guard.SelfAuthenticated("POST /api/v1/changes/github") // the signature stands for a token
	}
	ingestAPI.TokenName = auth.TokenName // silences name the token in their actions
	ingestAPI.Register(mux)
	if sg := cfg.Topology.ServiceGraph; sg != nil {
		learned := func() map[string][]string {
			var m map[string][]string
			p.View(func(e *correlate.Engine) { m = e.LearnedTopology()[servicegraph.Source] })
			return m
		}
		go servicegraph.New(*sg, p, learned, reg, log).Run(ctx)
	}
	mux.HandleFunc("GET /api/v1/topology", func(w http.ResponseWriter, r *http.Request) {
		var eff correlate.Topology
		var learned map[string]map[string][]string
		p.View(func(e *correlate.Engine) { eff, learned = e.EffectiveTopology(), e.LearnedTopology() })
		tickets.WriteJSON(w, http.StatusOK, map[string]any{"label": eff.Label, "dependsOn": eff.DependsOn, "learned": learned})
	})
	sched := maintenance.NewScheduler(cfg.Maintenance, p, time.Now, log)
	go sched.Run(ctx)
	sched.Register(mux)
	tapi := tickets.New(p)
	tapi.Enrich = func(inc *model.Incident, alerts []model.AlertState, out map[string]any) {
		if arts, err := kb.Match(inc, alerts, 5); err == nil {
			out["articles"] = arts
		}
		out["classification"] = stage.Classify(inc, alerts)
		if inc.Triage != nil {
			out["triage"] = inc.Triage // also inside the incident
		}
	}
	tapi.Register(mux)
	notifier.Register(mux)
	stream.Register(mux)
	mux.HandleFunc("POST /api/v1/incidents/{id}/classify", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Actor    string `json:"actor"`
			Team     string `json:"team"`
			Category string `json:"category"`
			Priority string `json:"priority"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			tickets.WriteError(w, http.StatusBadRequest, "", "invalid JSON body: "+err.Error())
			return
		}
		if req.Team == "" && req.Category == "" && req.Priority == "" {
			tickets.WriteError(w, http.StatusBadRequest, "team", "team, category or priority: at least one is required")
			return
		}
		if err := classifier.CheckLabels(req.Team, req.Category); err != nil {
			tickets.WriteError(w, http.StatusBadRequest, "team", err.Error())
			return
		}
		var cur *model.Incident
		p.View(func(e *correlate.Engine) { cur = e.Incident(r.PathValue("id")) })
		if cur == nil {
			tickets.WriteError(w, http.StatusNotFound, "id", fmt.Sprintf("incident %q not found", r.PathValue("id")))
			return
		}
		c := stage.Classify(cur, nil).Classification
		if req.Team != "" {
			c.Team = req.Team
		}
		if req.Category != "" {
			c.Category = req.Category
		}
		if req.Priority != "" {
			c.Priority = req.Priority
		}
		c.Confidence = 1
		who := req.Actor
		if who == "" {
			who = "an agent"
		}
		c.Sources = []string{"corrected by " + who}
		inc, err := p.Act(r.Context(), model.Action{Kind: model.ActionClassify, Incident: cur.ID, Actor: req.Actor, Token: auth.TokenName(r.Context()), Class: &c})
		if err != nil {
			tickets.WriteActError(w, err)
			return
		}
		var alerts []model.AlertState
		p.View(func(e *correlate.Engine) { alerts = e.IncidentAlertsN(cur.ID, tickets.MaxAlertsLimit) })
		if err := classifier.Learn(inc, alerts, c); err != nil {
			log.Warn("classify: learn from correction", "err", err)
		}
		tickets.WriteJSON(w, http.StatusOK, map[string]any{"incident": inc})
	})
	mux.Handle("GET /api/v1/knowledge/search", kb.SearchHandler())
	mux.HandleFunc("GET /api/v1/incidents/{id}/triage", func(w http.ResponseWriter, r *http.Request) {
		var inc *model.Incident
		p.View(func(e *correlate.Engine) { inc = e.Incident(r.PathValue("id")) })
		if inc == nil {
			tickets.WriteError(w, http.StatusNotFound, "id", fmt.Sprintf("incident %q not found", r.PathValue("id")))
			return
		}
		out := map[string]any{"incident": inc.ID, "triage": inc.Triage, "audit": []any{}}
		if stage.triage != nil {
			a, err := stage.triage.audits(inc.ID)
			if err != nil {
				tickets.WriteError(w, http.StatusInternalServerError, "", err.Error())
				return
			}
			out["audit"] = a
		}
		tickets.WriteJSON(w, http.StatusOK, out)
	})
	(&history.Analytics{Store: recorder.Store()}).Register(mux, time.Now)
	mux.HandleFunc("POST /api/v1/incidents/{id}/draft-article", func(w http.ResponseWriter, r *http.Request) {
		var inc *model.Incident
		var alerts []model.AlertState
		var linked []*model.Incident
		p.View(func(e *correlate.Engine) {
			inc = e.Incident(r.PathValue("id"))
			if inc == nil {
				return
			}
			alerts = e.IncidentAlertsN(inc.ID, tickets.MaxAlertsLimit)
			if inc.Problem != "" {
				if pr := e.Problem(inc.Problem); pr != nil {
					for _, id := range pr.Incidents {
						if l := e.Incident(id); l != nil && id != inc.ID {
							linked = append(linked, l)
						}
					}
				}
			}
		})
		if inc == nil {
			tickets.WriteError(w, http.StatusNotFound, "id", fmt.Sprintf("incident %q not found", r.PathValue("id")))
			return
		}
		if r.URL.Query().Get("llm") == "true" {
			// A draft written by the LLM, marked as such, from the
			// resolved incident and its notes.
			if stage.triage == nil {
				tickets.WriteError(w, http.StatusBadRequest, "llm", "no LLM is configured (llm.base_url, llm.model)")
				return
			}
			res := stage.Classify(inc, alerts)
			in := llm.Input{Incident: inc, Alerts: alerts, Neighbors: res.Similar, Current: res.Classification, NoCache: true}
			if arts, err := kb.Match(inc, alerts, 5); err == nil {
				in.Articles = arts
			}
			md, audit, err := stage.triage.client.Draft(r.Context(), in, inc.Notes)
			stage.triage.keepAudit(inc.ID, audit)
			if err != nil {
				tickets.WriteError(w, http.StatusBadGateway, "", "llm draft: "+err.Error())
				return
			}
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			io.WriteString(w, md)
			return
		}
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		io.WriteString(w, knowledge.Draft(inc, alerts, linked))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /api/v1/openapi.json", serveOpenAPI)
	health := func(w http.ResponseWriter, r *http.Request) {
		tickets.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
	readyz := func(w http.ResponseWriter, r *http.Request) {
		if !p.Ready() {
			tickets.WriteError(w, http.StatusServiceUnavailable, "", "recovering state")
			return
		}
		if err := p.Health(); err != nil {
			tickets.WriteError(w, http.StatusServiceUnavailable, "", "not accepting alerts: "+err.Error())
			return
		}
		tickets.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	}
	if cfg.Debug.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		log.Warn("profiling endpoints enabled under /debug/pprof/ (debug.pprof)")
	}
	mux.HandleFunc("GET /healthz", health)
	mux.HandleFunc("GET /-/healthy", health)
	mux.HandleFunc("GET /readyz", readyz)
	mux.HandleFunc("GET /-/ready", readyz)
	// The web console's HTML pages (console/): not the JSON API, so on the
	// ServeMux itself, not recorded for openapi.json.
	console.Register(serveMux)

	mux.HandleFunc("/", noRoute(serveMux)) // 404, or 405 for a path served with other methods
	if routesRegistered != nil {
		routesRegistered(mux.Patterns())
	}

	srv := &http.Server{
		Handler:           guard.Middleware(serveMux, requireJSON(serveMux)), // auth first: a refused request learns nothing else
		TLSConfig:         tlsCfg,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      serverWriteTimeout, // long answers (GET /api/v2/alerts) move it on as they stream
		IdleTimeout:       2 * time.Minute,
	}
	srv.RegisterOnShutdown(stream.Close) // event streams never go idle: end them
	errc := make(chan error, 1)
	go func() {
		if tlsCfg != nil {
			errc <- srv.ServeTLS(ln, "", "") // the certificate is in TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()
	log.Info("sift serving", "listen", ln.Addr().String(), "data_dir", cfg.DataDir, "tls", tlsCfg != nil, "auth_tokens", len(cfg.Auth.Tokens))
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	stopConsumer() // before the pipeline: nothing is appended after it closes
	if cerr := p.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("sift stopped")
	return err
}

// requireJSON refuses a request that changes something and carries a body
// that is not JSON (415): a web page can post a form or text/plain to any
// address without asking, but not application/json.
func requireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
				ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
				if err != nil || ct != "application/json" {
					tickets.WriteError(w, http.StatusUnsupportedMediaType, "Content-Type",
						fmt.Sprintf("Content-Type %q: this endpoint takes application/json", r.Header.Get("Content-Type")))
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}
