package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

const ctxAPIKey = "ringhook.api_key"

// apiErrorBody is the JSON API's one error shape.
type apiErrorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// APIError writes {"error":{"code","message","fields"}} with status.
func APIError(c echo.Context, status int, message string, fields map[string]string) error {
	return c.JSON(status, apiErrorBody{Error: apiError{Code: errorCode(status), Message: message, Fields: fields}})
}

func errorCode(status int) string {
	switch status {
	case 400:
		return "bad_request"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 405:
		return "method_not_allowed"
	case 409:
		return "conflict"
	case 413:
		return "too_large"
	case 415:
		return "unsupported_media_type"
	case 422:
		return "invalid"
	case 429:
		return "rate_limited"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

// maxJSONBody is the largest request body bindJSON reads.
const maxJSONBody = 1 << 20

// bindJSON decodes the request's JSON body into v, strictly: the content
// type must be application/json (415), the body at most 1 MiB (413), one
// JSON value with no unknown fields and values of the right types (400).
// The returned *echo.HTTPError carries a message for the API's error
// shape; 422 is left to validation of well-formed input (FieldErrors).
func bindJSON(c echo.Context, v any) error {
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "Send the body as JSON with Content-Type: application/json.")
	}
	if req.ContentLength > maxJSONBody {
		return errBodyTooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), req.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonBodyError(err)
	}
	// One value only: trailing data is a broken or concatenated body.
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		if err == nil {
			return echo.NewHTTPError(http.StatusBadRequest, "The body must hold a single JSON value; there is more after it.").SetInternal(errors.New("trailing data"))
		}
		return jsonBodyError(err)
	}
	return nil
}

var errBodyTooLarge = echo.NewHTTPError(http.StatusRequestEntityTooLarge, "The request body is larger than 1 MiB.")

// jsonBodyError turns a decoding error into a message that says what to fix.
func jsonBodyError(err error) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
		he       *echo.HTTPError
	)
	bad := func(msg string) error { return echo.NewHTTPError(http.StatusBadRequest, msg).SetInternal(err) }
	switch {
	case errors.As(err, &tooLarge), errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		return errBodyTooLarge
	case errors.Is(err, io.EOF):
		return bad("The body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return bad("The body is not valid JSON: it ends in the middle of a value.")
	case errors.As(err, &syntax):
		return bad(fmt.Sprintf("The body is not valid JSON at byte %d: %s.", syntax.Offset, strings.TrimPrefix(syntax.Error(), "json: ")))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return bad(fmt.Sprintf("The body must be %s, not %s.", jsonKind(typ.Type.String()), typ.Value))
		}
		return bad(fmt.Sprintf("Field %q must be %s, not %s.", typ.Field, jsonKind(typ.Type.String()), typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no error type for this one.
		return bad(fmt.Sprintf("Unknown field %s.", strings.TrimPrefix(err.Error(), "json: unknown field ")))
	}
	return bad("The body could not be read as JSON.")
}

// jsonKind names a Go type the way a JSON client thinks of it.
func jsonKind(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map["):
		return "an object"
	}
	return "an object"
}
