package handlers

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/models/publicid"
	"github.com/ringhook/ringhook/views/audit"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/web/render"
)

// auditPageSize is how many entries one page of the audit log shows.
const auditPageSize = 50

// maxAuditValue bounds one value in the changes list, in characters.
const maxAuditValue = 300

// auditActions are the human labels of the recorded actions.
var auditActions = map[string]string{
	"webhook.created":         "Created webhook",
	"webhook.updated":         "Updated webhook",
	"webhook.enabled":         "Enabled webhook",
	"webhook.disabled":        "Disabled webhook",
	"webhook.auto_disabled":   "Disabled automatically",
	"webhook.auto_enabled":    "Re-enabled automatically after a successful probe",
	"webhook.probes_stopped":  "Stopped probing after 3 days",
	"webhook.deleted":         "Deleted webhook",
	"webhook.secret_rotated":  "Rotated signing secret",
	"webhook.secret_revealed": "Revealed signing secret",
	"api_key.created":         "Created API key",
	"api_key.revoked":         "Revoked API key",
	"webhook.replayed":        "Replayed failed deliveries",
	"number.added":            "Added number",
	"number.removed":          "Removed number",
	"user.invited":            "Invited user",
	"user.invite_revoked":     "Revoked invite",
	"user.joined":             "Joined the account",
	"user.role_changed":       "Changed role",
	"user.removed":            "Removed user",
	"user.password_changed":   "Changed password",
	"account.updated":         "Changed account settings",
}

// auditObjectTypes are the display names of the audited object types.
var auditObjectTypes = map[string]string{"webhook": "Webhook", "api_key": "API key", "phone_number": "Number",
	"user": "User", "invite": "Invite", "account": "Account"}

// AuditLog shows the account's audit log, newest first, one keyset page
// at a time (?before=<id>).
func (h *Handler) AuditLog(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	ids, err := h.store.PublicIDs(ctx)
	if err != nil {
		return err
	}
	var before int64
	if b := c.QueryParam("before"); b != "" {
		n, ok := ids.Decode(publicid.AuditCursor, b)
		if !ok {
			return fault.Errorf(fault.ErrBadRequest, "This page link is broken (it is not one this log made). Start again from the newest entries.")
		}
		before = n
	}
	entries, err := h.store.AuditLog(ctx, acc.ID, before, auditPageSize+1) // one more tells whether a next page exists
	if err != nil {
		return err
	}
	hooks, err := h.store.Webhooks(ctx, acc.ID)
	if err != nil {
		return err
	}
	names := make(map[string]string, len(hooks))
	for _, w := range hooks {
		names[w.ID] = w.Name
	}
	loc := acc.Location()
	l := audit.Log{TimeZone: loc.String()}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		l.NextURL = "/audit?before=" + ids.Encode(publicid.AuditCursor, entries[len(entries)-1].ID).String()
	}
	if before > 0 {
		l.NewestURL = "/audit"
	}
	for i := range entries {
		l.Rows = append(l.Rows, auditRow(&entries[i], loc, names))
	}
	return render.HTML(c, http.StatusOK, audit.Page(h.page(c, "Audit log", "audit"), l))
}

// auditRow converts one entry; webhooks names the account's existing webhooks by id.
func auditRow(e *models.AuditEntry, loc *time.Location, webhooks map[string]string) audit.Row {
	r := audit.Row{ID: strconv.FormatInt(e.ID, 10), Time: components.Time(e.CreatedAt, loc), Actor: e.Actor,
		Action: e.Action, ActionLabel: e.Action, ObjectType: e.ObjectType, ObjectID: e.ObjectID, ObjectLabel: e.ObjectID,
		Changes: auditChanges(e.Before, e.After, loc)}
	if r.Actor == "" {
		r.Actor = "system"
	}
	if l, ok := auditActions[e.Action]; ok {
		r.ActionLabel = l
	}
	if t, ok := auditObjectTypes[e.ObjectType]; ok {
		r.ObjectType = t
	}
	if name := auditName(e.After, e.Before); name != "" {
		r.ObjectLabel = name
	}
	if e.ObjectType == "phone_number" && r.ObjectLabel != e.ObjectID {
		r.ObjectID = "" // the number is its name; its id means nothing to people
	}
	if name, ok := webhooks[e.ObjectID]; ok && e.ObjectType == "webhook" {
		r.ObjectLabel, r.ObjectURL = name, "/webhooks/"+e.ObjectID
	}
	return r
}

// auditNameKeys are the recorded keys that name an object: a webhook's or
// key's "name", a person's or invite's "email", a phone number's "number"
// (its id means nothing to people).
var auditNameKeys = []string{"name", "email", "number"}

// auditName is the name an entry recorded, from the first side that has one.
func auditName(sides ...*models.JSON[any]) string {
	for _, s := range sides {
		for _, k := range auditNameKeys {
			if name, ok := auditMap(s)[k].(string); ok && name != "" {
				return name
			}
		}
	}
	return ""
}

// auditMap reads one side of an entry as a map: a missing side is empty,
// and a value that is not an object is keyed "value".
func auditMap(j *models.JSON[any]) map[string]any {
	if j == nil || j.V == nil {
		return map[string]any{}
	}
	if m, ok := j.V.(map[string]any); ok {
		return m
	}
	return map[string]any{"value": j.V}
}

// auditChanges lists the keys whose JSON values differ between before and
// after, sorted by key; a key missing on one side has "" there. Recorded
// instants are shown in loc, the account's zone.
func auditChanges(before, after *models.JSON[any], loc *time.Location) []audit.Change {
	b, a := auditMap(before), auditMap(after)
	keys := slices.Collect(maps.Keys(b))
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []audit.Change
	for _, k := range keys {
		var old, cur string
		if v, ok := b[k]; ok {
			old = auditValue(v)
		}
		if v, ok := a[k]; ok {
			cur = auditValue(v)
		}
		if old != cur {
			out = append(out, audit.Change{Key: k, Old: shorten(auditShown(b[k], old, loc), maxAuditValue),
				New: shorten(auditShown(a[k], cur, loc), maxAuditValue)})
		}
	}
	return out
}

// auditValue is v as compact JSON with map keys sorted, so equal values
// compare equal. It is never "": the empty string shows as "" and nil as null.
func auditValue(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "(unreadable)"
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// auditShown is how a recorded value reads: an instant (an RFC 3339
// string) in loc, anything else as its JSON text.
func auditShown(v any, text string, loc *time.Location) string {
	if str, ok := v.(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, str); err == nil {
			return components.Time(t, loc)
		}
	}
	return text
}

// shorten cuts s to at most n characters, marking the cut with "…".
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
