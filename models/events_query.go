package models

import (
	"context"
	"fmt"
)

// MaxCallEvents bounds a call's timeline.
const MaxCallEvents = 500

// StoredEvent returns one event of the account, or ErrNotFound.
func (s *Store) StoredEvent(ctx context.Context, accountID, id string) (*Event, error) {
	if !validID(accountID) || id == "" || len(id) > 128 || !searchable(id) {
		return nil, ErrNotFound
	}
	var ev Event
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Take(&ev).Error; err != nil {
		return nil, fmt.Errorf("get event: %w", notFound(err))
	}
	return &ev, nil
}

// CallEvents returns the account's events of one call in the order they
// happened (at most MaxCallEvents); none is an empty list.
func (s *Store) CallEvents(ctx context.Context, accountID, callID string) ([]Event, error) {
	out := []Event{}
	if !validID(accountID) || callID == "" || !searchable(callID) {
		return out, nil
	}
	if err := s.db.WithContext(ctx).Where("account_id = ? AND call_id = ?", accountID, callID).
		Order("occurred_at, received_at, id").Limit(MaxCallEvents).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("call events: %w", err)
	}
	return out, nil
}
