// Package modeltest gives test packages that touch data a throwaway,
// migrated PostgreSQL database (made with models/devdb) and fixtures on it.
// It is for tests only; production code never imports it.
package modeltest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/crypto"
)

// Main is a TestMain body: it creates the package's database, migrates it,
// runs the tests, drops it and exits.
func Main(m interface{ Run() int }, pkg string) {
	os.Exit(RunTests(m, pkg, func(url string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := models.Open(ctx, url)
		if err != nil {
			return err
		}
		defer Close(db)
		if _, err = models.Migrate(ctx, db); err != nil {
			return err
		}
		return keepHistory(ctx, db)
	}))
}

// keepHistory adds an account that keeps a year of history. A package's
// tests share one database, some on the real clock and some on fake ones
// months away; the weeks of history a process drops are those past every
// account's retention (Store.MaintainHistory), so none is dropped under a
// test still using it. The test of dropping uses a database of its own.
func keepHistory(ctx context.Context, db *gorm.DB) error {
	acc, err := models.NewStore(db, nil).CreateAccount(ctx, "modeltest keeps history", "UTC")
	if err != nil {
		return err
	}
	return db.WithContext(ctx).Exec(`UPDATE accounts SET history_retention_days = 365 WHERE id = ?`, acc.ID).Error
}

// Open connects to the package's test database.
func Open(ctx context.Context) (*gorm.DB, error) {
	return models.Open(ctx, URL())
}

// Close closes db's pool.
func Close(db *gorm.DB) {
	if s, err := db.DB(); err == nil {
		s.Close()
	}
}

// ParkQueue cancels every pending or in-flight delivery and stops every
// planned probe of a disabled webhook. Tests of one package share a
// database and a dispatcher claims every account's due work, so each test
// parks what earlier tests left in the queue.
func ParkQueue(db *gorm.DB) error {
	if err := db.Exec("UPDATE webhooks SET probe_next_at = NULL WHERE probe_next_at IS NOT NULL").Error; err != nil {
		return err
	}
	return db.Exec("UPDATE deliveries SET status = ? WHERE status IN ?",
		models.StatusCancelled, []models.DeliveryStatus{models.StatusPending, models.StatusSending}).Error
}

// SeedPhoneNumber adds number (E.164) to the account as a fixture: not a
// user's action, so unlike Store.AddPhoneNumber it writes no audit entry
// for tests that read the audit log.
func SeedPhoneNumber(ctx context.Context, db *gorm.DB, accountID, number, label string) (*models.PhoneNumber, error) {
	n, ok := catalog.NormalizePhone(number, "") // international form only
	if !ok {
		return nil, fmt.Errorf("seed phone number: %q is not E.164", number)
	}
	p := &models.PhoneNumber{ID: models.NewID("num_"), AccountID: accountID, Number: n, Label: label, CreatedAt: time.Now().UTC()}
	if err := db.WithContext(ctx).Create(p).Error; err != nil {
		return nil, fmt.Errorf("seed phone number: %w", err)
	}
	return p, nil
}

// testKey seals secrets in tests. It is fixed so that several Stores and
// processes of one test share it, as the processes of a deployment share
// RINGHOOK_ENCRYPTION_KEY; it protects nothing.
var testKey = []byte("ringhook-test-key-32-bytes-long!")

// Keyring is the keyring every test Store of a test database uses.
func Keyring() *crypto.Keyring {
	k, err := crypto.NewKeyring(testKey)
	if err != nil {
		panic(fmt.Sprintf("modeltest: test key: %v", err)) // a 32-byte constant cannot fail
	}
	return k
}

// OwnDatabase is a migrated database of the test's own, dropped when it
// ends: for a test whose clock or schema changes would reach into the
// tests sharing the package's database.
func OwnDatabase(t testing.TB, name string) *gorm.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sc, err := NewTestDatabase(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = sc.Close(cctx)
	})
	db, err := models.Open(ctx, sc.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Close(db) })
	if _, err := models.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db
}
