package payload_test

import (
	"strings"

	"github.com/ringhook/ringhook/web/dispatch/payload"
)

// workedEvent is a hand-built call.hangup event, before the envelope is added.
// It skips catalog.Normalize (so it lacks the null keys a stored event has);
// the normalized version is the worked example of docs/events.md
// (TestDocsWorkedExample).
func workedEvent() map[string]any {
	return map[string]any{
		"event":            "call.hangup",
		"event_id":         "evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",
		"occurred_at":      "2026-04-09T07:24:53.000Z",
		"account_id":       "acc_7f2b66a6",
		"call_id":          "call_01JRB3PZ5X",
		"leg_id":           "leg_69d75426f0a9f",
		"direction":        "inbound",
		"call_type":        "inbound",
		"from_number":      "+919240202904",
		"from_name":        "Test Man",
		"to_number":        "+918287842425",
		"did_number":       "+918287842425",
		"customer_number":  "+919240202904",
		"call_status":      "answered",
		"started_at":       "2026-04-09T07:24:22.000Z",
		"answered_at":      "2026-04-09T07:24:23.000Z",
		"ended_at":         "2026-04-09T07:24:53.000Z",
		"extension_number": "101",
		"extension_name":   "Kapil",
		"duration_seconds": 31,
		"talk_seconds":     30,
		"ring_seconds":     1,
		"hangup_cause":     "NORMAL_CLEARING",
		"hangup_by":        "caller",
		"recording_url":    nil,
		"dialed_extensions": []any{
			map[string]any{"number": "101", "name": "Kapil", "result": "answered"},
			map[string]any{"number": "102", "name": "Asha", "result": "no_answer"},
		},
		"tags": []any{"vip", "sales"},
	}
}

// workedTarget is the worked example's webhook.
func workedTarget(method, contentType string) payload.Target {
	return payload.Target{
		AccountID:   "acc_7f2b66a6",
		WebhookID:   "wh_91eb05e5",
		URL:         "https://example.com/hook?token=abc",
		Method:      method,
		ContentType: contentType,
		TimeZone:    "Asia/Kolkata",
		CustomData:  map[string]any{"crm_id": "A 1&2"},
	}
}

// workedJSON is the expected JSON body of workedEvent for workedTarget.
const workedJSON = `{"account_id":"acc_7f2b66a6","answered_at":"2026-04-09T07:24:23.000Z","answered_at_local":"2026-04-09T12:54:23+05:30",` +
	`"api_version":"2026-01","call_id":"call_01JRB3PZ5X","call_status":"answered","call_type":"inbound",` +
	`"custom_data":{"crm_id":"A 1&2"},"customer_number":"+919240202904",` +
	`"dialed_extensions":[{"name":"Kapil","number":"101","result":"answered"},{"name":"Asha","number":"102","result":"no_answer"}],` +
	`"did_number":"+918287842425","direction":"inbound","duration_seconds":31,"ended_at":"2026-04-09T07:24:53.000Z",` +
	`"ended_at_local":"2026-04-09T12:54:53+05:30","event":"call.hangup","event_id":"evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",` +
	`"extension_name":"Kapil","extension_number":"101","from_name":"Test Man","from_number":"+919240202904",` +
	`"hangup_by":"caller","hangup_cause":"NORMAL_CLEARING","leg_id":"leg_69d75426f0a9f",` +
	`"occurred_at":"2026-04-09T07:24:53.000Z","occurred_at_local":"2026-04-09T12:54:53+05:30","recording_url":null,` +
	`"ring_seconds":1,"started_at":"2026-04-09T07:24:22.000Z","started_at_local":"2026-04-09T12:54:22+05:30",` +
	`"tags":["vip","sales"],"talk_seconds":30,"test":false,"timezone":"Asia/Kolkata","to_number":"+918287842425","webhook_id":"wh_91eb05e5"}`

// workedForm is the expected form body, the same pairs as workedJSON.
var workedForm = strings.Join([]string{
	"account_id=acc_7f2b66a6",
	"answered_at=2026-04-09T07%3A24%3A23.000Z",
	"answered_at_local=2026-04-09T12%3A54%3A23%2B05%3A30",
	"api_version=2026-01",
	"call_id=call_01JRB3PZ5X",
	"call_status=answered",
	"call_type=inbound",
	"custom_data%5Bcrm_id%5D=A+1%262",
	"customer_number=%2B919240202904",
	"dialed_extensions%5B0%5D%5Bname%5D=Kapil",
	"dialed_extensions%5B0%5D%5Bnumber%5D=101",
	"dialed_extensions%5B0%5D%5Bresult%5D=answered",
	"dialed_extensions%5B1%5D%5Bname%5D=Asha",
	"dialed_extensions%5B1%5D%5Bnumber%5D=102",
	"dialed_extensions%5B1%5D%5Bresult%5D=no_answer",
	"did_number=%2B918287842425",
	"direction=inbound",
	"duration_seconds=31",
	"ended_at=2026-04-09T07%3A24%3A53.000Z",
	"ended_at_local=2026-04-09T12%3A54%3A53%2B05%3A30",
	"event=call.hangup",
	"event_id=evt_01JRB3Q7Z8K2M4N6P8R0S2T4V6",
	"extension_name=Kapil",
	"extension_number=101",
	"from_name=Test+Man",
	"from_number=%2B919240202904",
	"hangup_by=caller",
	"hangup_cause=NORMAL_CLEARING",
	"leg_id=leg_69d75426f0a9f",
	"occurred_at=2026-04-09T07%3A24%3A53.000Z",
	"occurred_at_local=2026-04-09T12%3A54%3A53%2B05%3A30",
	"recording_url=",
	"ring_seconds=1",
	"started_at=2026-04-09T07%3A24%3A22.000Z",
	"started_at_local=2026-04-09T12%3A54%3A22%2B05%3A30",
	"tags%5B%5D=vip",
	"tags%5B%5D=sales",
	"talk_seconds=30",
	"test=false",
	"timezone=Asia%2FKolkata",
	"to_number=%2B918287842425",
	"webhook_id=wh_91eb05e5",
}, "&")
