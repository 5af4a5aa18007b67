package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/pii"
	"github.com/ringhook/ringhook/models/publicid"
	"github.com/ringhook/ringhook/views/components"
	"github.com/ringhook/ringhook/views/deliveries"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/web/render"
)

// Redeliverer sends an existing delivery again as a new, manual attempt
// and returns that attempt once it finished.
type Redeliverer interface {
	Redeliver(ctx context.Context, accountID string, deliveryID int64, who models.Actor) (*models.Attempt, error)
}

// deliveryPageSize is how many deliveries one page of the log shows.
const deliveryPageSize = 50

// maxCallIDLength bounds the call id filter.
const maxCallIDLength = 128

// deliveryStatuses are the statuses the log can be filtered by, in display order.
var deliveryStatuses = models.DeliveryStatuses

// DeliveryList shows the account's delivery log, filtered by the query
// string and paginated by id (?before=<id>).
func (h *Handler) DeliveryList(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	loc := acc.Location()
	hooks, err := h.store.Webhooks(ctx, acc.ID)
	if err != nil {
		return err
	}
	// The log of a deleted webhook stays readable: filtering by it is
	// allowed, and the filter names it as deleted.
	if id := strings.TrimSpace(c.QueryParam("webhook")); id != "" && !slices.ContainsFunc(hooks, func(w models.Webhook) bool { return w.ID == id }) {
		switch w, err := h.store.DeliveryWebhook(ctx, acc.ID, id); {
		case err == nil && w.Deleted():
			w.Name += " (deleted webhook)"
			hooks = append(hooks, *w)
		case err != nil && !errors.Is(err, models.ErrNotFound):
			return err
		}
	}
	ids, err := h.store.PublicIDs(ctx)
	if err != nil {
		return err
	}
	q := parseDeliveryQuery(c.QueryParams(), hooks, loc, ids)
	start, err := h.store.HistoryStart(ctx, acc.ID)
	if err != nil {
		return err
	}
	l := deliveries.List{Filters: q.form(hooks), TimeZone: loc.String(), History: historySpan(acc, start, loc)}
	p := h.page(c, "Deliveries", "deliveries")
	if len(q.errs) > 0 {
		return render.HTML(c, http.StatusBadRequest, deliveries.ListPage(p, l))
	}
	if canon := q.url(q.filter.Before, q.filter.After); canon != c.Request().URL.RequestURI() && hasEmptyParams(c.QueryParams()) {
		// A submitted filter form sends every field; leave the empty ones
		// out of the address so it reads (and bookmarks) as what it filters.
		return c.Redirect(http.StatusSeeOther, canon)
	}
	f := q.filter
	f.Limit = deliveryPageSize + 1 // one more tells whether a further page exists
	rows, err := h.store.Deliveries(ctx, acc.ID, f)
	if err != nil {
		return err
	}
	if f.Before <= 0 && f.After > 0 && len(rows) <= deliveryPageSize {
		// Nothing newer than this page: it is the newest page, shown whole.
		f.After = 0
		if rows, err = h.store.Deliveries(ctx, acc.ID, f); err != nil {
			return err
		}
	}
	newer := f.Before > 0 // a page below some id has newer rows above it
	if len(rows) > deliveryPageSize {
		if f.Before <= 0 && f.After > 0 {
			// Read upwards from After: the extra row is the newest, and
			// says a page newer than this one exists.
			rows, newer = rows[1:], true
		} else {
			rows = rows[:deliveryPageSize]
			l.NextURL = q.url(rows[len(rows)-1].ID, 0)
		}
	}
	if f.Before <= 0 && f.After > 0 && len(rows) > 0 {
		l.NextURL = q.url(rows[len(rows)-1].ID, 0) // After itself is older than this page
	}
	if newer && len(rows) > 0 {
		l.NewerURL = q.url(0, rows[0].ID)
	}
	if newer {
		l.NewestURL = q.url(0, 0)
	}
	rowIDs := make([]int64, len(rows))
	for i := range rows {
		rowIDs[i] = rows[i].ID
	}
	held, err := h.store.HeldBehind(ctx, acc.ID, rowIDs, h.now())
	if err != nil {
		return err
	}
	for i := range rows {
		row := deliveryRow(&rows[i], loc)
		row.HeldBehind = held[rows[i].ID].String()
		l.Rows = append(l.Rows, row)
	}
	if err := h.logRetryForm(c, &l, hooks, f.WebhookID); err != nil {
		return err
	}
	return render.HTML(c, http.StatusOK, deliveries.ListPage(p, l))
}

// logRetryForm offers the bulk retry in a log filtered by one webhook.
func (h *Handler) logRetryForm(c echo.Context, l *deliveries.List, hooks []models.Webhook, webhookID string) error {
	if webhookID == "" || !currentUser(c).CanWrite() {
		return nil
	}
	for i := range hooks {
		if hooks[i].ID == webhookID && !hooks[i].Deleted() {
			f, err := h.retryForm(c.Request().Context(), c, &hooks[i], nil)
			if err != nil {
				return err
			}
			l.Retry = &f
		}
	}
	return nil
}

// historySpan says how far back the account's delivery history goes.
func historySpan(acc *models.Account, start *time.Time, loc *time.Location) string {
	kept := "History is kept for " + plural(acc.HistoryRetentionDays, "day", "days") + " (Settings)"
	if start == nil {
		return kept + "."
	}
	return kept + "; the oldest delivery is from " + components.Time(*start, loc) + "."
}

func deliveryRow(r *models.DeliveryRow, loc *time.Location) deliveries.Row {
	return deliveries.Row{ID: r.PublicID.String(), Time: components.Time(r.CreatedAt, loc), EventType: r.EventType,
		EventLabel: triggerLabel(r.EventType), WebhookID: r.WebhookID, WebhookName: r.WebhookName, WebhookDeleted: r.WebhookDeleted, Status: string(r.Status),
		StatusKind: deliveryStatusKind(r.Status), Attempts: strconv.Itoa(r.AttemptCount), LastCode: deliveryStatusCode(r.LastStatusCode), Test: r.Test,
		CallID: deref(r.CallID), CallURL: callURL(r.CallID), Latency: latencyText(r.LastDurationMS), NextRetry: nextRetryText(&r.Delivery, loc)}
}

// deliveryQuery is the log's query string, checked.
type deliveryQuery struct {
	filter     models.DeliveryFilter
	from, to   string // as submitted, for the form
	errs       map[string]string
	hasFilters bool
	ids        *publicid.Codec // page links carry cursors, not row ids
}

// parseDeliveryQuery reads the filters; anything it cannot use is reported
// per parameter instead of being passed on to the database.
func parseDeliveryQuery(v url.Values, hooks []models.Webhook, loc *time.Location, ids *publicid.Codec) deliveryQuery {
	q := deliveryQuery{errs: map[string]string{}, ids: ids}
	if id := strings.TrimSpace(v.Get("webhook")); id != "" {
		q.filter.WebhookID = id
		known := false
		for i := range hooks {
			known = known || hooks[i].ID == id
		}
		if !known {
			q.errs["webhook"] = "Unknown webhook. Choose one from the list."
		}
	}
	if t := strings.TrimSpace(v.Get("event_type")); t != "" {
		q.filter.EventType = t
		if _, ok := catalog.Lookup(t); !ok {
			q.errs["event_type"] = "Unknown event type. Choose one from the list."
		}
	}
	if s := strings.TrimSpace(v.Get("status")); s != "" {
		q.filter.Status = models.DeliveryStatus(s)
		if !slices.Contains(deliveryStatuses, q.filter.Status) {
			q.errs["status"] = "Unknown status. Choose one from the list."
		}
	}
	if id := strings.TrimSpace(v.Get("call_id")); id != "" {
		q.filter.CallID = id
		if !deliveryPrintable(id) || utf8.RuneCountInString(id) > maxCallIDLength {
			q.errs["call_id"] = fmt.Sprintf("A call ID is up to %d printable characters.", maxCallIDLength)
		}
	}
	q.from, q.to = strings.TrimSpace(v.Get("from")), strings.TrimSpace(v.Get("to"))
	var from, to time.Time
	if q.from != "" {
		var ok bool
		if from, ok = parseDeliveryDay(q.from, loc); ok {
			q.filter.From = &from
		} else {
			q.errs["from"] = "Enter the start date as YYYY-MM-DD, e.g. 2026-01-31."
		}
	}
	if q.to != "" {
		if day, ok := parseDeliveryDay(q.to, loc); ok {
			to = day.AddDate(0, 0, 1) // the whole end day
			q.filter.To = &to
		} else {
			q.errs["to"] = "Enter the end date as YYYY-MM-DD, e.g. 2026-01-31."
		}
	}
	if q.filter.From != nil && q.filter.To != nil && !from.Before(to) {
		q.errs["to"] = "The end date is before the start date."
	}
	if b := strings.TrimSpace(v.Get("before")); b != "" {
		n, ok := ids.Decode(publicid.DeliveryCursor, b)
		if !ok {
			q.errs["before"] = "This page link is broken (it is not one this log made). Start again from the newest deliveries."
		}
		q.filter.Before = n
	}
	if a := strings.TrimSpace(v.Get("after")); a != "" && q.filter.Before <= 0 {
		n, ok := ids.Decode(publicid.DeliveryCursor, a)
		if !ok {
			q.errs["before"] = "This page link is broken (it is not one this log made). Start again from the newest deliveries."
		}
		q.filter.After = n
	}
	f := q.filter
	q.hasFilters = f.WebhookID != "" || f.EventType != "" || f.Status != "" || f.CallID != "" || q.from != "" || q.to != ""
	if len(q.errs) > 0 {
		// Keep only what is safe to echo back into the form.
		if !deliveryPrintable(q.filter.CallID) {
			q.filter.CallID = ""
		}
		if !deliveryPrintable(q.from) {
			q.from = ""
		}
		if !deliveryPrintable(q.to) {
			q.to = ""
		}
	}
	return q
}

// hasEmptyParams reports whether the query string carries a parameter
// without a value.
func hasEmptyParams(v url.Values) bool {
	for _, vals := range v {
		for _, s := range vals {
			if strings.TrimSpace(s) == "" {
				return true
			}
		}
	}
	return false
}

// url returns the log's address with these filters, starting below before
// or, when before is 0, above after (both 0: the newest).
func (q deliveryQuery) url(before, after int64) string {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("webhook", q.filter.WebhookID)
	set("event_type", q.filter.EventType)
	set("status", string(q.filter.Status))
	set("call_id", q.filter.CallID)
	set("from", q.from)
	set("to", q.to)
	if before > 0 {
		v.Set("before", q.ids.Encode(publicid.DeliveryCursor, before).String())
	} else if after > 0 {
		v.Set("after", q.ids.Encode(publicid.DeliveryCursor, after).String())
	}
	if len(v) == 0 {
		return "/deliveries"
	}
	return "/deliveries?" + v.Encode()
}

// form fills the filter form's choices and the submitted values.
func (q deliveryQuery) form(hooks []models.Webhook) deliveries.Filters {
	f := deliveries.Filters{CallID: q.filter.CallID, From: q.from, To: q.to, Active: q.hasFilters, Errors: q.errs}
	for i := range hooks {
		f.Webhooks = append(f.Webhooks, deliveries.Option{Value: hooks[i].ID, Label: hooks[i].Name, Selected: hooks[i].ID == q.filter.WebhookID})
	}
	for _, g := range catalog.Groups() {
		og := deliveries.OptionGroup{Label: g.Label}
		for _, t := range g.Types {
			og.Options = append(og.Options, deliveries.Option{Value: t.ID, Label: t.Label, Selected: t.ID == q.filter.EventType})
		}
		f.EventTypes = append(f.EventTypes, og)
	}
	for _, st := range deliveryStatuses {
		s := string(st)
		f.Statuses = append(f.Statuses, deliveries.Option{Value: s, Label: strings.ToUpper(s[:1]) + s[1:], Selected: st == q.filter.Status})
	}
	return f
}

// parseDeliveryDay reads an <input type=date> value as midnight in loc.
func parseDeliveryDay(s string, loc *time.Location) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil || t.Year() < 1970 || t.Year() > 9998 {
		return time.Time{}, false
	}
	return t, true
}

// deliveryPrintable reports whether s is valid UTF-8 without control characters.
func deliveryPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// DeliveryShow shows one delivery with its attempt timeline.
func (h *Handler) DeliveryShow(c echo.Context) error {
	id, err := h.deliveryID(c)
	if err != nil {
		return err
	}
	d, err := h.deliveryDetail(c, id)
	if err != nil {
		return err
	}
	return render.HTML(c, http.StatusOK, deliveries.DetailPage(h.page(c, "Delivery "+d.Summary.ID, "deliveries"), d))
}

// DeliveryRedeliver sends a delivery again as a manual attempt. htmx gets
// the refreshed timeline; a plain form post is redirected back with a flash.
func (h *Handler) DeliveryRedeliver(c echo.Context) error {
	id, err := h.deliveryID(c)
	if err != nil {
		return err
	}
	ctx, acc := c.Request().Context(), currentAccount(c)
	d, err := h.store.Delivery(ctx, acc.ID, id)
	if err != nil {
		return err
	}
	if h.redeliver == nil {
		return errNoRedelivery
	}
	att, err := h.redeliver.Redeliver(ctx, acc.ID, id, actor(c))
	if err == nil && att != nil {
		err = h.store.FillAttempt(ctx, att)
	}
	var notice string
	var kind layout.FlashKind
	switch p := problemOf(err); {
	case err == nil:
		notice, kind = redeliverNotice(att)
	case p.Status == http.StatusNotFound || p.Status >= 500:
		return fmt.Errorf("redeliver %d: %w", id, err)
	case errors.Is(err, models.ErrUnrenderable):
		// The render error is the delivery's own record, shown on its page too.
		notice, kind = p.Message+" "+d.LastError, layout.FlashError
	default:
		// A refusal the table knows (in flight, invalid): the notice says why.
		notice, kind = p.Message, layout.FlashError
	}
	if masksPII(c) { // privacy.go: the error may quote the request's URL
		notice = pii.Loose(notice)
	}
	if !render.IsHTMX(c) {
		h.flash(c, kind, notice)
		return c.Redirect(http.StatusSeeOther, "/deliveries/"+d.PublicID.String())
	}
	detail, err := h.deliveryDetail(c, id)
	if err != nil {
		return err
	}
	detail.Timeline.Notice, detail.Timeline.NoticeKind = notice, kind
	return render.HTML(c, http.StatusOK, deliveries.RedeliverResult(detail))
}

func redeliverNotice(a *models.Attempt) (msg string, kind layout.FlashKind) {
	switch {
	case a == nil:
		return "Redelivery queued.", layout.FlashSuccess
	case a.Succeeded():
		return fmt.Sprintf("Redelivered: attempt #%d got %s.", a.Number, deliveryStatusCode(a.ResponseStatus)), layout.FlashSuccess
	case a.ErrorKind != "" && a.ErrorKind != models.ErrKindHTTPStatus:
		return fmt.Sprintf("Redelivery attempt #%d failed: %s", a.Number, attemptErrorText(a)), layout.FlashError
	default:
		return fmt.Sprintf("Redelivery attempt #%d failed: the receiver answered %s.", a.Number, deliveryStatusCode(a.ResponseStatus)), layout.FlashError
	}
}

// deliveryDetail loads one delivery of the signed-in account for display.
func (h *Handler) deliveryDetail(c echo.Context, id int64) (deliveries.Detail, error) {
	ctx, acc := c.Request().Context(), currentAccount(c)
	d, err := h.store.Delivery(ctx, acc.ID, id)
	if err != nil {
		return deliveries.Detail{}, err
	}
	attempts, err := h.store.Attempts(ctx, acc.ID, d.ID)
	if err != nil {
		return deliveries.Detail{}, err
	}
	hookName, hookDeleted := d.WebhookID, false
	switch w, err := h.store.DeliveryWebhook(ctx, acc.ID, d.WebhookID); {
	case err == nil:
		hookName, hookDeleted = w.Name, w.Deleted()
	case !errors.Is(err, models.ErrNotFound):
		return deliveries.Detail{}, err
	}
	loc := acc.Location()
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return components.Time(*t, loc)
	}
	idStr := d.PublicID.String()
	s := deliveries.Summary{ID: idStr, EventID: d.EventID, EventType: d.EventType, EventLabel: triggerLabel(d.EventType), CallID: "–",
		WebhookID: d.WebhookID, WebhookName: hookName, WebhookDeleted: hookDeleted, Status: string(d.Status), StatusKind: deliveryStatusKind(d.Status),
		Attempts: strconv.Itoa(d.AttemptCount), LastCode: deliveryStatusCode(d.LastStatusCode), LastError: d.LastError,
		Created: at(&d.CreatedAt), Completed: at(d.CompletedAt), Test: d.Test}
	if d.CallID != nil && *d.CallID != "" {
		s.CallID, s.CallURL = *d.CallID, callURL(d.CallID)
	}
	held, err := h.store.HeldBehind(ctx, acc.ID, []int64{d.ID}, h.now())
	if err != nil {
		return deliveries.Detail{}, err
	}
	s.HeldBehind, s.PreviousFailed = held[d.ID].String(), d.PreviousFailed
	switch d.Status {
	case models.StatusPending:
		s.NextAttempt = at(d.NextAttemptAt)
	case models.StatusSending:
		s.NextAttempt = "being sent now"
	}
	tl := deliveries.Timeline{DeliveryID: idStr, CSRF: csrfToken(c), Pending: s.NextAttempt,
		CanRedeliver: h.redeliver != nil && currentUser(c).CanWrite() && !hookDeleted}
	if h.redeliver == nil && currentUser(c).CanWrite() {
		tl.Unavailable = "Redelivery is unavailable right now: the dispatcher is not running in this process."
	}
	for i := len(attempts) - 1; i >= 0; i-- {
		v := attemptView(&attempts[i], d.RequestHeaders.V, at)
		if i != len(attempts)-1 || d.Status != models.StatusPending {
			v.NextRetryAt = "" // only the newest attempt of a waiting delivery has a retry ahead
		}
		tl.Attempts = append(tl.Attempts, v)
	}
	out := deliveries.Detail{Summary: s, Timeline: tl}
	return out, h.maskDetail(c, d, &out) // privacy.go
}

func attemptView(a *models.Attempt, stored []models.Header, at func(*time.Time) string) deliveries.Attempt {
	v := deliveries.Attempt{Number: strconv.Itoa(a.Number), Trigger: string(a.Trigger), StartedAt: at(&a.StartedAt), Duration: attemptDuration(a.DurationMS),
		StatusKind: "bad", StatusText: attemptLabel(a), ErrorText: attemptErrorText(a), NextRetryAt: at(a.NextRetryAt),
		Request: requestMessage(a, stored), HasResponse: a.ResponseStatus != nil, Response: responseMessage(a), BodiesDropped: a.BodiesDropped}
	if a.Succeeded() {
		v.StatusKind = "ok"
	}
	return v
}

func attemptDuration(ms int) string {
	if ms < 1000 {
		return strconv.Itoa(ms) + " ms"
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 2, 64) + " s"
}

func deliveryStatusCode(code *int) string {
	if code == nil {
		return "–"
	}
	return strconv.Itoa(*code)
}

// deliveryStatusKind is the badge colour of a delivery status.
func deliveryStatusKind(status models.DeliveryStatus) string {
	switch status {
	case models.StatusSucceeded:
		return "ok"
	case models.StatusFailed:
		return "bad"
	case models.StatusPending, models.StatusSending:
		return "warn"
	}
	return "muted"
}
