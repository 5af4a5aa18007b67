package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// TestDialectsNeverAnswer500 throws hostile bodies, values of the wrong
// type, bytes PostgreSQL refuses and wrong methods at every dialect route:
// each answers a 4xx in JSON, and only well-formed requests change anything.
func TestDialectsNeverAnswer500(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "hostile", true)
	c := app.NewClient(t)
	acct := tn.Account.ID
	hook := kazooOK[kazooHook](t, send(t, c, http.MethodPut, "/api/v1/accounts/"+acct+"/webhooks",
		`{"data":{"name":"Target","uri":"https://crm.example.com/t","hook":"channel_create"}}`, map[string]string{"X-Auth-Token": key}), http.StatusCreated)

	values := []string{`null`, `5`, `-1e309`, `"\u0000"`, `"\ud800"`, `[]`, `{}`, `[[[[[]]]]]`, `true`, `"` + strings.Repeat("x", 5000) + `"`, `"ftp://x"`, `"wh_\u0000"`}
	bodies := []string{``, `{`, `nul`, "\x00\xff", `[]`, `"str"`, `{"a":1}{"b":2}`, `{"data":[]}`, `{"data":"x"}`}
	type route struct {
		method, path string
		header       map[string]string
		fields       []string // members to try hostile values in
		wrap         func(member, value string) string
	}
	kazoo := func(m, v string) string {
		return `{"data":{"name":"n","uri":"https://a.example","hook":"channel_create","` + m + `":` + v + `}}`
	}
	flat := func(base string) func(m, v string) string {
		return func(m, v string) string { return strings.Replace(base, "{", `{"`+m+`":`+v+`,`, 1) }
	}
	kixieBase := kixieBody(kixieCreateDoc, key, acct, "", "https://a.example")
	kixiePut := kixieBody(kixieUpdateDoc, key, acct, hook.ID, "https://a.example")
	routes := []route{
		{http.MethodPut, "/api/v1/accounts/" + acct + "/webhooks", map[string]string{"X-Auth-Token": key}, []string{"name", "uri", "http_verb", "hook", "retries", "custom_data", "enabled"}, kazoo},
		{http.MethodPost, "/api/v1/accounts/" + acct + "/webhooks/" + hook.ID, map[string]string{"X-Auth-Token": key}, []string{"name", "uri", "hook", "retries", "custom_data"}, kazoo},
		{http.MethodPost, "/v1/backend/webhooks", map[string]string{"Authorization": "Bearer " + key}, []string{"url", "description", "event_types", "name", "enabled"}, flat(`{"url":"https://a.example"}`)},
		{http.MethodPost, "/app/v1/api/postwebhook", nil, []string{"businessid", "eventname", "headers", "location", "name", "direction", "runtime"}, func(m, v string) string {
			return strings.Replace(kixieBase, `"`+m+`":`, `"`+m+`": `+v+`, "ignored_`+m+`":`, 1)
		}},
		{http.MethodPost, "/app/v1/api/postwebhook", nil, []string{"webhookid", "callresult", "disposition"}, func(m, v string) string {
			return strings.Replace(kixiePut, `"`+m+`":`, `"`+m+`": `+v+`, "ignored_`+m+`":`, 1)
		}},
		{http.MethodPost, "/app/v1/api/deleteWebhooks", nil, []string{"apikey", "businessid", "call"}, flat(`{"call":"removeWebhook"}`)},
		{http.MethodPost, "/beta/webhooks", map[string]string{"Authorization": key}, []string{"name", "events", "url", "authorization", "customHeaders", "filters", "enabled"}, flat(`{"name":"n","url":"https://a.example","events":["ConversationCreated"]}`)},
		{http.MethodPatch, "/beta/webhooks/" + hook.ID, map[string]string{"Authorization": key}, []string{"name", "events", "url", "authorization", "customHeaders", "filters"}, flat(`{}`)},
	}
	check := func(t *testing.T, res handlertest.Response, what string) {
		t.Helper()
		if res.Status >= 500 || res.Status < 400 && res.Status != 200 && res.Status != 201 {
			t.Errorf("%s: %s", what, handlertest.Describe(res))
		}
		if res.Status >= 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: error is not JSON: %s", what, handlertest.Describe(res))
		}
	}
	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			for _, b := range bodies {
				check(t, send(t, c, r.method, r.path, b, r.header), fmt.Sprintf("body %q", b))
			}
			for _, m := range r.fields {
				for _, v := range values {
					check(t, send(t, c, r.method, r.path, r.wrap(m, v), r.header), fmt.Sprintf("%s = %.40s", m, v))
				}
			}
		})
	}
	for _, p := range []string{"/api/v1/accounts/" + acct + "/webhooks/%00", "/beta/webhooks/" + hook.ID + "/delivery-status/logs/%FF", "/beta/webhooks/x%20y",
		"/v1/backend/webhooks/" + strings.Repeat("a", 300), "/api/v1/accounts/%00/webhooks"} {
		for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			res := send(t, c, m, p, "", map[string]string{"X-Auth-Token": key, "Authorization": key})
			check(t, res, m+" "+p)
		}
	}
	w, err := app.Store.Webhook(context.Background(), acct, hook.ID)
	if err != nil {
		t.Fatalf("the target webhook: %v", err)
	}
	if w.Name == "" || w.URL == "" {
		t.Errorf("hostile requests broke the webhook: %+v", w)
	}
}
