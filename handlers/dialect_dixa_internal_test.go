package handlers

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

// TestDixaTranslation: the event table is one to one onto subscribable
// catalog types, filters translate both ways, and the client's names come
// back.
func TestDixaTranslation(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range dixaEvents {
		if !catalog.Subscribable(e.event) || seen[e.event] {
			t.Errorf("%s -> %s: not a subscribable type, or mapped twice", e.name, e.event)
		}
		seen[e.event] = true
		if got := dixaEventName(e.event, nil); got != e.name {
			t.Errorf("%s reads back as %s", e.event, got)
		}
	}
	for _, name := range []string{"ConversationCreated", "ConversationClosed", "ConversationNoteAdded", "call.hangup"} {
		if _, ok := dixaEvent(name); !ok {
			t.Errorf("%s refused", name)
		}
	}
	for _, name := range []string{"AgentBannedIp", "ConversationRated", "conversationcreated", ""} {
		if _, ok := dixaEvent(name); ok {
			t.Errorf("%s accepted", name)
		}
	}
	filters := []struct {
		raw  string
		want []models.Filter
		err  bool
	}{
		{`{"Conversation":{"strategy":"All","conditions":[{"field":"QueueId","values":["q"],"_type":"IsNotOneOf"}],"_type":"CombinedFilters"}}`,
			[]models.Filter{{Field: "queue_id", Op: "not_in", Values: []string{"q"}}}, false},
		{`{"Conversation":{"strategy":"All","conditions":[{"field":"InitialChannel","values":["pstn_phone"],"_type":"IsOneOf"}],"_type":"CombinedFilters"}}`, nil, false},
		{`{"Conversation":{"strategy":"All","conditions":[{"field":"InitialChannel","values":["email"],"_type":"IsOneOf"}],"_type":"CombinedFilters"}}`, nil, true},
		{`{"Conversation":{"strategy":"All","conditions":[{"field":"InitialChannel","values":["pstn_phone"],"_type":"IsNotOneOf"}],"_type":"CombinedFilters"}}`, nil, true},
		{`{"Conversation":{"strategy":"Any","conditions":[{"field":"QueueId","values":["a"],"_type":"IsOneOf"},{"field":"direction","values":["inbound"],"_type":"IsOneOf"}],"_type":"CombinedFilters"}}`, nil, true},
		{`{"Ticket":{"strategy":"All","conditions":[],"_type":"CombinedFilters"}}`, nil, true},
		{`null`, nil, false},
	}
	for _, tc := range filters {
		got, err := dixaFilters(json.RawMessage(tc.raw))
		if (err != nil) != tc.err || !tc.err && !slices.EqualFunc(got, tc.want, func(a, b models.Filter) bool {
			return a.Field == b.Field && a.Op == b.Op && slices.Equal(a.Values, b.Values)
		}) {
			t.Errorf("dixaFilters(%s) = %+v, %v", tc.raw, got, err)
		}
	}
	in := models.NewWebhookInput("UTC")
	state := &models.DialectState{}
	if err := dixaApply(&in, dixaHookIn{Events: []string{"call.received", "ConversationClosed"}}, state); err != nil {
		t.Fatal(err)
	}
	w := &models.Webhook{EventTypes: in.EventTypes, DialectState: models.JSON[models.DialectState]{V: *state}}
	if v := dixaView(w); !slices.Equal(v.SubscribedEvents, []string{"call.received", "ConversationClosed"}) {
		t.Errorf("names sent are not echoed: %v", v.SubscribedEvents)
	}
	hs, err := dixaOrderedObject(json.RawMessage(`{"B":"1","A":"2"}`))
	if err != nil || len(hs) != 2 || hs[0].Name != "B" {
		t.Errorf("header order %+v %v", hs, err)
	}
	if b, _ := json.Marshal(orderedHeaders(hs)); string(b) != `{"B":"1","A":"2"}` {
		t.Errorf("headers marshal as %s", b)
	}
}
