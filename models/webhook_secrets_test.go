package models_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/crypto"
	"github.com/ringhook/ringhook/models/migrations"
	"github.com/ringhook/ringhook/models/modeltest"
)

// storeWith opens the database at url (the package's when "") with a
// keyring of the given keys.
func storeWith(t *testing.T, url string, current []byte, old ...[]byte) *models.Store {
	t.Helper()
	if url == "" {
		url = modeltest.URL()
	}
	db, err := models.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { modeltest.Close(db) })
	k, err := crypto.NewKeyring(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return models.NewStore(db, nil, models.WithKeyring(k))
}

// rawText is every secret-bearing column of a webhook and its deliveries as
// PostgreSQL stores them.
func rawText(t *testing.T, s *models.Store, webhookID string) string {
	t.Helper()
	var row struct{ W, D string }
	if err := s.DB().Raw(`SELECT concat_ws(' ', w.signing_secret, w.previous_secret, w.auth_secret, w.headers::text) AS w,
			coalesce((SELECT string_agg(d.request_headers::text, ' ') FROM deliveries d WHERE d.webhook_id = w.id), '') AS d
		FROM webhooks w WHERE w.id = ?`, webhookID).Scan(&row).Error; err != nil {
		t.Fatal(err)
	}
	return row.W + " " + row.D
}

const (
	basicPass   = "s3cret-basic-pass"
	tenantToken = "tenant-token-9f8e7d"
	apiKeyValue = "key-live-123456"
)

func secretHook(t *testing.T, s *models.Store, accountID string) *models.Webhook {
	t.Helper()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm "+models.NewID(""), "https://crm.example.com/h", []string{"call.hangup"}
	in.AuthType, in.AuthUsername, in.AuthSecret = models.AuthBasic, "ringhook", basicPass
	in.Headers = []models.Header{{Name: "X-Tenant", Value: tenantToken, Secret: true}, {Name: "X-Api-Key", Value: apiKeyValue}, {Name: "X-Env", Value: "prod"}}
	w, err := s.CreateWebhook(context.Background(), accountID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// ingestFor stores an event with one delivery for w whose rendered request
// carries w's credentials, as the dispatcher renders it.
func ingestFor(t *testing.T, s *models.Store, w *models.Webhook) int64 {
	t.Helper()
	ctx := context.Background()
	ev := &models.Event{AccountID: w.AccountID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: time.Now(),
		Payload: models.JSON[map[string]any]{V: map[string]any{"event": "call.hangup"}}}
	_, err := s.Ingest(ctx, ev, func(_ *models.Event, hooks []models.Webhook) []models.NewDelivery {
		var out []models.NewDelivery
		for i := range hooks {
			h := &hooks[i]
			if h.ID != w.ID {
				continue
			}
			if h.AuthSecret != basicPass || h.Headers.V[0].Value != tenantToken {
				t.Errorf("ingest matched a webhook with sealed secrets: %q %+v", h.AuthSecret, h.Headers.V)
			}
			req := models.RenderedRequest{Method: "POST", URL: h.URL, Body: []byte(`{}`), Headers: []models.Header{
				{Name: "Content-Type", Value: "application/json"}, {Name: "Authorization", Value: "Basic cmluZ2hvb2s6czNjcmV0LWJhc2ljLXBhc3M="},
				{Name: "X-Tenant", Value: tenantToken}, {Name: "X-Api-Key", Value: apiKeyValue}, {Name: "X-Env", Value: "prod"}}}
			out = append(out, models.NewDelivery{Webhook: h, Request: req})
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := s.DB().Raw(`SELECT id FROM deliveries WHERE event_id = ?`, ev.ID).Scan(&id).Error; err != nil || id == 0 {
		t.Fatalf("delivery of %s: %d %v", ev.ID, id, err)
	}
	return id
}

var plaintexts = []string{basicPass, tenantToken, apiKeyValue, "whsec_", "cmluZ2hvb2s6czNjcmV0LWJhc2ljLXBhc3M="}

func assertSealed(t *testing.T, raw string) {
	t.Helper()
	for _, p := range plaintexts {
		if strings.Contains(raw, p) {
			t.Errorf("the database holds %q in clear: %s", p, raw)
		}
	}
	if !strings.Contains(raw, `"X-Env", "value": "prod"`) && !strings.Contains(raw, `"value": "prod"`) {
		t.Errorf("a non-secret header was sealed too: %s", raw)
	}
}

// TestSecretsAtRest: the raw columns hold no plaintext secret, while every
// Store read returns plaintext.
func TestSecretsAtRest(t *testing.T) {
	ctx := context.Background()
	s := storeWith(t, "", crypto.NewKey())
	acc := newAccount(t, s)
	w := secretHook(t, s, acc.ID)
	if w.AuthSecret != basicPass || !strings.HasPrefix(w.SigningSecret, "whsec_") {
		t.Fatalf("CreateWebhook returned sealed values: %+v", w)
	}
	w, err := s.RotateWebhookSecret(ctx, acc.ID, w.ID, models.Actor{Label: "t"})
	if err != nil || !strings.HasPrefix(w.PreviousSecret, "whsec_") {
		t.Fatalf("rotate: %v %q", err, w.PreviousSecret)
	}
	did := ingestFor(t, s, w)
	assertSealed(t, rawText(t, s, w.ID))

	got, err := s.Webhook(ctx, acc.ID, w.ID)
	if err != nil || got.AuthSecret != basicPass || got.SigningSecret != w.SigningSecret || got.PreviousSecret != w.PreviousSecret ||
		got.Headers.V[0].Value != tenantToken || !got.Headers.V[0].Secret || got.Headers.V[1].Value != apiKeyValue {
		t.Fatalf("Webhook read: %+v %v", got, err)
	}
	list, err := s.Webhooks(ctx, acc.ID)
	if err != nil || len(list) != 1 || list[0].AuthSecret != basicPass {
		t.Fatalf("Webhooks read: %v", err)
	}
	t.Run("an edit keeps the secrets sealed and readable", func(t *testing.T) {
		in := models.InputFrom(got)
		in.Description, in.AuthSecret = "edited", ""
		up, err := s.UpdateWebhook(ctx, acc.ID, w.ID, models.Actor{Label: "t"}, in)
		if err != nil || up.AuthSecret != basicPass {
			t.Fatalf("update: %v %q", err, up.AuthSecret)
		}
		assertSealed(t, rawText(t, s, w.ID))
		if again, _ := s.Webhook(ctx, acc.ID, w.ID); again.AuthSecret != basicPass || again.Headers.V[0].Value != tenantToken {
			t.Errorf("after update: %+v", again)
		}
	})
	t.Run("a claim returns the stored request and signing secrets in plaintext, still marked secret", func(t *testing.T) {
		c, err := s.ClaimOne(ctx, acc.ID, did, time.Now(), "test-holder")
		if err != nil {
			t.Fatal(err)
		}
		if c.Webhook.SigningSecret != w.SigningSecret || c.Webhook.PreviousSecret != w.PreviousSecret {
			t.Errorf("claimed signing secrets sealed: %q", c.Webhook.SigningSecret)
		}
		byName := map[string]models.Header{}
		for _, h := range c.RequestHeaders.V {
			byName[h.Name] = h
		}
		if h := byName["Authorization"]; !h.Secret || !strings.HasPrefix(h.Value, "Basic cmlu") {
			t.Errorf("Authorization: %+v", h)
		}
		if h := byName["X-Tenant"]; !h.Secret || h.Value != tenantToken {
			t.Errorf("X-Tenant: %+v", h)
		}
		if h := byName["X-Env"]; h.Secret || h.Value != "prod" {
			t.Errorf("X-Env: %+v", h)
		}
	})
}

// TestReencryptSecrets: rotation re-seals every value under the new key,
// old values open throughout, and plaintext left by an older version is
// sealed too.
func TestReencryptSecrets(t *testing.T) {
	ctx := context.Background()
	// Its own database: rotation spans every account, and the package's
	// other tests seal under keys of their own.
	tdb, err := modeltest.NewTestDatabase(ctx, "models_rotate")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tdb.Close(context.WithoutCancel(ctx)) })
	oldKey, newKey := crypto.NewKey(), crypto.NewKey()
	before := storeWith(t, tdb.URL, oldKey)
	if _, err := models.Migrate(ctx, before.DB()); err != nil {
		t.Fatal(err)
	}
	acc := newAccount(t, before)
	w := secretHook(t, before, acc.ID)
	ingestFor(t, before, w)
	legacy := secretHook(t, before, acc.ID)
	if err := before.DB().Exec(`UPDATE webhooks SET auth_secret = 'legacy-plain', signing_secret = 'whsec_bGVnYWN5bGVnYWN5bGVnYWN5' WHERE id = ?`, legacy.ID).Error; err != nil {
		t.Fatal(err)
	}

	during := storeWith(t, tdb.URL, newKey, oldKey)
	if got, err := during.Webhook(ctx, acc.ID, w.ID); err != nil || got.AuthSecret != basicPass {
		t.Fatalf("an old-key value does not open during rotation: %v", err)
	}
	if got, err := during.Webhook(ctx, acc.ID, legacy.ID); err != nil || got.AuthSecret != "legacy-plain" {
		t.Fatalf("legacy plaintext: %v %+v", err, got)
	}
	res, err := during.ReencryptSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Webhooks < 2 || res.Deliveries < 1 {
		t.Errorf("re-encrypted %+v, want at least 2 webhooks and 1 delivery", res)
	}
	for _, id := range []string{w.ID, legacy.ID} {
		raw := rawText(t, during, id)
		assertSealed(t, raw)
		if strings.Contains(raw, "legacy-plain") || strings.Contains(raw, "enc:v1:"+crypto.KeyID(oldKey)) {
			t.Errorf("left under the old key or in clear: %s", raw)
		}
		if !strings.Contains(raw, "enc:v1:"+crypto.KeyID(newKey)) {
			t.Errorf("not sealed under the new key: %s", raw)
		}
	}
	if again, err := during.ReencryptSecrets(ctx); err != nil || again.Webhooks != 0 || again.Deliveries != 0 {
		t.Errorf("a second pass changed %+v (%v): the first left work", again, err)
	}

	after := storeWith(t, tdb.URL, newKey)
	for _, id := range []string{w.ID, legacy.ID} {
		if _, err := after.Webhook(ctx, acc.ID, id); err != nil {
			t.Errorf("the new key alone does not open %s: %v", id, err)
		}
	}
	if got, _ := after.Webhook(ctx, acc.ID, legacy.ID); got.AuthSecret != "legacy-plain" || got.SigningSecret != "whsec_bGVnYWN5bGVnYWN5bGVnYWN5" {
		t.Errorf("legacy values changed: %+v", got)
	}
	if _, err := storeWith(t, tdb.URL, oldKey).Webhook(ctx, acc.ID, w.ID); !errors.Is(err, crypto.ErrUnknownKey) {
		t.Errorf("the dropped key still opens: %v", err)
	}
}

// TestRedactSignaturesMigration runs migration 0007 over an attempt stored
// the old way (webhook-signature in clear) and checks only that value goes.
func TestRedactSignaturesMigration(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "sig")
	d := insertDelivery(t, s, w, "call.hangup", models.StatusSucceeded, "", time.Now(), false)
	a := models.Attempt{AccountID: acc.ID, DeliveryID: d.ID, WebhookID: w.ID, Number: 1, Trigger: models.TriggerAuto, StartedAt: time.Now(),
		RequestMethod: "POST", RequestURL: w.URL, ResponseHeaders: models.JSON[[]models.Header]{V: []models.Header{}},
		RequestHeaders: models.JSON[[]models.Header]{V: []models.Header{{Name: "webhook-id", Value: "evt_1"},
			{Name: "webhook-signature", Value: "v1,c2lnbmF0dXJl"}, {Name: "X-Env", Value: "prod"}}}}
	if err := s.DB().Create(&a).Error; err != nil {
		t.Fatal(err)
	}
	// A row whose header list was written as JSON null must not stop it.
	nullRow := a
	nullRow.ID, nullRow.Number, nullRow.RequestHeaders = 0, 2, models.JSON[[]models.Header]{}
	if err := s.DB().Create(&nullRow).Error; err != nil {
		t.Fatal(err)
	}
	var typ string
	if err := s.DB().Raw(`SELECT jsonb_typeof(request_headers) FROM attempts WHERE id = ?`, nullRow.ID).Scan(&typ).Error; err != nil || typ != "null" {
		t.Fatalf("the null-headers row holds %q (%v)", typ, err)
	}
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(all, func(m migrations.Migration) bool { return m.Version == 7 })
	if i < 0 {
		t.Fatal("no migration 0007")
	}
	if err := s.DB().WithContext(ctx).Exec(all[i].SQL).Error; err != nil {
		t.Fatal(err)
	}
	var got models.Attempt
	if err := s.DB().Where("id = ?", a.ID).Take(&got).Error; err != nil {
		t.Fatal(err)
	}
	want := []models.Header{{Name: "webhook-id", Value: "evt_1"}, {Name: "webhook-signature", Value: models.Redacted}, {Name: "X-Env", Value: "prod"}}
	if !slices.Equal(got.RequestHeaders.V, want) {
		t.Errorf("after 0007: %+v", got.RequestHeaders.V)
	}
}
