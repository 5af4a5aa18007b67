package safehttp

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestPermitsDefaultPolicy(t *testing.T) {
	tests := []struct {
		ip   string
		want bool // with the zero Policy
		// wantPrivate is the result with AllowPrivate: true.
		wantPrivate bool
	}{
		// Loopback.
		{"127.0.0.1", false, true},
		{"127.255.255.254", false, true},
		{"::1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"64:ff9b::7f00:1", false, true},
		// RFC 1918 / unique local.
		{"10.0.0.1", false, true},
		{"10.255.255.255", false, true},
		{"172.16.0.1", false, true},
		{"172.31.255.255", false, true},
		{"192.168.1.1", false, true},
		{"fc00::1", false, true},
		{"fd12:3456::1", false, true},
		{"::ffff:10.1.2.3", false, true},
		{"::ffff:192.168.0.1", false, true},
		{"64:ff9b::a00:1", false, true},    // NAT64 of 10.0.0.1
		{"64:ff9b::c0a8:101", false, true}, // NAT64 of 192.168.1.1
		{"64:ff9b::ac10:1", false, true},   // NAT64 of 172.16.0.1
		{"64:ff9b:1::a00:1", false, true},  // local-use NAT64
		{"0:0:0:0:0:ffff:ac1f:ffff", false, true},
		// Link-local.
		{"169.254.1.1", false, true},
		{"fe80::1", false, true},
		{"fe80::1%eth0", false, true},
		{"febf:ffff::1", false, true},
		{"::ffff:169.254.1.1", false, true},
		// Multicast.
		{"224.0.0.1", false, true},
		{"239.255.255.250", false, true},
		{"ff02::1", false, true},
		{"ff0e::1", false, true},
		{"::ffff:224.0.0.251", false, true},
		// Unspecified and "this network".
		{"0.0.0.0", false, true},
		{"0.1.2.3", false, true},
		{"::", false, true},
		{"::ffff:0.0.0.0", false, true},
		{"64:ff9b::", false, true},
		// CGNAT.
		{"100.64.0.1", false, true},
		{"100.127.255.255", false, true},
		{"::ffff:100.64.0.1", false, true},
		// Cloud metadata: refused even with AllowPrivate.
		{"169.254.169.254", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"64:ff9b::a9fe:a9fe", false, false},
		{"fd00:ec2::254", false, false},
		{"100.100.100.200", false, false},
		{"::ffff:100.100.100.200", false, false},
		{"64:ff9b::6464:64c8", false, false},
		{"169.254.170.2", false, false},
		{"192.0.0.192", false, false},
		// Broadcast and reserved.
		{"255.255.255.255", false, true},
		{"::ffff:255.255.255.255", false, true},
		{"240.0.0.1", false, true},
		// IETF protocol assignments and benchmarking.
		{"192.0.0.1", false, true},
		{"192.0.0.255", false, true},
		{"198.18.0.1", false, true},
		{"198.19.255.255", false, true},
		{"::ffff:198.18.0.1", false, true},
		{"64:ff9b::c612:1", false, true},
		// Other special IPv6.
		{"::7f00:1", false, true}, // IPv4-compatible
		{"fec0::1", false, true},  // site-local
		{"100::1", false, true},   // discard-only
		// Public addresses (never dialed; Permits only).
		{"8.8.8.8", true, true},
		{"1.1.1.1", true, true},
		{"2606:4700::1111", true, true},
		{"2001:4860:4860::8888", true, true},
		{"::ffff:8.8.8.8", true, true},
		{"64:ff9b::808:808", true, true}, // NAT64 of 8.8.8.8
		{"100.63.255.255", true, true},   // just below CGNAT
		{"100.128.0.0", true, true},      // just above CGNAT
		{"172.15.255.255", true, true},   // just below 172.16/12
		{"172.32.0.0", true, true},       // just above 172.16/12
		{"198.17.255.255", true, true},   // just below 198.18/15
		{"198.20.0.0", true, true},       // just above 198.18/15
		{"192.0.1.1", true, true},        // just above 192.0.0/24
		{"223.255.255.255", true, true},  // just below multicast
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.ip)
			if got := (Policy{}).Permits(ip); got != tt.want {
				t.Errorf("Policy{}.Permits(%s) = %v, want %v", ip, got, tt.want)
			}
			if got := (Policy{AllowPrivate: true}).Permits(ip); got != tt.wantPrivate {
				t.Errorf("Policy{AllowPrivate: true}.Permits(%s) = %v, want %v", ip, got, tt.wantPrivate)
			}
		})
	}
}

func TestPermitsZeroAddr(t *testing.T) {
	for _, p := range []Policy{{}, {AllowPrivate: true}, {Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}} {
		if p.Permits(netip.Addr{}) {
			t.Errorf("%+v.Permits(zero Addr) = true, want false", p)
		}
	}
}

func TestPermitsAllowList(t *testing.T) {
	p := Policy{Allow: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.20.0.0/16"),
		netip.MustParsePrefix("fd12::/64"),
		netip.MustParsePrefix("::ffff:192.168.7.0/120"), // mapped form of 192.168.7.0/24
		netip.MustParsePrefix("169.254.169.254/32"),     // explicit metadata opt-in
	}}
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true},
		{"::ffff:127.0.0.1", true},
		{"127.0.0.2", false},
		{"::1", false},
		{"10.20.3.4", true},
		{"10.21.0.1", false},
		{"fd12::5", true},
		{"fd12:0:0:1::5", false},
		{"192.168.7.9", true},
		{"::ffff:192.168.7.9", true},
		{"192.168.8.1", false},
		{"169.254.169.254", true},
		{"169.254.1.1", false},
		{"8.8.8.8", true}, // public addresses stay permitted
	}
	for _, tt := range tests {
		if got := p.Permits(netip.MustParseAddr(tt.ip)); got != tt.want {
			t.Errorf("Permits(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	pfx := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, v := range s {
			out = append(out, netip.MustParsePrefix(v))
		}
		return out
	}
	tests := []struct {
		name, private, cidrs string
		want                 Policy
	}{
		{"empty", "", "", Policy{}},
		{"true", "true", "", Policy{AllowPrivate: true}},
		{"TRUE spaced", " TRUE ", "", Policy{AllowPrivate: true}},
		{"one", "1", "", Policy{AllowPrivate: true}},
		{"false", "false", "", Policy{}},
		{"zero", "0", "", Policy{}},
		{"cidrs", "", "10.0.0.0/8, fd00::/8,,192.168.1.0/24 ", Policy{Allow: pfx("10.0.0.0/8", "fd00::/8", "192.168.1.0/24")}},
		{"bare addresses", "", "127.0.0.1,::1", Policy{Allow: pfx("127.0.0.1/32", "::1/128")}},
		{"masked", "", "10.1.2.3/8", Policy{Allow: pfx("10.0.0.0/8")}},
		{"mapped", "", "::ffff:10.0.0.0/104", Policy{Allow: pfx("10.0.0.0/8")}},
		{"both", "1", "172.16.0.0/12", Policy{AllowPrivate: true, Allow: pfx("172.16.0.0/12")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePolicy(tt.private, tt.cidrs)
			if err != nil {
				t.Fatalf("ParsePolicy(%q, %q): %v", tt.private, tt.cidrs, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParsePolicy(%q, %q) = %+v, want %+v", tt.private, tt.cidrs, got, tt.want)
			}
		})
	}
}

func TestParsePolicyErrors(t *testing.T) {
	tests := []struct {
		name, private, cidrs, wantInErr string
	}{
		{"bad bool", "maybe", "", `"maybe"`},
		{"bad cidr", "", "10.0.0.0/8,not-a-cidr", `"not-a-cidr"`},
		{"bad bits", "", "10.0.0.0/33", `"10.0.0.0/33"`},
		{"zone", "", "fe80::1%eth0", `"fe80::1%eth0"`},
		{"hostname", "", "example.com", `"example.com"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy(tt.private, tt.cidrs)
			if err == nil {
				t.Fatalf("ParsePolicy(%q, %q) succeeded, want error", tt.private, tt.cidrs)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error %q does not mention %s", err, tt.wantInErr)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	p := Policy{LoopbackOnly: true, AllowPrivate: true, Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}}
	for addr, want := range map[string]bool{"127.0.0.1": true, "::1": true, "::ffff:127.0.0.1": true, "10.0.0.1": false, "8.8.8.8": false} {
		if got := p.Permits(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Permits(%s) = %v, want %v", addr, got, want)
		}
	}
	res, err := NewClient(p, Options{}).Get("http://example.invalid/")
	if err == nil {
		res.Body.Close()
		t.Fatal("a host name was dialed")
	}
	var be *BlockedError
	if !errors.As(err, &be) {
		t.Fatalf("want BlockedError before any lookup, got %v", err)
	}
}

func TestRefusal(t *testing.T) {
	ctx := context.Background()
	prod, dev := Policy{}, Policy{AllowPrivate: true}
	allow := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}
	cases := []struct {
		p    Policy
		host string
		want string // "" permitted
	}{
		{prod, "10.0.0.5", "10.0.0.5 is a private address"},
		{prod, "169.254.169.254", "169.254.169.254 is a cloud metadata address"},
		{prod, "[::1]", "::1 is a loopback address"},
		{prod, "localhost", "localhost resolves to 127.0.0.1, a loopback address"},
		{prod, "8.8.8.8", ""},
		{dev, "10.0.0.5", ""},
		{dev, "169.254.169.254", "169.254.169.254 is a cloud metadata address"},
		{allow, "10.1.2.3", ""},
		{allow, "10.2.0.1", "10.2.0.1 is a private address"},
		// LoopbackOnly confines sends, not the rule; names are not looked up under it.
		{Policy{LoopbackOnly: true}, "192.168.1.1", "192.168.1.1 is a private address"},
		{Policy{LoopbackOnly: true}, "hooks.example.com", ""},
	}
	for _, tc := range cases {
		if got := tc.p.Refusal(ctx, tc.host); got != tc.want {
			t.Errorf("%+v.Refusal(%q) = %q, want %q", tc.p, tc.host, got, tc.want)
		}
	}
}
