package catalog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// CallKind is one of the call lifecycles CallGenerator produces.
type CallKind int

// The call lifecycles, and NumCallKinds, their number.
const (
	InboundAnswered  CallKind = iota // received, maybe IVR and DTMF, dialed, answered (or from a queue), hangup, ended
	InboundMissed                    // received, dialed, missed, ended
	OutboundAnswered                 // received (placed by an extension), answered, hangup, ended
	OutboundMissed                   // received, missed, ended
	ClickToCall                      // received (via the API), customer answered, hangup, ended
	NumCallKinds
)

var callKindNames = [NumCallKinds]string{"inbound answered", "inbound missed", "outbound answered", "outbound missed", "click-to-call"}

// String is the kind in words, e.g. "inbound answered".
func (k CallKind) String() string {
	if k < 0 || k >= NumCallKinds {
		return fmt.Sprintf("CallKind(%d)", int(k))
	}
	return callKindNames[k]
}

// callKindWeights is the traffic mix, in percent.
var callKindWeights = [NumCallKinds]int{40, 20, 20, 10, 10}

// Call is one generated call: its events in the order a PBX emits them,
// each already in canonical form (Normalize passed).
type Call struct {
	Kind   CallKind
	ID     string
	Events []map[string]any
}

// simExtension is an agent's extension; ids are stable for a whole run.
type simExtension struct{ ID, Number, Name string }

var simExtensions = []simExtension{
	{"ext_5a1e0101", "101", "Kapil"},
	{"ext_5a1e0102", "102", "Asha"},
	{"ext_5a1e0103", "103", "Ravi"},
	{"ext_5a1e0104", "104", "Meera"},
	{"ext_5a1e0105", "105", "Sam"},
}

// The IVR menu of the simulated account: option 1 and 2 go to a queue,
// option 3 rings extensions directly.
const (
	simIVRID   = "ivr_3e9a0001"
	simIVRName = "Main menu"
)

type ivrOption struct {
	Digit, Label, QueueID, QueueName string
}

var simIVROptions = []ivrOption{
	{"1", "Sales", "queue_5a1e5001", "Sales queue"},
	{"2", "Support", "queue_5a1e5002", "Support queue"},
	{"3", "Billing", "", ""},
}

var simCustomerNames = []string{"Priya Sharma", "Rahul Verma", "Maria Garcia", "John Smith", "Aisha Khan", "Test Man"}

// companyName is the caller-ID name shown on outbound calls.
const companyName = "Acme Support"

// CallGenerator produces realistic, internally consistent call lifecycles:
// every event of a call carries the same call fields as they stand at that
// moment (numbers, direction, started_at, the extension once it answered),
// times only move forward, terminal events agree with call.ended, and every
// event is canonical (Normalize passes it unchanged). It is the one source
// of call lifecycles: Sample's call events, `ringhook simulate` and the
// benchmark all come from it. It is deterministic for a rnd seed and a
// sequence of end times, and not safe for concurrent use.
type CallGenerator struct {
	rnd  *rand.Rand
	dids []string
}

// NewCallGenerator returns a generator drawing from rnd for an account
// with the numbers (DIDs) dids, in E.164 form.
func NewCallGenerator(rnd *rand.Rand, dids []string) (*CallGenerator, error) {
	if rnd == nil {
		return nil, errors.New("catalog: call generator: nil random source")
	}
	if len(dids) == 0 {
		return nil, errors.New("catalog: call generator: no account numbers (DIDs)")
	}
	for _, d := range dids {
		if n, ok := NormalizeE164(d); !ok || n != d {
			return nil, fmt.Errorf("catalog: call generator: %q is not an E.164 number", d)
		}
	}
	return &CallGenerator{rnd: rnd, dids: slices.Clone(dids)}, nil
}

// LifecycleTypes returns the event types CallGenerator's calls consist of.
func LifecycleTypes() []string { return slices.Clone(lifecycleTypes[:]) }

var lifecycleTypes = [...]string{"call.received", "call.ivr_answered", "call.dtmf", "call.dialed", "call.answered",
	"call.queue_answered", "call.click_to_call.answered", "call.hangup", "call.missed", "call.ended"}

// kindsWith are the lifecycles that can contain each lifecycle type.
var kindsWith = map[string][]CallKind{
	"call.received":               {InboundAnswered, InboundMissed, OutboundAnswered, OutboundMissed, ClickToCall},
	"call.ivr_answered":           {InboundAnswered},
	"call.dtmf":                   {InboundAnswered},
	"call.dialed":                 {InboundAnswered, InboundMissed},
	"call.answered":               {InboundAnswered, OutboundAnswered},
	"call.queue_answered":         {InboundAnswered},
	"call.click_to_call.answered": {ClickToCall},
	"call.hangup":                 {InboundAnswered, OutboundAnswered, ClickToCall},
	"call.missed":                 {InboundMissed, OutboundMissed},
	"call.ended":                  {InboundAnswered, InboundMissed, OutboundAnswered, OutboundMissed, ClickToCall},
}

func (g *CallGenerator) between(lo, hi int) int { return lo + g.rnd.IntN(hi-lo+1) }

func (g *CallGenerator) secs(lo, hi int) time.Duration {
	return time.Duration(g.between(lo, hi)) * time.Second
}

func (g *CallGenerator) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rnd.IntN(16)]
	}
	return string(b)
}

func (g *CallGenerator) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rnd.IntN(10))
	}
	return string(b)
}

func (g *CallGenerator) kind() CallKind {
	n := g.rnd.IntN(100)
	for k, w := range callKindWeights {
		if n < w {
			return CallKind(k)
		}
		n -= w
	}
	return InboundAnswered
}

// customerFor returns an external number in the DID's country, from ranges
// reserved for fiction or documentation where the country has them.
func (g *CallGenerator) customerFor(did string) string {
	switch {
	case strings.HasPrefix(did, "+91"):
		return "+91" + []string{"9", "8", "7"}[g.rnd.IntN(3)] + g.digits(9)
	case strings.HasPrefix(did, "+44"):
		return "+447700900" + g.digits(3)
	case strings.HasPrefix(did, "+1"):
		return "+1" + []string{"212", "646", "312", "617"}[g.rnd.IntN(4)] + "55501" + g.digits(2)
	default: // same country code length is unknown; keep it North American fiction
		return "+1415555" + "01" + g.digits(2)
	}
}

// simState is the evolving state of one call while its events are built.
type simState struct {
	g       *CallGenerator
	id      string
	legA    string         // the customer's leg
	legB    string         // the extension's leg
	fields  map[string]any // the call fields, as of the next event
	dialed  []simExtension // extensions rung for the call
	agent   simExtension   // the extension that answers or places the call
	pending []pendingEvent
	events  []map[string]any
}

// Next generates one complete call whose last event happens at end: every
// timestamp is at or before end and the events come in PBX order.
func (g *CallGenerator) Next(end time.Time) (Call, error) {
	kind := g.kind()
	s, err := g.build(kind)
	if err != nil {
		return Call{}, err
	}
	if err := s.finish(len(s.pending)-1, end); err != nil {
		return Call{}, err
	}
	return Call{Kind: kind, ID: s.id, Events: s.events}, nil
}

// eventOf returns one event of type typ (a lifecycle type) from a call
// generated so that this event happens at at; the call's later events are
// not returned. ok is false for other types.
func (g *CallGenerator) eventOf(typ string, at time.Time) (map[string]any, bool, error) {
	kinds := kindsWith[typ]
	if len(kinds) == 0 {
		return nil, false, nil
	}
	// Some types are optional in their lifecycle (the IVR, the queue): a
	// few tries always find one, and the loop stays deterministic.
	for range 1000 {
		s, err := g.build(kinds[g.rnd.IntN(len(kinds))])
		if err != nil {
			return nil, true, err
		}
		i := slices.IndexFunc(s.pending, func(p pendingEvent) bool { return p.typ == typ })
		if i < 0 {
			continue
		}
		if err := s.finish(i, at); err != nil {
			return nil, true, err
		}
		return s.events[i], true, nil
	}
	return nil, true, fmt.Errorf("catalog: no generated call contains %s", typ)
}

// build lays out a call of kind on a timeline relative to its start.
func (g *CallGenerator) build(kind CallKind) (*simState, error) {
	did := g.dids[g.rnd.IntN(len(g.dids))]
	customer := g.customerFor(did)
	var custName any
	if g.rnd.IntN(4) > 0 {
		custName = simCustomerNames[g.rnd.IntN(len(simCustomerNames))]
	}
	perm := g.rnd.Perm(len(simExtensions))
	exts := make([]simExtension, len(perm))
	for i, p := range perm {
		exts[i] = simExtensions[p]
	}

	s := &simState{g: g, legA: "leg_" + g.hex(13), legB: "leg_" + g.hex(13), agent: exts[0]}
	s.fields = make(map[string]any, len(callFields))
	for _, f := range callFields {
		s.fields[f] = nil
	}
	f := s.fields
	f["did_number"], f["customer_number"] = did, customer
	switch kind {
	case InboundAnswered, InboundMissed:
		f["direction"], f["call_type"] = "inbound", "inbound"
		f["from_number"], f["from_name"], f["to_number"], f["to_name"] = customer, custName, did, nil
	default:
		f["direction"], f["call_type"] = "outbound", "outbound"
		if kind == ClickToCall {
			f["call_type"] = "click_to_call"
			f["reference_id"] = "ref_" + g.hex(10)
		}
		f["from_number"], f["from_name"], f["to_number"], f["to_name"] = did, companyName, customer, custName
		s.setExtension(s.agent) // the extension that places the call
	}

	// The timeline is built forwards from the call's start; finish anchors it.
	var err error
	switch kind {
	case InboundAnswered:
		err = s.inboundAnswered(exts)
	case InboundMissed:
		err = s.inboundMissed(exts)
	case OutboundAnswered:
		err = s.outboundAnswered()
	case OutboundMissed:
		err = s.outboundMissed()
	case ClickToCall:
		err = s.clickToCall()
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *simState) setExtension(e simExtension) {
	s.fields["extension_id"], s.fields["extension_number"], s.fields["extension_name"] = e.ID, e.Number, e.Name
}

func extensionList(exts []simExtension, results ...string) []any {
	out := make([]any, 0, len(exts))
	for i, e := range exts {
		m := map[string]any{"id": e.ID, "number": e.Number, "name": e.Name}
		if i < len(results) && results[i] != "" {
			m["result"] = results[i]
		}
		out = append(out, m)
	}
	return out
}

// pending is an event before the timeline is anchored: its type, offset
// from the call start, leg, and the call fields and extras as of it.
type pendingEvent struct {
	typ    string
	at     time.Duration
	leg    string
	fields map[string]any
	extra  map[string]any
	times  map[string]time.Duration // started/answered/ended offsets to format
}

// emit records an event at offset at from the call start. times are the
// call's time fields as offsets (started_at is always 0).
func (s *simState) emit(typ string, at time.Duration, leg string, times map[string]time.Duration, extra map[string]any) {
	fields := make(map[string]any, len(s.fields))
	for k, v := range s.fields {
		fields[k] = v
	}
	tcopy := map[string]time.Duration{"started_at": 0}
	for k, v := range times {
		tcopy[k] = v
	}
	s.pending = append(s.pending, pendingEvent{typ: typ, at: at, leg: leg, fields: fields, extra: extra, times: tcopy})
}

// terminal emits call.hangup or call.missed followed by call.ended, both at
// the end of the call, with the same terminal fields.
func (s *simState) terminal(end time.Duration, times map[string]time.Duration, extra map[string]any) {
	typ := "call.missed"
	if s.fields["call_status"] == "answered" {
		typ = "call.hangup"
	}
	times["ended_at"] = end
	extra["duration_seconds"] = int64(end / time.Second)
	s.emit(typ, end, s.legA, times, extra)
	s.emit("call.ended", end, s.legA, times, extra)
}

func (s *simState) recording() any {
	if s.g.rnd.IntN(10) < 7 {
		return "" // filled in finish, once the call id is known
	}
	return nil
}

func (s *simState) inboundAnswered(exts []simExtension) error {
	g, f := s.g, s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "did"})
	t := g.secs(1, 2) // the IVR picks up
	var queue *ivrOption
	viaIVR := g.rnd.IntN(10) < 7
	if viaIVR {
		f["call_status"] = "in_progress"
		f["ivr_id"], f["ivr_name"] = simIVRID, simIVRName
		s.emit("call.ivr_answered", t, s.legA, nil, nil)
		t += g.secs(3, 12)
		opt := simIVROptions[g.rnd.IntN(len(simIVROptions))]
		s.emit("call.dtmf", t, s.legA, nil, map[string]any{"digits": opt.Digit, "menu_level": int64(1), "option_label": opt.Label})
		if opt.QueueID != "" {
			queue = &opt
			f["queue_id"], f["queue_name"] = opt.QueueID, opt.QueueName
		}
	}
	queued := t
	var wait time.Duration
	if queue != nil {
		wait = g.secs(5, 120) // waiting for a free agent, then one is rung
	}
	ring := g.secs(2, 12)
	dialAt := queued + wait
	f["call_status"] = "ringing"
	if viaIVR {
		f["call_status"] = "in_progress" // the IVR already answered the caller
	}
	strategy, dialed := "sequential", exts[:1]
	if queue == nil {
		strategy, dialed = "simultaneous", exts[:2+g.rnd.IntN(2)]
	}
	s.dialed = dialed
	s.emit("call.dialed", dialAt, s.legB, nil, map[string]any{"dialed_extensions": extensionList(dialed), "ring_strategy": strategy})

	answered := dialAt + ring
	f["call_status"] = "in_progress"
	s.setExtension(s.agent)
	times := map[string]time.Duration{"answered_at": answered}
	if queue != nil {
		s.emit("call.queue_answered", answered, s.legB, times,
			map[string]any{"ring_seconds": int64(ring / time.Second), "wait_seconds": int64((wait + ring) / time.Second)})
	} else {
		s.emit("call.answered", answered, s.legB, times, map[string]any{"ring_seconds": int64(ring / time.Second)})
	}

	talk := g.secs(10, 600)
	f["call_status"] = "answered"
	results := make([]string, len(dialed))
	for i := range results {
		results[i] = "no_answer"
	}
	results[0] = "answered"
	s.terminal(answered+talk, times, s.answeredExtra(talk, ring, extensionList(dialed, results...), extensionList(dialed[1:])))
	return nil
}

// missedOutcome picks why a call was not answered and how long it rang.
func (s *simState) missedOutcome(inbound bool) (reason string, ring time.Duration) {
	g := s.g
	reasons := []string{"no_answer", "no_answer", "busy", "caller_abandoned"}
	if !inbound {
		reasons = []string{"no_answer", "no_answer", "busy"}
	}
	reason = reasons[g.rnd.IntN(len(reasons))]
	switch reason {
	case "no_answer":
		ring = g.secs(20, 40)
	case "busy":
		ring = g.secs(0, 2)
	default:
		ring = g.secs(3, 20)
	}
	return reason, ring
}

var (
	missedCause  = map[string]string{"no_answer": "NO_ANSWER", "busy": "USER_BUSY", "caller_abandoned": "ORIGINATOR_CANCEL"}
	missedSIP    = map[string]int64{"no_answer": 480, "busy": 486, "caller_abandoned": 487}
	missedBy     = map[string]string{"no_answer": "system", "busy": "callee", "caller_abandoned": "caller"}
	missedResult = map[string]string{"no_answer": "no_answer", "busy": "busy", "caller_abandoned": "no_answer"}
)

func (s *simState) missedExtra(reason string, ring time.Duration, dialed []simExtension) map[string]any {
	results := make([]string, len(dialed))
	for i := range results {
		results[i] = missedResult[reason]
	}
	return map[string]any{
		"talk_seconds": int64(0), "ring_seconds": int64(ring / time.Second),
		"hangup_cause": missedCause[reason], "hangup_sip_code": missedSIP[reason], "hangup_by": missedBy[reason],
		"dialed_extensions": extensionList(dialed, results...), "missed_extensions": extensionList(dialed),
		"recording_url": nil,
	}
}

func (s *simState) inboundMissed(exts []simExtension) error {
	g, f := s.g, s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "did"})
	dialAt := g.secs(1, 2)
	dialed := exts[:2+g.rnd.IntN(2)]
	s.dialed = dialed
	s.emit("call.dialed", dialAt, s.legB, nil, map[string]any{"dialed_extensions": extensionList(dialed), "ring_strategy": "simultaneous"})
	reason, ring := s.missedOutcome(true)
	f["call_status"], f["missed_reason"] = "missed", reason
	s.terminal(dialAt+ring, map[string]time.Duration{}, s.missedExtra(reason, ring, dialed))
	return nil
}

func (s *simState) outboundAnswered() error {
	g, f := s.g, s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "extension"})
	ring := g.secs(3, 20)
	times := map[string]time.Duration{"answered_at": ring}
	f["call_status"] = "in_progress"
	s.emit("call.answered", ring, s.legB, times, map[string]any{"ring_seconds": int64(ring / time.Second)})
	talk := g.secs(10, 600)
	f["call_status"] = "answered"
	s.terminal(ring+talk, times, s.answeredExtra(talk, ring, extensionList([]simExtension{s.agent}, "answered"), []any{}))
	return nil
}

// answeredExtra is the terminal event's extra fields for an answered call.
func (s *simState) answeredExtra(talk, ring time.Duration, dialed, missed []any) map[string]any {
	return map[string]any{
		"talk_seconds": int64(talk / time.Second), "ring_seconds": int64(ring / time.Second),
		"hangup_cause": "NORMAL_CLEARING", "hangup_sip_code": int64(200), "hangup_by": []string{"caller", "callee"}[s.g.rnd.IntN(2)],
		"dialed_extensions": dialed, "missed_extensions": missed,
		"recording_url": s.recording(),
	}
}

func (s *simState) outboundMissed() error {
	f := s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "extension"})
	reason, ring := s.missedOutcome(false)
	f["call_status"], f["missed_reason"] = "missed", reason
	// The extension placed the call; nobody was rung on the PBX side.
	s.terminal(ring, map[string]time.Duration{}, s.missedExtra(reason, ring, nil))
	return nil
}

func (s *simState) clickToCall() error {
	g, f := s.g, s.fields
	f["call_status"] = "ringing"
	s.emit("call.received", 0, s.legA, nil, map[string]any{"entry_point": "api"})
	extRing, custRing := g.secs(2, 6), g.secs(3, 20)
	answered := extRing + custRing
	times := map[string]time.Duration{"answered_at": answered}
	f["call_status"] = "in_progress"
	s.emit("call.click_to_call.answered", answered, s.legA, times, map[string]any{"customer_ring_seconds": int64(custRing / time.Second)})
	talk := g.secs(10, 600)
	f["call_status"] = "answered"
	s.terminal(answered+talk, times, s.answeredExtra(talk, answered, extensionList([]simExtension{s.agent}, "answered"), []any{}))
	return nil
}

// finish anchors the timeline so that event anchor happens at at, then
// builds the payloads of the events up to it: every field of the type nil,
// then the call's own fields and the event's extras; it numbers the events
// and normalizes them.
func (s *simState) finish(anchor int, at time.Time) error {
	at = at.UTC().Truncate(time.Millisecond)
	start := at.Add(-s.pending[anchor].at)
	s.id = "call_" + strings.TrimPrefix(NewEventID(start, randReader{s.g.rnd}), "evt_")
	for i, p := range s.pending[:anchor+1] {
		at := start.Add(p.at)
		fields, ok := idx.fields[p.typ]
		if !ok {
			return fmt.Errorf("catalog: unknown event type %q", p.typ)
		}
		m := make(map[string]any, len(fields)+3)
		for _, f := range fields {
			m[f] = nil
		}
		m["event"] = p.typ
		m["event_id"] = NewEventID(at, randReader{s.g.rnd})
		m["occurred_at"] = at.Format(TimeLayout)
		for k, v := range p.fields {
			m[k] = v
		}
		for k, v := range p.extra {
			m[k] = v
		}
		for k, off := range p.times {
			m[k] = start.Add(off).Format(TimeLayout)
		}
		if v, ok := m["recording_url"]; ok && v == "" {
			m["recording_url"] = "https://files.ringhook.example/recordings/" + s.id + ".mp3"
		}
		m["call_id"] = s.id
		m["leg_id"] = p.leg
		m["sequence"] = int64(i + 1)
		norm, err := Normalize(m)
		if err != nil {
			return fmt.Errorf("catalog: generated %s (sequence %d of %s) is invalid: %w", p.typ, i+1, s.id, err)
		}
		s.events = append(s.events, norm)
	}
	return nil
}
