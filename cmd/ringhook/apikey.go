package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/ringhook/ringhook/models"
)

const apikeyUsage = "usage: ringhook apikey create --account NAME --name N [--scope full|read|ingest] [--test]"

// apikey runs `ringhook apikey create`: it makes an API key for an existing
// account and prints it once on out, which is how an operator hands a PBX
// its ingest key. With DATABASE_URL unset it shares the private PostgreSQL
// of a running `make run`.
func apikey(ctx context.Context, cfg config, log *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New(apikeyUsage)
	}
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the returned error says what is wrong
	account := fs.String("account", "", "name of the account the key acts for (required; it must exist)")
	name := fs.String("name", "", "the key's name, e.g. the PBX it is for (required)")
	scope := fs.String("scope", string(models.ScopeFull), "full, read or ingest")
	test := fs.Bool("test", false, "make an sk_test_ key: the events it sends make test deliveries")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w\n%s", err, apikeyUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q\n%s", fs.Arg(0), apikeyUsage)
	}
	if *account == "" || *name == "" {
		return fmt.Errorf("--account and --name are required\n%s", apikeyUsage)
	}
	if !models.APIKeyScope(*scope).Valid() {
		return fmt.Errorf("--scope must be full, read or ingest, not %q", *scope)
	}
	store, closeDB, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	acc, err := store.AccountByName(ctx, *account)
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("no account is named %q (ringhook admin create makes one)", *account)
	}
	if err != nil {
		return err
	}
	k, plain, err := store.CreateAPIKey(ctx, acc.ID, models.Actor{Label: "ringhook apikey create"},
		models.NewAPIKey{Name: *name, Scope: models.APIKeyScope(*scope), Test: *test})
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		return fmt.Errorf("--name: %s", fe["name"])
	}
	if err != nil {
		return err
	}
	log.Info("api key created", "account", acc.ID, "key", k.ID, "prefix", k.Prefix, "scope", k.Scope)
	_, err = fmt.Fprintf(out, "created %s key %q (%s) for account %q\n%s\nCopy it now: it is not stored and cannot be shown again.\n",
		k.Scope, k.Name, k.ID, acc.Name, plain)
	return err
}
