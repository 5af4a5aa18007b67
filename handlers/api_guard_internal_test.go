package handlers

import "testing"

func TestAPILimitsDefaults(t *testing.T) {
	cases := []struct {
		name string
		in   APILimits
		want APILimits
	}{
		{"zero: generous for ingest", APILimits{}, APILimits{Rate: 50, Burst: 100, IngestRate: 20000, IngestBurst: 40000}},
		{"rates set: bursts twice the rate", APILimits{Rate: 2.5, IngestRate: 40}, APILimits{Rate: 2.5, Burst: 5, IngestRate: 40, IngestBurst: 80}},
		{"all set: kept", APILimits{Rate: 1, Burst: 1, IngestRate: 1, IngestBurst: 1}, APILimits{Rate: 1, Burst: 1, IngestRate: 1, IngestBurst: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in
			got.defaults()
			if got != tc.want {
				t.Fatalf("%+v, want %+v", got, tc.want)
			}
		})
	}
}
