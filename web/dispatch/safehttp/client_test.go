package safehttp

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// countingServer starts an httptest server on 127.0.0.1 whose handler
// counts requests and answers 200 "ok".
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func get(t *testing.T, c *http.Client, ctx context.Context, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestClientPolicy(t *testing.T) {
	srv, hits := countingServer(t)
	tests := []struct {
		name        string
		policy      Policy
		wantBlocked bool
	}{
		{"default refuses loopback", Policy{}, true},
		{"allow-list of another host refuses", Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}, true},
		{"AllowPrivate reaches loopback", Policy{AllowPrivate: true}, false},
		{"allow-list reaches loopback", Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hits.Load()
			c := NewClient(tt.policy, Options{})
			resp, err := get(t, c, t.Context(), srv.URL+"/hook?token=s3cr3t")
			if !tt.wantBlocked {
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status = %d, want 200", resp.StatusCode)
				}
				if hits.Load() != before+1 {
					t.Fatalf("server saw %d requests, want 1", hits.Load()-before)
				}
				return
			}
			if err == nil {
				t.Fatalf("GET succeeded with status %d, want a blocked error", resp.StatusCode)
			}
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("error %v (%T) does not wrap *BlockedError", err, err)
			}
			if want := netip.MustParseAddr("127.0.0.1"); be.IP != want {
				t.Errorf("BlockedError.IP = %s, want %s", be.IP, want)
			}
			kind, msg := Classify(err)
			if kind != models.ErrKindBlocked {
				t.Errorf("Classify kind = %q, want %q (message %q)", kind, models.ErrKindBlocked, msg)
			}
			if strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "/hook") {
				t.Errorf("Classify message leaks the URL: %q", msg)
			}
			if hits.Load() != before {
				t.Errorf("server saw a request despite the block")
			}
		})
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	for _, code := range []int{
		http.StatusMovedPermanently,
		http.StatusFound,
		http.StatusSeeOther,
		http.StatusTemporaryRedirect,
		http.StatusPermanentRedirect,
	} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			var followed atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/target" {
					followed.Store(true)
					return
				}
				http.Redirect(w, r, "/target", code)
			}))
			defer srv.Close()
			c := NewClient(Policy{AllowPrivate: true}, Options{})
			resp, err := get(t, c, t.Context(), srv.URL+"/start")
			if err != nil {
				t.Fatalf("GET: %v", err)
			}
			if resp.StatusCode != code {
				t.Errorf("status = %d, want %d", resp.StatusCode, code)
			}
			if loc := resp.Header.Get("Location"); loc != "/target" {
				t.Errorf("Location = %q, want /target", loc)
			}
			if followed.Load() {
				t.Error("the redirect was followed")
			}
		})
	}
}

func TestClientTransportSettings(t *testing.T) {
	tests := []struct {
		opts        Options
		wantMaxIdle int
	}{
		{Options{}, DefaultMaxIdleConnsPerHost},
		{Options{MaxIdleConnsPerHost: -1}, DefaultMaxIdleConnsPerHost},
		{Options{MaxIdleConnsPerHost: 8}, 8},
	}
	for _, tt := range tests {
		c := NewClient(Policy{}, tt.opts)
		tr, ok := c.Transport.(*http.Transport)
		if !ok {
			t.Fatalf("Transport is %T, want *http.Transport", c.Transport)
		}
		if tr.Proxy != nil {
			t.Error("Transport.Proxy is set; a proxy would bypass the dial check")
		}
		if tr.MaxIdleConnsPerHost != tt.wantMaxIdle {
			t.Errorf("MaxIdleConnsPerHost = %d, want %d", tr.MaxIdleConnsPerHost, tt.wantMaxIdle)
		}
		if tr.DisableKeepAlives {
			t.Error("keep-alives are disabled")
		}
		if tr.TLSHandshakeTimeout <= 0 || tr.ResponseHeaderTimeout <= 0 {
			t.Errorf("missing timeouts: TLS handshake %v, response header %v", tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
		}
		if p := tr.Protocols; p == nil || !p.HTTP1() || !p.HTTP2() {
			t.Errorf("Protocols = %v, want HTTP1 and HTTP2", p)
		}
		if c.CheckRedirect == nil || !errors.Is(c.CheckRedirect(nil, nil), http.ErrUseLastResponse) {
			t.Error("CheckRedirect does not return http.ErrUseLastResponse")
		}
	}
}

// TestClassifyRealErrors provokes each failure kind with real sockets on
// loopback and checks Classify.
func TestClassifyRealErrors(t *testing.T) {
	// A handler that blocks until the client gives up.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer slow.Close()

	// A port that was just closed: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	// A TLS server whose certificate the client does not trust.
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshake is expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	// A plain HTTP server asked for HTTPS.
	plain, _ := countingServer(t)

	// Name resolution goes to a DNS server on loopback so that nothing
	// leaves the machine: it answers NXDOMAIN under .invalid and 127.0.0.1
	// for any other name.
	resolver := loopbackResolver(t)

	tests := []struct {
		name     string
		policy   Policy
		url      string
		timeout  time.Duration
		wantKind models.ErrorKind
		wantMsg  string
	}{
		{"timeout", Policy{AllowPrivate: true}, slow.URL + "/?sig=s3cr3t", 100 * time.Millisecond, models.ErrKindTimeout, "timed out"},
		{"dns", Policy{AllowPrivate: true}, "http://hook.ringhook.invalid/?sig=s3cr3t", 0, models.ErrKindDNS, "hook.ringhook.invalid"},
		{"connect refused", Policy{AllowPrivate: true}, "http://" + closedAddr + "/?sig=s3cr3t", 0, models.ErrKindConnect, "refused"},
		{"tls untrusted", Policy{AllowPrivate: true}, tlsSrv.URL + "/?sig=s3cr3t", 0, models.ErrKindTLS, "certificate"},
		{"tls to plain http", Policy{AllowPrivate: true}, strings.Replace(plain.URL, "http:", "https:", 1) + "/?sig=s3cr3t", 0, models.ErrKindTLS, "TLS"},
		{"rebinding name to loopback", Policy{}, "http://rebind.ringhook.test:" + portOf(t, plain.URL) + "/?sig=s3cr3t", 0, models.ErrKindBlocked, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			c := newClient(tt.policy, Options{}, resolver)
			resp, err := get(t, c, ctx, tt.url)
			if err == nil {
				t.Fatalf("GET %s succeeded with status %d, want an error", tt.url, resp.StatusCode)
			}
			kind, msg := Classify(err)
			if kind != tt.wantKind {
				t.Errorf("Classify(%v) kind = %q, want %q", err, kind, tt.wantKind)
			}
			if !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("Classify message %q does not contain %q", msg, tt.wantMsg)
			}
			if strings.Contains(msg, "s3cr3t") || strings.Contains(msg, "sig=") {
				t.Errorf("Classify message leaks the query string: %q", msg)
			}
			t.Logf("%s: %q", kind, msg)
		})
	}
}

func portOf(t *testing.T, rawURL string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(rawURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// loopbackResolver returns a pure-Go resolver that sends every query to a
// minimal DNS server on 127.0.0.1. The server answers NXDOMAIN for names
// under .invalid, an A record 127.0.0.1 for other A queries and an empty
// answer otherwise.
func loopbackResolver(t *testing.T) *net.Resolver {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go serveDNS(pc)
	addr := pc.LocalAddr().String()
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", addr)
		},
	}
}

func serveDNS(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := dnsAnswer(buf[:n]); resp != nil {
			pc.WriteTo(resp, from)
		}
	}
}

// dnsAnswer builds the response to a single-question DNS query.
func dnsAnswer(q []byte) []byte {
	if len(q) < 12 {
		return nil
	}
	// Walk the question name.
	i := 12
	var labels []string
	for {
		if i >= len(q) {
			return nil
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[12 : i+4]

	resp := make([]byte, 12, 64)
	copy(resp, q[:2])                       // ID
	resp[2] = 0x80 | q[2]&0x01              // QR, RD copied
	resp[3] = 0x80                          // RA, RCODE 0
	binary.BigEndian.PutUint16(resp[4:], 1) // QDCOUNT
	name := strings.ToLower(strings.Join(labels, "."))
	var answers uint16
	switch {
	case name == "invalid" || strings.HasSuffix(name, ".invalid"):
		resp[3] |= 3 // NXDOMAIN
	case qtype == 1: // A
		answers = 1
	}
	binary.BigEndian.PutUint16(resp[6:], answers) // ANCOUNT
	resp = append(resp, question...)
	if answers == 1 {
		resp = append(resp,
			0xc0, 0x0c, // name: pointer to the question
			0, 1, 0, 1, // type A, class IN
			0, 0, 0, 0, // TTL 0
			0, 4, 127, 0, 0, 1)
	}
	return resp
}
