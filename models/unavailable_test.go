package models_test

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ringhook/ringhook/models"
)

func TestDatabaseUnavailable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"refused dial", fmt.Errorf("list: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), true},
		{"bad conn", fmt.Errorf("q: %w", driver.ErrBadConn), true},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, true},
		{"starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure class", &pgconn.PgError{Code: "08006"}, true},
		{"too many clients", &pgconn.PgError{Code: "53300"}, true},
		{"deadlock victim", &pgconn.PgError{Code: "40P01"}, true},
		{"serialization conflict", &pgconn.PgError{Code: "40001"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"closed under a query", errors.New("store event: conn closed"), true},
		{"not found", models.ErrNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := models.DatabaseUnavailable(tc.err); got != tc.want {
				t.Fatalf("DatabaseUnavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
