package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// apiAuthIn is a webhook's auth setting as a client sends it: the password
// (basic) or token (bearer) is write-only.
type apiAuthIn struct {
	Type     string `json:"type"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
}

// apiAuthOut is the auth setting as the API shows it: never the secret,
// only whether one is stored.
type apiAuthOut struct {
	Type      string `json:"type"`
	Username  string `json:"username,omitempty"`
	SecretSet bool   `json:"secret_set"`
}

// apiWebhookIn is the body of POST, PUT and PATCH /webhooks. Pointers and
// nil slices tell a field that was left out from one that was sent.
type apiWebhookIn struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	EventTypes  []string        `json:"event_types"`
	URL         *string         `json:"url"`
	Method      *string         `json:"method"`
	ContentType *string         `json:"content_type"`
	CallTypes   []string        `json:"call_types"`
	DIDNumbers  []string        `json:"did_numbers"`
	TimeZone    *string         `json:"time_zone"`
	Headers     []models.Header `json:"headers"`
	Auth        *apiAuthIn      `json:"auth"`
	CustomData  map[string]any  `json:"custom_data"`
	CustomMode  *string         `json:"custom_data_mode"`
	Filters     []models.Filter `json:"filters"`
	MaxAttempts *int            `json:"max_attempts"`
	TimeoutMS   *int            `json:"timeout_ms"`
	Enabled     *bool           `json:"enabled"`
	// OrderedByCall, OrderingWindow and ExpireAfter: see models.Webhook.
	OrderedByCall  *bool          `json:"ordered_by_call"`
	OrderingWindow *int           `json:"ordering_window_seconds"`
	ExpireAfter    map[string]int `json:"expire_after_seconds"`
}

// apiWebhookRequired are the fields PATCH may not set to null: they have no
// empty value (leave them out to keep them).
var apiWebhookRequired = []string{"name", "event_types", "url", "method", "content_type", "time_zone", "max_attempts", "timeout_ms", "enabled",
	"ordered_by_call", "ordering_window_seconds", "expire_after_seconds"}

// apiWebhook is a webhook as the API shows it.
type apiWebhook struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	EventTypes     []string        `json:"event_types"`
	URL            string          `json:"url"`
	Method         string          `json:"method"`
	ContentType    string          `json:"content_type"`
	CallTypes      []string        `json:"call_types"`
	DIDNumbers     []string        `json:"did_numbers"`
	TimeZone       string          `json:"time_zone"`
	Headers        []models.Header `json:"headers"`
	Auth           apiAuthOut      `json:"auth"`
	CustomData     map[string]any  `json:"custom_data"`
	CustomDataMode string          `json:"custom_data_mode"`
	Filters        []models.Filter `json:"filters"`
	MaxAttempts    int             `json:"max_attempts"`
	TimeoutMS      int             `json:"timeout_ms"`
	Enabled        bool            `json:"enabled"`
	OrderedByCall  bool            `json:"ordered_by_call"`
	OrderingWindow int             `json:"ordering_window_seconds"`
	ExpireAfter    map[string]int  `json:"expire_after_seconds"`
	DisabledReason *string         `json:"disabled_reason"`
	DisabledAt     *time.Time      `json:"disabled_at"`
	Probe          *apiProbe       `json:"probe"`
	PausedUntil    *time.Time      `json:"paused_until"`
	APIVersion     string          `json:"api_version"`
	CreatedAt      time.Time       `json:"created_at"`
	CreatedBy      string          `json:"created_by"`
	UpdatedAt      time.Time       `json:"updated_at"`
	UpdatedBy      string          `json:"updated_by"`
	// SigningSecret is set only in the answer to POST /webhooks.
	SigningSecret string `json:"signing_secret,omitempty"`
}

// apiProbe is the probe state of a webhook disabled automatically (or
// re-enabled by a probe), see models/probe.go.
type apiProbe struct {
	NextProbeAt     *time.Time `json:"next_probe_at"`
	Probes          int        `json:"probes"`
	LastProbeAt     *time.Time `json:"last_probe_at"`
	LastProbeResult *string    `json:"last_probe_result"`
	GaveUpAt        *time.Time `json:"gave_up_at"`
	HealedAt        *time.Time `json:"healed_at"`
	Replayed        int        `json:"replayed"`
}

// probeJSON is w's probe state, or nil when it has none.
func probeJSON(w *models.Webhook) *apiProbe {
	if !w.DisabledAuto && w.HealedAt == nil {
		return nil
	}
	p := &apiProbe{NextProbeAt: w.ProbeNextAt, Probes: w.ProbeCount, LastProbeAt: w.ProbeLastAt, GaveUpAt: w.ProbeGaveUpAt,
		HealedAt: w.HealedAt, Replayed: w.HealedReplayed}
	if w.ProbeLastResult != "" {
		p.LastProbeResult = &w.ProbeLastResult
	}
	return p
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// webhookJSON is w without its secrets.
func webhookJSON(w *models.Webhook) apiWebhook {
	out := apiWebhook{ID: w.ID, Name: w.Name, Description: w.Description, EventTypes: orEmpty(slices.Clone(w.EventTypes)),
		URL: w.URL, Method: w.Method, ContentType: w.ContentType, CallTypes: orEmpty(slices.Clone(w.CallTypes)),
		DIDNumbers: orEmpty(slices.Clone(w.DIDNumbers)), TimeZone: w.TimeZone, Headers: []models.Header{},
		Auth:       apiAuthOut{Type: w.AuthType, Username: w.AuthUsername, SecretSet: w.AuthSecret != ""},
		CustomData: map[string]any{}, CustomDataMode: string(w.CustomDataMode), Filters: orEmpty(slices.Clone(w.Filters.V)), MaxAttempts: w.MaxAttempts,
		TimeoutMS: w.TimeoutMS, Enabled: w.Enabled, DisabledAt: w.DisabledAt, PausedUntil: utcOrNil(w.PausedUntil), APIVersion: w.APIVersion,
		OrderedByCall: w.OrderedByCall, OrderingWindow: w.OrderingWindowS, ExpireAfter: maps.Clone(w.ExpireAfter.V),
		CreatedAt: w.CreatedAt, CreatedBy: w.CreatedBy, UpdatedAt: w.UpdatedAt, UpdatedBy: w.UpdatedBy}
	for _, h := range w.Headers.V {
		h.Secret = h.IsSecret()
		out.Headers = append(out.Headers, models.RedactHeader(h))
	}
	for k, v := range w.CustomData.V {
		out.CustomData[k] = v
	}
	if out.ExpireAfter == nil {
		out.ExpireAfter = map[string]int{}
	}
	if w.DisabledReason != "" {
		out.DisabledReason = &w.DisabledReason
	}
	out.Probe = probeJSON(w)
	return out
}

// apply copies the fields that were sent onto in. present holds the
// members of the body; a member sent as null clears an optional field and
// is an error for a required one. pre collects errors found before
// validation (null required fields, a timeout not in whole seconds).
func (b apiWebhookIn) apply(in *models.WebhookInput, present map[string]json.RawMessage, pre models.FieldErrors) {
	null := func(k string) bool {
		raw, ok := present[k]
		return ok && bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
	}
	for _, k := range apiWebhookRequired {
		if null(k) {
			pre.Add(k, "Cannot be null: give a value, or leave the field out to keep it.")
		}
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&in.Name, b.Name)
	set(&in.Description, b.Description)
	set(&in.URL, b.URL)
	set(&in.Method, b.Method)
	set(&in.ContentType, b.ContentType)
	set(&in.TimeZone, b.TimeZone)
	if null("description") {
		in.Description = ""
	}
	if _, ok := present["event_types"]; ok && b.EventTypes != nil {
		in.EventTypes = b.EventTypes
	}
	if _, ok := present["call_types"]; ok {
		in.CallTypes = b.CallTypes // null or [] clears: every call type
	}
	if _, ok := present["did_numbers"]; ok {
		in.DIDNumbers = b.DIDNumbers
	}
	if _, ok := present["headers"]; ok {
		in.Headers = make([]models.Header, len(b.Headers))
		for i, h := range b.Headers {
			if h.Value == models.Redacted {
				h.Value = "" // a secret echoed back as shown keeps the stored value
			}
			in.Headers[i] = h
		}
	}
	if _, ok := present["auth"]; ok {
		switch a := b.Auth; {
		case a == nil:
			in.AuthType, in.AuthUsername, in.AuthSecret = models.AuthNone, "", ""
		default:
			in.AuthType, in.AuthUsername, in.AuthSecret = a.Type, a.Username, a.Password
			if a.Type == models.AuthBearer {
				in.AuthSecret = a.Token
			}
			if a.Type == models.AuthBearer && a.Password != "" || a.Type == models.AuthBasic && a.Token != "" ||
				a.Type == models.AuthNone && (a.Username != "" || a.Password != "" || a.Token != "") {
				pre.Add("auth", "Basic auth takes username and password, bearer auth a token, none nothing else.")
			}
		}
	}
	if _, ok := present["custom_data"]; ok {
		keys := make([]string, 0, len(b.CustomData))
		for k := range b.CustomData {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		in.CustomData = nil
		for _, k := range keys {
			in.CustomData = append(in.CustomData, models.KV{Key: k, Value: b.CustomData[k]})
		}
	}
	if _, ok := present["custom_data_mode"]; ok {
		in.CustomDataMode = models.CustomDataNested
		if b.CustomMode != nil {
			in.CustomDataMode = models.CustomDataMode(*b.CustomMode)
		}
	}
	if _, ok := present["filters"]; ok {
		in.Filters = b.Filters
	}
	if b.MaxAttempts != nil {
		in.MaxAttempts = *b.MaxAttempts
	}
	if b.TimeoutMS != nil {
		in.TimeoutSeconds = *b.TimeoutMS / 1000
		if *b.TimeoutMS%1000 != 0 {
			pre.Add("timeout_ms", "Give the timeout in whole seconds (a multiple of 1000).")
		}
	}
	if b.Enabled != nil {
		in.Enabled = *b.Enabled
	}
	if b.OrderedByCall != nil {
		in.OrderedByCall = *b.OrderedByCall
	}
	if b.OrderingWindow != nil {
		in.OrderingWindowSeconds = *b.OrderingWindow
	}
	if b.ExpireAfter != nil {
		in.ExpireAfter = b.ExpireAfter
	}
}

// apiFieldNames renames the Store's field error keys (the console form's
// names) to the JSON members they are about.
func apiFieldNames(fe models.FieldErrors, in models.WebhookInput) models.FieldErrors {
	out := models.FieldErrors{}
	for k, v := range fe {
		switch {
		case k == "timeout":
			k = "timeout_ms"
		case k == "ordering_window":
			k = "ordering_window_seconds"
		case k == "expire_after":
			k = "expire_after_seconds"
		case k == "auth_type":
			k = "auth.type"
		case k == "auth_username":
			k = "auth.username"
		case k == "auth_secret" && in.AuthType == models.AuthBearer:
			k = "auth.token"
		case k == "auth_secret":
			k = "auth.password"
		case strings.HasPrefix(k, "custom_data."):
			// custom_data is an object in JSON: name the key, not the row.
			parts := strings.Split(k, ".")
			if i, err := strconv.Atoi(parts[1]); err == nil && i < len(in.CustomData) && len(parts) == 3 {
				k = "custom_data." + in.CustomData[i].Key
			}
		}
		if prev, ok := out[k]; ok {
			v = prev + " " + v
		}
		out[k] = v
	}
	return out
}

// decodeWebhookBody reads a webhook body strictly and returns it with the
// members it holds.
func decodeWebhookBody(c echo.Context) (apiWebhookIn, map[string]json.RawMessage, error) {
	var raw json.RawMessage
	var body apiWebhookIn
	if err := bindJSON(c, &raw); err != nil {
		return body, nil, err
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(raw, &present); err != nil || present == nil {
		return body, nil, fault.Errorf(fault.ErrBadRequest, "The body must be a JSON object describing a webhook.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		return body, nil, jsonBodyError(err)
	}
	return body, present, nil
}

// saveAPIWebhook validates and saves in (id "" creates), reporting the
// pre-validation problems together with the Store's.
func (h *Handler) saveAPIWebhook(c echo.Context, id string, in models.WebhookInput, pre models.FieldErrors) (*models.Webhook, error) {
	ctx, acc := c.Request().Context(), currentAccount(c)
	if len(pre) > 0 {
		fe, err := h.store.ValidateWebhook(ctx, acc.ID, id, in)
		if err != nil {
			return nil, err
		}
		for k, v := range apiFieldNames(fe, in) {
			if _, ok := pre[k]; !ok {
				pre[k] = v
			}
		}
		return nil, pre
	}
	var w *models.Webhook
	var err error
	if id == "" {
		w, err = h.store.CreateWebhook(ctx, acc.ID, actor(c), in)
	} else {
		w, err = h.store.UpdateWebhook(ctx, acc.ID, id, actor(c), in)
	}
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		return nil, apiFieldNames(fe, in)
	}
	return w, err
}

// apiData writes {"data": v}.
func apiData(c echo.Context, status int, v any) error {
	return c.JSON(status, struct {
		Data any `json:"data"`
	}{v})
}

// apiPage writes {"data": [...], "next_cursor": "..."|null}.
func apiPage[T any](c echo.Context, rows []T, next string) error {
	var cursor *string
	if next != "" {
		cursor = &next
	}
	return c.JSON(http.StatusOK, struct {
		Data       []T     `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}{orEmpty(rows), cursor})
}

// apiLimit reads ?limit= (1..100, default def).
func apiLimit(c echo.Context, def int) (int, error) {
	s := c.QueryParam("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, models.FieldErrors{"limit": "Give a whole number from 1 to 100."}
	}
	return n, nil
}

// APIWebhookList is GET /api/v1/webhooks: the account's webhooks by id,
// filtered by ?enabled= and ?event_type=, a page at a time (?cursor=).
func (h *Handler) APIWebhookList(c echo.Context) error {
	limit, err := apiLimit(c, models.DefaultWebhookLimit)
	if err != nil {
		return err
	}
	q := models.WebhookQuery{Limit: limit + 1, After: c.QueryParam("cursor"), EventType: c.QueryParam("event_type")}
	fe := models.FieldErrors{}
	switch c.QueryParam("enabled") {
	case "":
	case "true":
		q.Enabled = new(bool)
		*q.Enabled = true
	case "false":
		q.Enabled = new(bool)
	default:
		fe.Add("enabled", "Give true or false.")
	}
	if q.EventType != "" && !catalog.Subscribable(q.EventType) {
		fe.Add("event_type", fmt.Sprintf("Unknown event type %q; GET /api/v1/event-types lists them.", q.EventType))
	}
	if q.After != "" && !strings.HasPrefix(q.After, "wh_") {
		fe.Add("cursor", "This cursor is not one this API gave; start again without it.")
	}
	if len(fe) > 0 {
		return fe
	}
	hooks, err := h.store.WebhookPage(c.Request().Context(), currentAccount(c).ID, q)
	if err != nil {
		return err
	}
	next := ""
	if len(hooks) > limit {
		hooks = hooks[:limit]
		next = hooks[limit-1].ID
	}
	out := make([]apiWebhook, len(hooks))
	for i := range hooks {
		out[i] = webhookJSON(&hooks[i])
	}
	return apiPage(c, out, next)
}

// readWebhookBody decodes a webhook body onto base: the members sent replace
// base's, and the errors found while reading them are returned for the
// Store's validation to report with its own.
func readWebhookBody(c echo.Context, base models.WebhookInput) (models.WebhookInput, models.FieldErrors, error) {
	body, present, err := decodeWebhookBody(c)
	if err != nil {
		return base, nil, err
	}
	pre := models.FieldErrors{}
	body.apply(&base, present, pre)
	return base, pre, nil
}

// APIWebhookCreate is POST /api/v1/webhooks: 201 with the webhook and its
// signing secret (the only answer but GET .../secret that carries it).
func (h *Handler) APIWebhookCreate(c echo.Context) error {
	in, pre, err := readWebhookBody(c, models.NewWebhookInput(currentAccount(c).TimeZone))
	if err != nil {
		return err
	}
	w, err := h.saveAPIWebhook(c, "", in, pre)
	if err != nil {
		return err
	}
	out := webhookJSON(w)
	out.SigningSecret = w.SigningSecret
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/webhooks/"+w.ID)
	return apiData(c, http.StatusCreated, out)
}

// APIWebhookGet is GET /api/v1/webhooks/{id}.
func (h *Handler) APIWebhookGet(c echo.Context) error {
	w, err := h.store.Webhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, webhookJSON(w))
}

// APIWebhookPatch is PATCH /api/v1/webhooks/{id}: members left out keep
// their value, null clears an optional one.
func (h *Handler) APIWebhookPatch(c echo.Context) error {
	return h.apiWebhookUpdate(c, false)
}

// APIWebhookPut is PUT /api/v1/webhooks/{id}: the body replaces the whole
// configuration (members left out take their defaults; a stored password,
// token or secret header value is kept when left out, as it is never shown).
func (h *Handler) APIWebhookPut(c echo.Context) error {
	return h.apiWebhookUpdate(c, true)
}

func (h *Handler) apiWebhookUpdate(c echo.Context, replace bool) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	// A password, token or secret header value left out (with the same auth
	// type or header name) is kept by the Store, as the console's form does.
	base := models.InputFrom(w)
	if replace {
		base = models.NewWebhookInput(acc.TimeZone)
	}
	in, pre, err := readWebhookBody(c, base)
	if err != nil {
		return err
	}
	w, err = h.saveAPIWebhook(c, w.ID, in, pre)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, webhookJSON(w))
}

// APIWebhookDelete is DELETE /api/v1/webhooks/{id}: 204; its history is kept (Store.DeleteWebhook).
func (h *Handler) APIWebhookDelete(c echo.Context) error {
	if _, err := h.store.DeleteWebhook(c.Request().Context(), currentAccount(c).ID, c.Param("id"), actor(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

type apiSecret struct {
	WebhookID         string     `json:"webhook_id"`
	SigningSecret     string     `json:"signing_secret"`
	PreviousExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

func (h *Handler) secretJSON(w *models.Webhook) apiSecret {
	s := apiSecret{WebhookID: w.ID, SigningSecret: w.SigningSecret}
	if len(w.SigningSecrets(h.now())) > 1 {
		s.PreviousExpiresAt = w.PreviousSecretExpiresAt
	}
	return s
}

// APIWebhookSecret is GET /api/v1/webhooks/{id}/secret: the current
// signing secret and until when the previous one still signs.
func (h *Handler) APIWebhookSecret(c echo.Context) error {
	w, err := h.store.RevealWebhookSecret(c.Request().Context(), currentAccount(c).ID, c.Param("id"), actor(c), "api")
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, h.secretJSON(w))
}

// APIWebhookRotateSecret is POST /api/v1/webhooks/{id}/secret/rotate with an
// optional {"grace_period_seconds": n} (default: the account's grace period,
// Settings) during which the old secret signs too (a second signature).
func (h *Handler) APIWebhookRotateSecret(c echo.Context) error {
	var body struct {
		GracePeriodSeconds *int64 `json:"grace_period_seconds"`
	}
	if err := optionalJSON(c, &body); err != nil {
		return err
	}
	ctx, accID := c.Request().Context(), currentAccount(c).ID
	var w *models.Webhook
	var err error
	if body.GracePeriodSeconds == nil {
		w, err = h.store.RotateWebhookSecret(ctx, accID, c.Param("id"), actor(c)) // the account's grace period
	} else {
		s := *body.GracePeriodSeconds
		if s < 0 || s > int64(models.MaxSecretGrace/time.Second) {
			return models.FieldErrors{"grace_period_seconds": fmt.Sprintf("Choose between 0 and %d seconds.", int64(models.MaxSecretGrace/time.Second))}
		}
		w, err = h.store.RotateWebhookSecretGrace(ctx, accID, c.Param("id"), actor(c), time.Duration(s)*time.Second)
	}
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, h.secretJSON(w))
}

// optionalJSON is bindJSON for routes whose body may be left out entirely.
func optionalJSON(c echo.Context, v any) error {
	req := c.Request()
	if req.Header.Get(echo.HeaderContentType) == "" {
		// No content type: fine when there is no body either (the length
		// may be unknown, e.g. once Idempotent has read and replaced it).
		var one [1]byte
		if _, err := io.ReadFull(req.Body, one[:]); errors.Is(err, io.EOF) {
			return nil
		}
		return fault.ErrUnsupportedMediaType
	}
	var raw json.RawMessage
	if err := bindJSON(c, &raw); err != nil {
		return err
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return fault.Errorf(fault.ErrBadRequest, "The body must be a JSON object (or left out).")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonBodyError(err)
	}
	return nil
}

// maxDisabledReason bounds a disable reason.
const maxDisabledReason = 500

// APIWebhookEnable is POST /api/v1/webhooks/{id}/enable.
func (h *Handler) APIWebhookEnable(c echo.Context) error { return h.apiWebhookSetEnabled(c, true) }

// APIWebhookDisable is POST /api/v1/webhooks/{id}/disable with an optional {"reason": "..."}.
func (h *Handler) APIWebhookDisable(c echo.Context) error { return h.apiWebhookSetEnabled(c, false) }

func (h *Handler) apiWebhookSetEnabled(c echo.Context, enabled bool) error {
	var body struct {
		Reason *string `json:"reason"`
	}
	if enabled {
		if err := optionalJSON(c, &struct{}{}); err != nil {
			return err
		}
	} else if err := optionalJSON(c, &body); err != nil {
		return err
	}
	reason := ""
	if !enabled {
		reason = "Disabled through the API by " + apiKey(c).Name + "."
		if body.Reason != nil {
			reason = strings.TrimSpace(*body.Reason)
			fe := models.FieldErrors{}
			if fe.CheckText("reason", reason); len(fe) == 0 && (len(reason) > maxDisabledReason || hasControlChar(reason)) {
				fe.Add("reason", fmt.Sprintf("Use at most %d characters of text on one line.", maxDisabledReason))
			}
			if len(fe) > 0 {
				return fe
			}
		}
	}
	w, err := h.store.SetWebhookEnabled(c.Request().Context(), currentAccount(c).ID, c.Param("id"), actor(c), enabled, reason)
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, webhookJSON(w))
}

func hasControlChar(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
