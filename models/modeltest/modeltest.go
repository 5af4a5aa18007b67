// Package modeltest gives test packages that touch data a throwaway,
// migrated PostgreSQL database (see models/devdb) and a store on it.
package modeltest

import (
	"context"
	"os"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/devdb"
)

// Main is a TestMain body: it creates the package's database, migrates it,
// runs the tests, drops it and exits.
func Main(m interface{ Run() int }, pkg string) {
	os.Exit(devdb.RunTests(m, pkg, func(url string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db, err := models.Open(ctx, url)
		if err != nil {
			return err
		}
		defer Close(db)
		_, err = models.Migrate(ctx, db)
		return err
	}))
}

// Open connects to the package's test database.
func Open(ctx context.Context) (*gorm.DB, error) {
	return models.Open(ctx, devdb.TestURL())
}

// Close closes db's pool.
func Close(db *gorm.DB) {
	if s, err := db.DB(); err == nil {
		s.Close()
	}
}

// ParkQueue cancels every pending or in-flight delivery. Tests of one
// package share a database and a dispatcher claims every account's due
// work, so each test parks what earlier tests left in the queue.
func ParkQueue(db *gorm.DB) error {
	return db.Exec("UPDATE deliveries SET status = ? WHERE status IN ?",
		models.StatusCancelled, []models.DeliveryStatus{models.StatusPending, models.StatusSending}).Error
}
