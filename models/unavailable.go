package models

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseUnavailable reports whether err means PostgreSQL could not be
// reached or went away mid-request (refused connection, restart, shutdown,
// too many clients), as opposed to a bad query or bad data. Callers answer
// such errors with "try again later" (HTTP 503), never as a server bug, so
// producers retry and nothing is lost. Ask it only about errors nothing
// else classified: a JSON decoder's "unexpected EOF" reads the same.
func DatabaseUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr *net.OpError
	if errors.As(err, &connectErr) || errors.As(err, &netErr) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-03: admin shutdown, crash
		// shutdown, cannot connect now (starting up); 53300: too many clients;
		// 40P01 and 40001: this transaction lost a deadlock or a serialization
		// conflict, and the same request succeeds when sent again.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300" || pgErr.Code == "40P01" || pgErr.Code == "40001"
	}
	// pgx reports a connection that closed under a query in plain text.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "failed to connect to") ||
		strings.Contains(msg, "unexpected EOF") // the server went away mid-reply
}
