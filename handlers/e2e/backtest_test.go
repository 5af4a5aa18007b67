package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models"
)

// matchedCalls is the back-test pane's count now ("" while it shows none).
const matchedCalls = `(document.querySelector("#matches #calls-matched")?.textContent ?? "")`

// TestFormBackTestFollowsFilters opens the Add webhook form over six stored
// calls (even ones inbound and answered, odd ones outbound and missed) and
// watches the back-test count follow the triggers, call types and a filter
// as they are clicked and typed, then shows on the Edit form of the saved one.
func TestFormBackTestFollowsFilters(t *testing.T) {
	app := handlertest.New(t)
	tn := app.NewTenant(t, models.RoleAdmin)
	base := time.Now().Add(-time.Hour).UTC()
	var evs []models.Event
	for i := range 6 {
		callType, status := "inbound", "answered"
		if i%2 == 1 {
			callType, status = "outbound", "missed"
		}
		call := fmt.Sprintf("bt-call-%d", i)
		at := base.Add(time.Duration(i) * time.Minute)
		evs = append(evs, models.Event{AccountID: tn.Account.ID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: at, ReceivedAt: at, CallID: &call,
			Payload: models.JSON[map[string]any]{V: map[string]any{"call_id": call, "call_type": callType, "direction": callType, "call_status": status,
				"did_number": "+918287842425", "from_number": "+919900000000", "to_number": "+918287842425"}}})
	}
	if err := app.DB.WithContext(context.Background()).Create(&evs).Error; err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, app.URL)
	signIn(b, tn)
	b.open("/webhooks/new", http.StatusOK)
	b.waitFor("the pane to ask for a trigger", `document.querySelector("#matches")?.textContent.includes("Choose a trigger to see matches.")`)

	b.click(`input[name=event_types][value="call.hangup"]`)
	b.waitFor("all 6 calls to match", matchedCalls+` === "6" && document.querySelector("#matches").textContent.includes("of the last 6 calls")`)
	b.waitFor("a link to the newest call", `document.querySelector('#matches a[href="/calls/bt-call-5"]') !== null`)

	b.click(`input[name=call_types][value=inbound]`)
	b.waitFor("the inbound calls only", matchedCalls+` === "3"`)

	b.fill("#filter-1", "missed") // Call result: none of the inbound calls was missed
	b.waitFor("no call to match once typed", matchedCalls+` === "0"`)
	b.fill("#filter-1", "never")
	b.waitFor("the pane to ask to fix the form", `document.querySelector("#matches")?.textContent.includes("Fix the form to see matches.")`)
	b.fill("#filter-1", "answered")
	b.waitFor("the answered inbound calls", matchedCalls+` === "3"`)

	in := models.NewWebhookInput("UTC")
	in.Name, in.URL, in.EventTypes, in.CallTypes = "Outbound", "https://example.com/hook", []string{"call.hangup"}, []string{"outbound"}
	w, err := app.Store.CreateWebhook(context.Background(), tn.Account.ID, models.Actor{Label: "test"}, in)
	if err != nil {
		t.Fatal(err)
	}
	b.open("/webhooks/"+w.ID+"/edit", http.StatusOK)
	b.waitFor("the saved webhook's 3 outbound calls", matchedCalls+` === "3"`)
	b.click(`input[name=call_types][value=inbound]`)
	b.waitFor("all 6 with inbound added", matchedCalls+` === "6"`)
}
