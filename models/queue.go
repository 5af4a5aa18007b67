package models

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// notifyChannel is the PostgreSQL channel ingest notifies on commit, so
// dispatchers in other processes wake without polling.
const notifyChannel = "ringhook_deliveries"

// NewDelivery is a delivery to create for a matched webhook. When RenderErr
// is set the request could not be built; the delivery is recorded as failed
// with a render attempt instead of being queued.
type NewDelivery struct {
	Webhook   *Webhook
	Request   RenderedRequest
	RenderErr string
	Test      bool
}

// PlanFunc turns the webhooks that match an event into deliveries; it runs
// inside the ingest transaction and must not do I/O.
type PlanFunc func(event *Event, hooks []Webhook) []NewDelivery

// Ingest stores an event and one delivery per matching enabled webhook in a
// single transaction, then notifies dispatchers. A repeated event id changes
// nothing and reports Duplicate.
func (s *Store) Ingest(ctx context.Context, ev *Event, plan PlanFunc) (IngestResult, error) {
	res := IngestResult{EventID: ev.ID}
	now := s.now()
	ev.ReceivedAt = now
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ins := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(ev)
		if ins.Error != nil {
			return fmt.Errorf("store event: %w", ins.Error)
		}
		if ins.RowsAffected == 0 {
			res.Duplicate = true
			var n int64
			if err := tx.Model(&Delivery{}).Where("account_id = ? AND event_id = ?", ev.AccountID, ev.ID).Count(&n).Error; err != nil {
				return fmt.Errorf("count deliveries: %w", err)
			}
			res.Deliveries = int(n)
			return nil
		}
		var hooks []Webhook
		if err := tx.Where("account_id = ? AND enabled AND event_types @> ARRAY[?]::text[]", ev.AccountID, ev.Type).
			Order("id").Find(&hooks).Error; err != nil {
			return fmt.Errorf("match webhooks: %w", err)
		}
		if err := s.openWebhooks(hooks); err != nil {
			return fmt.Errorf("match webhooks: %w", err)
		}
		matched := hooks[:0]
		for _, w := range hooks {
			if w.Matches(ev.Payload.V) {
				matched = append(matched, w)
			}
		}
		n, err := s.insertDeliveries(tx, ev, plan(ev, matched), now)
		res.Deliveries = n
		return err
	})
	if err != nil {
		return IngestResult{}, err
	}
	return res, nil
}

// insertDeliveries writes planned deliveries (and render-failure attempts)
// (credential headers sealed) and notifies dispatchers when something was
// queued.
func (s *Store) insertDeliveries(tx *gorm.DB, ev *Event, planned []NewDelivery, now time.Time) (int, error) {
	if len(planned) == 0 {
		return 0, nil
	}
	rows := make([]Delivery, len(planned))
	for i, p := range planned {
		headers, err := s.sealRequestHeaders(p.Webhook, nonNil(p.Request.Headers))
		if err != nil {
			return 0, err
		}
		d := Delivery{AccountID: ev.AccountID, WebhookID: p.Webhook.ID, EventID: ev.ID, EventType: ev.Type, CallID: ev.CallID,
			Status: StatusPending, Test: p.Test, NextAttemptAt: &now, RequestMethod: p.Request.Method, RequestURL: p.Request.URL,
			RequestHeaders: JSON[[]Header]{V: headers}, RequestBody: p.Request.Body, CreatedAt: now, UpdatedAt: now}
		if p.RenderErr != "" {
			d.Status, d.NextAttemptAt, d.CompletedAt, d.LastError, d.AttemptCount = StatusFailed, nil, &now, p.RenderErr, 1
		}
		rows[i] = d
	}
	if err := tx.Create(&rows).Error; err != nil {
		return 0, fmt.Errorf("store deliveries: %w", err)
	}
	var failed []Attempt
	queued := false
	for i, p := range planned {
		if p.RenderErr == "" {
			queued = true
			continue
		}
		failed = append(failed, Attempt{AccountID: ev.AccountID, DeliveryID: rows[i].ID, WebhookID: p.Webhook.ID, Number: 1,
			Trigger: TriggerAuto, StartedAt: now, RequestMethod: p.Webhook.Method, RequestURL: RedactURL(p.Webhook.URL),
			RequestHeaders: JSON[[]Header]{V: []Header{}}, ResponseHeaders: JSON[[]Header]{V: []Header{}},
			ErrorKind: ErrKindRender, ErrorMessage: p.RenderErr})
	}
	if len(failed) > 0 {
		if err := tx.Create(&failed).Error; err != nil {
			return 0, fmt.Errorf("store render failures: %w", err)
		}
	}
	if queued {
		if err := tx.Exec("SELECT pg_notify(?, '')", notifyChannel).Error; err != nil {
			return 0, fmt.Errorf("notify dispatchers: %w", err)
		}
	}
	return len(rows), nil
}

// CreateTestDelivery stores a test event and its delivery for one webhook.
// When claim is true the delivery comes back already leased (status
// sending, attempt 1) for the caller to send right away; otherwise it is
// queued for the workers.
func (s *Store) CreateTestDelivery(ctx context.Context, ev *Event, nd NewDelivery, claim bool) (*Claimed, error) {
	now := s.now()
	ev.ReceivedAt = now
	var out *Claimed
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(ev).Error; err != nil {
			return fmt.Errorf("store test event: %w", err)
		}
		nd.Test = true
		if _, err := s.insertDeliveries(tx, ev, []NewDelivery{nd}, now); err != nil {
			return err
		}
		if !claim {
			return nil
		}
		var d Delivery
		if err := tx.Where("account_id = ? AND event_id = ?", ev.AccountID, ev.ID).Take(&d).Error; err != nil {
			return fmt.Errorf("load test delivery: %w", err)
		}
		if err := s.openDelivery(&d); err != nil {
			return fmt.Errorf("load test delivery: %w", err)
		}
		if d.Status != StatusPending { // render failed: nothing to send
			out = &Claimed{Delivery: d, Webhook: *nd.Webhook}
			return nil
		}
		lease := now.Add(nd.Webhook.Timeout() + leaseMargin)
		d.Status, d.AttemptCount, d.LeaseUntil, d.UpdatedAt = StatusSending, 1, &lease, now
		if err := tx.Select("status", "attempt_count", "lease_until", "updated_at").Save(&d).Error; err != nil {
			return fmt.Errorf("lease test delivery: %w", err)
		}
		out = &Claimed{Delivery: d, Webhook: *nd.Webhook}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// leaseMargin is added to a webhook's timeout to form the claim lease: a
// worker that has not recorded by then is presumed dead.
const leaseMargin = 30 * time.Second

// Claimed is a leased delivery with the webhook settings needed to send it.
type Claimed struct {
	Delivery
	Webhook Webhook
}

// claimSQL leases due deliveries in one statement. Given what the caller
// has in flight per webhook, for every enabled webhook with room under its
// cap, locks that webhook's oldest due rows (SKIP LOCKED, at most the room
// left) through the per-webhook due index, keeps the oldest @limit of them
// overall and marks those as sending with a lease of the webhook's timeout
// plus a margin. A webhook at its cap costs one empty probe, however long
// its backlog, so a slow receiver cannot starve the others or the database.
const claimSQL = `
WITH busy AS (
	SELECT key AS webhook_id, value::int AS n FROM jsonb_each_text(CAST(@busy AS jsonb))
), room AS (
	SELECT w.id, @cap - coalesce(b.n, 0) AS room
	FROM webhooks w LEFT JOIN busy b ON b.webhook_id = w.id
	WHERE w.enabled AND coalesce(b.n, 0) < @cap
), cand AS (
	SELECT c.id, c.next_attempt_at FROM room r CROSS JOIN LATERAL (
		SELECT d.id, d.next_attempt_at FROM deliveries d
		WHERE d.webhook_id = r.id AND d.status = 'pending' AND d.next_attempt_at <= @now
		ORDER BY d.next_attempt_at
		LIMIT r.room
		FOR UPDATE SKIP LOCKED
	) c
	ORDER BY c.next_attempt_at
	LIMIT @limit
)
UPDATE deliveries d SET status = 'sending', attempt_count = d.attempt_count + 1,
	lease_until = CAST(@now AS timestamptz) + make_interval(secs => w.timeout_ms / 1000.0 + @margin), updated_at = @now
FROM cand p, webhooks w
WHERE d.id = p.id AND w.id = d.webhook_id
RETURNING d.*, w.timeout_ms AS w_timeout_ms, w.max_attempts AS w_max_attempts, w.signing_secret AS w_signing_secret,
	w.previous_secret AS w_previous_secret, w.previous_secret_expires_at AS w_previous_secret_expires_at`

// claimRow is a leased delivery plus the webhook settings sending needs,
// returned by claimSQL so no second query is needed.
type claimRow struct {
	Delivery                 `gorm:"embedded"`
	WTimeoutMS               int        `gorm:"column:w_timeout_ms"`
	WMaxAttempts             int        `gorm:"column:w_max_attempts"`
	WSigningSecret           string     `gorm:"column:w_signing_secret"`
	WPreviousSecret          string     `gorm:"column:w_previous_secret"`
	WPreviousSecretExpiresAt *time.Time `gorm:"column:w_previous_secret_expires_at"`
}

// Claim leases up to limit due deliveries of enabled webhooks, using SKIP
// LOCKED so concurrent dispatchers never claim the same row. inFlight is the
// caller's count of requests in flight per webhook; no webhook gets more
// than perWebhook in flight in that caller. (The cap is per process:
// counting 'sending' rows in the database instead cost a scan of every
// recently finished delivery on each claim.)
func (s *Store) Claim(ctx context.Context, now time.Time, limit, perWebhook int, inFlight map[string]int) ([]Claimed, error) {
	busy, err := json.Marshal(inFlight)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if inFlight == nil {
		busy = []byte("{}")
	}
	var rows []claimRow
	err = s.db.WithContext(ctx).Raw(claimSQL, map[string]any{
		"now": now, "cap": perWebhook, "limit": limit, "margin": leaseMargin.Seconds(), "busy": string(busy),
	}).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	out := make([]Claimed, len(rows))
	for i, r := range rows {
		out[i] = Claimed{Delivery: r.Delivery, Webhook: Webhook{ID: r.WebhookID, AccountID: r.AccountID, Enabled: true,
			TimeoutMS: r.WTimeoutMS, MaxAttempts: r.WMaxAttempts, SigningSecret: r.WSigningSecret,
			PreviousSecret: r.WPreviousSecret, PreviousSecretExpiresAt: r.WPreviousSecretExpiresAt}}
		if err := s.openClaimed(&out[i]); err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
	}
	return out, nil
}

// Outcome is one finished attempt and the delivery's next state.
type Outcome struct {
	Attempt       Attempt
	Status        string     // pending (retry), succeeded or failed
	NextAttemptAt *time.Time // when Status is pending
	DisableReason string     // non-empty: disable the webhook now (410 Gone)
}

// AutoDisable is the failure rule: a webhook whose attempts failed Failures
// times in a row, over at least Window, is disabled with a recorded reason.
type AutoDisable struct {
	Failures int
	Window   time.Duration
}

// Record writes a batch of attempts and the next state of their deliveries
// atomically, keeps each webhook's failure streak, and disables webhooks per
// the 410 and auto-disable rules. It returns the ids of the webhooks it
// disabled. When every attempt succeeded (the common case) it is a single
// statement: one round trip and one commit.
func (s *Store) Record(ctx context.Context, now time.Time, outs []Outcome, rule AutoDisable) ([]string, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	var failed bool
	var okHooks []string
	seen := map[string]bool{}
	for _, o := range outs {
		if !o.Attempt.Succeeded() && o.Attempt.Trigger != TriggerTest {
			failed = true
		}
	}
	for _, o := range outs {
		if o.Attempt.Succeeded() && !seen[o.Attempt.WebhookID] {
			seen[o.Attempt.WebhookID] = true
			okHooks = append(okHooks, o.Attempt.WebhookID)
		}
	}
	stmt, args := recordSQL(now, outs, okHooks, !failed)
	if !failed {
		if err := s.db.WithContext(ctx).Exec(stmt, args...).Error; err != nil {
			return nil, fmt.Errorf("record attempts: %w", err)
		}
		return nil, nil
	}
	var disabled []string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec(stmt, args...).Error; err != nil {
			return fmt.Errorf("record attempts: %w", err)
		}
		var err error
		disabled, err = updateHealth(tx, outs, now, rule)
		return err
	})
	return disabled, err
}

// attemptColumns are written by recordSQL, in this order.
const attemptColumns = "account_id, delivery_id, webhook_id, number, trigger, started_at, duration_ms, request_method, " +
	"request_url, request_headers, request_body, response_status, response_headers, response_body, error_kind, error_message, next_retry_at"

// recordSQL builds one statement that inserts the attempts, moves each
// delivery to its next state (only while this attempt still holds the
// lease: after an expired lease a newer attempt owns the row) and, when
// resetHealth is set, clears the failure streak of webhooks that succeeded.
func recordSQL(now time.Time, outs []Outcome, okHooks []string, resetHealth bool) (string, []any) {
	var ins, upd strings.Builder
	insArgs := make([]any, 0, len(outs)*17)
	updArgs := make([]any, 0, len(outs)*7)
	for i, o := range outs {
		a := o.Attempt
		if i > 0 {
			ins.WriteByte(',')
			upd.WriteByte(',')
		}
		ins.WriteString("(?, ?::bigint, ?, ?::int, ?, ?::timestamptz, ?::int, ?, ?, ?::jsonb, ?, ?::int, ?::jsonb, ?, ?, ?, ?::timestamptz)")
		insArgs = append(insArgs, a.AccountID, a.DeliveryID, a.WebhookID, a.Number, a.Trigger, a.StartedAt, a.DurationMS, a.RequestMethod,
			a.RequestURL, a.RequestHeaders, a.RequestBody, a.ResponseStatus, a.ResponseHeaders, a.ResponseBody, a.ErrorKind, a.ErrorMessage, a.NextRetryAt)
		upd.WriteString("(?::bigint, ?::int, ?::text, ?::timestamptz, ?::int, ?::text, ?::timestamptz)")
		var completed *time.Time
		if o.Status != StatusPending {
			completed = &now
		}
		msg := a.ErrorMessage
		if msg == "" && a.ErrorKind == ErrKindHTTPStatus && a.ResponseStatus != nil {
			msg = fmt.Sprintf("HTTP %d", *a.ResponseStatus)
		}
		updArgs = append(updArgs, a.DeliveryID, a.Number, o.Status, o.NextAttemptAt, a.ResponseStatus, msg, completed)
	}
	args := insArgs
	reset := ""
	if resetHealth && len(okHooks) > 0 {
		reset = `, reset AS (UPDATE webhooks SET consecutive_failures = 0, failing_since = NULL
			WHERE id IN ? AND consecutive_failures > 0)`
		args = append(args, okHooks)
	}
	args = append(args, now)
	args = append(args, updArgs...)
	// The EXISTS keeps a delivery deleted meanwhile (its webhook was
	// deleted) from failing the whole batch on the foreign key.
	return `WITH ins AS (INSERT INTO attempts (` + attemptColumns + `)
			SELECT * FROM (VALUES ` + ins.String() + `) AS a(` + attemptColumns + `)
			WHERE EXISTS (SELECT 1 FROM deliveries x WHERE x.id = a.delivery_id)
			ON CONFLICT (delivery_id, number) DO NOTHING)` + reset + `
		UPDATE deliveries d SET status = v.status, next_attempt_at = v.next, lease_until = NULL,
			last_status_code = v.code, last_error = v.err, completed_at = v.completed, updated_at = ?
		FROM (VALUES ` + upd.String() + `) AS v(id, number, status, next, code, err, completed)
		WHERE d.id = v.id AND d.status = 'sending' AND d.attempt_count = v.number`, args
}

// updateHealth keeps each webhook's consecutive-failure streak and applies
// the disable rules.
func updateHealth(tx *gorm.DB, outs []Outcome, now time.Time, rule AutoDisable) ([]string, error) {
	type streak struct {
		reset     bool // a success in this batch restarts the streak
		fails     int  // failures after the last success
		firstFail time.Time
		reason410 string
		lastErr   string
	}
	byHook := map[string]*streak{}
	var order []string
	for _, o := range outs {
		if o.Attempt.Trigger == TriggerTest {
			continue // a test of a broken endpoint should not disable it
		}
		st := byHook[o.Attempt.WebhookID]
		if st == nil {
			st = &streak{}
			byHook[o.Attempt.WebhookID] = st
			order = append(order, o.Attempt.WebhookID)
		}
		if o.Attempt.Succeeded() {
			st.reset, st.fails = true, 0
			continue
		}
		if st.fails == 0 {
			st.firstFail = o.Attempt.StartedAt
		}
		st.fails++
		st.lastErr = o.Attempt.ErrorMessage
		if o.Attempt.ErrorKind == ErrKindHTTPStatus && o.Attempt.ResponseStatus != nil {
			st.lastErr = fmt.Sprintf("HTTP %d", *o.Attempt.ResponseStatus)
		}
		if o.DisableReason != "" {
			st.reason410 = o.DisableReason
		}
	}
	var disabled []string
	for _, id := range order {
		st := byHook[id]
		var w Webhook
		q := tx.Model(&w).Clauses(clause.Returning{}).Where("id = ?", id)
		var res *gorm.DB
		switch {
		case st.fails == 0:
			res = q.UpdateColumns(map[string]any{"consecutive_failures": 0, "failing_since": nil})
		case st.reset:
			res = q.UpdateColumns(map[string]any{"consecutive_failures": st.fails, "failing_since": st.firstFail})
		default:
			res = q.UpdateColumns(map[string]any{"consecutive_failures": gorm.Expr("consecutive_failures + ?", st.fails),
				"failing_since": gorm.Expr("coalesce(failing_since, ?::timestamptz)", st.firstFail)})
		}
		if res.Error != nil {
			return nil, fmt.Errorf("record webhook health: %w", res.Error)
		}
		if !w.Enabled {
			continue
		}
		reason := st.reason410
		if reason == "" && rule.Failures > 0 && w.ConsecutiveFailures >= rule.Failures && w.FailingSince != nil && now.Sub(*w.FailingSince) >= rule.Window {
			reason = fmt.Sprintf("Disabled automatically after %d failed attempts in a row since %s (last: %s).",
				w.ConsecutiveFailures, w.FailingSince.UTC().Format("2006-01-02 15:04 UTC"), st.lastErr)
		}
		if reason == "" {
			continue
		}
		if err := tx.Model(&Webhook{}).Where("id = ? AND enabled", id).
			Updates(map[string]any{"enabled": false, "disabled_reason": reason, "disabled_at": now, "updated_at": now, "updated_by": "ringhook"}).Error; err != nil {
			return nil, fmt.Errorf("auto-disable webhook: %w", err)
		}
		if err := audit(tx, w.AccountID, Actor{Label: "ringhook"}, "webhook.auto_disabled", "webhook", id, nil, map[string]any{"reason": reason}, now); err != nil {
			return nil, err
		}
		disabled = append(disabled, id)
	}
	return disabled, nil
}

// ReapExpired returns deliveries whose lease ran out (their worker died) to
// the queue, due now. The attempt number is handed back too, since no
// attempt was recorded for it.
func (s *Store) ReapExpired(ctx context.Context, now time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE deliveries SET status = 'pending', lease_until = NULL, next_attempt_at = ?,
		attempt_count = greatest(attempt_count - 1, 0), updated_at = ? WHERE status = 'sending' AND lease_until < ?`, now, now, now)
	if res.Error != nil {
		return 0, fmt.Errorf("reap expired leases: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// ClaimOne leases one delivery of the account for a manual redelivery,
// whatever its state, unless an attempt is in flight right now.
func (s *Store) ClaimOne(ctx context.Context, accountID string, deliveryID int64, now time.Time) (*Claimed, error) {
	var out *Claimed
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var d Delivery
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, deliveryID).Take(&d).Error; err != nil {
			return fmt.Errorf("redeliver: %w", notFound(err))
		}
		if d.Status == StatusSending && d.LeaseUntil != nil && d.LeaseUntil.After(now) {
			return fmt.Errorf("redeliver: an attempt is in flight: %w", ErrConflict)
		}
		if d.RequestMethod == "" {
			return fmt.Errorf("redeliver: the request could not be rendered: %w", ErrConflict)
		}
		var w Webhook
		if err := tx.Where("account_id = ? AND id = ?", accountID, d.WebhookID).Take(&w).Error; err != nil {
			return fmt.Errorf("redeliver: %w", notFound(err))
		}
		if err := s.openWebhook(&w); err != nil {
			return fmt.Errorf("redeliver: %w", err)
		}
		if err := s.openDelivery(&d); err != nil {
			return fmt.Errorf("redeliver: %w", err)
		}
		lease := now.Add(w.Timeout() + leaseMargin)
		d.Status, d.AttemptCount, d.LeaseUntil, d.UpdatedAt, d.CompletedAt = StatusSending, d.AttemptCount+1, &lease, now, nil
		if err := tx.Select("status", "attempt_count", "lease_until", "updated_at", "completed_at").Save(&d).Error; err != nil {
			return fmt.Errorf("redeliver: lease: %w", err)
		}
		out = &Claimed{Delivery: d, Webhook: w}
		return nil
	})
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	return out, err
}

// Listen calls wake for every notification on the delivery channel until
// ctx ends; it holds one pool connection while it runs.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("listen: connect: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("listen: unexpected driver connection %T", dc)
		}
		pc := sc.Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		for {
			if _, err := pc.WaitForNotification(ctx); err != nil {
				// Discard the connection: it is still LISTENing.
				return driver.ErrBadConn
			}
			wake()
		}
	})
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("listen: %w", err)
}
