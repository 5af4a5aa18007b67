// Package safehttp provides the outbound HTTP client used for webhook
// deliveries. The client is SSRF-safe at dial time: every connection attempt
// is checked in [net.Dialer.Control], after DNS resolution, against the IP
// address that is actually being dialed. DNS rebinding therefore cannot slip
// a private address past the check, and because redirects are never followed
// and no proxy is used, there is no other path to an internal address.
//
// By default the client refuses loopback, private, link-local, CGNAT,
// multicast, unspecified, broadcast and other special-purpose addresses, as
// well as the well-known cloud metadata endpoints, including their
// IPv4-mapped IPv6 and NAT64 forms. A [Policy] can relax this for
// development and tests (AllowPrivate) or for specific networks (Allow).
//
// [Classify] turns a client error into the error kind and a short,
// secret-free message for a delivery attempt record.
package safehttp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Policy decides which destination IP addresses the client may connect to.
//
// The zero Policy is the safe default: only public unicast addresses are
// permitted.
type Policy struct {
	// AllowPrivate permits every address except the cloud metadata
	// endpoints (see [Policy.Permits]). Meant for development and tests
	// (RINGHOOK_ALLOW_PRIVATE_TARGETS).
	AllowPrivate bool
	// Allow is an explicit allow-list. An address contained in one of these
	// prefixes is permitted even when AllowPrivate is false, and even if it
	// is a metadata address. Prefixes are IPv4 or IPv6; IPv4-mapped IPv6
	// prefixes are treated as the IPv4 prefix they map.
	Allow []netip.Prefix
	// LoopbackOnly confines the client to loopback addresses and refuses
	// host names other than "localhost" before any DNS lookup. Test suites
	// set it so no request can leave the machine, whatever URLs they hold.
	LoopbackOnly bool
}

// ParsePolicy builds a Policy from the string values of environment
// variables. allowPrivate accepts "true", "1", "yes", "on", "false", "0",
// "no", "off" (case-insensitive) or "" (false). allowCIDRs is a
// comma-separated list of CIDR prefixes such as "10.1.0.0/16, fd12::/64";
// a bare IP address is accepted as a single-host prefix; empty items are
// ignored.
func ParsePolicy(allowPrivate string, allowCIDRs string) (Policy, error) {
	var p Policy
	switch strings.ToLower(strings.TrimSpace(allowPrivate)) {
	case "", "false", "0", "no", "off":
	case "true", "1", "yes", "on":
		p.AllowPrivate = true
	default:
		return Policy{}, fmt.Errorf("safehttp: invalid allow-private value %q: want true or false (1 or 0)", allowPrivate)
	}
	for item := range strings.SplitSeq(allowCIDRs, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		pfx, err := parsePrefix(item)
		if err != nil {
			return Policy{}, fmt.Errorf("safehttp: invalid allow-list entry %q: want a CIDR such as 10.0.0.0/8 or fd00::/8: %w", item, err)
		}
		p.Allow = append(p.Allow, pfx)
	}
	return p, nil
}

// parsePrefix parses a CIDR prefix or a bare address and normalises it
// (masked, IPv4-mapped IPv6 converted to IPv4).
func parsePrefix(s string) (netip.Prefix, error) {
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		addr, aerr := netip.ParseAddr(s)
		if aerr != nil || addr.Zone() != "" {
			return netip.Prefix{}, err
		}
		pfx = netip.PrefixFrom(addr, addr.BitLen())
	}
	return normalizePrefix(pfx), nil
}

// normalizePrefix masks p and turns an IPv4-mapped IPv6 prefix of at least
// 96 bits into the equivalent IPv4 prefix, so that it matches the unmapped
// addresses that Permits compares against.
func normalizePrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// Permits reports whether the client may connect to ip.
//
// The address is first normalised: an IPv6 zone is dropped and an
// IPv4-mapped IPv6 address is unmapped. Then, in order:
//   - an address inside one of p.Allow is permitted;
//   - a cloud metadata address (also when embedded in NAT64) is refused,
//     even with AllowPrivate;
//   - with AllowPrivate every other valid address is permitted;
//   - otherwise an address in a blocked range (loopback, private,
//     link-local, CGNAT, multicast, unspecified, broadcast, reserved and
//     other special-purpose ranges, or a NAT64 address embedding such an
//     IPv4 address) is refused and everything else is permitted.
//
// The zero Addr is never permitted.
func (p Policy) Permits(ip netip.Addr) bool {
	if p.LoopbackOnly {
		return normalizeAddr(ip).IsLoopback()
	}
	if !ip.IsValid() {
		return false
	}
	ip = normalizeAddr(ip)
	for _, pfx := range p.Allow {
		if normalizePrefix(pfx).Contains(ip) {
			return true
		}
	}
	if isMetadata(ip) {
		return false
	}
	if p.AllowPrivate {
		return true
	}
	return blockReason(ip) == ""
}

func normalizeAddr(ip netip.Addr) netip.Addr {
	return ip.WithZone("").Unmap()
}

// metadataAddrs are cloud instance metadata endpoints. They are refused
// even with AllowPrivate because they hand out credentials.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("169.254.169.254"), // AWS, GCP, Azure, OpenStack, DigitalOcean, ...
	netip.MustParseAddr("169.254.170.2"),   // AWS ECS task credentials
	netip.MustParseAddr("169.254.170.23"),  // AWS EKS pod identity
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("fd00:ec2::23"),    // AWS EKS pod identity over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud
}

// nat64WellKnown is the NAT64 well-known prefix (RFC 6052); its last 32
// bits are the IPv4 destination.
var nat64WellKnown = netip.MustParsePrefix("64:ff9b::/96")

// nat64Embedded returns the IPv4 address embedded in a well-known-prefix
// NAT64 address (RFC 6052), if ip is one.
func nat64Embedded(ip netip.Addr) (netip.Addr, bool) {
	if !nat64WellKnown.Contains(ip) {
		return netip.Addr{}, false
	}
	b := ip.As16()
	return netip.AddrFrom4([4]byte(b[12:16])), true
}

// isMetadata reports whether the normalised ip is a metadata address or a
// NAT64 address embedding one.
func isMetadata(ip netip.Addr) bool {
	if v4, ok := nat64Embedded(ip); ok {
		ip = v4
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return true
		}
	}
	return false
}

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// blockedRanges lists the address ranges refused by default. More specific
// entries come first so that the reported reason is the most precise one.
var blockedRanges = func() []blockedRange {
	list := []struct{ cidr, reason string }{
		// IPv4
		{"0.0.0.0/8", "unspecified or \"this network\" address"},
		{"10.0.0.0/8", "private address"},
		{"100.64.0.0/10", "carrier-grade NAT address"},
		{"127.0.0.0/8", "loopback address"},
		{"169.254.0.0/16", "link-local address"},
		{"172.16.0.0/12", "private address"},
		{"192.0.0.0/24", "IETF protocol assignment address"},
		{"192.168.0.0/16", "private address"},
		{"198.18.0.0/15", "benchmarking address"},
		{"224.0.0.0/4", "multicast address"},
		{"255.255.255.255/32", "broadcast address"},
		{"240.0.0.0/4", "reserved address"},
		// IPv6
		{"::/128", "unspecified address"},
		{"::1/128", "loopback address"},
		{"::/96", "IPv4-compatible IPv6 address"},
		{"64:ff9b:1::/48", "local-use NAT64 address"},
		{"100::/64", "discard-only address"},
		{"fc00::/7", "private (unique local) address"},
		{"fe80::/10", "link-local address"},
		{"fec0::/10", "site-local address"},
		{"ff00::/8", "multicast address"},
	}
	out := make([]blockedRange, len(list))
	for i, e := range list {
		out[i] = blockedRange{netip.MustParsePrefix(e.cidr), e.reason}
	}
	return out
}()

// blockReason returns why the normalised ip is refused by default, or ""
// if it is a permitted public address.
func blockReason(ip netip.Addr) string {
	if isMetadata(ip) {
		return "cloud metadata address"
	}
	if v4, ok := nat64Embedded(ip); ok {
		if r := blockReason(v4); r != "" {
			return "NAT64 form of " + r
		}
		return ""
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	return ""
}

// Refusal says why deliveries to host (a URL's host, without port) would
// be refused by p, or "" when they would not (or it cannot tell: a name
// that does not resolve). It applies the rule Permits applies at dial
// time, to the host's literal address or, for a name, to each address it
// resolves to now; LoopbackOnly (a test confinement, not the rule) is left
// out, and with it set names other than localhost are not looked up.
func (p Policy) Refusal(ctx context.Context, host string) string {
	rule := p
	rule.LoopbackOnly = false
	host = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(host, "]"), "["), ".")
	var addrs []netip.Addr
	lower := strings.ToLower(host)
	switch ip, err := netip.ParseAddr(host); {
	case err == nil:
		addrs = []netip.Addr{ip}
	case lower == "localhost" || strings.HasSuffix(lower, ".localhost"):
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	case p.LoopbackOnly || host == "":
		return ""
	default:
		found, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return ""
		}
		addrs = found
	}
	for _, ip := range addrs {
		if rule.Permits(ip) {
			continue
		}
		reason := blockReason(normalizeAddr(ip))
		if reason == "" {
			reason = "not permitted by policy"
		}
		if ip.String() != host {
			return fmt.Sprintf("%s resolves to %s, %s", host, ip, article(reason))
		}
		return fmt.Sprintf("%s is %s", ip, article(reason))
	}
	return ""
}

// article puts "a" or "an" before a reason.
func article(s string) string {
	if strings.ContainsAny(s[:1], "aeiouAEIOU") {
		return "an " + s
	}
	return "a " + s
}
