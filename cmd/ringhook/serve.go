package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/devdb"
	"github.com/ringhook/ringhook/web/dispatch"
	"github.com/ringhook/ringhook/web/jobrunner"
	"github.com/ringhook/ringhook/web/session"
)

// openStore opens the database (see openDatabase) and a Store on it that
// seals and opens secrets with the configured keyring, for the
// subcommands that change data.
func openStore(ctx context.Context, cfg config, log *slog.Logger) (*models.Store, func(), error) {
	keys, err := keyring(cfg)
	if err != nil {
		return nil, nil, err
	}
	db, _, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	return models.NewStore(db, nil, models.WithKeyring(keys)), closeDB, nil
}

// openDatabase connects to DATABASE_URL, or starts the private development
// PostgreSQL when it is unset. close stops whatever was started.
func openDatabase(ctx context.Context, cfg config, log *slog.Logger) (db *gorm.DB, dev bool, closeFn func(), err error) {
	url := cfg.DatabaseURL
	closeFn = func() {}
	if url == "" {
		dev = true
		dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "postgres"))
		if err != nil {
			return nil, dev, closeFn, fmt.Errorf("data dir: %w", err)
		}
		if running, ok := devdb.RunningURL(dir, "ringhook"); ok {
			// A `make run` holds the private server: share it (and leave it running).
			log.Info("DATABASE_URL is unset: using the private PostgreSQL already running", "dir", dir)
			url = running
		} else {
			log.Info("DATABASE_URL is unset: starting a private PostgreSQL", "dir", dir)
			srv, err := devdb.Start(ctx, devdb.Options{DataDir: dir, Fallback: true, URLFile: filepath.Join(cfg.DataDir, "postgres.url"), URLDatabase: "ringhook",
				Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }})
			if err != nil {
				return nil, dev, closeFn, fmt.Errorf("start private PostgreSQL: %w", err)
			}
			closeFn = func() {
				sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				if err := srv.Stop(sctx); err != nil {
					log.Error("stop private PostgreSQL", "err", err)
				} else {
					log.Info("private PostgreSQL stopped")
				}
			}
			if err := devdb.EnsureDatabase(ctx, srv.URL("postgres"), "ringhook"); err != nil {
				closeFn()
				return nil, dev, func() {}, err
			}
			url = srv.URL("ringhook")
		}
	}
	db, err = models.Open(ctx, url)
	if err != nil {
		closeFn()
		return nil, dev, func() {}, err
	}
	applied, err := models.Migrate(ctx, db)
	if err != nil {
		closeFn()
		return nil, dev, func() {}, err
	}
	for _, m := range applied {
		log.Info("applied migration", "name", m)
	}
	inner := closeFn
	closeFn = func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		inner()
	}
	return db, dev, closeFn, nil
}

func migrate(ctx context.Context, cfg config, log *slog.Logger) error {
	_, _, closeFn, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	closeFn()
	log.Info("database is up to date")
	return nil
}

// Backoff bounds of serve's wait for its database.
const (
	dbRetryFirst = 250 * time.Millisecond
	dbRetryMax   = 5 * time.Second
	dbDialLimit  = 10 * time.Second // one connection attempt
)

// waitDatabase is openDatabase for serve: with DATABASE_URL set, a database
// that does not answer yet (still starting, restarting, unreachable) is
// retried with exponential backoff until it does or ctx ends, instead of
// ending the process. A malformed URL, or a migration that fails while the
// database answers, is an error at once: waiting would not change it.
func waitDatabase(ctx context.Context, cfg config, log *slog.Logger) (*gorm.DB, bool, func(), error) {
	if cfg.DatabaseURL == "" {
		return openDatabase(ctx, cfg, log)
	}
	if _, err := pgconn.ParseConfig(cfg.DatabaseURL); err != nil {
		return nil, false, nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	backoff := dbRetryFirst
	for attempt := 1; ; attempt++ {
		dctx, cancel := context.WithTimeout(ctx, dbDialLimit)
		db, err := models.Open(dctx, cfg.DatabaseURL)
		cancel()
		if err == nil {
			applied, merr := models.Migrate(ctx, db)
			if merr == nil {
				for _, m := range applied {
					log.Info("applied migration", "name", m)
				}
				if attempt > 1 {
					log.Info("database is reachable", "attempts", attempt)
				}
				return db, false, func() { closeGorm(db) }, nil
			}
			pctx, cancel := context.WithTimeout(ctx, dbDialLimit)
			perr := pingGorm(pctx, db)
			cancel()
			closeGorm(db)
			if perr == nil { // the database answers: the migration itself failed
				return nil, false, nil, merr
			}
			err = merr
		}
		if ctx.Err() != nil {
			return nil, false, nil, ctx.Err()
		}
		log.Warn("database not reachable; /readyz answers 503 until it is", "err", err, "attempt", attempt, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false, nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, dbRetryMax)
	}
}

func closeGorm(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

func pingGorm(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// handoff is the HTTP server's handler: the waiting handler until the
// database is up, then the console. Swapping it keeps one listener, so
// probes get answers from the first moment.
type handoff struct{ h atomic.Pointer[http.Handler] }

func (f *handoff) set(h http.Handler) { f.h.Store(&h) }

func (f *handoff) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*f.h.Load()).ServeHTTP(w, r) }

// waitingHandler answers while serve waits for its database: /healthz 200
// (the process is alive), /readyz 503, everything else 503 with Retry-After.
func waitingHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			_, _ = io.WriteString(w, "ok")
			return
		case "/readyz":
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "database unavailable")
			return
		}
		w.Header().Set("Retry-After", "5")
		const msg = "Ringhook is starting and cannot reach its database yet. Try again in a few seconds."
		if strings.HasPrefix(r.URL.Path, "/api/") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"code":"unavailable","message":"`+msg+`"}}`+"\n")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, msg)
	})
}

// serve listens first (probes answer while the database is awaited), then
// opens and migrates the database, then starts the console and dispatcher.
func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	key := cfg.SessionKey
	if key == nil {
		var err error
		if key, err = persistedSecret(cfg.DataDir, "session.key", 32); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	front := &handoff{}
	front.set(waitingHandler())
	srv := &http.Server{Handler: front}
	handlers.ConfigureHTTPServer(srv)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	shutdownHTTP := func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			log.Error("http shutdown", "err", err)
		}
	}
	log.Info("listening; opening the database", "url", "http://"+ln.Addr().String())

	db, dev, closeDB, err := waitDatabase(ctx, cfg, log)
	if err != nil {
		shutdownHTTP()
		if ctx.Err() != nil {
			return nil // stopped while waiting
		}
		return err
	}
	defer closeDB()
	keys, err := keyring(cfg)
	if err != nil {
		return err
	}
	store := models.NewStore(db, nil, models.WithKeyring(keys))
	// Seal what an older version stored in clear, and finish a rotation. A
	// value sealed under a key that is not configured is reported, not fatal:
	// the rest of the console and dispatcher still work.
	if res, err := store.ReencryptSecrets(ctx); err != nil {
		log.Error("re-encrypting secrets at rest stopped; check RINGHOOK_ENCRYPTION_KEY and RINGHOOK_ENCRYPTION_OLD_KEYS", "err", err)
	} else if res.Webhooks+res.Deliveries > 0 {
		log.Info("re-encrypted secrets at rest", "webhooks", res.Webhooks, "stored_requests", res.Deliveries, "key", keys.CurrentID())
	}

	allowPrivate := cfg.AllowPrivateTargets
	if dev && allowPrivate == "" {
		allowPrivate = "true" // a local receiver is the usual first target in development
	}
	if dev {
		if err := ensureDemo(ctx, store, cfg.DataDir, log); err != nil {
			shutdownHTTP()
			return err
		}
	}

	met := newMetrics(cfg, db, store, log)
	disp, err := dispatch.New(store, dispatch.Config{Workers: cfg.Workers, PerWebhook: cfg.PerWebhook,
		AutoDisable: models.AutoDisable{Failures: cfg.AutoDisableFailures, Window: cfg.AutoDisableWindow}, AllowPrivate: allowPrivate, AllowCIDRs: cfg.AllowCIDRs, Log: log,
		Observer: met})
	if err != nil {
		shutdownHTTP()
		return err
	}
	// Every role runs jobs: any process can, and leases keep one job with one runner.
	runner := jobrunner.New(store, jobrunner.Config{Log: log})
	h := handlers.New(handlers.Deps{Store: store, Sessions: session.New(store, key, cfg.SecureCookies),
		Previewer: disp, Targets: disp, Redeliverer: disp, Tester: disp, Ingester: disp, Jobs: runner, Metrics: mainListenerMetrics(cfg, met), APILimits: cfg.APILimits, PublicURL: cfg.PublicURL, Log: log})
	stopMetrics, err := startMetricsListener(cfg, met, log)
	if err != nil {
		shutdownHTTP()
		return err
	}
	front.set(handlers.NewServer(h, handlers.ServerConfig{SecureCookies: cfg.SecureCookies, TrustedProxies: cfg.TrustedProxies, Log: log,
		ProbesOnly: !cfg.Role.serves()}))
	if cfg.Role.dispatches() {
		disp.Start(ctx)
	}
	runner.Start(ctx)
	log.Info("Ringhook is up", "role", cfg.Role, "url", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			_ = runner.Stop(sctx)
			_ = disp.Stop(sctx)
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	// After the HTTP server: requests may still start jobs and wake the
	// workers until then.
	if err := runner.Stop(sctx); err != nil {
		log.Error("job runner shutdown", "err", err)
	}
	if err := disp.Stop(sctx); err != nil {
		log.Error("dispatcher shutdown", "err", err)
	}
	stopMetrics(sctx) // last: scrapes still see the dispatcher drain
	return nil
}

const (
	demoAccount = "Demo PBX"
	demoEmail   = "admin@ringhook.local"
)

// ensureDemo creates the demo account and dev admin on the first
// development start, and prints the login on every start.
func ensureDemo(ctx context.Context, store *models.Store, dataDir string, log *slog.Logger) error {
	pwFile := filepath.Join(dataDir, "dev-admin-password")
	_, err := store.AccountByName(ctx, demoAccount)
	if errors.Is(err, models.ErrNotFound) {
		acc, err := store.CreateAccount(ctx, demoAccount, "Asia/Kolkata")
		if err != nil {
			return err
		}
		for _, n := range []struct{ num, label string }{
			{"+918287842425", "Sales"}, {"+918287842426", "Support"}, {"+14155550123", "US main line"},
		} {
			if _, err := store.AddPhoneNumber(ctx, acc.ID, models.Actor{Label: "ringhook dev setup"}, n.num, n.label); err != nil {
				return err
			}
		}
		secret, err := persistedSecret(dataDir, "dev-admin-password", 8)
		if err != nil {
			return err
		}
		if _, err := store.CreateUser(ctx, acc.ID, demoEmail, fmt.Sprintf("%x", secret), models.RoleOwner); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	b, err := os.ReadFile(pwFile)
	if err != nil {
		log.Warn("dev admin password file is missing; create a user with `ringhook admin create`", "file", pwFile)
		return nil
	}
	fmt.Fprintf(os.Stderr, "\n  Dev admin login:  %s  /  %s\n\n", demoEmail, strings.TrimSpace(string(b)))
	return nil
}
