package handlers

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models/fault"
)

func TestBindJSON(t *testing.T) {
	type target struct {
		Name    string   `json:"name"`
		Count   int      `json:"count"`
		Enabled *bool    `json:"enabled"`
		Tags    []string `json:"tags"`
	}
	big := `{"name":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	cases := []struct {
		name        string
		contentType string
		body        string
		status      int    // 0: success
		message     string // substring of the error message
	}{
		{"valid", "application/json", `{"name":"a","count":2,"enabled":true,"tags":["x"]}`, 0, ""},
		{"charset parameter", "application/json; charset=utf-8", `{"name":"a"}`, 0, ""},
		{"surrounding whitespace", "application/json", " \n{\"name\":\"a\"}\n ", 0, ""},
		{"no content type", "", `{"name":"a"}`, 415, "Content-Type: application/json"},
		{"form content type", "application/x-www-form-urlencoded", `name=a`, 415, "Content-Type: application/json"},
		{"text/json", "text/json", `{"name":"a"}`, 415, "Content-Type: application/json"},
		{"too large", "application/json", big, 413, "larger than 1 MiB"},
		{"empty body", "application/json", ``, 400, "empty"},
		{"syntax error", "application/json", `{"name":"a",}`, 400, "not valid JSON at byte"},
		{"truncated", "application/json", `{"name":"a"`, 400, "ends in the middle"},
		{"unknown field", "application/json", `{"name":"a","nmae":"b"}`, 400, `Unknown field "nmae"`},
		{"wrong type", "application/json", `{"count":"two"}`, 400, `Field "count" must be a whole number, not string`},
		{"wrong type in array", "application/json", `{"tags":[1]}`, 400, `must be a string, not number`},
		{"array instead of object", "application/json", `[{"name":"a"}]`, 400, "The body must be an object, not array"},
		{"two values", "application/json", `{"name":"a"}{"name":"b"}`, 400, "single JSON value"},
		{"trailing garbage", "application/json", `{"name":"a"} x`, 400, "not valid JSON"},
	}
	e := echo.New()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/x", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			c := e.NewContext(req, httptest.NewRecorder())
			var v target
			err := bindJSON(c, &v)
			if tc.status == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if v.Name != "a" {
					t.Fatalf("decoded %+v", v)
				}
				return
			}
			if p := problemOf(err); p.Status != tc.status || !strings.Contains(p.Message, tc.message) {
				t.Fatalf("got %+v from %v, want %d containing %q", p, err, tc.status, tc.message)
			}
		})
	}

	t.Run("chunked body over the limit", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/x", strings.NewReader(big))
		req.ContentLength = -1 // unknown length, as with chunked encoding
		req.Header.Set("Content-Type", "application/json")
		var v target
		err := bindJSON(e.NewContext(req, httptest.NewRecorder()), &v)
		if !errors.Is(err, fault.ErrTooLarge) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestBearerToken(t *testing.T) {
	key := "sk_live_" + strings.Repeat("a", 40)
	cases := []struct {
		name, header, token string
		ok                  bool
	}{
		{"bearer key", "Bearer " + key, key, true},
		{"lower-case scheme", "bearer " + key, key, true},
		{"extra spaces", "BEARER   " + key + "  ", key, true},
		{"empty", "", "", false},
		{"scheme only", "Bearer", "", false},
		{"basic scheme", "Basic " + key, "", false},
		{"no scheme", key, "", false},
		{"unknown key kind", "Bearer sk_prod_abc", "sk_prod_abc", false},
		{"two words", "Bearer " + key + " more", key + " more", false},
		{"too long", "Bearer sk_live_" + strings.Repeat("a", 300), "sk_live_" + strings.Repeat("a", 300), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, msg := bearerToken(tc.header)
			if tok != tc.token || (msg == "") != tc.ok {
				t.Fatalf("got %q, %q", tok, msg)
			}
		})
	}
}
