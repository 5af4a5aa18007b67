package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

// TestMain gives the package one throwaway, migrated database.
func TestMain(m *testing.M) { modeltest.Main(m, "models") }

// newStore opens the package's test database; it closes with the test.
func newStore(t testing.TB, now func() time.Time) *models.Store {
	t.Helper()
	db, err := modeltest.Open(context.Background())
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { modeltest.Close(db) })
	return models.NewStore(db, now)
}
