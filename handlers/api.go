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

	"github.com/ringhook/ringhook/models/fault"
)

const ctxAPIKey = "ringhook.api_key"

// bindJSON decodes the request's JSON body into v, strictly: the content
// type must be application/json (415), the body at most 1 MiB (413), one
// JSON value with no unknown fields and values of the right types (400).
// The errors are fault sentinels, with a message that says what to fix;
// 422 is left to validation of well-formed input (FieldErrors).
func bindJSON(c echo.Context, v any) error { return decodeBody(c, v, false) }

// bindJSONNumbers is bindJSON keeping numbers exact (json.Number), for
// bodies decoded straight into any or map[string]any: ingest decodes each
// event once, into the form catalog.Normalize checks.
func bindJSONNumbers(c echo.Context, v any) error { return decodeBody(c, v, true) }

func decodeBody(c echo.Context, v any, useNumber bool) error {
	req := c.Request()
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return fault.ErrUnsupportedMediaType
	}
	if req.ContentLength > maxBodyBytes {
		return fault.ErrTooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(c.Response(), req.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if useNumber {
		dec.UseNumber()
	}
	if err := dec.Decode(v); err != nil {
		return jsonBodyError(err)
	}
	// One value only: trailing data is a broken or concatenated body.
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		if err == nil {
			return fault.Errorf(fault.ErrBadRequest, "The body must hold a single JSON value; there is more after it.")
		}
		return jsonBodyError(err)
	}
	return nil
}

// jsonBodyError turns a decoding error into a message that says what to fix.
func jsonBodyError(err error) error {
	var (
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
		tooLarge *http.MaxBytesError
		he       *echo.HTTPError
	)
	bad := func(msg string) error { return fault.Errorf(fault.ErrBadRequest, "%s", msg).WithCause(err) }
	switch {
	case errors.As(err, &tooLarge), errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge:
		return fault.ErrTooLarge
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
