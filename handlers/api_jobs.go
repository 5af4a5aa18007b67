package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
)

// apiJob is a background job and how far it got.
type apiJob struct {
	ID         string             `json:"id"`
	Kind       string             `json:"kind"`
	State      string             `json:"state"`
	Total      int                `json:"total"`
	Done       int                `json:"done"`
	Params     apiRetryFailedArgs `json:"params"`
	Error      *string            `json:"error"`
	CreatedBy  string             `json:"created_by"`
	CreatedAt  time.Time          `json:"created_at"`
	StartedAt  *time.Time         `json:"started_at"`
	FinishedAt *time.Time         `json:"finished_at"`
}

// apiRetryFailedArgs is what a retry-failed job takes.
type apiRetryFailedArgs struct {
	WebhookID string     `json:"webhook_id"`
	Since     time.Time  `json:"since"`
	Until     *time.Time `json:"until"`
	EventType *string    `json:"event_type"`
}

func jobJSON(j *models.Job) apiJob {
	p := j.Params.V
	out := apiJob{ID: j.ID, Kind: string(j.Kind), State: string(j.State), Total: j.Total, Done: j.Done,
		Params:    apiRetryFailedArgs{WebhookID: p.WebhookID, Since: p.Since, Until: p.Until},
		CreatedBy: j.CreatedBy, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
	if p.EventType != "" {
		out.Params.EventType = &p.EventType
	}
	if j.Error != "" {
		out.Error = &j.Error
	}
	return out
}

// APIWebhookRetryFailed is POST /api/v1/webhooks/{id}/retry-failed: the
// webhook's deliveries that ended failed in the window get one more
// (manual) attempt each. It answers 202 at once with the job, which
// GET /api/v1/jobs/{id} follows to completion.
func (h *Handler) APIWebhookRetryFailed(c echo.Context) error {
	var body struct {
		Since     *string `json:"since"`
		Until     *string `json:"until"`
		EventType *string `json:"event_type"`
	}
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	ctx, acc := c.Request().Context(), currentAccount(c)
	w, err := h.store.Webhook(ctx, acc.ID, c.Param("id"))
	if err != nil {
		return err
	}
	p := models.RetryFailed{WebhookID: w.ID}
	fe := models.FieldErrors{}
	if body.Since != nil {
		if t, err := time.Parse(time.RFC3339, *body.Since); err == nil {
			p.Since = t
		} else {
			fe.Add("since", "Give a time as RFC 3339, e.g. 2026-04-09T07:24:53Z.")
		}
	}
	if body.Until != nil {
		if t, err := time.Parse(time.RFC3339, *body.Until); err == nil {
			p.Until = &t
		} else {
			fe.Add("until", "Give a time as RFC 3339, e.g. 2026-04-09T07:24:53Z.")
		}
	}
	if body.EventType != nil {
		p.EventType = *body.EventType
		if p.EventType == "" {
			fe.Add("event_type", "Leave event_type out to retry every event type.")
		}
	}
	for k, v := range p.Validate() {
		fe.Add(k, v) // a time that could not be read keeps its own message
	}
	if len(fe) > 0 {
		return fe
	}
	job, err := h.startRetry(ctx, c, p)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/jobs/"+job.ID)
	return apiData(c, http.StatusAccepted, jobJSON(job))
}

// APIJobGet is GET /api/v1/jobs/{id}: a job's state and progress.
func (h *Handler) APIJobGet(c echo.Context) error {
	job, err := h.store.Job(c.Request().Context(), currentAccount(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return apiData(c, http.StatusOK, jobJSON(job))
}
