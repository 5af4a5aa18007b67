package safehttp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// DefaultMaxIdleConnsPerHost is used when Options.MaxIdleConnsPerHost is
// not positive.
const DefaultMaxIdleConnsPerHost = 64

// Transport settings used by [NewClient]. The response header timeout is a
// backstop only; the per-request deadline comes from the request context.
const (
	dialTimeout                  = 10 * time.Second
	tlsHandshakeTimeout          = 10 * time.Second
	responseHeaderTimeout        = 60 * time.Second
	defaultKeepAlive             = 30 * time.Second
	defaultIdleConnTimeout       = 90 * time.Second
	defaultMaxResponseHeaderSize = 1 << 20
)

// Options tunes the client built by [NewClient]. Zero values select the
// defaults.
type Options struct {
	// MaxIdleConnsPerHost bounds the idle keep-alive connections kept per
	// destination host. Default DefaultMaxIdleConnsPerHost.
	MaxIdleConnsPerHost int
}

// BlockedError is returned, wrapped in the dial error, when the policy
// refuses the IP address about to be dialed.
type BlockedError struct {
	// IP is the refused destination address as dialed.
	IP netip.Addr
}

// Error describes the refused address and why it is refused by default.
func (e *BlockedError) Error() string {
	reason := blockReason(normalizeAddr(e.IP))
	if reason == "" {
		reason = "not permitted by policy"
	}
	return fmt.Sprintf("destination %s refused: %s", e.IP, reason)
}

// NewClient returns an HTTP client for webhook deliveries that only
// connects to addresses permitted by p.
//
// The policy is enforced in net.Dialer.Control on the resolved address of
// every connection, so DNS rebinding cannot bypass it. Redirects are not
// followed: the 3xx response itself is returned. No proxy is used, not even
// one from the environment, because a proxy would dial on our behalf. The
// transport speaks HTTP/1.1 and HTTP/2 (over TLS), keeps connections alive
// and has dial, TLS handshake and response header timeouts; the overall
// per-request timeout is the caller's, through the request context.
func NewClient(p Policy, opts Options) *http.Client {
	return newClient(p, opts, nil)
}

// newClient is NewClient with an optional name resolver (nil: the default
// resolver); tests use it to keep DNS traffic on loopback.
func newClient(p Policy, opts Options, resolver *net.Resolver) *http.Client {
	maxIdle := opts.MaxIdleConnsPerHost
	if maxIdle <= 0 {
		maxIdle = DefaultMaxIdleConnsPerHost
	}
	dialer := &net.Dialer{
		Timeout:   dialTimeout,
		KeepAlive: defaultKeepAlive,
		Control:   p.control,
		Resolver:  resolver,
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true)
	dial := dialer.DialContext
	if p.LoopbackOnly {
		dial = func(ctx context.Context, network, address string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return nil, fmt.Errorf("safehttp: %w", err)
			}
			if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
				return nil, &BlockedError{IP: ip}
			}
			return dialer.DialContext(ctx, network, address)
		}
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ResponseHeaderTimeout:  responseHeaderTimeout,
		ExpectContinueTimeout:  1 * time.Second,
		IdleConnTimeout:        defaultIdleConnTimeout,
		MaxIdleConnsPerHost:    maxIdle,
		MaxResponseHeaderBytes: defaultMaxResponseHeaderSize,
		Protocols:              &protocols,
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// control is the net.Dialer.Control hook. address is the literal IP and
// port about to be connected to, after name resolution.
func (p Policy) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("safehttp: refusing to dial unparsable address %q on %s: %w", address, network, err)
	}
	if !p.Permits(ap.Addr()) {
		return &BlockedError{IP: ap.Addr()}
	}
	return nil
}
