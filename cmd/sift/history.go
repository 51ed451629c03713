package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sift-aiops/sift/config"
	"github.com/sift-aiops/sift/history"
	"github.com/sift-aiops/sift/model"
	"github.com/sift-aiops/sift/pipeline"
)

// openHistory opens the configured history store and starts its recorder.
// ClickHouse that cannot be reached yet is not fatal: its rows wait in the
// spool.
func openHistory(ctx context.Context, cfg *config.Config, reg prometheus.Registerer, log *slog.Logger) (*history.Recorder, error) {
	hc := cfg.History.WithDefaults()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, err := history.Open(cctx, hc, cfg.DataDir)
	if err != nil {
		if store == nil {
			return nil, err
		}
		log.Warn("history: ClickHouse not reachable; rows wait in the spool until it is", "addr", hc.ClickHouse.Addr, "err", err)
	}
	_, spoolDir := hc.Dirs(cfg.DataDir)
	rec, err := history.NewRecorder(store, spoolDir, hc, reg, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	log.Info("history enabled", "store", store.Kind())
	return rec, nil
}

// raiseSpoolFull raises an alert of Sift's own while the history spool is
// full (it resolves by itself five minutes after the last one).
func raiseSpoolFull(p *pipeline.Pipeline, log *slog.Logger) {
	now := time.Now()
	a := model.Alert{
		Labels: model.LabelSet{"alertname": "SiftHistorySpoolFull", "service": "sift", "severity": "critical"},
		Annotations: model.LabelSet{"summary": "Sift's history spool is full: history rows are being dropped",
			"description": "The history store (ClickHouse) has not kept up or is unreachable; see sift_history_backlog and sift_history_write_errors_total."},
		StartsAt: now,
		EndsAt:   now.Add(5 * time.Minute),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Append(ctx, model.Batch{At: now, Source: "sift", Alerts: []model.Alert{a}}); err != nil {
		log.Warn("history: could not raise SiftHistorySpoolFull", "err", err)
	}
}
