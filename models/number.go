package models

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
)

// PhoneNumber is one of the account's own numbers (a DID, "My Numbers").
type PhoneNumber struct {
	ID        string
	AccountID string
	Number    string
	Label     string
	CreatedAt time.Time
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// NormalizeE164 strips spaces, dashes, dots and parentheses and turns a
// leading 00 into +. It reports whether the result is valid E.164.
func NormalizeE164(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '\t':
			return -1
		}
		return r
	}, s)
	if strings.HasPrefix(s, "00") {
		s = "+" + s[2:]
	}
	return s, e164.MatchString(s)
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
	fe := FieldErrors{}
	n, ok := NormalizeE164(number)
	if !ok {
		fe.Add("number", "Enter the number in international format, e.g. +918287842425.")
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
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
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
