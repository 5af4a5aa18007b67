package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// seedFailed stores n deliveries of w that ended failed at completed (and
// their events) in two statements, for tests that need many.
func seedFailed(t testing.TB, s *models.Store, w *models.Webhook, n int, eventType string, completed time.Time, test bool) {
	t.Helper()
	db := s.DB().WithContext(context.Background())
	prefix := models.NewID("evt_")
	if err := db.Exec(`INSERT INTO events (account_id, id, type, occurred_at, payload, received_at)
		SELECT ?, ? || g, ?, ?, '{}', ? FROM generate_series(1, ?) g`, w.AccountID, prefix, eventType, completed, completed, n).Error; err != nil {
		t.Fatalf("seed events: %v", err)
	}
	if err := db.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, test, attempt_count, last_status_code,
			request_method, request_url, request_body, created_at, updated_at, completed_at)
		SELECT ?, ?, ? || g, ?, 'failed', ?, 3, 500, 'POST', ?, '{}', ?, ?, ? FROM generate_series(1, ?) g`,
		w.AccountID, w.ID, prefix, eventType, test, w.URL, completed, completed, completed, n).Error; err != nil {
		t.Fatalf("seed deliveries: %v", err)
	}
}

func countStatus(t testing.TB, s *models.Store, webhookID string, status models.DeliveryStatus, manual bool) int {
	t.Helper()
	var n int64
	if err := s.DB().Model(&models.Delivery{}).Where("webhook_id = ? AND status = ? AND manual_retry = ?", webhookID, status, manual).
		Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// runBatches works a claimed job to the end, returning done after each batch.
func runBatches(t *testing.T, s *models.Store, j *models.Job, holder string, batch int, now time.Time) []int {
	t.Helper()
	var progress []int
	for finished := false; !finished; {
		var err error
		if finished, err = s.RunJobBatch(context.Background(), j, holder, batch, now, time.Minute); err != nil {
			t.Fatalf("batch: %v", err)
		}
		progress = append(progress, j.Done)
	}
	return progress
}

// TestRetryFailedJobBatches: a bulk retry takes exactly the deliveries of
// its window (not tests, not other webhooks, not other event types when
// one is named), in batches that each commit their progress.
func TestRetryFailedJobBatches(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	acc := newAccount(t, s)
	w, other := newWebhook(t, s, acc.ID, "alpha"), newWebhook(t, s, acc.ID, "beta")
	seedFailed(t, s, w, 250, "call.hangup", now.Add(-2*time.Hour), false)
	seedFailed(t, s, w, 7, "call.missed", now.Add(-time.Hour), false)
	seedFailed(t, s, w, 5, "call.hangup", now.Add(-48*time.Hour), false) // before the window
	seedFailed(t, s, w, 3, "call.hangup", now.Add(-time.Hour), true)     // test sends
	seedFailed(t, s, other, 4, "call.hangup", now.Add(-time.Hour), false)
	who := models.Actor{Label: "ops@example.com"}
	since := now.Add(-24 * time.Hour)

	if n, err := s.CountRetryFailed(ctx, acc.ID, models.RetryFailed{WebhookID: w.ID, Since: since}); err != nil || n != 257 {
		t.Fatalf("count: %d, %v", n, err)
	}
	job, err := s.StartRetryFailed(ctx, acc.ID, who, models.RetryFailed{WebhookID: w.ID, Since: since, EventType: "call.hangup"})
	if err != nil {
		t.Fatal(err)
	}
	if job.State != models.JobQueued || job.Total != 250 || job.Done != 0 || job.CreatedBy != who.Label || job.Params.V.Until == nil || !job.Params.V.Until.Equal(now) {
		t.Fatalf("new job %+v", job)
	}
	claimed, err := s.ClaimJob(ctx, "runner-1", now, time.Minute)
	if err != nil || claimed == nil || claimed.ID != job.ID || claimed.State != models.JobRunning || claimed.StartedAt == nil {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	if again, err := s.ClaimJob(ctx, "runner-2", now, time.Minute); err != nil || again != nil {
		t.Fatalf("a leased job was claimed again: %+v, %v", again, err)
	}
	progress := runBatches(t, s, claimed, "runner-1", 100, now)
	if want := []int{100, 200, 250, 250}; len(progress) != len(want) || progress[0] != 100 || progress[1] != 200 || progress[2] != 250 || progress[3] != 250 {
		t.Fatalf("done after each batch: %v, want %v", progress, want)
	}
	got, err := s.Job(ctx, acc.ID, job.ID)
	if err != nil || got.State != models.JobSucceeded || got.Done != 250 || got.Total != 250 || got.FinishedAt == nil || got.LeaseHolder != nil {
		t.Fatalf("finished job %+v, %v", got, err)
	}
	if n := countStatus(t, s, w.ID, models.StatusPending, true); n != 250 {
		t.Fatalf("%d deliveries queued again as manual retries, want 250", n)
	}
	if n := countStatus(t, s, w.ID, models.StatusFailed, false); n != 7+5+3 {
		t.Fatalf("%d deliveries left failed, want 15", n)
	}
	if n := countStatus(t, s, other.ID, models.StatusFailed, false); n != 4 {
		t.Fatalf("the other webhook's deliveries changed: %d still failed", n)
	}
	var due *time.Time
	if err := s.DB().Raw("SELECT next_due_at FROM webhooks WHERE id = ?", w.ID).Scan(&due).Error; err != nil || due == nil || due.After(now) {
		t.Fatalf("webhook not in the due set: %v, %v", due, err)
	}

	t.Run("nothing to retry finishes at once", func(t *testing.T) {
		j, err := s.StartRetryFailed(ctx, acc.ID, who, models.RetryFailed{WebhookID: other.ID, Since: now.Add(-time.Minute)})
		if err != nil || j.State != models.JobSucceeded || j.Total != 0 || j.FinishedAt == nil {
			t.Fatalf("%+v, %v", j, err)
		}
	})
	t.Run("validation", func(t *testing.T) {
		until := since.Add(-time.Hour)
		for name, c := range map[string]struct {
			p     models.RetryFailed
			field string
		}{
			"since missing":     {models.RetryFailed{WebhookID: w.ID}, "since"},
			"until before":      {models.RetryFailed{WebhookID: w.ID, Since: since, Until: &until}, "until"},
			"unknown event":     {models.RetryFailed{WebhookID: w.ID, Since: since, EventType: "call.exploded"}, "event_type"},
			"until equal since": {models.RetryFailed{WebhookID: w.ID, Since: since, Until: &since}, "until"},
		} {
			_, err := s.StartRetryFailed(ctx, acc.ID, who, c.p)
			var fe models.FieldErrors
			if !errors.As(err, &fe) || fe[c.field] == "" {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("another account sees and changes nothing", func(t *testing.T) {
		b := newAccount(t, s)
		if _, err := s.StartRetryFailed(ctx, b.ID, who, models.RetryFailed{WebhookID: other.ID, Since: since}); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("start on another account's webhook: %v", err)
		}
		if _, err := s.Job(ctx, b.ID, job.ID); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("another account's job: %v", err)
		}
		if n, err := s.CountRetryFailed(ctx, b.ID, models.RetryFailed{WebhookID: other.ID, Since: since}); err != nil || n != 0 {
			t.Fatalf("count of another account's webhook: %d, %v", n, err)
		}
		if n := countStatus(t, s, other.ID, models.StatusFailed, false); n != 4 {
			t.Fatalf("another account's attempt changed deliveries: %d failed", n)
		}
	})
}

// TestRetryFailedJobTakenOver: a runner that dies mid-job leaves its
// progress; after the lease another runner goes on from the cursor, the
// dead one can no longer write, and every delivery is queued exactly once.
func TestRetryFailedJobTakenOver(t *testing.T) {
	now := time.Date(2026, 5, 2, 12, 0, 0, 0, time.UTC)
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "alpha")
	seedFailed(t, s, w, 30, "call.hangup", now.Add(-time.Hour), false)
	job, err := s.StartRetryFailed(ctx, acc.ID, models.Actor{Label: "t"}, models.RetryFailed{WebhookID: w.ID, Since: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	dead, err := s.ClaimJob(ctx, "dead", now, 30*time.Second)
	if err != nil || dead == nil || dead.ID != job.ID {
		t.Fatalf("claim: %+v, %v", dead, err)
	}
	if _, err := s.RunJobBatch(ctx, dead, "dead", 10, now, 30*time.Second); err != nil || dead.Done != 10 {
		t.Fatalf("first batch: done %d, %v", dead.Done, err)
	}
	// The process dies here. Within its lease nobody takes the job over.
	if j, err := s.ClaimJob(ctx, "heir", now.Add(29*time.Second), 30*time.Second); err != nil || j != nil {
		t.Fatalf("taken over within the lease: %+v, %v", j, err)
	}
	later := now.Add(31 * time.Second)
	heir, err := s.ClaimJob(ctx, "heir", later, 30*time.Second)
	if err != nil || heir == nil || heir.ID != job.ID || heir.Done != 10 || heir.Cursor != dead.Cursor {
		t.Fatalf("take over: %+v, %v", heir, err)
	}
	if _, err := s.RunJobBatch(ctx, dead, "dead", 10, later, 30*time.Second); !errors.Is(err, models.ErrJobLost) {
		t.Fatalf("the dead runner wrote after losing the lease: %v", err)
	}
	if progress := runBatches(t, s, heir, "heir", 10, later); progress[len(progress)-1] != 30 {
		t.Fatalf("progress %v", progress)
	}
	got, _ := s.Job(ctx, acc.ID, job.ID)
	if got.State != models.JobSucceeded || got.Done != 30 || got.Total != 30 {
		t.Fatalf("job %+v", got)
	}
	if n := countStatus(t, s, w.ID, models.StatusPending, true); n != 30 {
		t.Fatalf("%d queued again, want 30", n)
	}
}
