package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
)

// Vendor dialects are thin translations of other vendors' webhook APIs
// onto the same Store, validation and errors as the native API (see
// docs/migrating.md). Each dialect has its own file (dialect_<vendor>.go)
// with pure translation functions, its auth and its error envelope.

// dialects are the path prefixes the dialects answer, each with its error
// envelope. Programs call them with API keys and no cookies, so CSRF does
// not apply. The error handler finds the envelope by path, so an error
// raised before the dialect's group runs (BodyLimit's 413, say) still
// answers in the dialect's shape.
var dialects = []struct {
	prefix string
	write  problemWriter
}{
	{kazooPrefix, kazooProblem},
	{backendPrefix, backendProblem},
	{kixiePrefix, kixieProblem},
	{dixaPrefix, dixaProblem},
}

// IsDialectPath reports whether p is a vendor dialect's path. Dialects follow
// their vendors' documents, not Ringhook's OpenAPI contract, so the contract
// tests leave them out.
func IsDialectPath(p string) bool {
	_, ok := dialectWriter(p)
	return ok
}

// dialectWriter is the error envelope of the dialect that answers path p.
func dialectWriter(p string) (ProblemWriter, bool) {
	for _, d := range dialects {
		if strings.HasPrefix(p, d.prefix) {
			return d.write.problem, true
		}
	}
	return nil, false
}

// problemWriter writes one dialect's error envelope: the one place each
// dialect shapes an error. What to say comes from the shared table
// (problemOf in errors.go), like every other surface.
type problemWriter func(c echo.Context, status int, code, message string, fields map[string]string) error

// problem adapts a dialect's envelope writer to a ProblemWriter.
func (write problemWriter) problem(c echo.Context, p Problem) error {
	return write(c, p.Status, p.Code, p.Message, p.Fields)
}

// noStore keeps a dialect's answers (which carry account data) out of caches.
// Their errors answer in the dialect's envelope through the one error
// handler, which finds it by path (dialectWriter).
func noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// methodScope is the scope a request needs: GETs read, anything else full.
func methodScope(c echo.Context) models.APIKeyScope {
	if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
		return models.ScopeRead
	}
	return models.ScopeFull
}

// dialectAuth authenticates plain as an API key the way the native API
// does (same Store call, scopes and rate limit) and puts the key and its
// account in the context; the key's scope must permit need.
func (h *Handler) dialectAuth(c echo.Context, plain string, need models.APIKeyScope) error {
	plain = strings.TrimSpace(plain)
	if plain == "" {
		return fault.Errorf(fault.ErrUnauthenticated, "Send an API key (sk_live_… or sk_test_…).")
	}
	if len(plain) > maxAPIKeyLength || (!strings.HasPrefix(plain, "sk_live_") && !strings.HasPrefix(plain, "sk_test_")) {
		return fault.Errorf(fault.ErrUnauthenticated, "The API key is malformed: keys start with sk_live_ or sk_test_.")
	}
	ctx := c.Request().Context()
	k, err := h.store.AuthenticateAPIKey(ctx, plain)
	if errors.Is(err, models.ErrInvalidCredentials) {
		h.log.Info("api key refused", "ip", c.RealIP(), "path", c.Request().URL.Path)
		return fault.Errorf(fault.ErrUnauthenticated, "The API key is not valid: it is unknown or has been revoked.")
	}
	if err != nil {
		return fmt.Errorf("authenticate api key: %w", err)
	}
	acc, err := h.store.Account(ctx, k.AccountID)
	if errors.Is(err, models.ErrNotFound) {
		return fault.Errorf(fault.ErrUnauthenticated, "The API key is not valid: it is unknown or has been revoked.")
	}
	if err != nil {
		return fmt.Errorf("load account of api key: %w", err)
	}
	c.Set(ctxAPIKey, k)
	c.Set(ctxAccount, acc)
	if !k.Scope.Permits(need) {
		return fault.Errorf(fault.ErrForbidden, "%s", scopeRefusal(k.Scope))
	}
	return h.RateLimit(func(echo.Context) error { return nil })(c)
}

// dialectActor labels changes made through a dialect in the audit log,
// e.g. "api key sk_live_ab12cd34 via Kazoo API".
func dialectActor(c echo.Context, dialect string) models.Actor {
	a := actor(c)
	a.Label += " via " + dialect
	return a
}

// readDialectBody reads a dialect request body as one JSON object whose
// members must be among allowed (listed in the error otherwise), then
// decodes it into v. Vendor scripts do not always send a JSON content
// type, so any is accepted.
func readDialectBody(c echo.Context, allowed []string, v any) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, maxBodyBytes))
	if err != nil {
		return nil, jsonBodyError(err)
	}
	return decodeDialectJSON(body, allowed, v)
}

// decodeDialectJSON is readDialectBody's pure part.
func decodeDialectJSON(body []byte, allowed []string, v any) (map[string]json.RawMessage, error) {
	var members map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&members); err != nil {
		return nil, jsonBodyError(err)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		return nil, fault.Errorf(fault.ErrBadRequest, "The body must hold a single JSON object; there is more after it.")
	}
	if members == nil {
		return nil, fault.Errorf(fault.ErrBadRequest, "The body must be a JSON object.")
	}
	var unknown []string
	for k := range members {
		if !slices.Contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fault.Errorf(fault.ErrBadRequest, "Unknown field %q; the fields are: %s.", unknown[0], strings.Join(allowed, ", "))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return nil, jsonBodyError(err)
	}
	return members, nil
}

// decodeCustomData reads a custom_data object whose values are JSON
// scalars, in key order (so errors can point at a row).
func decodeCustomData(raw json.RawMessage) ([]models.KV, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fault.Errorf(fault.ErrBadRequest, "custom_data must be an object of string, number or boolean values.")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]models.KV, 0, len(keys))
	for _, k := range keys {
		v, ok := models.NormalizeScalar(m[k])
		if !ok {
			return nil, fault.Errorf(fault.ErrBadRequest, "custom_data.%s must be a string, a number or true/false.", k)
		}
		out = append(out, models.KV{Key: k, Value: v})
	}
	return out, nil
}

// renameFields translates FieldErrors keys (Ringhook's field names) into a
// dialect's names; a key "custom_data.3.key" becomes its prefix's name.
func renameFields(fe map[string]string, names map[string]string) map[string]string {
	if fe == nil {
		return nil
	}
	out := make(map[string]string, len(fe))
	for k, v := range fe {
		base, _, _ := strings.Cut(k, ".")
		name, ok := names[base]
		if !ok {
			name = k
		}
		if prev, dup := out[name]; dup {
			v = prev + " " + v
		}
		out[name] = v
	}
	return out
}

// customDataMap is a webhook's custom data as a JSON object.
func customDataMap(w *models.Webhook) map[string]any {
	if w.CustomData.V == nil {
		return map[string]any{}
	}
	return w.CustomData.V
}
