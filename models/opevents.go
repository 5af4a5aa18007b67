package models

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/publicid"
)

// Operational events (catalog.Type.Operational): Ringhook's own events
// about the account's webhooks and deliveries, stored as events of the
// account and delivered through the normal path to its other webhooks
// subscribed to them, never to the webhook they are about.
//
// An event no webhook would receive is not stored. They are emitted
// after the transaction that changed the state has
// committed, each in its own ingest transaction: emitting inside it would
// lock the subscribers' webhook rows out of the id order every recorder
// keeps. A process that dies in between loses the notification, never the
// state change. The dispatcher supplies the renderer (SetEventPlanner),
// since models cannot render; without one nothing is emitted.

// eventPlanner is the renderer of operational events and what to do with
// an emission that failed.
type eventPlanner struct {
	plan  PlanFunc
	onErr func(error)
}

// plannerSlot holds the Store's eventPlanner.
type plannerSlot struct{ p atomic.Pointer[eventPlanner] }

// SetEventPlanner gives the Store the renderer of operational events
// (the dispatcher's, set by dispatch.New) and a sink for their errors,
// which never fail the state change that caused them.
func (s *Store) SetEventPlanner(plan PlanFunc, onErr func(error)) {
	s.planner.p.Store(&eventPlanner{plan: plan, onErr: onErr})
}

// opEvent is one operational event to emit: of type typ, about webhook
// about (hook: its name and URL) of accountID, with the type's own fields.
type opEvent struct {
	accountID, about, typ string
	hook                  *Webhook
	fields                map[string]any
}

// toggledEvent is the webhook.enabled or webhook.disabled event of a change
// made by who.
func toggledEvent(w *Webhook, who Actor, enabled bool, reason string) opEvent {
	if enabled {
		return opEvent{accountID: w.AccountID, about: w.ID, typ: catalog.WebhookEnabled, hook: w,
			fields: map[string]any{"automatic": "no", "changed_by": who.Label, "enable_reason": "Enabled by " + who.Label + "."}}
	}
	if reason == "" {
		reason = "Disabled by " + who.Label + "."
	}
	return disabledEvent(w, reason, false, who.Label)
}

// disabledEvent is the webhook.disabled event about w.
func disabledEvent(w *Webhook, reason string, automatic bool, by string) opEvent {
	auto := "no"
	if automatic {
		auto = "yes"
	}
	return opEvent{accountID: w.AccountID, about: w.ID, typ: catalog.WebhookDisabled, hook: w, fields: map[string]any{
		"automatic": auto, "changed_by": by, "disable_reason": reason, "failure_count": int64(w.ConsecutiveFailures),
		"disabled_webhook_id": w.ID, "disabled_webhook_name": w.Name, "disabled_webhook_url": RedactURL(w.URL)}}
}

// emit stores and delivers operational events; failures go to the
// planner's error sink.
func (s *Store) emit(ctx context.Context, now time.Time, evs ...opEvent) {
	p := s.planner.p.Load()
	if p == nil {
		return
	}
	for _, e := range evs {
		if err := s.emitOne(context.WithoutCancel(ctx), now, p.plan, e); err != nil && p.onErr != nil {
			p.onErr(fmt.Errorf("emit %s about webhook %s: %w", e.typ, e.about, err))
		}
	}
}

func (s *Store) emitOne(ctx context.Context, now time.Time, plan PlanFunc, e opEvent) error {
	raw := map[string]any{"event": e.typ, "event_id": catalog.NewEventID(now, rand.Reader),
		"occurred_at": now.UTC().Format(time.RFC3339Nano), "about_webhook_id": e.about}
	if e.hook != nil {
		raw["about_webhook_name"], raw["about_webhook_url"] = e.hook.Name, RedactURL(e.hook.URL)
	}
	for k, v := range e.fields {
		if v != "" {
			raw[k] = v
		}
	}
	payload, err := catalog.Normalize(raw)
	if err != nil {
		return err
	}
	ev := &Event{AccountID: e.accountID, ID: payload["event_id"].(string), Type: e.typ, OccurredAt: now, ReceivedAt: now,
		Payload: JSON[map[string]any]{V: payload}}
	s.writingHistory(ctx, now)
	// No CallID even for a delivery.exhausted naming a call: an event
	// about a delivery is not a moment of that call, and is never held in
	// its order.
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var hooks []Webhook
		// Never to the webhook the event is about.
		if err := tx.Where("account_id = @account AND enabled AND id <> @about AND event_types @> ARRAY[CAST(@type AS text)]",
			map[string]any{"account": e.accountID, "about": e.about, "type": e.typ}).Order("id").Find(&hooks).Error; err != nil {
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
		if len(matched) == 0 {
			// Nobody to tell: not stored, so an outage of a webhook
			// nobody watches costs no more than before.
			return nil
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(ev).Error; err != nil {
			return fmt.Errorf("store event: %w", err)
		}
		_, err := s.insertDeliveries(tx, ev, plan(ev, matched), now)
		return err
	})
}

// exhaustedEvents are the delivery.exhausted events of the deliveries
// among ids that this transaction left failed after an automatic attempt:
// none for test deliveries or deliveries of operational events (a broken
// subscriber of those must not start a chain of events about events).
func exhaustedEvents(tx *gorm.DB, ids *publicid.Codec, deliveries deliveryKeys) ([]opEvent, error) {
	if deliveries.len() == 0 {
		return nil, nil
	}
	var rows []struct {
		ID           int64
		AccountID    string
		WebhookID    string
		EventID      string
		EventType    string
		CallID       *string
		AttemptCount int
		LastError    string
		Name         string
		URL          string
	}
	if err := tx.Raw(`SELECT d.id, d.account_id, d.webhook_id, d.event_id, d.event_type, d.call_id, d.attempt_count, d.last_error, w.name, w.url
		FROM deliveries d JOIN webhooks w ON w.account_id = d.account_id AND w.id = d.webhook_id
		WHERE (d.account_id, d.id) IN (`+deliveryKeysSQL+`) AND d.status = `+sqlFailed+` AND NOT d.test AND NOT (d.event_type = ANY(CAST(@ops AS text[])))
		ORDER BY d.id`, deliveries.args(map[string]any{"ops": pgArray[string](catalog.OperationalTypes())})).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("exhausted deliveries: %w", err)
	}
	out := make([]opEvent, len(rows))
	for i, r := range rows {
		f := map[string]any{"delivery_id": ids.Delivery(r.ID).String(), "delivery_event_id": r.EventID, "delivery_event_type": r.EventType,
			"attempt_count": int64(r.AttemptCount), "last_error": r.LastError}
		if r.CallID != nil {
			f["call_id"] = *r.CallID
		}
		out[i] = opEvent{accountID: r.AccountID, about: r.WebhookID, typ: catalog.DeliveryExhausted,
			hook: &Webhook{ID: r.WebhookID, Name: r.Name, URL: r.URL}, fields: f}
	}
	return out, nil
}
