package models

import (
	"context"
	"fmt"
)

// Page sizes of the webhook list of the JSON API.
const (
	DefaultWebhookLimit = 50
	MaxWebhookLimit     = 100
)

// WebhookQuery narrows and pages the webhook list: only enabled (or only
// disabled) webhooks when Enabled is set, only those subscribed to
// EventType when it is not empty, and, by keyset, only ids after After.
type WebhookQuery struct {
	Enabled   *bool
	EventType string
	After     string // the last id of the previous page; "" starts at the first
	Limit     int    // 0 means DefaultWebhookLimit; capped at MaxWebhookLimit
}

// WebhookPage lists the account's webhooks by id, one keyset page at a
// time: pass the last webhook's ID as After for the next page. Ids sort
// stably whatever names become, so a page never repeats or skips one.
func (s *Store) WebhookPage(ctx context.Context, accountID string, q WebhookQuery) ([]Webhook, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultWebhookLimit
	case limit > MaxWebhookLimit:
		limit = MaxWebhookLimit
	}
	out := []Webhook{}
	if !validID(accountID) || (q.After != "" && !validID(q.After)) || !searchable(q.EventType) {
		return out, nil // nothing can match
	}
	db := s.db.WithContext(ctx).Where("account_id = ?", accountID)
	if q.Enabled != nil {
		db = db.Where("enabled = ?", *q.Enabled)
	}
	if q.EventType != "" {
		db = db.Where("? = ANY(event_types)", q.EventType)
	}
	if q.After != "" {
		db = db.Where("id > ?", q.After)
	}
	if err := db.Order("id").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("page webhooks: %w", err)
	}
	if err := s.openWebhooks(out); err != nil {
		return nil, fmt.Errorf("page webhooks: %w", err)
	}
	return out, nil
}
