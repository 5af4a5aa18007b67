package handlertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// OpenAPIPath is where the server serves its OpenAPI document.
const OpenAPIPath = "/api/openapi.json"

// APIContract is the served OpenAPI document, checked, with a router that
// finds the operation of a request.
type APIContract struct {
	Doc    *openapi3.T
	router routers.Router
}

// loadContract fetches the document from the running server, validates it
// as OpenAPI 3.1 and points its server at base.
func loadContract(ctx context.Context, base string) (*APIContract, error) {
	res, err := http.Get(base + OpenAPIPath)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", OpenAPIPath, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: status %d: %v", OpenAPIPath, res.StatusCode, err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", OpenAPIPath, err)
	}
	if !doc.IsOpenAPI31OrLater() {
		return nil, fmt.Errorf("%s is OpenAPI %s, want 3.1", OpenAPIPath, doc.OpenAPI)
	}
	if err := doc.Validate(ctx, openapi3.EnableExamplesValidation()); err != nil {
		return nil, fmt.Errorf("%s is not a valid OpenAPI document: %w", OpenAPIPath, err)
	}
	// Routes are matched against this test server, whatever the document's servers say.
	doc.Servers = openapi3.Servers{{URL: base}}
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", OpenAPIPath, err)
	}
	return &APIContract{Doc: doc, router: r}, nil
}

// bearerPresent is the document's security check: the request names a
// Bearer credential. Whether the key is good is the server's to answer (401).
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, token, _ := strings.Cut(strings.TrimSpace(in.RequestValidationInput.Request.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no Bearer credential")
	}
	return nil
}

// check validates one API exchange against the document:
//   - a request to a path and method the document does not describe may
//     only be answered with a redirect, 401, 404 or 405;
//   - every response must have a status the operation documents, with
//     headers and a body its schema allows;
//   - a request the document calls invalid must not succeed (the document
//     may not promise less than the server enforces).
func (k *APIContract) check(t testing.TB, req *http.Request, reqBody []byte, res *http.Response, resBody []byte) {
	t.Helper()
	ctx := context.Background()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := k.router.FindRoute(vreq)
	if err != nil {
		switch s := res.StatusCode; {
		case s >= 300 && s < 400, s == http.StatusUnauthorized, s == http.StatusNotFound, s == http.StatusMethodNotAllowed:
		default:
			t.Errorf("OpenAPI: %s %s is not in the document (%v) but answered %d", req.Method, req.URL.Path, err, s)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: bearerPresent, MultiError: true}}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(resBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("OpenAPI: the response to %s %s does not match the document: %v\nresponse: %d %.500s", req.Method, req.URL.Path, err, res.StatusCode, resBody)
	}
	if reqErr != nil && res.StatusCode < 400 {
		t.Errorf("OpenAPI: the document forbids this %s %s (%v) but the server answered %d", req.Method, req.URL.Path, reqErr, res.StatusCode)
	}
}
