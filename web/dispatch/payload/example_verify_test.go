package payload_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	"github.com/ringhook/ringhook/web/dispatch/payload"
	"github.com/ringhook/ringhook/web/dispatch/verifyexample"
)

// Example_receiver shows a Go receiver verifying Ringhook deliveries with
// net/http and verifyexample.Verify (the check the README quotes): a signed
// POST, a signed GET and a tampered POST. publicURL is the scheme and host
// exactly as configured in the webhook; do not rebuild it from r.Host or
// r.TLS behind a proxy.
func Example_receiver() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	var publicURL string // set once the test server runs

	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := verifyexample.Verify(r, publicURL, []string{secret}, time.Now()); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		// De-duplicate on webhook-id (the event id, the same on every retry),
		// then parse the body or query and process it.
		fmt.Println("receiver: verified", r.Method, r.Header.Get("X-Webhook-Event"), r.Header.Get("webhook-id"))
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(receiver)
	defer srv.Close()
	publicURL = srv.URL

	// The sending side, as the dispatcher does it.
	send := func(method string, tamper bool) {
		target := payload.Target{
			AccountID:   "acc_7f2b66a6",
			WebhookID:   "wh_91eb05e5",
			URL:         srv.URL + "/hook?token=abc",
			Method:      method,
			ContentType: payload.ContentTypeJSON,
			TimeZone:    "Asia/Kolkata",
		}
		event := map[string]any{
			"event":       "call.hangup",
			"event_id":    "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",
			"occurred_at": "2026-04-09T07:24:53.000Z",
			"from_number": "+919240202904",
		}
		fields, err := payload.Fields(event, target)
		if err != nil {
			fmt.Println(err)
			return
		}
		rendered, err := payload.Render(fields, target)
		if err != nil {
			fmt.Println(err)
			return
		}
		now := time.Now()
		sig, err := payload.SignatureHeader([]string{secret}, "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6", now, payload.SignedContent(rendered))
		if err != nil {
			fmt.Println(err)
			return
		}
		body := rendered.Body
		if tamper {
			body = bytes.Replace(body, []byte("+919240202904"), []byte("+910000000000"), 1)
		}
		req, err := http.NewRequest(rendered.Method, rendered.URL, bytes.NewReader(body))
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, h := range rendered.Header {
			req.Header.Add(h.Name, h.Value)
		}
		req.Header.Set("webhook-id", "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6")
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		req.Header.Set("X-Webhook-Event", "call.hangup")
		resp, err := srv.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprintf("sender: %s %d %s", method, resp.StatusCode, msg)))
	}

	send(http.MethodPost, false)
	send(http.MethodGet, false)
	send(http.MethodPost, true)

	// Output:
	// receiver: verified POST call.hangup evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6
	// sender: POST 204
	// receiver: verified GET call.hangup evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6
	// sender: GET 204
	// sender: POST 401 invalid signature
}
