package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/session"
)

// Targets of phase G (events/s accepted over HTTP with the dispatcher running).
const (
	targetHTTPSingle = 4000  // POST /api/v1/events from --http-clients clients
	targetHTTPBatch  = 10000 // POST /api/v1/events/batch
)

// httpRun is one run of phase G: events sent through one endpoint.
type httpRun struct {
	Label         string
	Clients       int
	Events        int64 // accepted
	Requests      int64
	Elapsed       time.Duration
	GoCPU, PgCPU  float64 // CPU ms per event: this process (server, dispatcher, clients), PostgreSQL (< 0 unknown)
	MachineCPU    float64 // CPU ms per event over the whole machine (< 0 unknown)
	Delivered     int64   // deliveries the dispatcher recorded as succeeded during the run
	Target        float64
	TargetSummary string
}

func (r httpRun) rate() float64 { return perSec(r.Events, r.Elapsed) }

// httpIngest is phase G: the real HTTP server (handlers.NewServer, API key
// auth, rate limit, validation) on loopback, with the dispatcher running
// and delivering to the sink, fed first one event per request from
// --http-clients clients, then --http-batch events per request.
func (b *run) httpIngest(ctx context.Context) error {
	acc, hooks, err := b.newAccount(ctx, "Bench G", b.sinkURLs("g", b.o.HTTPWebhooks), 0)
	if err != nil {
		return err
	}
	defer b.retire(acc, hooks)
	_, key, err := b.store.CreateAPIKey(ctx, acc.ID, models.Actor{Label: "bench"}, models.NewAPIKey{Name: "bench G", Scope: models.ScopeIngest})
	if err != nil {
		return fmt.Errorf("phase G: api key: %w", err)
	}
	var rec recorded
	d, err := b.dispatcher(&rec, 0)
	if err != nil {
		return err
	}
	sessionKey := make([]byte, 32)
	_, _ = rand.Read(sessionKey)
	// The rate limit is lifted: the phase measures what the server can
	// take, not the per-key default.
	h := handlers.New(handlers.Deps{Store: b.store, Sessions: session.New(b.store, sessionKey, false), Previewer: d, Redeliverer: d, Tester: d,
		Ingester: d, APILimits: handlers.APILimits{IngestRate: 1e9, IngestBurst: 1 << 30, Rate: 1e9, Burst: 1 << 30}, Log: b.log})
	e := handlers.NewServer(h, handlers.ServerConfig{Log: b.log})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("phase G: listen: %w", err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	d.Start(ctx)
	defer stopDispatcher(d, b.progress)
	base := "http://" + ln.Addr().String()

	if b.profiles('G') {
		stop, err := b.startProfile()
		if err != nil {
			return err
		}
		defer stop()
	}

	single, err := b.events(b.o.HTTPEvents)
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(single))
	for i, ev := range single {
		if bodies[i], err = json.Marshal(ev); err != nil {
			return err
		}
	}
	b.progress("bench: G: %d events, one per request, from %d clients", len(bodies), b.o.HTTPClients)
	r, err := b.postAll(ctx, &rec, base+"/api/v1/events", key, bodies, 1, b.o.HTTPClients)
	if err != nil {
		return fmt.Errorf("phase G single: %w", err)
	}
	r.Label, r.Target = "single", targetHTTPSingle
	b.r.HTTP = append(b.r.HTTP, r)
	b.progress("bench: G: single %.0f events/s", r.rate())

	many, err := b.events(b.o.HTTPBatchEvents)
	if err != nil {
		return err
	}
	var batches [][]byte
	for i := 0; i < len(many); i += b.o.HTTPBatch {
		body, err := json.Marshal(map[string]any{"events": many[i:min(i+b.o.HTTPBatch, len(many))]})
		if err != nil {
			return err
		}
		batches = append(batches, body)
	}
	b.progress("bench: G: %d events in batches of %d from %d clients", len(many), b.o.HTTPBatch, b.o.HTTPBatchClients)
	r, err = b.postAll(ctx, &rec, base+"/api/v1/events/batch", key, batches, b.o.HTTPBatch, b.o.HTTPBatchClients)
	if err != nil {
		return fmt.Errorf("phase G batch: %w", err)
	}
	r.Label, r.Target = fmt.Sprintf("batch of %d", b.o.HTTPBatch), targetHTTPBatch
	b.r.HTTP = append(b.r.HTTP, r)
	b.progress("bench: G: batch %.0f events/s", r.rate())
	return nil
}

// postAll sends every body from clients goroutines over keep-alive
// connections and times it; each body carries per events.
func (b *run) postAll(ctx context.Context, rec *recorded, url, key string, bodies [][]byte, per, clients int) (httpRun, error) {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	rctx, cancel := context.WithTimeout(ctx, b.o.MaxWait)
	defer cancel()
	next := make(chan []byte, len(bodies))
	for _, body := range bodies {
		next <- body
	}
	close(next)
	var accepted, requests atomic.Int64
	var firstErr error
	var once sync.Once
	fail := func(err error) { once.Do(func() { firstErr = err; cancel() }) }
	delivered0 := rec.succeeded.Load()
	goCPU0 := selfCPU()
	pgCPU0, pgOK := postgresCPU(b.pgDir)
	machine0, machineOK := readMachineBusy()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				req, _ := http.NewRequestWithContext(rctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := client.Do(req)
				if err != nil {
					fail(err)
					return
				}
				out, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					fail(err)
					return
				}
				requests.Add(1)
				switch {
				case per == 1 && res.StatusCode == http.StatusAccepted:
					accepted.Add(1)
				case per > 1 && res.StatusCode == http.StatusOK:
					var a struct{ Accepted, Invalid int }
					if err := json.Unmarshal(out, &a); err != nil || a.Invalid > 0 {
						fail(fmt.Errorf("batch answer %.300s", out))
						return
					}
					accepted.Add(int64(a.Accepted))
				default:
					fail(fmt.Errorf("%s answered %d: %.300s", url, res.StatusCode, out))
					return
				}
			}
		}()
	}
	wg.Wait()
	r := httpRun{Clients: clients, Events: accepted.Load(), Requests: requests.Load(), Elapsed: time.Since(start)}
	if firstErr != nil {
		return r, firstErr
	}
	if err := ctx.Err(); err != nil {
		return r, err
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return r, fmt.Errorf("not done within --max-wait %s", b.o.MaxWait)
	}
	r.Delivered = rec.succeeded.Load() - delivered0
	wall := r.Elapsed
	r.GoCPU = cpuMS((selfCPU()-goCPU0).Seconds()/wall.Seconds(), wall, r.Events)
	r.PgCPU, r.MachineCPU = -1, -1
	if pgCPU1, ok := postgresCPU(b.pgDir); ok && pgOK {
		r.PgCPU = cpuMS((pgCPU1-pgCPU0).Seconds()/wall.Seconds(), wall, r.Events)
	}
	if m1, ok := readMachineBusy(); ok && machineOK {
		r.MachineCPU = cpuMS((m1-machine0).Seconds()/wall.Seconds(), wall, r.Events)
	}
	return r, nil
}

func (r *report) writeG(p func(string, ...any)) {
	for _, h := range r.HTTP {
		p("  G http %-13s %d clients, %d events in %d requests, %.1fs   %8.0f events/s   target >= %.0f: %s",
			h.Label, h.Clients, h.Events, h.Requests, h.Elapsed.Seconds(), h.rate(), h.Target, verdict(h.rate() >= h.Target))
		p("                CPU per event: ringhook process %s, PostgreSQL %s, whole machine %s; %d deliveries succeeded meanwhile (dispatcher running)",
			msOrNA(h.GoCPU), msOrNA(h.PgCPU), msOrNA(h.MachineCPU), h.Delivered)
	}
}
