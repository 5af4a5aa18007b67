package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

func admin(ctx context.Context, cfg config, log *slog.Logger, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("usage: ringhook admin create --email E --account NAME [--password P] [--role owner|admin|viewer] [--timezone TZ] [--country CC]")
	}
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	email := fs.String("email", "", "the admin's email (required)")
	account := fs.String("account", "", "account name; created when it does not exist (required)")
	password := fs.String("password", "", "password; generated and printed when empty")
	role := fs.String("role", string(models.RoleOwner), "owner, admin or viewer")
	tz := fs.String("timezone", "UTC", "time zone of a new account")
	country := fs.String("country", "", "default country of the account's phone numbers (ISO 3166 code, e.g. IN); a new account gets "+catalog.DefaultCountry)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *email == "" || *account == "" {
		return errors.New("--email and --account are required")
	}
	if _, ok := catalog.LookupCountry(*country); *country != "" && !ok {
		return fmt.Errorf("--country %q: not a supported ISO 3166 country code (e.g. IN, US, GB)", *country)
	}
	store, closeDB, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	acc, err := store.AccountByName(ctx, *account)
	if errors.Is(err, models.ErrNotFound) {
		if acc, err = store.CreateAccount(ctx, *account, *tz); err != nil {
			return err
		}
		log.Info("created account", "id", acc.ID, "name", acc.Name)
	} else if err != nil {
		return err
	}
	if *country != "" {
		if err := store.SetDefaultCountry(ctx, acc.ID, *country); err != nil {
			return fmt.Errorf("--country: %w", err)
		}
	}
	pw := *password
	if pw == "" {
		b := make([]byte, 9)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("generate password: %w", err)
		}
		pw = hex.EncodeToString(b)
	}
	u, err := store.CreateUser(ctx, acc.ID, *email, pw, models.Role(*role))
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "created %s %s in account %q (%s)\n", u.Role, u.Email, acc.Name, acc.ID)
	if *password == "" {
		fmt.Fprintf(os.Stdout, "password: %s\n", pw)
	}
	return nil
}
