package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/apikeys"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/web/render"
)

// APIKeyList shows the account's API keys and, to writers, the create form.
func (h *Handler) APIKeyList(c echo.Context) error {
	return h.renderAPIKeys(c, http.StatusOK, apikeys.Form{Mode: "live", Scope: string(models.ScopeFull)}, nil)
}

func (h *Handler) renderAPIKeys(c echo.Context, status int, f apikeys.Form, created *apikeys.Created) error {
	acc := currentAccount(c)
	keys, err := h.store.APIKeys(c.Request().Context(), acc.ID)
	if err != nil {
		return err
	}
	loc := acc.Location()
	rows := make([]apikeys.Row, len(keys))
	for i := range keys {
		rows[i] = h.apiKeyRow(&keys[i], loc)
	}
	f.Scopes = scopeOptions()
	f.Summary = errorSummary(f.Errors, []summaryField{{"name", "name", "Name"}, {"mode", "field-mode", "Mode"}, {"scope", "field-scope", "Scope"}}, "name")
	return render.HTML(c, status, apikeys.Page(h.page(c, "API keys", "api-keys"), rows, f, created, currentUser(c).CanWrite()))
}

func (h *Handler) apiKeyRow(k *models.APIKey, loc *time.Location) apikeys.Row {
	r := apikeys.Row{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scope: string(k.Scope), CreatedBy: k.CreatedBy,
		CreatedAt: components.Time(k.CreatedAt, loc), LastUsed: "never", Revoked: k.RevokedAt != nil}
	if k.LastUsedAt != nil {
		r.LastUsed = ago(h.now().Sub(*k.LastUsedAt))
	}
	if k.RevokedAt != nil {
		r.RevokedAt = components.Time(*k.RevokedAt, loc)
	}
	return r
}

// APIKeyCreate makes a key and shows it once, on the page this request
// returns: the plaintext never goes into a cookie, a flash or a URL.
func (h *Handler) APIKeyCreate(c echo.Context) error {
	f := apikeys.Form{Name: c.FormValue("name"), Mode: c.FormValue("mode"), Scope: c.FormValue("scope")}
	if f.Scope == "" {
		f.Scope = string(models.ScopeFull) // forms from before scopes existed
	}
	in := models.NewAPIKey{Name: f.Name, Scope: models.APIKeyScope(f.Scope), Test: f.Mode == "test"}
	if f.Mode != "live" && f.Mode != "test" {
		// Every problem at once: the mode's and the name's and scope's.
		fe, err := h.store.ValidateAPIKey(c.Request().Context(), currentAccount(c).ID, in)
		if err != nil {
			return err
		}
		fe.Add("mode", "Choose live or test.")
		f.Errors = fe
		return h.renderAPIKeys(c, http.StatusUnprocessableEntity, f, nil)
	}
	k, plain, err := h.store.CreateAPIKey(c.Request().Context(), currentAccount(c).ID, actor(c), in)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		f.Errors = fe
		return h.renderAPIKeys(c, http.StatusUnprocessableEntity, f, nil)
	}
	if err != nil {
		return err
	}
	h.log.Info("api key created", "account", k.AccountID, "key", k.ID, "prefix", k.Prefix)
	return h.renderAPIKeys(c, http.StatusOK, apikeys.Form{Mode: f.Mode, Scope: f.Scope}, &apikeys.Created{Name: k.Name, Key: plain, Scope: string(k.Scope)})
}

// scopeOptions describes each scope for the create form.
func scopeOptions() []apikeys.ScopeOption {
	hints := map[models.APIKeyScope]string{
		models.ScopeFull:   "every API call",
		models.ScopeRead:   "GET requests only",
		models.ScopeIngest: "only sending call events (POST /api/v1/events): for a PBX",
	}
	out := make([]apikeys.ScopeOption, len(models.APIKeyScopes))
	for i, s := range models.APIKeyScopes {
		out[i] = apikeys.ScopeOption{Value: string(s), Hint: hints[s]}
	}
	return out
}

// apiKey finds one of the account's keys, revoked or not.
func (h *Handler) apiKey(c echo.Context, id string) (*models.APIKey, error) {
	keys, err := h.store.APIKeys(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return nil, err
	}
	for i := range keys {
		if keys[i].ID == id {
			return &keys[i], nil
		}
	}
	return nil, fmt.Errorf("api key %q: %w", id, models.ErrNotFound)
}

// APIKeyConfirmRevoke asks before revoking (the no-JavaScript path).
func (h *Handler) APIKeyConfirmRevoke(c echo.Context) error {
	k, err := h.apiKey(c, c.Param("id"))
	if err != nil {
		return err
	}
	if k.RevokedAt != nil {
		h.flash(c, layout.FlashInfo, fmt.Sprintf("API key %q is already revoked.", k.Name))
		return c.Redirect(http.StatusSeeOther, "/api-keys")
	}
	row := h.apiKeyRow(k, currentAccount(c).Location())
	return render.HTML(c, http.StatusOK, apikeys.ConfirmRevoke(h.page(c, "Revoke "+k.Name, "api-keys"), row))
}

// APIKeyRevoke stops a key from working. htmx gets the updated table row;
// a plain form post is redirected to the list with a flash.
func (h *Handler) APIKeyRevoke(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	k, err := h.apiKey(c, c.Param("id"))
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("API key %q is already revoked.", k.Name)
	if k.RevokedAt == nil {
		if err := h.store.RevokeAPIKey(ctx, acc.ID, k.ID, actor(c)); err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		// ErrNotFound here means a concurrent revoke won; the outcome is the same.
		msg = fmt.Sprintf("API key %q revoked. Programs using it now get 401.", k.Name)
		h.log.Info("api key revoked", "account", acc.ID, "key", k.ID)
		if k, err = h.apiKey(c, k.ID); err != nil {
			return err
		}
	}
	if render.IsHTMX(c) {
		return render.HTML(c, http.StatusOK, apikeys.RowView(h.apiKeyRow(k, acc.Location()), currentUser(c).CanWrite()))
	}
	h.flash(c, layout.FlashSuccess, msg)
	return c.Redirect(http.StatusSeeOther, "/api-keys")
}
