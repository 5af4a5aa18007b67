package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

// Ingest validates a producer's event, stores it with one rendered delivery
// per matching webhook in one transaction, and wakes the workers. Invalid
// events return models.FieldErrors; a repeated event id creates
// nothing and reports Duplicate.
func (d *Dispatcher) Ingest(ctx context.Context, accountID string, raw map[string]any) (models.IngestResult, error) {
	return d.ingest(ctx, accountID, raw, false)
}

// IngestTest is Ingest in test mode (an sk_test_ API key): the stored event
// says test: true and its deliveries are test deliveries, sent like any
// other but marked in the payload and the log and left out of the stats.
func (d *Dispatcher) IngestTest(ctx context.Context, accountID string, raw map[string]any) (models.IngestResult, error) {
	return d.ingest(ctx, accountID, raw, true)
}

func (d *Dispatcher) ingest(ctx context.Context, accountID string, raw map[string]any, test bool) (models.IngestResult, error) {
	res, err := d.ingestEvent(ctx, accountID, raw, test)
	d.cfg.Observer.Ingested(res, err)
	return res, err
}

func (d *Dispatcher) ingestEvent(ctx context.Context, accountID string, raw map[string]any, test bool) (models.IngestResult, error) {
	country, err := d.store.DefaultCountry(ctx, accountID)
	if err != nil {
		return models.IngestResult{}, fmt.Errorf("ingest: %w", err)
	}
	payload, err := catalog.NormalizeFor(raw, country)
	if err != nil {
		return models.IngestResult{}, err
	}
	if test {
		payload["test"] = true // reserved: producers cannot set it themselves
	}
	ev, err := eventRecord(accountID, payload)
	if err != nil {
		return models.IngestResult{}, err
	}
	res, err := d.store.Ingest(ctx, ev, planDeliveries(test))
	if err != nil {
		return models.IngestResult{}, fmt.Errorf("ingest: %w", err)
	}
	if res.Deliveries > 0 && !res.Duplicate {
		d.wake()
	}
	return res, nil
}

func eventRecord(accountID string, payload map[string]any) (*models.Event, error) {
	typ, _ := payload["event"].(string)
	id, _ := payload["event_id"].(string)
	at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(payload["occurred_at"]))
	if err != nil {
		return nil, fmt.Errorf("occurred_at: %w", err)
	}
	ev := &models.Event{AccountID: accountID, ID: id, Type: typ, OccurredAt: at, Payload: models.JSON[map[string]any]{V: payload}}
	if callID, ok := payload["call_id"].(string); ok && callID != "" {
		ev.CallID = &callID
	}
	return ev, nil
}

// planDeliveries renders the event for every matched webhook.
func planDeliveries(test bool) models.PlanFunc {
	return func(ev *models.Event, hooks []models.Webhook) []models.NewDelivery {
		out := make([]models.NewDelivery, len(hooks))
		for i := range hooks {
			out[i] = newDelivery(&hooks[i], ev.Payload.V, test)
		}
		return out
	}
}

func newDelivery(w *models.Webhook, payload map[string]any, test bool) models.NewDelivery {
	req, err := render(w, payload, test)
	nd := models.NewDelivery{Webhook: w, Request: req, Test: test}
	if err != nil {
		nd.RenderErr = err.Error()
	}
	return nd
}

// Redeliver sends an existing delivery again now, as a manual attempt, and
// returns the attempt as recorded.
func (d *Dispatcher) Redeliver(ctx context.Context, accountID string, deliveryID int64, who models.Actor) (*models.Attempt, error) {
	c, err := d.store.ClaimOne(ctx, accountID, deliveryID, d.now(), d.id)
	if err != nil {
		return nil, err
	}
	o := d.send(ctx, c, models.TriggerManual)
	if err := d.record(ctx, []models.Outcome{o}); err != nil {
		return nil, fmt.Errorf("redeliver: %w", err)
	}
	d.log.Info("manual redelivery", "delivery", deliveryID, "by", who.Label, "status", o.Status)
	return &o.Attempt, nil
}

// SendTest sends a realistic sample of eventType (test: true) to one webhook
// through the normal path, synchronously, and records it like any attempt.
func (d *Dispatcher) SendTest(ctx context.Context, w *models.Webhook, eventType string) (*models.TestResult, error) {
	ev, err := d.testEvent(w, eventType)
	if err != nil {
		return nil, err
	}
	nd := newDelivery(w, ev.Payload.V, true)
	c, err := d.store.CreateTestDelivery(ctx, ev, nd, true, d.id)
	if err != nil {
		return nil, fmt.Errorf("send test: %w", err)
	}
	res := &models.TestResult{Delivery: c.Delivery, Request: nd.Request}
	if c.Status != models.StatusSending {
		return res, nil
	}
	o := d.send(ctx, c, models.TriggerTest)
	if err := d.record(ctx, []models.Outcome{o}); err != nil {
		return nil, fmt.Errorf("send test: %w", err)
	}
	res.Attempt = &o.Attempt
	res.Delivery.Status = o.Status
	return res, nil
}

// SendTestToAll queues one test event (of each webhook's first trigger) for
// every enabled webhook of the account and returns how many were queued.
func (d *Dispatcher) SendTestToAll(ctx context.Context, accountID string, hooks []models.Webhook) (int, error) {
	n := 0
	for i := range hooks {
		w := &hooks[i]
		if !w.Enabled || len(w.EventTypes) == 0 {
			continue
		}
		ev, err := d.testEvent(w, w.EventTypes[0])
		if err != nil {
			return n, err
		}
		if _, err := d.store.CreateTestDelivery(ctx, ev, newDelivery(w, ev.Payload.V, true), false, ""); err != nil {
			return n, fmt.Errorf("send test to all: %w", err)
		}
		n++
	}
	d.wake()
	return n, nil
}

// ErrUnknownEventType is returned for a test of a type not in the catalog.
var ErrUnknownEventType = errors.New("unknown event type")

func (d *Dispatcher) testEvent(w *models.Webhook, eventType string) (*models.Event, error) {
	payload, err := d.sample(w, eventType)
	if err != nil {
		return nil, err
	}
	payload["test"] = true
	return eventRecord(w.AccountID, payload)
}
