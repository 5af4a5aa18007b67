package handlers

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ringhook/ringhook/models"
)

// TestKazooTranslation: Kazoo's members map onto a WebhookInput and back.
func TestKazooTranslation(t *testing.T) {
	str := func(s string) *string { return &s }
	num := func(n int) *int { return &n }
	tests := []struct {
		name    string
		in      kazooHookIn
		check   func(models.WebhookInput) bool
		wantErr string // field named in the error
	}{
		{"channel_create is call received", kazooHookIn{Hook: str("channel_create")}, func(in models.WebhookInput) bool { return slices.Equal(in.EventTypes, []string{"call.received"}) }, ""},
		{"channel_answer is call answered", kazooHookIn{Hook: str("channel_answer")}, func(in models.WebhookInput) bool { return in.EventTypes[0] == "call.answered" }, ""},
		{"channel_destroy is call ended", kazooHookIn{Hook: str("channel_destroy")}, func(in models.WebhookInput) bool { return in.EventTypes[0] == "call.ended" }, ""},
		{"a catalog id is accepted", kazooHookIn{Hook: str("call.hangup")}, func(in models.WebhookInput) bool { return in.EventTypes[0] == "call.hangup" }, ""},
		{"get verb", kazooHookIn{Hook: str("channel_create"), HTTPVerb: str("GET")}, func(in models.WebhookInput) bool { return in.Method == models.MethodGET }, ""},
		{"retries are attempts after the first", kazooHookIn{Hook: str("channel_create"), Retries: num(3)}, func(in models.WebhookInput) bool { return in.MaxAttempts == 4 }, ""},
		{"custom data scalars", kazooHookIn{Hook: str("channel_create"), CustomData: json.RawMessage(`{"screen_pop":true,"n":2,"s":"x"}`)}, func(in models.WebhookInput) bool {
			return len(in.CustomData) == 3 && in.CustomData[0].Value == float64(2) && in.CustomData[2].Value == true
		}, ""},
		{"hook required on create", kazooHookIn{}, nil, "hook"},
		{"unknown hook", kazooHookIn{Hook: str("channel_bridge")}, nil, "hook"},
		{"bad verb", kazooHookIn{Hook: str("channel_create"), HTTPVerb: str("put")}, nil, "http_verb"},
		{"negative retries", kazooHookIn{Hook: str("channel_create"), Retries: num(-1)}, nil, "retries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := models.NewWebhookInput("UTC")
			err := kazooApply(&in, tc.in, true)
			if tc.wantErr != "" {
				fe, ok := err.(models.FieldErrors)
				if !ok || fe[tc.wantErr] == "" {
					t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !tc.check(in) {
				t.Fatalf("err %v, input %+v", err, in)
			}
		})
	}
	w := &models.Webhook{ID: "wh_1", Name: "n", URL: "https://x.example", Method: "GET", EventTypes: []string{"call.ended", "call.dtmf"}, MaxAttempts: 3}
	if v := kazooView(w); v.Hook != "channel_destroy" || v.HTTPVerb != "get" || v.Retries != 2 || v.CustomData == nil || len(v.EventTypes) != 2 {
		t.Errorf("view %+v", v)
	}
	if v := kazooView(&models.Webhook{EventTypes: []string{"call.dtmf"}}); v.Hook != "call.dtmf" {
		t.Errorf("a type Kazoo has no name for shows as its id, got %q", v.Hook)
	}
}
