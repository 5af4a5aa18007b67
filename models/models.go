// Package models is Ringhook's data layer: the GORM structs that mirror the
// SQL schema in models/migrations, input validation that reports errors per
// field, the domain's sentinel errors, and Store, whose every method takes
// the account id and filters by it so one tenant can never reach another's
// rows.
//
// The typed states of the dispatcher live here too ([DeliveryStatus],
// [Trigger], [ErrorKind]), used by Go code and passed to SQL as parameters.
// A delivery moves through its states like this:
//
//	pending ──claim (lease)──▶ sending ──2xx───────────────────▶ succeeded
//	   ▲                        │  │
//	   ├──failure, will retry───┘  └──failure, no attempt left──▶ failed
//	   ├──lease expired (the reaper hands the attempt number back)
//	   └──replay of failed deliveries (manual redelivery leases directly)
//	pending ──deadline passed, unsent──▶ expired
//	pending, sending ──withdrawn──▶ cancelled
//
// On a webhook ordered by call, a pending delivery is not claimed while an
// earlier one of its call is pending or sending (order.go); one that ends
// failed, expired or cancelled sets previous_failed on those behind it.
//
// Only a pending delivery is claimed, and only the attempt holding a sending
// delivery's lease may move it on. succeeded, failed, expired and cancelled
// are final for the dispatcher.
package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ringhook/ringhook/models/crypto"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/models/migrations"
)

// The error vocabulary lives in models/fault (so catalog and the payload
// renderer share it); models re-exports what its callers use.
var (
	// ErrNotFound means the object does not exist in the caller's account.
	ErrNotFound = fault.ErrNotFound
	// ErrInFlight means an attempt of the delivery is being sent right now.
	ErrInFlight = fault.ErrInFlight
	// ErrUnrenderable means a delivery's request cannot be built.
	ErrUnrenderable = fault.ErrUnrenderable
	// ErrWebhookDeleted refuses to send a delivery of a deleted webhook
	// again: its history is kept to read, never to send.
	ErrWebhookDeleted = fault.Errorf(fault.ErrFinished, "This delivery's webhook was deleted: its history is kept, but it is never sent again.")
	// ErrInvalidCredentials means the email/password or API key did not match.
	ErrInvalidCredentials = fault.ErrInvalidCredentials
)

// FieldErrors maps a form/JSON field name to a message a person can act on.
// A non-empty FieldErrors is returned as the error from Store writes.
type FieldErrors = fault.FieldErrors

// NewID returns prefix + 12 random hex characters, e.g. "wh_91eb05e5a1c2".
func NewID(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // unreachable on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// Open connects to PostgreSQL through GORM's pgx driver. JIT compilation is
// off on every connection: the hot statements (claim, record, ingest) run
// in a millisecond, and compiling them cost a hundred times that whenever a
// plan's estimated cost crossed jit_above_cost.
func Open(ctx context.Context, dsn string) (*gorm.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	cfg.RuntimeParams["jit"] = "off"
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDB(*cfg)}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(32)
	sqlDB.SetMaxIdleConns(32)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlDB.PingContext(ctx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return db, nil
}

// Migrate applies the embedded migrations and returns the ones applied.
func Migrate(ctx context.Context, db *gorm.DB) ([]string, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return migrations.Apply(ctx, sqlDB)
}

// Store is the account-scoped data access layer. It seals secrets on write
// and opens them on read (see webhook_secrets.go), so callers only ever see
// plaintext structs.
type Store struct {
	db     *gorm.DB
	now    func() time.Time
	keys   *crypto.Keyring
	settle settleGate // how often Claim corrects the due set
	// apiKeys caches authenticated API keys (DefaultAPIKeyCacheTTL).
	apiKeys apiKeyCache
	// planner renders operational events (see opevents.go).
	planner plannerSlot
	ids     publicIDs    // the public id codec, loaded on first use (public_ids.go)
	weeks   historyWeeks // the weeks known to have partitions (history.go)
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithKeyring sets the keys that seal secrets at rest. Without it the Store
// seals under a random key of its own, readable only by that Store: enough
// for tests and one-shot tools, never for serve, which always passes the
// configured keyring.
func WithKeyring(k *crypto.Keyring) StoreOption { return func(s *Store) { s.keys = k } }

// NewStore wraps db. now may be nil (time.Now).
func NewStore(db *gorm.DB, now func() time.Time, opts ...StoreOption) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{db: db, now: func() time.Time { return now().UTC() }, apiKeys: apiKeyCache{ttl: DefaultAPIKeyCacheTTL}}
	for _, o := range opts {
		o(s)
	}
	if s.keys == nil {
		s.keys = crypto.Ephemeral()
	}
	return s
}

// Keyring is the Store's encryption keyring.
func (s *Store) Keyring() *crypto.Keyring { return s.keys }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr interface{ SQLState() string }
	return errors.As(err, &pgErr) && pgErr.SQLState() == "23505"
}

// validID reports whether id could be a Ringhook id at all. Ids come from
// URLs; refusing junk early keeps bytes PostgreSQL rejects (NUL, invalid
// UTF-8) from turning into server errors instead of 404s.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// withLocal runs fn in a transaction under the given SET LOCAL settings
// ("name = value"), which end with the transaction.
func withLocal(db *gorm.DB, fn func(tx *gorm.DB) error, settings ...string) error {
	return db.Transaction(func(tx *gorm.DB) error {
		for _, set := range settings {
			if err := tx.Exec("SET LOCAL " + set).Error; err != nil {
				return err
			}
		}
		return fn(tx)
	})
}
