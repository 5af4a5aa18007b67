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
	// Probe state of a webhook disabled automatically (migration 0029,
	// see probe.go): DisabledAuto says the dispatcher disabled it (never
	// a person), ProbeNextAt when the next probe goes (nil: none planned).
	DisabledAuto     bool
	ProbeNextAt      *time.Time
	ProbeCount       int
	ProbeLastAt      *time.Time
	ProbeLastResult  string
	ProbeLeaseHolder *string
	ProbeLeaseUntil  *time.Time
	ProbeGaveUpAt    *time.Time
	// HealedAt is the last automatic re-enable after a successful probe,
	// HealedReplayed how many deliveries it sent again.
	HealedAt       *time.Time
	HealedReplayed int
	CreatedBy      string
	UpdatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// DeletedAt marks a deleted webhook, kept so its history stays
	// readable (migration 0026). GORM leaves such rows out of every query
	// on Webhook unless Unscoped: lists, lookups, matching and updates.
	DeletedAt gorm.DeletedAt
}

// Deleted reports whether the webhook was deleted (its history is kept).
func (w *Webhook) Deleted() bool { return w.DeletedAt.Valid }

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
	wasEnabled := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, id).Take(&w).Error; err != nil {
			return fmt.Errorf("update webhook: %w", notFound(err))
		}
		if err := s.openWebhook(&w); err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		before := w.auditView()
		wasEnabled = w.Enabled
		in.keepStoredSecret(&w)
		if err := s.applyInput(ctx, tx, accountID, &w, in); err != nil {
			return err
		}
		w.UpdatedBy, w.UpdatedAt = who.Label, s.now()
		if in.Enabled && w.DisabledReason != "" {
			w.enable()
		}
		if in.Enabled != wasEnabled { // a change by hand: never probed
			w.clearProbe()
		}
		sealed, err := s.sealedWebhook(&w)
		if err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		if err := saveWebhook(tx, sealed); err != nil {
			return fmt.Errorf("update webhook: %w", err)
		}
		return audit(tx, accountID, who, "webhook.updated", "webhook", w.ID, before, w.auditView(), w.UpdatedAt)
	})
	if err != nil {
		return nil, err
	}
	if w.Enabled != wasEnabled {
		s.emit(ctx, w.UpdatedAt, toggledEvent(&w, who, w.Enabled, ""))
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
	changed := false
	now := s.now()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, id).Take(&w).Error; err != nil {
			return fmt.Errorf("toggle webhook: %w", notFound(err))
		}
		if err := s.openWebhook(&w); err != nil {
			return fmt.Errorf("toggle webhook: %w", err)
		}
		changed = w.Enabled != enabled
		// A change by hand is never probed; a disable by hand stops the probes.
		w.clearProbe()
		w.UpdatedBy, w.UpdatedAt = who.Label, now
		if enabled {
			w.enable()
		} else {
			w.Enabled, w.DisabledReason, w.DisabledAt = false, reason, &now
		}
		if err := saveWebhook(tx, &w, stateColumns...); err != nil {
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
	if changed {
		s.emit(ctx, now, toggledEvent(&w, who, enabled, reason))
	}
	return &w, nil
}

// DeleteWebhook deletes a webhook and returns it. The row is kept, marked
// deleted (and disabled, out of the due set), so its delivery log and
// attempts stay readable for the account's history retention
// (PurgeDeletedWebhooks); deliveries still waiting or being sent are
// cancelled and never sent (again).
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
		// Lock the open deliveries before the webhook row, in id order:
		// the order recorders take them (deliveries, then the webhook's
		// streak), so a delete and a recorder cannot deadlock.
		if err := tx.Exec(`SELECT id FROM deliveries WHERE webhook_id = ? AND account_id = ? AND status IN (?, ?) ORDER BY id FOR UPDATE`,
			id, accountID, StatusPending, StatusSending).Error; err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		now := s.now()
		if err := tx.Model(&Webhook{}).Where("account_id = ? AND id = ?", accountID, id).UpdateColumns(map[string]any{
			"deleted_at": now, "enabled": false, "next_due_at": nil, "probe_next_at": nil, "updated_by": who.Label, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("delete webhook: %w", err)
		}
		// A statement of its own, after the webhook row is marked: it also
		// sees the deliveries an ingest that matched the webhook just
		// committed. A cancelled "sending" row makes its recorder skip the
		// state (it records only rows still leased), not the attempt.
		if err := tx.Exec(`UPDATE deliveries SET status = ?, next_attempt_at = NULL, lease_until = NULL, lease_holder = NULL,
			completed_at = ?, updated_at = ? WHERE webhook_id = ? AND account_id = ? AND status IN (?, ?)`,
			StatusCancelled, now, now, id, accountID, StatusPending, StatusSending).Error; err != nil {
			return fmt.Errorf("delete webhook: cancel deliveries: %w", err)
		}
		w.DeletedAt = gorm.DeletedAt{Time: now, Valid: true}
		return audit(tx, accountID, who, "webhook.deleted", "webhook", id, w.auditView(), nil, now)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// DeliveryWebhook returns the webhook a delivery of the account belongs
// to, deleted or not (Deleted says which), for the pages that show a
// delivery's history; ErrNotFound when it is gone altogether.
func (s *Store) DeliveryWebhook(ctx context.Context, accountID, id string) (*Webhook, error) {
	if !validID(id) {
		return nil, ErrNotFound
	}
	var w Webhook
	if err := s.db.WithContext(ctx).Unscoped().Where("account_id = ? AND id = ?", accountID, id).Take(&w).Error; err != nil {
		return nil, fmt.Errorf("get webhook: %w", notFound(err))
	}
	if err := s.openWebhook(&w); err != nil {
		return nil, fmt.Errorf("get webhook: %w", err)
	}
	return &w, nil
}

// PurgeDeletedWebhooks removes, with their delivery logs, the webhooks
// deleted longer ago than their account's history retention, and returns
// how many it removed. Their deliveries are all final (the delete
// cancelled the open ones), so no recorder holds them. The deliveries go
// by the foreign key's cascade, their attempts by name (no foreign key
// runs between the partitioned history tables).
func (s *Store) PurgeDeletedWebhooks(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := byIndex(s.db.WithContext(ctx), func(tx *gorm.DB) error {
		res := tx.Exec(`WITH gone AS (
			SELECT w.account_id, w.id FROM webhooks w JOIN accounts a ON a.id = w.account_id
			WHERE w.deleted_at IS NOT NULL
				AND w.deleted_at < CAST(? AS timestamptz) - make_interval(days => a.history_retention_days)
		), att AS (
			DELETE FROM attempts x USING deliveries d, gone
			WHERE d.account_id = gone.account_id AND d.webhook_id = gone.id AND x.account_id = d.account_id AND x.delivery_id = d.id
		)
		DELETE FROM webhooks w USING gone WHERE w.account_id = gone.account_id AND w.id = gone.id`, now)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("purge deleted webhooks: %w", err)
	}
	return n, nil
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
		if err := saveWebhook(tx, sealed, "signing_secret", "previous_secret", "previous_secret_expires_at", "updated_by", "updated_at"); err != nil {
			return fmt.Errorf("rotate secret: %w", err)
		}
		return audit(tx, accountID, who, "webhook.secret_rotated", "webhook", w.ID, nil, map[string]any{"previous_expires_at": expires}, now)
	})
	if err != nil {
		return nil, err
	}
	return &w, nil
}

// RevealWebhookSecret returns the webhook with its signing secret for a
// user who asked to see it in full (the console's Reveal, the API's GET
// secret), and records that in the audit log. via says where it was shown.
func (s *Store) RevealWebhookSecret(ctx context.Context, accountID, id string, who Actor, via string) (*Webhook, error) {
	w, err := s.Webhook(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return audit(tx, accountID, who, "webhook.secret_revealed", "webhook", w.ID, nil, map[string]any{"secret": "signing secret", "via": via}, s.now())
	})
	if err != nil {
		return nil, fmt.Errorf("reveal secret: %w", err)
	}
	return w, nil
}

// saveWebhook writes w, or only the named columns of it, found by its
// primary key (account_id, id).
func saveWebhook(tx *gorm.DB, w *Webhook, columns ...string) error {
	q := tx.Where("account_id = ?", w.AccountID)
	if len(columns) > 0 {
		q = q.Select(columns)
	}
	return q.Save(w).Error
}
