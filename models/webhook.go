package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Request methods, content types, call types and auth types a webhook may use.
const (
	MethodGET  = "GET"
	MethodPOST = "POST"

	ContentJSON = "application/json"
	ContentForm = "application/x-www-form-urlencoded"

	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthBearer = "bearer"

	// DefaultAPIVersion is the payload schema version new webhooks pin.
	DefaultAPIVersion = "2026-01"
	// SecretOverlap is a new account's grace period: how long the previous
	// signing secret keeps signing after a rotation (Settings change it).
	SecretOverlap = 24 * time.Hour
)

// Header is one custom request header, kept in the order the admin entered it.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Secret marks a value that is sealed at rest and redacted in attempt
	// records and the audit log. Headers whose names look secret
	// (Authorization, X-Api-Key, ...) are treated as secret either way.
	Secret bool `json:"secret,omitempty"`
}

// IsSecret reports whether the header's value is a secret.
func (h Header) IsSecret() bool { return h.Secret || looksSecret(h.Name) }

// Filter narrows a webhook to events whose payload Field is (or is not) one of Values.
type Filter struct {
	Field  string   `json:"field"`
	Op     string   `json:"op"` // "in" | "not_in"
	Values []string `json:"values"`
}

// Webhook is an account's subscription to call events.
type Webhook struct {
	ID             string
	AccountID      string
	Name           string
	Description    string
	EventTypes     StringList
	URL            string
	Method         string
	ContentType    string
	CallTypes      StringList
	DIDNumbers     StringList `gorm:"column:did_numbers"`
	TimeZone       string
	Headers        JSON[[]Header]
	AuthType       string
	AuthUsername   string
	AuthSecret     string
	CustomData     JSON[map[string]any] // values are string, float64 or bool
	CustomDataMode CustomDataMode
	DialectState   JSON[DialectState] // vendor dialects' spelling; not configuration
	Filters        JSON[[]Filter]
	APIVersion     string `gorm:"column:api_version"`
	MaxAttempts    int
	TimeoutMS      int `gorm:"column:timeout_ms"`
	// OrderedByCall sends one call's deliveries in event order (claimSQL);
	// OrderingWindowS bounds how long a call's head may hold the rest.
	OrderedByCall   bool
	OrderingWindowS int `gorm:"column:ordering_window_s"`
	// ExpireAfter is, per event type, the seconds after occurred_at when a
	// delivery still unsent expires instead; a type not listed never does.
	ExpireAfter             JSON[map[string]int]
	Enabled                 bool
	DisabledReason          string
	DisabledAt              *time.Time
	SigningSecret           string
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	ConsecutiveFailures     int
	FailingSince            *time.Time
	// PausedUntil is set while the circuit breaker holds the webhook's
	// deliveries back (see breaker.go); PauseTrips counts the pauses of the
	// current failure streak.
	PausedUntil *time.Time
	PauseTrips  int
	CreatedBy   string
	UpdatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// OrderingWindow is how long a call's first open delivery holds the later ones.
func (w *Webhook) OrderingWindow() time.Duration {
	return time.Duration(w.OrderingWindowS) * time.Second
}

// Deadline is when a delivery of an event of type eventType that occurred at
// occurred expires, or nil when such deliveries never do.
func (w *Webhook) Deadline(eventType string, occurred time.Time) *time.Time {
	secs, ok := w.ExpireAfter.V[eventType]
	if !ok || secs <= 0 {
		return nil
	}
	at := occurred.Add(time.Duration(secs) * time.Second)
	return &at
}

// Timeout is the per-request timeout.
func (w *Webhook) Timeout() time.Duration { return time.Duration(w.TimeoutMS) * time.Millisecond }

// SigningSecrets returns the secrets that sign a request sent at now:
// the current one, plus the previous one until its overlap expires.
func (w *Webhook) SigningSecrets(now time.Time) []string {
	out := []string{w.SigningSecret}
	if w.PreviousSecret != "" && w.PreviousSecretExpiresAt != nil && now.Before(*w.PreviousSecretExpiresAt) {
		out = append(out, w.PreviousSecret)
	}
	return out
}

// auditView is what the audit log keeps of a webhook: everything but secrets.
func (w *Webhook) auditView() map[string]any {
	auth := w.AuthType
	headers := make([]Header, len(w.Headers.V))
	for i, h := range w.Headers.V {
		headers[i] = RedactHeader(h)
	}
	return map[string]any{
		"name": w.Name, "description": w.Description, "event_types": []string(w.EventTypes),
		"url": RedactURL(w.URL), "method": w.Method, "content_type": w.ContentType,
		"call_types": []string(w.CallTypes), "did_numbers": []string(w.DIDNumbers),
		"time_zone": w.TimeZone, "headers": headers, "auth_type": auth,
		"custom_data": w.CustomData.V, "custom_data_mode": w.CustomDataMode, "filters": w.Filters.V,
		"max_attempts": w.MaxAttempts, "timeout_ms": w.TimeoutMS, "enabled": w.Enabled,
		"ordered_by_call": w.OrderedByCall, "ordering_window_seconds": w.OrderingWindowS, "expire_after_seconds": w.ExpireAfter.V,
	}
}

// SigningSecretPrefix starts every signing secret (Standard Webhooks).
const SigningSecretPrefix = "whsec_"

// NewSigningSecret returns a fresh Standard Webhooks secret: the prefix and
// the standard base64 of 24 random bytes, the HMAC key.
func NewSigningSecret() (string, error) {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("new signing secret: %w", err)
	}
	return SigningSecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// Webhooks lists the account's webhooks by name.
func (s *Store) Webhooks(ctx context.Context, accountID string) ([]Webhook, error) {
	var out []Webhook
	if err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("lower(name)").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	if err := s.openWebhooks(out); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// Webhook returns one webhook of the account, or ErrNotFound.
func (s *Store) Webhook(ctx context.Context, accountID, id string) (*Webhook, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var w Webhook
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Take(&w).Error; err != nil {
		return nil, fmt.Errorf("get webhook: %w", notFound(err))
	}
	if err := s.openWebhook(&w); err != nil {
		return nil, fmt.Errorf("get webhook: %w", err)
	}
	return &w, nil
}

// CreateWebhook validates in and inserts a new webhook with a fresh signing secret.
func (s *Store) CreateWebhook(ctx context.Context, accountID string, who Actor, in WebhookInput) (*Webhook, error) {
	secret, err := NewSigningSecret()
	if err != nil {
		return nil, err
	}
	now := s.now()
	w := &Webhook{ID: NewID("wh_"), AccountID: accountID, SigningSecret: secret, APIVersion: DefaultAPIVersion,
		CreatedBy: who.Label, UpdatedBy: who.Label, CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.applyInput(ctx, tx, accountID, w, in); err != nil {
			return err
		}
		sealed, err := s.sealedWebhook(w)
		if err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		if err := tx.Create(sealed).Error; err != nil {
			return fmt.Errorf("create webhook: %w", err)
		}
		return audit(tx, accountID, who, "webhook.created", "webhook", w.ID, nil, w.auditView(), now)
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// UpdateWebhook validates in and replaces the webhook's configuration.
// An empty auth secret keeps the stored one, so forms never echo secrets.
func (s *Store) UpdateWebhook(ctx context.Context, accountID, id string, who Actor, in WebhookInput) (*Webhook, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var w Webhook
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, id).Take(&w).Error; err != nil {
			return fmt.Errorf("update webhook: %w", notFound(err))
		}
		if err := s.openWebhook(&w); err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		before := w.auditView()
		in.keepStoredSecret(&w)
		if err := s.applyInput(ctx, tx, accountID, &w, in); err != nil {
			return err
		}
		w.UpdatedBy, w.UpdatedAt = who.Label, s.now()
		if in.Enabled && w.DisabledReason != "" {
			w.DisabledReason, w.DisabledAt = "", nil
			w.ConsecutiveFailures, w.FailingSince, w.PausedUntil, w.PauseTrips = 0, nil, nil, 0
		}
		sealed, err := s.sealedWebhook(&w)
		if err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		if err := tx.Save(sealed).Error; err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		return audit(tx, accountID, who, "webhook.updated", "webhook", w.ID, before, w.auditView(), w.UpdatedAt)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// SetWebhookEnabled turns a webhook on or off. Turning it on clears an
// automatic disable reason; turning it off records reason.
func (s *Store) SetWebhookEnabled(ctx context.Context, accountID, id string, who Actor, enabled bool, reason string) (*Webhook, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var w Webhook
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, id).Take(&w).Error; err != nil {
			return fmt.Errorf("toggle webhook: %w", notFound(err))
		}
		if err := s.openWebhook(&w); err != nil {
			return fmt.Errorf("toggle webhook: %w", err)
		}
		now := s.now()
		w.Enabled, w.UpdatedBy, w.UpdatedAt = enabled, who.Label, now
		if enabled {
			w.DisabledReason, w.DisabledAt = "", nil
			w.ConsecutiveFailures, w.FailingSince, w.PausedUntil, w.PauseTrips = 0, nil, nil, 0
		} else {
			w.DisabledReason, w.DisabledAt = reason, &now
		}
		if err := tx.Select("enabled", "disabled_reason", "disabled_at", "consecutive_failures", "failing_since", "paused_until", "pause_trips", "updated_by", "updated_at").Save(&w).Error; err != nil {
			return fmt.Errorf("toggle webhook: %w", err)
		}
		action := "webhook.disabled"
		if enabled {
			action = "webhook.enabled"
		}
		return audit(tx, accountID, who, action, "webhook", w.ID, nil, map[string]any{"enabled": enabled, "reason": reason}, now)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// DeleteWebhook removes a webhook and its delivery log and returns what
// was deleted.
func (s *Store) DeleteWebhook(ctx context.Context, accountID, id string, who Actor) (*Webhook, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var w Webhook
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("account_id = ? AND id = ?", accountID, id).Take(&w).Error; err != nil {
			return fmt.Errorf("delete webhook: %w", notFound(err))
		}
		if err := s.openWebhook(&w); err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		// Lock the deliveries the delete cascades to before the webhook row,
		// in id order: the order recorders take them (deliveries, then the
		// webhook's streak), so a delete and a recorder cannot deadlock.
		if err := tx.Exec(`SELECT id FROM deliveries WHERE webhook_id = ? AND account_id = ? ORDER BY id FOR UPDATE`, id, accountID).Error; err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		if err := tx.Where("account_id = ? AND id = ?", accountID, id).Delete(&Webhook{}).Error; err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		return audit(tx, accountID, who, "webhook.deleted", "webhook", id, w.auditView(), nil, s.now())
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// RotateWebhookSecret makes a new signing secret current; the old one keeps
// signing (a second signature) for the account's grace period (Settings;
// SecretOverlap unless changed) so receivers can switch.
func (s *Store) RotateWebhookSecret(ctx context.Context, accountID, id string, who Actor) (*Webhook, error) {
	return s.rotateWebhookSecret(ctx, accountID, id, who, -1)
}

// MaxSecretGrace bounds how long an old signing secret may keep signing.
const MaxSecretGrace = 7 * 24 * time.Hour

// RotateWebhookSecretGrace is RotateWebhookSecret with the old secret
// signing for grace (0: it stops at once), at most MaxSecretGrace.
func (s *Store) RotateWebhookSecretGrace(ctx context.Context, accountID, id string, who Actor, grace time.Duration) (*Webhook, error) {
	if grace < 0 || grace > MaxSecretGrace {
		return nil, FieldErrors{"grace_period_seconds": fmt.Sprintf("Choose between 0 and %d seconds.", int(MaxSecretGrace.Seconds()))}
	}
	return s.rotateWebhookSecret(ctx, accountID, id, who, grace)
}

// rotateWebhookSecret rotates with grace, or with the account's setting,
// read in the same transaction, when grace is negative.
func (s *Store) rotateWebhookSecret(ctx context.Context, accountID, id string, who Actor, grace time.Duration) (*Webhook, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	secret, err := NewSigningSecret()
	if err != nil {
		return nil, err
	}
	var w Webhook
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, id).Take(&w).Error; err != nil {
			return fmt.Errorf("rotate secret: %w", notFound(err))
		}
		if err := s.openWebhook(&w); err != nil {
			return fmt.Errorf("rotate secret: %w", err)
		}
		if grace < 0 {
			var secs int
			if err := tx.Model(&Account{}).Where("id = ?", accountID).Pluck("secret_grace_seconds", &secs).Error; err != nil {
				return fmt.Errorf("rotate secret: account grace: %w", err)
			}
			grace = time.Duration(secs) * time.Second
		}
		now := s.now()
		expires := now.Add(grace)
		w.PreviousSecret, w.PreviousSecretExpiresAt, w.SigningSecret = w.SigningSecret, &expires, secret
		w.UpdatedBy, w.UpdatedAt = who.Label, now
		sealed, err := s.sealedWebhook(&w)
		if err != nil {
			return fmt.Errorf("rotate secret: %w", err)
		}
		if err := tx.Select("signing_secret", "previous_secret", "previous_secret_expires_at", "updated_by", "updated_at").Save(sealed).Error; err != nil {
			return fmt.Errorf("rotate secret: %w", err)
		}
		return audit(tx, accountID, who, "webhook.secret_rotated", "webhook", w.ID, nil, map[string]any{"previous_expires_at": expires}, now)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}
