// Package handlertest starts a complete Ringhook (store, dispatcher, handlers,
// routes) on an httptest server against the test package's PostgreSQL
// database, and gives tests a cookie-keeping client that signs in and posts
// forms with the CSRF token like a browser does.
package handlertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/web/dispatch"
	"github.com/ringhook/ringhook/web/jobrunner"
	"github.com/ringhook/ringhook/web/session"
)

// Main is TestMain for packages that use App: one throwaway, migrated
// database per test package.
func Main(m interface{ Run() int }, pkg string) { modeltest.Main(m, pkg) }

// App is a running Ringhook.
type App struct {
	URL        string
	Store      *models.Store
	DB         *gorm.DB // the Store's database, for fixtures and assertions the Store has no method for
	Dispatcher *dispatch.Dispatcher
	// Jobs works the jobs the App's requests start (bulk retries), as the
	// serving process does; it polls often so tests need not wait long.
	Jobs   *jobrunner.Runner
	Server *httptest.Server
	Echo   *echo.Echo // its route table, for tests that walk every route
	// API is the served OpenAPI document; every /api request a Client
	// makes, and its response, is checked against it.
	API *APIContract
	// DBProxy sits between the App and PostgreSQL when Options.DBProxy
	// is set: stopping it takes the database away.
	DBProxy *modeltest.Proxy
}

// Quiet is a logger that drops everything, for tests that expect errors.
var Quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Options vary the App a test starts; the zero value is New's.
type Options struct {
	Log            *slog.Logger // nil: Quiet
	SecureCookies  bool
	TrustedProxies []*net.IPNet
	Throttle       models.LoginThrottle   // zero: models.DefaultLoginThrottle()
	Now            func() time.Time       // the store's clock; nil: time.Now
	Deps           []func(*handlers.Deps) // adjust the handlers' dependencies (e.g. APILimits) before start
	DBProxy        bool                   // reach PostgreSQL through App.DBProxy, so a test can take it away
	JobBatch       int                    // deliveries per job batch; 0: the runner's default
	NoJobRunner    bool                   // do not start App.Jobs (a test steps jobs itself); implied by DBProxy
	// ProductionTargets applies production's SSRF rule (private addresses
	// refused) where the rule is asked; sends still stay on loopback.
	ProductionTargets bool
}

// New starts an App on the package's test database; it stops with the test.
// Options adjust the handlers' dependencies (e.g. APILimits) before start.
func New(t testing.TB, options ...func(*handlers.Deps)) *App {
	t.Helper()
	return NewWith(t, Options{Deps: options})
}

// NewWith starts an App configured by o. Apps of one test package share
// the package's database, as processes behind a load balancer would.
func NewWith(t testing.TB, o Options) *App {
	t.Helper()
	if o.Log == nil {
		o.Log = Quiet
	}
	ctx := context.Background()
	dbURL := modeltest.URL()
	var proxy *modeltest.Proxy
	if o.DBProxy {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatalf("test database URL: %v", err)
		}
		proxy = modeltest.NewProxy(t, u.Host)
		u.Host = proxy.Addr()
		dbURL = u.String()
	}
	db, err := models.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { modeltest.Close(db) })
	if err := modeltest.ParkQueue(db); err != nil {
		t.Fatalf("park stale deliveries: %v", err)
	}
	store := models.NewStore(db, o.Now, models.WithKeyring(modeltest.Keyring()))
	allowPrivate := "true"
	if o.ProductionTargets {
		allowPrivate = "false"
	}
	disp, err := dispatch.New(store, dispatch.Config{AllowPrivate: allowPrivate, LoopbackOnly: true, Log: Quiet})
	if err != nil {
		t.Fatalf("dispatcher: %v", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	runner := jobrunner.New(store, jobrunner.Config{Batch: o.JobBatch, Poll: 50 * time.Millisecond, Log: Quiet, Now: o.Now})
	// An App whose database a test takes away (DBProxy) runs no job runner:
	// its polls would hold pool connections the outage breaks at moments the
	// test does not choose, and the test's own next query could draw one.
	if !o.NoJobRunner && !o.DBProxy {
		runner.Start(context.Background())
		t.Cleanup(func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = runner.Stop(sctx)
		})
	}
	deps := handlers.Deps{Store: store, Sessions: session.New(store, key, o.SecureCookies), Throttle: o.Throttle,
		Previewer: disp, Targets: disp, Redeliverer: disp, Tester: disp, Ingester: disp, Jobs: runner, Log: o.Log}
	for _, adjust := range o.Deps {
		adjust(&deps)
	}
	h := handlers.New(deps)
	e := handlers.NewServer(h, handlers.ServerConfig{Log: o.Log, SecureCookies: o.SecureCookies, TrustedProxies: o.TrustedProxies})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	api, err := loadContract(ctx, srv.URL)
	if err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	return &App{URL: srv.URL, Store: store, DB: db, Dispatcher: disp, Jobs: runner, Server: srv, Echo: e, API: api, DBProxy: proxy}
}

// Tenant is an account with one signed-up user.
type Tenant struct {
	Account  *models.Account
	User     *models.User
	Email    string
	Password string
}

// NewTenant creates an account (with two DIDs) and a user with role.
func (a *App) NewTenant(t testing.TB, role models.Role) Tenant {
	t.Helper()
	ctx := context.Background()
	acc, err := a.Store.CreateAccount(ctx, "Acme "+models.NewID(""), "Asia/Kolkata")
	if err != nil {
		t.Fatalf("create account: %v", err)
	}
	// Fixture numbers are not a user's action, so they stay out of the
	// audit log the tests read.
	for _, n := range []string{"+918287842425", "+918287842426"} {
		if _, err := modeltest.SeedPhoneNumber(ctx, a.DB, acc.ID, n, "line"); err != nil {
			t.Fatalf("add number: %v", err)
		}
	}
	email := strings.ToLower(models.NewID("u")) + "@example.com"
	pw := "correct horse battery"
	u, err := a.Store.CreateUser(ctx, acc.ID, email, pw, role)
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	return Tenant{Account: acc, User: u, Email: email, Password: pw}
}

// Client is a browser-like HTTP client: it keeps cookies, does not follow
// redirects (tests assert them) and adds the CSRF token to posted forms.
type Client struct {
	HTTP *http.Client
	Base string
	api  *APIContract // nil: no OpenAPI checks
}

// NewClient returns a signed-out client.
func (a *App) NewClient(t testing.TB) *Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Base: a.URL, api: a.API, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// SignIn returns a client signed in as tn.
func (a *App) SignIn(t testing.TB, tn Tenant) *Client {
	t.Helper()
	c := a.NewClient(t)
	c.Get(t, "/login")
	res := c.Post(t, "/login", url.Values{"email": {tn.Email}, "password": {tn.Password}})
	if res.Status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: status %d, body %s", tn.Email, res.Status, res.Body)
	}
	return c
}

// Response is a finished request.
type Response struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

// Do sends req and reads the whole response. Requests to /api/ and their
// responses are checked against the OpenAPI document (APIContract.check).
func (c *Client) Do(t testing.TB, req *http.Request) Response {
	t.Helper()
	var reqBody []byte
	// Vendor dialects under /api (Kazoo) follow their vendor's document,
	// not the OpenAPI contract; their own tests check their shapes.
	checked := c.api != nil && strings.HasPrefix(req.URL.Path, "/api/") && !handlers.IsDialectPath(req.URL.Path)
	if checked && req.Body != nil {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			t.Fatalf("read request body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if checked {
		c.api.check(t, req, reqBody, res, b)
	}
	return Response{Status: res.StatusCode, Body: string(b), Header: res.Header, Location: res.Header.Get("Location")}
}

// Get fetches path.
func (c *Client) Get(t testing.TB, path string) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.Base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.Do(t, req)
}

// CSRF returns the token the server set in its cookie.
func (c *Client) CSRF() string {
	u, _ := url.Parse(c.Base)
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == "ringhook_csrf" {
			return ck.Value
		}
	}
	return ""
}

// Post submits a form with the CSRF token, as the console's forms do.
func (c *Client) Post(t testing.TB, path string, form url.Values) Response {
	t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	if f.Get("_csrf") == "" {
		f.Set("_csrf", c.CSRF())
	}
	return c.PostRaw(t, path, f, nil)
}

// PostRaw submits form exactly as given, with extra headers.
func (c *Client) PostRaw(t testing.TB, path string, form url.Values, header http.Header) Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return c.Do(t, req)
}

// Describe summarises a response for test failure messages.
func Describe(r Response) string { return fmt.Sprintf("status %d body %.2000s", r.Status, r.Body) }
