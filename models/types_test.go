package models_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

// TestStringListRoundTrip stores awkward strings in a text[] column and reads
// them back through PostgreSQL.
func TestStringListRoundTrip(t *testing.T) {
	db, err := modeltest.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer modeltest.Close(db)
	cases := [][]string{{}, {"a"}, {"call.hangup", "call.missed"}, {`quote"d`, `back\slash`, "comma,here", "{brace}", " spaced ", "NULL", ""}, {"ünïcödé", "+918287842425"}}
	for _, in := range cases {
		var out models.StringList
		if err := db.Raw("SELECT ?::text[]", models.StringList(in)).Row().Scan(&out); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if !slices.Equal([]string(out), in) {
			t.Errorf("round trip %q -> %q", in, out)
		}
	}
}

// FuzzStringList checks that whatever Value writes, Scan reads back.
func FuzzStringList(f *testing.F) {
	f.Add("a", `b"c`, `d\e`)
	f.Add("", ",", "{}")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		in := models.StringList{a, b, c}
		v, err := in.Value()
		if err != nil {
			t.Fatal(err)
		}
		var out models.StringList
		if err := out.Scan(v); err != nil {
			t.Fatalf("scan %q: %v", v, err)
		}
		if !slices.Equal(out, in) {
			t.Fatalf("%q -> %q -> %q", in, v, out)
		}
	})
}

// FuzzRedactURL: redaction never panics and never leaves a secret-named
// query value or a password in place.
func FuzzRedactURL(f *testing.F) {
	f.Add("https://u:pw@example.com/x?token=abc&ok=1")
	f.Add("http://example.com/?api_key=k#frag")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, raw string) {
		out := models.RedactURL(raw)
		u, err := url.Parse(out)
		if err != nil || out == raw {
			return
		}
		if p, ok := u.User.Password(); ok && p != "redacted" {
			t.Fatalf("password kept: %q -> %q", raw, out)
		}
		for k, vs := range u.Query() {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "token") || strings.Contains(lk, "secret") || strings.Contains(lk, "password") {
				for _, v := range vs {
					if v != "redacted" {
						t.Fatalf("%s kept: %q -> %q", k, raw, out)
					}
				}
			}
		}
	})
}
