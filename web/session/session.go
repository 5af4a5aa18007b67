// Package session keeps the console's sign-in state. The browser holds an
// encrypted, signed gorilla/sessions cookie (HttpOnly, SameSite=Lax, Secure
// under TLS) that carries only a random session token and one-shot flash
// messages; the session itself lives server-side (behind Store), so signing
// out, changing the password or removing the user ends it at once, and a
// copied cookie stops working.
package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
)

const (
	cookieName = "ringhook_session"
	keyToken   = "tok"
	ctxCurrent = "ringhook.session"
	// MaxAge bounds how long a sign-in lasts.
	MaxAge = 12 * time.Hour
)

// ErrNoSession means the request carries no session token at all.
var ErrNoSession = errors.New("no session")

// Store keeps the server side of sessions (models.Store implements it).
// Tokens are opaque to the store's callers; the store keeps only a hash.
type Store interface {
	CreateSession(ctx context.Context, accountID, userID string, expires time.Time, ip, userAgent string) (id, token string, err error)
	// LiveSession returns an error (the store's not-found) unless token
	// names a session that is neither revoked nor expired.
	LiveSession(ctx context.Context, token string) (id, accountID, userID string, err error)
	RevokeSessionToken(ctx context.Context, token string) error
}

// Current is the signed-in session of a request.
type Current struct {
	ID        string
	AccountID string
	UserID    string
}

// Flash is a message shown once on the next page. It is for notices only:
// never put a secret in one (it travels in a cookie).
type Flash struct {
	Kind    string // "success" | "error" | "info"
	Message string
}

func init() { gob.Register(Flash{}) }

// Manager signs users in and out.
type Manager struct {
	store   Store
	cookies *sessions.CookieStore
}

// New returns a Manager. key (32+ random bytes) is the one configured
// secret; the cookie's signing and encryption keys are derived from it.
// secure marks cookies TLS-only.
func New(store Store, key []byte, secure bool) *Manager {
	st := sessions.NewCookieStore(derive(key, "ringhook session cookie signing"), derive(key, "ringhook session cookie encryption"))
	st.Options = &sessions.Options{Path: "/", MaxAge: int(MaxAge / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	return &Manager{store: store, cookies: st}
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil) // 32 bytes: HMAC-SHA256 signing, AES-256 encryption
}

func (m *Manager) get(c echo.Context) *sessions.Session {
	// A cookie that fails to decode (old key, tampering) yields a fresh session.
	s, _ := m.cookies.Get(c.Request(), cookieName)
	return s
}

// SignIn starts a new server-side session for the user and puts its token
// in a fresh cookie, discarding whatever the old cookie carried.
func (m *Manager) SignIn(c echo.Context, accountID, userID string) error {
	r := c.Request()
	id, token, err := m.store.CreateSession(r.Context(), accountID, userID, time.Now().Add(MaxAge), c.RealIP(), r.UserAgent())
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	s := m.get(c)
	if old, _ := s.Values[keyToken].(string); old != "" { // signing in again ends the session it replaces
		if err := m.store.RevokeSessionToken(r.Context(), old); err != nil {
			return fmt.Errorf("sign in: %w", err)
		}
	}
	s.Values = map[any]any{keyToken: token}
	if err := s.Save(r, c.Response()); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	c.Set(ctxCurrent, &Current{ID: id, AccountID: accountID, UserID: userID})
	return nil
}

// SignOut revokes the request's session server-side and clears the cookie,
// so a copy of the cookie taken earlier no longer signs anyone in.
func (m *Manager) SignOut(c echo.Context) error {
	s := m.get(c)
	if tok, _ := s.Values[keyToken].(string); tok != "" {
		if err := m.store.RevokeSessionToken(c.Request().Context(), tok); err != nil {
			return fmt.Errorf("sign out: %w", err)
		}
	}
	m.Forget(c)
	return nil
}

// Forget clears the cookie without touching the server side, for a session
// that has already been revoked (sign out everywhere).
func (m *Manager) Forget(c echo.Context) {
	s := m.get(c)
	s.Values = map[any]any{}
	s.Options.MaxAge = -1
	_ = s.Save(c.Request(), c.Response()) // a deleting cookie cannot fail to encode
	c.Set(ctxCurrent, (*Current)(nil))
}

// Current returns the request's live session: ErrNoSession without a token,
// the store's not-found error when the token is revoked, expired or
// unknown, any other error when the store fails. The answer is kept for
// the rest of the request.
func (m *Manager) Current(c echo.Context) (*Current, error) {
	if cur, ok := c.Get(ctxCurrent).(*Current); ok {
		if cur == nil {
			return nil, ErrNoSession
		}
		return cur, nil
	}
	tok, _ := m.get(c).Values[keyToken].(string)
	if tok == "" {
		return nil, ErrNoSession
	}
	id, accountID, userID, err := m.store.LiveSession(c.Request().Context(), tok)
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	cur := &Current{ID: id, AccountID: accountID, UserID: userID}
	c.Set(ctxCurrent, cur)
	return cur, nil
}

// AddFlash queues a message for the next page.
func (m *Manager) AddFlash(c echo.Context, kind, msg string) error {
	s := m.get(c)
	s.AddFlash(Flash{Kind: kind, Message: msg})
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return fmt.Errorf("save flash: %w", err)
	}
	return nil
}

// Flashes returns and clears the queued messages. The session is saved
// right after reading so a message is shown exactly once.
func (m *Manager) Flashes(c echo.Context) []Flash {
	s := m.get(c)
	raw := s.Flashes()
	if len(raw) == 0 {
		return nil
	}
	_ = s.Save(c.Request(), c.Response()) // at worst the message shows twice
	out := make([]Flash, 0, len(raw))
	for _, f := range raw {
		if fl, ok := f.(Flash); ok {
			out = append(out, fl)
		}
	}
	return out
}
