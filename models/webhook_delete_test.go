package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

// TestDeleteKeepsHistory: a deleted webhook leaves lookups, lists, the API
// page, bulk retries and the claim, but its deliveries stay readable,
// labelled as a deleted webhook's; the ones still waiting are cancelled and
// cannot be redelivered; the purge removes it once the account's history
// retention has passed since the delete, not before.
func TestDeleteKeepsHistory(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	if err := modeltest.ParkQueue(s.DB()); err != nil { // the claim below is every account's
		t.Fatal(err)
	}
	acc := newAccount(t, s)
	w, keep := newWebhook(t, s, acc.ID, "gone"), newWebhook(t, s, acc.ID, "kept")
	ok := insertDelivery(t, s, w, "call.hangup", models.StatusSucceeded, "call_1", now.Add(-time.Hour), false)
	failed := insertDelivery(t, s, w, "call.hangup", models.StatusFailed, "call_1", now.Add(-time.Hour), false)
	s.DB().Model(&models.Delivery{}).Where("id = ?", failed.ID).Update("completed_at", now.Add(-time.Hour))
	var waiting []int64
	for range 2 {
		d := insertDelivery(t, s, w, "call.missed", models.StatusPending, "", now.Add(-time.Minute), false)
		waiting = append(waiting, d.ID)
	}
	kd := insertDelivery(t, s, keep, "call.missed", models.StatusPending, "", now.Add(-time.Minute), false)
	if err := s.DB().Exec(`UPDATE deliveries SET next_attempt_at = ?, attempt_count = 0 WHERE status = 'pending' AND account_id = ?`, now.Add(-time.Minute), acc.ID).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.DB().Exec(`UPDATE webhooks SET next_due_at = ? WHERE account_id = ?`, now.Add(-time.Minute), acc.ID).Error; err != nil {
		t.Fatal(err)
	}

	deleted, err := s.DeleteWebhook(ctx, acc.ID, w.ID, models.Actor{Label: "ops"})
	if err != nil || !deleted.Deleted() {
		t.Fatalf("delete: %+v %v", deleted, err)
	}

	if _, err := s.Webhook(ctx, acc.ID, w.ID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("Webhook: %v, want not found", err)
	}
	if hooks, _ := s.Webhooks(ctx, acc.ID); len(hooks) != 1 || hooks[0].ID != keep.ID {
		t.Errorf("the list still has the deleted webhook: %d", len(hooks))
	}
	if page, _ := s.WebhookPage(ctx, acc.ID, models.WebhookQuery{}); len(page) != 1 {
		t.Errorf("the API page still has the deleted webhook: %d", len(page))
	}
	for name, op := range map[string]func() error{
		"delete again": func() error { _, err := s.DeleteWebhook(ctx, acc.ID, w.ID, models.Actor{Label: "ops"}); return err },
		"enable": func() error {
			_, err := s.SetWebhookEnabled(ctx, acc.ID, w.ID, models.Actor{Label: "ops"}, true, "")
			return err
		},
		"rotate": func() error {
			_, err := s.RotateWebhookSecret(ctx, acc.ID, w.ID, models.Actor{Label: "ops"})
			return err
		},
		"update": func() error {
			_, err := s.UpdateWebhook(ctx, acc.ID, w.ID, models.Actor{Label: "ops"}, models.InputFrom(w))
			return err
		},
	} {
		if err := op(); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("%s a deleted webhook: %v, want not found", name, err)
		}
	}

	got, err := s.DeliveryWebhook(ctx, acc.ID, w.ID)
	if err != nil || !got.Deleted() || got.Name != "gone" {
		t.Fatalf("DeliveryWebhook: %+v %v", got, err)
	}
	rows, err := s.Deliveries(ctx, acc.ID, models.DeliveryFilter{WebhookID: w.ID})
	if err != nil || len(rows) != 4 {
		t.Fatalf("the log of the deleted webhook: %d rows, %v", len(rows), err)
	}
	status := map[int64]models.DeliveryStatus{}
	for _, r := range rows {
		if !r.WebhookDeleted || r.WebhookName != "gone" {
			t.Errorf("row %d not labelled as a deleted webhook's: %+v", r.ID, r)
		}
		status[r.ID] = r.Status
	}
	if status[ok.ID] != models.StatusSucceeded || status[failed.ID] != models.StatusFailed ||
		status[waiting[0]] != models.StatusCancelled || status[waiting[1]] != models.StatusCancelled {
		t.Errorf("states after the delete: %v", status)
	}
	if all, _ := s.Deliveries(ctx, acc.ID, models.DeliveryFilter{}); len(all) != 5 {
		t.Errorf("the account's log has %d rows, want 5", len(all))
	}
	if _, err := s.Attempts(ctx, acc.ID, ok.ID); err != nil {
		t.Errorf("attempts of a deleted webhook's delivery: %v", err)
	}

	claimed, err := s.Claim(ctx, now, 10, 10, nil, "h")
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 1 || claimed[0].ID != kd.ID {
		t.Fatalf("claimed %d deliveries, want only the kept webhook's", len(claimed))
	}
	if _, err := s.ClaimOne(ctx, acc.ID, failed.ID, now, "h"); !errors.Is(err, models.ErrWebhookDeleted) {
		t.Errorf("redeliver a deleted webhook's delivery: %v", err)
	}
	if n, err := s.CountRetryFailed(ctx, acc.ID, models.RetryFailed{WebhookID: w.ID, Since: now.Add(-24 * time.Hour)}); err != nil || n != 0 {
		t.Errorf("a bulk retry would take %d of a deleted webhook's deliveries: %v", n, err)
	}

	// An attempt each: the purge takes the deleted webhook's with its
	// deliveries (no foreign key cascades between the history tables).
	for _, d := range []models.Delivery{ok, kd} {
		if err := s.DB().Exec(`INSERT INTO attempts (account_id, delivery_id, webhook_id, number, trigger, started_at, duration_ms, request_method, request_url)
			VALUES (?, ?, ?, 1, 'auto', ?, 5, 'POST', 'https://example.com/')`, acc.ID, d.ID, d.WebhookID, now).Error; err != nil {
			t.Fatal(err)
		}
	}
	attempts := func(webhookID string) (n int64) {
		s.DB().Model(&models.Attempt{}).Where("account_id = ? AND webhook_id = ?", acc.ID, webhookID).Count(&n)
		return n
	}

	// The purge is every account's: look at this webhook, not the count.
	if _, err := s.PurgeDeletedWebhooks(ctx, now.Add(29*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeliveryWebhook(ctx, acc.ID, w.ID); err != nil {
		t.Fatalf("purged inside the retention: %v", err)
	}
	if n, err := s.PurgeDeletedWebhooks(ctx, now.Add(31*24*time.Hour)); err != nil || n < 1 {
		t.Fatalf("purged %d after the retention: %v", n, err)
	}
	if _, err := s.DeliveryWebhook(ctx, acc.ID, w.ID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("the purged webhook is still there: %v", err)
	}
	if all, _ := s.Deliveries(ctx, acc.ID, models.DeliveryFilter{}); len(all) != 1 || all[0].ID != kd.ID {
		t.Errorf("after the purge the log has %d rows, want the kept webhook's one", len(all))
	}
	if gone, kept := attempts(w.ID), attempts(keep.ID); gone != 0 || kept != 1 {
		t.Errorf("after the purge %d attempts of the purged webhook and %d of the kept one remain, want 0 and 1", gone, kept)
	}
}
