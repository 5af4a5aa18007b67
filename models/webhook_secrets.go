package models

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Secrets at rest. The Store seals these values on write and opens them on
// read, so handlers and the dispatcher only see plaintext:
//
//   - webhooks: signing_secret, previous_secret, auth_secret and the value of
//     every custom header that IsSecret;
//   - deliveries.request_headers (the stored rendered request): the value of
//     Authorization and of every header the webhook treats as secret, stored
//     with Secret set so the dispatcher redacts it in attempt records.
//
// Sealed values carry the id of the key that sealed them (models/crypto);
// ReencryptSecrets re-seals everything under the current key.

// sealedWebhook returns a copy of w with its secrets sealed, for writing.
// w itself keeps its plaintext.
func (s *Store) sealedWebhook(w *Webhook) (*Webhook, error) {
	c := *w
	var err error
	for _, f := range []*string{&c.SigningSecret, &c.PreviousSecret, &c.AuthSecret} {
		if *f, err = s.seal(*f); err != nil {
			return nil, fmt.Errorf("seal webhook secrets: %w", err)
		}
	}
	c.Headers = JSON[[]Header]{V: slices.Clone(w.Headers.V)}
	for i, h := range c.Headers.V {
		if h.IsSecret() {
			if c.Headers.V[i].Value, err = s.seal(h.Value); err != nil {
				return nil, fmt.Errorf("seal webhook headers: %w", err)
			}
		}
	}
	return &c, nil
}

// openWebhook opens w's sealed secrets in place, after a read.
func (s *Store) openWebhook(w *Webhook) error {
	var err error
	for _, f := range []*string{&w.SigningSecret, &w.PreviousSecret, &w.AuthSecret} {
		if *f, err = s.keys.Open(*f); err != nil {
			return fmt.Errorf("webhook %s secrets: %w", w.ID, err)
		}
	}
	hs := slices.Clone(w.Headers.V)
	for i := range hs {
		if hs[i].Value, err = s.keys.Open(hs[i].Value); err != nil {
			return fmt.Errorf("webhook %s headers: %w", w.ID, err)
		}
	}
	w.Headers.V = hs
	return nil
}

func (s *Store) openWebhooks(ws []Webhook) error {
	for i := range ws {
		if err := s.openWebhook(&ws[i]); err != nil {
			return err
		}
	}
	return nil
}

// seal seals plaintext v under the current key ("" stays "").
func (s *Store) seal(v string) (string, error) { return s.keys.Seal(v) }

// SecretHeader reports whether a rendered request header of this webhook
// carries a credential: Authorization, a name that looks secret, or a
// custom header the webhook marks secret.
func (w *Webhook) SecretHeader(name string) bool {
	if looksSecret(name) {
		return true
	}
	return slices.ContainsFunc(w.Headers.V, func(h Header) bool { return h.Secret && strings.EqualFold(h.Name, name) })
}

// sealRequestHeaders returns the headers of w's rendered request with the
// credential values sealed and marked Secret, for storing in deliveries.
func (s *Store) sealRequestHeaders(w *Webhook, hs []Header) ([]Header, error) {
	out := make([]Header, len(hs))
	for i, h := range hs {
		out[i] = h
		if h.Secret || w.SecretHeader(h.Name) {
			v, err := s.seal(h.Value)
			if err != nil {
				return nil, fmt.Errorf("seal request headers: %w", err)
			}
			out[i].Value, out[i].Secret = v, true
		}
	}
	return out, nil
}

// openDelivery opens the sealed values of a stored rendered request in
// place; they stay marked Secret so attempt records redact them.
func (s *Store) openDelivery(d *Delivery) error {
	hs := slices.Clone(d.RequestHeaders.V)
	for i := range hs {
		v, err := s.keys.Open(hs[i].Value)
		if err != nil {
			return fmt.Errorf("delivery %d request headers: %w", d.ID, err)
		}
		hs[i].Value = v
	}
	d.RequestHeaders.V = hs
	return nil
}

// openClaimed opens what a claim returns sealed: the webhook's signing
// secrets and the stored request's credential headers.
func (s *Store) openClaimed(c *Claimed) error {
	var err error
	for _, f := range []*string{&c.Webhook.SigningSecret, &c.Webhook.PreviousSecret} {
		if *f, err = s.keys.Open(*f); err != nil {
			return fmt.Errorf("webhook %s secrets: %w", c.Webhook.ID, err)
		}
	}
	return s.openDelivery(&c.Delivery)
}

// ReencryptResult counts the rows ReencryptSecrets re-sealed.
type ReencryptResult struct {
	Webhooks   int
	Deliveries int
}

// reencryptBatch bounds the rows locked by one re-encryption transaction.
const reencryptBatch = 500

// ReencryptSecrets re-seals, under the keyring's current key, every secret
// at rest that is not already sealed under it: values sealed under an old
// key, and plaintext written before encryption existed. It works in
// batches, each in its own transaction that locks its rows, so concurrent
// edits are neither lost nor blocked for long; readers keep opening old
// values meanwhile because their keyring still holds the old keys. It spans
// every account: it is the operator's `ringhook rotate-key`, not an
// account action.
func (s *Store) ReencryptSecrets(ctx context.Context) (ReencryptResult, error) {
	var res ReencryptResult
	for last := (hookKey{}); ; {
		n, next, err := s.reencryptWebhooks(ctx, last)
		if err != nil {
			return res, err
		}
		res.Webhooks += n
		if next == nil {
			break
		}
		last = *next
	}
	for last := (deliveryCursor{}); ; {
		n, next, err := s.reencryptDeliveries(ctx, last)
		if err != nil {
			return res, err
		}
		res.Deliveries += n
		if next == nil {
			break
		}
		last = *next
	}
	return res, nil
}

// reencryptWebhooks re-seals one batch of webhooks after last, in
// (account_id, id) order, and returns how many changed and where to
// continue (nil when done).
func (s *Store) reencryptWebhooks(ctx context.Context, last hookKey) (int, *hookKey, error) {
	changed := 0
	var next *hookKey
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ws []Webhook
		// Unscoped: a deleted webhook's history is still shown, so its
		// secrets must stay readable under the current key too.
		if err := tx.Unscoped().Select("account_id", "id", "signing_secret", "previous_secret", "auth_secret", "headers").
			Clauses(clause.Locking{Strength: "UPDATE"}).Where("(account_id, id) > (?, ?)", last.AccountID, last.WebhookID).Order("account_id, id").
			Limit(reencryptBatch).Find(&ws).Error; err != nil {
			return fmt.Errorf("re-encrypt webhooks: %w", err)
		}
		if len(ws) == reencryptBatch {
			next = &hookKey{ws[len(ws)-1].AccountID, ws[len(ws)-1].ID}
		}
		for i := range ws {
			w := &ws[i]
			if s.webhookCurrent(w) {
				continue
			}
			if err := s.openWebhook(w); err != nil {
				return fmt.Errorf("re-encrypt: %w", err)
			}
			sealed, err := s.sealedWebhook(w)
			if err != nil {
				return fmt.Errorf("re-encrypt: %w", err)
			}
			if err := tx.Unscoped().Model(&Webhook{}).Where("account_id = ? AND id = ?", w.AccountID, w.ID).UpdateColumns(map[string]any{
				"signing_secret": sealed.SigningSecret, "previous_secret": sealed.PreviousSecret,
				"auth_secret": sealed.AuthSecret, "headers": sealed.Headers}).Error; err != nil {
				return fmt.Errorf("re-encrypt webhook %s: %w", w.ID, err)
			}
			changed++
		}
		return nil
	})
	return changed, next, err
}

// webhookCurrent reports whether every secret of the stored (sealed) w is
// sealed under the current key.
func (s *Store) webhookCurrent(w *Webhook) bool {
	for _, v := range []string{w.SigningSecret, w.PreviousSecret, w.AuthSecret} {
		if !s.keys.Current(v) {
			return false
		}
	}
	for _, h := range w.Headers.V {
		if h.IsSecret() && !s.keys.Current(h.Value) {
			return false
		}
	}
	return true
}

// reencryptDeliveries re-seals the credential headers of one batch of
// stored requests after last, in primary-key order, and returns how many
// changed and where to go on from (nil when done).
func (s *Store) reencryptDeliveries(ctx context.Context, last deliveryCursor) (int, *deliveryCursor, error) {
	changed := 0
	var next *deliveryCursor
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Rows with a secret-looking header whose value is not sealed under
		// the current key; the name rule is looksSecret's, as a regexp.
		var ds []Delivery
		// (CASE guards jsonb_array_elements from a JSON null header list.)
		err := tx.Raw(`SELECT account_id, id, request_headers FROM deliveries d WHERE (account_id, id) > (?, ?) AND CASE
				WHEN jsonb_typeof(d.request_headers) = 'array' THEN EXISTS (
				SELECT 1 FROM jsonb_array_elements(d.request_headers) h
				WHERE (coalesce((h->>'secret')::boolean, false) OR lower(h->>'name') ~ ?)
				  AND h->>'value' <> '' AND NOT starts_with(h->>'value', ?))
				ELSE false END
			ORDER BY account_id, id LIMIT ? FOR UPDATE`,
			last.accountID, last.id, strings.Join(secretWords, "|"), s.keys.Prefix(), reencryptBatch).Scan(&ds).Error
		if err != nil {
			return fmt.Errorf("re-encrypt deliveries: %w", err)
		}
		if len(ds) == reencryptBatch {
			next = &deliveryCursor{accountID: ds[len(ds)-1].AccountID, id: ds[len(ds)-1].ID}
		}
		for i := range ds {
			d := &ds[i]
			if err := s.openDelivery(d); err != nil {
				return fmt.Errorf("re-encrypt: %w", err)
			}
			hs := d.RequestHeaders.V
			for j, h := range hs {
				if h.IsSecret() {
					v, err := s.seal(h.Value)
					if err != nil {
						return fmt.Errorf("re-encrypt delivery %d: %w", d.ID, err)
					}
					hs[j].Value, hs[j].Secret = v, true
				}
			}
			if err := tx.Exec(`UPDATE deliveries SET request_headers = ? WHERE account_id = ? AND id = ?`, JSON[[]Header]{V: hs}, d.AccountID, d.ID).Error; err != nil {
				return fmt.Errorf("re-encrypt delivery %d: %w", d.ID, err)
			}
			changed++
		}
		return nil
	})
	return changed, next, err
}
