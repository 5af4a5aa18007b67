package catalog_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models/catalog"
)

var (
	eventIDRe = regexp.MustCompile(`^evt_[0-9A-HJKMNP-TV-Z]{26}$`)
	e164Re    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	phoneKeys = []string{"from_number", "to_number", "did_number", "customer_number", "transfer_to_number"}
)

func TestSample(t *testing.T) {
	now := time.Date(2026, 4, 9, 7, 25, 0, 0, time.UTC)
	for _, ty := range catalog.Types() {
		t.Run(ty.ID, func(t *testing.T) {
			for seed := uint64(0); seed < 25; seed++ {
				m := catalog.Sample(ty.ID, now, rand.New(rand.NewPCG(seed, 7)))
				if m == nil {
					t.Fatal("Sample returned nil")
				}
				want := append(catalog.Fields(ty.ID), catalog.EnvelopeFields()...)
				slices.Sort(want)
				want = slices.Compact(want)
				got := make([]string, 0, len(m))
				for k := range m {
					got = append(got, k)
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d: keys\n got %q\nwant %q", seed, got, want)
				}
				if m["event"] != ty.ID {
					t.Errorf("seed %d: event = %v", seed, m["event"])
				}
				if id, _ := m["event_id"].(string); !eventIDRe.MatchString(id) {
					t.Errorf("seed %d: event_id = %q", seed, id)
				}
				for _, f := range catalog.TimeFields() {
					v, ok := m[f]
					if !ok || v == nil {
						continue
					}
					s, _ := v.(string)
					ts, err := time.Parse(catalog.TimeLayout, s)
					if err != nil || ts.Format(catalog.TimeLayout) != s {
						t.Errorf("seed %d: %s = %v is not in TimeLayout", seed, f, v)
					}
					if f != "due_at" && !ts.Before(now) {
						t.Errorf("seed %d: %s = %s is not before now", seed, f, s)
					}
				}
				for _, f := range phoneKeys {
					if v, ok := m[f]; ok && v != nil && !e164Re.MatchString(v.(string)) {
						t.Errorf("seed %d: %s = %v is not E.164", seed, f, v)
					}
				}
				checkTimeline(t, m)
				if !catalog.Subscribable(ty.ID) {
					if _, err := catalog.Normalize(m); err == nil {
						t.Errorf("Normalize accepted a %s sample", ty.ID)
					}
					continue
				}
				out, err := catalog.Normalize(m)
				if err != nil {
					t.Fatalf("seed %d: Normalize(Sample): %v", seed, err)
				}
				if !reflect.DeepEqual(out, m) {
					t.Fatalf("seed %d: Normalize changed the sample\n got %v\nwant %v", seed, out, m)
				}
			}
		})
	}
}

// checkTimeline asserts started <= answered <= ended <= occurred where set.
func checkTimeline(t *testing.T, m map[string]any) {
	t.Helper()
	var prev time.Time
	var prevName string
	for _, f := range []string{"started_at", "answered_at", "ended_at", "occurred_at"} {
		s, ok := m[f].(string)
		if !ok {
			continue
		}
		ts, _ := time.Parse(catalog.TimeLayout, s)
		if !prev.IsZero() && ts.Before(prev) {
			t.Errorf("%s %s is before %s %s", f, s, prevName, prev.Format(catalog.TimeLayout))
		}
		prev, prevName = ts, f
	}
}

func TestSampleDeterministic(t *testing.T) {
	now := time.Date(2026, 4, 9, 7, 25, 0, 0, time.UTC)
	for _, ty := range catalog.Types() {
		t.Run(ty.ID, func(t *testing.T) {
			a := catalog.Sample(ty.ID, now, rand.New(rand.NewPCG(42, 1)))
			b := catalog.Sample(ty.ID, now, rand.New(rand.NewPCG(42, 1)))
			if !reflect.DeepEqual(a, b) {
				t.Fatal("same seed, different samples")
			}
			c := catalog.Sample(ty.ID, now, rand.New(rand.NewPCG(43, 1)))
			if reflect.DeepEqual(a, c) {
				t.Fatal("different seeds, same sample")
			}
			if catalog.Sample(ty.ID, now, nil) == nil {
				t.Fatal("nil rnd gives no sample")
			}
		})
	}
	if catalog.Sample("call.nope", now, nil) != nil {
		t.Error("Sample of an unknown type is not nil")
	}
}

func TestSampleTerminalStatus(t *testing.T) {
	now := time.Now()
	tests := []struct {
		id, status string
	}{
		{"call.hangup", "answered"},
		{"call.missed", "missed"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			for seed := uint64(0); seed < 10; seed++ {
				m := catalog.Sample(tc.id, now, rand.New(rand.NewPCG(seed, 0)))
				if m["call_status"] != tc.status {
					t.Fatalf("call_status = %v, want %s", m["call_status"], tc.status)
				}
			}
		})
	}
}

func TestTestSample(t *testing.T) {
	now := time.Now()
	m, err := catalog.TestSample("message.received", now, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if m["event"] != "webhook.test" || m["sample_of"] != "message.received" || m["message_id"] == nil {
		t.Errorf("TestSample = %v", m)
	}
	for _, of := range []string{"webhook.test", "nope"} {
		if _, err := catalog.TestSample(of, now, nil); !errors.Is(err, catalog.ErrNotSubscribable) || !strings.Contains(err.Error(), of) {
			t.Errorf("TestSample(%q) error = %v", of, err)
		}
	}
}

func TestNewEventID(t *testing.T) {
	tests := []struct {
		name string
		now  time.Time
		rnd  []byte
		want string
	}{
		{"zero", time.UnixMilli(0), make([]byte, 10), "evt_00000000000000000000000000"},
		{"ulid spec time", time.UnixMilli(1469918176385), make([]byte, 10), "evt_01ARYZ6S410000000000000000"},
		{"max", time.UnixMilli(1<<48 - 1), bytes.Repeat([]byte{0xff}, 10), "evt_7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		{"before epoch clamps", time.UnixMilli(-5), make([]byte, 10), "evt_00000000000000000000000000"},
		{"random bits", time.UnixMilli(0), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "evt_00000000000000000000000001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := catalog.NewEventID(tc.now, bytes.NewReader(tc.rnd)); got != tc.want {
				t.Errorf("NewEventID = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("crypto fallback", func(t *testing.T) {
		a, b := catalog.NewEventID(time.Now(), nil), catalog.NewEventID(time.Now(), failingReader{})
		if !eventIDRe.MatchString(a) || !eventIDRe.MatchString(b) || a == b {
			t.Errorf("ids %s, %s", a, b)
		}
	})
	t.Run("sorts by time", func(t *testing.T) {
		t0 := time.Date(2026, 4, 9, 7, 24, 53, 0, time.UTC)
		a := catalog.NewEventID(t0, nil)
		b := catalog.NewEventID(t0.Add(time.Millisecond), nil)
		if a[:14] >= b[:14] {
			t.Errorf("%s !< %s", a, b)
		}
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("broken") }
