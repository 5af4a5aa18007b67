package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/devdb"
	"github.com/ringhook/ringhook/web/dispatch"
	"github.com/ringhook/ringhook/web/session"
)

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

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	db, dev, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
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
	key := cfg.SessionKey
	if key == nil {
		if key, err = persistedSecret(cfg.DataDir, "session.key", 32); err != nil {
			return err
		}
	}
	if dev {
		if err := ensureDemo(ctx, store, cfg.DataDir, log); err != nil {
			return err
		}
	}

	met := newMetrics(cfg, db, store, log)
	disp, err := dispatch.New(store, dispatch.Config{Workers: cfg.Workers, PerWebhook: cfg.PerWebhook,
		AutoDisable: models.AutoDisable{Failures: cfg.AutoDisableFailures, Window: cfg.AutoDisableWindow}, AllowPrivate: allowPrivate, AllowCIDRs: cfg.AllowCIDRs, Log: log,
		Observer: met})
	if err != nil {
		return err
	}
	h := handlers.New(handlers.Deps{Store: store, Sessions: session.New(store, key, cfg.SecureCookies),
		Previewer: disp, Redeliverer: disp, Tester: disp, Ingester: disp, Metrics: mainListenerMetrics(cfg, met), APILimits: cfg.APILimits, Log: log})
	e := handlers.NewServer(h, handlers.ServerConfig{SecureCookies: cfg.SecureCookies, TrustedProxies: cfg.TrustedProxies, Log: log,
		ProbesOnly: !cfg.Role.serves()})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	stopMetrics, err := startMetricsListener(cfg, met, log)
	if err != nil {
		ln.Close()
		return err
	}
	if cfg.Role.dispatches() {
		disp.Start(ctx)
	}
	log.Info("Ringhook is up", "role", cfg.Role, "url", "http://"+ln.Addr().String())
	e.Listener = ln
	errc := make(chan error, 1)
	go func() { errc <- e.Start("") }()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := e.Shutdown(sctx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	// After the HTTP server: ingest may still wake the workers until then.
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
