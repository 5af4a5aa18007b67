package models

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Back-test bounds: how many of the account's latest calls are replayed
// against a webhook being edited, how many events are read at most to find
// them (a call rarely has more than a dozen), and how many matches are listed.
const (
	BackTestCalls     = 1000
	BackTestMaxEvents = 50_000
	BackTestExamples  = 5
)

// BackTestResult is what a webhook's triggers and filters would have matched.
type BackTestResult struct {
	CallsConsidered int
	CallsMatched    int
	EventsMatched   int
	Examples        []BackTestExample // newest matching call first, one event each
}

// BackTestExample is the newest matching event of one matching call.
type BackTestExample struct {
	CallID     string // the event's call, or "" for an event without one
	EventID    string
	Type       string
	OccurredAt time.Time
	FromNumber string
	ToNumber   string
}

// BackTest replays the account's last BackTestCalls calls (its stored events
// grouped by call_id, an event without a call being a call of its own)
// through w's triggers and the dispatcher's own Matches. w need not be saved.
// One index scan newest first (events_recent_idx) that stops at the first
// event of the call after the last; payloads are read only for the types w
// subscribes to. A call older events of which fall past BackTestMaxEvents
// counts with the events read.
func (s *Store) BackTest(ctx context.Context, accountID string, w *Webhook) (BackTestResult, error) {
	var res BackTestResult
	if !validID(accountID) {
		return res, nil
	}
	rows, err := s.db.WithContext(ctx).Raw(`SELECT id, type, occurred_at, call_id,
		CASE WHEN type = ANY(CAST(@types AS text[])) THEN payload END AS payload
		FROM events WHERE account_id = @account
		ORDER BY received_at DESC, id DESC LIMIT @max`,
		map[string]any{"account": accountID, "types": pgArray[string](w.EventTypes), "max": BackTestMaxEvents}).Rows()
	if err != nil {
		return res, fmt.Errorf("back-test events: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}    // calls considered
	matched := map[string]bool{} // calls matched
	for rows.Next() {
		var ev Event
		if err := s.db.ScanRows(rows, &ev); err != nil {
			return res, fmt.Errorf("back-test scan: %w", err)
		}
		key := "event:" + ev.ID
		if ev.CallID != nil {
			key = "call:" + *ev.CallID
		}
		if !seen[key] {
			if len(seen) == BackTestCalls {
				break
			}
			seen[key] = true
		}
		if ev.Payload.V == nil || !w.handles(ev.Type) || !w.Matches(ev.Payload.V) {
			continue
		}
		res.EventsMatched++
		if matched[key] {
			continue
		}
		matched[key] = true
		if len(res.Examples) < BackTestExamples {
			ex := BackTestExample{EventID: ev.ID, Type: ev.Type, OccurredAt: ev.OccurredAt,
				FromNumber: payloadText(ev.Payload.V, "from_number"), ToNumber: payloadText(ev.Payload.V, "to_number")}
			if ev.CallID != nil {
				ex.CallID = *ev.CallID
			}
			res.Examples = append(res.Examples, ex)
		}
	}
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("back-test rows: %w", err)
	}
	res.CallsConsidered, res.CallsMatched = len(seen), len(matched)
	return res, nil
}

func payloadText(p map[string]any, field string) string {
	if v, ok := p[field].(string); ok {
		return v
	}
	return ""
}

// MatchErrors keeps the problems of the fields a back-test depends on
// (triggers, call types, numbers, filters) from a full validation.
func MatchErrors(fe FieldErrors) FieldErrors {
	out := FieldErrors{}
	for k, msg := range fe {
		switch {
		case k == "event_types", k == "call_types", k == "did_numbers", strings.HasPrefix(k, "filters."):
			out[k] = msg
		}
	}
	return out
}

// PreviewMatch back-tests a webhook input as it would be saved: validated
// and normalized as CreateWebhook does (filter values in their canonical
// spelling), on an unsaved webhook. Problems of the fields matching depends
// on come back as FieldErrors instead; the others (name, URL…) do not matter.
func (s *Store) PreviewMatch(ctx context.Context, accountID string, in WebhookInput) (BackTestResult, error) {
	numbers, err := accountNumbers(s.db.WithContext(ctx), accountID)
	if err != nil {
		return BackTestResult{}, err
	}
	if fe := MatchErrors(in.Validate(numbers)); len(fe) > 0 {
		return BackTestResult{}, fe
	}
	w := &Webhook{AccountID: accountID}
	in.ApplyTo(w)
	return s.BackTest(ctx, accountID, w)
}
