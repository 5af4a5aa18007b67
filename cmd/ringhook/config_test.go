package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseCIDRs(t *testing.T) {
	cases := []struct {
		in      string
		want    string // the networks, space-separated
		wantErr bool
	}{
		{"", "", false},
		{" , ", "", false},
		{"10.0.0.0/8", "10.0.0.0/8", false},
		{"10.0.0.0/8, 192.168.1.7 ,fd00::/8", "10.0.0.0/8 192.168.1.7/32 fd00::/8", false},
		{"2001:db8::1", "2001:db8::1/128", false},
		{"10.0.0.0/33", "", true},
		{"proxy.internal", "", true},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseCIDRs(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			var s []string
			for _, n := range got {
				s = append(s, n.String())
			}
			if strings.Join(s, " ") != tc.want {
				t.Fatalf("got %q, want %q", strings.Join(s, " "), tc.want)
			}
		})
	}
	t.Run("loadConfig names the variable", func(t *testing.T) {
		t.Setenv("RINGHOOK_TRUSTED_PROXIES", "not-a-cidr")
		_, err := loadConfig()
		if err == nil || !strings.Contains(err.Error(), "RINGHOOK_TRUSTED_PROXIES") {
			t.Fatalf("err %v", err)
		}
		t.Setenv("RINGHOOK_TRUSTED_PROXIES", "10.1.0.0/16")
		cfg, err := loadConfig()
		if err != nil || fmt.Sprint(cfg.TrustedProxies) != "[10.1.0.0/16]" {
			t.Fatalf("%v %v", cfg.TrustedProxies, err)
		}
	})
}

func TestParsePublicURL(t *testing.T) {
	cases := []struct {
		in, want string
		wantErr  bool
	}{
		{"", "", false},
		{"https://hooks.example.com", "https://hooks.example.com", false},
		{"https://hooks.example.com/", "https://hooks.example.com", false},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", false},
		{"hooks.example.com", "", true},
		{"ftp://hooks.example.com", "", true},
		{"https://hooks.example.com/console", "", true},
		{"https://u:p@hooks.example.com", "", true},
		{"https://hooks.example.com/?a=1", "", true},
		{"https://", "", true},
	}
	for _, tc := range cases {
		got, err := parsePublicURL(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parsePublicURL(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
	t.Setenv("RINGHOOK_PUBLIC_URL", "not a url")
	if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "RINGHOOK_PUBLIC_URL") {
		t.Fatalf("loadConfig: %v, want an error naming RINGHOOK_PUBLIC_URL", err)
	}
}
