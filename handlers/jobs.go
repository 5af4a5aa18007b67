package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/views/jobs"
	"github.com/ringhook/ringhook/web/render"
)

// localInputLayout is what a datetime-local input holds (seconds optional).
const localInputLayout = "2006-01-02T15:04"

// defaultRetryWindow is the window the bulk-retry form offers first.
const defaultRetryWindow = 24 * time.Hour

// parseLocalInput reads a datetime-local value as a time in loc.
func parseLocalInput(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{localInputLayout, localInputLayout + ":05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// retryFormInput is the bulk-retry form as submitted, read into the
// Store's terms; errs holds what could not be read.
type retryFormInput struct {
	since, until, eventType string
	params                  models.RetryFailed
	errs                    models.FieldErrors
}

func readRetryForm(c echo.Context, w *models.Webhook, loc *time.Location) retryFormInput {
	in := retryFormInput{since: strings.TrimSpace(c.FormValue("since")), until: strings.TrimSpace(c.FormValue("until")),
		eventType: strings.TrimSpace(c.FormValue("event_type")), errs: models.FieldErrors{}}
	in.params = models.RetryFailed{WebhookID: w.ID, EventType: in.eventType}
	if in.since != "" {
		if t, ok := parseLocalInput(in.since, loc); ok {
			in.params.Since = t
		} else {
			in.errs.Add("since", "Enter a date and time, e.g. 2026-01-31 09:00.")
		}
	}
	if in.until != "" {
		if t, ok := parseLocalInput(in.until, loc); ok {
			in.params.Until = &t
		} else {
			in.errs.Add("until", "Enter a date and time, e.g. 2026-01-31 17:00.")
		}
	}
	for k, v := range in.params.Validate() {
		in.errs.Add(k, v) // a value that could not be read keeps its own message
	}
	return in
}

// retryForm is the form's view: the values given (or the last 24 hours)
// and the count of what it would retry.
func (h *Handler) retryForm(ctx context.Context, c echo.Context, w *models.Webhook, in *retryFormInput) (jobs.RetryForm, error) {
	acc := currentAccount(c)
	loc := acc.Location()
	f := jobs.RetryForm{WebhookID: w.ID, WebhookName: w.Name, CSRF: csrfToken(c), TimeZone: loc.String()}
	if in == nil {
		now := h.now().In(loc)
		since := now.Add(-defaultRetryWindow)
		f.Since, f.Until = since.Format(localInputLayout), now.Format(localInputLayout)
		in = &retryFormInput{params: models.RetryFailed{WebhookID: w.ID, Since: since}, errs: models.FieldErrors{}}
	} else {
		f.Since, f.Until, f.Errors = in.since, in.until, in.errs
	}
	for _, t := range w.EventTypes {
		f.EventTypes = append(f.EventTypes, jobs.Option{Value: t, Label: triggerLabel(t), Selected: t == in.eventType})
	}
	if len(in.errs) == 0 {
		n, err := h.store.CountRetryFailed(ctx, acc.ID, in.params)
		if err != nil {
			return f, err
		}
		f.Count = retryCountText(n)
	}
	return f, nil
}

// firstError is the message of the first of fields that has one.
func firstError(fe models.FieldErrors, fields ...string) string {
	for _, f := range fields {
		if msg := fe[f]; msg != "" {
			return msg
		}
	}
	return fe.Summary()
}

// retryCountText is the preview: how many deliveries a retry would take.
func retryCountText(n int) string {
	switch n {
	case 0:
		return "No failed deliveries in this window: there is nothing to retry."
	case 1:
		return "1 failed delivery will be retried."
	}
	return fmt.Sprintf("%d failed deliveries will be retried.", n)
}

// RetryFailedForm is the bulk-retry form on a page of its own.
func (h *Handler) RetryFailedForm(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	f, err := h.retryForm(ctx, c, w, nil)
	if err != nil {
		return err
	}
	f.Standalone = true
	return render.HTML(c, http.StatusOK, jobs.RetryPage(h.page(c, "Retry failed deliveries", "webhooks"), f))
}

// RetryFailedPreview answers the form's htmx preview: the count for the
// window as it stands, or what to fix.
func (h *Handler) RetryFailedPreview(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	in := readRetryForm(c, w, acc.Location())
	if len(in.errs) > 0 {
		return render.HTML(c, http.StatusOK, jobs.Count(firstError(in.errs, "since", "until", "event_type")))
	}
	n, err := h.store.CountRetryFailed(ctx, acc.ID, in.params)
	if err != nil {
		return err
	}
	return render.HTML(c, http.StatusOK, jobs.Count(retryCountText(n)))
}

// RetryFailedStart starts a bulk retry: htmx gets the job's panel in the
// form's place, a plain post is sent to the job's page. Bad input shows
// the form again with the messages and the values given.
func (h *Handler) RetryFailedStart(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	in := readRetryForm(c, w, acc.Location())
	var job *models.Job
	if len(in.errs) == 0 {
		job, err = h.startRetry(ctx, c, in.params)
		var fe models.FieldErrors
		if errors.As(err, &fe) {
			in.errs = fe
		} else if err != nil {
			return err
		}
	}
	if len(in.errs) > 0 {
		f, err := h.retryForm(ctx, c, w, &in)
		if err != nil {
			return err
		}
		if render.IsHTMX(c) {
			return render.HTML(c, http.StatusUnprocessableEntity, jobs.RetryFields(f))
		}
		f.Standalone = true
		return render.HTML(c, http.StatusUnprocessableEntity, jobs.RetryPage(h.page(c, "Retry failed deliveries", "webhooks"), f))
	}
	if render.IsHTMX(c) {
		return render.HTML(c, http.StatusAccepted, jobs.Panel(jobView(job, w, acc.Location())))
	}
	return c.Redirect(http.StatusSeeOther, "/jobs/"+job.ID)
}

// startRetry records the job and wakes this process's runner.
func (h *Handler) startRetry(ctx context.Context, c echo.Context, p models.RetryFailed) (*models.Job, error) {
	job, err := h.store.StartRetryFailed(ctx, currentAccount(c).ID, actor(c), p)
	if err != nil {
		return nil, err
	}
	if h.jobs != nil && !job.State.Finished() {
		h.jobs.Wake()
	}
	return job, nil
}

// JobShow is a job's page, or (for htmx polling) just its panel.
func (h *Handler) JobShow(c echo.Context) error {
	ctx, acc := c.Request().Context(), currentAccount(c)
	job, err := h.store.Job(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	var w *models.Webhook
	if job.Kind == models.JobRetryFailed {
		w, err = h.store.Webhook(ctx, acc.ID, job.Params.V.WebhookID)
		if errors.Is(err, models.ErrNotFound) {
			w, err = &models.Webhook{ID: job.Params.V.WebhookID, Name: "deleted webhook"}, nil
		}
		if err != nil {
			return err
		}
	}
	v := jobView(job, w, acc.Location())
	if render.IsHTMX(c) {
		return render.HTML(c, http.StatusOK, jobs.Panel(v))
	}
	return render.HTML(c, http.StatusOK, jobs.JobPage(h.page(c, v.Title, "webhooks"), v))
}

// jobView is what the panel shows of a job.
func jobView(j *models.Job, w *models.Webhook, loc *time.Location) jobs.Job {
	v := jobs.Job{ID: j.ID, Title: "Retry failed deliveries", WebhookID: w.ID, WebhookName: w.Name, State: string(j.State),
		Done: j.Done, Total: j.Total, Finished: j.State.Finished(), Succeeded: j.State == models.JobSucceeded,
		LogURL:  "/deliveries?webhook=" + w.ID,
		Created: "Started " + j.CreatedAt.In(loc).Format("Jan 2, 15:04 MST") + " by " + j.CreatedBy}
	switch j.State {
	case models.JobQueued:
		v.StateKind, v.Message = "muted", "Waiting to start…"
	case models.JobRunning:
		v.StateKind, v.Message = "warn", "Queuing the deliveries again; they go out as they are queued."
	case models.JobSucceeded:
		v.StateKind = "ok"
		switch j.Done {
		case 0:
			v.Message = "There was nothing to retry: no deliveries failed in this window."
		case 1:
			v.Message = "Done: 1 failed delivery was queued again and goes out now, as a manual attempt."
		default:
			v.Message = fmt.Sprintf("Done: %d failed deliveries were queued again and go out now, as manual attempts.", j.Done)
		}
	default:
		v.StateKind, v.Message = "bad", j.Error
		if v.Message == "" {
			v.Message = "The retry stopped before it finished."
		}
	}
	return v
}
