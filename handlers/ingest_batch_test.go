package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

type batchAnswer struct {
	Results []struct {
		Index      int               `json:"index"`
		EventID    *string           `json:"event_id"`
		Status     string            `json:"status"`
		Deliveries int               `json:"deliveries"`
		Errors     map[string]string `json:"errors"`
	} `json:"results"`
	Accepted, Duplicates, Invalid int
}

// postBatch sends POST /api/v1/events/batch with the given events (each a
// JSON text) and an Idempotency-Key ("" for none).
func postBatch(t testing.TB, c *handlertest.Client, key, idem string, events ...string) handlertest.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.Base+"/api/v1/events/batch", strings.NewReader(`{"events":[`+strings.Join(events, ",")+`]}`))
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

func decodeBatch(t testing.TB, res handlertest.Response) batchAnswer {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("batch: %s", handlertest.Describe(res))
	}
	var a batchAnswer
	if err := json.Unmarshal([]byte(res.Body), &a); err != nil {
		t.Fatalf("batch answer %q: %v", res.Body, err)
	}
	return a
}

func hangup(id string) string { return strings.Replace(hangupEvent, "%s", id, 1) }

// newHangupHook makes a webhook of tn for call.hangup posting to url.
func newHangupHook(t *testing.T, app *handlertest.App, tn handlertest.Tenant, url string) *models.Webhook {
	t.Helper()
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "crm "+models.NewID(""), url, []string{"call.hangup"}
	in.OrderedByCall = false // these hangups share a call id; the tests count sends in one turn
	w, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "t"}, in)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestIngestBatchAPI: a batch with valid, invalid, non-object, previously
// stored and repeated events answers one result per event in order;
// the valid ones are stored with their deliveries and sent, the others
// change nothing.
func TestIngestBatchAPI(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "pbx", true)
	rc := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer rc.Close()
	newHangupHook(t, app, tn, rc.URL)
	c := app.NewClient(t)
	if res := apiPost(t, c, "/api/v1/events", key, "application/json", hangup("old00000000000000000000000")); res.Status != http.StatusAccepted {
		t.Fatalf("single ingest: %s", handlertest.Describe(res))
	}
	bad := strings.Replace(hangup("bad00000000000000000000000"), `"direction":"inbound"`, `"direction":"up"`, 1)
	noID := strings.Replace(hangup("x"), `"event_id":"evt_x",`, "", 1)
	a := decodeBatch(t, postBatch(t, c, key, "",
		hangup("batch001"), bad, hangup("old00000000000000000000000"), `[1]`, hangup("batch001"), noID, hangup("batch002")))
	type want struct {
		id, status string
		deliveries int
		field      string
	}
	wants := []want{
		{"evt_batch001", "accepted", 1, ""}, {"evt_bad00000000000000000000000", "invalid", 0, "direction"},
		{"evt_old00000000000000000000000", "duplicate", 1, ""}, {"", "invalid", 0, "event"},
		{"evt_batch001", "duplicate", 1, ""}, {"", "invalid", 0, "event_id"}, {"evt_batch002", "accepted", 1, ""},
	}
	if len(a.Results) != len(wants) {
		t.Fatalf("%d results for %d events: %+v", len(a.Results), len(wants), a)
	}
	for i, w := range wants {
		r := a.Results[i]
		id := ""
		if r.EventID != nil {
			id = *r.EventID
		}
		if r.Index != i || id != w.id || r.Status != w.status || r.Deliveries != w.deliveries || (w.field != "") != (r.Errors[w.field] != "") {
			t.Errorf("result %d = %+v (id %q), want %+v", i, r, id, w)
		}
	}
	if a.Accepted != 2 || a.Duplicates != 2 || a.Invalid != 3 {
		t.Errorf("totals %d/%d/%d, want 2 accepted, 2 duplicates, 3 invalid", a.Accepted, a.Duplicates, a.Invalid)
	}
	for id, n := range map[string]int64{"evt_batch001": 1, "evt_batch002": 1, "evt_bad00000000000000000000000": 0} {
		if got := countRows(t, app, "events", id); got != n {
			t.Errorf("%s: %d events stored, want %d", id, got, n)
		}
		if got := countRows(t, app, "deliveries", id); got != n {
			t.Errorf("%s: %d deliveries, want %d", id, got, n)
		}
	}
	if n, err := app.Dispatcher.ProcessDue(context.Background()); err != nil || n != 3 {
		t.Fatalf("sent %d (want old, b1, b2): %v", n, err)
	}

	t.Run("the body is refused as a whole", func(t *testing.T) {
		many := make([]string, models.MaxIngestBatch+1)
		for i := range many {
			many[i] = `{}`
		}
		cases := []struct {
			name, body string
			status     int
			says       string
		}{
			{"no events", `{}`, 422, "events"},
			{"empty", `{"events":[]}`, 422, "at least one"},
			{"events not an array", `{"events":{}}`, 400, ""},
			{"unknown field", `{"events":[],"extra":1}`, 400, ""},
			{"not JSON", `{"events":[`, 400, ""},
			{"over the limit", `{"events":[` + strings.Join(many, ",") + `]}`, 413, "at most 500"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := apiPost(t, c, "/api/v1/events/batch", key, "application/json", tc.body)
				if res.Status != tc.status || !strings.Contains(res.Body, tc.says) {
					t.Fatalf("%s", handlertest.Describe(res))
				}
			})
		}
	})
	t.Run("500 events in one batch", func(t *testing.T) {
		evs := make([]string, models.MaxIngestBatch)
		for i := range evs {
			evs[i] = hangup(fmt.Sprintf("full%06d", i))
		}
		a := decodeBatch(t, postBatch(t, c, key, "", evs...))
		if a.Accepted != models.MaxIngestBatch || a.Invalid != 0 || a.Duplicates != 0 {
			t.Fatalf("totals %d/%d/%d", a.Accepted, a.Duplicates, a.Invalid)
		}
		if got := countRows(t, app, "deliveries", "evt_full000499"); got != 1 {
			t.Fatalf("last event has %d deliveries", got)
		}
	})
	t.Run("Idempotency-Key replays the answer", func(t *testing.T) {
		first := decodeBatch(t, postBatch(t, c, key, "batch-key-1", hangup("idem0001")))
		res := postBatch(t, c, key, "batch-key-1", hangup("idem0001"))
		again := decodeBatch(t, res)
		if res.Header.Get("Idempotent-Replayed") != "true" || again.Results[0].Status != "accepted" || first.Results[0].Status != "accepted" {
			t.Fatalf("replay: %s", handlertest.Describe(res))
		}
		if res := postBatch(t, c, key, "batch-key-1", hangup("idem0002")); res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("key reused for another body: %s", handlertest.Describe(res))
		}
	})
}

// TestIngestBatchTenancyAndTestKeys: events go to the key's account only,
// whatever they say, and an sk_test_ key makes test deliveries.
func TestIngestBatchTenancyAndTestKeys(t *testing.T) {
	app := handlertest.New(t)
	ctx := context.Background()
	a, b := app.NewTenant(t, models.RoleAdmin), app.NewTenant(t, models.RoleAdmin)
	rc := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer rc.Close()
	newHangupHook(t, app, a, rc.URL)
	newHangupHook(t, app, b, rc.URL)
	c := app.NewClient(t)
	aLive, aTest := mustAPIKey(t, app, a, "live", true), mustAPIKey(t, app, a, "test", false)

	// The same event id in b must not make a's event a duplicate, and a's
	// batch must not reach b's webhook.
	bKey := mustAPIKey(t, app, b, "b", true)
	if got := decodeBatch(t, postBatch(t, c, bKey, "", hangup("shared01"))); got.Accepted != 1 {
		t.Fatalf("b: %+v", got)
	}
	got := decodeBatch(t, postBatch(t, c, aLive, "", hangup("shared01"), hangup("aonly001")))
	if got.Accepted != 2 || got.Results[0].Deliveries != 1 {
		t.Fatalf("a: %+v", got)
	}
	for _, tc := range []struct {
		tn    handlertest.Tenant
		event string
		n     int
	}{{a, "evt_shared01", 1}, {b, "evt_shared01", 1}, {a, "evt_aonly001", 1}, {b, "evt_aonly001", 0}} {
		var n int64
		if err := app.DB.Table("deliveries").Where("account_id = ? AND event_id = ?", tc.tn.Account.ID, tc.event).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if int(n) != tc.n {
			t.Errorf("%s of %s: %d deliveries, want %d", tc.event, tc.tn.Account.ID, n, tc.n)
		}
	}

	if got := decodeBatch(t, postBatch(t, c, aTest, "", hangup("test0001"), hangup("test0002"))); got.Accepted != 2 {
		t.Fatalf("test key: %+v", got)
	}
	var rows []models.Delivery
	if err := app.DB.Where("account_id = ? AND event_id IN ?", a.Account.ID, []string{"evt_test0001", "evt_test0002", "evt_aonly001"}).Order("event_id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Test || !rows[1].Test || !rows[2].Test {
		t.Fatalf("test flags: %+v", rows)
	}
	var payload string
	if err := app.DB.Table("events").Where("account_id = ? AND id = ?", a.Account.ID, "evt_test0001").Select("payload->>'test'").Scan(&payload).Error; err != nil || payload != "true" {
		t.Fatalf("stored test event says test=%q (%v)", payload, err)
	}
	_ = ctx
}

// FuzzIngestBatch feeds the batch endpoint hostile values as the whole
// body, as one item of the batch and as one field of an event in it, and
// asserts that nothing answers 5xx and a 200 answers every event.
func FuzzIngestBatch(f *testing.F) {
	app := handlertest.New(f)
	tn := app.NewTenant(f, models.RoleOwner)
	_, key, err := app.Store.CreateAPIKey(context.Background(), tn.Account.ID, models.Actor{Label: "fuzz"}, models.NewAPIKey{Name: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	c := app.NewClient(f)
	for mode := range uint8(3) {
		for _, v := range hostile {
			f.Add(mode, uint8(0), v)
		}
		for _, v := range []string{`{"events":null}`, `{"events":[null]}`, `{"events":[{},{}]}`, `{"events":[1e999]}`, `[]`, `{"events":"x"}`} {
			f.Add(mode, uint8(1), v)
		}
	}
	f.Fuzz(func(t *testing.T, mode, field uint8, value string) {
		var body string
		events := 1
		switch mode % 3 {
		case 0:
			body = value
		case 1:
			body = `{"events":[` + value + `,` + hangup("fuzz0001") + `]}`
			events = 2
		default:
			var ev map[string]any
			if err := json.Unmarshal([]byte(hangup("fuzz0001")), &ev); err != nil {
				t.Fatal(err)
			}
			ev[eventFields[int(field)%len(eventFields)]] = value
			b, err := json.Marshal(map[string]any{"events": []any{ev, ev}})
			if err != nil {
				t.Fatal(err)
			}
			body, events = string(b), 2
		}
		res := apiPost(t, c, "/api/v1/events/batch", key, "application/json", body)
		if res.Status >= 500 {
			t.Fatalf("%q answered %s", body, handlertest.Describe(res))
		}
		if res.Status == http.StatusOK && mode%3 != 0 {
			var a batchAnswer
			if err := json.Unmarshal([]byte(res.Body), &a); err != nil || len(a.Results) != events || a.Accepted+a.Duplicates+a.Invalid != events {
				t.Fatalf("%q: %d results for %d events: %s", body, len(a.Results), events, res.Body)
			}
		}
	})
}
