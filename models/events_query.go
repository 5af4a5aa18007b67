package models

import (
	"context"
	"fmt"
)

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
