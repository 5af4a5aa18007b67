package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ringhook/ringhook/models/fault"
)

// CancelDelivery withdraws a delivery that is waiting for its next attempt:
// it becomes cancelled and is never retried. A delivery being sent right
// now is ErrInFlight; one that succeeded or failed is fault.ErrFinished;
// one already cancelled is returned as it is.
func (s *Store) CancelDelivery(ctx context.Context, accountID string, id int64, who Actor) (*Delivery, error) {
	if id <= 0 || !validID(accountID) {
		return nil, ErrNotFound
	}
	ids, err := s.PublicIDs(ctx)
	if err != nil {
		return nil, err
	}
	var d Delivery
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The claimer skips locked rows, so it cannot take this one meanwhile.
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, id).Take(&d).Error; err != nil {
			return fmt.Errorf("cancel delivery: %w", notFound(err))
		}
		switch d.Status {
		case StatusCancelled:
			return nil
		case StatusSending:
			return fmt.Errorf("cancel delivery %d: %w", id, ErrInFlight)
		case StatusSucceeded, StatusFailed, StatusExpired:
			return fault.Errorf(fault.ErrFinished, "This delivery has already %s; there is nothing to cancel.", d.Status)
		}
		now := s.now()
		d.Status, d.NextAttemptAt, d.CompletedAt, d.UpdatedAt = StatusCancelled, nil, &now, now
		if err := tx.Model(&Delivery{}).Where("account_id = ? AND id = ?", accountID, id).
			Updates(map[string]any{"status": d.Status, "next_attempt_at": nil, "completed_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("cancel delivery: %w", err)
		}
		if err := releaseFollowers(tx, deliveryKeys{accounts: []string{accountID}, ids: []int64{id}}, now, true); err != nil {
			return err
		}
		return audit(tx, accountID, who, "delivery.cancelled", "delivery", ids.Delivery(id).String(), nil, map[string]any{"webhook_id": d.WebhookID}, now)
	})
	if err != nil {
		return nil, err
	}
	d.PublicID = ids.Delivery(d.ID)
	return &d, nil
}
