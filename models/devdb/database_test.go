package devdb

import "testing"

func TestWithDatabase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:p@db:5432/app?sslmode=disable", "postgres://u:p@db:5432/ringhook_bench_1?sslmode=disable"},
		{"postgresql://u@db/app?dbname=app", "postgresql://u@db/ringhook_bench_1"},
		{"host=db user=u dbname=app", "host=db user=u dbname=app dbname='ringhook_bench_1'"},
		{"host=db", `host=db dbname='it\'s'`}, // libpq escapes quotes with a backslash
	}
	for _, tc := range tests {
		name := "ringhook_bench_1"
		if tc.in == "host=db" {
			name = "it's"
		}
		got, err := withDatabase(tc.in, name)
		if err != nil || got != tc.want {
			t.Errorf("withDatabase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
