package dispatch_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

func setPrivacy(t *testing.T, f *fixture, p models.PrivacySettings) {
	t.Helper()
	if _, err := f.store.UpdatePrivacySettings(context.Background(), f.account.ID, models.Actor{Label: "t"}, p); err != nil {
		t.Fatal(err)
	}
}

// TestFailedBodiesOnly: an account that keeps bodies only for failures
// gets its successful attempts recorded without request and response
// bodies (marked bodies_dropped) and its failed ones with them; another
// account keeps every body.
func TestFailedBodiesOnly(t *testing.T) {
	f := newFixture(t)
	setPrivacy(t, f, models.PrivacySettings{FailedBodiesOnly: true})
	d := f.dispatcher(t, nil)
	answer := func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) }
	ok := f.webhook(t, newReceiver(t, answer).URL, nil)
	broken := f.webhook(t, newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":"down"}`))
	}).URL, func(in *models.WebhookInput) { in.MaxAttempts = 1 })
	other := f.another(t)
	otherOK := other.webhook(t, newReceiver(t, answer).URL, nil)
	f.ingest(t, d, event("call.hangup", nil))
	other.ingest(t, d, event("call.hangup", nil))
	if n := processDue(t, d); n != 3 {
		t.Fatalf("sent %d, want 3", n)
	}
	check := func(name string, fx *fixture, hookID string, dropped bool) {
		t.Helper()
		ds := fx.deliveries(t, hookID)
		if len(ds) != 1 {
			t.Fatalf("%s: %d deliveries", name, len(ds))
		}
		as := fx.attempts(t, ds[0].ID)
		if len(as) != 1 {
			t.Fatalf("%s: %d attempts", name, len(as))
		}
		a := as[0]
		if a.BodiesDropped != dropped || (a.RequestBody == "") != dropped || (a.ResponseBody == "") != dropped {
			t.Errorf("%s: bodies_dropped %v, request %d bytes, response %q; want dropped=%v", name, a.BodiesDropped, len(a.RequestBody), a.ResponseBody, dropped)
		}
		if len(a.RequestHeaders.V) == 0 || a.ResponseStatus == nil {
			t.Errorf("%s: the attempt lost its headers or status", name)
		}
	}
	check("success", f, ok.ID, true)
	check("failure", f, broken.ID, false)
	check("other account's success", other, otherOK.ID, false)
	// The stored request itself is kept: Redeliver still has what to send.
	if ds := f.deliveries(t, ok.ID); len(ds[0].RequestBody) == 0 {
		t.Error("the delivery's stored request lost its body")
	}
}

// TestTrimBodiesAfterRetention: attempts older than the account's body
// retention lose their bodies, in batches, keeping the rows; newer ones
// and accounts without a retention keep theirs. The clock is the
// dispatcher's (injected).
func TestTrimBodiesAfterRetention(t *testing.T) {
	f := newFixture(t)
	setPrivacy(t, f, models.PrivacySettings{BodyRetentionDays: 2})
	d := f.dispatcher(t, nil)
	w := f.webhook(t, newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("thanks")) }).URL, nil)
	other := f.another(t)
	ow := other.webhook(t, newReceiver(t, nil).URL, nil)
	for range 3 {
		f.ingest(t, d, event("call.hangup", nil))
	}
	other.ingest(t, d, event("call.hangup", nil))
	processDue(t, d)
	f.clock.Advance(36 * time.Hour)
	f.ingest(t, d, event("call.hangup", nil)) // 36 h younger
	processDue(t, d)

	kept := func(fx *fixture, hookID string) (withBodies, rows int) {
		t.Helper()
		for _, dl := range fx.deliveries(t, hookID) {
			for _, a := range fx.attempts(t, dl.ID) {
				rows++
				if !a.BodiesDropped && a.RequestBody != "" {
					withBodies++
				}
			}
		}
		return
	}
	if n, err := d.TrimBodies(context.Background()); err != nil || n != 0 {
		t.Fatalf("trim before the retention: %d, %v", n, err)
	}
	f.clock.Advance(13 * time.Hour) // the first three are 49 h old, the fourth 13 h
	if n, err := f.store.TrimBodies(context.Background(), f.clock.Now(), 1); err != nil || n != 1 {
		t.Fatalf("one small batch: %d, %v", n, err)
	}
	if n, err := d.TrimBodies(context.Background()); err != nil || n != 2 {
		t.Fatalf("the rest: %d, %v", n, err)
	}
	if with, rows := kept(f, w.ID); with != 1 || rows != 4 {
		t.Errorf("account with retention: %d of %d attempts keep bodies, want 1 of 4", with, rows)
	}
	if with, rows := kept(other, ow.ID); with != 1 || rows != 1 {
		t.Errorf("account without retention: %d of %d attempts keep bodies", with, rows)
	}
	if n, err := d.TrimBodies(context.Background()); err != nil || n != 0 {
		t.Errorf("trim again: %d, %v", n, err)
	}
}
