package handlers

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ringhook/ringhook/models"
)

// TestKixieTranslation: Kixie's loose typing and vocabulary map onto a
// WebhookInput and back.
func TestKixieTranslation(t *testing.T) {
	for raw, want := range map[string]string{`"acc_1"`: "acc_1", `12345`: "12345", `" acc_2 "`: "acc_2"} {
		if got, ok := scalarID(json.RawMessage(raw)); !ok || got != want {
			t.Errorf("scalarID(%s) = %q %v, want %q", raw, got, ok, want)
		}
	}
	for _, raw := range []string{``, `null`, `{}`, `[1]`} {
		if _, ok := scalarID(json.RawMessage(raw)); ok {
			t.Errorf("scalarID(%s) accepted", raw)
		}
	}
	headers := []struct {
		raw  string
		want int // headers; -1 is an error
	}{
		{`false`, 0}, {`"false"`, 0}, {`""`, 0}, {`"[{\"name\":\"a\",\"value\":\"b\"}]"`, 1},
		{`[{"name":"a","value":"b"},{"name":"c","value":"d"}]`, 2}, {`"yes"`, -1}, {`"[{\"nom\":\"a\"}]"`, -1}, {`true`, -1},
	}
	for _, tc := range headers {
		hs, err := kixieHeaders(json.RawMessage(tc.raw))
		if (tc.want < 0) != (err != nil) || tc.want >= 0 && len(hs) != tc.want {
			t.Errorf("kixieHeaders(%s) = %v, %v; want %d", tc.raw, hs, err, tc.want)
		}
	}
	str := func(s string) *string { return &s }
	for _, e := range kixieEvents {
		in := models.NewWebhookInput("UTC")
		if err := kixieApply(&in, kixieBody{EventName: str(e.name)}, true); err != nil || !slices.Equal(in.EventTypes, e.events) {
			t.Errorf("eventname %s: %v %v", e.name, in.EventTypes, err)
		}
		w := &models.Webhook{EventTypes: in.EventTypes}
		if got := kixieView(w).EventName; got != e.name {
			t.Errorf("eventname %s reads back as %s", e.name, got)
		}
	}
	in := models.NewWebhookInput("UTC")
	in.Filters = []models.Filter{{Field: "queue_id", Op: "in", Values: []string{"q1"}}}
	if err := kixieApply(&in, kixieBody{Direction: str("outgoing"), CallResult: str("answered"), Disposition: str("all")}, false); err != nil {
		t.Fatal(err)
	}
	w := &models.Webhook{EventTypes: []string{"call.ended"}, Filters: models.JSON[[]models.Filter]{V: in.Filters}}
	if v := kixieView(w); v.Direction != "outgoing" || v.CallResult != "answered" || v.Disposition != "all" || len(in.Filters) != 3 {
		t.Errorf("filters %+v view %+v (the queue filter set elsewhere is kept)", in.Filters, v)
	}
}
