package models_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestSessionStore(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Now().UTC()}
	s := newStore(t, clock.now)
	acc := newAccount(t, s)
	u, err := s.CreateUser(ctx, acc.ID, strings.ToLower(models.NewID("s"))+"@example.com", "a long enough password", models.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("only a hash of the token is stored", func(t *testing.T) {
		id, token, err := s.CreateSession(ctx, acc.ID, u.ID, clock.now().Add(time.Hour), "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		var row models.Session
		if err := s.DB().Where("id = ?", id).Take(&row).Error; err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(row.TokenHash, []byte(token)) || len(row.TokenHash) != 32 {
			t.Fatalf("token_hash %x holds the token", row.TokenHash)
		}
		var hits int64
		s.DB().Raw(`SELECT count(*) FROM sessions WHERE row_to_json(sessions)::text LIKE '%' || ? || '%'`, token).Scan(&hits)
		if hits != 0 {
			t.Fatal("the token is stored in the table")
		}
		if got, _, _, err := s.LiveSession(ctx, token); err != nil || got != id {
			t.Fatalf("LiveSession(token) = %q, %v", got, err)
		}
		// What a leaked table gives an attacker does not work as a cookie.
		for _, leaked := range []string{hex.EncodeToString(row.TokenHash), string(row.TokenHash), id} {
			if _, _, _, err := s.LiveSession(ctx, leaked); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("LiveSession(%q) = %v, want ErrNotFound", leaked, err)
			}
		}
	})

	t.Run("expired and revoked sessions are not live", func(t *testing.T) {
		_, short, err := s.CreateSession(ctx, acc.ID, u.ID, clock.now().Add(time.Minute), "", "")
		if err != nil {
			t.Fatal(err)
		}
		_, revoked, err := s.CreateSession(ctx, acc.ID, u.ID, clock.now().Add(time.Hour), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeSessionToken(ctx, revoked); err != nil {
			t.Fatal(err)
		}
		clock.add(2 * time.Minute)
		for name, tok := range map[string]string{"expired": short, "revoked": revoked} {
			if _, _, _, err := s.LiveSession(ctx, tok); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("%s session: %v, want ErrNotFound", name, err)
			}
		}
	})

	t.Run("last seen moves at most once a minute", func(t *testing.T) {
		id, tok, err := s.CreateSession(ctx, acc.ID, u.ID, clock.now().Add(time.Hour), "", "")
		if err != nil {
			t.Fatal(err)
		}
		seen := func() time.Time {
			var row models.Session
			if err := s.DB().Where("id = ?", id).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			return row.LastSeenAt
		}
		first := seen()
		clock.add(30 * time.Second)
		s.LiveSession(ctx, tok)
		if !seen().Equal(first) {
			t.Error("last_seen_at written within the minute")
		}
		clock.add(31 * time.Second)
		s.LiveSession(ctx, tok)
		if got := seen(); got.Sub(first) < time.Minute {
			t.Errorf("last_seen_at %v not moved after a minute (was %v)", got, first)
		}
	})
}
