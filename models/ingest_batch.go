package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ringhook/ringhook/models/fault"
)

// MaxIngestBatch is the most events one IngestBatch (and one
// POST /api/v1/events/batch) takes.
const MaxIngestBatch = 500

// ingestEventCTEs insert a batch of events (the ids unique within it) and
// return the ids that were new as ev: ids claims each id in the event_ids
// ledger, ev stores the events whose claim succeeded. That is the
// events_claim_id trigger's work (migration 0033) done for the whole batch
// in one insert instead of once per row; the trigger stands aside in
// transactions that set claimedIDs (migration 0036). Every column is one
// array parameter, so the statement text does not depend on the batch
// size.
const ingestEventCTEs = `
ids AS (
	INSERT INTO event_ids (account_id, id, received_at)
	SELECT @account, id, @now FROM unnest(CAST(@ids AS text[])) AS id
	ON CONFLICT DO NOTHING
	RETURNING id
), ev AS (
	INSERT INTO events (account_id, id, type, occurred_at, call_id, payload, received_at)
	SELECT @account, e.id, e.type, e.occurred_at, e.call_id, CAST(e.payload AS jsonb), @now
	FROM unnest(CAST(@ids AS text[]), CAST(@types AS text[]), CAST(@occurred_ats AS timestamptz[]),
		CAST(@call_ids AS text[]), CAST(@payloads AS text[])) AS e(id, type, occurred_at, call_id, payload)
	WHERE e.id IN (SELECT id FROM ids)
	RETURNING id
)`

// claimedIDs is the setting under which ingest's transactions claim event
// ids themselves (ingestEventCTEs), so the per-row trigger skips them.
const claimedIDs = "ringhook.event_ids_claimed = on"

// ingestEventsSQL stores a batch of events and returns the ids that were
// new; an id already stored is skipped, as in single ingest.
const ingestEventsSQL = `WITH ` + ingestEventCTEs + ` SELECT id FROM ev`

// ingestWithDeliveriesSQL is ingestEventsSQL that also inserts the
// deliveries planned for the events, in the same statement: only those of
// events that were new (a duplicate's rendered deliveries are dropped),
// puts their webhooks in the due set (markDueSQL's update) and notifies
// dispatchers when something was queued. It returns one row per new event
// (kind 'e') and one per delivery inserted (kind 'd', with its webhook and
// status). The transaction already holds a key share lock on every
// candidate webhook (planBatch), so settleDue cannot clear a webhook's due
// time meanwhile and the update may skip webhooks already due earlier, as
// markDue does for inserted deliveries.
var ingestWithDeliveriesSQL = `
WITH ` + ingestEventCTEs + `,
d AS (
	INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type, call_id, occurred_at, expires_at, status, test,
		attempt_count, next_attempt_at, last_error, request_method, request_url, request_headers, request_body,
		created_at, updated_at, completed_at)
	SELECT delivery_row_id(@now), @account, x.webhook_id, x.event_id, x.event_type, x.call_id, x.occurred_at, x.expires_at, x.status, x.test,
		0, x.next_attempt_at, x.last_error, x.method, x.url, CAST(x.headers AS jsonb), x.body, @now, @now, x.completed_at
	FROM unnest(CAST(@d_webhooks AS text[]), CAST(@d_events AS text[]), CAST(@d_types AS text[]), CAST(@d_calls AS text[]),
		CAST(@d_occurred AS timestamptz[]), CAST(@d_expires AS timestamptz[]), CAST(@d_status AS text[]), CAST(@d_test AS boolean[]),
		CAST(@d_next AS timestamptz[]), CAST(@d_errors AS text[]), CAST(@d_methods AS text[]), CAST(@d_urls AS text[]),
		CAST(@d_headers AS text[]), CAST(@d_bodies AS bytea[]), CAST(@d_completed AS timestamptz[]))
		AS x(webhook_id, event_id, event_type, call_id, occurred_at, expires_at, status, test, next_attempt_at, last_error,
			method, url, headers, body, completed_at)
	WHERE x.event_id IN (SELECT id FROM ev)
	RETURNING event_id, webhook_id, status
),
due AS (
	UPDATE webhooks w SET next_due_at = least(coalesce(w.next_due_at, CAST(@now AS timestamptz)), CAST(@now AS timestamptz))
	FROM (SELECT id FROM webhooks WHERE account_id = @account AND id IN (SELECT webhook_id FROM d WHERE status = 'pending')
		AND (next_due_at IS NULL OR next_due_at > @now) ORDER BY id FOR NO KEY UPDATE) l
	WHERE w.account_id = @account AND w.id = l.id
)
SELECT 'e' AS kind, id AS event_id, '' AS webhook_id, '' AS status FROM ev
UNION ALL SELECT 'd', event_id, webhook_id, status FROM d
UNION ALL SELECT 'n', '', '', '' FROM (SELECT pg_notify(@channel, '') FROM (SELECT 1 FROM d WHERE status = 'pending' LIMIT 1) q) n`

// IngestBatch is Ingest for up to MaxIngestBatch events of one account, in
// one transaction and a fixed number of statements whatever the batch
// size: the account's candidate webhooks loaded once, the events and every
// delivery in one insert, the due set and the notification in one more.
// It returns one result per event, in order. An event id already stored,
// or repeated earlier in the batch, reports Duplicate and creates nothing
// (its Deliveries are those of the stored event, or of the first copy in
// the batch). Either everything is stored or, on error, nothing.
func (s *Store) IngestBatch(ctx context.Context, accountID string, evs []*Event, plan PlanFunc) ([]IngestResult, error) {
	if len(evs) > MaxIngestBatch {
		return nil, fault.Errorf(fault.ErrTooLarge, "A batch holds at most %d events; this one has %d.", MaxIngestBatch, len(evs))
	}
	out := make([]IngestResult, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	now := s.now()
	s.writingHistory(ctx, now)
	first := make(map[string]int, len(evs)) // event id → index of its first copy
	uniq := make([]*Event, 0, len(evs))
	ids, types, calls, payloads := make([]string, 0, len(evs)), make([]string, 0, len(evs)), make([]*string, 0, len(evs)), make([]string, 0, len(evs))
	occurred := make([]time.Time, 0, len(evs))
	for i, ev := range evs {
		if ev.AccountID != accountID {
			return nil, fmt.Errorf("ingest batch: event %q belongs to another account", ev.ID)
		}
		out[i].EventID = ev.ID
		if _, seen := first[ev.ID]; seen {
			continue
		}
		first[ev.ID] = i
		ev.ReceivedAt = now
		body, err := json.Marshal(ev.Payload.V)
		if err != nil {
			return nil, fmt.Errorf("ingest batch: encode event %q: %w", ev.ID, err)
		}
		uniq = append(uniq, ev)
		ids, types, calls, payloads = append(ids, ev.ID), append(types, ev.Type), append(calls, ev.CallID), append(payloads, string(body))
		occurred = append(occurred, ev.OccurredAt)
	}
	eventArgs := map[string]any{"account": accountID, "now": now, "ids": pgArray[string](ids),
		"types": pgArray[string](types), "occurred_ats": pgArray[time.Time](occurred), "call_ids": pgArray[*string](calls),
		"payloads": pgArray[string](payloads)}
	err := withLocal(s.db.WithContext(ctx), func(tx *gorm.DB) error {
		// Planned for every event before knowing which are new, so the
		// events and their deliveries go in one statement; a duplicate's
		// plan is dropped by that statement.
		planned, err := s.planBatch(tx, accountID, uniq, plan)
		if err != nil {
			return err
		}
		var isNew map[string]bool
		perEvent := map[string]int{}
		if hasRenderFailure(planned) {
			// Rare: render failures need their delivery ids for the
			// attempt rows, which insertDeliveries writes.
			if isNew, err = insertEvents(tx, eventArgs); err != nil {
				return err
			}
			kept := planned[:0]
			for _, p := range planned {
				if isNew[p.Event.ID] {
					kept = append(kept, p)
					perEvent[p.Event.ID]++
				}
			}
			if _, err := s.insertDeliveries(tx, nil, kept, now); err != nil {
				return err
			}
		} else if isNew, err = s.insertEventsAndDeliveries(tx, eventArgs, planned, perEvent, now); err != nil {
			return err
		}
		var dups []string
		for _, ev := range uniq {
			if !isNew[ev.ID] {
				dups = append(dups, ev.ID)
			}
		}
		counts, err := deliveryCounts(tx, accountID, dups)
		if err != nil {
			return err
		}
		for id, n := range perEvent {
			counts[id] = n
		}
		for i, ev := range evs {
			out[i].Deliveries = counts[ev.ID]
			out[i].Duplicate = first[ev.ID] != i || !isNew[ev.ID]
		}
		return nil
	}, claimedIDs)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func hasRenderFailure(planned []NewDelivery) bool {
	for _, p := range planned {
		if p.RenderErr != "" {
			return true
		}
	}
	return false
}

// insertEvents runs ingestEventsSQL and returns the ids that were new.
func insertEvents(tx *gorm.DB, args map[string]any) (map[string]bool, error) {
	rows, err := tx.Raw(ingestEventsSQL, args).Rows()
	if err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	defer rows.Close()
	isNew := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store events: %w", err)
		}
		isNew[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	return isNew, nil
}

// insertEventsAndDeliveries stores the events and the planned deliveries
// of the new ones in one statement (ingestWithDeliveriesSQL), which also
// puts the webhooks with pending deliveries in the due set and notifies
// dispatchers, and counts the deliveries per event into perEvent. It
// returns the ids that were new.
// Nothing planned may have a render failure.
func (s *Store) insertEventsAndDeliveries(tx *gorm.DB, args map[string]any, planned []NewDelivery, perEvent map[string]int, now time.Time) (map[string]bool, error) {
	n := len(planned)
	var (
		hooks, events, types, status, errs, methods, urls, headers = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		calls                              = make([]*string, n)
		occurred, expires, next, completed = make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
		tests                              = make([]bool, n)
		bodies                             = make([][]byte, n)
	)
	for i, p := range planned {
		d, err := s.deliveryRow(p.Event, p, now)
		if err != nil {
			return nil, err
		}
		hb, err := json.Marshal(d.RequestHeaders.V)
		if err != nil {
			return nil, fmt.Errorf("store deliveries: %w", err)
		}
		hooks[i], events[i], types[i], calls[i] = d.WebhookID, d.EventID, d.EventType, d.CallID
		occurred[i], expires[i], status[i], tests[i] = d.OccurredAt, d.ExpiresAt, string(d.Status), d.Test
		next[i], errs[i], methods[i], urls[i] = d.NextAttemptAt, d.LastError, d.RequestMethod, d.RequestURL
		headers[i], bodies[i], completed[i] = string(hb), d.RequestBody, d.CompletedAt
	}
	args["d_webhooks"], args["d_events"], args["d_types"], args["d_calls"] = pgArray[string](hooks), pgArray[string](events), pgArray[string](types), pgArray[*string](calls)
	args["d_occurred"], args["d_expires"], args["d_status"], args["d_test"] = pgArray[*time.Time](occurred), pgArray[*time.Time](expires), pgArray[string](status), pgArray[bool](tests)
	args["d_next"], args["d_errors"], args["d_methods"], args["d_urls"] = pgArray[*time.Time](next), pgArray[string](errs), pgArray[string](methods), pgArray[string](urls)
	args["d_headers"], args["d_bodies"], args["d_completed"] = pgArray[string](headers), pgArray[[]byte](bodies), pgArray[*time.Time](completed)
	args["channel"] = notifyChannel
	rows, err := tx.Raw(ingestWithDeliveriesSQL, args).Rows()
	if err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	defer rows.Close()
	isNew := map[string]bool{}
	for rows.Next() {
		var kind, eventID, hookID, status string
		if err := rows.Scan(&kind, &eventID, &hookID, &status); err != nil {
			return nil, fmt.Errorf("store events: %w", err)
		}
		switch kind {
		case "e":
			isNew[eventID] = true
		case "d":
			perEvent[eventID]++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store events: %w", err)
	}
	return isNew, nil
}

// deliveryCounts is how many deliveries each of the given stored events
// has, for reporting duplicates.
func deliveryCounts(tx *gorm.DB, accountID string, eventIDs []string) (map[string]int, error) {
	counts := map[string]int{}
	if len(eventIDs) == 0 {
		return counts, nil
	}
	var rows []struct {
		EventID string
		N       int
	}
	if err := tx.Raw(`SELECT event_id, count(*) AS n FROM deliveries WHERE account_id = @account AND event_id = ANY(CAST(@ids AS text[])) GROUP BY event_id`,
		map[string]any{"account": accountID, "ids": pgArray[string](eventIDs)}).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	for _, r := range rows {
		counts[r.EventID] = r.N
	}
	return counts, nil
}

// planBatch loads the account's enabled webhooks for any of the events'
// types once, matches each event against them, and returns the planned
// deliveries, each naming its event.
func (s *Store) planBatch(tx *gorm.DB, accountID string, evs []*Event, plan PlanFunc) ([]NewDelivery, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	typeSet := map[string]bool{}
	var types []string
	for _, ev := range evs {
		if !typeSet[ev.Type] {
			typeSet[ev.Type] = true
			types = append(types, ev.Type)
		}
	}
	var hooks []Webhook
	// FOR KEY SHARE, in id order: what the deliveries' foreign keys would
	// take anyway, taken before the insert so that settleDue (FOR UPDATE
	// SKIP LOCKED) leaves these webhooks' due times alone until commit.
	if err := tx.Where("account_id = @account AND enabled AND event_types && CAST(@types AS text[])", map[string]any{"account": accountID, "types": pgArray[string](types)}).
		Order("id").Clauses(clause.Locking{Strength: "KEY SHARE"}).Find(&hooks).Error; err != nil {
		return nil, fmt.Errorf("match webhooks: %w", err)
	}
	if err := s.openWebhooks(hooks); err != nil {
		return nil, fmt.Errorf("match webhooks: %w", err)
	}
	var planned []NewDelivery
	for _, ev := range evs {
		var matched []Webhook
		for _, w := range hooks {
			if w.handles(ev.Type) && w.Matches(ev.Payload.V) {
				matched = append(matched, w)
			}
		}
		if len(matched) == 0 {
			continue
		}
		nds := plan(ev, matched)
		for i := range nds {
			nds[i].Event = ev
		}
		planned = append(planned, nds...)
	}
	return planned, nil
}

// handles reports whether the webhook subscribes to the event type.
func (w *Webhook) handles(eventType string) bool {
	for _, t := range w.EventTypes {
		if t == eventType {
			return true
		}
	}
	return false
}
