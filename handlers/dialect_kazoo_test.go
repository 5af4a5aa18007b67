package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// kazooHook is a webhook as a Kazoo client reads it.
type kazooHook struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	URI        string         `json:"uri"`
	HTTPVerb   string         `json:"http_verb"`
	Hook       string         `json:"hook"`
	Retries    int            `json:"retries"`
	CustomData map[string]any `json:"custom_data"`
	Enabled    bool           `json:"enabled"`
}

type kazooEnvelope[T any] struct {
	Data      T      `json:"data"`
	Status    string `json:"status"`
	RequestID string `json:"request_id"`
}

type kazooErrorEnvelope struct {
	Status    string                    `json:"status"`
	Error     string                    `json:"error"`
	Message   string                    `json:"message"`
	Data      map[string]map[string]any `json:"data"`
	RequestID string                    `json:"request_id"`
}

func kazooOK[T any](t *testing.T, res handlertest.Response, status int) T {
	t.Helper()
	wantStatus(t, res, status)
	var env kazooEnvelope[T]
	decodeInto(t, res, &env)
	if env.Status != "success" || env.RequestID == "" {
		t.Fatalf("envelope status %q request_id %q: %s", env.Status, env.RequestID, res.Body)
	}
	return env.Data
}

func kazooErr(t *testing.T, res handlertest.Response, status int, wantInMessage string) kazooErrorEnvelope {
	t.Helper()
	wantStatus(t, res, status)
	var env kazooErrorEnvelope
	decodeInto(t, res, &env)
	if env.Status != "error" || env.Error != strconv.Itoa(status) || env.Message == "" {
		t.Fatalf("error envelope: %s", res.Body)
	}
	if !strings.Contains(env.Message, wantInMessage) {
		t.Fatalf("message %q lacks %q", env.Message, wantInMessage)
	}
	return env
}

// TestKazooDocumentExamples sends the Wirecloud/Kazoo document's own
// requests (only host, token and ids replaced) in a sensible order.
func TestKazooDocumentExamples(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "kazoo", true)
	c := app.NewClient(t)
	acct := tn.Account.ID
	base := "/api/v1/accounts/" + acct + "/webhooks"
	auth := map[string]string{"X-Auth-Token": key}
	authJSON := map[string]string{"X-Auth-Token": key, "Content-Type": "application/json"}

	// PUT: creates a new webhook.
	created := kazooOK[kazooHook](t, send(t, c, http.MethodPut, base,
		`{"data":{"name":"New Calls", "uri":"http://my.server.com/calls/new.php", "http_verb":"post", "hook":"channel_create", "retries":3}}`, authJSON), http.StatusCreated)
	if created.ID == "" || created.Name != "New Calls" || created.URI != "http://my.server.com/calls/new.php" || created.HTTPVerb != "post" ||
		created.Hook != "channel_create" || created.Retries != 3 || !created.Enabled {
		t.Fatalf("created %+v", created)
	}
	w, err := app.Store.Webhook(context.Background(), acct, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.EventTypes, []string{"call.received"}) || w.Method != "POST" || w.MaxAttempts != 4 || w.CustomDataMode != models.CustomDataMerged {
		t.Fatalf("stored %+v", w)
	}

	// The custom_data example: the same name again, and JSON booleans.
	rc := newBodyReceiver(t)
	second := kazooOK[kazooHook](t, send(t, c, http.MethodPut, base,
		`{"data":{"name":"New Calls", "uri":"`+rc.URL+`/calls/new.php", "http_verb":"post", "hook":"channel_create", "retries":3, "custom_data": {"account_id": "my_crm_account_id", "screen_pop": true}}}`, authJSON), http.StatusCreated)
	if second.CustomData["screen_pop"] != true || second.CustomData["account_id"] != "my_crm_account_id" {
		t.Fatalf("custom_data %#v", second.CustomData)
	}

	// GET: the listing holds both same-named webhooks.
	list := kazooOK[[]kazooHook](t, send(t, c, http.MethodGet, base, "", auth), http.StatusOK)
	if len(list) != 2 || list[0].Name != "New Calls" || list[1].Name != "New Calls" {
		t.Fatalf("list %+v", list)
	}

	// GET one.
	got := kazooOK[kazooHook](t, send(t, c, http.MethodGet, base+"/"+created.ID, "", auth), http.StatusOK)
	if got.ID != created.ID || got.URI != created.URI || got.Hook != created.Hook {
		t.Fatalf("get %+v", got)
	}

	// POST: edit the particulars.
	edited := kazooOK[kazooHook](t, send(t, c, http.MethodPost, base+"/"+created.ID,
		`{"data":{"name":"New Calls", "uri":"http://my.server.com/calls/new_call.php", "http_verb":"post", "hook":"channel_create", "retries":3}}`, authJSON), http.StatusOK)
	if edited.URI != "http://my.server.com/calls/new_call.php" || edited.ID != created.ID {
		t.Fatalf("edited %+v", edited)
	}
	// The document's own edit URL, …/webhooks{webhook_id} without the slash.
	typo := kazooOK[kazooHook](t, send(t, c, http.MethodPost, base+created.ID,
		`{"data":{"name":"New Calls", "uri":"http://my.server.com/calls/new_call.php", "http_verb":"post", "hook":"channel_create", "retries":3}}`, authJSON), http.StatusOK)
	if typo.ID != created.ID {
		t.Fatalf("edit through the document's URL %+v", typo)
	}

	// The merged custom_data reaches the receiver at the top level,
	// overriding the event's account_id, as the document's example shows.
	c2 := app.SignIn(t, tn)
	c2.Get(t, "/webhooks/"+second.ID)
	if res := c2.Post(t, "/webhooks/"+second.ID+"/test", url.Values{"event_type": {"call.received"}}); res.Status >= 400 {
		t.Fatalf("console test: %s", handlertest.Describe(res))
	}
	var payload map[string]any
	if err := json.Unmarshal([]byte(rc.last()), &payload); err != nil {
		t.Fatalf("receiver got %q: %v", rc.last(), err)
	}
	if payload["account_id"] != "my_crm_account_id" || payload["screen_pop"] != true || payload["event"] != "call.received" {
		t.Fatalf("payload %v", payload)
	}
	if _, nested := payload["custom_data"]; nested {
		t.Fatalf("merged custom_data also sent nested: %v", payload)
	}

	// Attempts, for the account and for one webhook.
	type attempt struct {
		HookID       string `json:"hook_id"`
		Result       string `json:"result"`
		ResponseCode string `json:"response_code"`
		Timestamp    int64  `json:"timestamp"`
	}
	all := kazooOK[[]attempt](t, send(t, c, http.MethodGet, base+"/attempts", "", auth), http.StatusOK)
	if len(all) != 1 || all[0].HookID != second.ID || all[0].Result != "success" || all[0].ResponseCode != "200" || all[0].Timestamp == 0 {
		t.Fatalf("attempts %+v", all)
	}
	if one := kazooOK[[]attempt](t, send(t, c, http.MethodGet, base+"/"+created.ID+"/attempts", "", auth), http.StatusOK); len(one) != 0 {
		t.Fatalf("attempts of the first webhook %+v", one)
	}
	if one := kazooOK[[]attempt](t, send(t, c, http.MethodGet, base+"/"+second.ID+"/attempts", "", auth), http.StatusOK); len(one) != 1 {
		t.Fatalf("attempts of the second webhook %+v", one)
	}

	// DELETE, then GET answers 404 in Kazoo's shape.
	deleted := kazooOK[kazooHook](t, send(t, c, http.MethodDelete, base+"/"+created.ID, "", auth), http.StatusOK)
	if deleted.ID != created.ID {
		t.Fatalf("deleted %+v", deleted)
	}
	kazooErr(t, send(t, c, http.MethodGet, base+"/"+created.ID, "", auth), http.StatusNotFound, "")

	actors := auditActors(t, app, tn, created.ID)
	// Newest first; the key shows by its prefix (sk_live_ + 8 characters).
	by := " by api key " + key[:16] + " via Kazoo API"
	if want := []string{"webhook.deleted" + by, "webhook.updated" + by, "webhook.updated" + by, "webhook.created" + by}; !slices.Equal(actors, want) {
		t.Fatalf("audit %q, want %q", actors, want)
	}
}

// TestKazooBadInput: each mistake answers in Kazoo's error envelope with
// the right status, and changes nothing.
func TestKazooBadInput(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	other := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "kazoo", true)
	otherKey := mustAPIKey(t, app, other, "other", true)
	readKey := mustScopedKey(t, app, tn, models.NewAPIKey{Name: "read", Scope: models.ScopeRead})
	c := app.NewClient(t)
	base := "/api/v1/accounts/" + tn.Account.ID + "/webhooks"
	auth := map[string]string{"X-Auth-Token": key, "Content-Type": "application/json"}
	good := `{"data":{"name":"New Calls", "uri":"http://my.server.com/calls/new.php", "http_verb":"post", "hook":"channel_create", "retries":3}}`
	theirs := kazooOK[kazooHook](t, send(t, c, http.MethodPut, "/api/v1/accounts/"+other.Account.ID+"/webhooks", good,
		map[string]string{"X-Auth-Token": otherKey}), http.StatusCreated)

	cases := []struct {
		name, method, path, body string
		header                   map[string]string
		status                   int
		message, field           string
	}{
		{"no token", http.MethodGet, base, "", nil, 401, "API key", ""},
		{"Bearer instead of X-Auth-Token", http.MethodGet, base, "", map[string]string{"Authorization": "Bearer " + key}, 401, "API key", ""},
		{"wrong token", http.MethodGet, base, "", map[string]string{"X-Auth-Token": "sk_live_" + strings.Repeat("Z", 40)}, 401, "not valid", ""},
		{"another account's id in the path", http.MethodGet, "/api/v1/accounts/" + other.Account.ID + "/webhooks", "", auth, 404, "account", ""},
		{"another account's webhook", http.MethodGet, base + "/" + theirs.ID, "", auth, 404, "", ""},
		{"edit another account's webhook", http.MethodPost, base + "/" + theirs.ID, good, auth, 404, "", ""},
		{"delete another account's webhook", http.MethodDelete, base + "/" + theirs.ID, "", auth, 404, "", ""},
		{"attempts of another account's webhook", http.MethodGet, base + "/" + theirs.ID + "/attempts", "", auth, 404, "", ""},
		{"malformed JSON", http.MethodPut, base, `{"data":{"name":`, auth, 400, "JSON", ""},
		{"no data envelope", http.MethodPut, base, `{"name":"x"}`, auth, 400, `"name"`, ""},
		{"unknown hook", http.MethodPut, base, strings.Replace(good, "channel_create", "channel_bridge", 1), auth, 400, "channel_create, channel_answer, channel_destroy", "hook"},
		{"unknown field", http.MethodPut, base, strings.Replace(good, `"retries":3`, `"retries":3, "colour":"red"`, 1), auth, 400, "colour", ""},
		{"bad verb", http.MethodPut, base, strings.Replace(good, `"post"`, `"put"`, 1), auth, 400, "get or post", "http_verb"},
		{"no uri", http.MethodPut, base, strings.Replace(good, `"uri":"http://my.server.com/calls/new.php",`, ``, 1), auth, 400, "uri", "uri"},
		{"custom_data object value", http.MethodPut, base, strings.Replace(good, `"retries":3`, `"retries":3, "custom_data":{"a":{"b":1}}`, 1), auth, 400, "custom_data.a", ""},
		{"read key may not create", http.MethodPut, base, good, map[string]string{"X-Auth-Token": readKey}, 403, "read scope", ""},
		{"unknown path", http.MethodGet, base + "/x/y/z", "", auth, 404, "webhook paths", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := kazooErr(t, send(t, c, tc.method, tc.path, tc.body, tc.header), tc.status, tc.message)
			if tc.field != "" && env.Data[tc.field] == nil {
				t.Errorf("data does not name %s: %+v", tc.field, env.Data)
			}
		})
	}
	if hooks, _ := app.Store.Webhooks(context.Background(), tn.Account.ID); len(hooks) != 0 {
		t.Errorf("bad requests created %d webhooks", len(hooks))
	}
	w, err := app.Store.Webhook(context.Background(), other.Account.ID, theirs.ID)
	if err != nil || w.URL != "http://my.server.com/calls/new.php" {
		t.Errorf("the other account's webhook changed: %+v %v", w, err)
	}
}

// TestKazooOneWebhook: a webhook made through Kazoo is edited in the
// console and read back through Kazoo and the Store (the native API has
// no webhook routes yet); the console's settings Kazoo has no name for
// survive a Kazoo edit.
func TestKazooOneWebhook(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "kazoo", true)
	c := app.NewClient(t)
	base := "/api/v1/accounts/" + tn.Account.ID + "/webhooks"
	auth := map[string]string{"X-Auth-Token": key}
	made := kazooOK[kazooHook](t, send(t, c, http.MethodPut, base,
		`{"data":{"name":"New Calls","uri":"https://crm.example.com/k","hook":"channel_answer","custom_data":{"n":7}}}`, auth), http.StatusCreated)

	console := app.SignIn(t, tn)
	w := consoleEdit(t, app, console, tn, made.ID, func(f url.Values) {
		f.Set("name", "Answered calls")
		f.Add("header_name", "X-Tenant")
		f.Add("header_value", "acme")
	})
	if w.Name != "Answered calls" || w.CustomData.V["n"] != float64(7) || w.CustomDataMode != models.CustomDataMerged {
		t.Fatalf("after console edit %+v", w)
	}
	if page := console.Get(t, "/webhooks/"+made.ID); !strings.Contains(page.Body, "n = 7 (number)") || !strings.Contains(page.Body, "Merged at the top level") {
		t.Errorf("the console page does not show the Kazoo custom data")
	}
	got := kazooOK[kazooHook](t, send(t, c, http.MethodGet, base+"/"+made.ID, "", auth), http.StatusOK)
	if got.Name != "Answered calls" || got.Hook != "channel_answer" || got.CustomData["n"] != float64(7) {
		t.Fatalf("Kazoo reads %+v", got)
	}
	kazooOK[kazooHook](t, send(t, c, http.MethodPost, base+"/"+made.ID, `{"data":{"retries":1}}`, auth), http.StatusOK)
	w, err := app.Store.Webhook(context.Background(), tn.Account.ID, made.ID)
	if err != nil || w.MaxAttempts != 2 || len(w.Headers.V) != 1 || w.Name != "Answered calls" {
		t.Fatalf("after a Kazoo edit %+v %v", w, err)
	}
}
