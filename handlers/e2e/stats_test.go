package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestWebhookPageShowsCharts: a webhook's page draws its 24 h and 7 d charts
// (bars and latency lines) at 1366 and 390 px, each inside the screen, in
// light and dark mode, and the page fits.
func TestWebhookPageShowsCharts(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	ctx := context.Background()
	rc := newReceiver(t, reply{Status: http.StatusOK, Body: "ok"})
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "Charted CRM", rc.URL+"/in", []string{"call.received"}
	w, err := app.Store.CreateWebhook(ctx, tn.Account.ID, models.Actor{Label: tn.Email}, in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := app.Dispatcher.Ingest(ctx, tn.Account.ID, map[string]any{
			"event": "call.received", "event_id": fmt.Sprintf("evt_chart%d%s", i, strings.ToLower(models.NewID(""))), "occurred_at": "2026-04-09T07:24:53.000Z",
			"call_id": fmt.Sprintf("call_chart_%d", i), "leg_id": "leg_1", "direction": "inbound", "call_type": "inbound",
			"from_number": "+919240202904", "to_number": "+918287842425", "started_at": "2026-04-09T07:24:22.000Z",
		}); err != nil {
			t.Fatalf("ingest: %v", err)
		}
	}
	if n, err := app.Dispatcher.ProcessDue(ctx); err != nil || n != 3 {
		t.Fatalf("process due: sent %d (err %v), want 3", n, err)
	}

	b := newBrowser(t, app.URL)
	signIn(b, tn)
	b.open("/webhooks/"+w.ID, http.StatusOK)
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		for _, s := range []screen{phone, desktop} {
			b.fits("webhook-stats-"+scheme, "/webhooks", s)
			for _, id := range []string{"stats-24h-bars", "stats-7d-bars", "stats-24h-latency", "stats-7d-latency"} {
				box := evalJS[[]float64](b, `(() => { const r = document.getElementById(`+jsString(id)+`).getBoundingClientRect(); return [r.left, r.right, r.width, r.height]; })()`)
				if box[2] < 200 || box[3] < 30 || box[0] < 0 || box[1] > float64(s.width) {
					t.Errorf("%s at %s px (%s): box %v, want drawn inside the screen", id, s.name, scheme, box)
				}
				if !evalJS[bool](b, visible("#"+id)) {
					t.Errorf("%s is not visible at %s px", id, s.name)
				}
			}
			if n := evalJS[int](b, `document.querySelectorAll("#stats-24h-bars rect.seg-ok").length`); n != 1 {
				t.Errorf("%d success bars in the last 24 hours at %s px, want 1 (this hour)", n, s.name)
			}
			if got := evalJS[string](b, `document.querySelector("#stats-24h-bars-summary").textContent`); !strings.Contains(got, "3 attempts in the last 24 hours: 3 succeeded") {
				t.Errorf("summary %q", got)
			}
		}
	}
}
