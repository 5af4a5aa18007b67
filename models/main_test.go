package models_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/devdb"
)

// TestMain gives the package one throwaway, migrated database.
func TestMain(m *testing.M) {
	os.Exit(devdb.RunTests(m, "models", func(url string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := models.Open(ctx, url)
		if err != nil {
			return err
		}
		defer func() {
			if s, err := db.DB(); err == nil {
				s.Close()
			}
		}()
		_, err = models.Migrate(ctx, db)
		return err
	}))
}

// newStore opens the package's test database; it closes with the test.
func newStore(t testing.TB, now func() time.Time) *models.Store {
	t.Helper()
	db, err := models.Open(context.Background(), devdb.TestURL())
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	})
	return models.NewStore(db, now)
}
