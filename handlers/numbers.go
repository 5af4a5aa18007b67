package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/views/numbers"
	"github.com/ringhook/ringhook/web/render"
)

// NumberList shows the account's DIDs and the add form.
func (h *Handler) NumberList(c echo.Context) error {
	return h.renderNumbers(c, http.StatusOK, numbers.Form{})
}

func (h *Handler) renderNumbers(c echo.Context, status int, f numbers.Form) error {
	nums, err := h.store.PhoneNumbers(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	rows := make([]numbers.Row, len(nums))
	for i, n := range nums {
		rows[i] = numbers.Row{ID: n.ID, Number: n.Number, Label: n.Label}
	}
	f.Summary = errorSummary(f.Errors, []summaryField{{"number", "number", "Number"}, {"label", "label", "Label"}}, "number")
	return render.HTML(c, status, numbers.Page(h.page(c, "My Numbers", "numbers"), rows, f, currentUser(c).CanWrite()))
}

// NumberAdd adds a DID.
func (h *Handler) NumberAdd(c echo.Context) error {
	f := numbers.Form{Number: c.FormValue("number"), Label: c.FormValue("label")}
	n, err := h.store.AddPhoneNumber(c.Request().Context(), currentAccount(c).ID, actor(c), f.Number, f.Label)
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		f.Errors = fe
		return h.renderNumbers(c, http.StatusUnprocessableEntity, f)
	}
	if err != nil {
		return err
	}
	h.flash(c, layout.FlashSuccess, "Added "+n.Number+".")
	return c.Redirect(http.StatusSeeOther, "/numbers")
}

// NumberConfirmDelete asks before removing a DID (a page, so it works
// without JavaScript).
func (h *Handler) NumberConfirmDelete(c echo.Context) error {
	nums, err := h.store.PhoneNumbers(c.Request().Context(), currentAccount(c).ID)
	if err != nil {
		return err
	}
	for _, n := range nums {
		if n.ID == c.Param("id") {
			return render.HTML(c, http.StatusOK, numbers.ConfirmDelete(h.page(c, "Remove "+n.Number, "numbers"),
				numbers.Row{ID: n.ID, Number: n.Number, Label: n.Label}))
		}
	}
	return fmt.Errorf("number %q: %w", c.Param("id"), models.ErrNotFound)
}

// NumberDelete removes a DID unless a webhook filters on it.
func (h *Handler) NumberDelete(c echo.Context) error {
	err := h.store.DeletePhoneNumber(c.Request().Context(), currentAccount(c).ID, actor(c), c.Param("id"))
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		h.flash(c, layout.FlashError, fe["number"])
		return c.Redirect(http.StatusSeeOther, "/numbers")
	}
	if err != nil {
		return err
	}
	h.flash(c, layout.FlashSuccess, "Number removed. Webhooks limited to some numbers no longer see it.")
	return c.Redirect(http.StatusSeeOther, "/numbers")
}
