package handlers

import (
	"slices"
	"testing"

	"github.com/ringhook/ringhook/models"
)

// TestBackendInput: a create with only a URL gets the document's defaults.
func TestBackendInput(t *testing.T) {
	str := func(s string) *string { return &s }
	off := false
	tests := []struct {
		name  string
		in    backendHookIn
		check func(models.WebhookInput) bool
	}{
		{"only a url", backendHookIn{URL: str("https://hooks.example.com:8443/x")}, func(in models.WebhookInput) bool {
			return in.Name == "hooks.example.com" && in.Method == models.MethodPOST && in.ContentType == models.ContentJSON && in.Enabled &&
				slices.Equal(in.EventTypes, callTriggers())
		}},
		{"a name wins over the host", backendHookIn{URL: str("https://a.example"), Name: str("CRM")}, func(in models.WebhookInput) bool { return in.Name == "CRM" }},
		{"the document's event name", backendHookIn{EventTypes: []string{"conversation.completed", "call.dtmf"}}, func(in models.WebhookInput) bool {
			return slices.Equal(in.EventTypes, []string{"call.ended", "call.dtmf"})
		}},
		{"disabled", backendHookIn{Enabled: &off}, func(in models.WebhookInput) bool { return !in.Enabled }},
		{"an unparsable url still gets a name", backendHookIn{URL: str("::")}, func(in models.WebhookInput) bool { return in.Name == "Webhook" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if in := backendInput(tc.in, "UTC"); !tc.check(in) {
				t.Errorf("input %+v", in)
			}
		})
	}
	if triggers := callTriggers(); !slices.Contains(triggers, "call.received") || slices.Contains(triggers, "webhook.test") || slices.Contains(triggers, "message.received") {
		t.Errorf("call triggers %v", triggers)
	}
}
