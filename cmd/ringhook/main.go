// Command ringhook runs the Ringhook webhook console and dispatcher.
//
//	ringhook serve              serve the console, API and dispatcher (default)
//	ringhook migrate            apply database migrations and exit
//	ringhook admin create ...   create an account admin
//	ringhook apikey create ...  create an API key and print it once
//	ringhook rotate-key         re-encrypt secrets at rest under the current key
//	ringhook simulate ...       send realistic call events to a running server
//	ringhook bench ...          measure the dispatcher on this machine
//	ringhook seed ...           fill the database with a realistic history
//	ringhook console-bench ...  time every console page and API list on a seeded database
//	ringhook reliability ...    kill, outage, multi-process and hostile-input scenarios
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

	"github.com/ringhook/ringhook/cmd/ringhook/bench"
	"github.com/ringhook/ringhook/cmd/ringhook/reliability"
	"github.com/ringhook/ringhook/cmd/ringhook/simulate"
	"github.com/ringhook/ringhook/web/dispatch"
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
	switch cmd {
	case "simulate": // a client of a running server: none of its configuration
		return simulate.Run(ctx, args, os.Stdout, os.Stderr)
	case "bench": // its own database and dispatcher: only the database and worker settings
		workers, err := positiveEnv("RINGHOOK_WORKERS", dispatch.DefaultWorkers)
		if err != nil {
			return err
		}
		return bench.Run(ctx, bench.Env{DatabaseURL: os.Getenv("DATABASE_URL"), DefaultWorkers: workers}, args, os.Stdout, os.Stderr)
	case "reliability": // runs its own PostgreSQL and this binary as `serve` children
		self, err := os.Executable()
		if err != nil {
			return fmt.Errorf("reliability: find this executable: %w", err)
		}
		return reliability.Run(ctx, reliability.Env{Binary: self}, args, os.Stdout, os.Stderr)
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	case "serve", "migrate", "admin", "apikey", "rotate-key", "seed", "console-bench":
	default:
		return fmt.Errorf("unknown command %q\n%s", cmd, usage)
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate(ctx, cfg, log)
	case "apikey":
		return apikey(ctx, cfg, log, args, os.Stdout)
	case "rotate-key":
		return rotateKey(ctx, cfg, log, args, os.Stdout)
	case "seed":
		return seedCmd(ctx, cfg, log, args, os.Stdout)
	case "console-bench":
		return consoleBench(ctx, cfg, log, args, os.Stdout)
	default:
		return admin(ctx, cfg, log, args)
	}
}

const usage = `usage: ringhook [command]
  serve                                    serve the console, API and dispatcher (default;
                                           RINGHOOK_ROLE=web or dispatcher runs one half, see docs/operations.md)
  migrate                                  apply database migrations
  admin create --email E --account NAME    create an admin (and the account if new)
               [--password P] [--role owner|admin|viewer] [--timezone TZ] [--country CC]
  apikey create --account NAME --name N    create an API key and print it once
                [--scope full|read|ingest] [--test]
  rotate-key [--generate]                  re-encrypt secrets at rest under the current key
  simulate --key sk_… [--url http://127.0.0.1:8080] [--rate 5] [--duration 30s | --calls N]
           [--seed S] [--dids +918287842425,…]   POST realistic call lifecycles to <url>/api/v1/events
  bench [--phases A,B,C,I] [--events 20000] [--rate 200] [--workers W] [--webhooks 4] [--cpuprofile FILE] …
                                           measure dispatcher throughput, latency and isolation (make bench;
                                           ringhook bench --help lists every flag)
  seed --deliveries N --accounts M [--attempts 3] [--biggest-share 0.2] [--webhooks 5] [--days 30]
                                           fill the database with a history in set-based SQL (account "Seed 001"
                                           holds the biggest share; sign in as owner@seed.example.com)
  console-bench [--requests 100] [--port 0] [--pages dashboard,…] [seed flags]
                                           time every console page and API list as the biggest seeded
                                           account (seeds first when the database is not seeded)
  reliability [--scenarios kill,pg,multi,iso,hostile] [--events 1000] [--processes 3] [--pg-down 10s] [--short] …
                                           kill -9, PostgreSQL restart/stop, several processes, isolation and
                                           hostile input on loopback; one table (make reliability)`
