package models

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ringhook/ringhook/models/catalog"
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
	// Event is the event the delivery is for, set by IngestBatch, whose
	// deliveries span events; nil means the one event insertDeliveries is
	// given.
	Event *Event
}

// PlanFunc turns the webhooks that match an event into deliveries; it runs
// inside the ingest transaction and must not do I/O.
type PlanFunc func(event *Event, hooks []Webhook) []NewDelivery

// Ingest stores an event and one delivery per matching enabled webhook in a
// single transaction, then notifies dispatchers. A repeated event id changes
// nothing and reports Duplicate. It is IngestBatch for one event: single
// and batch ingest share one set-based path.
func (s *Store) Ingest(ctx context.Context, ev *Event, plan PlanFunc) (IngestResult, error) {
	res, err := s.IngestBatch(ctx, ev.AccountID, []*Event{ev}, plan)
	if err != nil {
		return IngestResult{}, err
	}
	return res[0], nil
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
		ev := ev
		if p.Event != nil {
			ev = p.Event
		}
		d, err := s.deliveryRow(ev, p, now)
		if err != nil {
			return 0, err
		}
		rows[i] = d
	}
	// Ids carry the week (the partition) of now, the Store's clock, not
	// the column default's database clock.
	var ids []int64
	if err := tx.Raw(`SELECT delivery_row_id(?) FROM generate_series(1, ?)`, now, len(rows)).Scan(&ids).Error; err != nil || len(ids) != len(rows) {
		return 0, fmt.Errorf("delivery ids: %d for %d deliveries: %v", len(ids), len(rows), err)
	}
	for i := range rows {
		rows[i].ID = ids[i]
	}
	// In statements of at most deliveryInsertRows rows: PostgreSQL takes at
	// most 65,535 parameters per statement, and a batch's deliveries can
	// exceed that.
	if err := tx.CreateInBatches(&rows, deliveryInsertRows).Error; err != nil {
		return 0, fmt.Errorf("store deliveries: %w", err)
	}
	var failed []Attempt
	var failedTest []bool // per failed: a test delivery
	var queuedHooks hookKeys
	for i, p := range planned {
		ev := ev
		if p.Event != nil {
			ev = p.Event
		}
		if rows[i].Status == StatusPending {
			queuedHooks = append(queuedHooks, hookKey{ev.AccountID, p.Webhook.ID})
		}
		if p.RenderErr == "" {
			continue
		}
		failedTest = append(failedTest, p.Test)
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
	if len(queuedHooks) > 0 {
		if err := markDue(tx, queuedHooks, now, true); err != nil {
			return 0, err
		}
		if err := tx.Exec("SELECT pg_notify(@channel, '')", map[string]any{"channel": notifyChannel}).Error; err != nil {
			return 0, fmt.Errorf("notify dispatchers: %w", err)
		}
	}
	if len(failed) > 0 { // after markDue's webhook locks, as in Record
		as := make([]rollupAttempt, len(failed))
		for i := range failed {
			as[i] = rollupAttempt{attempt: &failed[i], test: failedTest[i]}
		}
		if err := upsertRollups(tx, as); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// deliveryRow is the row a planned delivery of ev is stored as (credential
// headers sealed): pending and due now, failed when it could not be
// rendered, expired when it arrived after its deadline.
func (s *Store) deliveryRow(ev *Event, p NewDelivery, now time.Time) (Delivery, error) {
	headers, err := s.sealRequestHeaders(p.Webhook, nonNil(p.Request.Headers))
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{AccountID: ev.AccountID, WebhookID: p.Webhook.ID, EventID: ev.ID, EventType: ev.Type, CallID: ev.CallID,
		Status: StatusPending, Test: p.Test, NextAttemptAt: &now, RequestMethod: p.Request.Method, RequestURL: p.Request.URL,
		RequestHeaders: JSON[[]Header]{V: headers}, RequestBody: p.Request.Body, CreatedAt: now, UpdatedAt: now}
	if !p.Test { // a test send is neither held in a call's order nor holds one, and never expires
		occurred := ev.OccurredAt
		d.OccurredAt, d.ExpiresAt = &occurred, p.Webhook.Deadline(ev.Type, occurred)
	}
	switch {
	case p.RenderErr != "":
		d.Status, d.NextAttemptAt, d.CompletedAt, d.LastError, d.AttemptCount = StatusFailed, nil, &now, p.RenderErr, 1
	case d.ExpiresAt != nil && !d.ExpiresAt.After(now):
		// Arrived after its deadline: recorded, never sent.
		d.Status, d.NextAttemptAt, d.CompletedAt, d.LastError = StatusExpired, nil, &now, expiredError(*d.ExpiresAt)
	}
	return d, nil
}

// deliveryInsertRows keeps one delivery insert under PostgreSQL's
// parameter limit (a delivery row has fewer than 30 columns).
const deliveryInsertRows = 2000

// CreateTestDelivery stores a test event and its delivery for one webhook.
// When claim is true the delivery comes back already leased to holder
// (status sending, attempt 1) for the caller to send right away; otherwise
// it is queued for the workers.
func (s *Store) CreateTestDelivery(ctx context.Context, ev *Event, nd NewDelivery, claim bool, holder string) (*Claimed, error) {
	now := s.now()
	s.writingHistory(ctx, now)
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
		if err := tx.Where("account_id = @account AND event_id = @event", map[string]any{"account": ev.AccountID, "event": ev.ID}).Take(&d).Error; err != nil {
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
		d.Status, d.AttemptCount, d.LeaseUntil, d.LeaseHolder, d.UpdatedAt = StatusSending, 1, &lease, holderOrNil(holder), now
		if err := saveLease(tx, &d, "status", "attempt_count", "lease_until", "lease_holder", "updated_at"); err != nil {
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

// The claim, the reaper and the replay filter on the statuses that the
// partial indexes deliveries_webhook_due_idx, deliveries_lease_idx and
// deliveries_webhook_failed_idx are defined for. A
// parameter there would keep a generic plan from using those indexes, so
// these predicates spell the status in the statement text, taken from
// the constants; everywhere else statuses are parameters.
const (
	sqlPending = "'" + string(StatusPending) + "'"
	sqlSending = "'" + string(StatusSending) + "'"
	sqlFailed  = "'" + string(StatusFailed) + "'"  // deliveries_webhook_failed_idx
	sqlExpired = "'" + string(StatusExpired) + "'" // deliveries_expired_idx
)

// sqlLeased is the predicate of deliveries_lease_idx (0032), unqualified: a
// delivery out on a lease. Every claim sets lease_until with the status;
// naming it keeps the index to the statements that look for leases (see
// the migration).
const sqlLeased = "status = " + sqlSending + " AND lease_until IS NOT NULL"

// systemActor signs the changes the dispatcher makes on its own.
var systemActor = Actor{Label: "ringhook"}

// leaseMargin is added to a webhook's timeout to form the claim lease: a
// worker that has not recorded by then is presumed dead.
const leaseMargin = 30 * time.Second

// Claimed is a leased delivery with the webhook settings needed to send it.
type Claimed struct {
	Delivery
	Webhook Webhook
	// ManualAttempts is how many of AttemptCount were manual redeliveries,
	// which do not spend the webhook's automatic retry budget (set by Claim).
	ManualAttempts int
	// PriorStatus is the delivery's status before ClaimOne leased it for a
	// manual redelivery; with NextAttemptAt (left as it was) it is the
	// automatic schedule a failed redelivery returns the delivery to.
	PriorStatus DeliveryStatus
}

// Trigger is how the next attempt at c is labelled: manual when someone
// queued it again by hand (a bulk retry, see RunJobBatch), auto otherwise.
func (c *Claimed) Trigger() Trigger {
	if c.ManualRetry {
		return TriggerManual
	}
	return TriggerAuto
}

// failingCap is the in-flight cap of a webhook on a failure streak.
func failingCap(perWebhook int) int { return max(1, perWebhook/4) }

// claimSQL leases due deliveries in one statement. Given what the caller
// has in flight per webhook, for every webhook in the due set (enabled,
// next_due_at passed: webhooks_due_idx, so idle webhooks are never read)
// with room under its cap, locks that webhook's oldest due rows (SKIP LOCKED, at most the room
// left) through the per-webhook due index, keeps the oldest @limit of them
// overall and marks those as sending with a lease of the webhook's timeout
// plus a margin. A webhook at its cap costs one empty probe, however long
// its backlog, so a slow receiver cannot starve the others or the database.
// On a webhook ordered by call only each call's head is taken, and a
// delivery past its deadline never is (see order.go).
// A webhook whose last attempts failed (a failure streak) gets a quarter
// of the cap until it answers again: five broken receivers at the full cap
// would hold every worker of a process while healthy webhooks wait. A
// paused webhook (its circuit breaker is open, see breaker.go) is skipped
// until its pause ends, and then gets one probe at a time (capSQL).
var claimSQL = `
WITH busy AS (
	SELECT key AS webhook_id, value::int AS n FROM jsonb_each_text(CAST(@busy AS jsonb))
), room AS (
	SELECT w.account_id, w.id, ` + capSQL + ` - coalesce(b.n, 0) AS room, w.timeout_ms, w.max_attempts, w.signing_secret, w.previous_secret,
		w.previous_secret_expires_at, w.ordered_by_call, w.ordering_window_s, w.consecutive_failures >= @breaker AS probe
	FROM webhooks w LEFT JOIN busy b ON b.webhook_id = w.id
	WHERE w.enabled AND w.next_due_at IS NOT NULL AND w.next_due_at <= @now
		AND (w.paused_until IS NULL OR w.paused_until <= @now)
		AND coalesce(b.n, 0) < ` + capSQL + `
), cand AS (
	SELECT r.account_id, c.id, c.next_attempt_at, r.timeout_ms, r.max_attempts, r.signing_secret, r.previous_secret, r.previous_secret_expires_at, r.probe
	FROM room r CROSS JOIN LATERAL (
		-- By webhook alone (it implies the account): naming the account too
		-- led the planner to the account's (account_id, webhook_id, id)
		-- index, the webhook's whole history, sorted on every claim.
		SELECT d.id, d.next_attempt_at FROM deliveries d
		WHERE d.webhook_id = r.id AND d.status = ` + sqlPending + ` AND d.next_attempt_at <= @now
			AND ` + unexpiredD + ` AND NOT (` + heldD + `)
		ORDER BY d.next_attempt_at
		LIMIT r.room
		FOR UPDATE SKIP LOCKED
	) c
	ORDER BY c.next_attempt_at
	LIMIT @limit
)
UPDATE deliveries d SET status = @sending, attempt_count = d.attempt_count + 1, lease_holder = @holder,
	lease_until = CAST(@now AS timestamptz) + make_interval(secs => p.timeout_ms / 1000.0 + @margin), updated_at = @now
FROM cand p
WHERE d.account_id = p.account_id AND d.id = p.id
RETURNING d.*, (SELECT count(*) FROM attempts a WHERE a.account_id = d.account_id AND a.delivery_id = d.id AND a.trigger = @manual) AS manual_attempts,
	p.timeout_ms AS w_timeout_ms, p.max_attempts AS w_max_attempts, p.signing_secret AS w_signing_secret,
	p.previous_secret AS w_previous_secret, p.previous_secret_expires_at AS w_previous_secret_expires_at, p.probe AS w_probe`

// capSQL is the in-flight cap of webhook w in claimSQL: one for a
// half-open webhook (the probe: its breaker tripped and the pause is over,
// see breaker.go) and for one the caller names in @reduced (its receiver
// answered slowly or with a huge body, see ClaimReduced), a quarter for one
// on a failure streak, the full cap otherwise.
const capSQL = `(CASE WHEN w.consecutive_failures >= @breaker OR w.id = ANY(CAST(@reduced AS text[])) THEN 1
		WHEN w.consecutive_failures > 0 THEN CAST(@failing_cap AS int)
		ELSE CAST(@cap AS int) END)`

// The claim's per-delivery conditions: not past its deadline, and not
// held behind an earlier open delivery of its call (see order.go).
var (
	unexpiredD = unexpired("d")
	heldD      = heldBehind("d", "r", openStatuses)
)

// claimRow is a leased delivery plus the webhook settings sending needs,
// returned by claimSQL so no second query is needed.
type claimRow struct {
	Delivery                 `gorm:"embedded"`
	ManualAttempts           int        `gorm:"column:manual_attempts"`
	WTimeoutMS               int        `gorm:"column:w_timeout_ms"`
	WMaxAttempts             int        `gorm:"column:w_max_attempts"`
	WSigningSecret           string     `gorm:"column:w_signing_secret"`
	WPreviousSecret          string     `gorm:"column:w_previous_secret"`
	WPreviousSecretExpiresAt *time.Time `gorm:"column:w_previous_secret_expires_at"`
	WProbe                   bool       `gorm:"column:w_probe"`
}

// Claim leases up to limit due deliveries of enabled webhooks to holder (a
// dispatcher id, see Heartbeat), using SKIP LOCKED so concurrent
// dispatchers never claim the same row. inFlight is the
// caller's count of requests in flight per webhook; no webhook gets more
// than perWebhook in flight in that caller. (The cap is per process:
// counting 'sending' rows in the database instead cost a scan of every
// recently finished delivery on each claim.)
func (s *Store) Claim(ctx context.Context, now time.Time, limit, perWebhook int, inFlight map[string]int, holder string) ([]Claimed, error) {
	return s.ClaimReduced(ctx, now, limit, perWebhook, inFlight, nil, holder)
}

// ClaimReduced is Claim where the webhooks in reduced get one delivery in
// flight although their attempts succeed: the caller
// saw their receivers answer near the timeout or with bodies past what it
// drains, so at the full cap they would hold its workers and connections.
func (s *Store) ClaimReduced(ctx context.Context, now time.Time, limit, perWebhook int, inFlight map[string]int, reduced []string, holder string) ([]Claimed, error) {
	if reduced == nil {
		reduced = []string{}
	}
	busy, err := json.Marshal(inFlight)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if inFlight == nil {
		busy = []byte("{}")
	}
	settle := s.settle.due(now)
	if settle {
		// Before the claim, so the deliveries an expired one released go now.
		if _, err := s.expireDue(ctx, now); err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
	}
	var rows []claimRow
	err = s.db.WithContext(ctx).Raw(claimSQL, map[string]any{
		"now": now, "cap": perWebhook, "failing_cap": failingCap(perWebhook), "limit": limit, "margin": leaseMargin.Seconds(), "busy": string(busy), "sending": string(StatusSending),
		"holder": holderOrNil(holder), "manual": string(TriggerManual), "breaker": BreakerFailures, "reduced": pgArray[string](reduced),
	}).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	var probes hookKeys
	for _, r := range rows {
		if r.WProbe {
			probes = append(probes, hookKey{r.AccountID, r.WebhookID})
		}
	}
	if err := s.leaseProbes(ctx, now, probes); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if settle {
		if _, err := s.settleDue(ctx, now); err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
	}
	out := make([]Claimed, len(rows))
	for i, r := range rows {
		out[i] = Claimed{Delivery: r.Delivery, Webhook: Webhook{ID: r.WebhookID, AccountID: r.AccountID, Enabled: true,
			TimeoutMS: r.WTimeoutMS, MaxAttempts: r.WMaxAttempts, SigningSecret: r.WSigningSecret,
			PreviousSecret: r.WPreviousSecret, PreviousSecretExpiresAt: r.WPreviousSecretExpiresAt}, ManualAttempts: r.ManualAttempts}
		if r.ManualRetry {
			// A bulk retry gave this ended delivery one more attempt: when
			// it fails, the delivery ends failed again (see Claimed.Trigger).
			out[i].PriorStatus = StatusFailed
		}
		if err := s.openClaimed(&out[i]); err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
	}
	return out, nil
}

// Outcome is one finished attempt and the delivery's next state.
type Outcome struct {
	Attempt       Attempt
	Status        DeliveryStatus // pending (retry), succeeded or failed
	NextAttemptAt *time.Time     // when Status is pending
	DisableReason string         // non-empty: disable the webhook now (410 Gone)
	LeaseHolder   string         // the lease the attempt ran under; the outcome applies only while it still holds
	Test          bool           // the delivery is a test (a test send or a test-mode key's): counted apart in the rollups
	// Degraded is set by the sender, never stored: why an attempt that
	// succeeded still showed a receiver in trouble (it answered near the
	// timeout, or with a body past what the sender drains).
	Degraded string
}

// AutoDisable is the failure rule: a webhook whose attempts failed Failures
// times in a row, over at least Window, is disabled with a recorded reason.
type AutoDisable struct {
	Failures int
	Window   time.Duration
	// Warn is the streak at which a webhook.failing event goes out (once
	// per streak); 0 or less: never.
	Warn int
}

// recordPlans has the recorder's statements run on a generic plan. Their
// best plan is the same whatever the batch (every column arrives as one
// array, every row is found by its primary key), yet PostgreSQL kept
// planning about half of them anew, over every partition of deliveries
// and attempts: 6.3 s of planning beside 27.6 s of execution for 40,000
// deliveries (pg_stat_statements, ringhook bench --phases B), where the
// claim and ingest were planned 48 times in all.
const recordPlans = "plan_cache_mode = force_generic_plan"

// Record writes a batch of attempts and the next state of their deliveries
// atomically, keeps each webhook's failure streak, and disables webhooks per
// the 410 and auto-disable rules. It returns the ids of the webhooks it
// disabled. When every attempt succeeded (the common case) it is a single
// statement: one round trip and one commit.
//
// Recorders run concurrently, and several of them may hold outcomes of the
// same webhooks: every statement that writes webhook rows locks them in
// key order first (see lockHooksInOrder), so two recorders never wait on
// each other in a cycle. Both paths run on a generic plan (recordPlans).
func (s *Store) Record(ctx context.Context, now time.Time, outs []Outcome, rule AutoDisable) ([]string, error) {
	if len(outs) == 0 {
		return nil, nil
	}
	failed := false
	for _, o := range outs {
		// A retry is always a failure of a non-test attempt: that path
		// puts its webhook back in the due set (healthSQL).
		if !o.Attempt.Succeeded() && o.Attempt.Trigger != TriggerTest || o.Status == StatusPending {
			failed = true
		}
	}
	if !failed {
		var okHooks hookKeys
		for _, o := range outs {
			if o.Attempt.Succeeded() {
				okHooks = append(okHooks, hookKey{o.Attempt.AccountID, o.Attempt.WebhookID})
			}
		}
		args := rollupArgs(rollupDeltas(outcomeAttempts(outs)), recordArgs(now, outs, okHooks.distinct()))
		if err := withLocal(s.db.WithContext(ctx), func(tx *gorm.DB) error {
			return tx.Exec(recordRollupSQL, args).Error
		}, recordPlans); err != nil {
			return nil, fmt.Errorf("record attempts: %w", err)
		}
		return nil, nil
	}
	ids, err := s.PublicIDs(ctx) // delivery.exhausted names the delivery by its public id
	if err != nil {
		return nil, err
	}
	var disabled []string
	var ops []opEvent // operational events, emitted once this commits
	err = withLocal(s.db.WithContext(ctx), func(tx *gorm.DB) error {
		if err := tx.Exec(recordSQL, recordArgs(now, outs, nil)).Error; err != nil {
			return fmt.Errorf("record attempts: %w", err)
		}
		var ended deliveryKeys
		for _, o := range outs {
			if o.Status == StatusFailed {
				ended.add(o.Attempt.AccountID, o.Attempt.DeliveryID)
			}
		}
		if err := releaseFollowers(tx, ended, now, false); err != nil {
			return err
		}
		var err error
		if disabled, ops, err = updateHealth(tx, outs, now, rule); err != nil {
			return err
		}
		exhausted, err := exhaustedEvents(tx, ids, autoEnded(outs))
		if err != nil {
			return err
		}
		ops = append(ops, exhausted...)
		// Last: after the webhook locks updateHealth took.
		return upsertRollups(tx, outcomeAttempts(outs))
	}, recordPlans)
	if err == nil {
		s.emit(ctx, now, ops...)
	}
	return disabled, err
}

// autoEnded are the deliveries of outs that ended failed after an
// automatic attempt (what delivery.exhausted reports).
func autoEnded(outs []Outcome) deliveryKeys {
	var ended deliveryKeys
	for _, o := range outs {
		if o.Status == StatusFailed && o.Attempt.Trigger == TriggerAuto && !o.Test {
			ended.add(o.Attempt.AccountID, o.Attempt.DeliveryID)
		}
	}
	return ended
}

// pgArray passes a slice as one PostgreSQL array parameter; GORM would
// otherwise expand it into a list of placeholders.
type pgArray[T any] []T

// Value hands the slice to pgx, which encodes it as an array.
func (a pgArray[T]) Value() (driver.Value, error) { return []T(a), nil }

// lockStreaksInOrder is lockHooksInOrder for the all-success path: it locks
// only the webhooks that have a streak to end. Locking every webhook of the
// batch serialized the concurrent recorders' commits on the same few rows
// (one fsync at a time) although nothing was written to them.
var lockStreaksInOrder = lockHooks(" AND consecutive_failures > 0")

// recordSQL inserts a batch of attempts, moves each delivery to its next
// state (only while this attempt still holds the lease: after an expired
// lease a newer attempt owns the row) and clears the failure streak of the
// webhooks named by hookKeysSQL that have one. Every column arrives as one array,
// so the text and the plan of the statement do not depend on the batch
// size. The EXISTS keeps a delivery deleted meanwhile (its webhook was
// deleted) from failing the whole batch on the foreign key.
var recordSQL = recordCTEs + recordUpdate

// recordRollupSQL is recordSQL that also adds the batch to the rollups in
// the same statement. The upsert reads the reset's output first, so the
// webhook locks are taken before the rollup rows', the order of every
// transaction that takes both (see Record).
var recordRollupSQL = recordCTEs + `, roll AS (
	` + rollupUpsert("WHERE (SELECT count(*) FROM reset) >= 0") + `
)` + recordUpdate

// recordCTEs are recordSQL's inputs and its writes besides the deliveries.
var recordCTEs = `
WITH o AS (
	SELECT * FROM unnest(CAST(@account_ids AS text[]), CAST(@delivery_ids AS bigint[]), CAST(@webhook_ids AS text[]),
		CAST(@numbers AS int[]), CAST(@triggers AS text[]), CAST(@started_ats AS timestamptz[]), CAST(@durations AS int[]),
		CAST(@request_methods AS text[]), CAST(@request_urls AS text[]), CAST(@request_headers AS text[]),
		CAST(@request_bodies AS text[]), CAST(@response_statuses AS int[]), CAST(@response_headers AS text[]),
		CAST(@response_bodies AS text[]), CAST(@error_kinds AS text[]), CAST(@error_messages AS text[]),
		CAST(@next_retry_ats AS timestamptz[]), CAST(@statuses AS text[]), CAST(@next_attempt_ats AS timestamptz[]),
		CAST(@last_errors AS text[]), CAST(@lease_holders AS text[]))
	AS o(account_id, delivery_id, webhook_id, number, trigger, started_at, duration_ms, request_method,
		request_url, request_headers, request_body, response_status, response_headers, response_body,
		error_kind, error_message, next_retry_at, status, next_attempt_at, last_error, lease_holder)
), ins AS (
	INSERT INTO attempts (account_id, delivery_id, webhook_id, number, trigger, started_at, duration_ms, request_method,
		request_url, request_headers, request_body, response_status, response_headers, response_body,
		error_kind, error_message, next_retry_at, bodies_dropped)
	SELECT account_id, delivery_id, webhook_id, number, trigger, started_at, duration_ms, request_method,
		request_url, CAST(request_headers AS jsonb), CASE WHEN k.drop THEN '' ELSE request_body END, response_status,
		CAST(response_headers AS jsonb), CASE WHEN k.drop THEN '' ELSE response_body END,
		error_kind, error_message, next_retry_at, k.drop
	FROM o
	-- An account that keeps bodies only for failures (failed_bodies_only,
	-- docs/privacy.md) records a success (Attempt.Succeeded) without them.
	CROSS JOIN LATERAL (SELECT coalesce((SELECT a.failed_bodies_only FROM accounts a WHERE a.id = o.account_id)
		AND o.error_kind = '' AND o.response_status BETWEEN 200 AND 299, false) AS drop) k
	WHERE EXISTS (SELECT 1 FROM deliveries x WHERE x.account_id = o.account_id AND x.id = o.delivery_id)
	ON CONFLICT (account_id, delivery_id, number) DO NOTHING
), reset AS (
	UPDATE webhooks SET consecutive_failures = 0, failing_since = NULL, paused_until = NULL, pause_trips = 0
	WHERE (account_id, id) IN (` + lockStreaksInOrder + `)
	RETURNING id
)`

// recordUpdate is recordSQL's main statement: each delivery's next state.
const recordUpdate = `
UPDATE deliveries d SET status = o.status, next_attempt_at = o.next_attempt_at, lease_until = NULL, lease_holder = NULL, manual_retry = false,
	last_status_code = o.response_status, last_error = o.last_error,
	completed_at = CASE WHEN o.status = @pending THEN NULL ELSE CAST(@now AS timestamptz) END, updated_at = @now
FROM o
WHERE d.account_id = o.account_id AND d.id = o.delivery_id AND d.status = @sending AND d.attempt_count = o.number
	AND d.lease_holder IS NOT DISTINCT FROM nullif(o.lease_holder, '')`

// recordArgs lays a batch out as the column arrays of recordSQL; resetHooks
// are the webhooks whose failure streak ends.
func recordArgs(now time.Time, outs []Outcome, resetHooks hookKeys) map[string]any {
	n := len(outs)
	var (
		accountIDs, webhookIDs, triggers, methods, urls, reqHeaders = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		reqBodies, resHeaders, resBodies, kinds, messages, statuses = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		lastErrors, holders                                         = make([]string, n), make([]string, n)
		deliveryIDs                                                 = make([]int64, n)
		numbers, durations                                          = make([]int, n), make([]int, n)
		resStatuses                                                 = make([]*int, n)
		startedAts                                                  = make([]time.Time, n)
		nextRetries, nextAttempts                                   = make([]*time.Time, n), make([]*time.Time, n)
	)
	for i, o := range outs {
		a := o.Attempt
		accountIDs[i], deliveryIDs[i], webhookIDs[i], numbers[i], triggers[i] = a.AccountID, a.DeliveryID, a.WebhookID, a.Number, string(a.Trigger)
		startedAts[i], durations[i], methods[i], urls[i] = a.StartedAt, a.DurationMS, a.RequestMethod, a.RequestURL
		reqHeaders[i], resHeaders[i] = headersJSON(a.RequestHeaders.V), headersJSON(a.ResponseHeaders.V)
		reqBodies[i], resStatuses[i], resBodies[i] = a.RequestBody, a.ResponseStatus, a.ResponseBody
		kinds[i], messages[i], nextRetries[i] = string(a.ErrorKind), a.ErrorMessage, a.NextRetryAt
		statuses[i], nextAttempts[i], lastErrors[i], holders[i] = string(o.Status), o.NextAttemptAt, a.lastError(), o.LeaseHolder
	}
	return resetHooks.args(map[string]any{
		"account_ids": pgArray[string](accountIDs), "delivery_ids": pgArray[int64](deliveryIDs), "webhook_ids": pgArray[string](webhookIDs),
		"numbers": pgArray[int](numbers), "triggers": pgArray[string](triggers), "started_ats": pgArray[time.Time](startedAts),
		"durations": pgArray[int](durations), "request_methods": pgArray[string](methods), "request_urls": pgArray[string](urls),
		"request_headers": pgArray[string](reqHeaders), "request_bodies": pgArray[string](reqBodies),
		"response_statuses": pgArray[*int](resStatuses), "response_headers": pgArray[string](resHeaders),
		"response_bodies": pgArray[string](resBodies), "error_kinds": pgArray[string](kinds), "error_messages": pgArray[string](messages),
		"next_retry_ats": pgArray[*time.Time](nextRetries), "statuses": pgArray[string](statuses),
		"next_attempt_ats": pgArray[*time.Time](nextAttempts), "last_errors": pgArray[string](lastErrors), "lease_holders": pgArray[string](holders),
		"now": now, "pending": string(StatusPending), "sending": string(StatusSending),
	})
}

// headersJSON encodes a header list for a jsonb column (never null).
func headersJSON(hs []Header) string {
	if hs == nil {
		return "[]"
	}
	b, err := json.Marshal(hs)
	if err != nil { // a []Header always encodes
		return "[]"
	}
	return string(b)
}

// lastError is what the delivery log shows for this attempt.
func (a *Attempt) lastError() string {
	if a.ErrorMessage == "" && a.ErrorKind == ErrKindHTTPStatus && a.ResponseStatus != nil {
		return fmt.Sprintf("HTTP %d", *a.ResponseStatus)
	}
	return a.ErrorMessage
}

// healthSQL moves each webhook's consecutive-failure streak by one batch's
// outcomes in one statement: a batch without failures ends the streak, one
// whose last success came before failures restarts it at those failures,
// and one with failures only extends it. A webhook whose deliveries retry
// is put back in the due set at the earliest retry (the row is locked
// before next_due_at is read, see markDueSQL). Rows are locked in key order.
// Failures that bring the streak to BreakerFailures pause the webhook
// (breaker.go); a success clears the pause.
var healthSQL = `
UPDATE webhooks w SET
	consecutive_failures = ` + newStreakSQL + `,
	failing_since = CASE WHEN s.fails = 0 THEN NULL WHEN s.reset THEN s.first_fail ELSE coalesce(w.failing_since, s.first_fail) END,
	paused_until = CASE WHEN ` + tripsSQL + ` THEN CAST(@now AS timestamptz) + make_interval(secs => ` + pauseSecondsSQL(priorTripsSQL) + `)
		WHEN s.fails = 0 OR s.reset THEN NULL ELSE w.paused_until END,
	pause_trips = CASE WHEN ` + tripsSQL + ` THEN ` + priorTripsSQL + ` + 1 WHEN s.fails = 0 OR s.reset THEN 0 ELSE w.pause_trips END,
	next_due_at = CASE WHEN s.due IS NULL THEN w.next_due_at ELSE least(coalesce(w.next_due_at, s.due), s.due) END
FROM unnest(CAST(@hook_accounts AS text[]), CAST(@hook_ids AS text[]), CAST(@resets AS bool[]), CAST(@fails AS int[]),
	CAST(@first_fails AS timestamptz[]), CAST(@dues AS timestamptz[])) AS s(account_id, id, reset, fails, first_fail, due)
WHERE w.account_id = s.account_id AND w.id = s.id AND (w.account_id, w.id) IN (` + lockHooksInOrder + `)
RETURNING w.id, w.account_id, w.enabled, w.consecutive_failures, w.failing_since, w.name, w.url`

// healthSQL's pieces: the streak after the batch; whether the batch trips
// the breaker (failures that bring the streak to BreakerFailures or past
// it: each such batch pauses the webhook again, for longer, see
// breaker.go); and the trips of the streak before the batch.
const (
	newStreakSQL  = `(CASE WHEN s.fails = 0 THEN 0 WHEN s.reset THEN s.fails ELSE w.consecutive_failures + s.fails END)`
	priorTripsSQL = `(CASE WHEN s.reset THEN 0 ELSE w.pause_trips END)`
)

var tripsSQL = fmt.Sprintf("(s.fails > 0 AND %s >= %d)", newStreakSQL, BreakerFailures)

// updateHealth keeps each webhook's consecutive-failure streak and applies
// the disable rules; it returns the webhooks it disabled and the
// operational events to emit (webhook.failing, webhook.disabled).
func updateHealth(tx *gorm.DB, outs []Outcome, now time.Time, rule AutoDisable) ([]string, []opEvent, error) {
	type streak struct {
		reset     bool // a success in this batch restarts the streak
		fails     int  // failures after the last success
		firstFail *time.Time
		reason410 string
		lastErr   string
		due       *time.Time // earliest retry
	}
	byHook := map[hookKey]*streak{}
	for _, o := range outs {
		if o.Attempt.Trigger == TriggerTest {
			continue // a test of a broken endpoint should not disable it
		}
		k := hookKey{o.Attempt.AccountID, o.Attempt.WebhookID}
		st := byHook[k]
		if st == nil {
			st = &streak{}
			byHook[k] = st
		}
		if o.Status == StatusPending && o.NextAttemptAt != nil && (st.due == nil || o.NextAttemptAt.Before(*st.due)) {
			st.due = o.NextAttemptAt
		}
		if o.Attempt.Succeeded() {
			st.reset, st.fails, st.firstFail = true, 0, nil
			continue
		}
		if st.fails == 0 {
			at := o.Attempt.StartedAt
			st.firstFail = &at
		}
		st.fails++
		st.lastErr = o.Attempt.lastError()
		if o.DisableReason != "" {
			st.reason410 = o.DisableReason
		}
	}
	hooks := hookKeys(slices.SortedFunc(maps.Keys(byHook), hookKey.compare))
	resets, fails, firstFails, dues := make([]bool, len(hooks)), make([]int, len(hooks)), make([]*time.Time, len(hooks)), make([]*time.Time, len(hooks))
	for i, k := range hooks {
		resets[i], fails[i], firstFails[i], dues[i] = byHook[k].reset, byHook[k].fails, byHook[k].firstFail, byHook[k].due
	}
	var rows []struct {
		ID                  string
		AccountID           string
		Enabled             bool
		ConsecutiveFailures int
		FailingSince        *time.Time
		Name                string
		URL                 string
	}
	if err := tx.Raw(healthSQL, hooks.args(map[string]any{"resets": pgArray[bool](resets),
		"fails": pgArray[int](fails), "first_fails": pgArray[*time.Time](firstFails), "dues": pgArray[*time.Time](dues), "now": now})).Scan(&rows).Error; err != nil {
		return nil, nil, fmt.Errorf("record webhook health: %w", err)
	}
	sort.Slice(rows, func(i, j int) bool {
		return hookKey{rows[i].AccountID, rows[i].ID}.compare(hookKey{rows[j].AccountID, rows[j].ID}) < 0
	})
	var disabled []string
	var ops []opEvent
	for _, w := range rows {
		st := byHook[hookKey{w.AccountID, w.ID}]
		if !w.Enabled || st == nil {
			continue
		}
		hook := &Webhook{ID: w.ID, AccountID: w.AccountID, Name: w.Name, URL: w.URL, ConsecutiveFailures: w.ConsecutiveFailures}
		// Crossed the warning threshold in this batch: before it the
		// streak was below (a reset restarted it from zero).
		if before := w.ConsecutiveFailures - st.fails; rule.Warn > 0 && st.fails > 0 && w.ConsecutiveFailures >= rule.Warn && before < rule.Warn {
			ops = append(ops, opEvent{accountID: w.AccountID, about: w.ID, typ: catalog.WebhookFailing, hook: hook,
				fields: map[string]any{"failure_count": int64(w.ConsecutiveFailures), "last_error": st.lastErr}})
		}
		reason := st.reason410
		if reason == "" && rule.Failures > 0 && w.ConsecutiveFailures >= rule.Failures && w.FailingSince != nil && now.Sub(*w.FailingSince) >= rule.Window {
			// No clock time in the text: the console shows disabled_at in the
			// account's zone beside it.
			reason = fmt.Sprintf("Disabled automatically after %d failed attempts in a row over %s (last: %s).",
				w.ConsecutiveFailures, streakSpan(now.Sub(*w.FailingSince)), st.lastErr)
		}
		if reason == "" {
			continue
		}
		// Disabled automatically: probed from ProbeDelay(0) on (probe.go).
		if err := tx.Exec(`UPDATE webhooks SET enabled = false, disabled_reason = @reason, disabled_at = @now, updated_at = @now,
			updated_by = @by, disabled_auto = true, probe_next_at = @probe, probe_count = 0, probe_last_at = NULL, probe_last_result = '',
			probe_lease_holder = NULL, probe_lease_until = NULL, probe_gave_up_at = NULL, healed_at = NULL, healed_replayed = 0
			WHERE account_id = @account AND id = @id AND enabled`, map[string]any{"reason": reason, "now": now, "account": w.AccountID, "id": w.ID, "by": systemActor.Label,
			"probe": now.Add(ProbeDelay(0))}).Error; err != nil {
			return nil, nil, fmt.Errorf("auto-disable webhook: %w", err)
		}
		if err := audit(tx, w.AccountID, systemActor, "webhook.auto_disabled", "webhook", w.ID, nil, map[string]any{"reason": reason}, now); err != nil {
			return nil, nil, err
		}
		disabled = append(disabled, w.ID)
		ops = append(ops, disabledEvent(hook, reason, true, systemActor.Label))
	}
	return disabled, ops, nil
}

// ReapExpired returns deliveries whose lease ran out (their worker died) to
// the queue, due now. The attempt number is handed back too, since no
// attempt was recorded for it.
func (s *Store) ReapExpired(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.requeue(ctx, now, `UPDATE deliveries SET status = @pending, lease_until = NULL, lease_holder = NULL, next_attempt_at = @now,
		attempt_count = greatest(attempt_count - 1, 0), updated_at = @now WHERE status = `+sqlSending+` AND lease_until < @now
		RETURNING account_id, webhook_id`, map[string]any{"pending": string(StatusPending), "now": now})
	if err != nil {
		return 0, fmt.Errorf("reap expired leases: %w", err)
	}
	return n, nil
}

// requeue runs an UPDATE that makes deliveries pending, due now, and
// returns their account_id and webhook_id, then puts those webhooks in the
// due set, in one transaction.
func (s *Store) requeue(ctx context.Context, now time.Time, update string, args map[string]any) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var hooks hookKeys
		if err := tx.Raw(update, args).Scan(&hooks).Error; err != nil {
			return err
		}
		n = int64(len(hooks))
		return markDue(tx, hooks, now, false)
	})
	return n, err
}

// holderOrNil stores an empty holder as NULL.
func holderOrNil(holder string) *string {
	if holder == "" {
		return nil
	}
	return &holder
}

// Heartbeat registers dispatcher id (host and pid describe it for
// operators) or refreshes its beat. Leases held by a dispatcher whose beat
// is older than ReapStale's cut-off go back to the queue.
func (s *Store) Heartbeat(ctx context.Context, id, host string, pid int, now time.Time) error {
	err := s.db.WithContext(ctx).Exec(`INSERT INTO dispatchers (id, host, pid, started_at, beat_at) VALUES (@id, @host, @pid, @now, @now)
		ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at`, map[string]any{"id": id, "host": host, "pid": pid, "now": now}).Error
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// Unregister removes dispatcher id after a clean stop.
func (s *Store) Unregister(ctx context.Context, id string) error {
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM dispatchers WHERE id = @id`, map[string]any{"id": id}).Error; err != nil {
		return fmt.Errorf("unregister dispatcher: %w", err)
	}
	return nil
}

// ReapStale returns to the queue, due now, the deliveries leased by
// dispatchers other than self whose last beat is before staleBefore (they
// crashed or lost the database), handing their attempt numbers back, then
// forgets those dispatchers once they hold nothing.
func (s *Store) ReapStale(ctx context.Context, now, staleBefore time.Time, self string) (int64, error) {
	args := map[string]any{"pending": string(StatusPending), "now": now, "stale": staleBefore, "self": self}
	n, err := s.requeue(ctx, now, `UPDATE deliveries SET status = @pending, lease_until = NULL, lease_holder = NULL, next_attempt_at = @now,
		attempt_count = greatest(attempt_count - 1, 0), updated_at = @now
		WHERE `+sqlLeased+` AND lease_holder IN (SELECT id FROM dispatchers WHERE beat_at < @stale AND id <> @self)
		RETURNING account_id, webhook_id`, args)
	if err != nil {
		return 0, fmt.Errorf("reap leases of stale dispatchers: %w", err)
	}
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM dispatchers p WHERE beat_at < @stale AND id <> @self
		AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE `+sqlLeased+` AND d.lease_holder = p.id)`, args).Error; err != nil {
		return 0, fmt.Errorf("forget stale dispatchers: %w", err)
	}
	return n, nil
}

// ClaimOne leases one delivery of the account to holder for a manual
// redelivery, whatever its state, unless an attempt is in flight right now.
func (s *Store) ClaimOne(ctx context.Context, accountID string, deliveryID int64, now time.Time, holder string) (*Claimed, error) {
	var out *Claimed
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var d Delivery
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = @account AND id = @id", map[string]any{"account": accountID, "id": deliveryID}).
			Take(&d).Error; err != nil {
			return fmt.Errorf("redeliver: %w", notFound(err))
		}
		if d.Status == StatusSending && d.LeaseUntil != nil && d.LeaseUntil.After(now) {
			return fmt.Errorf("redeliver: %w", ErrInFlight)
		}
		if d.RequestMethod == "" {
			return fmt.Errorf("redeliver: %w", ErrUnrenderable)
		}
		var w Webhook
		if err := tx.Unscoped().Where("account_id = @account AND id = @id", map[string]any{"account": accountID, "id": d.WebhookID}).Take(&w).Error; err != nil {
			return fmt.Errorf("redeliver: %w", notFound(err))
		}
		if w.Deleted() {
			return ErrWebhookDeleted
		}
		if err := s.openWebhook(&w); err != nil {
			return fmt.Errorf("redeliver: %w", err)
		}
		if err := s.openDelivery(&d); err != nil {
			return fmt.Errorf("redeliver: %w", err)
		}
		lease := now.Add(w.Timeout() + leaseMargin)
		prior := d.Status
		// next_attempt_at is left as it was: the automatic schedule a
		// failed redelivery returns to (see Claimed.PriorStatus).
		d.Status, d.AttemptCount, d.LeaseUntil, d.LeaseHolder, d.UpdatedAt, d.CompletedAt = StatusSending, d.AttemptCount+1, &lease, holderOrNil(holder), now, nil
		if err := saveLease(tx, &d, "status", "attempt_count", "lease_until", "lease_holder", "updated_at", "completed_at"); err != nil {
			return fmt.Errorf("redeliver: lease: %w", err)
		}
		out = &Claimed{Delivery: d, Webhook: w, PriorStatus: prior}
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

// streakSpan writes how long a failure streak lasted, to the minute
// ("1h5m", "45m"; "under a minute").
func streakSpan(d time.Duration) string {
	d = d.Truncate(time.Minute)
	if d <= 0 {
		return "under a minute"
	}
	return strings.TrimSuffix(d.String(), "0s")
}
