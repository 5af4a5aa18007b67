package models

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models/fault"
)

// MaxIngestBatch is the most events one IngestBatch (and one
// POST /api/v1/events/batch) takes.
const MaxIngestBatch = 500

// ingestEventsSQL inserts a batch of events in one statement and returns
// the ids that were new; an id already stored (or repeated in the batch) is
// skipped by ON CONFLICT, as in single ingest. Every column is one array
// parameter, so the statement text does not depend on the batch size.
const ingestEventsSQL = `
INSERT INTO events (account_id, id, type, occurred_at, call_id, payload, received_at)
SELECT @account, e.id, e.type, e.occurred_at, e.call_id, CAST(e.payload AS jsonb), @now
FROM unnest(CAST(@ids AS text[]), CAST(@types AS text[]), CAST(@occurred_ats AS timestamptz[]),
	CAST(@call_ids AS text[]), CAST(@payloads AS text[])) AS e(id, type, occurred_at, call_id, payload)
ON CONFLICT DO NOTHING
RETURNING id`

// IngestBatch is Ingest for up to MaxIngestBatch events of one account, in
// one transaction and a fixed number of statements whatever the batch
// size: the events in one insert, the account's candidate webhooks loaded
// once, every delivery in one insert, one notify. It returns one result per
// event, in order. An event id already stored, or repeated earlier in the
// batch, reports Duplicate and creates nothing (its Deliveries are those of
// the stored event, or of the first copy in the batch). Either everything
// is stored or, on error, nothing.
func (s *Store) IngestBatch(ctx context.Context, accountID string, evs []*Event, plan PlanFunc) ([]IngestResult, error) {
	if len(evs) > MaxIngestBatch {
		return nil, fault.Errorf(fault.ErrTooLarge, "A batch holds at most %d events; this one has %d.", MaxIngestBatch, len(evs))
	}
	out := make([]IngestResult, len(evs))
	if len(evs) == 0 {
		return out, nil
	}
	now := s.now()
	first := make(map[string]int, len(evs)) // event id → index of its first copy
	var uniq []*Event
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
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var inserted []string
		if err := tx.Raw(ingestEventsSQL, map[string]any{"account": accountID, "now": now, "ids": pgArray[string](ids),
			"types": pgArray[string](types), "occurred_ats": pgArray[time.Time](occurred), "call_ids": pgArray[*string](calls),
			"payloads": pgArray[string](payloads)}).Scan(&inserted).Error; err != nil {
			return fmt.Errorf("store events: %w", err)
		}
		isNew := make(map[string]bool, len(inserted))
		for _, id := range inserted {
			isNew[id] = true
		}
		var fresh []*Event
		var dups []string
		for _, ev := range uniq {
			if isNew[ev.ID] {
				fresh = append(fresh, ev)
			} else {
				dups = append(dups, ev.ID)
			}
		}
		counts, err := deliveryCounts(tx, accountID, dups)
		if err != nil {
			return err
		}
		planned, perEvent, err := s.planBatch(tx, accountID, fresh, plan)
		if err != nil {
			return err
		}
		if _, err := s.insertDeliveries(tx, nil, planned, now); err != nil {
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
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
// types once, matches each event against them as Ingest does, and returns
// the planned deliveries (each naming its event) with a count per event.
func (s *Store) planBatch(tx *gorm.DB, accountID string, evs []*Event, plan PlanFunc) ([]NewDelivery, map[string]int, error) {
	perEvent := make(map[string]int, len(evs))
	if len(evs) == 0 {
		return nil, perEvent, nil
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
	if err := tx.Where("account_id = @account AND enabled AND event_types && CAST(@types AS text[])", map[string]any{"account": accountID, "types": pgArray[string](types)}).
		Order("id").Find(&hooks).Error; err != nil {
		return nil, nil, fmt.Errorf("match webhooks: %w", err)
	}
	if err := s.openWebhooks(hooks); err != nil {
		return nil, nil, fmt.Errorf("match webhooks: %w", err)
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
		perEvent[ev.ID] = len(nds)
		planned = append(planned, nds...)
	}
	return planned, perEvent, nil
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
