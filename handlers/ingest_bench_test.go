package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// BenchmarkIngest measures ingest through the whole router on real
// PostgreSQL, one matching webhook, the dispatcher not sending: "single" is
// POST /api/v1/events from parallel clients (b.RunParallel, GOMAXPROCS×4
// of them), "batch" POST /api/v1/events/batch with 500 events per request.
// ns/op is per event in both. Profile it with
// go test -run '^$' -bench BenchmarkIngest -cpuprofile cpu.out ./handlers.
func BenchmarkIngest(b *testing.B) {
	app := handlertest.New(b, func(d *handlers.Deps) { d.APILimits = handlers.APILimits{IngestRate: 1e9, IngestBurst: 1 << 30} })
	tn := app.NewTenant(b, models.RoleAdmin)
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm", "http://127.0.0.1:9/hook", []string{"call.hangup"}
	if _, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "bench"}, in); err != nil {
		b.Fatal(err)
	}
	key := mustScopedKey(b, app, tn, models.NewAPIKey{Name: "pbx", Scope: models.ScopeIngest})
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	post := func(b *testing.B, path string, body []byte, want int) {
		req, err := http.NewRequest(http.MethodPost, app.URL+path, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != want {
			b.Fatalf("%s: status %d: %.300s", path, res.StatusCode, out)
		}
	}
	run := models.NewID("")[:8]
	var seq atomic.Int64
	event := func() string {
		return strings.Replace(hangupEvent, "%s", fmt.Sprintf("b%s%012d", run, seq.Add(1)), 1)
	}
	b.Run("single", func(b *testing.B) {
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				post(b, "/api/v1/events", []byte(event()), http.StatusAccepted)
			}
		})
	})
	b.Run("batch", func(b *testing.B) {
		const per = models.MaxIngestBatch
		for done := 0; done < b.N; done += per {
			var body strings.Builder
			body.WriteString(`{"events":[`)
			for i := range per {
				if i > 0 {
					body.WriteByte(',')
				}
				body.WriteString(event())
			}
			body.WriteString(`]}`)
			post(b, "/api/v1/events/batch", []byte(body.String()), http.StatusOK)
		}
	})
}
