package models

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models/catalog"
)

// PhoneNumber is one of the account's own numbers (a DID, "My Numbers").
type PhoneNumber struct {
	ID        string
	AccountID string
	Number    string
	Label     string
	CreatedAt time.Time
}

// PhoneNumbers lists the account's numbers in number order.
func (s *Store) PhoneNumbers(ctx context.Context, accountID string) ([]PhoneNumber, error) {
	var out []PhoneNumber
	if err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("number").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list numbers: %w", err)
	}
	return out, nil
}

// AddPhoneNumber adds a DID to the account.
func (s *Store) AddPhoneNumber(ctx context.Context, accountID string, who Actor, number, label string) (*PhoneNumber, error) {
	country, err := s.DefaultCountry(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("add number: %w", err)
	}
	fe := FieldErrors{}
	// The same normaliser as event ingest, so a DID typed here equals the
	// did_number of the events that reach it.
	n, ok := catalog.NormalizePhone(number, country)
	if !ok {
		msg := "Enter the number in international format, e.g. +918287842425."
		if c, ok := catalog.LookupCountry(country); ok {
			msg = fmt.Sprintf("Enter the number in international format (+%s…) or as a national number of %s.", c.CallingCode, c.Name)
		}
		fe.Add("number", msg)
	}
	label = strings.TrimSpace(label)
	fe.CheckText("label", label)
	if len(label) > 100 {
		fe.Add("label", "Use at most 100 characters.")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	p := &PhoneNumber{ID: NewID("num_"), AccountID: accountID, Number: n, Label: label, CreatedAt: s.now()}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(p).Error; err != nil {
			if isUniqueViolation(err) {
				return FieldErrors{"number": "This number is already in the account."}
			}
			return fmt.Errorf("add number: %w", err)
		}
		return audit(tx, accountID, who, "number.added", "phone_number", p.ID, nil, map[string]any{"number": n, "label": label}, p.CreatedAt)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// DeletePhoneNumber removes a DID unless a webhook still filters on it:
// silently dropping it from a webhook would widen that webhook to all numbers.
func (s *Store) DeletePhoneNumber(ctx context.Context, accountID string, who Actor, id string) error {
	if !validID(id) {
		return ErrNotFound
	}
	var p PhoneNumber
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Take(&p).Error; err != nil {
		return fmt.Errorf("delete number: %w", notFound(err))
	}
	var names []string
	if err := s.db.WithContext(ctx).Model(&Webhook{}).
		Where("account_id = ? AND ? = ANY(did_numbers)", accountID, p.Number).
		Order("name").Pluck("name", &names).Error; err != nil {
		return fmt.Errorf("delete number: %w", err)
	}
	if len(names) > 0 {
		return FieldErrors{"number": "Used by webhook " + strings.Join(names, ", ") + "; remove it there first."}
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("account_id = ? AND id = ?", accountID, id).Delete(&PhoneNumber{}).Error; err != nil {
			return fmt.Errorf("delete number: %w", err)
		}
		return audit(tx, accountID, who, "number.removed", "phone_number", id, map[string]any{"number": p.Number, "label": p.Label}, nil, s.now())
	})
}
