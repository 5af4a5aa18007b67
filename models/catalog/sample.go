package catalog

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Sample returns a realistic, complete canonical payload of the type id:
// event, event_id, occurred_at and every key of Fields(id), with nil where a
// field does not apply. Phone numbers are E.164 (fictional ranges), ids look
// like "call_01J…", and times are TimeLayout strings before now (except
// activity.scheduled's due_at, which is in the future). The result passes
// Normalize unchanged and is the same for the same now and rnd seed; a nil
// rnd is seeded from now. The call lifecycle types (LifecycleTypes) come
// from CallGenerator: the event is one moment of a generated call. Sample of webhook.test is TestSample of
// DefaultTestSampleOf. Unknown ids return nil.
func Sample(id string, now time.Time, rnd *rand.Rand) map[string]any {
	if id == TestType {
		m, err := TestSample(DefaultTestSampleOf, now, rnd)
		if err != nil {
			return nil
		}
		return m
	}
	td, ok := lookupDef(id)
	if !ok {
		return nil
	}
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(uint64(now.UnixNano()), 0x5249_4e47_484f_4f4b))
	}
	s := &sampler{r: rnd}
	// Every event happened 1-20 s before now, at millisecond precision.
	occurred := now.UTC().Add(-time.Second - time.Duration(s.r.IntN(19_000))*time.Millisecond).Truncate(time.Millisecond)
	m := make(map[string]any, len(idx.fields[id])+2)
	for _, f := range idx.fields[id] {
		m[f] = nil
	}
	m["event"] = id
	m["event_id"] = NewEventID(occurred, s.reader())
	m["occurred_at"] = occurred.Format(TimeLayout)
	switch {
	case kindsWith[id] != nil:
		// A call lifecycle event comes from the call generator, so a sample
		// reads like a moment of a real call.
		did, _ := s.numbers()
		g := &CallGenerator{rnd: s.r, dids: []string{did}}
		ev, _, err := g.eventOf(id, occurred)
		if err != nil {
			return nil // a generator bug; TestSample catches it
		}
		return ev
	case td.fam == famCall:
		s.call(td.ID, occurred, m)
	case td.fam == famMessage:
		s.message(td.ID, occurred, m)
	default:
		s.other(td.ID, occurred, m)
	}
	return m
}

// ErrNotSubscribable is wrapped by TestSample when asked for a type that is
// unknown or that a webhook cannot subscribe to.
var ErrNotSubscribable = errors.New("not a subscribable event type")

// TestSample returns the payload of a webhook.test event showing the schema
// of the subscribable type of: Sample(of, now, rnd) with event set to
// webhook.test and sample_of to of. The renderer adds test: true.
func TestSample(of string, now time.Time, rnd *rand.Rand) (map[string]any, error) {
	if !Subscribable(of) {
		return nil, fmt.Errorf("test sample of %q: %w", of, ErrNotSubscribable)
	}
	m := Sample(of, now, rnd)
	m["event"] = TestType
	m["sample_of"] = of
	return m, nil
}

type sampler struct {
	r *rand.Rand
	// set by the per-type code; the URLs are built once call_id is known
	recording, transcript bool
}

// reader adapts the sampler's generator to io.Reader for NewEventID.
func (s *sampler) reader() randReader { return randReader{s.r} }

type randReader struct{ r *rand.Rand }

func (rr randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(rr.r.Uint32())
	}
	return len(p), nil
}

func (s *sampler) pick(xs ...string) string { return xs[s.r.IntN(len(xs))] }

func (s *sampler) between(lo, hi int) int64 { return int64(lo + s.r.IntN(hi-lo+1)) }

func (s *sampler) digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + s.r.IntN(10)))
	}
	return b.String()
}

func (s *sampler) hex(n int) string {
	const hexDigits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[s.r.IntN(16)]
	}
	return string(b)
}

func (s *sampler) alnum(n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[s.r.IntN(len(chars))]
	}
	return string(b)
}

func (s *sampler) ulid(prefix string, t time.Time) string {
	return prefix + newULID(t, s.reader())
}

func ts(t time.Time) string { return t.UTC().Format(TimeLayout) }

// numbers returns an account number (DID) and a customer number from one of
// a few countries, all in ranges reserved for fiction or documentation.
func (s *sampler) numbers() (did, customer string) {
	switch s.r.IntN(3) {
	case 0: // India
		return "+9180" + s.digits(8), "+91" + s.pick("9", "8", "7") + s.digits(9)
	case 1: // North America, 555-01xx
		return "+1415555" + "01" + s.digits(2), "+1" + s.pick("212", "646", "312", "617") + "55501" + s.digits(2)
	default: // United Kingdom, Ofcom drama ranges
		return "+44207946" + "0" + s.digits(3), "+447700900" + s.digits(3)
	}
}

type extension struct{ id, number, name string }

func (s *sampler) extensions(n int) []extension {
	pool := []extension{{"", "101", "Kapil"}, {"", "102", "Asha"}, {"", "103", "Ravi"}, {"", "104", "Meera"}, {"", "105", "Sam"}}
	s.r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	out := pool[:n]
	for i := range out {
		out[i].id = "ext_" + s.hex(8)
	}
	return out
}

func setExt(m map[string]any, prefix string, e extension) {
	m[prefix+"_id"] = e.id
	m[prefix+"_number"] = e.number
	m[prefix+"_name"] = e.name
}

func (s *sampler) customerName() any {
	if s.r.IntN(4) == 0 {
		return nil // no caller-ID name
	}
	return s.pick("Test Man", "Priya Sharma", "Rahul Verma", "Maria Garcia", "John Smith", "Aisha Khan")
}

// call fills the call fields and the type's extras of the call events
// outside the generated lifecycles (kindsWith): transfers, parking, queue
// entry, follow-ups about a finished call.
func (s *sampler) call(id string, occurred time.Time, m map[string]any) {
	callType := s.pick("inbound", "inbound", "outbound", "click_to_call")
	switch {
	case strings.HasPrefix(id, "call.click_to_call."):
		callType = "click_to_call"
	case id == "call.ring_group_answered",
		strings.HasPrefix(id, "call.queue_"):
		callType = "inbound"
	}
	did, customer := s.numbers()
	exts := s.extensions(3)
	agent := exts[0]
	custName := s.customerName()

	direction := "outbound"
	from, to, fromName := did, customer, any("Acme Support")
	var toName any = custName
	if callType == "inbound" {
		direction = "inbound"
		from, to, fromName, toName = customer, did, custName, nil
	}

	// Default timeline: started before occurred; refined per type.
	started := occurred.Add(-time.Duration(s.between(2, 40)) * time.Second)
	m["leg_id"] = "leg_" + s.hex(13)
	m["sequence"] = int64(1)
	m["direction"] = direction
	m["call_type"] = callType
	m["from_number"] = from
	m["from_name"] = fromName
	m["to_number"] = to
	m["to_name"] = toName
	m["did_number"] = did
	m["customer_number"] = customer
	if callType != "inbound" {
		setExt(m, "extension", agent) // the extension that placed the call
	}
	if callType == "click_to_call" {
		m["reference_id"] = s.alnum(10)
	}

	answeredCall := func(ringSec int64) {
		m["answered_at"] = ts(started.Add(time.Duration(ringSec) * time.Second))
		setExt(m, "extension", agent)
	}

	switch id {
	case "call.bridged":
		ring := s.between(2, 15)
		started = occurred.Add(-time.Duration(ring) * time.Second)
		answeredCall(ring)
		m["sequence"] = int64(4)
		m["call_status"] = "in_progress"
	case "call.click_to_call.missed":
		extRing := s.between(2, 6)
		custRing := s.between(3, 20)
		started = occurred.Add(-time.Duration(extRing+custRing) * time.Second)
		m["customer_ring_seconds"] = custRing
		m["sequence"] = int64(3)
		m["call_status"] = "missed"
		m["missed_reason"] = s.pick("no_answer", "busy", "rejected")
		m["ended_at"] = ts(occurred)
	case "call.transferred":
		started = occurred.Add(-time.Duration(s.between(20, 300)) * time.Second)
		answeredCall(s.between(2, 10))
		m["call_status"] = "in_progress"
		m["sequence"] = int64(5)
		m["transfer_type"] = s.pick("blind", "attended")
		setExt(m, "from_extension", agent)
		switch s.r.IntN(3) {
		case 0:
			setExt(m, "to_extension", exts[1])
		case 1:
			m["to_queue_id"] = "queue_" + s.hex(8)
			m["to_queue_name"] = s.pick("Support queue", "Billing queue")
		default:
			_, other := s.numbers()
			m["transfer_to_number"] = other
		}
	case "call.parked", "call.park_retrieved", "call.park_abandoned":
		answered := occurred.Add(-time.Duration(s.between(10, 120)) * time.Second)
		started = answered.Add(-time.Duration(s.between(2, 10)) * time.Second)
		m["answered_at"] = ts(answered)
		setExt(m, "extension", agent)
		m["parking_slot"] = fmt.Sprintf("70%d", 1+s.r.IntN(9))
		m["sequence"] = int64(5)
		m["call_status"] = "in_progress"
		if id == "call.park_abandoned" {
			m["call_status"] = "answered"
			m["ended_at"] = ts(occurred)
			m["sequence"] = int64(7)
		}
	case "call.ring_group_answered":
		ring := s.between(2, 15)
		started = occurred.Add(-time.Duration(ring+s.between(3, 10)) * time.Second)
		m["answered_at"] = ts(occurred)
		setExt(m, "extension", agent)
		m["ring_group_id"] = "rg_" + s.hex(8)
		m["ring_group_name"] = s.pick("Sales", "Front desk")
		m["ring_seconds"] = ring
		m["sequence"] = int64(4)
		m["call_status"] = "in_progress"
	case "call.queue_entered", "call.queue_abandoned":
		m["queue_id"] = "queue_" + s.hex(8)
		m["queue_name"] = s.pick("Support queue", "Billing queue")
		wait := s.between(5, 180)
		switch id {
		case "call.queue_entered":
			started = occurred.Add(-time.Duration(s.between(3, 15)) * time.Second)
			m["call_status"] = "ringing"
			m["sequence"] = int64(3)
		default:
			started = occurred.Add(-time.Duration(wait+s.between(3, 15)) * time.Second)
			m["wait_seconds"] = wait
			m["call_status"] = "missed"
			m["missed_reason"] = "caller_abandoned"
			m["ended_at"] = ts(occurred)
			m["sequence"] = int64(4)
		}
	default: // follow-ups about a finished, answered call
		talk := s.between(30, 600)
		ended := occurred.Add(-time.Duration(s.between(10, 300)) * time.Second)
		answered := ended.Add(-time.Duration(talk) * time.Second)
		started = answered.Add(-time.Duration(s.between(2, 15)) * time.Second)
		m["answered_at"] = ts(answered)
		m["ended_at"] = ts(ended)
		m["call_status"] = "answered"
		setExt(m, "extension", agent)
		m["sequence"] = int64(10)
		s.followUp(id, m, agent, talk)
	}
	m["started_at"] = ts(started)
	callID := s.ulid("call_", started)
	m["call_id"] = callID
	if s.recording {
		m["recording_url"] = "https://files.ringhook.example/recordings/" + callID + ".mp3"
	}
	if s.transcript {
		m["transcript_url"] = "https://files.ringhook.example/transcripts/" + callID + ".txt"
	}
}

// followUp fills the extras of events about a finished call.
func (s *sampler) followUp(id string, m map[string]any, agent extension, talk int64) {
	occurred := m["occurred_at"].(string)
	switch id {
	case "call.disposition_set":
		d := s.r.IntN(4)
		m["disposition"] = []string{"Interested", "Callback requested", "Not interested", "Sale closed"}[d]
		m["disposition_code"] = []string{"interested", "callback", "not_interested", "sale_closed"}[d]
		if d == 0 {
			m["sub_disposition"] = "Demo booked"
		}
		m["note"] = s.pick("Customer asked for a demo next week.", "Wants a quote for 25 seats.", "")
		setExt(m, "set_by_extension", agent)
		m["set_at"] = occurred
	case "call.note_added":
		t, _ := time.Parse(TimeLayout, occurred)
		m["note_id"] = s.ulid("note_", t)
		m["note"] = s.pick("Caller wants the invoice re-sent to accounts@example.com.", "Escalate to billing if not resolved by Friday.")
		setExt(m, "author_extension", agent)
	case "call.tag_added", "call.tag_removed":
		m["tag"] = s.pick("vip", "sales", "follow_up", "complaint")
	case "call.recording_ready":
		s.recording = true
		m["recording_duration_seconds"] = talk
	case "call.summary_ready":
		m["summary"] = s.pick(
			"The caller asked about upgrading to the business plan; the agent explained pricing and promised a written quote by e-mail.",
			"The customer reported a failed payment; the agent re-sent the invoice link and confirmed the card on file.",
		)
		s.transcript = true
	}
}

// message fills the message.* fields.
func (s *sampler) message(id string, occurred time.Time, m map[string]any) {
	did, customer := s.numbers()
	m["message_id"] = s.ulid("msg_", occurred)
	m["did_number"] = did
	m["customer_number"] = customer
	m["segments"] = int64(1)
	m["media_urls"] = []any{}
	if id == "message.received" {
		m["direction"] = "inbound"
		m["from_number"], m["to_number"] = customer, did
		m["status"] = "received"
		m["body"] = s.pick("Hi, can someone call me back about my order #4821?", "Yes, tomorrow at 10 works.", "STOP")
		if s.r.IntN(4) == 0 {
			m["media_urls"] = []any{"https://files.ringhook.example/mms/" + s.hex(16) + ".jpg"}
		}
		return
	}
	m["direction"] = "outbound"
	m["from_number"], m["to_number"] = did, customer
	m["body"] = s.pick("Thanks for calling Acme Support. Your ticket number is 4821.", "Reminder: your appointment is tomorrow at 10:00.")
	if id == "message.sent" {
		m["status"] = s.pick("queued", "sent")
		return
	}
	m["status"] = s.pick("delivered", "delivered", "failed")
	if m["status"] == "failed" {
		m["error_code"] = "30003"
	}
}

// other fills the types without a common block.
func (s *sampler) other(id string, occurred time.Time, m map[string]any) {
	_, customer := s.numbers()
	agent := s.extensions(1)[0]
	switch id {
	case "voicemail.received", "voicemail.mailbox_full":
		callStarted := occurred.Add(-time.Duration(s.between(20, 90)) * time.Second)
		m["mailbox_id"] = "mbx_" + s.hex(8)
		m["mailbox_name"] = agent.name
		m["mailbox_extension"] = agent.number
		m["call_id"] = s.ulid("call_", callStarted)
		m["from_number"] = customer
		m["from_name"] = s.customerName()
		if id == "voicemail.received" {
			m["voicemail_id"] = s.ulid("vm_", occurred)
			m["duration_seconds"] = s.between(4, 60)
			m["recording_url"] = "https://files.ringhook.example/voicemail/" + m["voicemail_id"].(string) + ".mp3"
			if s.r.IntN(3) > 0 {
				m["transcription"] = "Hi, this is about the renewal quote, please call me back."
			}
		}
	case "activity.scheduled":
		callStarted := occurred.Add(-time.Duration(s.between(60, 900)) * time.Second)
		due := occurred.Add(24 * time.Hour).Truncate(15 * time.Minute)
		m["activity_id"] = s.ulid("act_", occurred)
		m["activity_type"] = s.pick("callback", "task", "meeting")
		m["subject"] = s.pick("Call back about the renewal quote", "Send the signed contract")
		m["due_at"] = ts(due)
		m["duration_minutes"] = int64(15 * (1 + s.r.IntN(4)))
		setExt(m, "assigned_extension", agent)
		m["call_id"] = s.ulid("call_", callStarted)
		m["customer_number"] = customer
	case WebhookDisabled:
		n := s.between(6, 20)
		id := "wh_" + s.hex(8)
		name := s.pick("CRM sync", "Helpdesk tickets", "Slack alerts")
		m["about_webhook_id"], m["about_webhook_name"], m["about_webhook_url"] = id, name, "https://crm.example.com/hooks/ringhook"
		m["disabled_webhook_id"], m["disabled_webhook_name"], m["disabled_webhook_url"] = id, name, "https://crm.example.com/hooks/ringhook"
		m["disable_reason"] = fmt.Sprintf("Disabled automatically after %d failed attempts in a row over 1h (last: HTTP 503 Service Unavailable).", n)
		m["failure_count"] = n
		m["automatic"], m["changed_by"] = "yes", "ringhook"
	case WebhookEnabled:
		m["about_webhook_id"], m["about_webhook_name"], m["about_webhook_url"] = "wh_"+s.hex(8), s.pick("CRM sync", "Helpdesk tickets"), "https://crm.example.com/hooks/ringhook"
		m["automatic"], m["changed_by"] = "yes", "ringhook"
		m["enable_reason"] = "Re-enabled automatically after a successful probe."
		m["replayed_count"] = s.between(1, 40)
	case WebhookFailing:
		m["about_webhook_id"], m["about_webhook_name"], m["about_webhook_url"] = "wh_"+s.hex(8), s.pick("CRM sync", "Helpdesk tickets"), "https://crm.example.com/hooks/ringhook"
		m["failure_count"] = s.between(10, 20)
		m["last_error"] = "HTTP 503 Service Unavailable"
	case DeliveryExhausted:
		m["about_webhook_id"], m["about_webhook_name"], m["about_webhook_url"] = "wh_"+s.hex(8), s.pick("CRM sync", "Helpdesk tickets"), "https://crm.example.com/hooks/ringhook"
		m["delivery_id"] = fmt.Sprint(s.between(1000, 99999))
		m["delivery_event_id"] = s.ulid("evt_", occurred)
		m["delivery_event_type"] = "call.hangup"
		m["call_id"] = s.ulid("call_", occurred.Add(-5*time.Minute))
		m["attempt_count"] = s.between(5, 8)
		m["last_error"] = "HTTP 500 Internal Server Error"
	case ProbeType:
		m["probe_number"] = s.between(1, 5)
		m["disable_reason"] = "Disabled automatically: the receiver answered 410 Gone."
	}
}
