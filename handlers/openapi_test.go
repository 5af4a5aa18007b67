package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// revealsSecret are the GETs that answer a credential (the signing secret
// lets its holder forge deliveries), so they need the full scope, not read.
var revealsSecret = map[string]bool{"/api/v1/webhooks/{id}/secret": true}

// TestOpenAPICoversRoutes: the route table's /api routes and the OpenAPI
// document's operations are the same set, and each operation says what a
// client needs to know. (Each request and response the API tests make is
// validated against the document by handlertest.)
func TestOpenAPICoversRoutes(t *testing.T) {
	app := handlertest.New(t)
	served := map[string]bool{}
	for _, r := range apiRoutes(app.Echo) {
		method, path, _ := strings.Cut(r, " ")
		served[method+" "+openAPIPath(path)] = true
	}
	documented := map[string]bool{}
	for path, item := range app.API.Doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("%s is served but not in the OpenAPI document (handlers/openapi.json)", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("%s is in the OpenAPI document but not in the route table", r)
		}
	}

	for path, item := range app.API.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			t.Run(name, func(t *testing.T) {
				if op.OperationID == "" || op.Summary == "" {
					t.Error("no operationId or summary")
				}
				scope, _ := op.Extensions["x-ringhook-scope"].(string)
				public := op.Security != nil && len(*op.Security) == 0
				switch {
				case public && scope != "public":
					t.Errorf("an operation without security must say x-ringhook-scope: public, not %q", scope)
				case !public && !models.APIKeyScope(scope).Valid():
					t.Errorf("x-ringhook-scope %q: want full, read or ingest", scope)
				case method == http.MethodGet && !public && scope != string(models.ScopeRead) && !revealsSecret[path]:
					t.Errorf("a GET should need the read scope, not %q", scope)
				case method != http.MethodGet && scope == string(models.ScopeRead):
					t.Error("read keys may only make GET requests")
				}
				var wants []string
				if !public {
					wants = []string{"401", "403", "429", "500", "503"}
				}
				if op.RequestBody != nil {
					wants = append(wants, "400", "413", "415", "422")
				}
				if method == http.MethodPost && slices.ContainsFunc(op.Parameters, func(p *openapi3.ParameterRef) bool { return p.Value != nil && p.Value.Name == "Idempotency-Key" }) {
					wants = append(wants, "409")
				}
				for _, code := range wants {
					if op.Responses.Value(code) == nil {
						t.Errorf("no %s response documented", code)
					}
				}
			})
		}
	}
}

// TestOpenAPIServed: the document is public JSON at /api/openapi.json.
func TestOpenAPIServed(t *testing.T) {
	app := handlertest.New(t)
	res := app.NewClient(t).Get(t, handlertest.OpenAPIPath)
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%s", handlertest.Describe(res))
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
	}
	if err := json.Unmarshal([]byte(res.Body), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q: %v", doc.OpenAPI, err)
	}
}

// TestOpenAPIExamples sends every request example of the document to the
// server: the examples a reader copies work.
func TestOpenAPIExamples(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	key := mustAPIKey(t, app, tn, "examples", true)
	c := app.NewClient(t)
	// Paths with an {id} are sent to a webhook of the tenant.
	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes = "examples", "http://127.0.0.1:1/hook", []string{"call.hangup"}
	hook, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range app.API.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			for name, ex := range op.RequestBody.Value.Content.Get("application/json").Examples {
				t.Run(method+" "+path+" "+name, func(t *testing.T) {
					body, err := json.Marshal(ex.Value.Value)
					if err != nil {
						t.Fatal(err)
					}
					req, err := http.NewRequest(method, c.Base+strings.ReplaceAll(path, "{id}", hook.ID), strings.NewReader(string(body)))
					if err != nil {
						t.Fatal(err)
					}
					req.Header.Set("Authorization", "Bearer "+key)
					req.Header.Set("Content-Type", "application/json")
					if res := c.Do(t, req); res.Status < 200 || res.Status > 299 {
						t.Fatalf("the example is refused: %s", handlertest.Describe(res))
					}
				})
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("the document has no request examples")
	}
}
