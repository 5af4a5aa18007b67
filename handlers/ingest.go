package handlers

import (
	"bytes"
	"context"
	"encoding/json"
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
		return fault.Errorf(fault.ErrUnavailable, "Event ingest is not available in this process.")
	}
	var raw json.RawMessage
	if err := bindJSON(c, &raw); err != nil {
		return err
	}
	var event map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // integers stay exact; catalog.Normalize checks them
	if err := dec.Decode(&event); err != nil || event == nil {
		return fault.Errorf(fault.ErrBadRequest, "The body must be a JSON object describing one event.")
	}
	ingest := h.ingester.Ingest
	if k := apiKey(c); k != nil && k.TestMode() {
		ingest = h.ingester.IngestTest
	}
	res, err := ingest(c.Request().Context(), currentAccount(c).ID, event)
	if err != nil {
		return fmt.Errorf("ingest event: %w", err) // FieldErrors answer 422 with one message per field
	}
	status := http.StatusAccepted
	if res.Duplicate {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"data": ingestResponse{EventID: res.EventID, Deliveries: res.Deliveries, Duplicate: res.Duplicate}})
}
