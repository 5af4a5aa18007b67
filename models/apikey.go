package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// APIKey authenticates a program against the JSON API. Only its SHA-256
// hash is stored; the key itself is shown once, when it is created.
type APIKey struct {
	ID         string
	AccountID  string
	Name       string
	Prefix     string // "sk_live_" + first 8 characters, safe to show
	Hash       []byte
	Scope      APIKeyScope
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// APIKeyScope is what a key may do.
type APIKeyScope string

// The scopes a key can have.
const (
	// ScopeFull may call every API route.
	ScopeFull APIKeyScope = "full"
	// ScopeRead may only read: GET requests.
	ScopeRead APIKeyScope = "read"
	// ScopeIngest may only send call events (POST /api/v1/events): the key
	// a PBX that produces events holds.
	ScopeIngest APIKeyScope = "ingest"
)

// APIKeyScopes lists the scopes in the order forms offer them.
var APIKeyScopes = []APIKeyScope{ScopeFull, ScopeRead, ScopeIngest}

// Valid reports whether s is one of the scopes.
func (s APIKeyScope) Valid() bool {
	return s == ScopeFull || s == ScopeRead || s == ScopeIngest
}

// Permits reports whether a key of scope s may call a route that needs
// scope need: a full key may call anything, the others only routes that
// need exactly their scope.
func (s APIKeyScope) Permits(need APIKeyScope) bool {
	return s == ScopeFull || s == need
}

// The two kinds of API key, by the prefix of their plaintext.
const (
	LiveKeyPrefix = "sk_live_"
	TestKeyPrefix = "sk_test_"
)

// TestMode reports whether k is an sk_test_ key: events it ingests make
// test deliveries, which the stats leave out.
func (k *APIKey) TestMode() bool { return strings.HasPrefix(k.Prefix, TestKeyPrefix) }

// NewAPIKey describes a key to create.
type NewAPIKey struct {
	Name  string
	Scope APIKeyScope // empty means ScopeFull
	Test  bool        // an sk_test_ key
}

const keyAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return string(b), nil
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CreateAPIKey makes a key for the account and returns it with its
// plaintext, which is never stored and cannot be shown again.
func (s *Store) CreateAPIKey(ctx context.Context, accountID string, who Actor, in NewAPIKey) (*APIKey, string, error) {
	name := strings.TrimSpace(in.Name)
	if in.Scope == "" {
		in.Scope = ScopeFull
	}
	mode := LiveKeyPrefix
	if in.Test {
		mode = TestKeyPrefix
	}
	tok, err := randomToken(40)
	if err != nil {
		return nil, "", err
	}
	plain := mode + tok
	k := &APIKey{ID: NewID("key_"), AccountID: accountID, Name: name, Prefix: plain[:len(mode)+8], Hash: hashKey(plain), Scope: in.Scope, CreatedBy: who.Label, CreatedAt: s.now()}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One writer of the account's keys at a time, so two keys of one
		// name cannot both pass the check.
		if err := tx.Exec(`SELECT 1 FROM accounts WHERE id = ? FOR UPDATE`, accountID).Error; err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		fe, err := apiKeyErrors(tx, accountID, in)
		if err != nil {
			return err
		}
		if err := fe.Err(); err != nil {
			return err
		}
		if err := tx.Create(k).Error; err != nil {
			return fmt.Errorf("create api key: %w", err)
		}
		return audit(tx, accountID, who, "api_key.created", "api_key", k.ID, nil, map[string]any{"name": name, "prefix": k.Prefix, "scope": k.Scope}, k.CreatedAt)
	})
	if err != nil {
		return nil, "", err
	}
	return k, plain, nil
}

// ValidateAPIKey reports what CreateAPIKey would refuse in, without
// creating anything: a form with other mistakes shows them all at once.
func (s *Store) ValidateAPIKey(ctx context.Context, accountID string, in NewAPIKey) (FieldErrors, error) {
	return apiKeyErrors(s.db.WithContext(ctx), accountID, in)
}

// apiKeyErrors checks a new key's name (1-100 characters, not the name of
// another of the account's active keys) and scope.
func apiKeyErrors(db *gorm.DB, accountID string, in NewAPIKey) (FieldErrors, error) {
	name := strings.TrimSpace(in.Name)
	fe := FieldErrors{}
	if fe.CheckText("name", name) && (name == "" || utf8.RuneCountInString(name) > 100) {
		fe.Add("name", "Give the key a name of 1-100 characters.")
	}
	if in.Scope != "" && !in.Scope.Valid() {
		fe.Add("scope", "Choose full, read or ingest.")
	}
	if fe["name"] == "" {
		var n int64
		if err := db.Model(&APIKey{}).Where("account_id = ? AND lower(name) = lower(?) AND revoked_at IS NULL", accountID, name).Count(&n).Error; err != nil {
			return nil, fmt.Errorf("check api key name: %w", err)
		}
		if n > 0 {
			fe.Add("name", "An active key already has this name. Choose another, or revoke that key first.")
		}
	}
	return fe, nil
}

// APIKeys lists the account's keys, newest first.
func (s *Store) APIKeys(ctx context.Context, accountID string) ([]APIKey, error) {
	var out []APIKey
	if err := s.db.WithContext(ctx).Where("account_id = ?", accountID).Order("created_at DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

// RevokeAPIKey stops a key from working.
func (s *Store) RevokeAPIKey(ctx context.Context, accountID, id string, who Actor) error {
	if !validID(id) {
		return ErrNotFound
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&APIKey{}).Where("account_id = ? AND id = ? AND revoked_at IS NULL", accountID, id).Update("revoked_at", s.now())
		if res.Error != nil {
			return fmt.Errorf("revoke api key: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("revoke api key: %w", ErrNotFound)
		}
		return audit(tx, accountID, who, "api_key.revoked", "api_key", id, nil, nil, s.now())
	})
	if err == nil {
		s.apiKeys.clear() // at once in this process; others within their cache TTL
	}
	return err
}

// AuthenticateAPIKey returns the live key matching plain, updating its last use.
func (s *Store) AuthenticateAPIKey(ctx context.Context, plain string) (*APIKey, error) {
	k, _, err := s.authenticateAPIKey(ctx, plain, false)
	return k, err
}

// AuthenticateAPIKeyAccount is AuthenticateAPIKey that also returns the
// key's account, read in the same query (one round trip per API request
// instead of two).
func (s *Store) AuthenticateAPIKeyAccount(ctx context.Context, plain string) (*APIKey, *Account, error) {
	return s.authenticateAPIKey(ctx, plain, true)
}

// keyWithAccount is an api_keys row with its account's columns.
type keyWithAccount struct {
	APIKey            `gorm:"embedded"`
	AccName           string    `gorm:"column:acc_name"`
	AccTimeZone       string    `gorm:"column:acc_time_zone"`
	AccDefaultCountry string    `gorm:"column:acc_default_country"`
	AccCreatedAt      time.Time `gorm:"column:acc_created_at"`
	AccMaskPII        bool      `gorm:"column:acc_mask_pii"` // privacy.go: read keys see masked history
}

func (s *Store) authenticateAPIKey(ctx context.Context, plain string, withAccount bool) (*APIKey, *Account, error) {
	if !strings.HasPrefix(plain, LiveKeyPrefix) && !strings.HasPrefix(plain, TestKeyPrefix) {
		return nil, nil, ErrInvalidCredentials
	}
	hash := hashKey(plain)
	if k, acc, ok := s.apiKeys.get(string(hash), withAccount); ok {
		return s.noteAPIKeyUse(ctx, string(hash), k, acc)
	}
	read := time.Now()
	var row keyWithAccount
	var acc *Account
	if withAccount {
		var rows []keyWithAccount
		err := s.db.WithContext(ctx).Raw(`SELECT k.*, a.name AS acc_name, a.time_zone AS acc_time_zone, a.default_country AS acc_default_country,
			a.created_at AS acc_created_at, a.mask_pii AS acc_mask_pii FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.hash = ? AND k.revoked_at IS NULL`, hash).
			Find(&rows).Error
		if err != nil {
			return nil, nil, fmt.Errorf("authenticate api key: %w", err)
		}
		if len(rows) == 0 {
			return nil, nil, ErrInvalidCredentials
		}
		row = rows[0]
		acc = &Account{ID: row.AccountID, Name: row.AccName, TimeZone: row.AccTimeZone, DefaultCountry: row.AccDefaultCountry, CreatedAt: row.AccCreatedAt,
			MaskPII: row.AccMaskPII}
	} else {
		err := s.db.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", hash).Take(&row.APIKey).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, nil, ErrInvalidCredentials
		}
		if err != nil {
			return nil, nil, fmt.Errorf("authenticate api key: %w", err)
		}
	}
	s.apiKeys.put(string(hash), row.APIKey, acc, read)
	return s.noteAPIKeyUse(ctx, string(hash), row.APIKey, acc)
}

// noteAPIKeyUse records the use of an authenticated key, coarsely: one
// write a minute per key, not one per request.
func (s *Store) noteAPIKeyUse(ctx context.Context, hash string, k APIKey, acc *Account) (*APIKey, *Account, error) {
	now := s.now()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		if err := s.db.WithContext(ctx).Model(&APIKey{}).Where("account_id = ? AND id = ?", k.AccountID, k.ID).Update("last_used_at", now).Error; err != nil {
			return nil, nil, fmt.Errorf("record api key use: %w", err)
		}
		k.LastUsedAt = &now
		s.apiKeys.used(hash, now)
	}
	return &k, acc, nil
}
