package devdb

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// ScratchOptions say where a throwaway database is made.
type ScratchOptions struct {
	// AdminURL reaches an existing server (any database on it, e.g.
	// postgres://user@host:5432/postgres) whose role may CREATE DATABASE.
	// Empty: a private server is started in a new temporary directory.
	AdminURL string
	// Name is the database name (required).
	Name string
	// Fast and Port configure the private server (see Options).
	Fast bool
	Port int
	// Logf receives progress messages of the private server; may be nil.
	Logf func(format string, args ...any)
}

// Scratch is a throwaway database made by NewScratch: tests and the
// benchmark run on one and Close drops it.
type Scratch struct {
	// URL connects to the database.
	URL string
	// Name is the database name.
	Name string
	// DataDir is the private server's data directory ("" on AdminURL), so
	// callers can find its processes (the benchmark's CPU accounting).
	DataDir string

	adminURL string
	server   *Server
}

// NewScratch creates an empty database named opts.Name on opts.AdminURL, or
// on a private server in a temporary directory when AdminURL is empty.
func NewScratch(ctx context.Context, opts ScratchOptions) (*Scratch, error) {
	if opts.Name == "" {
		return nil, errors.New("devdb: scratch database: empty name")
	}
	sc := &Scratch{Name: opts.Name, adminURL: opts.AdminURL}
	if sc.adminURL == "" {
		dir, err := os.MkdirTemp("", "ringhook-pg-")
		if err != nil {
			return nil, fmt.Errorf("devdb: temp dir for a private server: %w", err)
		}
		sc.DataDir = dir
		sc.server, err = Start(ctx, Options{DataDir: dir, Fast: opts.Fast, Port: opts.Port, Logf: opts.Logf})
		if err != nil {
			return nil, errors.Join(fmt.Errorf("devdb: scratch database %s: %w", opts.Name, err), removeDir(dir))
		}
		sc.adminURL = sc.server.URL("postgres")
	}
	var err error
	if sc.URL, err = withDatabase(sc.adminURL, opts.Name); err == nil {
		err = EnsureDatabase(ctx, sc.adminURL, opts.Name)
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("devdb: scratch database %s: %w", opts.Name, err), sc.closeServer(context.WithoutCancel(ctx)))
	}
	return sc, nil
}

// Private reports whether NewScratch started the server itself.
func (sc *Scratch) Private() bool { return sc.server != nil }

// Close drops the database (terminating open sessions) and stops and
// removes the private server if NewScratch started one.
func (sc *Scratch) Close(ctx context.Context) error {
	var dropErr error
	if sc.adminURL != "" && sc.Name != "" {
		dropErr = dropDatabase(ctx, sc.adminURL, sc.Name)
	}
	return errors.Join(dropErr, sc.closeServer(ctx))
}

// closeServer stops the private server and removes its directory.
func (sc *Scratch) closeServer(ctx context.Context) error {
	var errs []error
	if sc.server != nil {
		errs = append(errs, sc.server.Stop(ctx))
		sc.server = nil
	}
	if sc.DataDir != "" {
		errs = append(errs, removeDir(sc.DataDir))
		sc.DataDir = ""
	}
	return errors.Join(errs...)
}

func removeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("devdb: remove %s: %w", dir, err)
	}
	return nil
}
