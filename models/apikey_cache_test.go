package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

// TestAPIKeyCacheRevocation: a key revoked through the process that
// cached it is refused at once; revoked through another process (another
// Store on the same database) it is refused within the cache's TTL, and
// until then the cached key saves the lookup.
func TestAPIKeyCacheRevocation(t *testing.T) {
	ctx := context.Background()
	db, err := modeltest.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { modeltest.Close(db) })
	const ttl = 300 * time.Millisecond
	web := models.NewStore(db, nil, models.WithAPIKeyCacheTTL(ttl))
	other := models.NewStore(db, nil, models.WithAPIKeyCacheTTL(ttl))
	acc := newAccount(t, web)
	who := models.Actor{Label: "test"}

	t.Run("revoked here: refused at once", func(t *testing.T) {
		k, plain, err := web.CreateAPIKey(ctx, acc.ID, who, models.NewAPIKey{Name: "here", Scope: models.ScopeIngest})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := web.AuthenticateAPIKeyAccount(ctx, plain); err != nil {
			t.Fatal(err)
		}
		if err := web.RevokeAPIKey(ctx, acc.ID, k.ID, who); err != nil {
			t.Fatal(err)
		}
		if _, _, err := web.AuthenticateAPIKeyAccount(ctx, plain); !errors.Is(err, models.ErrInvalidCredentials) {
			t.Fatalf("right after revocation: %v, want ErrInvalidCredentials", err)
		}
	})

	t.Run("revoked elsewhere: refused within the TTL", func(t *testing.T) {
		k, plain, err := web.CreateAPIKey(ctx, acc.ID, who, models.NewAPIKey{Name: "elsewhere", Scope: models.ScopeIngest})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := web.AuthenticateAPIKeyAccount(ctx, plain); err != nil {
			t.Fatal(err)
		}
		revoked := time.Now()
		if err := other.RevokeAPIKey(ctx, acc.ID, k.ID, who); err != nil {
			t.Fatal(err)
		}
		// Within the TTL the cached key still answers (no lookup)…
		if _, _, err := web.AuthenticateAPIKeyAccount(ctx, plain); err != nil && time.Since(revoked) < ttl/2 {
			t.Fatalf("cached key refused before its TTL: %v", err)
		}
		// …and it is refused once the TTL has passed, never later.
		deadline := revoked.Add(ttl + 2*time.Second)
		for {
			_, _, err := web.AuthenticateAPIKeyAccount(ctx, plain)
			if errors.Is(err, models.ErrInvalidCredentials) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("revoked key still accepted %s after revocation (TTL %s)", time.Since(revoked), ttl)
			}
			time.Sleep(10 * time.Millisecond) // polling a condition, not waiting for a result
		}
		if el := time.Since(revoked); el < ttl/2 {
			t.Errorf("refused after %s: the cache was not used", el)
		}
	})

	t.Run("account settings changed here: read again at once", func(t *testing.T) {
		_, plain, err := web.CreateAPIKey(ctx, acc.ID, who, models.NewAPIKey{Name: "settings", Scope: models.ScopeIngest})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := web.AuthenticateAPIKeyAccount(ctx, plain); err != nil {
			t.Fatal(err)
		}
		if err := web.SetDefaultCountry(ctx, acc.ID, "US"); err != nil {
			t.Fatal(err)
		}
		_, a, err := web.AuthenticateAPIKeyAccount(ctx, plain)
		if err != nil || a.DefaultCountry != "US" {
			t.Fatalf("after SetDefaultCountry: %v, %+v", err, a)
		}
	})
}
