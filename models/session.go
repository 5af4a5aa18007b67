package models

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
)

// Session is one signed-in browser. The cookie carries a random token;
// only its SHA-256 is stored, so reading the table yields no usable cookie.
type Session struct {
	ID         string // "ses_…": the public handle the Profile page revokes by
	AccountID  string
	UserID     string
	TokenHash  []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	IP         string
	UserAgent  string
}

// touchEvery bounds how often a request writes last_seen_at: reads stay
// reads, and the Sessions list is still right to the minute.
const touchEvery = time.Minute

// CreateSession starts a session for a user of accountID that lasts until
// expires, and returns its id and the token for the cookie (never stored).
// It also deletes the user's sessions that ended a while ago.
func (s *Store) CreateSession(ctx context.Context, accountID, userID string, expires time.Time, ip, userAgent string) (id, token string, err error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("session token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	row := &Session{ID: NewID("ses_"), AccountID: accountID, UserID: userID, TokenHash: hashKey(token),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: expires.UTC(), IP: clip(ip, 64), UserAgent: clip(userAgent, 300)}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		// Keep ended sessions a day for the record, then forget them.
		if err := tx.Exec(`DELETE FROM sessions WHERE account_id = ? AND user_id = ? AND (expires_at < ? OR revoked_at < ?)`,
			accountID, userID, now.Add(-24*time.Hour), now.Add(-24*time.Hour)).Error; err != nil {
			return fmt.Errorf("prune sessions: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return row.ID, token, nil
}

// LiveSession resolves a cookie token to its session: ErrNotFound unless
// the session exists, is not revoked and has not expired. It is not
// account-scoped: it is how a request learns its account.
func (s *Store) LiveSession(ctx context.Context, token string) (id, accountID, userID string, err error) {
	if token == "" || len(token) > 100 {
		return "", "", "", ErrNotFound
	}
	now := s.now()
	var row Session
	err = s.db.WithContext(ctx).Where("token_hash = ? AND revoked_at IS NULL AND expires_at > ?", hashKey(token), now).Take(&row).Error
	if err != nil {
		return "", "", "", fmt.Errorf("get session: %w", notFound(err))
	}
	if now.Sub(row.LastSeenAt) >= touchEvery {
		if err := s.db.WithContext(ctx).Model(&Session{}).Where("account_id = ? AND id = ?", row.AccountID, row.ID).Update("last_seen_at", now).Error; err != nil {
			return "", "", "", fmt.Errorf("touch session: %w", err)
		}
	}
	return row.ID, row.AccountID, row.UserID, nil
}

// RevokeSessionToken ends the session a cookie token belongs to (sign-out).
// An unknown or already ended token is not an error.
func (s *Store) RevokeSessionToken(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	// The token finds the session (token_hash is unique); the write names
	// its account.
	var row Session
	err := s.db.WithContext(ctx).Select("account_id", "id").Where("token_hash = ? AND revoked_at IS NULL", hashKey(token)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err == nil {
		err = s.db.WithContext(ctx).Model(&Session{}).Where("account_id = ? AND id = ? AND revoked_at IS NULL", row.AccountID, row.ID).
			Update("revoked_at", s.now()).Error
	}
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// Sessions lists a user's live sessions, newest first.
func (s *Store) Sessions(ctx context.Context, accountID, userID string) ([]Session, error) {
	var out []Session
	err := s.db.WithContext(ctx).Where("account_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?", accountID, userID, s.now()).
		Order("created_at DESC, id").Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// RevokeSession ends one live session of the user; ErrNotFound when the id
// is not a live session of that user in that account.
func (s *Store) RevokeSession(ctx context.Context, accountID, userID, sessionID string) error {
	if !validID(sessionID) {
		return ErrNotFound
	}
	res := s.db.WithContext(ctx).Model(&Session{}).
		Where("id = ? AND account_id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?", sessionID, accountID, userID, s.now()).
		Update("revoked_at", s.now())
	if res.Error != nil {
		return fmt.Errorf("revoke session: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// RevokeUserSessions ends every live session of a user except exceptID
// ("" ends them all): for "sign out everywhere", a password change, and a
// user's removal. It returns how many it ended.
func (s *Store) RevokeUserSessions(ctx context.Context, accountID, userID, exceptID string) (int64, error) {
	return revokeUserSessions(s.db.WithContext(ctx), accountID, userID, exceptID, s.now())
}

func revokeUserSessions(tx *gorm.DB, accountID, userID, exceptID string, now time.Time) (int64, error) {
	res := tx.Model(&Session{}).Where("account_id = ? AND user_id = ? AND revoked_at IS NULL AND id <> ?", accountID, userID, exceptID).
		Update("revoked_at", now)
	if res.Error != nil {
		return 0, fmt.Errorf("revoke sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// ChangePassword replaces a user's password after checking the current one
// and that confirm repeats next (every problem reported at once),
// and ends the user's other sessions (all but keepSessionID) in the same
// transaction, so a stolen cookie dies with the old password.
func (s *Store) ChangePassword(ctx context.Context, accountID, userID, current, next, confirm, keepSessionID string) error {
	var u User
	if err := s.db.WithContext(ctx).Where("id = ? AND account_id = ?", userID, accountID).Take(&u).Error; err != nil {
		return fmt.Errorf("get user: %w", notFound(err))
	}
	fe := FieldErrors{}
	if current == "" || bcryptCompare(u.PasswordHash, current) != nil {
		fe.Add("current_password", "That is not your current password.")
	}
	if msg := passwordProblem(next); msg != "" {
		fe.Add("new_password", msg)
	} else if next == current {
		fe.Add("new_password", "Choose a password different from the current one.")
	}
	if confirm != next {
		fe.Add("confirm_password", "The two new passwords differ.")
	}
	if err := fe.Err(); err != nil {
		return err
	}
	hash, err := bcryptHash(next)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&User{}).Where("id = ? AND account_id = ? AND password_hash = ?", userID, accountID, u.PasswordHash).Update("password_hash", hash)
		if res.Error != nil {
			return fmt.Errorf("change password: %w", res.Error)
		}
		if res.RowsAffected == 0 { // changed meanwhile by another request
			return FieldErrors{"current_password": "Your password was just changed elsewhere; sign in again."}
		}
		if _, err := revokeUserSessions(tx, accountID, userID, keepSessionID, s.now()); err != nil {
			return err
		}
		return audit(tx, accountID, Actor{UserID: userID, Label: u.Email}, "user.password_changed", "user", userID, nil, nil, s.now())
	})
}

// clip shortens s to at most n bytes on a rune boundary, and makes it
// text PostgreSQL accepts (valid UTF-8, no NUL): headers are client input.
func clip(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
