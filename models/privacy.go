package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// PrivacySettings are the account's PII-aware history options, changed on
// their own form of the Settings page (docs/privacy.md).
type PrivacySettings struct {
	// MaskPII masks phone numbers and caller names in the delivery history
	// (console, and API answers to read-only keys); owners and admins may
	// reveal a delivery, which is audited.
	MaskPII bool
	// FailedBodiesOnly keeps request and response bodies only for attempts
	// that failed; successful attempts are recorded without them.
	FailedBodiesOnly bool
	// BodyRetentionDays drops the bodies of attempts older than this many
	// days, keeping the rows; 0 keeps them.
	BodyRetentionDays int
}

// MaxBodyRetentionDays bounds PrivacySettings.BodyRetentionDays.
const MaxBodyRetentionDays = 365

// Privacy returns the account's privacy settings.
func (a *Account) Privacy() PrivacySettings {
	return PrivacySettings{MaskPII: a.MaskPII, FailedBodiesOnly: a.FailedBodiesOnly, BodyRetentionDays: a.BodyRetentionDays}
}

func (p PrivacySettings) auditView() map[string]any {
	return map[string]any{"mask_pii": p.MaskPII, "failed_bodies_only": p.FailedBodiesOnly, "body_retention_days": p.BodyRetentionDays}
}

// UpdatePrivacySettings changes the account's privacy settings and records
// the change in the audit log (account.privacy_updated). A refused value
// is a FieldErrors keyed by the form's field name.
func (s *Store) UpdatePrivacySettings(ctx context.Context, accountID string, who Actor, in PrivacySettings) (*Account, error) {
	if in.BodyRetentionDays < 0 || in.BodyRetentionDays > MaxBodyRetentionDays {
		return nil, FieldErrors{"body_retention_days": fmt.Sprintf("Enter a whole number of days from 0 (keep) to %d.", MaxBodyRetentionDays)}
	}
	var a Account
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "NO KEY UPDATE"}).Where("id = ?", accountID).Take(&a).Error; err != nil {
			return fmt.Errorf("update privacy settings: %w", notFound(err))
		}
		before := a.Privacy()
		a.MaskPII, a.FailedBodiesOnly, a.BodyRetentionDays = in.MaskPII, in.FailedBodiesOnly, in.BodyRetentionDays
		if err := tx.Model(&Account{}).Where("id = ?", accountID).Updates(map[string]any{"mask_pii": a.MaskPII,
			"failed_bodies_only": a.FailedBodiesOnly, "body_retention_days": a.BodyRetentionDays}).Error; err != nil {
			return fmt.Errorf("update privacy settings: %w", err)
		}
		return audit(tx, accountID, who, "account.privacy_updated", "account", accountID, before.auditView(), a.Privacy().auditView(), s.now())
	})
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// RecordReveal writes the audit entry of an owner or admin revealing the
// unmasked history of one of the account's deliveries (attempt 0: all of
// its attempts). The caller checks the role; the delivery must be the
// account's.
func (s *Store) RecordReveal(ctx context.Context, accountID string, who Actor, deliveryID int64, attempt int) error {
	var n int64
	if err := s.db.WithContext(ctx).Model(&Delivery{}).Where("account_id = ? AND id = ?", accountID, deliveryID).Count(&n).Error; err != nil {
		return fmt.Errorf("reveal delivery: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	ids, err := s.PublicIDs(ctx)
	if err != nil {
		return err
	}
	public := ids.Delivery(deliveryID).String()
	after := map[string]any{"delivery_id": public}
	if attempt > 0 {
		after["attempt"] = attempt
	}
	return audit(s.db.WithContext(ctx), accountID, who, "delivery.revealed", "delivery", public, nil, after, s.now())
}

// DefaultTrimBatch is how many attempts one TrimBodies statement trims.
const DefaultTrimBatch = 500

// TrimBodies drops the request and response bodies of at most batch
// attempts (DefaultTrimBatch when batch <= 0) that are older than their
// account's body_retention_days at now, keeping the rows (bodies_dropped
// says why they are empty). It returns how many it trimmed: a caller loops
// while it gets a full batch. Rows another trimmer holds are skipped.
func (s *Store) TrimBodies(ctx context.Context, now time.Time, batch int) (int64, error) {
	if batch <= 0 {
		batch = DefaultTrimBatch
	}
	res := s.db.WithContext(ctx).Exec(trimBodiesSQL, map[string]any{"now": now, "batch": batch})
	if res.Error != nil {
		return 0, fmt.Errorf("trim attempt bodies: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// trimBodiesSQL walks, for each account with a body retention, the attempts
// still holding bodies oldest first (attempts_bodies_kept_idx).
const trimBodiesSQL = `
WITH t AS (
	SELECT a.id AS account_id, x.delivery_id, x.number FROM accounts a
	CROSS JOIN LATERAL (
		SELECT at.delivery_id, at.number FROM attempts at
		WHERE at.account_id = a.id AND NOT at.bodies_dropped
			AND at.started_at < CAST(@now AS timestamptz) - a.body_retention_days * interval '1 day'
		ORDER BY at.started_at LIMIT @batch
	) x
	WHERE a.body_retention_days > 0
	LIMIT @batch
), locked AS (
	SELECT account_id, delivery_id, number FROM attempts
	WHERE (account_id, delivery_id, number) IN (SELECT account_id, delivery_id, number FROM t) FOR UPDATE SKIP LOCKED
)
UPDATE attempts SET request_body = '', response_body = '', bodies_dropped = true
FROM locked WHERE attempts.account_id = locked.account_id AND attempts.delivery_id = locked.delivery_id
	AND attempts.number = locked.number`
