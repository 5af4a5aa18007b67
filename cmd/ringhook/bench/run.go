package bench

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/ringhook/ringhook/cmd/ringhook/simulate"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/devdb"
)

// run is one benchmark run.
type run struct {
	o      options
	db     *gorm.DB // the run's own handle: verification reads, commit probe, CHECKPOINT
	store  *models.Store
	sink   *sink
	log    *slog.Logger
	stderr io.Writer
	pgDir  string
	gen    *catalog.CallGenerator
	tracer *sqlTracer // --trace-sql
	r      report
}

func (b *run) progress(format string, a ...any) { fmt.Fprintf(b.stderr, format+"\n", a...) }

// Run is `ringhook bench` with its arguments.
func Run(ctx context.Context, env Env, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, env.DefaultWorkers, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	r, err := measure(ctx, env, o, args, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	r.write(stdout)
	return nil
}

// IsolationResult is phase I's outcome for callers outside the package
// (the reliability harness reports it beside its own scenarios).
type IsolationResult struct {
	Events        int64   // healthy deliveries wanted in each run
	Alone, Beside float64 // the healthy webhook's deliveries/s in each run
	Ratio         float64 // Beside / Alone; the target is at least Target
	Target        float64
	Incomplete    bool // --iso-max ended a run early
}

// Isolation runs phase I alone with the bench flags args (whatever
// --phases they give) and returns its figures; progress goes to stderr.
func Isolation(ctx context.Context, env Env, args []string, stderr io.Writer) (IsolationResult, error) {
	o, err := parseFlags(append(slices.Clone(args), "--phases", "I"), env.DefaultWorkers, stderr)
	if err != nil {
		return IsolationResult{}, err
	}
	r, err := measure(ctx, env, o, args, stderr)
	if err != nil {
		return IsolationResult{}, err
	}
	return IsolationResult{Events: r.IsoAlone.Wanted, Alone: r.IsoAlone.rate(), Beside: r.IsoBeside.rate(), Ratio: r.isolationRatio(),
		Target: targetIsolation, Incomplete: r.IsoAlone.Incomplete || r.IsoBeside.Incomplete}, nil
}

// measure runs the phases o asks for and returns what they measured.
func measure(ctx context.Context, env Env, o options, args []string, stderr io.Writer) (*report, error) {
	b := &run{o: o, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	b.r = report{Phases: o.Phases, Command: commandLine(args), Effective: o.effectiveFlags(), GoVersion: runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(), CPUModel: readCPUModel()}
	if os.Getenv("MAKELEVEL") != "" {
		b.r.Command += "   (via make bench)"
	}

	setupCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	sc, desc, err := openScratch(setupCtx, env.DatabaseURL, o.PGPort, b.progress)
	if err != nil {
		return nil, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := sc.Close(cctx); err != nil {
			b.progress("bench: drop the bench database: %v", err)
		} else {
			b.progress("bench: database dropped")
		}
	}()
	b.pgDir = sc.DataDir
	db, err := models.Open(setupCtx, sc.URL)
	if err != nil {
		return nil, err
	}
	defer func() {
		if s, err := db.DB(); err == nil {
			s.Close()
		}
	}()
	b.db = db
	if _, err := models.Migrate(setupCtx, db); err != nil {
		return nil, err
	}
	if b.r.CommitP50, b.r.CommitP99, err = commitProbe(setupCtx, db); err != nil {
		return nil, err
	}
	if o.TraceSQL {
		b.tracer = newSQLTracer()
		db.Logger = b.tracer
	}
	var settings struct{ Version, Fsync, SyncCommit, FullPageWrites string }
	if err := db.WithContext(setupCtx).Raw(`SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,
		current_setting('synchronous_commit') AS sync_commit, current_setting('full_page_writes') AS full_page_writes`).Scan(&settings).Error; err != nil {
		return nil, fmt.Errorf("read server settings: %w", err)
	}
	b.r.Database = fmt.Sprintf("%s; PostgreSQL %s, fsync=%s synchronous_commit=%s full_page_writes=%s; dropped at the end",
		desc, settings.Version, settings.Fsync, settings.SyncCommit, settings.FullPageWrites)
	b.store = models.NewStore(db, nil)
	if b.sink, err = startSink(o.ReceiverPort); err != nil {
		return nil, err
	}
	defer b.sink.close()
	b.r.Receiver = fmt.Sprintf("%s (net/http, 204 No Content); webhooks POST JSON, each subscribed to every simulated call event", b.sink.base)
	var seed [8]byte
	_, _ = crand.Read(seed[:])
	s := binary.LittleEndian.Uint64(seed[:])
	if b.gen, err = catalog.NewCallGenerator(rand.New(rand.NewPCG(s, s^0x5249_4e47_484f_4f4b)), simulate.DefaultDIDs); err != nil {
		return nil, err
	}

	for _, ph := range []struct {
		letter byte
		run    func(context.Context) error
	}{{'A', b.ceiling}, {'B', b.throughput}, {'C', b.latency}, {'I', b.isolation}, {'W', b.idleWebhooks}, {'G', b.httpIngest}, {'O', b.callOrder}} {
		if !o.has(ph.letter) {
			continue
		}
		if err := ph.run(ctx); err != nil {
			return nil, err
		}
	}
	return &b.r, nil
}

// openScratch makes the bench database: on DATABASE_URL's server when set,
// else on a private, durable PostgreSQL (like production) in a temporary
// directory.
func openScratch(ctx context.Context, databaseURL string, pgPort int, logf func(string, ...any)) (*devdb.Scratch, string, error) {
	var b [4]byte
	_, _ = crand.Read(b[:])
	name := "ringhook_bench_" + hex.EncodeToString(b[:])
	if databaseURL != "" {
		cfg, err := pgconn.ParseConfig(databaseURL)
		if err != nil {
			return nil, "", fmt.Errorf("DATABASE_URL: %w", err)
		}
		sc, err := devdb.NewScratch(ctx, devdb.ScratchOptions{AdminURL: databaseURL, Name: name})
		if err != nil {
			return nil, "", fmt.Errorf("create the bench database on DATABASE_URL (the role needs CREATEDB): %w", err)
		}
		return sc, fmt.Sprintf("DATABASE_URL (%s@%s:%d), database %s", cfg.User, cfg.Host, cfg.Port, name), nil
	}
	logf("bench: DATABASE_URL is unset: starting a private PostgreSQL (durable, like production)")
	sc, err := devdb.NewScratch(ctx, devdb.ScratchOptions{Name: name, Fast: false, Port: pgPort, Logf: logf})
	if err != nil {
		return nil, "", fmt.Errorf("start private PostgreSQL: %w", err)
	}
	port := "a free port"
	if cfg, err := pgconn.ParseConfig(sc.URL); err == nil {
		port = "port " + strconv.Itoa(int(cfg.Port))
	}
	return sc, fmt.Sprintf("private PostgreSQL (models/devdb, Fast=false) in %s on 127.0.0.1 %s, database %s", sc.DataDir, port, name), nil
}

// sinkURLs are n webhook URLs on the sink under /<phase>/hook/, so the
// sink can tell the phases' deliveries apart.
func (b *run) sinkURLs(phase string, n int) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/%s/hook/%d", b.sink.base, phase, i+1)
	}
	return urls
}

// newAccount makes a phase's own account with one webhook per URL, each
// subscribed to every event the call generator produces. Phases never
// share an account, so each one's counts are its own.
func (b *run) newAccount(ctx context.Context, name string, urls []string, timeout time.Duration) (*models.Account, []*models.Webhook, error) {
	return b.newAccountOrdered(ctx, name, urls, timeout, false)
}

// newAccountOrdered is newAccount with the webhooks' ordering by call on or
// off (phase O compares the two; the other phases measure it off, as
// before it existed). No phase lets deliveries expire: a long backlog
// would lose its ringing events and the counts with them.
func (b *run) newAccountOrdered(ctx context.Context, name string, urls []string, timeout time.Duration, ordered bool) (*models.Account, []*models.Webhook, error) {
	acc, err := b.store.CreateAccount(ctx, name, "UTC")
	if err != nil {
		return nil, nil, err
	}
	var hooks []*models.Webhook
	for i, u := range urls {
		in := models.NewWebhookInput("Asia/Kolkata")
		in.Name, in.URL, in.EventTypes = fmt.Sprintf("%s %d", name, i+1), u, catalog.LifecycleTypes()
		in.Headers = []models.Header{{Name: "X-Bench", Value: strconv.Itoa(i + 1)}}
		in.CustomData = []models.KV{{Key: "crm_id", Value: fmt.Sprintf("A-%d", i+1)}}
		in.OrderedByCall, in.ExpireAfter = ordered, map[string]int{}
		if timeout > 0 {
			in.TimeoutSeconds = int(timeout / time.Second)
		}
		w, err := b.store.CreateWebhook(ctx, acc.ID, models.Actor{Label: "bench"}, in)
		if err != nil {
			return nil, nil, fmt.Errorf("create webhook: %w", err)
		}
		hooks = append(hooks, w)
	}
	return acc, hooks, nil
}

// retire disables a finished phase's webhooks so that anything it left in
// the queue (retries of broken receivers, an incomplete run) is never
// claimed during a later phase.
func (b *run) retire(acc *models.Account, hooks []*models.Webhook) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, w := range hooks {
		if _, err := b.store.SetWebhookEnabled(ctx, acc.ID, w.ID, models.Actor{Label: "bench"}, false, "bench phase over"); err != nil {
			b.progress("bench: disable %s: %v", w.Name, err)
		}
	}
}

// events returns n events from whole generated calls (the last call cut short).
func (b *run) events(n int) ([]map[string]any, error) {
	out := make([]map[string]any, 0, n)
	for len(out) < n {
		c, err := b.gen.Next(time.Now())
		if err != nil {
			return nil, err
		}
		out = append(out, c.Events[:min(len(c.Events), n-len(out))]...)
	}
	return out, nil
}
