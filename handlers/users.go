package handlers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/views/users"
	"github.com/ringhook/ringhook/web/render"
)

// RequireTeamManager lets owners and admins through to the Users and
// Settings pages; the Store decides the finer cases (models.MayChangeMember).
func (h *Handler) RequireTeamManager(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := currentUser(c); u == nil || !u.Role.CanManageTeam() {
			return fault.Errorf(fault.ErrForbidden, "Only owners and admins can manage users and account settings.")
		}
		return next(c)
	}
}

// timeLayout is how the team pages show a moment, in the account's zone.
const timeLayout = "2006-01-02 15:04 MST"

// UserList shows the account's members and open invites, and the invite form.
func (h *Handler) UserList(c echo.Context) error {
	return h.renderUsers(c, http.StatusOK, users.View{Form: users.Form{Role: string(models.RoleViewer)}})
}

// renderUsers fills v with the account's members and invites and renders
// the Users page; rowErrors are messages by a member's row.
func (h *Handler) renderUsers(c echo.Context, status int, v users.View, rowErrors ...map[string]string) error {
	ctx, acc, me := c.Request().Context(), currentAccount(c), currentUser(c)
	members, err := h.store.Members(ctx, acc.ID)
	if err != nil {
		return err
	}
	invites, err := h.store.OpenInvites(ctx, acc.ID)
	if err != nil {
		return err
	}
	loc, now := acc.Location(), h.now()
	for _, m := range members {
		row := users.Member{ID: m.ID, Email: m.Email, Role: string(m.Role), Joined: m.CreatedAt.In(loc).Format(timeLayout),
			LastLogin: "never", You: m.ID == me.ID, CanChangeRole: me.Role == models.RoleOwner,
			CanRemove: m.ID != me.ID && models.MayChangeMember(me.Role, m.Role)}
		if m.LastLoginAt != nil {
			row.LastLogin = m.LastLoginAt.In(loc).Format(timeLayout)
		}
		for _, re := range rowErrors {
			row.Error = re[m.ID]
		}
		v.Members = append(v.Members, row)
	}
	for _, i := range invites {
		v.Invites = append(v.Invites, users.Invite{ID: i.ID, Email: i.Email, Role: string(i.Role), InvitedBy: i.InvitedBy,
			Expires: i.ExpiresAt.In(loc).Format(timeLayout), Expired: i.State(now) == models.InviteExpired})
	}
	for _, r := range models.Roles {
		if models.MayChangeMember(me.Role, r) {
			v.Form.Roles = append(v.Form.Roles, string(r))
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store") // the page may carry a new invite link
	return render.HTML(c, status, users.Page(h.page(c, "Users", "users"), v))
}

// UserInvite makes an invite and shows its link on the page this request
// returns, once: never in a flash (a cookie), a redirect or a log.
func (h *Handler) UserInvite(c echo.Context) error {
	f := users.Form{Email: c.FormValue("email"), Role: c.FormValue("role")}
	ctx, acc := c.Request().Context(), currentAccount(c)
	inv, token, err := h.store.CreateInvite(ctx, acc.ID, actor(c), f.Email, models.Role(f.Role))
	var fe models.FieldErrors
	if errors.As(err, &fe) {
		f.Errors = fe
		return h.renderUsers(c, http.StatusUnprocessableEntity, users.View{Form: f})
	}
	if err != nil {
		return err
	}
	h.log.Info("user invited", "account", acc.ID, "invite", inv.ID, "role", inv.Role, "by", actor(c).Label)
	created := &users.Created{Email: inv.Email, Role: string(inv.Role), Link: h.baseURL(c) + invitePathPrefix + token,
		Expires: inv.ExpiresAt.In(acc.Location()).Format(timeLayout)}
	return h.renderUsers(c, http.StatusOK, users.View{Form: users.Form{Role: f.Role}, Created: created})
}

// InviteRevoke stops an open invite's link from working.
func (h *Handler) InviteRevoke(c echo.Context) error {
	if err := h.store.RevokeInvite(c.Request().Context(), currentAccount(c).ID, actor(c), c.Param("id")); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			return fault.Errorf(fault.ErrNotFound, "That invite was already used or revoked, or it belongs to another account.")
		}
		return err
	}
	h.flash(c, layout.FlashSuccess, "Invite revoked: its link no longer works.")
	return c.Redirect(http.StatusSeeOther, "/users")
}

// UserRole changes a member's role (owners only). A refusal the person
// can act on (the last owner) is shown by the member's row.
func (h *Handler) UserRole(c echo.Context) error {
	id := c.Param("id")
	u, err := h.store.ChangeUserRole(c.Request().Context(), currentAccount(c).ID, actor(c), id, models.Role(c.FormValue("role")))
	if msg := memberProblem(err); msg != "" {
		return h.renderUsers(c, http.StatusUnprocessableEntity, users.View{Form: users.Form{Role: string(models.RoleViewer)}}, map[string]string{id: msg})
	}
	if err != nil {
		return err
	}
	h.flash(c, layout.FlashSuccess, fmt.Sprintf("%s is now %s.", u.Email, withArticle(string(u.Role))))
	return c.Redirect(http.StatusSeeOther, "/users")
}

// UserRemove takes a member out of the account and ends their sessions.
func (h *Handler) UserRemove(c echo.Context) error {
	id := c.Param("id")
	u, err := h.store.RemoveUser(c.Request().Context(), currentAccount(c).ID, actor(c), id)
	if msg := memberProblem(err); msg != "" {
		return h.renderUsers(c, http.StatusUnprocessableEntity, users.View{Form: users.Form{Role: string(models.RoleViewer)}}, map[string]string{id: msg})
	}
	if err != nil {
		return err
	}
	h.log.Info("user removed", "account", u.AccountID, "user", u.ID, "by", actor(c).Label)
	h.flash(c, layout.FlashSuccess, u.Email+" was removed and signed out.")
	return c.Redirect(http.StatusSeeOther, "/users")
}

// memberProblem is the message for a refused member change that belongs
// by the member's row (invalid input, the last owner); "" otherwise.
func memberProblem(err error) string {
	var fe models.FieldErrors
	switch {
	case errors.As(err, &fe):
		return fe["role"]
	case errors.Is(err, models.ErrLastOwner):
		return fault.Message(err)
	}
	return ""
}

// withArticle is "an admin", "a viewer", "an owner".
func withArticle(role string) string {
	if role != "" && (role[0] == 'a' || role[0] == 'o') {
		return "an " + role
	}
	return "a " + role
}
