package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ringhook/ringhook/handlers"
	"github.com/ringhook/ringhook/models/crypto"
	"github.com/ringhook/ringhook/web/dispatch"
)

// config is everything the environment can set.
type config struct {
	DatabaseURL         string
	DataDir             string // for the private PostgreSQL, session key and dev login
	Addr                string
	Role                role   // RINGHOOK_ROLE: all, web or dispatcher
	MetricsAddr         string // RINGHOOK_METRICS_ADDR: a listener for /metrics alone; empty: none
	MetricsToken        string // RINGHOOK_METRICS_TOKEN: bearer token /metrics asks for; also serves it on Addr
	SessionKey          []byte
	EncryptionKey       []byte   // RINGHOOK_ENCRYPTION_KEY; nil: kept in DataDir (see keyring)
	OldEncryptionKeys   [][]byte // RINGHOOK_ENCRYPTION_OLD_KEYS, still opened during a rotation
	SecureCookies       bool
	TrustedProxies      []*net.IPNet // whose X-Forwarded-For is believed; none by default
	PublicURL           string       // RINGHOOK_PUBLIC_URL: the console's address for links handed out
	AllowPrivateTargets string
	AllowCIDRs          string
	Workers             int
	PerWebhook          int
	AutoDisableFailures int
	AutoDisableWindow   time.Duration
	ShutdownTimeout     time.Duration
	APILimits           handlers.APILimits
}

func loadConfig() (config, error) {
	c := config{
		DatabaseURL:         os.Getenv("DATABASE_URL"),
		DataDir:             envOr("RINGHOOK_DATA_DIR", ".data"),
		Addr:                envOr("RINGHOOK_ADDR", "127.0.0.1:8080"),
		SecureCookies:       os.Getenv("RINGHOOK_SECURE_COOKIES") == "true",
		AllowPrivateTargets: os.Getenv("RINGHOOK_ALLOW_PRIVATE_TARGETS"),
		AllowCIDRs:          os.Getenv("RINGHOOK_ALLOW_CIDRS"),
		MetricsAddr:         strings.TrimSpace(os.Getenv("RINGHOOK_METRICS_ADDR")),
		MetricsToken:        strings.TrimSpace(os.Getenv("RINGHOOK_METRICS_TOKEN")),
		ShutdownTimeout:     15 * time.Second,
	}
	var err error
	if c.Role, err = parseRole(strings.TrimSpace(os.Getenv("RINGHOOK_ROLE"))); err != nil {
		return c, err
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return c, errors.New("RINGHOOK_METRICS_TOKEN must be at least 16 characters")
	}
	if c.Workers, err = positiveEnv("RINGHOOK_WORKERS", dispatch.DefaultWorkers); err != nil {
		return c, err
	}
	if c.PerWebhook, err = positiveEnv("RINGHOOK_PER_WEBHOOK_INFLIGHT", dispatch.DefaultPerWebhook); err != nil {
		return c, err
	}
	if c.AutoDisableFailures, err = positiveEnv("RINGHOOK_AUTO_DISABLE_FAILURES", 50); err != nil {
		return c, err
	}
	if c.AutoDisableWindow, err = time.ParseDuration(envOr("RINGHOOK_AUTO_DISABLE_WINDOW", "1h")); err != nil || c.AutoDisableWindow < 0 {
		return c, fmt.Errorf("RINGHOOK_AUTO_DISABLE_WINDOW must be a duration such as 1h or 30m")
	}
	if c.TrustedProxies, err = parseCIDRs(os.Getenv("RINGHOOK_TRUSTED_PROXIES")); err != nil {
		return c, fmt.Errorf("RINGHOOK_TRUSTED_PROXIES: %w", err)
	}
	if c.PublicURL, err = parsePublicURL(strings.TrimSpace(os.Getenv("RINGHOOK_PUBLIC_URL"))); err != nil {
		return c, err
	}
	if c.APILimits.Rate, err = strconv.ParseFloat(envOr("RINGHOOK_API_RATE", "50"), 64); err != nil || !(c.APILimits.Rate > 0) || math.IsInf(c.APILimits.Rate, 0) {
		return c, fmt.Errorf("RINGHOOK_API_RATE must be a positive number of requests per second")
	}
	if c.APILimits.IngestRate, err = strconv.ParseFloat(envOr("RINGHOOK_API_INGEST_RATE", "20000"), 64); err != nil || !(c.APILimits.IngestRate > 0) || math.IsInf(c.APILimits.IngestRate, 0) {
		return c, fmt.Errorf("RINGHOOK_API_INGEST_RATE must be a positive number of requests per second")
	}
	if k := os.Getenv("RINGHOOK_SESSION_KEY"); k != "" {
		if c.SessionKey, err = hex.DecodeString(k); err != nil || len(c.SessionKey) < 32 {
			return c, errors.New("RINGHOOK_SESSION_KEY must be at least 64 hex characters (32 bytes)")
		}
	}
	if k := os.Getenv("RINGHOOK_ENCRYPTION_KEY"); k != "" {
		if c.EncryptionKey, err = crypto.ParseKey(k); err != nil {
			return c, fmt.Errorf("RINGHOOK_ENCRYPTION_KEY: %w", err)
		}
	}
	for _, k := range strings.Split(os.Getenv("RINGHOOK_ENCRYPTION_OLD_KEYS"), ",") {
		if strings.TrimSpace(k) == "" {
			continue
		}
		old, err := crypto.ParseKey(k)
		if err != nil {
			return c, fmt.Errorf("RINGHOOK_ENCRYPTION_OLD_KEYS: %w", err)
		}
		c.OldEncryptionKeys = append(c.OldEncryptionKeys, old)
	}
	return c, nil
}

// parsePublicURL accepts an absolute http(s) address with nothing after
// the host but an optional "/" ("" stays "").
func parsePublicURL(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("RINGHOOK_PUBLIC_URL must be an absolute http(s) address without a path, such as https://hooks.example.com")
	}
	return u.Scheme + "://" + u.Host, nil
}

// positiveEnv reads a positive whole number from k, def when unset.
func positiveEnv(k string, def int) (int, error) {
	v := envOr(k, strconv.Itoa(def))
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s must be a positive number, not %q", k, v)
	}
	return n, nil
}

// parseCIDRs reads a comma-separated list of CIDRs; a bare address is a
// network of one.
func parseCIDRs(list string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if ip := net.ParseIP(f); ip != nil {
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or an IP address", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func envOr(k, def string) string {
	if v := strings.TrimSpace(os.Getenv(k)); v != "" {
		return v
	}
	return def
}

// persistedSecret reads a hex secret from dir/name, creating it on first use,
// so development restarts keep sessions and the printed login valid.
func persistedSecret(dir, name string, n int) ([]byte, error) {
	path := filepath.Join(dir, name)
	if b, err := os.ReadFile(path); err == nil {
		if k, err := hex.DecodeString(strings.TrimSpace(string(b))); err == nil && len(k) == n {
			return k, nil
		}
	}
	k := make([]byte, n)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("generate %s: %w", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return k, nil
}
