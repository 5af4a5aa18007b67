package jobrunner_test

import (
	"context"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/web/jobrunner"
)

func TestMain(m *testing.M) { modeltest.Main(m, "web/jobrunner") }

// TestRunnerFinishesJobsAndTakesOverDeadOnes: a started runner works a
// job it is woken for to the end; a job left running by a runner that
// died is finished by another once the lease has run out.
func TestRunnerFinishesJobsAndTakesOverDeadOnes(t *testing.T) {
	db, err := modeltest.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { modeltest.Close(db) })
	s := models.NewStore(db, nil)
	ctx := context.Background()
	acc, err := s.CreateAccount(ctx, "Runner "+models.NewID(""), "UTC")
	if err != nil {
		t.Fatal(err)
	}
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "r", "https://example.com/r", []string{"call.hangup"}
	w, err := s.CreateWebhook(ctx, acc.ID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	seed := func(n int) {
		prefix := models.NewID("evt_")
		at := time.Now().Add(-time.Hour)
		db.Exec(`INSERT INTO events (account_id, id, type, occurred_at, payload, received_at) SELECT ?, ? || g, 'call.hangup', ?, '{}', ? FROM generate_series(1, ?) g`,
			acc.ID, prefix, at, at, n)
		if err := db.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, attempt_count, request_method, request_url, created_at, updated_at, completed_at)
			SELECT ?, ?, ? || g, 'call.hangup', 'failed', 1, 'POST', 'https://example.com/r', ?, ?, ? FROM generate_series(1, ?) g`,
			acc.ID, w.ID, prefix, at, at, at, n).Error; err != nil {
			t.Fatal(err)
		}
	}
	wait := func(id string) *models.Job {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			j, err := s.Job(ctx, acc.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State.Finished() {
				return j
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %s still %s (%d of %d) after 10 s", id, j.State, j.Done, j.Total)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	r := jobrunner.New(s, jobrunner.Config{Batch: 7, Poll: time.Hour, Lease: time.Second})
	r.Start(ctx)
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	seed(40)
	job, err := s.StartRetryFailed(ctx, acc.ID, models.Actor{Label: "t"}, models.RetryFailed{WebhookID: w.ID, Since: time.Now().Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	r.Wake() // the poll is an hour: only the wake starts it
	if j := wait(job.ID); j.State != models.JobSucceeded || j.Done != 40 || j.Total != 40 {
		t.Fatalf("job %+v", j)
	}

	t.Run("a job whose runner died is finished by another", func(t *testing.T) {
		seed(20)
		job, err := s.StartRetryFailed(ctx, acc.ID, models.Actor{Label: "t"}, models.RetryFailed{WebhookID: w.ID, Since: time.Now().Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		// A process claims it, does one batch and dies (no Stop, no more batches).
		dead, err := s.ClaimJob(ctx, "dead-process", time.Now(), time.Second)
		if err != nil || dead == nil || dead.ID != job.ID {
			t.Fatalf("claim: %+v, %v", dead, err)
		}
		if _, err := s.RunJobBatch(ctx, dead, "dead-process", 5, time.Now(), time.Second); err != nil {
			t.Fatal(err)
		}
		heir := jobrunner.New(s, jobrunner.Config{Batch: 5, Poll: 20 * time.Millisecond, Lease: time.Second})
		heir.Start(ctx)
		defer func() { _ = heir.Stop(context.Background()) }()
		if j := wait(job.ID); j.State != models.JobSucceeded || j.Done != 20 {
			t.Fatalf("job %+v", j)
		}
		var twice int64
		db.Raw("SELECT count(*) FROM deliveries WHERE webhook_id = ? AND status <> 'pending'", w.ID).Scan(&twice)
		if twice != 0 {
			t.Fatalf("%d deliveries not queued again", twice)
		}
	})
}
