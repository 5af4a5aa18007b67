package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ThrottlePolicy is how one throttle key slows sign-in attempts down: the
// first Free failures cost nothing, then each failure makes the key wait
// Base, 2×Base, 4×Base, … up to Max before the next attempt. A key with no
// attempt for Window starts over.
type ThrottlePolicy struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Window time.Duration
}

// Delay is the wait imposed after the n-th failure in a row.
func (p ThrottlePolicy) Delay(n int) time.Duration {
	if n <= p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free + 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// LoginThrottle throttles sign-in per (email, client IP) and per client IP.
// There is deliberately no per-email key: failures from one address never
// lock the account's owner out from another.
type LoginThrottle struct {
	PerEmailIP ThrottlePolicy // guessing one account's password from one address
	PerIP      ThrottlePolicy // one address spraying many accounts
}

// DefaultLoginThrottle is the production policy: five tries per account and
// address before the delays start (30 s, 1 min, 2 min, … 15 min), and twenty
// failures per address across accounts.
func DefaultLoginThrottle() LoginThrottle {
	return LoginThrottle{
		PerEmailIP: ThrottlePolicy{Free: 4, Base: 30 * time.Second, Max: 15 * time.Minute, Window: time.Hour},
		PerIP:      ThrottlePolicy{Free: 20, Base: 30 * time.Second, Max: 15 * time.Minute, Window: time.Hour},
	}
}

// LoginAttempt is one throttle key's counters (table login_attempts).
type LoginAttempt struct {
	Key          string `gorm:"primaryKey"`
	Failures     int
	LastAt       time.Time
	BlockedUntil time.Time
}

type throttleKey struct {
	key    string
	policy ThrottlePolicy
}

func loginKeys(p LoginThrottle, email, ip string) []throttleKey {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email)) + "\x00" + ip))
	keys := []throttleKey{{"email_ip:" + hex.EncodeToString(h[:]), p.PerEmailIP}, {"ip:" + clip(ip, 64), p.PerIP}}
	// Lock rows in one order everywhere, so concurrent sign-ins never deadlock.
	sort.Slice(keys, func(i, j int) bool { return keys[i].key < keys[j].key })
	return keys
}

// ClaimLoginAttempt reserves one sign-in attempt for email from ip, or
// refuses it: wait > 0 says how long the caller must wait first. The
// attempt is counted as a failure up front, under a row lock, so parallel
// guesses cannot slip past the check; LoginSucceeded takes it back. The
// counters live in PostgreSQL, so every process shares them.
func (s *Store) ClaimLoginAttempt(ctx context.Context, p LoginThrottle, email, ip string) (wait time.Duration, err error) {
	now := s.now().Truncate(time.Microsecond) // PostgreSQL's precision, so waits come out exact
	keys := loginKeys(p, email, ip)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rows := make([]LoginAttempt, len(keys))
		for i, k := range keys {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&LoginAttempt{Key: k.key, LastAt: now, BlockedUntil: now}).Error; err != nil {
				return fmt.Errorf("claim login attempt: %w", err)
			}
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("key = ?", k.key).Take(&rows[i]).Error; err != nil {
				return fmt.Errorf("claim login attempt: %w", err)
			}
			if now.Sub(rows[i].LastAt) >= k.policy.Window {
				rows[i].Failures = 0
			}
			if rows[i].BlockedUntil.After(now) {
				wait = max(wait, rows[i].BlockedUntil.Sub(now))
			}
		}
		if wait > 0 {
			return nil // refused: the refusal itself does not lengthen the wait
		}
		for i, k := range keys {
			n := rows[i].Failures + 1
			if err := tx.Model(&LoginAttempt{}).Where("key = ?", k.key).
				Updates(map[string]any{"failures": n, "last_at": now, "blocked_until": now.Add(k.policy.Delay(n))}).Error; err != nil {
				return fmt.Errorf("claim login attempt: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	// Forget keys idle for a day, a few per call, so the table stays small.
	if err := s.db.WithContext(ctx).Exec(`DELETE FROM login_attempts WHERE key IN (SELECT key FROM login_attempts WHERE last_at < ? LIMIT 50)`,
		now.Add(-24*time.Hour)).Error; err != nil {
		return wait, fmt.Errorf("prune login attempts: %w", err)
	}
	return wait, nil
}

// LoginSucceeded takes back the failure ClaimLoginAttempt counted: the
// (email, ip) key starts over, and the ip key loses one failure (only one,
// so signing in to one's own account between guesses at others buys
// nothing).
func (s *Store) LoginSucceeded(ctx context.Context, p LoginThrottle, email, ip string) error {
	now := s.now().Truncate(time.Microsecond)
	keys := loginKeys(p, email, ip)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, k := range keys {
			var err error
			if strings.HasPrefix(k.key, "email_ip:") {
				err = tx.Where("key = ?", k.key).Delete(&LoginAttempt{}).Error
			} else {
				var row LoginAttempt
				if err = tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("key = ?", k.key).Take(&row).Error; err == nil {
					n := max(row.Failures-1, 0)
					until := row.BlockedUntil
					if d := now.Add(k.policy.Delay(n)); d.Before(until) {
						until = d
					}
					err = tx.Model(&LoginAttempt{}).Where("key = ?", k.key).Updates(map[string]any{"failures": n, "blocked_until": until}).Error
				} else if errors.Is(err, gorm.ErrRecordNotFound) {
					err = nil
				}
			}
			if err != nil {
				return fmt.Errorf("record sign-in: %w", err)
			}
		}
		return nil
	})
}
