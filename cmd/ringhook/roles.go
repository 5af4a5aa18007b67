package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch"
	"github.com/ringhook/ringhook/web/metrics"
)

// role is what a serve process does (RINGHOOK_ROLE); docs/operations.md
// describes how to split a deployment with it.
type role string

const (
	// roleAll serves the console and API and runs the dispatcher: one
	// process does everything (the default).
	roleAll role = "all"
	// roleWeb serves the console and API without claiming deliveries.
	// Ingest still stores events and deliveries and notifies the
	// dispatchers; test events and redeliveries are sent from this
	// process, synchronously, so the console shows their response inline.
	roleWeb role = "web"
	// roleDispatcher claims, sends and records deliveries and serves only
	// /healthz, /readyz and /metrics.
	roleDispatcher role = "dispatcher"
)

// parseRole reads RINGHOOK_ROLE; empty is roleAll.
func parseRole(s string) (role, error) {
	switch r := role(s); r {
	case "":
		return roleAll, nil
	case roleAll, roleWeb, roleDispatcher:
		return r, nil
	}
	return "", fmt.Errorf("RINGHOOK_ROLE must be all, web or dispatcher, not %q", s)
}

// dispatches reports whether the process claims and sends deliveries.
func (r role) dispatches() bool { return r == roleAll || r == roleDispatcher }

// serves reports whether the process serves the console and API.
func (r role) serves() bool { return r == roleAll || r == roleWeb }

// queueQueryTimeout bounds the queue-depth query of each scrape.
const queueQueryTimeout = time.Second

// newMetrics builds the process's metrics: the dispatcher observes into
// them, the database pool and the queue are read on each scrape.
func newMetrics(cfg config, db *gorm.DB, store *models.Store, log *slog.Logger) *metrics.Metrics {
	o := metrics.Options{Version: dispatch.Version, Role: string(cfg.Role), Queue: store, QueueTimeout: queueQueryTimeout,
		StaleAfter: dispatch.DefaultStaleAfter, Log: log}
	if cfg.Role.dispatches() {
		o.Workers = cfg.Workers
	}
	if sqlDB, err := db.DB(); err == nil {
		o.DB = sqlDB
	}
	return metrics.New(o)
}

// mainListenerMetrics is what /metrics serves on the main listener: the
// metrics behind RINGHOOK_METRICS_TOKEN when one is set, otherwise nothing
// (404). Without a token the main listener never serves them, since behind
// a reverse proxy on the same host every client would look local.
func mainListenerMetrics(cfg config, m *metrics.Metrics) http.Handler {
	if cfg.MetricsToken == "" {
		return nil
	}
	return m.Handler(cfg.MetricsToken)
}

// startMetricsListener serves /metrics alone on RINGHOOK_METRICS_ADDR
// (still behind the token when one is set). It returns how to stop it;
// without an address it does nothing.
func startMetricsListener(cfg config, m *metrics.Metrics, log *slog.Logger) (stop func(context.Context), err error) {
	if cfg.MetricsAddr == "" {
		return func(context.Context) {}, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on RINGHOOK_METRICS_ADDR %s: %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler(cfg.MetricsToken))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "err", err)
		}
	}()
	log.Info("metrics are served", "url", "http://"+ln.Addr().String()+"/metrics", "token", cfg.MetricsToken != "")
	return func(ctx context.Context) {
		if err := srv.Shutdown(ctx); err != nil {
			log.Error("metrics listener shutdown", "err", err)
		}
	}, nil
}
