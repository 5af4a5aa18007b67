// Package handlers holds one method per route: the console's pages and
// forms, the JSON API and the ingest endpoint. It depends on the data
// layer and the dispatcher only through the interfaces declared here.
package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/models/publicid"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/web/session"
)

// Store is the part of models.Store the handlers use.
type Store interface {
	Ping(ctx context.Context) error
	Authenticate(ctx context.Context, email, password string) (*models.User, error)
	User(ctx context.Context, accountID, userID string) (*models.User, error)
	Account(ctx context.Context, accountID string) (*models.Account, error)
	AuthenticateAPIKey(ctx context.Context, plain string) (*models.APIKey, error)
	AuthenticateAPIKeyAccount(ctx context.Context, plain string) (*models.APIKey, *models.Account, error)
	CreateAPIKey(ctx context.Context, accountID string, who models.Actor, in models.NewAPIKey) (*models.APIKey, string, error)
	ValidateAPIKey(ctx context.Context, accountID string, in models.NewAPIKey) (models.FieldErrors, error)
	APIKeys(ctx context.Context, accountID string) ([]models.APIKey, error)
	RevokeAPIKey(ctx context.Context, accountID, id string, who models.Actor) error

	Webhooks(ctx context.Context, accountID string) ([]models.Webhook, error)
	Webhook(ctx context.Context, accountID, id string) (*models.Webhook, error)
	ProbeAttempts(ctx context.Context, accountID, webhookID string, limit int) ([]models.ProbeAttempt, error)
	CreateWebhook(ctx context.Context, accountID string, who models.Actor, in models.WebhookInput) (*models.Webhook, error)
	UpdateWebhook(ctx context.Context, accountID, id string, who models.Actor, in models.WebhookInput) (*models.Webhook, error)
	ValidateWebhook(ctx context.Context, accountID, id string, in models.WebhookInput) (models.FieldErrors, error)
	PreviewMatch(ctx context.Context, accountID string, in models.WebhookInput) (models.BackTestResult, error)
	SetWebhookEnabled(ctx context.Context, accountID, id string, who models.Actor, enabled bool, reason string) (*models.Webhook, error)
	DeleteWebhook(ctx context.Context, accountID, id string, who models.Actor) (*models.Webhook, error)
	DeliveryWebhook(ctx context.Context, accountID, id string) (*models.Webhook, error)
	RevealWebhookSecret(ctx context.Context, accountID, id string, who models.Actor, via string) (*models.Webhook, error)
	RotateWebhookSecret(ctx context.Context, accountID, id string, who models.Actor) (*models.Webhook, error)
	RotateWebhookSecretGrace(ctx context.Context, accountID, id string, who models.Actor, grace time.Duration) (*models.Webhook, error)
	WebhookPage(ctx context.Context, accountID string, q models.WebhookQuery) ([]models.Webhook, error)
	WebhookStats(ctx context.Context, accountID string, since time.Time, webhookIDs ...string) (map[string]models.WebhookStat, error)
	CountRetryFailed(ctx context.Context, accountID string, p models.RetryFailed) (int, error)
	StartRetryFailed(ctx context.Context, accountID string, who models.Actor, p models.RetryFailed) (*models.Job, error)
	Job(ctx context.Context, accountID, id string) (*models.Job, error)

	Deliveries(ctx context.Context, accountID string, f models.DeliveryFilter) ([]models.DeliveryRow, error)
	HeldBehind(ctx context.Context, accountID string, ids []int64, now time.Time) (map[int64]publicid.ID, error)
	PublicIDs(ctx context.Context) (*publicid.Codec, error)
	DeliveryRowID(ctx context.Context, accountID, publicID string) (int64, error)
	FillAttempt(ctx context.Context, as ...*models.Attempt) error
	Delivery(ctx context.Context, accountID string, id int64) (*models.Delivery, error)
	Attempts(ctx context.Context, accountID string, deliveryID int64) ([]models.Attempt, error)
	CallTimeline(ctx context.Context, accountID, callID string) ([]models.CallEvent, error)
	CancelDelivery(ctx context.Context, accountID string, id int64, who models.Actor) (*models.Delivery, error)
	StoredEvent(ctx context.Context, accountID, id string) (*models.Event, error)
	DeliveryCounts(ctx context.Context, accountID string, edges []time.Time, webhookIDs ...string) ([]models.Bucket, error)
	WebhookReport(ctx context.Context, accountID, webhookID, window string, loc *time.Location) (*models.WebhookReport, error)

	HistoryStart(ctx context.Context, accountID string) (*time.Time, error)

	AuditLog(ctx context.Context, accountID string, beforeID int64, limit int) ([]models.AuditEntry, error)

	ClaimLoginAttempt(ctx context.Context, p models.LoginThrottle, email, ip string) (time.Duration, error)
	LoginSucceeded(ctx context.Context, p models.LoginThrottle, email, ip string) error
	Sessions(ctx context.Context, accountID, userID string) ([]models.Session, error)
	RevokeSession(ctx context.Context, accountID, userID, sessionID string) error
	RevokeUserSessions(ctx context.Context, accountID, userID, exceptID string) (int64, error)
	ChangePassword(ctx context.Context, accountID, userID, current, next, confirm, keepSessionID string) error

	Members(ctx context.Context, accountID string) ([]models.User, error)
	OpenInvites(ctx context.Context, accountID string) ([]models.Invite, error)
	CreateInvite(ctx context.Context, accountID string, who models.Actor, email string, role models.Role) (*models.Invite, string, error)
	InviteByToken(ctx context.Context, token string) (*models.Invite, *models.Account, error)
	AcceptInvite(ctx context.Context, token, password string) (*models.User, error)
	RevokeInvite(ctx context.Context, accountID string, who models.Actor, inviteID string) error
	ChangeUserRole(ctx context.Context, accountID string, who models.Actor, userID string, role models.Role) (*models.User, error)
	RemoveUser(ctx context.Context, accountID string, who models.Actor, userID string) (*models.User, error)
	UpdateAccountSettings(ctx context.Context, accountID string, who models.Actor, in models.AccountSettings) (*models.Account, error)
	// Privacy (docs/privacy.md).
	UpdatePrivacySettings(ctx context.Context, accountID string, who models.Actor, in models.PrivacySettings) (*models.Account, error)
	RecordReveal(ctx context.Context, accountID string, who models.Actor, deliveryID int64, attempt int) error

	PhoneNumbers(ctx context.Context, accountID string) ([]models.PhoneNumber, error)
	AddPhoneNumber(ctx context.Context, accountID string, who models.Actor, number, label string) (*models.PhoneNumber, error)
	DeletePhoneNumber(ctx context.Context, accountID string, who models.Actor, id string) error

	BeginIdempotent(ctx context.Context, ref models.IdempotencyRef, requestHash []byte) (*models.IdempotencyKey, bool, error)
	FinishIdempotent(ctx context.Context, ref models.IdempotencyRef, status int, headers map[string]string, body []byte) error
	ReleaseIdempotent(ctx context.Context, ref models.IdempotencyRef) error
	PurgeIdempotencyKeys(ctx context.Context) (int64, error)
}

// Previewer renders the request a webhook would send, without sending it.
type Previewer interface {
	Preview(ctx context.Context, w *models.Webhook, eventType string) (models.RenderedRequest, error)
}

// JobWaker tells this process's job runner that a job was just created,
// so it starts at once rather than at its next poll.
type JobWaker interface {
	Wake()
}

// TargetChecker applies the dispatcher's SSRF rule to a URL before anything
// is sent: why deliveries to it would be refused, or "".
type TargetChecker interface {
	TargetRefusal(ctx context.Context, rawURL string) string
}

// Handler serves every route.
type Handler struct {
	store     Store
	sessions  *session.Manager
	throttle  models.LoginThrottle
	preview   Previewer
	targets   TargetChecker // nil: no warning
	jobs      JobWaker      // nil: jobs start at a runner's next poll
	redeliver Redeliverer   // nil: redelivery answers 503
	tester    Tester        // nil: test events answer 503
	ingester  Ingester      // nil: ingest answers 503
	metrics   http.Handler  // nil: /metrics answers 404 on this listener
	publicURL string        // "": links are built from the request's host
	guard     *apiGuard     // API rate limits and idempotency upkeep
	log       *slog.Logger
	now       func() time.Time
}

// Deps are the Handler's collaborators.
type Deps struct {
	Store       Store
	Sessions    *session.Manager
	Throttle    models.LoginThrottle // zero: models.DefaultLoginThrottle()
	Previewer   Previewer
	Redeliverer Redeliverer   // optional; without it Redeliver answers 503
	Tester      Tester        // optional; without it test events answer 503
	Ingester    Ingester      // optional; without it ingest answers 503
	Jobs        JobWaker      // optional: wakes this process's job runner when a job is created
	Targets     TargetChecker // optional; without it the webhook form does not warn about blocked addresses
	Metrics     http.Handler  // optional: serves /metrics (and checks its token); without it /metrics answers 404
	APILimits   APILimits     // zero values take the defaults
	// PublicURL is the console's address as users reach it
	// (RINGHOOK_PUBLIC_URL, e.g. https://hooks.example.com), used for the
	// links Ringhook hands out; empty: the request's host and scheme.
	PublicURL string
	Log       *slog.Logger
	Now       func() time.Time
}

// New returns a Handler.
func New(d Deps) *Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Throttle == (models.LoginThrottle{}) {
		d.Throttle = models.DefaultLoginThrottle()
	}
	return &Handler{store: d.Store, sessions: d.Sessions, throttle: d.Throttle, preview: d.Previewer, redeliver: d.Redeliverer, tester: d.Tester, ingester: d.Ingester, targets: d.Targets, jobs: d.Jobs, metrics: d.Metrics,
		publicURL: strings.TrimSuffix(d.PublicURL, "/"), guard: newAPIGuard(d.APILimits), log: d.Log, now: d.Now}
}

// What a route answers when this process lacks the part it needs (see
// Deps: a web-only or test process may run without them).
var (
	errNoDispatcher = fault.Errorf(fault.ErrUnavailable, "The dispatcher is not running in this process.")
	errNoRedelivery = fault.Errorf(fault.ErrUnavailable, "Redelivery is unavailable: the dispatcher is not running in this process. Try again later.")
	errNoIngest     = fault.Errorf(fault.ErrUnavailable, "Event ingest is not available in this process.")
)

// Context keys set by the auth middleware.
const (
	ctxUser    = "ringhook.user"
	ctxAccount = "ringhook.account"
	// CSRFContextKey is where the CSRF middleware leaves the token.
	CSRFContextKey = "csrf"
)

func currentUser(c echo.Context) *models.User {
	u, _ := c.Get(ctxUser).(*models.User)
	return u
}

func currentAccount(c echo.Context) *models.Account {
	a, _ := c.Get(ctxAccount).(*models.Account)
	return a
}

func actor(c echo.Context) models.Actor {
	if u := currentUser(c); u != nil {
		return models.Actor{UserID: u.ID, Label: u.Email}
	}
	if k, ok := c.Get(ctxAPIKey).(*models.APIKey); ok {
		return models.Actor{Label: "api key " + k.Prefix}
	}
	return models.Actor{}
}

func csrfToken(c echo.Context) string {
	t, _ := c.Get(CSRFContextKey).(string)
	return t
}

// baseURL is the scheme and host links handed out start with: the
// configured public URL, else the request's (its scheme from TLS or a
// trusted proxy's header only; see dropUntrustedScheme).
func (h *Handler) baseURL(c echo.Context) string {
	if h.publicURL != "" {
		return h.publicURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// page builds the shell's state for a full page.
func (h *Handler) page(c echo.Context, title, nav string) layout.Page {
	p := layout.Page{Title: title, Nav: nav, CSRF: csrfToken(c)}
	if u := currentUser(c); u != nil {
		p.User, p.ManageTeam = u.Email, u.Role.CanManageTeam()
	}
	if a := currentAccount(c); a != nil {
		p.Account = a.Name
	}
	for _, f := range h.sessions.Flashes(c) {
		p.Flashes = append(p.Flashes, layout.Flash{Kind: layout.FlashKind(f.Kind), Message: f.Message})
	}
	return p
}

// flash queues a one-time message for the next page.
func (h *Handler) flash(c echo.Context, kind layout.FlashKind, msg string) {
	if err := h.sessions.AddFlash(c, string(kind), msg); err != nil {
		h.log.Warn("save flash", "err", err)
	}
}

// Healthz answers while the process runs.
func (h *Handler) Healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok")
}

// Readyz answers 200 only while the database does.
func (h *Handler) Readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		h.log.Warn("readiness check failed", "err", err)
		return c.String(http.StatusServiceUnavailable, "database unavailable")
	}
	return c.String(http.StatusOK, "ready")
}

// Metrics serves the Prometheus metrics when this listener offers them
// (RINGHOOK_METRICS_TOKEN; the handler given checks the token). Otherwise
// they are not here: 404.
func (h *Handler) Metrics(c echo.Context) error {
	if h.metrics == nil {
		return fault.ErrNotFound
	}
	h.metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}

// maxBodyBytes is the largest request body any route reads: 1 MiB, the
// figure every "too large" message states.
const maxBodyBytes = 1 << 20

// maxFormFields is net/url's limit on the fields of one form.
const maxFormFields = 10000

// formParams reads the submitted form: a body over maxBodyBytes or a form
// over maxFormFields is fault.ErrTooLarge, anything else unreadable
// fault.ErrBadRequest.
func formParams(c echo.Context) (url.Values, error) {
	v, err := c.FormParams()
	if err == nil {
		return v, nil
	}
	var he *echo.HTTPError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge), errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		return nil, fmt.Errorf("read form: %w", fault.ErrTooLarge)
	case strings.Contains(err.Error(), "exceeded limit"):
		// net/url has no error type for its parameter limit.
		return nil, fault.Errorf(fault.ErrTooLarge, "The form has more than %d fields.", maxFormFields).WithCause(err)
	}
	return nil, fault.Errorf(fault.ErrBadRequest, "The form could not be read.").WithCause(err)
}

// readForm parses a console post's form before the CSRF check looks for
// its token there, so a form the parser refuses (too many fields, too
// large) is answered as such, not as "this form has expired".
func readForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method == http.MethodPost && !isMachineRoute(c) {
			if _, err := formParams(c); err != nil {
				return err
			}
		}
		return next(c)
	}
}
