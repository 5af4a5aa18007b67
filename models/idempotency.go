package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// IdempotencyTTL is how long the first response to a request with an
// Idempotency-Key answers its repeats (Stripe's 24 hours).
const IdempotencyTTL = 24 * time.Hour

// idempotencyAbandoned is how old an in-flight record must be before it is
// taken as left behind by a process that died mid-request; a repeat then
// runs again. Far longer than any request may take (the server's write
// timeout is a minute).
const idempotencyAbandoned = 5 * time.Minute

// IdempotencyKey is the record of one request made with an Idempotency-Key
// header: its hash, and once it finished, the response to replay.
type IdempotencyKey struct {
	AccountID   string
	APIKeyID    string
	Key         string
	RequestHash []byte
	Status      *int // nil while the first request is in flight
	Headers     JSON[map[string]string]
	Body        []byte
	CreatedAt   time.Time
}

// IdempotencyRef names one record: the key is scoped to the API key that
// sent it (and so to its account).
type IdempotencyRef struct {
	AccountID, APIKeyID, Key string
}

func (r IdempotencyRef) where(tx *gorm.DB) *gorm.DB {
	return tx.Where("account_id = ? AND api_key_id = ? AND key = ?", r.AccountID, r.APIKeyID, r.Key)
}

// BeginIdempotent claims ref for a request whose hash is requestHash. When
// started is true the caller runs the request and then calls
// FinishIdempotent or ReleaseIdempotent; otherwise prior is the record
// that already holds the key (in flight when its Status is nil), for the
// caller to replay or refuse. Records older than IdempotencyTTL no longer
// count. Concurrent callers are safe: exactly one of them starts.
func (s *Store) BeginIdempotent(ctx context.Context, ref IdempotencyRef, requestHash []byte) (prior *IdempotencyKey, started bool, err error) {
	now := s.now()
	db := s.db.WithContext(ctx)
	// One statement for a new key, two for a repeat; an expired or
	// abandoned record is deleted (exactly that one) and the claim retried.
	for range 3 {
		res := db.Exec(`INSERT INTO idempotency_keys (account_id, api_key_id, key, request_hash, created_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, ref.AccountID, ref.APIKeyID, ref.Key, requestHash, now)
		if res.Error != nil {
			return nil, false, fmt.Errorf("claim idempotency key: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return nil, true, nil
		}
		var rec IdempotencyKey
		err := ref.where(db).Take(&rec).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return nil, false, fmt.Errorf("load idempotency key: %w", err)
		}
		if rec.CreatedAt.After(now.Add(-IdempotencyTTL)) && (rec.Status != nil || rec.CreatedAt.After(now.Add(-idempotencyAbandoned))) {
			return &rec, false, nil
		}
		if err := ref.where(db).Where("created_at = ?", rec.CreatedAt).Delete(&IdempotencyKey{}).Error; err != nil {
			return nil, false, fmt.Errorf("expire idempotency key: %w", err)
		}
	}
	return nil, false, errors.New("claim idempotency key: it keeps changing hands")
}

// FinishIdempotent stores the response of the request that started ref.
func (s *Store) FinishIdempotent(ctx context.Context, ref IdempotencyRef, status int, headers map[string]string, body []byte) error {
	err := ref.where(s.db.WithContext(ctx).Model(&IdempotencyKey{})).Where("status IS NULL").
		Updates(map[string]any{"status": status, "headers": JSON[map[string]string]{V: headers}, "body": body}).Error
	if err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// ReleaseIdempotent forgets an in-flight ref whose request did nothing (it
// failed), so a retry with the same key runs again.
func (s *Store) ReleaseIdempotent(ctx context.Context, ref IdempotencyRef) error {
	if err := ref.where(s.db.WithContext(ctx)).Where("status IS NULL").Delete(&IdempotencyKey{}).Error; err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotencyKeys deletes records older than IdempotencyTTL and
// returns how many went.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Where("created_at < ?", s.now().Add(-IdempotencyTTL)).Delete(&IdempotencyKey{})
	if res.Error != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}
