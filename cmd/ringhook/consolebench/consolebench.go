// Package consolebench is `ringhook console-bench`: it times every console
// page and API list as the biggest account of a seeded database (package
// seed; it seeds first when the database holds no seed) and prints p50/p99
// per page, the slowest SQL statement of each, and EXPLAIN (ANALYZE,
// BUFFERS) of the slowest statement of all.
//
// It serves the real handlers (handlers.NewServer) on loopback with no
// dispatcher, signs in through the login form, and reads the API with a
// read-scoped key. Requests go one at a time, so a page's time is its own.
package consolebench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ringhook/ringhook/cmd/ringhook/seed"
	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/session"
)

// TargetP99 is the bound on every page and API list.
const TargetP99 = 50 * time.Millisecond

const usage = `usage: ringhook console-bench [--requests 100] [--port 0] [--pages dashboard,...]
                              [seed flags, used only when the database is not seeded yet:
                               --deliveries 1000000 --accounts 100 --attempts 3 --biggest-share 0.2 …]`

// Options are the console-bench flags.
type Options struct {
	Requests int    // timed requests per page
	Warmup   int    // untimed requests per page first
	Port     int    // the server's loopback port (0: any free one)
	Pages    string // comma-separated page names to run ("" all)
	Seed     seed.Options
}

// ParseFlags reads the console-bench flags (and the seed flags).
func ParseFlags(args []string, stderr io.Writer) (Options, error) {
	o := Options{Requests: 100, Warmup: 3, Seed: seed.Defaults}
	fs := flag.NewFlagSet("console-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, usage); fs.PrintDefaults() }
	fs.IntVar(&o.Requests, "requests", o.Requests, "timed requests per page")
	fs.IntVar(&o.Warmup, "warmup", o.Warmup, "untimed requests per page before timing")
	fs.IntVar(&o.Port, "port", o.Port, "loopback port of the server under test (0: any free one)")
	fs.StringVar(&o.Pages, "pages", o.Pages, "comma-separated page names to time (default all)")
	fs.IntVar(&o.Seed.Deliveries, "deliveries", o.Seed.Deliveries, "seed: deliveries in all accounts")
	fs.IntVar(&o.Seed.Accounts, "accounts", o.Seed.Accounts, "seed: accounts")
	fs.IntVar(&o.Seed.Attempts, "attempts", o.Seed.Attempts, "seed: attempts per delivery")
	fs.Float64Var(&o.Seed.BiggestShare, "biggest-share", o.Seed.BiggestShare, "seed: share of the first account")
	fs.IntVar(&o.Seed.Webhooks, "webhooks", o.Seed.Webhooks, "seed: webhooks per account")
	fs.StringVar(&o.Seed.Password, "password", o.Seed.Password, "password of "+seed.UserEmail)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.Requests < 1 || o.Warmup < 0 || o.Port < 0 || o.Port > 65535 {
		return o, errors.New("console-bench: --requests must be at least 1, --warmup at least 0, --port 0 to 65535")
	}
	return o, nil
}

// Page is one timed page or API list.
type Page struct {
	Name string
	Path string
	API  bool // sent with the API key instead of the session
}

// Result is one page's figures.
type Result struct {
	Page     Page
	P50, P99 time.Duration
	Max      time.Duration
	Slowest  Statement // the slowest statement seen while timing this page
}

// Statement is one SQL statement as run (arguments inlined) and how long it took.
type Statement struct {
	SQL     string
	Elapsed time.Duration
}

// tracer is a gorm logger keeping the slowest statement since reset.
type tracer struct {
	logger.Interface
	mu      sync.Mutex
	slowest Statement
}

func (t *tracer) Trace(_ context.Context, begin time.Time, fc func() (string, int64), _ error) {
	el := time.Since(begin)
	t.mu.Lock()
	defer t.mu.Unlock()
	if el > t.slowest.Elapsed {
		sql, _ := fc()
		t.slowest = Statement{SQL: sql, Elapsed: el}
	}
}

func (t *tracer) take() Statement {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.slowest
	t.slowest = Statement{}
	return s
}

// Run seeds db unless it is seeded, then times every page and prints the
// report to stdout (progress to stderr).
func Run(ctx context.Context, db *gorm.DB, keys models.StoreOption, o Options, command string, stdout, stderr io.Writer) error {
	progress := func(f string, a ...any) { fmt.Fprintf(stderr, f+"\n", a...) }
	tr := &tracer{Interface: logger.Discard}
	tdb := db.Session(&gorm.Session{Logger: tr, NewDB: true})
	store := models.NewStore(tdb, nil, keys)

	sr, ok, err := seed.Seeded(ctx, db)
	if err != nil {
		return err
	}
	if !ok {
		progress("console-bench: the database is not seeded: seeding %d deliveries", o.Seed.Deliveries)
		if sr, err = seed.Run(ctx, db, store, o.Seed, progress); err != nil {
			return err
		}
	} else {
		progress("console-bench: reusing the seeded database (%d accounts)", len(sr.Accounts))
	}
	var total int
	for _, a := range sr.Accounts {
		total += a.Deliveries
	}
	big := sr.Accounts[0]
	var attempts int64
	if err := db.WithContext(ctx).Raw(`SELECT count(*) FROM attempts WHERE account_id = ?`, big.ID).Scan(&attempts).Error; err != nil {
		return fmt.Errorf("console-bench: count attempts: %w", err)
	}

	// The server under test.
	sessionKey := make([]byte, 32)
	_, _ = rand.Read(sessionKey)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := handlers.New(handlers.Deps{Store: store, Sessions: session.New(store, sessionKey, false), Log: log,
		APILimits: handlers.APILimits{IngestRate: 1e9, IngestBurst: 1 << 30, Rate: 1e9, Burst: 1 << 30}})
	e := handlers.NewServer(h, handlers.ServerConfig{Log: log})
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", o.Port))
	if err != nil {
		return fmt.Errorf("console-bench: listen: %w", err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	base := "http://" + ln.Addr().String()

	password := sr.Password
	if password == "" {
		password = o.Seed.Password
	}
	c, err := signIn(ctx, base, seed.UserEmail, password)
	if err != nil {
		return err
	}
	_, key, err := store.CreateAPIKey(ctx, big.ID, models.Actor{Label: "console-bench"},
		models.NewAPIKey{Name: "console-bench " + models.NewID(""), Scope: models.ScopeRead})
	if err != nil {
		return fmt.Errorf("console-bench: api key: %w", err)
	}
	api := &client{http: &http.Client{Timeout: 60 * time.Second}, base: base, key: key}

	pages, err := choosePages(ctx, api, big)
	if err != nil {
		return err
	}
	if o.Pages != "" {
		want := strings.Split(o.Pages, ",")
		pages = slices.DeleteFunc(pages, func(p Page) bool { return !slices.Contains(want, p.Name) })
	}

	var results []Result
	for _, p := range pages {
		cl := c
		if p.API {
			cl = api
		}
		for range o.Warmup {
			if err := cl.get(ctx, p.Path); err != nil {
				return fmt.Errorf("console-bench: %s: %w", p.Name, err)
			}
		}
		tr.take()
		times := make([]time.Duration, 0, o.Requests)
		for range o.Requests {
			start := time.Now()
			if err := cl.get(ctx, p.Path); err != nil {
				return fmt.Errorf("console-bench: %s: %w", p.Name, err)
			}
			times = append(times, time.Since(start))
		}
		slices.Sort(times)
		r := Result{Page: p, P50: quantile(times, 0.50), P99: quantile(times, 0.99), Max: times[len(times)-1], Slowest: tr.take()}
		progress("console-bench: %-28s p50 %6.1f ms  p99 %6.1f ms", p.Name, ms(r.P50), ms(r.P99))
		results = append(results, r)
	}

	// EXPLAIN the slowest statement of all; the statement is logged with
	// its arguments spelled in, which for a few argument types (arrays)
	// is not valid SQL: then the next slowest one.
	var explain string
	var worst Result
	byTime := slices.Clone(results)
	slices.SortFunc(byTime, func(a, b Result) int { return int(b.Slowest.Elapsed - a.Slowest.Elapsed) })
	for _, r := range byTime {
		if r.Slowest.SQL == "" {
			continue
		}
		var lines []string
		if err := db.WithContext(ctx).Raw("EXPLAIN (ANALYZE, BUFFERS) " + r.Slowest.SQL).Scan(&lines).Error; err != nil {
			progress("console-bench: cannot EXPLAIN the slowest statement of %s (%v); trying the next", r.Page.Name, err)
			continue
		}
		worst, explain = r, strings.Join(lines, "\n")
		break
	}
	report(stdout, command, sr, total, big, attempts, o, results, worst, explain)
	return nil
}

// choosePages picks the ids the pages need from the biggest account's
// own API answers (so the ids are spelled as the API spells them): a
// webhook, a delivery from the middle of the history, its call, event and
// caller's number, a day ten days back.
func choosePages(ctx context.Context, api *client, big seed.Account) ([]Page, error) {
	hook := big.Webhooks[0]
	var page struct {
		Data []struct {
			ID      json.RawMessage `json:"id"`
			EventID string          `json:"event_id"`
			CallID  *string         `json:"call_id"`
		} `json:"data"`
		NextCursor *string `json:"next_cursor"` // the log's "Older" cursor below this delivery
	}
	day := time.Now().UTC().AddDate(0, 0, -10)
	from, to := day.Format(time.RFC3339), day.Add(24*time.Hour).Format(time.RFC3339)
	if err := api.getJSON(ctx, "/api/v1/deliveries?limit=1&from="+url.QueryEscape(from)+"&to="+url.QueryEscape(to), &page); err != nil {
		return nil, err
	}
	if len(page.Data) == 0 || page.Data[0].CallID == nil || page.NextCursor == nil {
		return nil, errors.New("console-bench: no delivery ten days back in the biggest account: seed --days 30 or more")
	}
	d := page.Data[0]
	id := strings.Trim(string(d.ID), `"`)
	var ev struct {
		Data struct {
			Payload map[string]any `json:"payload"`
		} `json:"data"`
	}
	if err := api.getJSON(ctx, "/api/v1/events/"+url.PathEscape(d.EventID), &ev); err != nil {
		return nil, err
	}
	number, _ := ev.Data.Payload["from_number"].(string)
	if number == "" {
		return nil, fmt.Errorf("console-bench: event %s has no from_number", d.EventID)
	}
	call := url.QueryEscape(*d.CallID)
	num := url.QueryEscape(number)
	dayS := day.Format("2006-01-02")
	return []Page{
		{Name: "dashboard", Path: "/"},
		{Name: "webhooks", Path: "/webhooks"},
		{Name: "webhook", Path: "/webhooks/" + hook},
		{Name: "log", Path: "/deliveries"},
		{Name: "log page 2", Path: "/deliveries?before=" + url.QueryEscape(*page.NextCursor)},
		{Name: "log webhook", Path: "/deliveries?webhook=" + hook},
		{Name: "log call", Path: "/deliveries?call_id=" + call},
		{Name: "log status failed", Path: "/deliveries?status=failed"},
		{Name: "log status cancelled", Path: "/deliveries?status=cancelled"},
		{Name: "log event type", Path: "/deliveries?event_type=call.answered"},
		{Name: "log day", Path: "/deliveries?from=" + dayS + "&to=" + dayS},
		{Name: "log failed + webhook", Path: "/deliveries?status=failed&webhook=" + hook},
		{Name: "delivery", Path: "/deliveries/" + id},
		{Name: "call", Path: "/calls/" + url.PathEscape(*d.CallID)},
		{Name: "audit", Path: "/audit"},
		{Name: "api webhooks", Path: "/api/v1/webhooks", API: true},
		{Name: "api deliveries", Path: "/api/v1/deliveries", API: true},
		{Name: "api deliveries call", Path: "/api/v1/deliveries?call_id=" + call, API: true},
		{Name: "api deliveries number", Path: "/api/v1/deliveries?phone_number=" + num, API: true},
		{Name: "api deliveries status", Path: "/api/v1/deliveries?status=cancelled", API: true},
		{Name: "api deliveries type", Path: "/api/v1/deliveries?event_type=call.answered", API: true},
		{Name: "api deliveries day", Path: "/api/v1/deliveries?from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(to), API: true},
		{Name: "api webhook deliveries", Path: "/api/v1/webhooks/" + hook + "/deliveries", API: true},
		{Name: "api event", Path: "/api/v1/events/" + url.PathEscape(d.EventID), API: true},
		{Name: "api call", Path: "/api/v1/calls/" + url.PathEscape(*d.CallID), API: true},
	}, nil
}

// client sends GETs as a signed-in browser (cookie jar) or with an API key.
type client struct {
	http *http.Client
	base string
	key  string
}

func (c *client) do(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d: %.300s", path, res.StatusCode, b)
	}
	return b, nil
}

func (c *client) get(ctx context.Context, path string) error {
	_, err := c.do(ctx, path)
	return err
}

func (c *client) getJSON(ctx context.Context, path string, v any) error {
	b, err := c.do(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// signIn signs in through the login form (CSRF cookie first).
func signIn(ctx context.Context, base, email, password string) (*client, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	c := &client{http: hc, base: base}
	if err := c.get(ctx, "/login"); err != nil {
		return nil, fmt.Errorf("console-bench: sign in: %w", err)
	}
	u, _ := url.Parse(base)
	csrf := ""
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "ringhook_csrf" {
			csrf = ck.Value
		}
	}
	form := url.Values{"email": {email}, "password": {password}, "_csrf": {csrf}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("console-bench: sign in: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("console-bench: sign in as %s: status %d (seeded with another --password?)", email, res.StatusCode)
	}
	return c, nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted)) + 0.5)
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func report(w io.Writer, command string, sr seed.Result, total int, big seed.Account, attempts int64, o Options,
	results []Result, worst Result, explain string) {
	fmt.Fprintf(w, "console-bench: %s\n", command)
	fmt.Fprintf(w, "data: %d deliveries in %d accounts; %s (the one timed) holds %d deliveries and %d attempts\n",
		total, len(sr.Accounts), big.Name, big.Deliveries, attempts)
	fmt.Fprintf(w, "%d requests per page, one at a time, after %d untimed; target p99 <= %.0f ms\n\n", o.Requests, o.Warmup, ms(TargetP99))
	fmt.Fprintf(w, "| page | path | p50 ms | p99 ms | max ms | slowest SQL ms | p99 target |\n|---|---|---:|---:|---:|---:|---|\n")
	met := 0
	for _, r := range results {
		ok := "met"
		if r.P99 > TargetP99 {
			ok = "MISSED"
		} else {
			met++
		}
		fmt.Fprintf(w, "| %s | `%s` | %.1f | %.1f | %.1f | %.1f | %s |\n", r.Page.Name, r.Page.Path, ms(r.P50), ms(r.P99), ms(r.Max), ms(r.Slowest.Elapsed), ok)
	}
	fmt.Fprintf(w, "\n%d of %d pages met p99 <= %.0f ms\n", met, len(results), ms(TargetP99))
	if worst.Slowest.SQL != "" {
		fmt.Fprintf(w, "\nslowest statement that EXPLAIN can run (%.1f ms, page %q):\n%s\n\nEXPLAIN (ANALYZE, BUFFERS):\n%s\n",
			ms(worst.Slowest.Elapsed), worst.Page.Name, worst.Slowest.SQL, explain)
	}
}
