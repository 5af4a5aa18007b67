package reliability

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

// maxOffenders is how many 5xx requests the report lists.
const maxOffenders = 8

// hostileRoute is one route of the app's route table.
type hostileRoute struct{ Method, Path string }

// appRoutes lists the app's routes from the one route table (an Echo
// instance built only to read it; nothing is served from it).
func appRoutes() []hostileRoute {
	e := handlers.NewServer(handlers.New(handlers.Deps{Log: slog.New(slog.DiscardHandler)}), handlers.ServerConfig{Log: slog.New(slog.DiscardHandler)})
	seen := map[hostileRoute]bool{}
	var out []hostileRoute
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || strings.Contains(r.Path, "*") || strings.HasPrefix(r.Path, "/static") {
			continue
		}
		k := hostileRoute{r.Method, r.Path}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	// Routes that may end the sweep's session run last, and /login (whose
	// hostile attempts use up the address's sign-in allowance) after them.
	sort.SliceStable(out, func(i, j int) bool { return sessionRank(out[i].Path) < sessionRank(out[j].Path) })
	return out
}

func sessionRank(p string) int {
	switch {
	case p == "/login":
		return 3
	case p == "/logout":
		return 2
	case strings.HasPrefix(p, "/profile"):
		return 1
	}
	return 0
}

func sessionEnding(p string) bool { return sessionRank(p) > 0 }

// hostileTenant is an account with one of each object, whose ids fill the
// route parameters.
type hostileTenant struct {
	acc              *models.Account
	email, password  string
	key              string
	webhook, number  string
	apiKeyID         string
	delivery, sessID string
}

func (h *harness) hostileTenant(ctx context.Context, sdb *scenarioDB, acc *models.Account, tag string) (*hostileTenant, error) {
	t := &hostileTenant{acc: acc, email: "owner-" + tag + "@reliability.example", password: "correct horse " + tag}
	if _, err := sdb.store.CreateUser(ctx, acc.ID, t.email, t.password, models.RoleOwner); err != nil {
		return nil, err
	}
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "hostile "+tag, "http://127.0.0.1:9/never", catalog.LifecycleTypes()
	w, err := sdb.store.CreateWebhook(ctx, acc.ID, models.Actor{Label: "reliability"}, in)
	if err != nil {
		return nil, err
	}
	t.webhook = w.ID
	n, err := sdb.store.AddPhoneNumber(ctx, acc.ID, models.Actor{Label: "reliability"}, "+14155550199", "hostile "+tag)
	if err != nil {
		return nil, err
	}
	t.number = n.ID
	k, plain, err := sdb.store.CreateAPIKey(ctx, acc.ID, models.Actor{Label: "reliability"}, models.NewAPIKey{Name: "hostile " + tag, Scope: models.ScopeFull})
	if err != nil {
		return nil, err
	}
	t.key, t.apiKeyID = plain, k.ID
	return t, nil
}

// paramValue is the value of route parameter name for tenant t: the id of
// the object the route is about.
func (t *hostileTenant) paramValue(path, name string) string {
	switch {
	case strings.Contains(name, "account"):
		return t.acc.ID
	case strings.HasPrefix(path, "/webhooks"), strings.Contains(path, "/webhooks/"):
		return t.webhook
	case strings.Contains(path, "/numbers"):
		return t.number
	case strings.Contains(path, "/api-keys"), strings.Contains(path, "/keys"):
		return t.apiKeyID
	case strings.Contains(path, "/deliveries"), strings.Contains(path, "/attempts"):
		return t.delivery
	case strings.Contains(path, "/sessions"):
		return t.sessID
	}
	return t.webhook
}

// junkIDs are route parameters no id looks like.
var junkIDs = []string{"%00", "%ff%fe", "..%2f..%2fetc%2fpasswd", "-1", "0", "99999999999999999999999", "wh_'%20OR%201=1--", strings.Repeat("a", 2000), "%E2%80%AE%F0%9F%92%A9"}

var paramRE = regexp.MustCompile(`:[A-Za-z_]+`)

// fill replaces every :param of path.
func fill(path string, value func(name string) string) string {
	return paramRE.ReplaceAllStringFunc(path, func(m string) string { return value(m[1:]) })
}

// hostileBody is one hostile request body.
type hostileBody struct {
	name        string
	contentType string
	body        func(fields []string, csrf string) []byte
}

func formOf(fields []string, csrf string, val string) url.Values {
	v := url.Values{}
	for _, f := range fields {
		v.Add(f, val)
	}
	if csrf != "" {
		v.Set("_csrf", csrf)
	}
	return v
}

// encodeRaw is url.Values.Encode without escaping val's bytes (for invalid
// UTF-8 and NUL bytes sent as they are).
func encodeRaw(fields []string, csrf, val string) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		fmt.Fprintf(&b, "%s=%s&", url.QueryEscape(f), val)
	}
	fmt.Fprintf(&b, "_csrf=%s", url.QueryEscape(csrf))
	return b.Bytes()
}

const formType = "application/x-www-form-urlencoded"

var formBodies = []hostileBody{
	{"NUL bytes", formType, func(f []string, c string) []byte { return []byte(formOf(f, c, "a\x00b\x00").Encode()) }},
	{"invalid UTF-8", formType, func(f []string, c string) []byte { return encodeRaw(f, c, "%ff%fe%c3%28") }},
	{"raw control bytes", formType, func(f []string, c string) []byte { return encodeRaw(f, c, "\x01\x02\x1b[31m") }},
	{"huge values", formType, func(f []string, c string) []byte { return []byte(formOf(f, c, strings.Repeat("x", 64<<10)).Encode()) }},
	{"huge body", formType, func(f []string, c string) []byte {
		return []byte(formOf(f, c, "x").Encode() + "&pad=" + strings.Repeat("y", 3<<20))
	}},
	{">10,000 fields", formType, func(f []string, c string) []byte {
		var b strings.Builder
		b.WriteString(formOf(f, c, "1").Encode())
		for i := range 10_050 {
			fmt.Fprintf(&b, "&f%d=%d", i, i)
		}
		return []byte(b.String())
	}},
	{"repeated fields", formType, func(f []string, c string) []byte {
		v := formOf(f, c, "1")
		for _, name := range f {
			for i := range 200 {
				v.Add(name, fmt.Sprint(i))
			}
		}
		return []byte(v.Encode())
	}},
	{"malformed form encoding", formType, func(f []string, c string) []byte {
		return []byte("_csrf=" + url.QueryEscape(c) + "&%zz=%&name=%&&=&;url=%e0%a4")
	}},
	{"forged CSRF", formType, func(f []string, c string) []byte { return []byte(formOf(f, "forged"+c, "x").Encode()) }},
	{"no CSRF", formType, func(f []string, c string) []byte { return []byte(formOf(f, "", "x").Encode()) }},
	{"JSON to a form", "application/json", func(f []string, c string) []byte { return []byte(`{"name":`) }},
	{"broken multipart", "multipart/form-data; boundary=zz", func(f []string, c string) []byte {
		return []byte("--zz\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n" + c + "\r\n--zz\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n\x00\xff")
	}},
}

var apiBodies = []hostileBody{
	{"malformed JSON", "application/json", func([]string, string) []byte { return []byte(`{"name": "x", "url": `) }},
	{"NUL in JSON", "application/json", func([]string, string) []byte {
		return []byte(`{"name":"a\u0000b","url":"http://x\u0000y/","event_types":["call.hangup\u0000"],"number":"+1\u0000","id":"evt_\u0000","type":"call.hangup\u0000"}`)
	}},
	{"invalid UTF-8 JSON", "application/json", func([]string, string) []byte {
		return []byte("{\"name\":\"\xff\xfe\",\"url\":\"http://\xc3\x28/\",\"type\":\"\xff\"}")
	}},
	{"wrong JSON types", "application/json", func([]string, string) []byte {
		return []byte(`{"name":123,"url":[],"event_types":"call.hangup","enabled":"yes","timeout_seconds":1e309,"headers":{"a":1},"max_attempts":-9223372036854775809,"id":{},"occurred_at":true}`)
	}},
	{"deep nesting", "application/json", func([]string, string) []byte {
		return []byte(strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000))
	}},
	{"huge body", "application/json", func([]string, string) []byte {
		return []byte(`{"name":"` + strings.Repeat("x", 3<<20) + `"}`)
	}},
	{"JSON array", "application/json", func([]string, string) []byte { return []byte(`[1,2,3]`) }},
	{"empty body", "application/json", func([]string, string) []byte { return nil }},
	{"form to JSON", formType, func([]string, string) []byte { return []byte("name=x&url=http://x/") }},
	{">10,000 fields", formType, func([]string, string) []byte {
		var b strings.Builder
		for i := range 10_050 {
			fmt.Fprintf(&b, "f%d=%d&", i, i)
		}
		return []byte(b.String())
	}},
}

// queryJunk is appended to GET requests.
const queryJunk = "?q=%00&cursor=%ff%fe&limit=-1&since=not-a-date&until=9999999999999&status=%3Cscript%3E&webhook=wh_%00&event_type=x%00&call_id=" +
	"%E2%80%AE&before=..%2F&after=%c3%28&page=99999999999999999999"

// consoleClient is a signed-in browser: cookie jar, CSRF token.
type consoleClient struct {
	h    *harness
	base string
	hc   *http.Client
}

var csrfRE = regexp.MustCompile(`name="_csrf"\s+value="([^"]+)"`)

// newBrowser is a fresh cookie jar whose connections come from the next
// loopback address (127.0.0.2, .3, …): sign-ins are throttled per client
// address, and the sweep's own hostile /login attempts must not lock the
// later sign-ins out.
func (h *harness) newBrowser(base string) *consoleClient {
	h.mu.Lock()
	h.sources++
	n := h.sources
	h.mu.Unlock()
	src := &net.TCPAddr{IP: net.IPv4(127, byte(n>>16), byte(n>>8), byte(1+n%254))}
	d := &net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}
	jar, _ := cookiejar.New(nil)
	return &consoleClient{h: h, base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (h *harness) signIn(ctx context.Context, base string, t *hostileTenant) (*consoleClient, error) {
	cc := h.newBrowser(base)
	st, body, err := cc.do(ctx, http.MethodGet, "/login", "", nil, "")
	if err != nil || st != 200 {
		return nil, fmt.Errorf("GET /login: %d %v", st, err)
	}
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		return nil, fmt.Errorf("GET /login: no CSRF token in the form")
	}
	form := url.Values{"email": {t.email}, "password": {t.password}, "_csrf": {m[1]}}
	st, _, err = cc.do(ctx, http.MethodPost, "/login", formType, []byte(form.Encode()), "")
	if err != nil || st != http.StatusSeeOther && st != http.StatusFound {
		return nil, fmt.Errorf("POST /login: %d %v", st, err)
	}
	return cc, nil
}

// csrf reads a fresh token from a console page.
func (cc *consoleClient) csrf(ctx context.Context) string {
	_, body, _ := cc.do(ctx, http.MethodGet, "/webhooks/new", "", nil, "")
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	_, body, _ = cc.do(ctx, http.MethodGet, "/profile", "", nil, "")
	if m := csrfRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

func (cc *consoleClient) do(ctx context.Context, method, path, ctype string, body []byte, bearer string) (int, string, error) {
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, method, cc.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := cc.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	return res.StatusCode, string(b), nil
}

var fieldRE = regexp.MustCompile(`name="([A-Za-z0-9_\[\]\.\-]+)"`)

// formFields collects every input name the console's pages show, so the
// hostile bodies fill the fields the forms really have.
func (cc *consoleClient) formFields(ctx context.Context, routes []hostileRoute, own *hostileTenant) []string {
	set := map[string]bool{}
	for _, r := range routes {
		if r.Method != http.MethodGet || strings.HasPrefix(r.Path, "/api") || sessionEnding(r.Path) && r.Path != "/profile" {
			continue
		}
		p := fill(r.Path, func(n string) string { return own.paramValue(r.Path, n) })
		_, body, err := cc.do(ctx, http.MethodGet, p, "", nil, "")
		if err != nil {
			continue
		}
		for _, m := range fieldRE.FindAllStringSubmatch(body, -1) {
			if m[1] != "_csrf" {
				set[m[1]] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// hostile sends the fixed hostile set to every route of a running child,
// signed in (console) or with a full-scope key (API), with the route's ids
// taken from the caller's own account, from another account, and junk,
// and counts the answers that are 5xx.
func (h *harness) hostile(ctx context.Context) (row, []string, error) {
	r := row{Scenario: "hostile-input sweep", Deliveries: -1, Lost: -1, Dups: -1}
	sdb, err := h.newScenarioDB(ctx, "rel_hostile", nil, 0)
	if err != nil {
		return r, nil, err
	}
	defer sdb.close()
	own, err := h.hostileTenant(ctx, sdb, sdb.acc, "a")
	if err != nil {
		return r, nil, err
	}
	accB, err := sdb.store.CreateAccount(ctx, "Reliability other tenant", "UTC")
	if err != nil {
		return r, nil, err
	}
	other, err := h.hostileTenant(ctx, sdb, accB, "b")
	if err != nil {
		return r, nil, err
	}
	c, err := h.startChild(ctx, "hostile", sdb.url, true)
	if err != nil {
		return r, nil, err
	}
	defer c.stop()
	// A delivery and a session in each account, for their routes' ids.
	for _, t := range []*hostileTenant{own, other} {
		snd := h.newSender(t.key, func() []string { return []string{c.base} }, 30*time.Second)
		snd.send(ctx, h.events(1)[0], 0)
		var ids []int64
		_ = sdb.db.WithContext(ctx).Raw(`SELECT id FROM deliveries WHERE account_id = ? ORDER BY id LIMIT 1`, t.acc.ID).Scan(&ids).Error
		t.delivery = "dlv_0"
		if len(ids) > 0 {
			// Routes take public ids (dlv_…); the store shares the child's key.
			if pub, err := sdb.store.PublicIDs(ctx); err == nil {
				t.delivery = pub.Delivery(ids[0]).String()
			}
		}
		var sess []string
		if _, err := h.signIn(ctx, c.base, t); err != nil {
			return r, nil, err
		}
		_ = sdb.db.WithContext(ctx).Raw(`SELECT id FROM sessions WHERE account_id = ? LIMIT 1`, t.acc.ID).Scan(&sess).Error
		t.sessID = "s_0"
		if len(sess) > 0 {
			t.sessID = sess[0]
		}
	}

	routes := appRoutes()
	cc, err := h.signIn(ctx, c.base, own)
	if err != nil {
		return r, nil, err
	}
	fields := cc.formFields(ctx, routes, own)
	h.progress("hostile: %d routes, %d form field names; sending the hostile set", len(routes), len(fields))
	var offenders []string
	var sent, fivexx int64
	note := func(st int, method, path, what string) {
		sent++
		if st >= 500 {
			fivexx++
			if len(offenders) < maxOffenders {
				offenders = append(offenders, fmt.Sprintf("%d  %s %s  [%s]", st, method, truncate(path, 120), what))
			}
		}
	}
	for _, rt := range routes {
		if ctx.Err() != nil {
			return r, offenders, ctx.Err()
		}
		api := strings.HasPrefix(rt.Path, "/api/")
		var paths []string
		if strings.Contains(rt.Path, ":") {
			paths = append(paths, fill(rt.Path, func(n string) string { return own.paramValue(rt.Path, n) }),
				fill(rt.Path, func(n string) string { return other.paramValue(rt.Path, n) }))
			for _, j := range junkIDs {
				paths = append(paths, fill(rt.Path, func(string) string { return j }))
			}
		} else {
			paths = []string{rt.Path}
		}
		bearer := ""
		if api {
			bearer = own.key
		}
		csrf := ""
		if sessionRank(rt.Path) >= 2 {
			// /logout and /login need no session: a fresh browser with the
			// login page's token (no sign-in, which hostile /login and
			// /profile/password attempts have throttled by now).
			cc = h.newBrowser(c.base)
			if _, body, err := cc.do(ctx, http.MethodGet, "/login", "", nil, ""); err == nil {
				if m := csrfRE.FindStringSubmatch(body); m != nil {
					csrf = m[1]
				}
			}
		} else if !api {
			// An earlier route may have signed the session out: sign in again
			// only then (sign-ins from one address are throttled).
			if csrf = cc.csrf(ctx); csrf == "" {
				if cc, err = h.signIn(ctx, c.base, own); err != nil {
					return r, offenders, err
				}
				csrf = cc.csrf(ctx)
			}
		}
		for _, p := range paths {
			switch rt.Method {
			case http.MethodGet, http.MethodHead, http.MethodDelete:
				st, _, err := cc.do(ctx, rt.Method, p, "", nil, bearer)
				if err == nil {
					note(st, rt.Method, p, "ids")
				}
				st, _, err = cc.do(ctx, rt.Method, p+queryJunk, "", nil, bearer)
				if err == nil {
					note(st, rt.Method, p, "query junk")
				}
			default:
				bodies := formBodies
				if api {
					bodies = append(slices.Clone(apiBodies), formBodies[0], formBodies[1])
				}
				for _, b := range bodies {
					st, _, err := cc.do(ctx, rt.Method, p, b.contentType, b.body(fields, csrf), bearer)
					if err != nil {
						continue // the server may close a connection on a body it refuses
					}
					note(st, rt.Method, p, b.name)
				}
			}
		}
	}
	// API routes with another account's key and ids of this one: must be 404s, never 5xx.
	for _, rt := range routes {
		if !strings.HasPrefix(rt.Path, "/api/") || !strings.Contains(rt.Path, ":") {
			continue
		}
		p := fill(rt.Path, func(n string) string { return own.paramValue(rt.Path, n) })
		st, _, err := cc.do(ctx, rt.Method, p, "application/json", []byte(`{}`), other.key)
		if err == nil {
			note(st, rt.Method, p, "cross-account key")
		}
	}
	r.Events = sent
	r.Figure = fmt.Sprintf("%d answers 5xx of %d hostile requests to %d routes (target 0)", fivexx, sent, len(routes))
	r.Failed = fivexx > 0
	if !c.alive() {
		r.Failed = true
		r.Figure += "; the child EXITED"
	}
	return r, offenders, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
