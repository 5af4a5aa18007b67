package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// kixieHook is one webhook as getWebhooks lists it.
type kixieHook struct {
	WebhookID   string `json:"webhookid"`
	Name        string `json:"name"`
	Location    string `json:"location"`
	EventName   string `json:"eventname"`
	Direction   string `json:"direction"`
	CallResult  string `json:"callresult"`
	Disposition string `json:"disposition"`
	Headers     any    `json:"headers"`
	Runtime     string `json:"runtime"`
}

type kixieAnswer struct {
	Success   bool   `json:"success"`
	Message   string `json:"message"`
	WebhookID string `json:"webhookid"`
	Error     string `json:"error"`
	Fields    map[string]string
}

func kixieOK(t *testing.T, res handlertest.Response) kixieAnswer {
	t.Helper()
	wantStatus(t, res, http.StatusOK)
	var a kixieAnswer
	decodeInto(t, res, &a)
	if !a.Success {
		t.Fatalf("success false: %s", res.Body)
	}
	return a
}

// kixieBody fills the document's placeholders.
func kixieBody(doc, key, business, webhookID, location string) string {
	return strings.NewReplacer(`"your-api-key"`, `"`+key+`"`, `your-business-id`, `"`+business+`"`,
		`"your-webhook-id"`, `"`+webhookID+`"`, `your-webhook-id`, `"`+webhookID+`"`, `your-webhook-url`, location).Replace(doc)
}

const (
	kixieCreateDoc = `{
"apikey": "your-api-key",
"businessid": your-business-id,
"call": "postWebhook",
"callresult": "all",
"direction": "all",
"disposition": "all",
"eventname": "endcall",
"headers": false,
"location": "your-webhook-url",
"name": "webhook-name",
"runtime": "realtime"
}`
	kixieUpdateDoc = `{
"apikey": "your-api-key",
"businessid": your-business-id,
"call": "putWebhook",
"callresult": "all",
"direction": "all",
"disposition": "all",
"eventname": "endcall",
"headers": false,
"location": "your-webhook-url",
"name": "new-webhook-name",
"runtime": "realtime",
"webhookid": "your-webhook-id"
}`
	kixieListDoc = `{
"apikey": "your-api-key",
"businessid": your-business-id,
"call": "getWebhooks"
}`
	kixieDeleteDoc = `{
"apikey": "your-api-key",
"businessid": your-business-id,
"call": "removeWebhook",
"webhookid": your-webhook-id
}`
)

func kixieList(t *testing.T, c *handlertest.Client, body string) []kixieHook {
	t.Helper()
	res := send(t, c, http.MethodPost, "/app/v1/api/getWebhooks", body, map[string]string{"Content-Type": "application/json"})
	wantStatus(t, res, http.StatusOK)
	var a struct {
		Success bool        `json:"success"`
		Data    []kixieHook `json:"data"`
	}
	decodeInto(t, res, &a)
	if !a.Success {
		t.Fatalf("getWebhooks: %s", res.Body)
	}
	return a.Data
}

// TestKixieDocumentExamples sends the Kixie document's four payloads
// (placeholders filled) in order: create, list, update, delete.
func TestKixieDocumentExamples(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "kixie", true)
	c := app.NewClient(t)
	biz := tn.Account.ID
	js := map[string]string{"Content-Type": "application/json"}
	hookURL := "https://crm.example.com/kixie"

	made := kixieOK(t, send(t, c, http.MethodPost, "/app/v1/api/postwebhook", kixieBody(kixieCreateDoc, key, biz, "", hookURL), js))
	if made.WebhookID == "" {
		t.Fatalf("create answered no webhookid")
	}
	w, err := app.Store.Webhook(context.Background(), biz, made.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "webhook-name" || w.URL != hookURL || !slices.Equal(w.EventTypes, []string{"call.ended"}) || len(w.Filters.V) != 0 || len(w.Headers.V) != 0 {
		t.Fatalf("stored %+v", w)
	}

	list := kixieList(t, c, kixieBody(kixieListDoc, key, biz, "", ""))
	want := kixieHook{WebhookID: made.WebhookID, Name: "webhook-name", Location: hookURL, EventName: "endcall", Direction: "all", CallResult: "all",
		Disposition: "all", Headers: false, Runtime: "realtime"}
	if len(list) != 1 || list[0] != want {
		t.Fatalf("getWebhooks %+v, want %+v", list, want)
	}

	// putWebhook as in the document, then with the filters and headers the
	// document describes.
	kixieOK(t, send(t, c, http.MethodPost, "/app/v1/api/postwebhook", kixieBody(kixieUpdateDoc, key, biz, made.WebhookID, hookURL), js))
	if list = kixieList(t, c, kixieBody(kixieListDoc, key, biz, "", "")); list[0].Name != "new-webhook-name" {
		t.Fatalf("after putWebhook %+v", list)
	}
	filtered := strings.NewReplacer(`"direction": "all"`, `"direction": "incoming"`, `"callresult": "all"`, `"callresult": "missed"`,
		`"disposition": "all"`, `"disposition": "Left voicemail"`,
		`"headers": false`, `"headers": "[{\"name\":\"header1\",\"value\":\"header1value\"}]"`).Replace(kixieBody(kixieUpdateDoc, key, biz, made.WebhookID, hookURL))
	kixieOK(t, send(t, c, http.MethodPost, "/app/v1/api/postwebhook", filtered, js))
	list = kixieList(t, c, kixieBody(kixieListDoc, key, biz, "", ""))
	if l := list[0]; l.Direction != "incoming" || l.CallResult != "missed" || l.Disposition != "Left voicemail" || l.Headers != `[{"name":"header1","value":"header1value"}]` {
		t.Fatalf("filtered %+v", l)
	}
	w, _ = app.Store.Webhook(context.Background(), biz, made.WebhookID)
	if len(w.Filters.V) != 3 || len(w.Headers.V) != 1 || w.Headers.V[0].Name != "header1" {
		t.Fatalf("stored filters %+v headers %+v", w.Filters.V, w.Headers.V)
	}

	// removeWebhook with the id unquoted-placeholder filled as a string;
	// then the list is empty and a second delete is a 404.
	kixieOK(t, send(t, c, http.MethodPost, "/app/v1/api/deleteWebhooks", kixieBody(kixieDeleteDoc, key, biz, made.WebhookID, ""), js))
	if list = kixieList(t, c, kixieBody(kixieListDoc, key, biz, "", "")); len(list) != 0 {
		t.Fatalf("after delete %+v", list)
	}
	res := send(t, c, http.MethodPost, "/app/v1/api/deleteWebhooks", kixieBody(kixieDeleteDoc, key, biz, made.WebhookID, ""), js)
	wantStatus(t, res, http.StatusNotFound)

	by := " by api key " + key[:16] + " via Kixie API"
	if actors := auditActors(t, app, tn, made.WebhookID); !slices.Equal(actors, []string{"webhook.deleted" + by, "webhook.updated" + by, "webhook.updated" + by, "webhook.created" + by}) {
		t.Fatalf("audit %q", actors)
	}
}

// TestKixieBadInput: mistakes answer {"success": false, "error", "message"}
// with the right status and change nothing.
func TestKixieBadInput(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	other := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "kixie", true)
	otherKey := mustAPIKey(t, app, other, "other", true)
	c := app.NewClient(t)
	theirs := kixieOK(t, send(t, c, http.MethodPost, "/app/v1/api/postwebhook", kixieBody(kixieCreateDoc, otherKey, other.Account.ID, "", "https://theirs.example"), nil))
	create := kixieBody(kixieCreateDoc, key, tn.Account.ID, "", "https://crm.example.com/k")
	cases := []struct {
		name, path, body string
		status           int
		message          string
	}{
		{"no apikey", "/app/v1/api/getWebhooks", `{"businessid": "` + tn.Account.ID + `", "call": "getWebhooks"}`, 401, "API key"},
		{"wrong apikey", "/app/v1/api/getWebhooks", kixieBody(kixieListDoc, "sk_live_"+strings.Repeat("Z", 40), tn.Account.ID, "", ""), 401, "not valid"},
		{"another account's businessid", "/app/v1/api/getWebhooks", kixieBody(kixieListDoc, key, other.Account.ID, "", ""), 403, "businessid"},
		{"a numeric businessid that is not the key's", "/app/v1/api/getWebhooks", strings.Replace(kixieListDoc, "your-business-id", "12345", 1), 403, "businessid"},
		{"malformed JSON", "/app/v1/api/postwebhook", `{"apikey": `, 400, "JSON"},
		{"unknown eventname", "/app/v1/api/postwebhook", strings.Replace(create, `"endcall"`, `"hangup"`, 1), 422, "endcall, startcall, answeredcall, SMS"},
		{"unknown direction", "/app/v1/api/postwebhook", strings.Replace(create, `"direction": "all"`, `"direction": "sideways"`, 1), 422, "incoming"},
		{"unknown field", "/app/v1/api/postwebhook", strings.Replace(create, `"runtime"`, `"colour": "red", "runtime"`, 1), 400, "colour"},
		{"bad headers", "/app/v1/api/postwebhook", strings.Replace(create, `"headers": false`, `"headers": "yes"`, 1), 422, "headers"},
		{"wrong call for the endpoint", "/app/v1/api/postwebhook", strings.Replace(create, "postWebhook", "getWebhooks", 1), 422, "postWebhook or putWebhook"},
		{"update another account's webhook", "/app/v1/api/postwebhook", kixieBody(kixieUpdateDoc, key, tn.Account.ID, theirs.WebhookID, "https://x.example"), 404, ""},
		{"delete another account's webhook", "/app/v1/api/deleteWebhooks", kixieBody(kixieDeleteDoc, key, tn.Account.ID, theirs.WebhookID, ""), 404, ""},
		{"unknown API", "/app/v1/api/sendSMS", kixieBody(kixieListDoc, key, tn.Account.ID, "", ""), 404, "postwebhook"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Replace(tc.body, "your-api-key", key, 1)
			res := send(t, c, http.MethodPost, tc.path, body, map[string]string{"Content-Type": "application/json"})
			wantStatus(t, res, tc.status)
			var a kixieAnswer
			decodeInto(t, res, &a)
			if a.Success || a.Error == "" || !strings.Contains(a.Message, tc.message) {
				t.Fatalf("answer %s, want a message with %q", res.Body, tc.message)
			}
		})
	}
	if hooks, _ := app.Store.Webhooks(context.Background(), tn.Account.ID); len(hooks) != 0 {
		t.Errorf("bad requests created %d webhooks", len(hooks))
	}
	if w, err := app.Store.Webhook(context.Background(), other.Account.ID, theirs.WebhookID); err != nil || w.URL != "https://theirs.example" {
		t.Errorf("the other account's webhook changed: %+v %v", w, err)
	}
}

// TestKixieOneWebhook: made through Kixie, edited in the console, read
// back through Kixie, the backend API, Kazoo and the Store.
func TestKixieOneWebhook(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "kixie", true)
	c := app.NewClient(t)
	made := kixieOK(t, send(t, c, http.MethodPost, "/app/v1/api/postwebhook",
		strings.Replace(kixieBody(kixieCreateDoc, key, tn.Account.ID, "", "https://crm.example.com/k"), `"endcall"`, `"answeredcall"`, 1), nil))
	console := app.SignIn(t, tn)
	consoleEdit(t, app, console, tn, made.WebhookID, func(f url.Values) { f.Set("name", "Answered (edited)") })
	list := kixieList(t, c, kixieBody(kixieListDoc, key, tn.Account.ID, "", ""))
	if len(list) != 1 || list[0].Name != "Answered (edited)" || list[0].EventName != "answeredcall" {
		t.Fatalf("Kixie reads %+v", list)
	}
	b := backendData[backendHook](t, send(t, c, http.MethodGet, "/v1/backend/webhooks/"+made.WebhookID, "", map[string]string{"Authorization": "Bearer " + key}), http.StatusOK)
	k := kazooOK[kazooHook](t, send(t, c, http.MethodGet, "/api/v1/accounts/"+tn.Account.ID+"/webhooks/"+made.WebhookID, "", map[string]string{"X-Auth-Token": key}), http.StatusOK)
	if b.URL != "https://crm.example.com/k" || k.Hook != "channel_answer" || k.Name != "Answered (edited)" {
		t.Fatalf("backend %+v kazoo %+v", b, k)
	}
}
