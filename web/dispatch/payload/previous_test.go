package payload

import (
	"encoding/json"
	"net/url"
	"testing"
)

func TestWithPreviousFailedKeepsTheRestAsRendered(t *testing.T) {
	fields := map[string]any{"event": "call.answered", "event_id": "evt_1", "occurred_at": "2026-04-09T07:24:53.000Z",
		"talk_seconds": json.Number("30.50"), "custom_data": map[string]any{"a": "x<y&z"}}
	body, err := EncodeJSON(fields)
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := WithPreviousFailed("POST", "https://h/x", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	fields["previous_failed"] = true
	want, _ := EncodeJSON(fields)
	if string(got) != string(want) {
		t.Errorf("JSON\n got %s\nwant %s", got, want)
	}

	form := EncodeForm(map[string]any{"event": "call.answered", "b": "1 2"})
	_, got, err = WithPreviousFailed("POST", "https://h/x", "application/x-www-form-urlencoded", []byte(form))
	if err != nil || string(got) != form+"&previous_failed=true" {
		t.Errorf("form %q %v", got, err)
	}
	u, _, err := WithPreviousFailed("GET", "https://h/x?token=1&event=call.answered", "", nil)
	q, _ := url.Parse(u)
	if err != nil || q.Query().Get("previous_failed") != "true" || q.Query().Get("token") != "1" {
		t.Errorf("GET %q %v", u, err)
	}
	if _, _, err := WithPreviousFailed("POST", "https://h/x", "application/json", []byte("[1]")); err == nil {
		t.Error("a body that is not an object was patched")
	}
}
