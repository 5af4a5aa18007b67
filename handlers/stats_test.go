package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// statsShape is GET /api/v1/webhooks/{id}/stats, the fields the tests read.
type statsShape struct {
	Data struct {
		Window        string   `json:"window"`
		Deliveries    int      `json:"deliveries"`
		Succeeded     int      `json:"succeeded"`
		Failed        int      `json:"failed"`
		Attempts      int      `json:"attempts"`
		Retried       int      `json:"retried"`
		SuccessRate   *float64 `json:"success_rate"`
		FailureStreak int      `json:"failure_streak"`
		Retrying      int      `json:"retrying"`
		LastSuccessAt *string  `json:"last_success_at"`
		LastFailureAt *string  `json:"last_failure_at"`
		LatencyMS     struct {
			P50 *int `json:"p50"`
			P95 *int `json:"p95"`
		} `json:"latency_ms"`
		Series []struct {
			Attempts  int `json:"attempts"`
			Succeeded int `json:"succeeded"`
			Retried   int `json:"retried"`
		} `json:"series"`
	} `json:"data"`
}

// statsFixture: one webhook whose receiver answers 200 and one answering
// 500 (its delivery retrying), each sent one live event, and a test send to
// the broken one, which the stats leave out.
func statsFixture(t *testing.T) (*handlertest.App, handlertest.Tenant, *models.Webhook, *models.Webhook) {
	t.Helper()
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	bad := liveHook(t, app, tn, "Broken stats", http.StatusInternalServerError)
	good := liveHook(t, app, tn, "Fine stats", http.StatusOK)
	ingest(t, app, tn, "call.hangup", "CA-STATS-1")
	if _, err := app.Dispatcher.SendTest(context.Background(), good, "call.hangup"); err != nil {
		t.Fatalf("test send: %v", err)
	}
	if _, err := app.Dispatcher.SendTest(context.Background(), bad, "call.hangup"); err != nil {
		t.Fatalf("test send: %v", err)
	}
	return app, tn, good, bad
}

func TestAPIWebhookStats(t *testing.T) {
	app, tn, good, bad := statsFixture(t)
	key := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "reader", Scope: models.ScopeRead})
	c := app.NewClient(t)
	get := func(t *testing.T, path string) statsShape {
		t.Helper()
		res := apiDo(t, c, http.MethodGet, path, key, "")
		wantStatus(t, res, http.StatusOK)
		var s statsShape
		if err := json.Unmarshal([]byte(res.Body), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("a healthy webhook, tests left out", func(t *testing.T) {
		s := get(t, "/api/v1/webhooks/"+good.ID+"/stats").Data
		if s.Window != "24h" || s.Deliveries != 1 || s.Succeeded != 1 || s.Attempts != 1 || s.SuccessRate == nil || *s.SuccessRate != 1 ||
			s.LatencyMS.P50 == nil || s.LatencyMS.P95 == nil || s.LastSuccessAt == nil || s.LastFailureAt != nil || s.FailureStreak != 0 {
			t.Errorf("%+v", s)
		}
		if len(s.Series) != 24 || s.Series[23].Succeeded != 1 {
			t.Errorf("series %+v, want 24 hours with the success in the last", s.Series)
		}
	})
	t.Run("a failing webhook is failing while it retries", func(t *testing.T) {
		s := get(t, "/api/v1/webhooks/"+bad.ID+"/stats?window=24h").Data
		if s.Deliveries != 0 || s.Attempts != 1 || s.Retried != 1 || s.SuccessRate == nil || *s.SuccessRate != 0 ||
			s.FailureStreak != 1 || s.Retrying != 1 || s.LastFailureAt == nil {
			t.Errorf("%+v", s)
		}
	})
	t.Run("7 days are 7 daily buckets", func(t *testing.T) {
		s := get(t, "/api/v1/webhooks/"+good.ID+"/stats?window=7d").Data
		if s.Window != "7d" || len(s.Series) != 7 || s.Series[6].Attempts != 1 || s.Succeeded != 1 {
			t.Errorf("%+v", s)
		}
	})
	t.Run("a bad window is 422 naming the field", func(t *testing.T) {
		body := assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+good.ID+"/stats?window=1y", key, ""), http.StatusUnprocessableEntity, "invalid")
		if body.Error.Fields["window"] == "" {
			t.Errorf("no message for window: %+v", body)
		}
	})
	t.Run("another account's webhook is 404", func(t *testing.T) {
		other := app.NewTenant(t, models.RoleOwner)
		otherKey := mustAPIKey(t, app, other, "other", true)
		assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+good.ID+"/stats", otherKey, ""), http.StatusNotFound, "not_found")
	})
}

// TestWebhookPageCharts: the webhook page draws both windows from the same
// report the API answers, with the right numbers in bars, text and table.
func TestWebhookPageCharts(t *testing.T) {
	app, tn, good, bad := statsFixture(t)
	c := app.SignIn(t, tn)
	body := c.Get(t, "/webhooks/"+good.ID).Body
	section := between(body, `id="webhook-stats"`, "</section>")
	for _, want := range []string{
		`id="stats-24h-bars"`, `id="stats-7d-bars"`, `id="stats-24h-latency"`, `id="stats-7d-latency"`,
		`role="img" aria-labelledby="stats-24h-bars-title"`, `<title id="stats-24h-bars-title">Attempts per hour, last 24 hours</title>`,
		`class="seg seg-ok"`, `class="line line-p95"`, `<table class="sr-only">`,
	} {
		if !strings.Contains(section, want) {
			t.Errorf("the stats section lacks %s", want)
		}
	}
	if n := strings.Count(section, `<g class="bar">`); n != 24+7 {
		t.Errorf("%d bars, want 24 hours + 7 days", n)
	}
	if n := strings.Count(section, `class="seg seg-ok"`); n != 2 {
		t.Errorf("%d success segments, want one per window", n)
	}
	text := pageText(section)
	for _, want := range []string{"1 deliveries", "100.0% of 1 attempts succeeded",
		"1 attempt in the last 24 hours: 1 succeeded, 0 failed, 0 retried.", "1 attempt in the last 7 days: 1 succeeded, 0 failed, 0 retried."} {
		if !strings.Contains(text, want) {
			t.Errorf("the stats section lacks %q: %s", want, text)
		}
	}
	if !strings.Contains(section, `href="/deliveries?webhook=`+good.ID+`"`) || strings.Count(section, `href="/deliveries/`) != 2 {
		t.Errorf("no log link or not the two last deliveries (live and test): %s", between(section, `id="recent-deliveries"`, "</ul>"))
	}

	badPage := c.Get(t, "/webhooks/"+bad.ID).Body
	if streak := between(badPage, `id="failure-streak"`, "</dd>"); !strings.Contains(streak, "1 failed attempt in a row since") {
		t.Errorf("streak: %s", streak)
	}
	if text := pageText(between(badPage, `id="webhook-stats"`, "</section>")); !strings.Contains(text, "0.0% of 1 attempts succeeded") ||
		!strings.Contains(text, "0 succeeded, 0 failed, 1 retried") {
		t.Errorf("failing webhook's stats: %s", text)
	}
}
