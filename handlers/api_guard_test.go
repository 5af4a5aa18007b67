package handlers_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// postEvent sends POST /api/v1/events with an Idempotency-Key ("" for none).
func postEvent(t testing.TB, c *handlertest.Client, key, idem, body string) handlertest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.Base+"/api/v1/events", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set(handlers.IdempotencyHeader, idem)
	}
	return c.Do(t, req)
}

// countRows counts the rows of table ("events" or "deliveries") for an event.
func countRows(t *testing.T, app *handlertest.App, table, eventID string) int64 {
	t.Helper()
	column := map[string]string{"events": "id", "deliveries": "event_id"}[table]
	var n int64
	if err := app.DB.Table(table).Where(column+" = ?", eventID).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIdempotencyKey(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm", "http://127.0.0.1:9/hook", []string{"call.hangup"}
	if _, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "t"}, in); err != nil {
		t.Fatal(err)
	}
	key := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "pbx", Scope: models.ScopeIngest})
	c := app.NewClient(t)
	event := func(id string) string { return strings.Replace(hangupEvent, "%s", id, 1) }

	t.Run("a repeat answers the first response and does nothing", func(t *testing.T) {
		const id = "01JRB3Q7Z8K2M4N6P8R0S2AAA1"
		first := postEvent(t, c, key, "retry-1", event(id))
		if first.Status != http.StatusAccepted || first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first: %s", handlertest.Describe(first))
		}
		for range 2 {
			again := postEvent(t, c, key, "retry-1", event(id))
			// Without the key, a repeat would be 200 {"duplicate":true}.
			if again.Status != first.Status || again.Body != first.Body || again.Header.Get("Idempotent-Replayed") != "true" ||
				again.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
				t.Fatalf("repeat: %s, want a replay of %s", handlertest.Describe(again), handlertest.Describe(first))
			}
		}
		if e, d := countRows(t, app, "events", "evt_"+id), countRows(t, app, "deliveries", "evt_"+id); e != 1 || d != 1 {
			t.Fatalf("%d events, %d deliveries", e, d)
		}
	})
	t.Run("the same key with another body is a 422 and stores nothing", func(t *testing.T) {
		const id = "01JRB3Q7Z8K2M4N6P8R0S2AAA2"
		res := postEvent(t, c, key, "retry-1", event(id))
		e := assertAPIError(t, res, http.StatusUnprocessableEntity, "idempotency_key_reused")
		if !strings.Contains(e.Error.Message, "different request") {
			t.Errorf("message %q", e.Error.Message)
		}
		if n := countRows(t, app, "events", "evt_"+id); n != 0 {
			t.Fatalf("%d events stored", n)
		}
	})
	t.Run("a failed first request is not kept: the fixed retry runs", func(t *testing.T) {
		const id = "01JRB3Q7Z8K2M4N6P8R0S2AAA3"
		bad := postEvent(t, c, key, "retry-3", strings.Replace(event(id), `"direction":"inbound"`, `"direction":"up"`, 1))
		assertAPIError(t, bad, http.StatusUnprocessableEntity, "invalid")
		good := postEvent(t, c, key, "retry-3", event(id))
		if good.Status != http.StatusAccepted || good.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("%s", handlertest.Describe(good))
		}
	})
	t.Run("keys belong to the API key that sent them", func(t *testing.T) {
		other := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "second pbx", Scope: models.ScopeIngest})
		res := postEvent(t, c, other, "retry-1", event("01JRB3Q7Z8K2M4N6P8R0S2AAA4"))
		if res.Status != http.StatusAccepted || res.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("a repeat while the first is in flight is a 409 with Retry-After", func(t *testing.T) {
		const id = "01JRB3Q7Z8K2M4N6P8R0S2AAA5"
		k, err := app.Store.AuthenticateAPIKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		// Hold the key the way a running first request does.
		body := event(id)
		sum := sha256.New()
		fmt.Fprintf(sum, "POST /api/v1/events?\n%s", body)
		ref := models.IdempotencyRef{AccountID: tn.Account.ID, APIKeyID: k.ID, Key: "in-flight"}
		if _, started, err := app.Store.BeginIdempotent(ctx, ref, sum.Sum(nil)); err != nil || !started {
			t.Fatalf("begin: %v %v", started, err)
		}
		res := postEvent(t, c, key, "in-flight", body)
		assertAPIError(t, res, http.StatusConflict, "in_flight")
		if res.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
		if n := countRows(t, app, "events", "evt_"+id); n != 0 {
			t.Fatalf("%d events stored while the first was in flight", n)
		}
		t.Run("an abandoned one (its process died) runs again after 5 minutes", func(t *testing.T) {
			if err := app.DB.Exec(`UPDATE idempotency_keys SET created_at = now() - interval '6 minutes' WHERE key = 'in-flight'`).Error; err != nil {
				t.Fatal(err)
			}
			if res := postEvent(t, c, key, "in-flight", body); res.Status != http.StatusAccepted {
				t.Fatalf("%s", handlertest.Describe(res))
			}
		})
	})
	t.Run("concurrent duplicates: one runs, the others wait their turn or replay", func(t *testing.T) {
		const id = "01JRB3Q7Z8K2M4N6P8R0S2AAA6"
		const n = 8
		var wg sync.WaitGroup
		statuses := make([]handlertest.Response, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = postEvent(t, c, key, "race", event(id))
			}()
		}
		wg.Wait()
		ran := 0
		for _, res := range statuses {
			switch {
			case res.Status == http.StatusAccepted && res.Header.Get("Idempotent-Replayed") == "":
				ran++
			case res.Status == http.StatusAccepted, res.Status == http.StatusConflict:
			default:
				t.Errorf("unexpected %s", handlertest.Describe(res))
			}
		}
		if ran != 1 {
			t.Errorf("%d requests ran, want 1", ran)
		}
		if d := countRows(t, app, "deliveries", "evt_"+id); d != 1 {
			t.Fatalf("%d deliveries", d)
		}
	})
	t.Run("after 24 hours the key is forgotten and purged", func(t *testing.T) {
		if err := app.DB.Exec(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'retry-1'`).Error; err != nil {
			t.Fatal(err)
		}
		res := postEvent(t, c, key, "retry-1", event("01JRB3Q7Z8K2M4N6P8R0S2AAA1"))
		// Runs again: the event id is known, so ingest itself answers duplicate.
		if res.Status != http.StatusOK || !strings.Contains(res.Body, `"duplicate":true`) || res.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("%s", handlertest.Describe(res))
		}
		if err := app.DB.Exec(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'retry-3'`).Error; err != nil {
			t.Fatal(err)
		}
		// Expired now: retry-3, and the second API key's retry-1.
		if n, err := app.Store.PurgeIdempotencyKeys(ctx); err != nil || n != 2 {
			t.Fatalf("purged %d: %v", n, err)
		}
		var left []string
		if err := app.DB.Raw(`SELECT key FROM idempotency_keys WHERE account_id = ? ORDER BY key`, tn.Account.ID).Scan(&left).Error; err != nil {
			t.Fatal(err)
		}
		if strings.Join(left, ",") != "in-flight,race,retry-1" {
			t.Fatalf("left after the purge: %v", left)
		}
	})
	t.Run("a malformed header is a 400 and does nothing", func(t *testing.T) {
		const id = "01JRB3Q7Z8K2M4N6P8R0S2AAA7"
		for _, bad := range []string{strings.Repeat("k", 256), "tab\there", "naïve"} {
			assertAPIError(t, postEvent(t, c, key, bad, event(id)), http.StatusBadRequest, "bad_request")
		}
		if n := countRows(t, app, "events", "evt_"+id); n != 0 {
			t.Fatalf("%d events stored", n)
		}
	})
}

func TestAPIRateLimit(t *testing.T) {
	var mu sync.Mutex
	clock := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	app := handlertest.New(t, func(d *handlers.Deps) {
		d.APILimits = handlers.APILimits{Rate: 0.5, Burst: 2, IngestRate: 0.5, IngestBurst: 4}
		d.Now = now // the buckets refill on this clock
	})
	tn := app.NewTenant(t, models.RoleAdmin)
	c := app.NewClient(t)
	full := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "full"})
	other := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "other", Scope: models.ScopeRead})
	ingest := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "pbx", Scope: models.ScopeIngest})

	for i := range 2 {
		if res := apiGet(t, c, "/api/v1/account", "Bearer "+full); res.Status != http.StatusOK {
			t.Fatalf("request %d within the burst: %s", i+1, handlertest.Describe(res))
		}
	}
	res := apiGet(t, c, "/api/v1/account", "Bearer "+full)
	assertAPIError(t, res, http.StatusTooManyRequests, "rate_limited")
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
		t.Errorf("Retry-After %q, want 1-2 seconds at 0.5 requests/s", res.Header.Get("Retry-After"))
	}
	t.Run("each key has its own bucket", func(t *testing.T) {
		if res := apiGet(t, c, "/api/v1/account", "Bearer "+other); res.Status != http.StatusOK {
			t.Fatalf("%s", handlertest.Describe(res))
		}
	})
	t.Run("ingest keys get the ingest limits", func(t *testing.T) {
		for i := range 4 {
			id := fmt.Sprintf("01JRB3Q7Z8K2M4N6P8R0S2RAT%d", i)
			if res := postEvent(t, c, ingest, "", strings.Replace(hangupEvent, "%s", id, 1)); res.Status != http.StatusAccepted {
				t.Fatalf("event %d within the ingest burst: %s", i+1, handlertest.Describe(res))
			}
		}
		res := postEvent(t, c, ingest, "rate", strings.Replace(hangupEvent, "%s", "01JRB3Q7Z8K2M4N6P8R0S2RAT9", 1))
		assertAPIError(t, res, http.StatusTooManyRequests, "rate_limited")
		var n int64
		if err := app.DB.Table("idempotency_keys").Where("key = 'rate'").Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("a refused request left %d idempotency records: %v", n, err)
		}
	})
	t.Run("the bucket refills after Retry-After", func(t *testing.T) {
		res := apiGet(t, c, "/api/v1/account", "Bearer "+full)
		assertAPIError(t, res, http.StatusTooManyRequests, "rate_limited")
		wait, _ := strconv.Atoi(res.Header.Get("Retry-After"))
		mu.Lock()
		clock = clock.Add(time.Duration(wait) * time.Second)
		mu.Unlock()
		if res := apiGet(t, c, "/api/v1/account", "Bearer "+full); res.Status != http.StatusOK {
			t.Fatalf("after waiting Retry-After: %s", handlertest.Describe(res))
		}
	})
}

// BenchmarkIngestIdempotency measures what an Idempotency-Key costs on
// POST /api/v1/events (one matching webhook): go test -run - -bench IngestIdempotency ./handlers
func BenchmarkIngestIdempotency(b *testing.B) {
	app := handlertest.New(b, func(d *handlers.Deps) { d.APILimits = handlers.APILimits{IngestRate: 1e6} })
	tn := app.NewTenant(b, models.RoleAdmin)
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm", "http://127.0.0.1:9/hook", []string{"call.hangup"}
	if _, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "t"}, in); err != nil {
		b.Fatal(err)
	}
	key := mustScopedKey(b, app, tn, models.NewAPIKey{Name: "pbx", Scope: models.ScopeIngest})
	c := app.NewClient(b)
	for _, mode := range []string{"without key", "with key", "replay"} {
		b.Run(mode, func(b *testing.B) {
			for i := range b.N {
				id := fmt.Sprintf("bench%s%09d", mode[:1], i) // a new event each time
				idem := ""
				switch mode {
				case "with key":
					idem = "bench-" + id
				case "replay":
					id, idem = "benchreplay", "bench-replay" // the first runs, the rest replay
				}
				body := strings.Replace(hangupEvent, "%s", id, 1)
				if res := postEvent(b, c, key, idem, body); res.Status >= 300 {
					b.Fatalf("%s", handlertest.Describe(res))
				}
			}
		})
	}
}
