package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/fault"
	"github.com/ringhook/ringhook/views/layout"
	"github.com/ringhook/ringhook/web/render"
)

// Problem is what a client is told about a failed request: the HTTP
// status, a stable machine-readable code, a message for people and, for
// invalid input, one message per field. Every surface derives it with
// problemOf from the same table and differs only in the envelope it
// writes (a ProblemWriter): the console an HTML page or fragment, the JSON
// API {"error":{"code","message","fields"}}, a vendor dialect its own.
type Problem struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
}

// problemRow is one line of the mapping table.
type problemRow struct {
	kind    error
	status  int
	code    string
	message string // shown unless the error carries its own fault.Error message
}

// problemTable is the one mapping from domain error to HTTP. The first
// row whose kind the error matches (errors.Is) wins. Every fault sentinel
// has a row; TestProblemTable checks it.
var problemTable = []problemRow{
	{fault.ErrInvalid, http.StatusUnprocessableEntity, "invalid", "The input is not valid."},
	{fault.ErrNotFound, http.StatusNotFound, "not_found", "That page does not exist, or it belongs to another account."},
	{fault.ErrInFlight, http.StatusConflict, "in_flight", "This delivery is being sent right now. Try again in a moment."},
	{fault.ErrUnrenderable, http.StatusConflict, "unrenderable", "This delivery cannot be redelivered: its request could not be built."},
	{fault.ErrFinished, http.StatusConflict, "finished", "This has already finished; there is nothing left to change."},
	{fault.ErrInvalidCredentials, http.StatusUnauthorized, "unauthorized", "The credentials are not valid."},
	{fault.ErrUnauthenticated, http.StatusUnauthorized, "unauthorized", "Sign in, or send an API key in the header Authorization: Bearer sk_…"},
	{fault.ErrForbidden, http.StatusForbidden, "forbidden", "Your role can view but not change this account."},
	{fault.ErrFormExpired, http.StatusForbidden, "form_expired", "This form has expired or did not come from Ringhook. Reload the page and try again."},
	{fault.ErrBadRequest, http.StatusBadRequest, "bad_request", "The request could not be read."},
	{fault.ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as JSON with Content-Type: application/json."},
	{fault.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large", "The request body is larger than 1 MiB."},
	{fault.ErrMethodNotAllowed, http.StatusMethodNotAllowed, "method_not_allowed", "This address does not accept that method."},
	{fault.ErrUnavailable, http.StatusServiceUnavailable, "unavailable", "This is not available in this process right now. Try again later."},
	{fault.ErrRateLimited, http.StatusTooManyRequests, "rate_limited", "Too many requests; wait for the time in the Retry-After header, then try again."},
	{fault.ErrIdempotencyKeyReused, http.StatusUnprocessableEntity, "idempotency_key_reused", "This Idempotency-Key was already used for a different request. Use a new key for a new request."},
}

// retryUnavailableSeconds is the Retry-After of a 503.
const retryUnavailableSeconds = "5"

// internalProblem answers every error the table does not know. Its text
// is logged, never shown.
var internalProblem = Problem{Status: http.StatusInternalServerError, Code: "internal",
	Message: "Something went wrong on our side. It has been logged; please try again."}

// frameworkKinds translates the errors Echo and its middleware raise
// themselves (router, body limit) into the vocabulary; their own text is
// never shown.
var frameworkKinds = map[int]error{
	http.StatusBadRequest: fault.ErrBadRequest,
	// Echo's CSRF middleware refuses cross-site posts (Sec-Fetch-Site)
	// itself, without calling its ErrorHandler.
	http.StatusForbidden:             fault.ErrFormExpired,
	http.StatusNotFound:              fault.ErrNotFound,
	http.StatusMethodNotAllowed:      fault.ErrMethodNotAllowed,
	http.StatusRequestEntityTooLarge: fault.ErrTooLarge,
	http.StatusUnsupportedMediaType:  fault.ErrUnsupportedMediaType,
}

// problemOf maps err through problemTable. A fault.Error's message
// replaces the row's; FieldErrors fill Fields and the message's summary.
func problemOf(err error) Problem {
	for _, r := range problemTable {
		if !errors.Is(err, r.kind) {
			continue
		}
		p := Problem{Status: r.status, Code: r.code, Message: r.message}
		if m := fault.Message(err); m != "" {
			p.Message = m
		}
		var fe fault.FieldErrors
		if errors.As(err, &fe) && len(fe) > 0 {
			p.Fields = fe
			if fault.Message(err) == "" {
				p.Message = "The input is not valid: " + fe.Summary()
			}
		}
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		if kind, ok := frameworkKinds[he.Code]; ok {
			return problemOf(kind)
		}
	}
	if models.DatabaseUnavailable(err) {
		return problemOf(fault.Errorf(fault.ErrUnavailable, "The database is not answering right now. Nothing was changed; try again in a few seconds.").WithCause(err))
	}
	return internalProblem
}

// ProblemWriter writes a Problem in one surface's envelope.
type ProblemWriter func(c echo.Context, p Problem) error

// ctxProblemWriter is where useProblemWriter leaves a surface's writer.
const ctxProblemWriter = "ringhook.problem_writer"

// useProblemWriter makes the routes of a group (an API dialect) answer
// errors in their own envelope, from the same Problem.
func useProblemWriter(w ProblemWriter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Set(ctxProblemWriter, w)
			return next(c)
		}
	}
}

// errorHandler is Echo's error handler: it maps err to a Problem and
// writes it in the envelope of the route's surface (surfaceWriter).
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := problemOf(err)
		// A 5xx is logged, with err, by the request logger: once per request.
		if p.Status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", retryUnavailableSeconds) // producers back off, then retry
		}
		if err := surfaceWriter(c)(c, p); err != nil {
			log.Error("write error response", "path", loggedPath(c.Request().URL.Path), "err", err)
		}
	}
}

// surfaceWriter is the envelope errors of c's route answer in: a group's
// ProblemWriter, else a vendor dialect's by path (also before its group
// ran), the JSON API's for other /api paths, the console's otherwise.
func surfaceWriter(c echo.Context) ProblemWriter {
	if write, ok := c.Get(ctxProblemWriter).(ProblemWriter); ok {
		return write
	}
	path := c.Request().URL.Path
	if write, ok := dialectWriter(path); ok {
		return write
	}
	if strings.HasPrefix(path, "/api/") {
		return writeAPIProblem
	}
	return writeConsoleProblem
}

// apiErrorBody is the JSON API's one error shape.
type apiErrorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// writeAPIProblem writes {"error":{"code","message","fields"}}.
func writeAPIProblem(c echo.Context, p Problem) error {
	return c.JSON(p.Status, apiErrorBody{Error: apiError{Code: p.Code, Message: p.Message, Fields: p.Fields}})
}

// writeConsoleProblem answers htmx with the message alone (swapped where
// the request's result would go), HEAD with the status, and a browser
// with the error page inside the console's shell.
func writeConsoleProblem(c echo.Context, p Problem) error {
	if render.IsHTMX(c) {
		return render.HTML(c, p.Status, layout.ErrorFragment(p.Message))
	}
	if c.Request().Method == http.MethodHead {
		return c.NoContent(p.Status)
	}
	// Not h.page: reading the flashes here would swallow them.
	page := layout.Page{Title: consoleErrorTitles[p.Status], CSRF: csrfToken(c)}
	if page.Title == "" {
		page.Title = http.StatusText(p.Status)
	}
	u := currentUser(c)
	if u == nil && c.Request().Method == http.MethodGet {
		// Paths outside the signed-in routes (no route matched, /static/…)
		// never loaded the session: look it up, so the page shows the
		// navigation of whoever is signed in.
		if find, ok := c.Get(ctxFindUser).(func() (*models.User, *models.Account)); ok {
			var a *models.Account
			if u, a = find(); a != nil {
				c.Set(ctxAccount, a)
			}
		}
	}
	hint := ""
	if u != nil {
		page.User, page.ManageTeam = u.Email, u.Role.CanManageTeam()
		hint = consoleErrorHints[p.Status]
		if p.Code == "forbidden" {
			hint = "You are signed in as " + u.Email + " with the " + string(u.Role) + " role. An owner or admin of the account can make this change, or give you a role that can."
		}
	}
	if a := currentAccount(c); a != nil {
		page.Account = a.Name
	}
	return render.HTML(c, p.Status, layout.ErrorPage(page, p.Message, hint))
}

// consoleErrorTitles head the console's error pages.
var consoleErrorTitles = map[int]string{
	http.StatusNotFound:            "Page not found",
	http.StatusForbidden:           "Not allowed",
	http.StatusMethodNotAllowed:    "Not available here",
	http.StatusBadRequest:          "The request could not be read",
	http.StatusServiceUnavailable:  "Not available right now",
	http.StatusInternalServerError: "Something went wrong",
}

// consoleErrorHints tell a signed-in user where to go next.
var consoleErrorHints = map[int]string{
	http.StatusNotFound: "The link may be old, or the webhook, delivery or key was deleted. Start again from the navigation above.",
}
