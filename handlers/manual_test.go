package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestFailedRedeliveryKeepsSchedule: a manual redelivery that fails leaves
// the delivery's next automatic try where it was and does not spend one of
// the webhook's attempts.
func TestFailedRedeliveryKeepsSchedule(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	w := liveHook(t, app, tn, "Down receiver", http.StatusInternalServerError)
	if err := app.DB.Exec(`UPDATE webhooks SET max_attempts = 3 WHERE id = ?`, w.ID).Error; err != nil {
		t.Fatal(err)
	}
	ingest(t, app, tn, "call.hangup", "CA-MANUAL-1") // automatic attempt 1 fails
	load := func(t *testing.T) models.Delivery {
		t.Helper()
		var d models.Delivery
		if err := app.DB.Where("webhook_id = ? AND NOT test", w.ID).Take(&d).Error; err != nil {
			t.Fatal(err)
		}
		return d
	}
	before := load(t)
	if before.Status != models.StatusPending || before.NextAttemptAt == nil || before.AttemptCount != 1 {
		t.Fatalf("after the first attempt: %s, %d attempts, next %v", before.Status, before.AttemptCount, before.NextAttemptAt)
	}
	c := app.SignIn(t, tn)
	id := pubID(t, app, before.ID)
	c.Get(t, "/deliveries/"+id)
	res := c.PostRaw(t, "/deliveries/"+id+"/redeliver", url.Values{"_csrf": {c.CSRF()}}, http.Header{"Hx-Request": {"true"}})
	if res.Status != http.StatusOK || !strings.Contains(res.Body, "Redelivery attempt #2 failed: the receiver answered 500.") {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	after := load(t)
	if after.Status != models.StatusPending || after.NextAttemptAt == nil || !after.NextAttemptAt.Equal(*before.NextAttemptAt) {
		t.Fatalf("after the failed redelivery: %s, next %v; want pending, next still %v", after.Status, after.NextAttemptAt, before.NextAttemptAt)
	}
	if after.AttemptCount != 2 {
		t.Fatalf("attempt_count %d, want 2 (the manual attempt is numbered)", after.AttemptCount)
	}

	// The budget of 3 automatic attempts is whole: attempts #3 and #4
	// (automatic 2 and 3) are made, and only then does the delivery end.
	due := func(t *testing.T) {
		t.Helper()
		if err := app.DB.Exec(`UPDATE deliveries SET next_attempt_at = now() - interval '1 second' WHERE id = ?`, before.ID).Error; err != nil {
			t.Fatal(err)
		}
		// Moved by hand, so the webhook's place in the due set moves too.
		if err := app.DB.Exec(`UPDATE webhooks SET next_due_at = now() - interval '1 second' WHERE id = ?`, w.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := app.Dispatcher.ProcessDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	due(t)
	if d := load(t); d.Status != models.StatusPending || d.AttemptCount != 3 {
		t.Fatalf("after automatic attempt 2: %s after %d attempts; want pending (one automatic attempt left)", d.Status, d.AttemptCount)
	}
	due(t)
	if d := load(t); d.Status != models.StatusFailed || d.AttemptCount != 4 {
		t.Fatalf("after automatic attempt 3: %s after %d attempts; want failed, the budget spent", d.Status, d.AttemptCount)
	}
}
