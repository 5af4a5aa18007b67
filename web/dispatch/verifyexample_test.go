package dispatch_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch/verifyexample"
)

// TestVerifyExampleOnRealDeliveries runs the README's receiver code against
// deliveries the dispatcher really sends, in every rendering mode.
func TestVerifyExampleOnRealDeliveries(t *testing.T) {
	f := newFixture(t)
	d := f.dispatcher(t, nil)
	var mu sync.Mutex
	var errs []error
	var publicURL string
	var secret string
	rc := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := verifyexample.Verify(r, publicURL, []string{secret}, f.clock.Now()); err != nil {
			errs = append(errs, err)
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	publicURL = rc.URL
	for _, mode := range []struct{ method, ctype string }{{"POST", models.ContentJSON}, {"POST", models.ContentForm}, {"GET", models.ContentJSON}} {
		f := f.another(t)
		w := f.webhook(t, rc.URL+"/in?src=ringhook", func(in *models.WebhookInput) { in.Method, in.ContentType = mode.method, mode.ctype })
		mu.Lock()
		secret = w.SigningSecret
		mu.Unlock()
		f.ingest(t, d, event("call.received", nil))
		processDue(t, d)
		if dl := f.deliveries(t, w.ID); dl[0].Status != models.StatusSucceeded {
			t.Fatalf("%s %s: delivery %s; verifier errors %v", mode.method, mode.ctype, dl[0].Status, errs)
		}
	}
	t.Run("a tampered or stale request is refused", func(t *testing.T) {
		reqs := rc.requests()
		r, _ := http.NewRequest(http.MethodGet, rc.URL+reqs[2].URL+"&extra=1", nil)
		r.Header = reqs[2].Header
		if _, err := verifyexample.Verify(r, publicURL, []string{secret}, f.clock.Now()); err == nil {
			t.Fatal("a changed URL verified")
		}
		r, _ = http.NewRequest(http.MethodGet, rc.URL+reqs[2].URL, nil)
		r.Header = reqs[2].Header
		if _, err := verifyexample.Verify(r, publicURL, []string{secret}, f.clock.Now().Add(time.Hour)); err == nil {
			t.Fatal("an hour-old signature verified")
		}
	})
}
