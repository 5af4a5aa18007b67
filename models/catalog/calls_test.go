package catalog_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
)

var demoDIDs = []string{"+918287842425", "+918287842426", "+14155550123"}

func newGen(t *testing.T, seed uint64, dids []string) *catalog.CallGenerator {
	t.Helper()
	g, err := catalog.NewCallGenerator(rand.New(rand.NewPCG(seed, seed^0x5249)), dids)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

var genNow = time.Date(2026, 4, 9, 7, 24, 53, 123_000_000, time.UTC)

// kindPatterns are the event type sequences each lifecycle may produce.
var kindPatterns = map[catalog.CallKind][][]string{
	catalog.InboundAnswered: {
		{"call.received", "call.ivr_answered", "call.dtmf", "call.dialed", "call.queue_answered", "call.hangup", "call.ended"},
		{"call.received", "call.ivr_answered", "call.dtmf", "call.dialed", "call.answered", "call.hangup", "call.ended"},
		{"call.received", "call.dialed", "call.answered", "call.hangup", "call.ended"},
	},
	catalog.InboundMissed:    {{"call.received", "call.dialed", "call.missed", "call.ended"}},
	catalog.OutboundAnswered: {{"call.received", "call.answered", "call.hangup", "call.ended"}},
	catalog.OutboundMissed:   {{"call.received", "call.missed", "call.ended"}},
	catalog.ClickToCall:      {{"call.received", "call.click_to_call.answered", "call.hangup", "call.ended"}},
}

func eventTypes(c catalog.Call) []string {
	out := make([]string, len(c.Events))
	for i, ev := range c.Events {
		out[i] = ev["event"].(string)
	}
	return out
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	s, ok := v.(string)
	if !ok {
		t.Fatalf("time field is %T %v, want a string", v, v)
	}
	tm, err := time.Parse(catalog.TimeLayout, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return tm
}

// checkCall asserts every rule a generated call must follow.
func checkCall(t *testing.T, c catalog.Call, dids []string, now time.Time) {
	t.Helper()
	types := eventTypes(c)
	if !slices.ContainsFunc(kindPatterns[c.Kind], func(p []string) bool { return slices.Equal(p, types) }) {
		t.Fatalf("%s call %s: events %v match no lifecycle of that kind", c.Kind, c.ID, types)
	}

	// Terminal rule: call.ended last, exactly one of hangup/missed right before it.
	var ended, hangup, missed int
	for _, typ := range types {
		switch typ {
		case "call.ended":
			ended++
		case "call.hangup":
			hangup++
		case "call.missed":
			missed++
		}
	}
	if ended != 1 || hangup+missed != 1 || types[len(types)-1] != "call.ended" {
		t.Fatalf("call %s: terminal events %v: want call.ended last plus exactly one of call.hangup/call.missed", c.ID, types)
	}

	first := c.Events[0]
	var prev time.Time
	for i, ev := range c.Events {
		typ := types[i]
		// Each event is canonical: it passes Normalize unchanged.
		norm, err := catalog.Normalize(ev)
		if err != nil {
			t.Fatalf("call %s event %d (%s) fails Normalize: %v", c.ID, i+1, typ, err)
		}
		if !reflect.DeepEqual(norm, ev) {
			t.Fatalf("call %s event %d (%s) is not canonical:\n got %v\nwant %v", c.ID, i+1, typ, ev, norm)
		}
		if ev["call_id"] != c.ID || !strings.HasPrefix(c.ID, "call_") {
			t.Errorf("event %d call_id %v, want %s", i+1, ev["call_id"], c.ID)
		}
		if ev["sequence"] != int64(i+1) {
			t.Errorf("call %s event %d (%s): sequence %v, want %d", c.ID, i+1, typ, ev["sequence"], i+1)
		}
		at := parseTime(t, ev["occurred_at"])
		if at.Before(prev) || at.After(now) {
			t.Errorf("call %s event %d (%s): occurred_at %s not in order (previous %s) or after now %s", c.ID, i+1, typ, at, prev, now)
		}
		prev = at
		for _, f := range []string{"started_at", "direction", "call_type", "from_number", "to_number", "did_number", "customer_number"} {
			if ev[f] != first[f] {
				t.Errorf("call %s event %d (%s): %s = %v, first event had %v", c.ID, i+1, typ, f, ev[f], first[f])
			}
		}
		if started := parseTime(t, ev["started_at"]); started.After(at) {
			t.Errorf("call %s event %d: started_at %s after occurred_at %s", c.ID, i+1, started, at)
		}
		if ev["answered_at"] != nil {
			if a := parseTime(t, ev["answered_at"]); a.After(at) {
				t.Errorf("call %s event %d (%s): answered_at %s after occurred_at %s", c.ID, i+1, typ, a, at)
			}
		}
		if u, ok := ev["recording_url"].(string); ok && !strings.Contains(u, c.ID) {
			t.Errorf("call %s: recording_url %q is another call's", c.ID, u)
		}
		if id, ok := ev["extension_id"].(string); ok && !strings.HasPrefix(id, "ext_5a1e01") {
			t.Errorf("call %s: extension_id %q is not one of the account's extensions", c.ID, id)
		}
	}
	if !slices.Contains(dids, first["did_number"].(string)) {
		t.Errorf("call %s: did_number %v is not one of %v", c.ID, first["did_number"], dids)
	}

	last := c.Events[len(c.Events)-1]
	term := c.Events[len(c.Events)-2]
	for _, f := range []string{"occurred_at", "ended_at", "call_status", "missed_reason", "duration_seconds", "talk_seconds", "hangup_cause", "recording_url"} {
		if !reflect.DeepEqual(last[f], term[f]) {
			t.Errorf("call %s: %s differs between %s (%v) and call.ended (%v)", c.ID, f, term["event"], term[f], last[f])
		}
	}
	if last["ended_at"] != last["occurred_at"] {
		t.Errorf("call %s: ended_at %v != occurred_at %v", c.ID, last["ended_at"], last["occurred_at"])
	}
	wantDir, wantType := "inbound", "inbound"
	switch c.Kind {
	case catalog.OutboundAnswered, catalog.OutboundMissed:
		wantDir, wantType = "outbound", "outbound"
	case catalog.ClickToCall:
		wantDir, wantType = "outbound", "click_to_call"
	}
	if first["direction"] != wantDir || first["call_type"] != wantType {
		t.Errorf("%s call: direction %v call_type %v, want %s %s", c.Kind, first["direction"], first["call_type"], wantDir, wantType)
	}
	switch c.Kind {
	case catalog.InboundMissed, catalog.OutboundMissed:
		if term["event"] != "call.missed" || term["call_status"] != "missed" || term["talk_seconds"] != int64(0) {
			t.Errorf("%s call ends with %v status %v talk %v", c.Kind, term["event"], term["call_status"], term["talk_seconds"])
		}
		if r := term["missed_reason"]; r != "no_answer" && r != "busy" && r != "caller_abandoned" {
			t.Errorf("missed_reason %v", r)
		}
		if term["answered_at"] != nil {
			t.Errorf("a missed call has answered_at %v", term["answered_at"])
		}
	default:
		if term["event"] != "call.hangup" || term["call_status"] != "answered" || term["answered_at"] == nil || term["missed_reason"] != nil {
			t.Errorf("%s call ends with %v status %v answered_at %v missed_reason %v", c.Kind, term["event"], term["call_status"], term["answered_at"], term["missed_reason"])
		}
		talk := parseTime(t, term["ended_at"]).Sub(parseTime(t, term["answered_at"]))
		if term["talk_seconds"] != int64(talk/time.Second) {
			t.Errorf("talk_seconds %v, answered_at..ended_at is %s", term["talk_seconds"], talk)
		}
	}
	if c.Kind == catalog.ClickToCall && first["reference_id"] == nil {
		t.Error("click-to-call without reference_id")
	}
	dur := parseTime(t, term["ended_at"]).Sub(parseTime(t, term["started_at"]))
	if term["duration_seconds"] != int64(dur/time.Second) {
		t.Errorf("duration_seconds %v, started_at..ended_at is %s", term["duration_seconds"], dur)
	}
}

func TestCallGenerator(t *testing.T) {
	tests := []struct {
		name string
		seed uint64
		dids []string
	}{
		{"default numbers", 1, demoDIDs},
		{"another seed", 0xdeadbeef, demoDIDs},
		{"one UK number", 42, []string{"+442079460123"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGen(t, tc.seed, tc.dids)
			kinds := map[catalog.CallKind]int{}
			eventIDs := map[string]bool{}
			callIDs := map[string]bool{}
			for i := range 400 {
				now := genNow.Add(time.Duration(i) * 137 * time.Millisecond)
				c, err := g.Next(now)
				if err != nil {
					t.Fatal(err)
				}
				checkCall(t, c, tc.dids, now.Truncate(time.Millisecond))
				kinds[c.Kind]++
				if callIDs[c.ID] {
					t.Fatalf("call id %s generated twice", c.ID)
				}
				callIDs[c.ID] = true
				for _, ev := range c.Events {
					id := ev["event_id"].(string)
					if eventIDs[id] {
						t.Fatalf("event id %s generated twice", id)
					}
					eventIDs[id] = true
				}
			}
			for k := range catalog.NumCallKinds {
				if kinds[k] == 0 {
					t.Errorf("no %s call in 400", k)
				}
			}
		})
	}
}

func TestCallGeneratorDeterministic(t *testing.T) {
	a, b := newGen(t, 7, demoDIDs), newGen(t, 7, demoDIDs)
	for range 20 {
		ca, err1 := a.Next(genNow)
		cb, err2 := b.Next(genNow)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !reflect.DeepEqual(ca, cb) {
			t.Fatalf("same seed, different calls:\n%v\n%v", ca, cb)
		}
	}
	c, _ := newGen(t, 8, demoDIDs).Next(genNow)
	d, _ := newGen(t, 7, demoDIDs).Next(genNow)
	if c.ID == d.ID {
		t.Error("different seeds gave the same call id")
	}
}

func TestNewCallGeneratorRefuses(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name string
		rnd  *rand.Rand
		dids []string
	}{
		{"nil source", nil, demoDIDs},
		{"no numbers", rnd, nil},
		{"not E.164", rnd, []string{"08287842425"}},
		{"not canonical", rnd, []string{"+91 82878 42425"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := catalog.NewCallGenerator(tc.rnd, tc.dids); err == nil {
				t.Error("accepted")
			}
		})
	}
}

// Every lifecycle type occurs in generated calls, and Sample of such a type
// is a moment of a generated call: the generator's fixed extensions, and a
// sequence number that fits the call so far.
func TestLifecycleTypesAndSample(t *testing.T) {
	g := newGen(t, 5, demoDIDs)
	seen := map[string]bool{}
	for range 300 {
		c, err := g.Next(genNow)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range c.Events {
			seen[ev["event"].(string)] = true
		}
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range seen {
			if !yield(k) {
				return
			}
		}
	})
	want := slices.Sorted(slices.Values(catalog.LifecycleTypes()))
	if !slices.Equal(got, want) {
		t.Errorf("generated types %v\nLifecycleTypes %v", got, want)
	}
	for _, typ := range want {
		for seed := range uint64(20) {
			m := catalog.Sample(typ, genNow, rand.New(rand.NewPCG(seed, 3)))
			if m == nil || m["event"] != typ {
				t.Fatalf("Sample(%s) = %v", typ, m)
			}
			if typ == "call.received" && m["sequence"] != int64(1) || m["sequence"].(int64) < 1 {
				t.Errorf("Sample(%s) sequence %v", typ, m["sequence"])
			}
			if id, ok := m["extension_id"].(string); ok && !strings.HasPrefix(id, "ext_5a1e01") {
				t.Errorf("Sample(%s) extension %q is not the generator's", typ, id)
			}
		}
	}
}
