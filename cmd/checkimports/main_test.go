package main

import "testing"

func TestCheck(t *testing.T) {
	cases := []struct {
		pkg, imp string
		bad      bool
	}{
		{"models", "github.com/labstack/echo/v4", true},
		{"models/catalog", module + "/web/dispatch", true},
		{"models", "gorm.io/gorm", false},
		{"views/webhooks", "gorm.io/gorm", true},
		{"views/webhooks", module + "/models", true},
		{"views/webhooks", "github.com/a-h/templ", false},
		{"views/webhooks", module + "/views/layout", false},
		{"views/webhooks", "strings", false},
		{"web/dispatch", module + "/handlers", true},
		{"web/dispatch", "github.com/labstack/echo/v4", true},
		{"web/dispatch/payload", module + "/models", false},
		{"handlers", module + "/web/dispatch", true},
		{"handlers", module + "/views/webhooks", false},
		{"handlers", "gorm.io/gorm", true},
		{"web/render", module + "/handlers", true},
		{"web/session", module + "/handlers", true},
		{"web/dispatch/safehttp", module + "/handlers/handlertest", true},
		{"handlers/e2e", module + "/web/dispatch", true},
		{"handlers/handlertest", module + "/web/dispatch", false},
		{"static", "embed", false},
		{"web/dispatch", "github.com/prometheus/client_golang/prometheus", true},
		{"web/dispatch", module + "/web/metrics", true},
		{"web/metrics", module + "/web/dispatch", true},
		{"web/metrics", module + "/models", false},
		{"web/metrics", "github.com/prometheus/client_golang/prometheus/promhttp", false},
	}
	for _, tc := range cases {
		t.Run(tc.pkg+" imports "+tc.imp, func(t *testing.T) {
			if got := check(tc.pkg, tc.imp) != ""; got != tc.bad {
				t.Fatalf("violation = %v, want %v (%q)", got, tc.bad, check(tc.pkg, tc.imp))
			}
		})
	}
}
