package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/cmd/ringhook/consolebench"
	"github.com/ringhook/ringhook/cmd/ringhook/seed"
	"github.com/ringhook/ringhook/models"
)

// seedCmd is `ringhook seed`: a realistic history in the configured
// database (see package seed).
func seedCmd(ctx context.Context, cfg config, log *slog.Logger, args []string, stdout io.Writer) error {
	o, err := seed.ParseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	db, keys, closeDB, err := openHistory(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	store := models.NewStore(db, nil, keys)
	r, err := seed.Run(ctx, db, store, o, func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) })
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d deliveries (%d attempts each) in %d accounts in %s; %s holds %d; sign in as %s / %s\n",
		o.Deliveries, o.Attempts, len(r.Accounts), r.Elapsed.Round(1e9), r.Accounts[0].Name, r.Accounts[0].Deliveries, r.User, r.Password)
	return nil
}

// consoleBench is `ringhook console-bench`: every console page and API
// list timed on a seeded database (see package consolebench).
func consoleBench(ctx context.Context, cfg config, log *slog.Logger, args []string, stdout io.Writer) error {
	o, err := consolebench.ParseFlags(args, os.Stderr)
	if err != nil {
		return err
	}
	db, keys, closeDB, err := openHistory(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	command := "ringhook console-bench " + strings.Join(args, " ")
	return consolebench.Run(ctx, db, keys, o, strings.TrimSpace(command), stdout, os.Stderr)
}

// openHistory opens the configured database (the private one when
// DATABASE_URL is unset) and the keyring its secrets are sealed with.
func openHistory(ctx context.Context, cfg config, log *slog.Logger) (*gorm.DB, models.StoreOption, func(), error) {
	keys, err := keyring(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	db, _, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return nil, nil, nil, err
	}
	return db, models.WithKeyring(keys), closeDB, nil
}
