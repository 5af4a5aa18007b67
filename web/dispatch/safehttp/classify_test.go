package safehttp

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/ringhook/ringhook/models"
)

// TestClassifyErrorValues covers error shapes that are awkward to provoke
// with real sockets. The real-socket cases are in TestClassifyRealErrors.
func TestClassifyErrorValues(t *testing.T) {
	const secretURL = "https://user:pa55@hooks.example.com/in?token=s3cr3t#frag"
	wrapURL := func(err error) error { return &url.Error{Op: "Post", URL: secretURL, Err: err} }
	dialErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(203, 0, 113, 7), Port: 443}, Err: err}
	}
	tests := []struct {
		name     string
		err      error
		wantKind models.ErrorKind
		wantMsg  string
	}{
		{"nil", nil, "", ""},
		{"blocked", wrapURL(dialErr(&BlockedError{IP: netip.MustParseAddr("10.0.0.1")})), models.ErrKindBlocked, "10.0.0.1 refused: private address"},
		{"blocked mapped", wrapURL(dialErr(&BlockedError{IP: netip.MustParseAddr("::ffff:127.0.0.1")})), models.ErrKindBlocked, "loopback"},
		{"deadline", wrapURL(context.DeadlineExceeded), models.ErrKindTimeout, "timed out"},
		{"deadline wrapped", wrapURL(fmt.Errorf("reading body: %w", os.ErrDeadlineExceeded)), models.ErrKindTimeout, "timed out"},
		{"net timeout", wrapURL(dialErr(&timeoutErr{})), models.ErrKindTimeout, "i/o timeout"},
		{"dns not found", wrapURL(dialErr(&net.DNSError{Err: "no such host", Name: "hooks.example.com", IsNotFound: true})), models.ErrKindDNS, "DNS lookup of hooks.example.com failed: no such host"},
		{"dns server failure", wrapURL(dialErr(&net.DNSError{Err: "server misbehaving", Name: "hooks.example.com"})), models.ErrKindDNS, "server misbehaving"},
		{"dns timeout", wrapURL(dialErr(&net.DNSError{Err: "i/o timeout", Name: "hooks.example.com", IsTimeout: true})), models.ErrKindTimeout, "timed out"},
		{"x509 unknown authority", wrapURL(x509.UnknownAuthorityError{}), models.ErrKindTLS, "TLS error"},
		{"x509 hostname", wrapURL(x509.HostnameError{Certificate: &x509.Certificate{}, Host: "hooks.example.com"}), models.ErrKindTLS, "TLS error"},
		{"tls remote alert", wrapURL(&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}), models.ErrKindTLS, "handshake failure"},
		{"tls plain error", wrapURL(errors.New("tls: first record does not look like a TLS handshake")), models.ErrKindTLS, "first record"},
		{"refused", wrapURL(dialErr(&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED})), models.ErrKindConnect, "connection refused"},
		{"reset", wrapURL(&net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNRESET}}), models.ErrKindConnect, "connection reset"},
		{"eof", wrapURL(io.EOF), models.ErrKindConnect, "connection closed by the server"},
		{"canceled", wrapURL(context.Canceled), models.ErrKindConnect, "request canceled"},
		{"other", wrapURL(errors.New("something odd")), models.ErrKindConnect, "something odd"},
		{"url error buried", fmt.Errorf("send: %w", wrapURL(errors.New("boom"))), models.ErrKindConnect, "https://hooks.example.com/in"},
		{"nested url errors", wrapURL(wrapURL(errors.New("boom"))), models.ErrKindConnect, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, msg := Classify(tt.err)
			if kind != tt.wantKind {
				t.Errorf("kind = %q, want %q (message %q)", kind, tt.wantKind, msg)
			}
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q does not contain %q", msg, tt.wantMsg)
			}
			for _, secret := range []string{"s3cr3t", "token", "pa55", "frag"} {
				if strings.Contains(msg, secret) {
					t.Errorf("message %q leaks %q", msg, secret)
				}
			}
		})
	}
}

func TestClassifyMessageLength(t *testing.T) {
	_, msg := Classify(errors.New(strings.Repeat("é", 1000)))
	if len(msg) > maxMessageLen+len("…") {
		t.Errorf("message is %d bytes, want at most %d", len(msg), maxMessageLen+len("…"))
	}
	if !strings.HasSuffix(msg, "…") {
		t.Errorf("truncated message %q does not end with an ellipsis", msg)
	}
	if !utf8.ValidString(msg) {
		t.Errorf("truncated message is not valid UTF-8")
	}
}

type timeoutErr struct{}

func (*timeoutErr) Error() string   { return "i/o timeout" }
func (*timeoutErr) Timeout() bool   { return true }
func (*timeoutErr) Temporary() bool { return true }
