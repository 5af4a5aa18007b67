package catalog_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
	"github.com/ringhook/ringhook/models/fault"
)

// FuzzNormalize decodes arbitrary bytes as a JSON object the way the ingest
// API does and checks that Normalize never panics and, when it accepts the
// input, is idempotent: Normalize(out) succeeds and equals out.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(hangupJSON))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"event":"call.missed","event_id":"evt_0123456789","occurred_at":"9999-12-31T23:59:59-05:00"}`))
	f.Add([]byte(`{"event":"message.received","event_id":"evt_0123456789","occurred_at":"2026-04-09T07:24:53Z","message_id":"m",
		"direction":"inbound","from_number":"anonymous","to_number":"(0044) 20-7946-0000","error_code":1e2,"media_urls":[]}`))
	f.Add([]byte(`{"event":"call.ended","event_id":"evt_0123456789","occurred_at":"1970-01-01T00:01:00+00:01","call_id":" c ",
		"direction":" OutBound","call_type":"Click To Call","from_number":"anonymous","to_number":"+1 (415) 555-0100 ","call_status":"Missed",
		"hangup_cause":"normal_clearıng","missed_reason":"no answer","dialed_extensions":[{"number":"101","result":""},{"number":" 102 ","id":null}],
		"tags":[" vip "],"from_number_raw":null,"sequence":1e0,"hangup_sip_code":4.86e2}`))
	now := time.Date(2026, 4, 9, 7, 25, 0, 0, time.UTC)
	for i, ty := range catalog.Types() {
		b, err := json.Marshal(catalog.Sample(ty.ID, now, rand.New(rand.NewPCG(uint64(i), 3))))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := json.NewDecoder(bytes.NewReader(data))
		d.UseNumber()
		var in map[string]any
		if err := d.Decode(&in); err != nil {
			return
		}
		out, err := catalog.Normalize(in)
		if err != nil {
			if _, ok := err.(fault.FieldErrors); !ok {
				t.Fatalf("error %T is not a fault.FieldErrors: %v", err, err)
			}
			if out != nil {
				t.Fatal("non-nil output with an error")
			}
			_ = err.Error()
			return
		}
		again, err := catalog.Normalize(out)
		if err != nil {
			t.Fatalf("Normalize(out) failed: %v\nin:  %v\nout: %v", err, in, out)
		}
		if !reflect.DeepEqual(again, out) {
			t.Fatalf("not idempotent\nout:   %#v\nagain: %#v", out, again)
		}
		// The canonical form must also survive a JSON round trip, as it
		// does when stored in the events table and read back.
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		d = json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var back map[string]any
		if err := d.Decode(&back); err != nil {
			t.Fatal(err)
		}
		again, err = catalog.Normalize(back)
		if err != nil || !reflect.DeepEqual(again, out) {
			t.Fatalf("JSON round trip changed the payload: %v\nout:   %#v\nagain: %#v", err, out, again)
		}
	})
}
