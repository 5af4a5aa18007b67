package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

func TestMain(m *testing.M) { modeltest.Main(m, "cmd") }

// TestMigrateAndAdminCreate runs the subcommands against the package's
// database, as an operator would with DATABASE_URL set.
func TestMigrateAndAdminCreate(t *testing.T) {
	t.Setenv("DATABASE_URL", modeltest.URL())
	t.Setenv("RINGHOOK_DATA_DIR", t.TempDir())
	ctx := context.Background()
	if err := run(ctx, []string{"migrate"}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if err := run(ctx, []string{"admin", "create", "--email", "Ops@Example.com", "--account", "Acme Telecom", "--password", "correct horse 1"}); err != nil {
		t.Fatalf("admin create: %v", err)
	}
	db, err := modeltest.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer modeltest.Close(db)
	store := models.NewStore(db, nil)
	u, err := store.Authenticate(ctx, "ops@example.com", "correct horse 1")
	if err != nil || u.Role != models.RoleOwner {
		t.Fatalf("the new admin cannot sign in: %v", err)
	}
	acc, err := store.Account(ctx, u.AccountID)
	if err != nil || acc.Name != "Acme Telecom" || acc.DefaultCountry != "IN" {
		t.Fatalf("account %+v: %v", acc, err)
	}
	if err := run(ctx, []string{"admin", "create", "--email", "us@example.com", "--account", "US Co", "--password", "correct horse 1", "--country", "us"}); err != nil {
		t.Fatalf("admin create --country: %v", err)
	}
	if us, err := store.AccountByName(ctx, "US Co"); err != nil || us.DefaultCountry != "US" {
		t.Fatalf("--country us: %+v %v", us, err)
	}
	defer func() {
		if _, err := store.AccountByName(ctx, "C"); err == nil {
			t.Error("an unsupported --country still created the account")
		}
	}()

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"second admin joins the same account", []string{"admin", "create", "--email", "two@example.com", "--account", "Acme Telecom", "--role", "viewer"}, ""},
		{"duplicate email", []string{"admin", "create", "--email", "ops@example.com", "--account", "Acme Telecom"}, "already exists"},
		{"missing account", []string{"admin", "create", "--email", "x@example.com"}, "--email and --account are required"},
		{"short password", []string{"admin", "create", "--email", "y@example.com", "--account", "A", "--password", "short"}, "at least"},
		{"bad role", []string{"admin", "create", "--email", "z@example.com", "--account", "A", "--role", "god"}, "owner, admin or viewer"},
		{"unknown subcommand", []string{"admin", "delete"}, "usage"},
		{"unsupported country", []string{"admin", "create", "--email", "c@example.com", "--account", "C", "--country", "XX"}, "supported ISO 3166"},
		{"unknown command", []string{"explode"}, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := run(ctx, tc.args)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
	var two models.User
	if err := db.Where("email = ?", "two@example.com").Take(&two).Error; err != nil || two.AccountID != acc.ID || two.Role != models.RoleViewer {
		t.Fatalf("second user %+v: %v", two, err)
	}
}
