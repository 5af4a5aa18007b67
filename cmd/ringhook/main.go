// Command ringhook runs the Ringhook webhook console and dispatcher.
//
//	ringhook serve              serve the console, API and dispatcher (default)
//	ringhook migrate            apply database migrations and exit
//	ringhook admin create ...   create an account admin
//	ringhook rotate-key         re-encrypt secrets at rest under the current key
//	ringhook simulate ...       send realistic call events to a running server
//	ringhook bench ...          measure the dispatcher on this machine
//
// Configuration comes from the environment (see README.md); with
// DATABASE_URL unset, a private PostgreSQL is started in ./.data/postgres.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "ringhook:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate(ctx, cfg, log)
	case "admin":
		return admin(ctx, cfg, log, args)
	case "rotate-key":
		return rotateKey(ctx, cfg, log, args, os.Stdout)
	case "simulate":
		return simulate(ctx, args, os.Stdout, os.Stderr)
	case "bench":
		return runBench(ctx, cfg, args, os.Stdout, os.Stderr)
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

const usage = `usage: ringhook [command]
  serve                                    serve the console, API and dispatcher (default)
  migrate                                  apply database migrations
  admin create --email E --account NAME    create an admin (and the account if new)
               [--password P] [--role owner|admin|viewer] [--timezone TZ] [--country CC]
  rotate-key [--generate]                  re-encrypt secrets at rest under the current key
  simulate --key sk_… [--url http://127.0.0.1:8080] [--rate 5] [--duration 30s | --calls N]
           [--seed S] [--dids +918287842425,…]   POST realistic call lifecycles to <url>/api/v1/events
  bench [--events 20000] [--rate 200] [--workers W] [--webhooks 4] [--cpuprofile FILE]
                                           measure dispatcher throughput and latency (make bench)`
