package handlers_test

import (
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// copyTexts are the texts a page's copy buttons copy, in page order: what
// a reader pastes into a shell.
func copyTexts(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`data-copy="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		src := regexp.MustCompile(`id="` + regexp.QuoteMeta(m[1]) + `">([^<]*)<`).FindStringSubmatch(body)
		if src != nil {
			out = append(out, html.UnescapeString(src[1]))
		}
	}
	return out
}

// shellWords splits a command line the way a POSIX shell would for the
// forms the reference writes: single and double quotes, backslash-newline
// continuations, $NAME and $(command) inside double quotes (from env).
func shellWords(t *testing.T, s string, env map[string]string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++
		case ch == ' ' || ch == '\n' || ch == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				t.Fatalf("unclosed quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i, inWord = i+1+end, true
		case ch == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				t.Fatalf("unclosed quote in %q", s)
			}
			quoted := s[i+1 : i+1+end]
			for name, v := range env {
				quoted = strings.ReplaceAll(quoted, name, v)
			}
			if strings.Contains(quoted, "$") {
				t.Fatalf("unknown expansion in %q", quoted)
			}
			cur.WriteString(quoted)
			i, inWord = i+1+end, true
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// runCurl sends the request a copied curl command describes.
func runCurl(t *testing.T, c *handlertest.Client, cmd, key string) handlertest.Response {
	t.Helper()
	w := shellWords(t, cmd, map[string]string{"$RINGHOOK_API_KEY": key, "$(uuidgen)": models.NewID("idem_")})
	if len(w) == 0 || w[0] != "curl" {
		t.Fatalf("not a curl command: %q", cmd)
	}
	method, target, body := http.MethodGet, "", ""
	header := http.Header{}
	for i := 1; i < len(w); i++ {
		switch w[i] {
		case "-sS":
		case "-X":
			i++
			method = w[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(w[i], ":")
			header.Set(k, strings.TrimSpace(v))
		case "-d":
			i++
			body = w[i]
		default:
			if target != "" {
				t.Fatalf("two URLs in %q", cmd)
			}
			target = w[i]
		}
	}
	if !strings.HasPrefix(target, c.Base+"/api/") {
		t.Fatalf("the example's URL %q is not this server's API (%s)", target, c.Base)
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	return c.Do(t, req)
}

// TestAPIReferenceExamplesRun: the reference page documents every
// operation of the OpenAPI document, and its five-step walkthrough, copied
// from the page and pasted as it is (only the key exported), creates a
// webhook, sends an event, lists the webhook's deliveries and redelivers
// one; once the account has them, the examples carry its own ids.
func TestAPIReferenceExamplesRun(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "docs", true)
	c := app.SignIn(t, tn)

	page := c.Get(t, "/docs/api")
	if page.Status != http.StatusOK {
		t.Fatalf("%s", handlertest.Describe(page))
	}
	for path, item := range app.API.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			if !strings.Contains(page.Body, `id="`+op.OperationID+`"`) {
				t.Errorf("%s %s (%s) is not on the reference page", method, path, op.OperationID)
			}
		}
	}
	if !strings.Contains(page.Body, `href="/docs/migrating"`) || !strings.Contains(page.Body, "<code>"+c.Base+"</code>") {
		t.Errorf("the page lacks the migration link or the base URL %s", c.Base)
	}
	steps := copyTexts(page.Body)
	if len(steps) < 5 || !strings.HasPrefix(steps[0], "ringhook apikey create --account '"+tn.Account.Name+"'") {
		t.Fatalf("walkthrough: %q", steps)
	}
	if res := runCurl(t, c, steps[1], key); res.Status != http.StatusCreated {
		t.Fatalf("create a webhook: %s", handlertest.Describe(res))
	}
	if res := runCurl(t, c, steps[2], key); res.Status != http.StatusAccepted {
		t.Fatalf("send an event: %s", handlertest.Describe(res))
	}
	// A second copy of the send step carries a fresh event id.
	again := copyTexts(c.Get(t, "/docs/api").Body)
	if again[2] == steps[2] {
		t.Error("the send-an-event example repeats its event id")
	}

	hooks, err := app.Store.Webhooks(t.Context(), tn.Account.ID)
	if err != nil || len(hooks) != 1 {
		t.Fatalf("webhooks %v, %v", hooks, err)
	}
	rows, err := app.Store.Deliveries(t.Context(), tn.Account.ID, models.DeliveryFilter{})
	if err != nil || len(rows) != 1 {
		t.Fatalf("deliveries %v, %v", rows, err)
	}
	if !strings.Contains(again[3], "/api/v1/webhooks/"+hooks[0].ID+"/deliveries") {
		t.Errorf("list step %q lacks the account's webhook id %s", again[3], hooks[0].ID)
	}
	list := runCurl(t, c, again[3], key)
	if list.Status != http.StatusOK || !strings.Contains(list.Body, rows[0].EventID) {
		t.Fatalf("list deliveries: %s", handlertest.Describe(list))
	}
	if res := runCurl(t, c, again[4], key); res.Status != http.StatusCreated {
		t.Fatalf("redeliver: %s", handlertest.Describe(res))
	}
}

// TestDocsPages: docs/ pages render in the console with links between
// them rewritten; an unknown page is a 404 inside the console's shell; a
// signed-out visitor is sent to sign in.
func TestDocsPages(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleViewer)
	c := app.SignIn(t, tn)

	res := c.Get(t, "/docs/migrating")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "<table>") || !strings.Contains(res.Body, "<h1") {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	res = c.Get(t, "/docs/architecture")
	if res.Status != http.StatusOK || !strings.Contains(res.Body, `href="/docs/events"`) || strings.Contains(res.Body, `.md"`) {
		t.Errorf("links between pages: %s", handlertest.Describe(res))
	}
	if res = c.Get(t, "/docs/nope"); res.Status != http.StatusNotFound {
		t.Errorf("unknown page: %s", handlertest.Describe(res))
	}
	if res = c.Get(t, "/api-keys"); !strings.Contains(res.Body, `href="/docs/api"`) {
		t.Errorf("the API keys page does not link the reference")
	}
	out := app.NewClient(t)
	out.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if res = out.Get(t, "/docs/api"); res.Status != http.StatusSeeOther && res.Status != http.StatusFound || !strings.Contains(res.Location, "/login") {
		t.Errorf("signed out: %s", handlertest.Describe(res))
	}
}
