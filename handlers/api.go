package handlers

import (
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
	case 409:
		return "conflict"
	case 413:
		return "too_large"
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
