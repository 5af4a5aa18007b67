package models

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Page sizes of the delivery log.
const (
	DefaultDeliveryLimit = 50
	MaxDeliveryLimit     = 200
)

// DeliveryFilter narrows the delivery log. Empty strings and nil times do
// not filter. From is inclusive and To exclusive (created_at).
type DeliveryFilter struct {
	WebhookID, EventType, CallID string
	Status                       DeliveryStatus
	From, To                     *time.Time
	Before                       int64 // keyset: only ids below Before; 0 starts at the newest
	After                        int64 // keyset: only ids above After (the page before); ignored with Before
	// Failing keeps the deliveries the receiver is failing: ended failed,
	// or waiting for a retry after a failed attempt (as WebhookStat counts
	// them). It is ignored when Status is set.
	Failing bool
	// Number keeps deliveries of calls from or to this E.164 number (the
	// event's from_number or to_number); "" does not filter.
	Number string
	// Test keeps only test (true) or only live (false) deliveries; nil both.
	Test *bool
	// EventID keeps the deliveries of one event; "" does not filter.
	EventID string
	Limit   int // 0 means DefaultDeliveryLimit; capped at MaxDeliveryLimit
}

// limit returns the effective page size.
func (f DeliveryFilter) limit() int {
	switch {
	case f.Limit <= 0:
		return DefaultDeliveryLimit
	case f.Limit > MaxDeliveryLimit:
		return MaxDeliveryLimit
	}
	return f.Limit
}

// failingSQL is DeliveryFilter.Failing's predicate, spelled in the text
// rather than bound so that the planner matches it to the partial index
// deliveries_account_failing_idx (migration 0028, the same predicate).
const failingSQL = "(d.status = 'failed' OR (d.status = 'pending' AND d.attempt_count > 0) OR (d.status = 'sending' AND d.attempt_count > 1))"

// DeliveryRow is one line of the delivery log: the delivery's list columns
// and the name of its webhook. The stored request (RequestMethod,
// RequestURL, RequestHeaders, RequestBody) is not loaded and stays empty;
// use Store.Delivery for it.
type DeliveryRow struct {
	Delivery
	WebhookName string
	// WebhookDeleted: the delivery's webhook was deleted; its history is kept.
	WebhookDeleted bool
	// LastDurationMS is how long the newest attempt took (nil before the
	// first): the delivery's latency as the log shows it.
	LastDurationMS *int `gorm:"column:last_duration_ms"`
}

// deliveryListColumns are the deliveries columns DeliveryRow carries.
var deliveryListColumns = []string{"id", "account_id", "webhook_id", "event_id", "event_type", "call_id", "status", "test",
	"attempt_count", "next_attempt_at", "lease_until", "last_status_code", "last_error", "created_at", "updated_at", "completed_at"}

// searchable reports whether s could be stored in a text column at all;
// values PostgreSQL would reject (NUL, invalid UTF-8) cannot match a row.
func searchable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// Deliveries lists the account's deliveries, newest first (id descending),
// one keyset page at a time: pass the last row's ID as Before for the next page.
func (s *Store) Deliveries(ctx context.Context, accountID string, f DeliveryFilter) ([]DeliveryRow, error) {
	if !validID(accountID) || (f.WebhookID != "" && !validID(f.WebhookID)) || !searchable(f.EventType) ||
		!searchable(string(f.Status)) || !searchable(f.CallID) {
		return []DeliveryRow{}, nil // nothing can match
	}
	// The page's ids are chosen first, from the account's own indexes
	// alone (each filter's index ends with id, so this is an index-only
	// walk newest first that stops at the page size); only those rows are
	// then read and joined to their webhooks. Asked for whole rows at once,
	// the planner walked the primary key past other accounts' rows, or each
	// webhook's whole history, because it cannot tell where an account's
	// rows lie.
	q := s.db.WithContext(ctx).Table("deliveries AS d").Select("d.id").
		Where("d.account_id = ?", accountID)
	if f.WebhookID != "" {
		q = q.Where("d.webhook_id = ?", f.WebhookID)
	}
	if f.EventType != "" {
		q = q.Where("d.event_type = ?", f.EventType)
	}
	if f.Status != "" {
		q = q.Where("d.status = ?", f.Status)
	} else if f.Failing {
		q = q.Where(failingSQL)
	}
	if f.CallID != "" {
		q = q.Where("d.call_id = ?", f.CallID)
	}
	if f.From != nil {
		q = q.Where("d.created_at >= ?", f.From.UTC())
	}
	if f.To != nil {
		q = q.Where("d.created_at < ?", f.To.UTC())
	}
	if f.Number != "" {
		if !searchable(f.Number) {
			return []DeliveryRow{}, nil
		}
		q = q.Where(`EXISTS (SELECT 1 FROM events AS e WHERE e.account_id = d.account_id AND e.id = d.event_id
			AND (e.payload->>'from_number' = ? OR e.payload->>'to_number' = ?))`, f.Number, f.Number)
	}
	if f.Test != nil {
		q = q.Where("d.test = ?", *f.Test)
	}
	if f.EventID != "" {
		if !searchable(f.EventID) {
			return []DeliveryRow{}, nil
		}
		q = q.Where("d.event_id = ?", f.EventID)
	}
	rows := []DeliveryRow{}
	cols := make([]string, 0, len(deliveryListColumns)+2)
	for _, c := range deliveryListColumns {
		cols = append(cols, "d."+c)
	}
	cols = append(cols, "w.name AS webhook_name", "w.deleted_at IS NOT NULL AS webhook_deleted", lastDurationSQL)
	// A time range is walked along the account's creation-time index, in
	// creation order (the same as id order but for deliveries written in
	// the same instant by concurrent transactions). Walked along the
	// primary key instead, a range weeks back would first pass every newer
	// row, which the planner cannot foresee: it takes ids and times for
	// independent.
	byTime := f.From != nil || f.To != nil
	sorted := func(order string) string {
		if byTime {
			return "d.created_at " + order + ", d.id " + order
		}
		return "d.id " + order
	}
	// past is the keyset condition for the rows past delivery id in the
	// order op (< newest first, > oldest first).
	past := func(op string, id int64) string {
		n := strconv.FormatInt(id, 10)
		if byTime {
			return "(d.created_at, d.id) " + op + " (coalesce((SELECT c.created_at FROM deliveries c WHERE c.account_id = d.account_id AND c.id = " +
				n + "), '-infinity'), " + n + ")"
		}
		return "d.id " + op + " " + n
	}
	// Planned for these very values (plan_cache_mode): a cached generic
	// plan does not know how big this account is or where its rows lie,
	// and after five runs it walked the primary key past every other
	// account's rows (seconds at a million deliveries) instead of the
	// account's index.
	page := func(q *gorm.DB, order string) error {
		return withLocal(s.db.WithContext(ctx), func(tx *gorm.DB) error {
			return tx.Table("(?) AS p", q.Order(sorted(order)).Limit(f.limit())).
				Select(strings.Join(cols, ", ")).
				Joins("JOIN deliveries AS d ON d.id = p.id AND d.account_id = ?", accountID).
				Joins("JOIN webhooks AS w ON w.id = d.webhook_id AND w.account_id = ?", accountID).
				Order(sorted(order)).Scan(&rows).Error
		}, "plan_cache_mode = force_custom_plan")
	}
	if f.Before <= 0 && f.After > 0 {
		// The page before: the oldest ids above After, read ascending,
		// then shown newest first like every page.
		if err := page(q.Where(past(">", f.After)), "ASC"); err != nil {
			return nil, fmt.Errorf("list deliveries: %w", err)
		}
		slices.Reverse(rows)
		return rows, s.fillRows(ctx, rows)
	}
	if f.Before > 0 {
		q = q.Where(past("<", f.Before))
	}
	if err := page(q, "DESC"); err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return rows, s.fillRows(ctx, rows)
}

// lastDurationSQL is DeliveryRow.LastDurationMS: the newest attempt's length.
const lastDurationSQL = "(SELECT a.duration_ms FROM attempts a WHERE a.account_id = d.account_id AND a.delivery_id = d.id ORDER BY a.number DESC LIMIT 1) AS last_duration_ms"

// Delivery returns one delivery of the account, with its stored request,
// or ErrNotFound.
func (s *Store) Delivery(ctx context.Context, accountID string, id int64) (*Delivery, error) {
	if id <= 0 || !validID(accountID) {
		return nil, ErrNotFound
	}
	var d Delivery
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Take(&d).Error; err != nil {
		return nil, fmt.Errorf("get delivery: %w", notFound(err))
	}
	return &d, s.fillDeliveries(ctx, &d)
}

// Attempts lists the attempts of one of the account's deliveries, oldest
// (number 1) first. Another account's delivery has no attempts.
func (s *Store) Attempts(ctx context.Context, accountID string, deliveryID int64) ([]Attempt, error) {
	out := []Attempt{}
	if deliveryID <= 0 || !validID(accountID) {
		return out, nil
	}
	if err := s.db.WithContext(ctx).Where("account_id = ? AND delivery_id = ?", accountID, deliveryID).
		Order("number").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	for i := range out {
		if err := s.FillAttempt(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CallEvent is one event of a call and each webhook's delivery of it.
type CallEvent struct {
	Event      Event
	Deliveries []DeliveryRow // by id: the order they were created
}

// MaxCallEvents bounds CallTimeline; a call has a handful of events.
const MaxCallEvents = 500

// CallTimeline returns every event of one of the account's calls, in the
// order they occurred, each with its deliveries (webhook names included),
// or ErrNotFound when the account has no event with that call id.
func (s *Store) CallTimeline(ctx context.Context, accountID, callID string) ([]CallEvent, error) {
	if !validID(accountID) || callID == "" || !searchable(callID) {
		return nil, ErrNotFound
	}
	var evs []Event
	if err := s.db.WithContext(ctx).Where("account_id = ? AND call_id = ?", accountID, callID).
		Order("occurred_at, received_at, id").Limit(MaxCallEvents).Find(&evs).Error; err != nil {
		return nil, fmt.Errorf("call timeline: %w", err)
	}
	if len(evs) == 0 {
		return nil, ErrNotFound
	}
	ids := make([]string, len(evs))
	for i := range evs {
		ids[i] = evs[i].ID
	}
	cols := make([]string, 0, len(deliveryListColumns)+2)
	for _, c := range deliveryListColumns {
		cols = append(cols, "d."+c)
	}
	cols = append(cols, "w.name AS webhook_name", "w.deleted_at IS NOT NULL AS webhook_deleted", lastDurationSQL)
	var rows []DeliveryRow
	if err := s.db.WithContext(ctx).Table("deliveries AS d").Select(strings.Join(cols, ", ")).
		Joins("JOIN webhooks AS w ON w.id = d.webhook_id AND w.account_id = ?", accountID).
		Where("d.account_id = ? AND d.event_id = ANY(?)", accountID, pgArray[string](ids)).
		Order("d.id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("call timeline deliveries: %w", err)
	}
	if err := s.fillRows(ctx, rows); err != nil {
		return nil, err
	}
	out := make([]CallEvent, len(evs))
	at := make(map[string]int, len(evs))
	for i := range evs {
		out[i].Event, at[evs[i].ID] = evs[i], i
	}
	for _, r := range rows {
		i := at[r.EventID]
		out[i].Deliveries = append(out[i].Deliveries, r)
	}
	return out, nil
}
