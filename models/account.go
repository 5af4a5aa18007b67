package models

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ringhook/ringhook/models/catalog"
)

// Role is what a user may do in their account; it is stored as text in
// users.role.
type Role string

// The roles, from most to least powerful.
const (
	// RoleOwner may do everything an admin may; the account's first user.
	RoleOwner Role = "owner"
	// RoleAdmin may read and change the account's configuration.
	RoleAdmin Role = "admin"
	// RoleViewer may read everything and change nothing.
	RoleViewer Role = "viewer"
)

// Valid reports whether r is one of the roles above.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleViewer }

// CanWrite reports whether the role may change configuration.
func (r Role) CanWrite() bool { return r == RoleOwner || r == RoleAdmin }

// CanManageTeam reports whether the role may open the Users and Settings
// pages, invite people and remove members who are not owners. Who may do
// what is in docs/architecture.md ("Roles"); MayChangeMember decides the
// finer cases.
func (r Role) CanManageTeam() bool { return r == RoleOwner || r == RoleAdmin }

// Roles lists the roles, most powerful first, for pickers.
var Roles = []Role{RoleOwner, RoleAdmin, RoleViewer}

// Account is a tenant of the PBX.
type Account struct {
	ID       string
	Name     string
	TimeZone string
	// DefaultCountry (ISO 3166-1 alpha-2, one of catalog.Countries) is how
	// bare national phone numbers of this account are read.
	DefaultCountry string
	// SecretGraceSeconds is how long a rotated signing secret keeps
	// signing when the rotation names no grace of its own.
	SecretGraceSeconds int
	// HistoryRetentionDays is how long delivery history is to be kept
	// (stored and shown; nothing deletes by it yet).
	HistoryRetentionDays int
	// Privacy settings (docs/privacy.md, models/privacy.go).
	MaskPII           bool `gorm:"column:mask_pii"`
	FailedBodiesOnly  bool `gorm:"column:failed_bodies_only"`
	BodyRetentionDays int  `gorm:"column:body_retention_days"`
	CreatedAt         time.Time
}

// SecretGrace is the account's default grace period for rotated secrets.
func (a *Account) SecretGrace() time.Duration {
	return time.Duration(a.SecretGraceSeconds) * time.Second
}

// Limits of the account settings.
const (
	// DefaultHistoryRetentionDays is a new account's history retention.
	DefaultHistoryRetentionDays = 30
	// MaxHistoryRetentionDays bounds it (and 1 day is the least).
	MaxHistoryRetentionDays = 365
)

// Location is the account's time zone, UTC when unset or unknown.
func (a *Account) Location() *time.Location {
	if a != nil && a.TimeZone != "" {
		if loc, err := time.LoadLocation(a.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// User signs in to the console of one account.
type User struct {
	ID           string
	AccountID    string
	Email        string
	PasswordHash string
	Role         Role
	CreatedAt    time.Time
	LastLoginAt  *time.Time
}

// CanWrite reports whether the user may change configuration.
func (u *User) CanWrite() bool { return u.Role.CanWrite() }

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// dummyHash keeps sign-in timing the same whether or not the email exists.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("ringhook-timing-equaliser"), bcrypt.DefaultCost)

// CreateAccount inserts a new tenant with catalog.DefaultCountry as its
// default country (SetDefaultCountry changes it).
func (s *Store) CreateAccount(ctx context.Context, name, timeZone string) (*Account, error) {
	name = strings.TrimSpace(name)
	if fe := (FieldErrors{}); !fe.CheckText("name", name) {
		return nil, fe
	}
	if name == "" {
		return nil, FieldErrors{"name": "Account name is required."}
	}
	if timeZone == "" {
		timeZone = "UTC"
	}
	if _, err := time.LoadLocation(timeZone); err != nil {
		return nil, FieldErrors{"time_zone": "Unknown time zone."}
	}
	a := &Account{ID: NewID("acc_"), Name: name, TimeZone: timeZone, DefaultCountry: catalog.DefaultCountry,
		SecretGraceSeconds: int(SecretOverlap / time.Second), HistoryRetentionDays: DefaultHistoryRetentionDays, CreatedAt: s.now()}
	if err := s.db.WithContext(ctx).Create(a).Error; err != nil {
		return nil, fmt.Errorf("create account: %w", err)
	}
	return a, nil
}

// SetDefaultCountry changes how the account reads bare national phone
// numbers. Numbers already stored keep their E.164 form.
func (s *Store) SetDefaultCountry(ctx context.Context, accountID, country string) error {
	c, ok := catalog.LookupCountry(country)
	if !ok {
		return FieldErrors{"default_country": "Choose a supported country (ISO 3166 code such as IN or US)."}
	}
	res := s.db.WithContext(ctx).Model(&Account{}).Where("id = ?", accountID).Update("default_country", c.Code)
	if res.Error != nil {
		return fmt.Errorf("set default country: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	s.apiKeys.clear() // cached keys carry their account's settings
	return nil
}

// DefaultCountry returns the account's default country for phone numbers:
// from the account ctx carries (WithAccount) when it is this one, else
// from the database.
func (s *Store) DefaultCountry(ctx context.Context, accountID string) (string, error) {
	if a, ok := ctx.Value(accountKey{}).(*Account); ok && a != nil && a.ID == accountID && a.DefaultCountry != "" {
		return a.DefaultCountry, nil
	}
	var c string
	err := s.db.WithContext(ctx).Model(&Account{}).Where("id = ?", accountID).Pluck("default_country", &c).Error
	if err != nil {
		return "", fmt.Errorf("account default country: %w", err)
	}
	if c == "" {
		return "", fmt.Errorf("account default country: %w", ErrNotFound)
	}
	return c, nil
}

// Account returns one account by id.
func (s *Store) Account(ctx context.Context, accountID string) (*Account, error) {
	if !validID(accountID) {
		return nil, ErrNotFound
	}
	var a Account
	if err := s.db.WithContext(ctx).Where("id = ?", accountID).Take(&a).Error; err != nil {
		return nil, fmt.Errorf("get account: %w", notFound(err))
	}
	return &a, nil
}

// AccountByName finds an account by its exact name (used by the admin CLI).
func (s *Store) AccountByName(ctx context.Context, name string) (*Account, error) {
	var a Account
	if err := s.db.WithContext(ctx).Where("name = ?", name).Order("created_at").Take(&a).Error; err != nil {
		return nil, fmt.Errorf("get account %q: %w", name, notFound(err))
	}
	return &a, nil
}

// CreateUser adds a user with a bcrypt-hashed password.
func (s *Store) CreateUser(ctx context.Context, accountID, email, password string, role Role) (*User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	fe := FieldErrors{}
	fe.CheckText("email", email)
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		fe.Add("email", "Enter a valid email address.")
	}
	if msg := passwordProblem(password); msg != "" {
		fe.Add("password", msg)
	}
	if !role.Valid() {
		fe.Add("role", "Choose owner, admin or viewer.")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	hash, err := bcryptHash(password)
	if err != nil {
		return nil, err
	}
	u := &User{ID: NewID("usr_"), AccountID: accountID, Email: email, PasswordHash: hash, Role: role, CreatedAt: s.now()}
	if err := s.db.WithContext(ctx).Create(u).Error; err != nil {
		if isUniqueViolation(err) {
			return nil, FieldErrors{"email": "A user with this email already exists."}
		}
		return nil, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// Authenticate checks an email and password and returns the user.
// Every failure is ErrInvalidCredentials, and takes as long as a success;
// only an email that is not text at all (fault.IsText) is a FieldErrors.
func (s *Store) Authenticate(ctx context.Context, email, password string) (*User, error) {
	if fe := (FieldErrors{}); !fe.CheckText("email", email) {
		return nil, fe // PostgreSQL cannot even compare it
	}
	var u User
	email = strings.ToLower(strings.TrimSpace(email))
	var err error
	if len(email) > 320 || !utf8.ValidString(email) || strings.ContainsRune(email, 0) {
		err = gorm.ErrRecordNotFound // no stored email looks like this; PostgreSQL would refuse the bytes
	} else {
		err = s.db.WithContext(ctx).Where("lower(email) = ?", email).Take(&u).Error
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if bcryptCompare(u.PasswordHash, password) != nil {
		return nil, ErrInvalidCredentials
	}
	now := s.now()
	if err := s.db.WithContext(ctx).Model(&User{}).Where("account_id = ? AND id = ?", u.AccountID, u.ID).Update("last_login_at", now).Error; err != nil {
		return nil, fmt.Errorf("record sign-in: %w", err)
	}
	u.LastLoginAt = &now
	return &u, nil
}

// User returns one user of the account (ErrNotFound for a user of
// another account).
func (s *Store) User(ctx context.Context, accountID, userID string) (*User, error) {
	if !validID(accountID) || !validID(userID) {
		return nil, ErrNotFound
	}
	var u User
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, userID).Take(&u).Error; err != nil {
		return nil, fmt.Errorf("get user: %w", notFound(err))
	}
	return &u, nil
}

// passwordProblem says what is wrong with a new password, "" when nothing.
// bcrypt reads at most 72 bytes, so longer passwords are refused rather
// than silently cut.
func passwordProblem(password string) string {
	switch {
	case len(password) < MinPasswordLength:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLength)
	case len(password) > 72:
		return "Use at most 72 characters."
	}
	return ""
}

func bcryptHash(password string) (string, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(hash), nil
}

func bcryptCompare(hash, password string) error {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
}

type accountKey struct{}

// WithAccount returns ctx carrying the account a request was authenticated
// for, as loaded moments ago, so code further down (ingest's default
// country) need not load it again.
func WithAccount(ctx context.Context, a *Account) context.Context {
	return context.WithValue(ctx, accountKey{}, a)
}

// AccountSettings are what the Settings page changes.
type AccountSettings struct {
	Name           string
	TimeZone       string // one of TimeZones
	DefaultCountry string // one of catalog.Countries
	// SecretGrace is the default grace period of secret rotations, 0 to
	// MaxSecretGrace, in whole hours.
	SecretGrace time.Duration
	// HistoryRetentionDays is 1 to MaxHistoryRetentionDays.
	HistoryRetentionDays int
}

// Settings returns the account's current settings.
func (a *Account) Settings() AccountSettings {
	return AccountSettings{Name: a.Name, TimeZone: a.TimeZone, DefaultCountry: a.DefaultCountry,
		SecretGrace: a.SecretGrace(), HistoryRetentionDays: a.HistoryRetentionDays}
}

// auditView is what the audit log records of the settings.
func (in AccountSettings) auditView() map[string]any {
	return map[string]any{"name": in.Name, "time_zone": in.TimeZone, "default_country": in.DefaultCountry,
		"secret_grace_hours": int(in.SecretGrace / time.Hour), "history_retention_days": in.HistoryRetentionDays}
}

// validate checks every setting, reporting each field's first problem,
// and returns the settings normalised.
func (in AccountSettings) validate() (AccountSettings, FieldErrors) {
	fe := FieldErrors{}
	in.Name = strings.TrimSpace(in.Name)
	if fe.CheckText("name", in.Name) {
		switch {
		case in.Name == "":
			fe.Add("name", "Account name is required.")
		case utf8.RuneCountInString(in.Name) > 100:
			fe.Add("name", "Use at most 100 characters.")
		}
	}
	if !slices.Contains(TimeZones(), in.TimeZone) {
		fe.Add("time_zone", "Choose a time zone from the list.")
	}
	if c, ok := catalog.LookupCountry(in.DefaultCountry); ok {
		in.DefaultCountry = c.Code
	} else {
		fe.Add("default_country", "Choose a country from the list.")
	}
	if in.SecretGrace < 0 || in.SecretGrace > MaxSecretGrace || in.SecretGrace%time.Hour != 0 {
		fe.Add("secret_grace_hours", fmt.Sprintf("Enter a whole number of hours from 0 to %d.", int(MaxSecretGrace/time.Hour)))
	}
	if in.HistoryRetentionDays < 1 || in.HistoryRetentionDays > MaxHistoryRetentionDays {
		fe.Add("history_retention_days", fmt.Sprintf("Enter a whole number of days from 1 to %d.", MaxHistoryRetentionDays))
	}
	return in, fe
}

// UpdateAccountSettings changes the account's settings, all or none, and
// records the change in the audit log. Invalid settings are FieldErrors
// keyed by the Settings form's field names.
func (s *Store) UpdateAccountSettings(ctx context.Context, accountID string, who Actor, in AccountSettings) (*Account, error) {
	in, fe := in.validate()
	if err := fe.Err(); err != nil {
		return nil, err
	}
	var a Account
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.Locking{Strength: "NO KEY UPDATE"}).Where("id = ?", accountID).Take(&a).Error; err != nil {
			return fmt.Errorf("update settings: %w", notFound(err))
		}
		before := a.Settings()
		a.Name, a.TimeZone, a.DefaultCountry = in.Name, in.TimeZone, in.DefaultCountry
		a.SecretGraceSeconds, a.HistoryRetentionDays = int(in.SecretGrace/time.Second), in.HistoryRetentionDays
		if err := tx.Model(&Account{}).Where("id = ?", accountID).Updates(map[string]any{"name": a.Name, "time_zone": a.TimeZone,
			"default_country": a.DefaultCountry, "secret_grace_seconds": a.SecretGraceSeconds, "history_retention_days": a.HistoryRetentionDays}).Error; err != nil {
			return fmt.Errorf("update settings: %w", err)
		}
		return audit(tx, accountID, who, "account.updated", "account", accountID, before.auditView(), a.Settings().auditView(), s.now())
	})
	if err != nil {
		return nil, err
	}
	s.apiKeys.clear() // cached keys carry their account's settings
	return &a, nil
}
