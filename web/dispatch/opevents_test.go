package dispatch_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/web/dispatch"
)

// opDeliveries counts, per event type, the deliveries of operational
// events the webhook got, and checks none of them is about itself.
func (f *fixture) opDeliveries(t *testing.T, w *models.Webhook) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, d := range f.deliveries(t, w.ID) {
		if !catalog.IsOperational(d.EventType) {
			continue
		}
		out[d.EventType]++
		var ev models.Event
		if err := f.db.Where("account_id = ? AND id = ?", f.account.ID, d.EventID).Take(&ev).Error; err != nil {
			t.Fatal(err)
		}
		if about := ev.Payload.V["about_webhook_id"]; about == w.ID {
			t.Fatalf("webhook %s got %s about itself", w.ID, d.EventType)
		}
	}
	return out
}

// countEvents counts the account's stored events of typ about webhook id.
func (f *fixture) countEvents(t *testing.T, typ, about string) int {
	t.Helper()
	var n int64
	if err := f.db.Model(&models.Event{}).Where("account_id = ? AND type = ? AND payload->>'about_webhook_id' = ?", f.account.ID, typ, about).
		Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// Operational events are emitted where the state changes, go through the
// normal path to the account's other subscribed webhooks, never to the
// webhook they are about, and a failing delivery of one does not produce
// further events.
func TestOperationalEvents(t *testing.T) {
	f := newFixture(t)
	ops := catalog.OperationalTypes()
	broken := newFlaky(t) // answers 503
	watch := newFlaky(t)
	watch.down.Store(false)
	d := f.dispatcher(t, func(c *dispatch.Config) { c.AutoDisable = models.AutoDisable{Failures: 3, Window: 0, Warn: 2} })
	// a sends calls to a broken endpoint and subscribes to the operational
	// events too; b watches them.
	a := f.webhook(t, broken.URL, func(in *models.WebhookInput) {
		in.EventTypes, in.MaxAttempts, in.OrderedByCall = append([]string{"call.hangup"}, ops...), 1, false
	})
	b := f.webhook(t, watch.URL, func(in *models.WebhookInput) { in.EventTypes = ops })
	for range 3 {
		f.ingest(t, d, event("call.hangup", nil))
	}
	for range 3 {
		processDue(t, d) // a's three hangups fail: exhausted ×3, failing once, disabled
	}
	if got := f.hook(t, a.ID); got.Enabled {
		t.Fatal("a was not disabled")
	}
	want := map[string]int{catalog.DeliveryExhausted: 3, catalog.WebhookFailing: 1, catalog.WebhookDisabled: 1}
	for typ, n := range want {
		if got := f.countEvents(t, typ, a.ID); got != n {
			t.Errorf("%d %s events about a, want %d", got, typ, n)
		}
	}
	for range 3 {
		processDue(t, d)
	}
	if got := f.opDeliveries(t, b); got[catalog.DeliveryExhausted] != 3 || got[catalog.WebhookFailing] != 1 || got[catalog.WebhookDisabled] != 1 {
		t.Fatalf("b got %v", got)
	}
	var sawDisabled bool
	for _, r := range watch.requests() {
		var e map[string]any
		_ = json.Unmarshal(r.Body, &e)
		if e["event"] == catalog.WebhookDisabled {
			sawDisabled = e["about_webhook_id"] == a.ID && e["automatic"] == "yes" && e["webhook_id"] == b.ID
		}
	}
	if !sawDisabled {
		t.Fatal("b's receiver did not get webhook.disabled about a")
	}
	// Enabling a by hand: webhook.enabled about a goes to b, not to a,
	// although a is enabled and subscribed.
	who := models.Actor{Label: "ops@example.com"}
	if _, err := f.store.SetWebhookEnabled(context.Background(), f.account.ID, a.ID, who, true, ""); err != nil {
		t.Fatal(err)
	}
	// Disabling b by hand (through the form's path): webhook.disabled about
	// b goes to a, which fails it for good; that failure of an operational
	// event's delivery emits nothing more.
	in := models.InputFrom(f.hook(t, b.ID))
	in.Enabled = false
	if _, err := f.store.UpdateWebhook(context.Background(), f.account.ID, b.ID, who, in); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		processDue(t, d)
	}
	if got := f.opDeliveries(t, a); got[catalog.WebhookDisabled] != 1 || len(got) != 1 {
		t.Fatalf("a got %v, want only webhook.disabled about b", got)
	}
	if got := f.opDeliveries(t, b); got[catalog.WebhookEnabled] != 1 {
		t.Fatalf("b got %v, want webhook.enabled about a", got)
	}
	if got := f.countEvents(t, catalog.DeliveryExhausted, a.ID); got != 3 {
		t.Fatalf("%d delivery.exhausted about a: the failed delivery of an operational event emitted one", got)
	}
	if got := f.countEvents(t, catalog.WebhookDisabled, b.ID); got != 1 {
		t.Fatalf("%d webhook.disabled about b, want 1", got)
	}
}
