package modeltest

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ringhook/ringhook/models"
)

func TestMain(m *testing.M) { Main(m, "models/modeltest") }

func TestTestDatabaseName(t *testing.T) {
	pattern := regexp.MustCompile(`^rh_test_[a-z0-9_]+_[0-9a-f]{8}$`)
	tests := []struct{ pkg, wantPrefix string }{
		{"models/store", "rh_test_models_store_"},
		{"Web-Handlers v2", "rh_test_web_handlers_v2_"},
		{strings.Repeat("abc/", 30), "rh_test_abc_abc_"},
		{"///", "rh_test_pkg_"},
	}
	for _, tc := range tests {
		t.Run(tc.pkg, func(t *testing.T) {
			a, err := testDatabaseName(tc.pkg)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := testDatabaseName(tc.pkg)
			if !pattern.MatchString(a) || !strings.HasPrefix(a, tc.wantPrefix) || len(a) > maxIdentifier {
				t.Errorf("name %q: want prefix %q, pattern %s, at most %d bytes", a, tc.wantPrefix, pattern, maxIdentifier)
			}
			if a == b {
				t.Errorf("two names for %q are both %q", tc.pkg, a)
			}
		})
	}
}

// Main made this package's database, migrated it and exported its URL.
func TestMainMigratedDatabase(t *testing.T) {
	url := URL()
	if url == "" {
		t.Fatalf("URL() is empty; RunTests should set %s", URLEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var name string
	var migrated bool
	if err := conn.QueryRow(ctx, "SELECT current_database(), to_regclass('webhooks') IS NOT NULL").Scan(&name, &migrated); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(name, "rh_test_models_modeltest_") || !migrated {
		t.Errorf("database %q migrated %v; want rh_test_models_modeltest_… with the webhooks table", name, migrated)
	}
}

// A seeded number is the account's like any other, and leaves no audit entry.
func TestSeedPhoneNumber(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer Close(db)
	store := models.NewStore(db, nil)
	acc, err := store.CreateAccount(ctx, "Seed "+models.NewID(""), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SeedPhoneNumber(ctx, db, acc.ID, "+918287842425", "line"); err != nil {
		t.Fatal(err)
	}
	if _, err := SeedPhoneNumber(ctx, db, acc.ID, "08287842425", "bad"); err == nil {
		t.Error("seeded a number that is not E.164")
	}
	nums, err := store.PhoneNumbers(ctx, acc.ID)
	if err != nil || len(nums) != 1 || nums[0].Number != "+918287842425" || nums[0].Label != "line" {
		t.Errorf("PhoneNumbers = %+v, %v", nums, err)
	}
	audit, err := store.AuditLog(ctx, acc.ID, 0, 10)
	if err != nil || len(audit) != 0 {
		t.Errorf("audit log after seeding = %+v, %v; want empty", audit, err)
	}
}
