package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/views/users"
	"github.com/ringhook/ringhook/web/render"
)

// invitePathPrefix starts every invite link; the rest is the token, which
// the request log leaves out (loggedPath).
const invitePathPrefix = "/invite/"

// unknownInvite is what a link no invite has answers.
const unknownInvite = "This invite link is not valid. Check that it was copied whole, or ask for a new one."

// InviteForm is the page an invite link opens: who is invited, and the
// password form, or why the link cannot be used.
func (h *Handler) InviteForm(c echo.Context) error {
	j, status, err := h.joinPage(c)
	if err != nil {
		return err
	}
	return h.renderJoin(c, status, j)
}

// joinPage loads the invite of the request's token: the page to show and
// its status (404 unknown, 410 used, revoked or expired).
func (h *Handler) joinPage(c echo.Context) (users.Join, int, error) {
	inv, acc, err := h.store.InviteByToken(c.Request().Context(), c.Param("token"))
	if errors.Is(err, models.ErrNotFound) {
		return users.Join{Refused: unknownInvite}, http.StatusNotFound, nil
	}
	if err != nil {
		return users.Join{}, 0, err
	}
	j := users.Join{Account: acc.Name, Email: inv.Email, Role: string(inv.Role),
		Expires: inv.ExpiresAt.In(acc.Location()).Format(timeLayout)}
	if st := inv.State(h.now()); st != models.InvitePending {
		return users.Join{Refused: models.InviteClosedMessage(st)}, http.StatusGone, nil
	}
	return j, http.StatusOK, nil
}

func (h *Handler) renderJoin(c echo.Context, status int, j users.Join) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	title := "Join " + j.Account
	if j.Refused != "" {
		title = "Invite not valid"
	}
	// No shell for a signed-in user here: the page is the invitee's.
	p := layout.Page{Title: title, CSRF: csrfToken(c)}
	for _, f := range h.sessions.Flashes(c) {
		p.Flashes = append(p.Flashes, layout.Flash{Kind: layout.FlashKind(f.Kind), Message: f.Message})
	}
	return render.HTML(c, status, users.JoinPage(p, j))
}

// InviteAccept sets the invitee's password, makes them a member with the
// invite's role and signs them in.
func (h *Handler) InviteAccept(c echo.Context) error {
	j, status, err := h.joinPage(c)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return h.renderJoin(c, status, j)
	}
	password := c.FormValue("password")
	if password != c.FormValue("confirm_password") {
		j.Errors = map[string]string{"confirm_password": "The two passwords differ."}
		return h.renderJoin(c, http.StatusUnprocessableEntity, j)
	}
	u, err := h.store.AcceptInvite(c.Request().Context(), c.Param("token"), password)
	var fe models.FieldErrors
	switch {
	case errors.As(err, &fe):
		j.Errors = fe
		return h.renderJoin(c, http.StatusUnprocessableEntity, j)
	case errors.Is(err, fault.ErrFinished): // used or revoked a moment ago
		return h.renderJoin(c, http.StatusGone, users.Join{Refused: fault.Message(err)})
	case errors.Is(err, models.ErrNotFound):
		return h.renderJoin(c, http.StatusNotFound, users.Join{Refused: unknownInvite})
	case err != nil:
		return err
	}
	if err := h.sessions.SignIn(c, u.AccountID, u.ID); err != nil {
		return err
	}
	h.log.Info("invite accepted", "account", u.AccountID, "user", u.ID, "role", u.Role)
	h.flash(c, layout.FlashSuccess, "Welcome to "+j.Account+". You joined as "+withArticle(string(u.Role))+".")
	return c.Redirect(http.StatusSeeOther, "/")
}
