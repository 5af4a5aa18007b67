package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// AuditEntry records one configuration change.
type AuditEntry struct {
	ID         int64 `gorm:"primaryKey;->"`
	AccountID  string
	UserID     string
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	Before     *JSON[any]
	After      *JSON[any]
	CreatedAt  time.Time
}

// TableName maps AuditEntry to audit_log.
func (AuditEntry) TableName() string { return "audit_log" }

// Actor identifies who made a change, for audit and created_by/updated_by.
type Actor struct {
	UserID string
	Label  string // an email, or "api key <prefix>"
}

func audit(tx *gorm.DB, accountID string, who Actor, action, objType, objID string, before, after any, at time.Time) error {
	e := AuditEntry{AccountID: accountID, UserID: who.UserID, Actor: who.Label, Action: action, ObjectType: objType, ObjectID: objID, CreatedAt: at}
	if before != nil {
		e.Before = &JSON[any]{V: before}
	}
	if after != nil {
		e.After = &JSON[any]{V: after}
	}
	if err := tx.Omit("ID").Create(&e).Error; err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// AuditLog returns the account's newest entries, older than beforeID when it is > 0.
func (s *Store) AuditLog(ctx context.Context, accountID string, beforeID int64, limit int) ([]AuditEntry, error) {
	q := s.db.WithContext(ctx).Where("account_id = ?", accountID)
	if beforeID > 0 {
		q = q.Where("id < ?", beforeID)
	}
	var out []AuditEntry
	if err := q.Order("id DESC").Limit(limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}
