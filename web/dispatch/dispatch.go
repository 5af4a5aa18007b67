// Package dispatch turns call events into signed HTTP requests: it renders
// each delivery once, claims due deliveries from PostgreSQL, sends them with
// an SSRF-safe client, records every attempt and schedules retries. It
// imports only models (and its own subpackages).
//
// A started Dispatcher runs seven parts, each with its own start and stop:
// the claimer leases due deliveries for idle workers; the sender (the
// worker pool) sends them, turning a panic into an attempt of kind internal
// that is retried like any failure; the recorder writes outcomes in
// batches and keeps a batch, retrying with backoff, while the database is
// away (the claimer pauses meanwhile); the listener wakes the claimer on
// new deliveries; the reaper returns expired leases to the queue; the heart
// registers the process, beats, and hands back the leases of dispatchers
// that stopped beating; the prober probes webhooks disabled automatically
// (probe.go). The states a delivery goes through are drawn in the
// models package doc.
package dispatch

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/web/dispatch/payload"
	"github.com/ringhook/ringhook/web/dispatch/safehttp"
)

// Version goes into the User-Agent header.
const Version = "0.1.0"

// UserAgent identifies Ringhook to receivers.
const UserAgent = "Ringhook/" + Version

// Config tunes a Dispatcher.
type Config struct {
	Workers      int           // concurrent sends in this process
	PerWebhook   int           // max requests in flight per webhook in this process (each process has its own cap)
	Batch        int           // max deliveries claimed per query
	Poll         time.Duration // claim at least this often (retries come due without a notify)
	ReapInterval time.Duration // how often expired leases are returned
	StopTimeout  time.Duration // how long Stop lets in-flight sends finish, and then again how long it waits for their recording
	Heartbeat    time.Duration // how often this process beats (and checks others' beats)
	StaleAfter   time.Duration // a dispatcher silent this long counts as gone: its leases return to the queue
	AutoDisable  models.AutoDisable
	AllowPrivate string // RINGHOOK_ALLOW_PRIVATE_TARGETS
	AllowCIDRs   string // RINGHOOK_ALLOW_CIDRS
	NoJitter     bool   // exact retry delays, for tests
	LoopbackOnly bool   // tests: never send beyond 127.0.0.1, never resolve names
	Log          *slog.Logger
	Now          func() time.Time
	OnRecord     func([]models.Outcome) // observes recorded batches (tests)
	Observer     Observer               // told of claims, records, ingest and sends (metrics); nil: nobody
	// WrapTransport, when set, wraps the SSRF-safe transport (tests inject
	// faults with it; the guard still runs underneath).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// ID names this dispatcher in the dispatchers table and on its leases.
func (d *Dispatcher) ID() string { return d.id }

// Dispatcher renders, sends and records webhook deliveries.
type Dispatcher struct {
	store  *models.Store
	client *http.Client
	log    *slog.Logger
	now    func() time.Time
	cfg    Config

	rndMu sync.Mutex
	rnd   *rand.Rand

	inFlight inFlight
	degraded degraded
	ingests  *coalescer // group commit of single-event ingest
	wakeCh   chan struct{}
	parts    *parts // set by Start
	policy   safehttp.Policy

	id   string // names this process in the dispatchers table and on its leases
	host string
}

// New builds a Dispatcher; Start runs its workers.
func New(store *models.Store, cfg Config) (*Dispatcher, error) {
	policy, err := safehttp.ParsePolicy(cfg.AllowPrivate, cfg.AllowCIDRs)
	if err != nil {
		return nil, fmt.Errorf("RINGHOOK_ALLOW_PRIVATE_TARGETS / RINGHOOK_ALLOW_CIDRS: %w", err)
	}
	policy.LoopbackOnly = cfg.LoopbackOnly
	cfg.defaults()
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	client := safehttp.NewClient(policy, safehttp.Options{})
	if cfg.WrapTransport != nil {
		client.Transport = cfg.WrapTransport(client.Transport)
	}
	host, _ := os.Hostname()
	// Operational events are rendered like any event (models cannot).
	store.SetEventPlanner(planDeliveries(false), func(err error) { cfg.Log.Error("operational event", "err", err) })
	return &Dispatcher{store: store, client: client, policy: policy, log: cfg.Log, now: cfg.Now, cfg: cfg, id: models.NewID("dsp_"), host: host,
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15)), wakeCh: make(chan struct{}, 1),
		ingests: newCoalescer(store.IngestBatch)}, nil
}

func target(w *models.Webhook, test bool) payload.Target {
	t := payload.Target{AccountID: w.AccountID, WebhookID: w.ID, APIVersion: w.APIVersion, URL: w.URL, Method: w.Method,
		ContentType: w.ContentType, TimeZone: w.TimeZone, CustomData: w.CustomData.V, Test: test,
		CustomDataMerged: w.CustomDataMode == models.CustomDataMerged,
		Auth:             payload.Auth{Type: w.AuthType, Username: w.AuthUsername, Secret: w.AuthSecret}}
	for _, h := range w.Headers.V {
		t.Headers = append(t.Headers, payload.Header{Name: h.Name, Value: h.Value})
	}
	return t
}

// render builds the stored part of a delivery's request: everything but the
// per-attempt signature, timestamp and attempt headers.
func render(w *models.Webhook, event map[string]any, test bool) (models.RenderedRequest, error) {
	t := target(w, test)
	fields, err := payload.Fields(event, t)
	if err != nil {
		return models.RenderedRequest{}, fmt.Errorf("render: %w", err)
	}
	req, err := payload.Render(fields, t)
	if err != nil {
		return models.RenderedRequest{}, fmt.Errorf("render: %w", err)
	}
	out := models.RenderedRequest{Method: req.Method, URL: req.URL, Body: req.Body}
	for _, h := range req.Header {
		out.Headers = append(out.Headers, models.Header{Name: h.Name, Value: h.Value, Secret: w.SecretHeader(h.Name)})
	}
	return out, nil
}

// attemptHeaders are added on every send: the Standard Webhooks signature
// over this attempt's timestamp, the event type and the attempt number.
func attemptHeaders(r models.RenderedRequest, secrets []string, eventID, eventType string, attempt int, now time.Time) ([]models.Header, error) {
	sig, err := payload.SignatureHeader(secrets, eventID, now, payload.SignedContent(payload.Request{Method: r.Method, URL: r.URL, Body: r.Body}))
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return []models.Header{
		{Name: "User-Agent", Value: UserAgent},
		{Name: "webhook-id", Value: eventID},
		{Name: "webhook-timestamp", Value: fmt.Sprint(now.Unix())},
		{Name: "webhook-signature", Value: sig},
		{Name: "X-Webhook-Event", Value: eventType},
		{Name: "X-Webhook-Attempt", Value: fmt.Sprint(attempt)},
	}, nil
}

// Preview renders the request a sample event of eventType would produce for
// w, with secrets redacted. Nothing is stored or sent.
func (d *Dispatcher) Preview(ctx context.Context, w *models.Webhook, eventType string) (models.RenderedRequest, error) {
	sample, err := d.sample(w, eventType)
	if err != nil {
		return models.RenderedRequest{}, err
	}
	r, err := render(w, sample, false)
	if err != nil {
		return models.RenderedRequest{}, err
	}
	now := d.now()
	eventID, _ := sample["event_id"].(string)
	extra, err := attemptHeaders(r, w.SigningSecrets(now), eventID, eventType, 1, now)
	if err != nil {
		return models.RenderedRequest{}, err
	}
	r.Headers = redactHeaders(append(extra, r.Headers...))
	return r, nil
}

// sample is a realistic event of eventType, shaped to what w would receive.
func (d *Dispatcher) sample(w *models.Webhook, eventType string) (map[string]any, error) {
	if !catalog.Subscribable(eventType) {
		return nil, fmt.Errorf("%w %q", ErrUnknownEventType, eventType)
	}
	d.rndMu.Lock()
	seed1, seed2 := d.rnd.Uint64(), d.rnd.Uint64()
	d.rndMu.Unlock()
	s := catalog.Sample(eventType, d.now().UTC(), rand.New(rand.NewPCG(seed1, seed2)))
	fitSample(s, w)
	return s, nil
}

// TargetRefusal says why deliveries to rawURL would be refused by this
// process's SSRF rule (safehttp.Policy.Refusal), or "" when they would
// not, so the webhook form can warn before anything is sent.
func (d *Dispatcher) TargetRefusal(ctx context.Context, rawURL string) string {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Host == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return d.policy.Refusal(ctx, u.Hostname())
}
