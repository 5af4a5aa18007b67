package dispatch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// Ingest validates a producer's event, stores it with one rendered delivery
// per matching webhook, and wakes the workers. Concurrent calls of one
// account share a transaction (group commit, coalesce.go); each returns
// only after its event committed. Invalid events return
// models.FieldErrors; a repeated event id creates nothing and reports
// Duplicate.
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
	ev, err := d.validate(accountID, raw, country, test)
	if err != nil {
		return models.IngestResult{}, err
	}
	res, err := d.ingests.ingest(ctx, ev, test)
	if err != nil {
		return models.IngestResult{}, fmt.Errorf("ingest: %w", err)
	}
	if res.Deliveries > 0 && !res.Duplicate {
		d.wake()
	}
	return res, nil
}

// IngestBatch validates up to models.MaxIngestBatch events and stores the
// valid ones with their deliveries in one transaction (Store.IngestBatch).
// Invalid events are reported per item and do not block the others; an
// error means nothing of the batch was stored.
func (d *Dispatcher) IngestBatch(ctx context.Context, accountID string, raws []map[string]any) (models.BatchResult, error) {
	return d.ingestBatch(ctx, accountID, raws, false)
}

// IngestBatchTest is IngestBatch for an sk_test_ key: every delivery is a
// test delivery, as with IngestTest.
func (d *Dispatcher) IngestBatchTest(ctx context.Context, accountID string, raws []map[string]any) (models.BatchResult, error) {
	return d.ingestBatch(ctx, accountID, raws, true)
}

func (d *Dispatcher) ingestBatch(ctx context.Context, accountID string, raws []map[string]any, test bool) (models.BatchResult, error) {
	if len(raws) > models.MaxIngestBatch {
		return models.BatchResult{}, fault.Errorf(fault.ErrTooLarge, "A batch holds at most %d events; this one has %d.", models.MaxIngestBatch, len(raws))
	}
	country, err := d.store.DefaultCountry(ctx, accountID)
	if err != nil {
		return models.BatchResult{}, fmt.Errorf("ingest batch: %w", err)
	}
	res := models.BatchResult{Items: make([]models.BatchItem, len(raws))}
	evs := make([]*models.Event, 0, len(raws))
	at := make([]int, 0, len(raws)) // index in raws of each stored event
	for i, raw := range raws {
		it := &res.Items[i]
		it.Index = i
		it.EventID, _ = raw["event_id"].(string)
		ev, err := d.validate(accountID, raw, country, test)
		var fe models.FieldErrors
		switch {
		case errors.As(err, &fe):
			it.Status, it.Errors = models.BatchInvalid, fe
			res.Invalid++
			continue
		case err != nil:
			it.Status, it.Errors = models.BatchInvalid, models.FieldErrors{"occurred_at": err.Error()} // eventRecord fails on nothing else
			res.Invalid++
			continue
		}
		evs, at = append(evs, ev), append(at, i)
	}
	stored, err := d.store.IngestBatch(ctx, accountID, evs, planDeliveries(test))
	if err != nil {
		return models.BatchResult{}, fmt.Errorf("ingest batch: %w", err)
	}
	queued := false
	for j, r := range stored {
		it := &res.Items[at[j]]
		it.EventID, it.Deliveries = r.EventID, r.Deliveries
		if r.Duplicate {
			it.Status = models.BatchDuplicate
			res.Duplicates++
			continue
		}
		it.Status = models.BatchAccepted
		res.Accepted++
		queued = queued || r.Deliveries > 0
	}
	if queued {
		d.wake()
	}
	return res, nil
}

// validate normalizes one producer event for accountID (FieldErrors when
// it is invalid) and builds its record.
func (d *Dispatcher) validate(accountID string, raw map[string]any, country string, test bool) (*models.Event, error) {
	payload, err := catalog.NormalizeFor(raw, country)
	if err != nil {
		return nil, err
	}
	if test {
		payload["test"] = true // reserved: producers cannot set it themselves
	}
	return eventRecord(accountID, payload)
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
