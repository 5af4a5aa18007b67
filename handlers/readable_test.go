package handlers_test

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestReadableRequests sends test events to real receivers and reads the
// panel and the attempt timeline: JSON pretty-printed, form bodies and GET
// queries decoded with the raw text in a <details>, the client's own
// headers shown, and failures in words.
func TestReadableRequests(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.SignIn(t, tn)
	testSend := func(t *testing.T, w *models.Webhook) string {
		t.Helper()
		c.Get(t, "/webhooks/"+w.ID)
		res := c.PostRaw(t, "/webhooks/"+w.ID+"/test", url.Values{"_csrf": {c.CSRF()}, "event_type": {"call.hangup"}}, http.Header{"Hx-Request": {"true"}})
		if res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		return res.Body
	}
	set := func(t *testing.T, w *models.Webhook, col, val string) {
		t.Helper()
		if err := app.DB.Exec(`UPDATE webhooks SET `+col+` = ? WHERE id = ?`, val, w.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	checks := func(t *testing.T, body string, wants []string, unwanted []string) {
		t.Helper()
		for _, want := range wants {
			if !strings.Contains(body, want) {
				t.Errorf("lacks %q", want)
			}
		}
		for _, no := range unwanted {
			if strings.Contains(body, no) {
				t.Errorf("shows %q", no)
			}
		}
		if t.Failed() {
			t.Logf("body: %.6000s", body)
		}
	}

	t.Run("JSON is pretty-printed and the client's headers are shown", func(t *testing.T) {
		body := testSend(t, liveHook(t, app, tn, "JSON receiver", http.StatusOK))
		checks(t, body, []string{
			`<pre class="http http-body http-json">{` + "\n" + `  &#34;`,
			`<tr class="http-added"><th scope="row" class="mono">Accept-Encoding</th><td class="mono">gzip <span class="muted small-text">added by the HTTP client</span>`,
			`<th scope="row" class="mono">Content-Length</th>`, `<th scope="row" class="mono">Host</th><td class="mono">127.0.0.1:`,
			`<details class="http-raw"><summary>Raw</summary>`, "\nAccept-Encoding: gzip\n",
		}, nil)
	})
	t.Run("a form body is decoded into names and values", func(t *testing.T) {
		w := liveHook(t, app, tn, "Form receiver", http.StatusOK)
		set(t, w, "content_type", models.ContentForm)
		checks(t, testSend(t, w), []string{`<caption>Form body, decoded</caption>`, `<tr><td class="mono">event</td><td class="mono">call.hangup</td></tr>`,
			`<details class="http-raw">`}, []string{"http-json"})
	})
	t.Run("a GET query is decoded and the long URL wraps", func(t *testing.T) {
		w := liveHook(t, app, tn, "GET receiver", http.StatusOK)
		set(t, w, "method", models.MethodGET)
		checks(t, testSend(t, w), []string{`<caption>Query string, decoded</caption>`, `<tr><td class="mono">event</td><td class="mono">call.hangup</td></tr>`,
			`<span class="http-url">http://127.0.0.1:`}, []string{"Form body, decoded"})
	})
	t.Run("a refused connection is said in words", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		w := logWebhook(t, app, tn, "Refusing receiver")
		set(t, w, "url", "http://"+addr+"/in")
		checks(t, testSend(t, w), []string{`badge-bad">no connection`, "Connection refused by " + addr + "."},
			[]string{"dial tcp", ">connect<"})
	})
	t.Run("the timeline says what the receiver answered", func(t *testing.T) {
		w := liveHook(t, app, tn, "Failing receiver", http.StatusInternalServerError)
		ingest(t, app, tn, "call.hangup", "CA-READ-1")
		var id int64
		if err := app.DB.Raw(`SELECT id FROM deliveries WHERE webhook_id = ? AND NOT test`, w.ID).Scan(&id).Error; err != nil || id == 0 {
			t.Fatalf("no delivery: %v", err)
		}
		body := c.Get(t, "/deliveries/"+pubID(t, app, id)).Body
		checks(t, body, []string{`<p class="attempt-error">The receiver answered 500 Internal Server Error.</p>`,
			`badge-bad">500 Internal Server Error`, "added by the HTTP client", `http-json`}, []string{"http_status"})
	})
}
