package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// logBuffer collects a server's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns every record logged so far, decoded.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

func newLog() (*logBuffer, *slog.Logger) {
	b := &logBuffer{}
	return b, slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func cidrs(t *testing.T, list ...string) []*net.IPNet {
	t.Helper()
	var out []*net.IPNet
	for _, s := range list {
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// login posts the sign-in form with an X-Forwarded-For header (none when xff is "").
func login(t *testing.T, c *handlertest.Client, email, password, xff string) handlertest.Response {
	t.Helper()
	h := http.Header{}
	if xff != "" {
		h.Set("X-Forwarded-For", xff)
	}
	return c.PostRaw(t, "/login", url.Values{"email": {email}, "password": {password}, "_csrf": {c.CSRF()}}, h)
}

func loginClient(t *testing.T, app *handlertest.App) *handlertest.Client {
	t.Helper()
	c := app.NewClient(t)
	c.Get(t, "/login")
	return c
}

// fromAddress makes c connect from another loopback address, so the
// server sees a peer of its own: the throttle counters of one test do not
// reach the others (the package's tests share one database).
func fromAddress(t *testing.T, c *handlertest.Client, ip string) *handlertest.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	c.HTTP.Transport = tr
	c.Get(t, "/login")
	return c
}

func TestLoginThrottle(t *testing.T) {
	t.Run("rotating X-Forwarded-For neither escapes the throttle nor reaches the log", func(t *testing.T) {
		logs, log := newLog()
		app := handlertest.NewWith(t, handlertest.Options{Log: log}) // no trusted proxies: the default
		victim := app.NewTenant(t, models.RoleAdmin)
		c := fromAddress(t, app.NewClient(t), "127.0.0.21")
		for i := range 5 {
			spoof := fmt.Sprintf("203.0.113.%d", i+1)
			if res := login(t, c, victim.Email, "wrong guess", spoof); res.Status != http.StatusUnauthorized {
				t.Fatalf("guess %d: %s", i+1, handlertest.Describe(res))
			}
		}
		res := login(t, c, victim.Email, victim.Password, "198.51.100.77")
		if res.Status != http.StatusTooManyRequests || !strings.Contains(res.Body, "Too many failed sign-ins") || res.Header.Get("Retry-After") == "" {
			t.Fatalf("a sixth try with a new X-Forwarded-For got through: %s", handlertest.Describe(res))
		}
		failed := 0
		for _, l := range logs.lines(t) {
			if l["msg"] == "sign-in failed" {
				failed++
				if l["ip"] != "127.0.0.21" {
					t.Errorf("sign-in failure logged with ip %v, want the peer 127.0.0.21", l["ip"])
				}
			}
			if s := fmt.Sprint(l); strings.Contains(s, "203.0.113.") || strings.Contains(s, "198.51.100.") {
				t.Errorf("a spoofed address reached the log: %v", l)
			}
		}
		if failed != 5 {
			t.Errorf("%d failures logged, want 5", failed)
		}
	})

	t.Run("behind a trusted proxy an attacker elsewhere cannot lock the user out", func(t *testing.T) {
		app := handlertest.NewWith(t, handlertest.Options{TrustedProxies: cidrs(t, "127.0.0.0/8")})
		victim := app.NewTenant(t, models.RoleAdmin)
		attacker := loginClient(t, app)
		for range 8 {
			login(t, attacker, victim.Email, "wrong guess", "203.0.113.9")
		}
		if res := login(t, attacker, victim.Email, victim.Password, "203.0.113.9"); res.Status != http.StatusTooManyRequests {
			t.Fatalf("the attacker's address should be throttled: %s", handlertest.Describe(res))
		}
		// A client-supplied first hop does not help: the proxy appends the
		// real peer, and that nearest untrusted hop is the one counted.
		if res := login(t, attacker, victim.Email, victim.Password, "192.0.2.1, 203.0.113.9"); res.Status != http.StatusTooManyRequests {
			t.Fatalf("a forged first hop escaped the throttle: %s", handlertest.Describe(res))
		}
		user := loginClient(t, app)
		if res := login(t, user, victim.Email, victim.Password, "198.51.100.20"); res.Status != http.StatusSeeOther {
			t.Fatalf("the real user is locked out from their own address: %s", handlertest.Describe(res))
		}
		if !signedIn(t, user) {
			t.Fatal("the real user's sign-in did not stick")
		}
	})

	t.Run("one address spraying many accounts is throttled per IP", func(t *testing.T) {
		th := models.DefaultLoginThrottle()
		th.PerIP.Free = 3
		app := handlertest.NewWith(t, handlertest.Options{Throttle: th})
		victim := app.NewTenant(t, models.RoleAdmin)
		c := fromAddress(t, app.NewClient(t), "127.0.0.22")
		for i := range 4 {
			if res := login(t, c, fmt.Sprintf("nobody%d@example.com", i), "guess", ""); res.Status != http.StatusUnauthorized {
				t.Fatalf("spray %d: %s", i, handlertest.Describe(res))
			}
		}
		if res := login(t, c, victim.Email, victim.Password, ""); res.Status != http.StatusTooManyRequests {
			t.Fatalf("the spraying address was not throttled: %s", handlertest.Describe(res))
		}
	})

	t.Run("a success forgets the account's failures from that address", func(t *testing.T) {
		app := handlertest.New(t)
		tn := app.NewTenant(t, models.RoleAdmin)
		c := fromAddress(t, app.NewClient(t), "127.0.0.23")
		for round := range 2 {
			for range 4 {
				login(t, c, tn.Email, "typo", "")
			}
			if res := login(t, c, tn.Email, tn.Password, ""); res.Status != http.StatusSeeOther {
				t.Fatalf("round %d: %s", round, handlertest.Describe(res))
			}
			c = fromAddress(t, app.NewClient(t), "127.0.0.23")
		}
	})

	t.Run("two app instances share the counters", func(t *testing.T) {
		one, two := handlertest.New(t), handlertest.New(t)
		tn := one.NewTenant(t, models.RoleAdmin)
		c1 := fromAddress(t, one.NewClient(t), "127.0.0.24")
		for range 5 {
			if res := login(t, c1, tn.Email, "wrong", ""); res.Status != http.StatusUnauthorized {
				t.Fatalf("%s", handlertest.Describe(res))
			}
		}
		c2 := fromAddress(t, two.NewClient(t), "127.0.0.24")
		if res := login(t, c2, tn.Email, tn.Password, ""); res.Status != http.StatusTooManyRequests {
			t.Fatalf("the second instance did not see the first one's failures: %s", handlertest.Describe(res))
		}
	})

	t.Run("the wait grows and then lets the user in", func(t *testing.T) {
		clock := &fakeClock{t: time.Now()}
		app := handlertest.NewWith(t, handlertest.Options{Now: clock.Now})
		tn := app.NewTenant(t, models.RoleAdmin)
		c := fromAddress(t, app.NewClient(t), "127.0.0.25")
		for range 5 {
			login(t, c, tn.Email, "wrong", "")
		}
		res := login(t, c, tn.Email, tn.Password, "")
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "30" || !strings.Contains(res.Body, "30 seconds") {
			t.Fatalf("after 5 failures want a 30 s wait: %s retry-after %q", handlertest.Describe(res), res.Header.Get("Retry-After"))
		}
		clock.Add(30 * time.Second)
		login(t, c, tn.Email, "wrong again", "")
		res = login(t, c, tn.Email, tn.Password, "")
		if res.Status != http.StatusTooManyRequests || res.Header.Get("Retry-After") != "60" {
			t.Fatalf("after 6 failures want a 60 s wait: %s retry-after %q", handlertest.Describe(res), res.Header.Get("Retry-After"))
		}
		clock.Add(time.Minute)
		if res := login(t, c, tn.Email, tn.Password, ""); res.Status != http.StatusSeeOther {
			t.Fatalf("after the wait the right password should work: %s", handlertest.Describe(res))
		}
	})
}

// fakeClock is a store clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestLoginRedirects: next= keeps the user on this site whatever it says.
func TestLoginRedirects(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	cases := []struct {
		next, want string
	}{
		{"/webhooks", "/webhooks"},
		{"/deliveries?status=failed&webhook=wh_1", "/deliveries?status=failed&webhook=wh_1"},
		{"/webhooks/wh_1/edit#auth", "/webhooks/wh_1/edit#auth"},
		{"", "/"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\t/evil.example", "/"}, // browsers strip the tab: //evil.example
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"/\\evil.example", "/"}, // browsers read \ as /
		{"\\\\evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"/%2F%2Fevil.example", "/"},
		{"https://evil.example/", "/"},
		{"http:evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/\u2028/evil.example", "/"},
		{"/\u0085/evil.example", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.next), func(t *testing.T) {
			c := loginClient(t, app)
			res := c.Post(t, "/login", url.Values{"email": {tn.Email}, "password": {tn.Password}, "next": {tc.next}})
			if res.Status != http.StatusSeeOther || res.Location != tc.want {
				t.Fatalf("redirected to %q, want %q: %s", res.Location, tc.want, handlertest.Describe(res))
			}
		})
	}
	t.Run("the login page's hidden next is cleaned too", func(t *testing.T) {
		res := app.NewClient(t).Get(t, "/login?next=/%09/evil.example")
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `name="next" value="/"`) {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
}

// TestHSTS: Strict-Transport-Security goes out exactly when the server is
// configured as served over TLS.
func TestHSTS(t *testing.T) {
	for _, secure := range []bool{true, false} {
		t.Run(fmt.Sprint("secure=", secure), func(t *testing.T) {
			app := handlertest.NewWith(t, handlertest.Options{SecureCookies: secure})
			for _, path := range []string{"/login", "/healthz", "/webhooks"} {
				res := app.NewClient(t).Get(t, path)
				got := res.Header.Get("Strict-Transport-Security")
				if secure && got != "max-age=63072000" || !secure && got != "" {
					t.Errorf("%s: Strict-Transport-Security %q", path, got)
				}
				if secure && path == "/login" {
					for _, sc := range res.Header.Values("Set-Cookie") {
						if !strings.Contains(sc, "Secure") {
							t.Errorf("cookie without Secure: %q", sc)
						}
					}
				}
			}
		})
	}
}

// TestLoginHostileInput: bytes PostgreSQL refuses, in the form or in the
// headers a session records, are a refused sign-in, never a 500.
func TestLoginHostileInput(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	for _, email := range []string{"a\x00b@example.com", "\xff\xfe@example.com", strings.Repeat("x", 5000) + "@example.com"} {
		t.Run(fmt.Sprintf("email %.20q", email), func(t *testing.T) {
			c := fromAddress(t, app.NewClient(t), "127.0.0.27")
			want := http.StatusUnauthorized // a refused sign-in
			if !utf8.ValidString(email) || strings.ContainsRune(email, 0) {
				want = http.StatusUnprocessableEntity // the field itself is refused
			}
			if res := login(t, c, email, "whatever password", ""); res.Status != want {
				t.Fatalf("want %d: %s", want, handlertest.Describe(res))
			}
		})
	}
	t.Run("user agent with invalid UTF-8", func(t *testing.T) {
		c := loginClient(t, app)
		h := http.Header{"User-Agent": {"evil agent \xff" + strings.Repeat("é", 400)}}
		res := c.PostRaw(t, "/login", url.Values{"email": {tn.Email}, "password": {tn.Password}, "_csrf": {c.CSRF()}}, h)
		if res.Status != http.StatusSeeOther {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if !signedIn(t, c) {
			t.Fatal("not signed in")
		}
	})
}
