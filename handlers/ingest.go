package handlers

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
)

// Ingester accepts call events for the dispatcher.
type Ingester interface {
	Ingest(ctx context.Context, accountID string, raw map[string]any) (models.IngestResult, error)
	// IngestTest is Ingest for an sk_test_ key: the deliveries are test
	// deliveries (marked in the payload and the log, left out of the stats).
	IngestTest(ctx context.Context, accountID string, raw map[string]any) (models.IngestResult, error)
	// IngestBatch validates each event and stores the valid ones in one
	// transaction, answering per event; IngestBatchTest is its test mode.
	IngestBatch(ctx context.Context, accountID string, raws []map[string]any) (models.BatchResult, error)
	IngestBatchTest(ctx context.Context, accountID string, raws []map[string]any) (models.BatchResult, error)
}

type ingestResponse struct {
	EventID    string `json:"event_id"`
	Deliveries int    `json:"deliveries"`
	Duplicate  bool   `json:"duplicate"`
}

// APIIngestEvent is POST /api/v1/events: it stores a call event and queues
// one delivery per matching webhook. 202 when accepted, 200 for an event id
// already seen (nothing new is created), 422 for an invalid event.
func (h *Handler) APIIngestEvent(c echo.Context) error {
	if h.ingester == nil {
		return errNoIngest
	}
	var raw any
	if err := bindJSONNumbers(c, &raw); err != nil { // integers stay exact; catalog.Normalize checks them
		return err
	}
	event, _ := raw.(map[string]any)
	if event == nil {
		return fault.Errorf(fault.ErrBadRequest, "The body must be a JSON object describing one event.")
	}
	ingest := h.ingester.Ingest
	if k := apiKey(c); k != nil && k.TestMode() {
		ingest = h.ingester.IngestTest
	}
	acc := currentAccount(c) // loaded by RequireAPIKey: ingest takes its default country from it
	res, err := ingest(models.WithAccount(c.Request().Context(), acc), acc.ID, event)
	if err != nil {
		return fmt.Errorf("ingest event: %w", err) // FieldErrors answer 422 with one message per field
	}
	status := http.StatusAccepted
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"data": ingestResponse{EventID: res.EventID, Deliveries: res.Deliveries, Duplicate: res.Duplicate}})
}

type batchItem struct {
	Index      int               `json:"index"`
	EventID    *string           `json:"event_id"` // null when the event sent none (or not a string)
	Status     string            `json:"status"`
	Deliveries int               `json:"deliveries"`
	Errors     map[string]string `json:"errors,omitempty"`
}

type batchResponse struct {
	Results    []batchItem `json:"results"`
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Invalid    int         `json:"invalid"`
}

// APIIngestBatch is POST /api/v1/events/batch: {"events":[…]} with at most
// models.MaxIngestBatch events, each validated as POST /api/v1/events
// does. The valid ones are stored in one transaction; the answer is 200
// with one result per event (accepted, duplicate or invalid with its
// field errors) and the totals. An invalid event does not block the
// others; a copy of an event id earlier in the batch is a duplicate.
func (h *Handler) APIIngestBatch(c echo.Context) error {
	if h.ingester == nil {
		return errNoIngest
	}
	var body struct {
		Events []any `json:"events"`
	}
	if err := bindJSONNumbers(c, &body); err != nil { // each event decoded once, integers exact
		return err
	}
	if body.Events == nil {
		return models.FieldErrors{"events": "Send the events as a JSON array: {\"events\": [ … ]}."}
	}
	if len(body.Events) == 0 {
		return models.FieldErrors{"events": "Send at least one event."}
	}
	if len(body.Events) > models.MaxIngestBatch {
		return fault.Errorf(fault.ErrTooLarge, "A batch holds at most %d events; this one has %d. Split it.", models.MaxIngestBatch, len(body.Events))
	}
	raws := make([]map[string]any, len(body.Events))
	bad := map[int]bool{} // not a JSON object: invalid without reaching validation
	for i, r := range body.Events {
		if raws[i], _ = r.(map[string]any); raws[i] == nil {
			bad[i] = true
		}
	}
	valid := make([]map[string]any, 0, len(raws))
	for i, r := range raws {
		if !bad[i] {
			valid = append(valid, r)
		}
	}
	ingest := h.ingester.IngestBatch
	if k := apiKey(c); k != nil && k.TestMode() {
		ingest = h.ingester.IngestBatchTest
	}
	acc := currentAccount(c)
	res, err := ingest(models.WithAccount(c.Request().Context(), acc), acc.ID, valid)
	if err != nil {
		return fmt.Errorf("ingest batch: %w", err)
	}
	out := batchResponse{Results: make([]batchItem, len(raws)), Accepted: res.Accepted, Duplicates: res.Duplicates, Invalid: res.Invalid + len(bad)}
	j := 0
	for i := range raws {
		if bad[i] {
			out.Results[i] = batchItem{Index: i, Status: models.BatchInvalid, Errors: map[string]string{"event": "Each event must be a JSON object."}}
			continue
		}
		it := res.Items[j]
		j++
		out.Results[i] = batchItem{Index: i, Status: it.Status, Deliveries: it.Deliveries, Errors: it.Errors}
		if it.EventID != "" {
			id := it.EventID
			out.Results[i].EventID = &id
		}
	}
	return c.JSON(http.StatusOK, out)
}
