package models

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ringhook/ringhook/models/publicid"
)

// publicIDs holds the database's public id codec, loaded on first use.
type publicIDs struct {
	mu    sync.Mutex
	codec atomic.Pointer[publicid.Codec]
}

// PublicIDs returns the codec of this database's public ids (dlv_, att_,
// cur_). The key is made by the first Store that asks, kept in
// public_id_key, and read once per Store: the same database always gives
// the same ids, and two databases give different ones.
func (s *Store) PublicIDs(ctx context.Context) (*publicid.Codec, error) {
	if c := s.ids.codec.Load(); c != nil {
		return c, nil
	}
	s.ids.mu.Lock()
	defer s.ids.mu.Unlock()
	if c := s.ids.codec.Load(); c != nil {
		return c, nil
	}
	fresh := make([]byte, publicid.KeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("public id key: %w", err)
	}
	var key []byte
	// The first writer's key wins; everyone reads the one stored.
	err := s.db.WithContext(ctx).Raw(`WITH ins AS (INSERT INTO public_id_key (id, key) VALUES (true, ?) ON CONFLICT (id) DO NOTHING RETURNING key)
		SELECT key FROM ins UNION ALL SELECT key FROM public_id_key WHERE id LIMIT 1`, fresh).Row().Scan(&key)
	if err != nil {
		return nil, fmt.Errorf("public id key: %w", err)
	}
	c, err := publicid.New(key)
	if err != nil {
		return nil, err
	}
	s.ids.codec.Store(c)
	return c, nil
}

// DeliveryRowID turns a delivery's public id back into its row id: ErrNotFound
// for anything that is not an id of one of the account's deliveries (a
// malformed, tampered, numeric or another account's id).
func (s *Store) DeliveryRowID(ctx context.Context, accountID, publicID string) (int64, error) {
	c, err := s.PublicIDs(ctx)
	if err != nil {
		return 0, err
	}
	id, ok := c.Decode(publicid.Delivery, publicID)
	if !ok || !validID(accountID) {
		return 0, ErrNotFound
	}
	var n int64
	if err := s.db.WithContext(ctx).Raw(`SELECT count(*) FROM deliveries WHERE account_id = ? AND id = ?`, accountID, id).Row().Scan(&n); err != nil {
		return 0, fmt.Errorf("delivery id: %w", err)
	}
	if n == 0 {
		return 0, ErrNotFound
	}
	return id, nil
}

// fillDeliveries sets PublicID on deliveries the Store returns; every
// method returning deliveries or attempts passes them here.
func (s *Store) fillDeliveries(ctx context.Context, ds ...*Delivery) error {
	c, err := s.PublicIDs(ctx)
	if err != nil {
		return err
	}
	for _, d := range ds {
		d.PublicID = c.Delivery(d.ID)
	}
	return nil
}

func (s *Store) fillRows(ctx context.Context, rows []DeliveryRow) error {
	c, err := s.PublicIDs(ctx)
	if err != nil {
		return err
	}
	for i := range rows {
		rows[i].PublicID = c.Delivery(rows[i].ID)
	}
	return nil
}

// FillAttempt sets an attempt's PublicID (and its delivery's): for the ones
// the Store returns, and for those the dispatcher builds as it sends.
func (s *Store) FillAttempt(ctx context.Context, as ...*Attempt) error {
	c, err := s.PublicIDs(ctx)
	if err != nil {
		return err
	}
	for _, a := range as {
		a.PublicID, a.DeliveryPublicID = c.Attempt(a.ID), c.Delivery(a.DeliveryID)
	}
	return nil
}
