package handlers_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// benchAPI times b.N requests made by do through the whole router on real
// PostgreSQL and reports their p50 and p99 latency.
func benchAPI(b *testing.B, do func(i int) *http.Request, want int) {
	b.Helper()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := do(i)
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		lat = append(lat, time.Since(start))
		if res.StatusCode != want {
			b.Fatalf("status %d, want %d", res.StatusCode, want)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*50/100].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99_ms")
}

// BenchmarkAPI measures GET /api/v1/deliveries (a page of 50 from a log
// of 2,000) and POST /api/v1/webhooks. Run it with
// go test -run '^$' -bench BenchmarkAPI ./handlers.
func BenchmarkAPI(b *testing.B) {
	app := handlertest.New(b, func(d *handlers.Deps) { d.APILimits = handlers.APILimits{Rate: 1e6, Burst: 1e6} })
	tn := app.NewTenant(b, models.RoleOwner)
	key := mustScopedKey(b, app, tn, models.NewAPIKey{Name: "bench"})
	ctx := context.Background()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "bench", "http://127.0.0.1:1/hook", []string{"call.hangup"}
	hook, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: "bench"}, in)
	if err != nil {
		b.Fatal(err)
	}
	// 2,000 deliveries straight into the tables: the fixture, not the subject.
	err = app.DB.Exec(`INSERT INTO events (account_id, id, type, occurred_at, payload, received_at)
		SELECT ?, 'evt_bench' || g, 'call.hangup', now(), jsonb_build_object('from_number', '+919240202904'), now()
		FROM generate_series(1, 2000) AS g`, tn.Account.ID).Error
	if err == nil {
		err = app.DB.Exec(`INSERT INTO deliveries (account_id, webhook_id, event_id, event_type, status, test, attempt_count,
			request_method, request_url, request_headers, request_body, created_at, updated_at, completed_at)
			SELECT ?, ?, 'evt_bench' || g, 'call.hangup', 'succeeded', false, 1, 'POST', 'http://127.0.0.1:1/hook', '[]', '{}', now(), now(), now()
			FROM generate_series(1, 2000) AS g`, tn.Account.ID, hook.ID).Error
	}
	if err == nil {
		err = app.DB.Exec("ANALYZE events; ANALYZE deliveries").Error // as autovacuum would have by now
	}
	if err != nil {
		b.Fatal(err)
	}
	newReq := func(method, path, body string) *http.Request {
		req, err := http.NewRequest(method, app.URL+path, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return req
	}
	b.Run("GET /deliveries", func(b *testing.B) {
		benchAPI(b, func(int) *http.Request { return newReq(http.MethodGet, "/api/v1/deliveries?limit=50", "") }, http.StatusOK)
	})
	b.Run("GET /deliveries?phone_number", func(b *testing.B) {
		benchAPI(b, func(int) *http.Request {
			return newReq(http.MethodGet, "/api/v1/deliveries?limit=50&phone_number=%2B919240202904", "")
		}, http.StatusOK)
	})
	b.Run("POST /webhooks", func(b *testing.B) {
		run := models.NewID("")
		benchAPI(b, func(i int) *http.Request {
			return newReq(http.MethodPost, "/api/v1/webhooks", fmt.Sprintf(
				`{"name":"bench %s %d","url":"https://crm.example.com/hooks","event_types":["call.hangup"],"headers":[{"name":"X-Api-Key","value":"k","secret":true}],"auth":{"type":"bearer","token":"t"}}`, run, i))
		}, http.StatusCreated)
	})
}
