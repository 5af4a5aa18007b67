package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ringhook/ringhook/models/catalog"
)

// JobKind is what a job does.
type JobKind string

// Job kinds.
const (
	// JobRetryFailed queues a webhook's failed deliveries again (RetryFailed).
	JobRetryFailed JobKind = "retry_failed"
)

// JobState is where a job is in its life.
type JobState string

// Job states.
const (
	JobQueued    JobState = "queued"    // waiting for a runner
	JobRunning   JobState = "running"   // leased by a runner until lease_until
	JobSucceeded JobState = "succeeded" // all its work is done (final)
	JobFailed    JobState = "failed"    // stopped, with Error; allowed by the schema, no code path sets it yet (final)
	JobCancelled JobState = "cancelled" // allowed by the schema; no code path sets it yet (final)
)

// Finished reports whether a job in s will not change any more.
func (s JobState) Finished() bool {
	return s == JobSucceeded || s == JobFailed || s == JobCancelled
}

// Job is work a user asked for that runs in the background in batches
// (see Store.RunJobBatch): Done of Total so far.
type Job struct {
	ID          string `gorm:"primaryKey"` // "job_…"
	AccountID   string
	Kind        JobKind
	Params      JSON[RetryFailed]
	State       JobState
	Total       int
	Done        int
	Cursor      int64 // the last delivery id a batch looked at
	Error       string
	CreatedBy   string
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
	LeaseHolder *string
	LeaseUntil  *time.Time
}

// RetryFailed says which of a webhook's failed deliveries a bulk retry
// queues again: those that ended failed from Since up to Until (both
// included; no Until: no end), optionally of one event type. Test sends
// and deliveries whose request could not be built are never retried.
type RetryFailed struct {
	WebhookID string     `json:"webhook_id"`
	Since     time.Time  `json:"since"`
	Until     *time.Time `json:"until,omitempty"`
	EventType string     `json:"event_type,omitempty"`
}

// Validate checks the window and the event type; field names are the API's.
func (p RetryFailed) Validate() FieldErrors {
	fe := FieldErrors{}
	if p.Since.IsZero() {
		fe.Add("since", "Give the time from which failed deliveries are retried.")
	} else if p.Until != nil && !p.Since.Before(*p.Until) {
		fe.Add("until", "The end must be after the start (since).")
	}
	if p.EventType != "" {
		if _, ok := catalog.Lookup(p.EventType); !ok {
			fe.Add("event_type", fmt.Sprintf("Unknown event type %q.", p.EventType))
		}
	}
	return fe
}

func (p RetryFailed) args(accountID string) map[string]any {
	return map[string]any{"account": accountID, "webhook": p.WebhookID, "since": p.Since, "until": p.Until, "type": p.EventType}
}

// retryFailedWhere is the one definition of what a bulk retry takes, shared
// by the count shown before it starts and the batches that do it. The
// status is spelled in the text for the partial index deliveries_failed_idx.
const retryFailedWhere = `account_id = @account AND webhook_id = @webhook AND status = 'failed' AND NOT test AND request_method <> ''
	AND completed_at >= @since AND (CAST(@until AS timestamptz) IS NULL OR completed_at <= @until)
	AND (CAST(@type AS text) = '' OR event_type = @type)
	AND EXISTS (SELECT 1 FROM webhooks wh WHERE wh.account_id = @account AND wh.id = @webhook AND wh.deleted_at IS NULL)`

// CountRetryFailed counts the deliveries a bulk retry with p would queue
// again now: the preview shown before one starts.
func (s *Store) CountRetryFailed(ctx context.Context, accountID string, p RetryFailed) (int, error) {
	if !validID(accountID) || !validID(p.WebhookID) {
		return 0, ErrNotFound
	}
	if fe := p.Validate(); len(fe) > 0 {
		return 0, fe
	}
	var n int
	if err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM deliveries WHERE `+retryFailedWhere, p.args(accountID)).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count failed deliveries: %w", err)
	}
	return n, nil
}

// StartRetryFailed records a bulk retry of one of the account's webhooks
// as a queued job, counting what it will take (Total), and returns it; a
// runner does the work (RunJobBatch). Without an end the window ends now,
// so deliveries failing after the job started are not taken. A job with
// nothing to do is finished at once.
func (s *Store) StartRetryFailed(ctx context.Context, accountID string, who Actor, p RetryFailed) (*Job, error) {
	if !validID(accountID) || !validID(p.WebhookID) {
		return nil, ErrNotFound
	}
	if fe := p.Validate(); len(fe) > 0 {
		return nil, fe
	}
	now := s.now()
	if p.Until == nil {
		p.Until = &now
	}
	until := p.Until.UTC()
	p.Since, p.Until = p.Since.UTC(), &until
	job := Job{ID: NewID("job_"), AccountID: accountID, Kind: JobRetryFailed, Params: JSON[RetryFailed]{V: p}, State: JobQueued,
		CreatedBy: who.Label, CreatedAt: now}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var w Webhook
		if err := tx.Select("id").Where("account_id = ? AND id = ?", accountID, p.WebhookID).Take(&w).Error; err != nil {
			return fmt.Errorf("retry failed deliveries: %w", notFound(err))
		}
		if err := tx.Raw(`SELECT count(*) FROM deliveries WHERE `+retryFailedWhere, p.args(accountID)).Scan(&job.Total).Error; err != nil {
			return fmt.Errorf("count failed deliveries: %w", err)
		}
		if job.Total == 0 {
			job.State, job.StartedAt, job.FinishedAt = JobSucceeded, &now, &now
		}
		if err := tx.Create(&job).Error; err != nil {
			return fmt.Errorf("store job: %w", err)
		}
		return audit(tx, accountID, who, "webhook.replayed", "webhook", p.WebhookID, nil,
			map[string]any{"job": job.ID, "since": p.Since, "until": p.Until, "event_type": p.EventType, "deliveries": job.Total}, now)
	})
	if err != nil {
		return nil, err
	}
	return &job, nil
}

// Job returns one of the account's jobs.
func (s *Store) Job(ctx context.Context, accountID, id string) (*Job, error) {
	if !validID(accountID) || !validID(id) {
		return nil, ErrNotFound
	}
	var j Job
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Take(&j).Error; err != nil {
		return nil, fmt.Errorf("job %s: %w", id, notFound(err))
	}
	return &j, nil
}

// ErrJobLost is returned by RunJobBatch when the job is no longer leased
// to the caller (its lease ran out and another runner took it over).
var ErrJobLost = errors.New("job lease lost")

// ClaimJob leases the oldest job waiting for a runner to holder until
// now+lease: a queued one, or a running one whose lease ran out (its
// process died; the job goes on from its cursor). It returns nil when there
// is none. Jobs of every account: runners serve them all.
func (s *Store) ClaimJob(ctx context.Context, holder string, now time.Time, lease time.Duration) (*Job, error) {
	var jobs []Job
	err := s.db.WithContext(ctx).Raw(`UPDATE jobs SET state = @running, lease_holder = @holder, lease_until = @until, started_at = coalesce(started_at, @now)
		WHERE (account_id, id) = (SELECT account_id, id FROM jobs WHERE state IN ('queued', 'running') AND (state = 'queued' OR lease_until < @now)
			ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING *`, map[string]any{"running": string(JobRunning), "holder": holder, "until": now.Add(lease), "now": now}).Scan(&jobs).Error
	if err != nil {
		return nil, fmt.Errorf("claim job: %w", err)
	}
	if len(jobs) == 0 {
		return nil, nil
	}
	return &jobs[0], nil
}

// RunJobBatch does the next batch of up to batch deliveries of a job leased
// to holder, in one transaction with its progress (done, cursor) and a
// renewed lease, so a runner that dies between batches leaves the job
// exactly where the last commit put it. It reports whether the job is
// finished; j is updated to what was stored. Deliveries are walked by id
// from the cursor: each is queued again, due now, marked manual_retry (its
// attempt is labelled manual and a failure leaves it failed, not on the
// automatic schedule).
func (s *Store) RunJobBatch(ctx context.Context, j *Job, holder string, batch int, now time.Time, lease time.Duration) (bool, error) {
	var finished bool
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur Job
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ? AND state = ? AND lease_holder = ?", j.AccountID, j.ID, JobRunning, holder).
			Take(&cur).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return ErrJobLost
			}
			return fmt.Errorf("lock job: %w", err)
		}
		p := cur.Params.V
		args := p.args(cur.AccountID)
		args["cursor"], args["batch"], args["now"], args["pending"] = cur.Cursor, batch, now, string(StatusPending)
		// FOR UPDATE re-checks each row: one redelivered meanwhile is
		// skipped, and the cursor still moves past it.
		var res struct {
			Last   int64
			Picked int
			Queued int
		}
		if err := tx.Raw(`WITH pick AS (
				SELECT id FROM deliveries WHERE `+retryFailedWhere+` AND id > @cursor ORDER BY id LIMIT @batch FOR UPDATE
			), upd AS (
				UPDATE deliveries d SET status = @pending, next_attempt_at = @now, completed_at = NULL, manual_retry = true, updated_at = @now
				FROM pick WHERE d.account_id = @account AND d.id = pick.id RETURNING d.id
			)
			SELECT coalesce((SELECT max(id) FROM pick), 0) AS last, (SELECT count(*) FROM pick) AS picked, (SELECT count(*) FROM upd) AS queued`,
			args).Scan(&res).Error; err != nil {
			return fmt.Errorf("retry failed deliveries: %w", err)
		}
		if res.Queued > 0 {
			if err := markDue(tx, hookKeys{{j.AccountID, p.WebhookID}}, now, false); err != nil {
				return err
			}
			if err := tx.Exec("SELECT pg_notify(?, '')", notifyChannel).Error; err != nil {
				return fmt.Errorf("notify dispatchers: %w", err)
			}
		}
		cur.Done += res.Queued
		if res.Picked > 0 {
			cur.Cursor = res.Last
		}
		leaseUntil := now.Add(lease)
		cur.LeaseUntil = &leaseUntil
		if finished = res.Picked == 0; finished {
			// Deliveries redelivered or cancelled since the count are not
			// retried: the total becomes what was.
			cur.State, cur.FinishedAt, cur.LeaseHolder, cur.LeaseUntil, cur.Total = JobSucceeded, &now, nil, nil, cur.Done
		}
		if err := tx.Model(&cur).Where("account_id = ?", cur.AccountID).
			Select("state", "done", "total", "cursor", "lease_until", "lease_holder", "finished_at").Updates(&cur).Error; err != nil {
			return fmt.Errorf("save job progress: %w", err)
		}
		*j = cur
		return nil
	})
	return finished, err
}
