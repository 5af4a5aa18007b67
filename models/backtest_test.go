package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

const (
	backtestDIDA = "+918040001111"
	backtestDIDB = "+918040002222"
)

// seedCallHistory stores 30 calls of known shapes for the account, one
// minute apart, each a call.received then a call.hangup: call i is inbound
// when i is even, on DID A when i%3 == 0, answered unless i%5 == 0. Three
// SMS events without a call follow. It returns the number of calls.
func seedCallHistory(t *testing.T, s *models.Store, accountID string, base time.Time) int {
	t.Helper()
	ctx := context.Background()
	for _, n := range []string{backtestDIDA, backtestDIDB} {
		if _, err := modeltest.SeedPhoneNumber(ctx, s.DB(), accountID, n, "line "+n); err != nil {
			t.Fatal(err)
		}
	}
	var evs []models.Event
	for i := range 30 {
		callType, did, status := "outbound", backtestDIDB, "answered"
		if i%2 == 0 {
			callType = "inbound"
		}
		if i%3 == 0 {
			did = backtestDIDA
		}
		if i%5 == 0 {
			status = "missed"
		}
		call := fmt.Sprintf("call-%s-%02d", accountID, i)
		at := base.Add(time.Duration(i) * time.Minute)
		common := map[string]any{"call_id": call, "call_type": callType, "direction": callType, "did_number": did, "from_number": "+9199000000" + fmt.Sprint(10+i), "to_number": did}
		received, hangup := map[string]any{"call_status": "ringing"}, map[string]any{"call_status": status}
		for k, v := range common {
			received[k], hangup[k] = v, v
		}
		evs = append(evs,
			models.Event{AccountID: accountID, ID: models.NewID("evt_"), Type: "call.received", OccurredAt: at, ReceivedAt: at, CallID: &call, Payload: models.JSON[map[string]any]{V: received}},
			models.Event{AccountID: accountID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: at.Add(30 * time.Second), ReceivedAt: at.Add(30 * time.Second), CallID: &call, Payload: models.JSON[map[string]any]{V: hangup}})
	}
	for i := range 3 {
		at := base.Add(time.Duration(31+i) * time.Minute)
		evs = append(evs, models.Event{AccountID: accountID, ID: models.NewID("evt_"), Type: "message.received", OccurredAt: at, ReceivedAt: at,
			Payload: models.JSON[map[string]any]{V: map[string]any{"did_number": backtestDIDA, "from_number": "+919900000001"}}})
	}
	if err := s.DB().Create(&evs).Error; err != nil {
		t.Fatalf("seed events: %v", err)
	}
	return 33
}

func matchInput(eventTypes, callTypes, dids []string, filters ...models.Filter) models.WebhookInput {
	in := models.NewWebhookInput("UTC")
	in.EventTypes, in.CallTypes, in.DIDNumbers, in.Filters = eventTypes, callTypes, dids, filters
	return in
}

// TestBackTestCountsSeededHistory pins the back-test against 30 calls of
// known shapes: answered inbound hangups on DID A are calls 6, 12, 18 and
// 24 (even, a multiple of 3, not of 5), newest first in the examples;
// account B's identical history is never counted.
func TestBackTestCountsSeededHistory(t *testing.T) {
	s := newStore(t, time.Now)
	ctx := context.Background()
	base := time.Date(2026, 4, 9, 7, 0, 0, 0, time.UTC)
	a, b := newAccount(t, s), newAccount(t, s)
	calls := seedCallHistory(t, s, a.ID, base)
	seedCallHistory(t, s, b.ID, base.Add(time.Hour)) // newer, so a leak would show first

	answered := models.Filter{Field: "call_status", Op: "in", Values: []string{"Answered"}} // normalized as saved
	res, err := s.PreviewMatch(ctx, a.ID, matchInput([]string{"call.hangup"}, []string{"inbound"}, []string{backtestDIDA}, answered))
	if err != nil {
		t.Fatal(err)
	}
	if res.CallsConsidered != calls || res.CallsMatched != 4 || res.EventsMatched != 4 {
		t.Fatalf("considered/matched calls/events = %d/%d/%d, want %d/4/4", res.CallsConsidered, res.CallsMatched, res.EventsMatched, calls)
	}
	var got []string
	for _, ex := range res.Examples {
		got = append(got, ex.CallID)
		if ex.Type != "call.hangup" || ex.ToNumber != backtestDIDA {
			t.Errorf("example %+v: want a hangup to DID A", ex)
		}
	}
	want := fmt.Sprintf("[call-%[1]s-24 call-%[1]s-18 call-%[1]s-12 call-%[1]s-06]", a.ID)
	if fmt.Sprint(got) != want {
		t.Errorf("examples %v, want %s", got, want)
	}

	// Both triggers of every inbound call: 15 calls, 30 events; the SMS
	// events (no call_type at all) pass the call-type filter as at ingest.
	res, err = s.PreviewMatch(ctx, a.ID, matchInput([]string{"call.received", "call.hangup", "message.received"}, []string{"inbound"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.CallsMatched != 15+3 || res.EventsMatched != 30+3 || len(res.Examples) != models.BackTestExamples {
		t.Errorf("inbound, both triggers and SMS: %d calls, %d events, %d examples; want 18, 33, %d", res.CallsMatched, res.EventsMatched, len(res.Examples), models.BackTestExamples)
	}
	if res.Examples[0].CallID != "" || res.Examples[0].Type != "message.received" {
		t.Errorf("newest example %+v, want the last SMS (an event without a call)", res.Examples[0])
	}

	// Missed calls not on DID A: 5, 10, 20, 25 (i%5 == 0, i%3 != 0), any direction.
	res, err = s.PreviewMatch(ctx, a.ID, matchInput([]string{"call.hangup"}, nil, []string{backtestDIDB},
		models.Filter{Field: "call_status", Op: "in", Values: []string{"missed"}}))
	if err != nil {
		t.Fatal(err)
	}
	if res.CallsMatched != 4 {
		t.Errorf("missed on DID B: %d calls, want 4", res.CallsMatched)
	}
}

// TestBackTestWindowIsTheLastThousandCalls adds 1,000 newer calls that do
// not match: the seeded ones fall out of the window.
func TestBackTestWindowIsTheLastThousandCalls(t *testing.T) {
	s := newStore(t, time.Now)
	ctx := context.Background()
	base := time.Date(2026, 4, 9, 7, 0, 0, 0, time.UTC)
	a := newAccount(t, s)
	seedCallHistory(t, s, a.ID, base)
	in := matchInput([]string{"call.hangup"}, []string{"inbound"}, []string{backtestDIDA})
	before, err := s.PreviewMatch(ctx, a.ID, in)
	if err != nil || before.CallsMatched != 5 {
		t.Fatalf("before: %+v, %v; want 5 calls (0, 6, 12, 18, 24)", before, err)
	}
	if err := s.DB().Exec(`INSERT INTO events (account_id, id, type, occurred_at, call_id, payload, received_at)
		SELECT ?, 'evt_new_' || g, 'call.hangup', CAST(? AS timestamptz) + g * interval '1 second', 'new-' || g, '{"call_type":"outbound"}', CAST(? AS timestamptz) + g * interval '1 second'
		FROM generate_series(1, ?) g`, a.ID, base.Add(2*time.Hour), base.Add(2*time.Hour), models.BackTestCalls).Error; err != nil {
		t.Fatal(err)
	}
	after, err := s.PreviewMatch(ctx, a.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if after.CallsConsidered != models.BackTestCalls || after.CallsMatched != 0 {
		t.Errorf("after 1,000 newer calls: considered %d, matched %d; want %d, 0", after.CallsConsidered, after.CallsMatched, models.BackTestCalls)
	}
}

// TestBackTestReportsMatchingFieldsOnly: a number of another account or an
// unknown filter value is a field error; a missing name or URL is not.
func TestBackTestReportsMatchingFieldsOnly(t *testing.T) {
	s := newStore(t, time.Now)
	ctx := context.Background()
	a, b := newAccount(t, s), newAccount(t, s)
	if _, err := modeltest.SeedPhoneNumber(ctx, s.DB(), b.ID, backtestDIDB, "B's"); err != nil {
		t.Fatal(err)
	}
	in := matchInput([]string{"call.hangup"}, nil, []string{backtestDIDB}, models.Filter{Field: "call_status", Op: "in", Values: []string{"maybe"}})
	_, err := s.PreviewMatch(ctx, a.ID, in)
	fe, ok := err.(models.FieldErrors)
	if !ok || fe["did_numbers"] == "" || fe["filters.0"] == "" || fe["name"] != "" || fe["url"] != "" {
		t.Fatalf("err = %v, want did_numbers and filters.0 only", err)
	}
}
