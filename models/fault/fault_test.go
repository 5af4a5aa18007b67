package fault_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models/fault"
)

func TestIsText(t *testing.T) {
	cases := []struct {
		s    string
		text bool
	}{
		{"", true},
		{"plain", true},
		{"tab\tand\nnewline", true},
		{"emoji 💥", true},
		{"a\x00b", false},
		{"\xff\xfe", false},
		{"truncated \xe2\x82", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.s), func(t *testing.T) {
			if fault.IsText(tc.s) != tc.text {
				t.Fatalf("IsText = %v", !tc.text)
			}
			fe := fault.FieldErrors{}
			if fe.CheckText("f", "ok", tc.s) != tc.text || (fe["f"] == fault.TextMessage) == tc.text {
				t.Fatalf("CheckText: %v", fe)
			}
		})
	}
}

func TestFieldErrors(t *testing.T) {
	fe := fault.FieldErrors{}
	if fe.Err() != nil {
		t.Fatal("empty FieldErrors is an error")
	}
	fe.Add("b", "first")
	fe.Add("b", "second")
	for _, k := range []string{"a", "c", "d", "e", "f"} {
		fe.Add(k, "bad")
	}
	err := fmt.Errorf("save: %w", fe.Err())
	if !errors.Is(err, fault.ErrInvalid) {
		t.Error("FieldErrors is not ErrInvalid")
	}
	if fe["b"] != "first" {
		t.Errorf("Add replaced the first message: %q", fe["b"])
	}
	if got, want := fe.Summary(), "a: bad; b: first; c: bad; d: bad; e: bad; and 1 more"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if !strings.HasPrefix(fe.Error(), "invalid input: a: bad") {
		t.Errorf("Error = %q", fe.Error())
	}
}

func TestError(t *testing.T) {
	cause := errors.New("pq: connection refused")
	e := fault.Errorf(fault.ErrUnavailable, "Try again in %d minutes.", 5).WithCause(cause)
	err := fmt.Errorf("handler: %w", e)
	if !errors.Is(err, fault.ErrUnavailable) || !errors.Is(err, cause) || errors.Is(err, fault.ErrNotFound) {
		t.Error("kind or cause not in the chain")
	}
	if fault.Message(err) != "Try again in 5 minutes." || strings.Contains(fault.Message(err), "pq:") {
		t.Errorf("Message = %q", fault.Message(err))
	}
	if !strings.Contains(err.Error(), "pq: connection refused") {
		t.Error("the cause is missing from the log text")
	}
	if fault.Message(fault.ErrNotFound) != "" {
		t.Error("a bare sentinel has a public message")
	}
}
