// Package session keeps the console's sign-in state in a gorilla/sessions
// cookie (HttpOnly, SameSite=Lax, Secure under TLS) and carries one-shot
// flash messages across redirects.
package session

import (
	"encoding/gob"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"
)

const (
	cookieName = "ringhook_session"
	keyUserID  = "uid"
	keyIssued  = "iat"
	// MaxAge bounds how long a sign-in lasts.
	MaxAge = 12 * time.Hour
)

// Flash is a message shown once on the next page.
type Flash struct {
	Kind    string // "success" | "error" | "info"
	Message string
}

func init() { gob.Register(Flash{}) }

// Manager signs users in and out.
type Manager struct {
	store *sessions.CookieStore
}

// New returns a Manager. keys are hash (and optionally encryption) key pairs
// as gorilla/securecookie takes them; secure marks cookies TLS-only.
func New(secure bool, keys ...[]byte) *Manager {
	st := sessions.NewCookieStore(keys...)
	st.Options = &sessions.Options{Path: "/", MaxAge: int(MaxAge / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	return &Manager{store: st}
}

func (m *Manager) get(c echo.Context) *sessions.Session {
	// A cookie that fails to decode (old key, tampering) yields a fresh session.
	s, _ := m.store.Get(c.Request(), cookieName)
	return s
}

// SignIn starts a new session for userID, discarding whatever was there.
func (m *Manager) SignIn(c echo.Context, userID string) error {
	s := m.get(c)
	s.Values = map[any]any{keyUserID: userID, keyIssued: time.Now().Unix()}
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return nil
}

// SignOut ends the session.
func (m *Manager) SignOut(c echo.Context) error {
	s := m.get(c)
	s.Values = map[any]any{}
	s.Options.MaxAge = -1
	if err := s.Save(c.Request(), c.Response()); err != nil {
		return fmt.Errorf("clear session: %w", err)
	}
	return nil
}

// UserID returns the signed-in user's id, or "" when nobody is signed in or
// the sign-in is older than MaxAge.
func (m *Manager) UserID(c echo.Context) string {
	s := m.get(c)
	id, _ := s.Values[keyUserID].(string)
	issued, _ := s.Values[keyIssued].(int64)
	if id == "" || time.Since(time.Unix(issued, 0)) > MaxAge {
		return ""
	}
	return id
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
