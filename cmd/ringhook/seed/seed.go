// Package seed is `ringhook seed`: it fills a database with a realistic
// history (accounts, webhooks, events, deliveries, attempts and the
// rollups recounted from them) in set-based SQL, so ten million deliveries
// take minutes. The console benchmark (package consolebench) runs on it.
//
// Every seeded account is named "Seed NNN"; the first one holds the
// biggest share. Accounts, webhooks and the sign-in user go through the
// Store (secrets sealed like the server does); the history is
// INSERT … SELECT over generate_series in chunks, one event and one
// delivery per row, with --attempts attempts each, spread over 30 days
// and ending now.
package seed

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models"
)

// Options say how much to seed.
type Options struct {
	Deliveries   int     // in all accounts together
	Accounts     int     // how many accounts share them
	Attempts     int     // per delivery
	BiggestShare float64 // of Deliveries, held by the first account
	Webhooks     int     // per account
	Days         int     // history spread over this many days, ending now
	Chunk        int     // deliveries per INSERT statement
	Password     string  // the sign-in user's password (User in Result)
}

// Defaults are the flag defaults.
var Defaults = Options{Deliveries: 1_000_000, Accounts: 100, Attempts: 3, BiggestShare: 0.2, Webhooks: 5, Days: 30,
	Chunk: 50_000, Password: "seed-password-1"}

// EventTypes are the types seeded, in a call's order: each call has one
// event of each, so a call page shows len(EventTypes) events.
var EventTypes = []string{"call.received", "call.dialed", "call.answered", "call.hangup", "call.ended"}

// Numbers of distinct callers and DIDs per account: a filter by one caller
// matches about deliveries/(len(EventTypes)*Callers) rows... of each.
const (
	Callers = 20_000
	DIDs    = 10
)

// Account is one seeded account.
type Account struct {
	ID         string
	Name       string
	Deliveries int
	Webhooks   []string // ids
}

// Result is what was seeded (or found seeded).
type Result struct {
	Accounts []Account // the biggest first
	User     string    // email of an owner of the biggest account
	Password string
	Elapsed  time.Duration
}

// AccountName is the name of the i-th (0-based) seeded account.
func AccountName(i int) string { return fmt.Sprintf("Seed %03d", i+1) }

// UserEmail is the sign-in user of the biggest account.
const UserEmail = "owner@seed.example.com"

// ParseFlags reads `ringhook seed` flags over Defaults.
func ParseFlags(args []string, stderr io.Writer) (Options, error) {
	o := Defaults
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Deliveries, "deliveries", o.Deliveries, "deliveries in all accounts together")
	fs.IntVar(&o.Accounts, "accounts", o.Accounts, "accounts sharing them")
	fs.IntVar(&o.Attempts, "attempts", o.Attempts, "attempts per delivery")
	fs.Float64Var(&o.BiggestShare, "biggest-share", o.BiggestShare, "share of the deliveries held by the first account (0 to 1)")
	fs.IntVar(&o.Webhooks, "webhooks", o.Webhooks, "webhooks per account")
	fs.IntVar(&o.Days, "days", o.Days, "days of history, ending now")
	fs.IntVar(&o.Chunk, "chunk", o.Chunk, "deliveries per INSERT statement")
	fs.StringVar(&o.Password, "password", o.Password, "password of "+UserEmail)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	return o, o.validate()
}

func (o Options) validate() error {
	switch {
	case o.Deliveries < 1:
		return errors.New("seed: --deliveries must be at least 1")
	case o.Accounts < 1 || o.Accounts > 999:
		return errors.New("seed: --accounts must be between 1 and 999")
	case o.Attempts < 1 || o.Attempts > models.MaxAttempts-1:
		return fmt.Errorf("seed: --attempts must be between 1 and %d", models.MaxAttempts-1)
	case o.BiggestShare <= 0 || o.BiggestShare > 1:
		return errors.New("seed: --biggest-share must be above 0 and at most 1")
	case o.Webhooks < 1 || o.Webhooks > 100:
		return errors.New("seed: --webhooks must be between 1 and 100")
	case o.Days < 1:
		return errors.New("seed: --days must be at least 1")
	case o.Chunk < 1:
		return errors.New("seed: --chunk must be at least 1")
	}
	return nil
}

// Shares splits n deliveries over m accounts: the first gets round(share*n)
// (all of them when m is 1), the others the rest evenly, the remainder
// going to the first of them.
func Shares(n, m int, share float64) []int {
	out := make([]int, m)
	if m == 1 {
		out[0] = n
		return out
	}
	big := int(share*float64(n) + 0.5)
	out[0] = big
	rest := n - big
	for i := 1; i < m; i++ {
		out[i] = rest / (m - 1)
		if i-1 < rest%(m-1) {
			out[i]++
		}
	}
	return out
}

// Seeded returns the seeded accounts when the database already holds them
// (account "Seed 001" exists), with their delivery counts; ok is false
// otherwise.
func Seeded(ctx context.Context, db *gorm.DB) (Result, bool, error) {
	var accs []struct {
		ID, Name string
	}
	if err := db.WithContext(ctx).Raw(`SELECT id, name FROM accounts WHERE name LIKE 'Seed ___' ORDER BY name`).Scan(&accs).Error; err != nil {
		return Result{}, false, fmt.Errorf("seed: find seeded accounts: %w", err)
	}
	if len(accs) == 0 || accs[0].Name != AccountName(0) {
		return Result{}, false, nil
	}
	var r Result
	for _, a := range accs {
		sa := Account{ID: a.ID, Name: a.Name}
		if err := db.WithContext(ctx).Raw(`SELECT count(*) FROM deliveries WHERE account_id = ?`, a.ID).Scan(&sa.Deliveries).Error; err != nil {
			return Result{}, false, fmt.Errorf("seed: count deliveries: %w", err)
		}
		if err := db.WithContext(ctx).Raw(`SELECT id FROM webhooks WHERE account_id = ? ORDER BY name`, a.ID).Scan(&sa.Webhooks).Error; err != nil {
			return Result{}, false, fmt.Errorf("seed: list webhooks: %w", err)
		}
		r.Accounts = append(r.Accounts, sa)
	}
	r.User = UserEmail
	return r, true, nil
}

// Run seeds the database; it refuses one that is already seeded.
func Run(ctx context.Context, db *gorm.DB, store *models.Store, o Options, progress func(string, ...any)) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	if _, ok, err := Seeded(ctx, db); err != nil {
		return Result{}, err
	} else if ok {
		return Result{}, fmt.Errorf("seed: the database already holds account %q: seed a fresh database", AccountName(0))
	}
	start := time.Now()
	now := time.Now().UTC().Truncate(time.Second)
	r := Result{User: UserEmail, Password: o.Password}
	shares := Shares(o.Deliveries, o.Accounts, o.BiggestShare)
	for i := range o.Accounts {
		acc, err := store.CreateAccount(ctx, AccountName(i), "UTC")
		if err != nil {
			return r, fmt.Errorf("seed: create account: %w", err)
		}
		sa := Account{ID: acc.ID, Name: acc.Name, Deliveries: shares[i]}
		for k := range o.Webhooks {
			in := models.NewWebhookInput("UTC")
			in.Name = fmt.Sprintf("CRM %02d", k+1)
			in.URL = fmt.Sprintf("https://hooks.example.com/%s/%d", acc.ID, k+1)
			in.EventTypes = EventTypes
			in.MaxAttempts = max(models.DefaultAttempts, o.Attempts+2) // pending deliveries have attempts left
			w, err := store.CreateWebhook(ctx, acc.ID, models.Actor{Label: "seed"}, in)
			if err != nil {
				return r, fmt.Errorf("seed: create webhook: %w", err)
			}
			sa.Webhooks = append(sa.Webhooks, w.ID)
		}
		if i == 0 {
			if _, err := store.CreateUser(ctx, acc.ID, UserEmail, o.Password, models.RoleOwner); err != nil {
				return r, fmt.Errorf("seed: create user: %w", err)
			}
		}
		r.Accounts = append(r.Accounts, sa)
	}
	progress("seed: %d accounts, %d webhooks each; %d deliveries (%d in %s), %d attempts each",
		o.Accounts, o.Webhooks, o.Deliveries, shares[0], r.Accounts[0].Name, o.Attempts)

	// Bulk loading: foreign keys are not checked row by row when the
	// role may switch triggers off (a superuser); the rows are consistent
	// by construction and the tests recount them.
	conn := db.WithContext(ctx)
	// The weekly partitions the history falls in (migration 0033), and the
	// week after now that a running server would have made.
	if err := conn.Exec(`SELECT history_partition_add(w) FROM generate_series(history_week(?), history_week(?) + 1) w`,
		now.AddDate(0, 0, -o.Days), now).Error; err != nil {
		return r, fmt.Errorf("seed: history partitions: %w", err)
	}
	done := 0
	for ai, sa := range r.Accounts {
		for lo := 0; lo < sa.Deliveries; lo += o.Chunk {
			hi := min(lo+o.Chunk, sa.Deliveries) - 1
			if err := conn.Transaction(func(tx *gorm.DB) error {
				_ = tx.Exec(`SAVEPOINT rr`).Error
				if err := tx.Exec(`SET LOCAL session_replication_role = replica`).Error; err != nil {
					_ = tx.Exec(`ROLLBACK TO SAVEPOINT rr`).Error
				}
				return tx.Exec(historySQL, chunkArgs(sa, ai, lo, hi, o, now)...).Error
			}); err != nil {
				return r, fmt.Errorf("seed: history of %s: %w", sa.Name, err)
			}
			done += hi - lo + 1
			el := time.Since(start)
			progress("seed: %s %d/%d deliveries; all %d/%d (%.0f%%) in %s, %.0f deliveries/s", sa.Name, hi+1, sa.Deliveries,
				done, o.Deliveries, 100*float64(done)/float64(o.Deliveries), el.Round(time.Second), float64(done)/el.Seconds())
		}
	}
	progress("seed: audit log, event ids, due set, rollups")
	for _, sa := range r.Accounts {
		if err := conn.Exec(eventIDsSQL, sa.ID).Error; err != nil {
			return r, fmt.Errorf("seed: event ids: %w", err)
		}
		if err := conn.Exec(auditSQL, now, o.Days, max(10, sa.Deliveries/1000), o.Days, max(10, sa.Deliveries/1000), sa.ID).Error; err != nil {
			return r, fmt.Errorf("seed: audit log: %w", err)
		}
		if err := RebuildRollups(ctx, db, sa.ID); err != nil {
			return r, err
		}
	}
	// The due set: a webhook with pending deliveries is due at the
	// earliest of them (the claim's invariant, see models/due.go).
	if err := conn.Exec(`UPDATE webhooks w SET next_due_at = p.due
		FROM (SELECT account_id, webhook_id, min(next_attempt_at) AS due FROM deliveries
		      WHERE status = 'pending' AND account_id IN (SELECT id FROM accounts WHERE name LIKE 'Seed ___') GROUP BY account_id, webhook_id) p
		WHERE w.account_id = p.account_id AND w.id = p.webhook_id`).Error; err != nil {
		return r, fmt.Errorf("seed: due set: %w", err)
	}
	progress("seed: ANALYZE")
	for _, t := range []string{"events", "deliveries", "attempts", "webhook_rollups", "audit_log", "webhooks", "accounts"} {
		if err := conn.Exec("ANALYZE " + t).Error; err != nil {
			return r, fmt.Errorf("seed: analyze %s: %w", t, err)
		}
	}
	r.Elapsed = time.Since(start)
	progress("seed: done in %s (%.0f deliveries/s)", r.Elapsed.Round(time.Second), float64(o.Deliveries)/r.Elapsed.Seconds())
	return r, nil
}

// RebuildRollups replaces an account's rollups with a recount of its
// attempts (the webhook_rollups_recount view of migration 0018).
func RebuildRollups(ctx context.Context, db *gorm.DB, accountID string) error {
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(`DELETE FROM webhook_rollups WHERE account_id = ?`, accountID).Error; err != nil {
			return fmt.Errorf("seed: rollups: %w", err)
		}
		if err := tx.Exec(`INSERT INTO webhook_rollups (account_id, webhook_id, test, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at)
			SELECT account_id, webhook_id, test, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at
			FROM webhook_rollups_recount WHERE account_id = ?`, accountID).Error; err != nil {
			return fmt.Errorf("seed: rollups: %w", err)
		}
		return nil
	})
}

// pgTextArray spells ids (letters, digits, '_' and '.') as a text[] literal.
func pgTextArray(ss []string) string { return "{" + strings.Join(ss, ",") + "}" }

// chunkArgs are historySQL's arguments for rows lo..hi of account ai.
func chunkArgs(sa Account, ai, lo, hi int, o Options, now time.Time) []any {
	span := time.Duration(o.Days) * 24 * time.Hour
	step := span.Seconds() / float64(max(sa.Deliveries, 1)) // seconds between deliveries
	return []any{
		sql.Named("acc", sa.ID),
		sql.Named("tag", fmt.Sprintf("s%03d", ai+1)),
		sql.Named("lo", lo), sql.Named("hi", hi), sql.Named("n", sa.Deliveries),
		sql.Named("t0", now.Add(-span)), sql.Named("step", step),
		sql.Named("types", pgTextArray(EventTypes)),
		sql.Named("hooks", pgTextArray(sa.Webhooks)),
		sql.Named("attempts", o.Attempts),
		sql.Named("callers", Callers), sql.Named("dids", DIDs),
	}
}
