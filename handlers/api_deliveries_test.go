package handlers_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

type apiDeliveryShape struct {
	ID             string     `json:"id"`
	WebhookID      string     `json:"webhook_id"`
	WebhookName    string     `json:"webhook_name"`
	EventID        string     `json:"event_id"`
	EventType      string     `json:"event_type"`
	CallID         *string    `json:"call_id"`
	Status         string     `json:"status"`
	Test           bool       `json:"test"`
	AttemptCount   int        `json:"attempt_count"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastStatusCode *int       `json:"last_status_code"`
	LastError      string     `json:"last_error"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	CompletedAt    *time.Time `json:"completed_at"`
}

type apiHTTPShape struct {
	Method  string          `json:"method"`
	URL     string          `json:"url"`
	Headers []models.Header `json:"headers"`
	Body    string          `json:"body"`
}

type apiAttemptShape struct {
	ID         string       `json:"id"`
	Number     int          `json:"number"`
	Trigger    string       `json:"trigger"`
	StartedAt  time.Time    `json:"started_at"`
	DurationMS int          `json:"duration_ms"`
	Request    apiHTTPShape `json:"request"`
	Response   *struct {
		Status  int             `json:"status"`
		Headers []models.Header `json:"headers"`
		Body    string          `json:"body"`
	} `json:"response"`
	Error *struct {
		Kind    string `json:"kind"`
		Message string `json:"message"`
	} `json:"error"`
	NextRetryAt   *time.Time `json:"next_retry_at"`
	BodiesDropped bool       `json:"bodies_dropped"`
}

type apiDeliveryDetailShape struct {
	Data struct {
		apiDeliveryShape
		Request  apiHTTPShape      `json:"request"`
		Attempts []apiAttemptShape `json:"attempts"`
	} `json:"data"`
}

type apiDeliveryPage struct {
	Data       []apiDeliveryShape `json:"data"`
	NextCursor *string            `json:"next_cursor"`
}

func listDeliveries(t *testing.T, c *handlertest.Client, key, path string) apiDeliveryPage {
	t.Helper()
	res := apiDo(t, c, http.MethodGet, path, key, "")
	wantStatus(t, res, http.StatusOK)
	var p apiDeliveryPage
	strictJSON(t, res, &p)
	return p
}

// sendEvent ingests a hangup of call callID from number from.
func sendEvent(t *testing.T, c *handlertest.Client, key, id, callID, from string) {
	t.Helper()
	body := strings.Replace(hangupEvent, "%s", id, 1)
	body = strings.Replace(body, "call_01JRB3PZ5X", callID, 1)
	body = strings.Replace(body, "+91 92402 02904", from, 1)
	res := apiPost(t, c, "/api/v1/events", key, "application/json", body)
	wantStatus(t, res, http.StatusAccepted)
}

func TestAPIDeliveries(t *testing.T) {
	app := handlertest.New(t)
	a, b := app.NewTenant(t, models.RoleOwner), app.NewTenant(t, models.RoleOwner)
	key, bKey := mustAPIKey(t, app, a, "a", true), mustAPIKey(t, app, b, "b", true)
	testKey := mustAPIKey(t, app, a, "a test", false)
	c := app.NewClient(t)
	ok, bad := newReceiver(t, http.StatusOK), newReceiver(t, http.StatusServiceUnavailable)
	good := createAPIWebhook(t, c, key, fmt.Sprintf(`{"name":"good","url":%q,"event_types":["call.hangup"],"headers":[{"name":"X-Api-Key","value":"hdr-secret"}]}`, ok.URL))
	failing := createAPIWebhook(t, c, key, webhookBody("failing", bad.URL))
	start := time.Now().Add(-time.Minute).UTC()
	sendEvent(t, c, key, "DLV00000000000000000000001", "call_one", "+91 92402 02904")
	sendEvent(t, c, key, "DLV00000000000000000000002", "call_two", "+919240202905")
	sendEvent(t, c, key, "DLV00000000000000000000003", "call_three", "+919240202905")
	sendEvent(t, c, testKey, "DLV00000000000000000000004", "call_test", "+919240202905")

	all := []apiDeliveryShape{}
	t.Run("pages of 3 cover all 8 deliveries once, newest first", func(t *testing.T) {
		cursor, pages := "", 0
		for {
			path := "/api/v1/deliveries?limit=3"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			p := listDeliveries(t, c, key, path)
			pages++
			all = append(all, p.Data...)
			if p.NextCursor == nil {
				break
			}
			cursor = *p.NextCursor
		}
		if pages != 3 || len(all) != 8 {
			t.Fatalf("%d pages, %d deliveries", pages, len(all))
		}
		for i := 1; i < len(all); i++ {
			if rowID(t, app, all[i].ID) >= rowID(t, app, all[i-1].ID) {
				t.Fatalf("not newest first: %s after %s", all[i].ID, all[i-1].ID)
			}
		}
		if all[0].Status != "pending" || all[0].NextAttemptAt == nil || all[0].WebhookName == "" {
			t.Fatalf("%+v", all[0])
		}
	})
	t.Run("filters", func(t *testing.T) {
		count := func(q string) int { return len(listDeliveries(t, c, key, "/api/v1/deliveries?"+q).Data) }
		cases := map[string]int{
			"webhook_id=" + good.ID:                          4,
			"event_type=call.hangup":                         8,
			"event_type=call.missed":                         0,
			"status=pending":                                 8,
			"status=succeeded":                               0,
			"call_id=call_two":                               2,
			"phone_number=%2B919240202904":                   2,
			"phone_number=%2B91+92402+02905":                 6,
			"test=true":                                      2,
			"test=false":                                     6,
			"from=" + start.Format(time.RFC3339):             8,
			"to=" + start.Format(time.RFC3339):               0,
			"webhook_id=" + failing.ID + "&call_id=call_one": 1,
		}
		for q, want := range cases {
			if got := count(q); got != want {
				t.Errorf("?%s: %d deliveries, want %d", q, got, want)
			}
		}
		if p := listDeliveries(t, c, key, "/api/v1/webhooks/"+failing.ID+"/deliveries?test=false"); len(p.Data) != 3 || p.Data[0].WebhookID != failing.ID {
			t.Fatalf("webhook deliveries: %+v", p.Data)
		}
		for _, q := range []string{"limit=0", "limit=101", "status=lost", "event_type=nope", "phone_number=abc", "from=yesterday",
			"to=2020-01-01T00:00:00Z&from=2021-01-01T00:00:00Z", "test=maybe", "cursor=-1", "cursor=x", "cursor=41", "cursor=" + pubID(t, app, 41), "call_id=%00"} {
			e := assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/deliveries?"+q, key, ""), http.StatusUnprocessableEntity, "invalid")
			if len(e.Error.Fields) != 1 {
				t.Errorf("?%s: fields %v", q, e.Error.Fields)
			}
		}
		assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+good.ID+"/deliveries?webhook_id="+failing.ID, key, ""),
			http.StatusUnprocessableEntity, "invalid")
	})

	byHook := func(id string) apiDeliveryShape {
		for _, d := range all {
			if d.WebhookID == id && !d.Test {
				return d
			}
		}
		t.Fatalf("no delivery of %s", id)
		return apiDeliveryShape{}
	}
	getDelivery := func(t *testing.T, key string, id string) apiDeliveryDetailShape {
		t.Helper()
		res := apiDo(t, c, http.MethodGet, "/api/v1/deliveries/"+id, key, "")
		wantStatus(t, res, http.StatusOK)
		var d apiDeliveryDetailShape
		strictJSON(t, res, &d)
		return d
	}
	t.Run("redeliver sends now; the attempt shows request and response, secrets redacted", func(t *testing.T) {
		d := byHook(good.ID)
		path := "/api/v1/deliveries/" + d.ID + "/redeliver"
		res := apiDo(t, c, http.MethodPost, path, key, "", "Idempotency-Key", "redeliver-1")
		wantStatus(t, res, http.StatusCreated)
		again := apiDo(t, c, http.MethodPost, path, key, "", "Idempotency-Key", "redeliver-1")
		if again.Body != res.Body || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %s", handlertest.Describe(again))
		}
		var att struct {
			Data apiAttemptShape `json:"data"`
		}
		strictJSON(t, res, &att)
		if att.Data.Number != 1 || att.Data.Trigger != "manual" || att.Data.Response == nil || att.Data.Response.Status != 200 || att.Data.Error != nil {
			t.Fatalf("%+v", att.Data)
		}
		got := getDelivery(t, key, d.ID)
		if got.Data.Status != "succeeded" || len(got.Data.Attempts) != 1 || got.Data.Request.Method != "POST" || !strings.Contains(got.Data.Request.Body, "call.hangup") {
			t.Fatalf("%+v", got.Data)
		}
		if strings.Contains(fmt.Sprint(got), "hdr-secret") {
			t.Fatal("a secret header value is in the answer")
		}
		sig := ""
		for _, h := range got.Data.Attempts[0].Request.Headers {
			if strings.EqualFold(h.Name, "webhook-signature") {
				sig = h.Value
			}
		}
		if sig != models.Redacted {
			t.Fatalf("webhook-signature %q", sig)
		}
		if ok.last().Header.Get("X-Api-Key") != "hdr-secret" {
			t.Fatal("the receiver did not get the secret header")
		}
	})
	t.Run("a failed redelivery says why and when the next retry is", func(t *testing.T) {
		d := byHook(failing.ID)
		res := apiDo(t, c, http.MethodPost, "/api/v1/deliveries/"+d.ID+"/redeliver", key, "")
		wantStatus(t, res, http.StatusCreated)
		got := getDelivery(t, key, d.ID)
		at := got.Data.Attempts[0]
		if at.Error == nil || at.Error.Kind != "http_status" || at.Response.Status != 503 || at.DurationMS < 0 {
			t.Fatalf("%+v", at)
		}
		if got.Data.Status == "pending" && at.NextRetryAt == nil {
			t.Fatalf("pending without a next retry: %+v", got.Data)
		}
	})
	t.Run("cancel stops retries; finished and in-flight deliveries are 409", func(t *testing.T) {
		d := byHook(failing.ID)
		path := "/api/v1/deliveries/" + d.ID + "/cancel"
		res := apiDo(t, c, http.MethodPost, path, key, "")
		wantStatus(t, res, http.StatusOK)
		var got apiDeliveryDetailShape
		strictJSON(t, res, &got)
		if got.Data.Status != "cancelled" || got.Data.NextAttemptAt != nil || got.Data.CompletedAt == nil {
			t.Fatalf("%+v", got.Data)
		}
		wantStatus(t, apiDo(t, c, http.MethodPost, path, key, ""), http.StatusOK) // again: as it is
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/deliveries/"+byHook(good.ID).ID+"/cancel", key, ""),
			http.StatusConflict, "finished")
		var sending apiDeliveryShape
		for _, x := range all {
			if x.Status == "pending" && x.ID != d.ID && x.ID != byHook(good.ID).ID {
				sending = x
				break
			}
		}
		if err := app.DB.Exec("UPDATE deliveries SET status = 'sending', lease_until = now() + interval '1 minute' WHERE id = ?", rowID(t, app, sending.ID)).Error; err != nil {
			t.Fatal(err)
		}
		assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/deliveries/"+sending.ID+"/cancel", key, ""),
			http.StatusConflict, "in_flight")
		if got := getDelivery(t, key, sending.ID); got.Data.Status != "sending" {
			t.Fatalf("a refused cancel changed it: %s", got.Data.Status)
		}
	})
	t.Run("unknown, numeric and tampered ids are 404", func(t *testing.T) {
		own := all[0].ID
		numeric := strconv.FormatInt(rowID(t, app, own), 10)
		tampered := own[:len(own)-1] + map[bool]string{true: "1", false: "0"}[own[len(own)-1] == '0']
		for _, id := range []string{"0", "-1", "abc", "99999999999", "9223372036854775808", numeric, tampered,
			"dlv_00000000000000000000000000", "DLV_" + strings.ToUpper(own[4:]), own + "0", "att_" + own[4:], "cur_" + own[4:]} {
			assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/deliveries/"+id, key, ""), http.StatusNotFound, "not_found")
			assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/deliveries/"+id+"/redeliver", key, ""), http.StatusNotFound, "not_found")
			assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/deliveries/"+id+"/cancel", key, ""), http.StatusNotFound, "not_found")
		}
		assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/webhooks/wh_nope/deliveries", key, ""), http.StatusNotFound, "not_found")
	})
	t.Run("another account's deliveries answer 404 and change nothing", func(t *testing.T) {
		for _, d := range all {
			id := d.ID
			before := getDelivery(t, key, d.ID)
			assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/deliveries/"+id, bKey, ""), http.StatusNotFound, "not_found")
			assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/deliveries/"+id+"/redeliver", bKey, ""), http.StatusNotFound, "not_found")
			assertAPIError(t, apiDo(t, c, http.MethodPost, "/api/v1/deliveries/"+id+"/cancel", bKey, ""), http.StatusNotFound, "not_found")
			after := getDelivery(t, key, d.ID)
			if after.Data.Status != before.Data.Status || len(after.Data.Attempts) != len(before.Data.Attempts) || !after.Data.UpdatedAt.Equal(before.Data.UpdatedAt) {
				t.Fatalf("B changed delivery %s", d.ID)
			}
		}
		assertAPIError(t, apiDo(t, c, http.MethodGet, "/api/v1/webhooks/"+good.ID+"/deliveries", bKey, ""), http.StatusNotFound, "not_found")
		for _, q := range []string{"", "?webhook_id=" + good.ID, "?call_id=call_one", "?phone_number=%2B919240202904"} {
			if p := listDeliveries(t, c, bKey, "/api/v1/deliveries"+q); len(p.Data) != 0 {
				t.Fatalf("B lists A's deliveries with %q", q)
			}
		}
	})
}
