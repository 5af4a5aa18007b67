package dashboard

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
)

// day returns 24 hours with the given totals as succeeded deliveries.
func day(totals map[int]Hour) []Hour {
	out := make([]Hour, 24)
	for i := range out {
		out[i] = totals[i]
		out[i].Label, out[i].Span = "h"+itoa(i), "hour "+itoa(i)
	}
	return out
}

func height(b Bar) float64 {
	var h float64
	for _, s := range b.Segments {
		h += s.Height
	}
	return h
}

func finite(fs ...float64) bool {
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
	}
	return true
}

func TestNewChart(t *testing.T) {
	plot := chartBase - chartTop
	cases := []struct {
		name    string
		hours   []Hour
		bars    int
		max     int
		heights map[int]float64 // bar index -> stacked height
		summary string
	}{
		{name: "no hours", hours: nil, bars: 0, max: 0, summary: "No attempts in the last 24 hours."},
		{name: "all zero", hours: day(nil), bars: 24, max: 0, heights: map[int]float64{0: 0, 12: 0, 23: 0},
			summary: "No attempts in the last 24 hours."},
		{name: "scales to the largest hour", bars: 24, max: 20,
			hours:   day(map[int]Hour{3: {Succeeded: 20}, 10: {Succeeded: 5, Failed: 5}, 11: {Retried: 5}}),
			heights: map[int]float64{3: plot, 10: plot / 2, 11: plot / 4, 0: 0, 4: 0},
			summary: "35 attempts in the last 24 hours: 25 succeeded, 5 failed, 5 retried. Busiest hour: hour 3 with 20."},
		{name: "one delivery", bars: 24, max: 1, hours: day(map[int]Hour{23: {Failed: 1}}),
			heights: map[int]float64{23: plot, 22: 0},
			summary: "1 attempt in the last 24 hours: 0 succeeded, 1 failed, 0 retried. Busiest hour: hour 23 with 1."},
		{name: "a tiny share stays visible", bars: 24, max: 10000, hours: day(map[int]Hour{0: {Succeeded: 10000}, 1: {Failed: 1}}),
			heights: map[int]float64{0: plot, 1: minSegment},
			summary: "10001 attempts in the last 24 hours: 10000 succeeded, 1 failed, 0 retried. Busiest hour: hour 0 with 10000."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChart(tc.hours)
			if len(c.Bars) != tc.bars || c.Max != tc.max {
				t.Fatalf("bars %d max %d, want %d and %d", len(c.Bars), c.Max, tc.bars, tc.max)
			}
			if c.Summary != tc.summary {
				t.Errorf("summary %q\nwant    %q", c.Summary, tc.summary)
			}
			if (c.MaxLabel == "") != (tc.max == 0) {
				t.Errorf("max label %q for max %d", c.MaxLabel, tc.max)
			}
			for i, want := range tc.heights {
				if got := height(c.Bars[i]); math.Abs(got-want) > 0.02 {
					t.Errorf("bar %d height %v, want %v", i, got, want)
				}
				if want == 0 && len(c.Bars[i].Segments) != 0 {
					t.Errorf("empty bar %d draws %d segments", i, len(c.Bars[i].Segments))
				}
			}
			for i, b := range c.Bars {
				if !finite(b.X, b.Width, b.HitY, b.HitHeight) || b.X < c.Left || b.X+b.Width > c.Right {
					t.Errorf("bar %d outside the plot: x %v width %v", i, b.X, b.Width)
				}
				if i > 0 && b.X <= c.Bars[i-1].X {
					t.Errorf("bar %d is not right of bar %d", i, i-1)
				}
				if b.HitY != c.Top || b.HitHeight != c.Base-c.Top {
					t.Errorf("bar %d hover area %v+%v", i, b.HitY, b.HitHeight)
				}
				// Segments stack upwards from the baseline without gaps.
				bottom := c.Base
				for _, s := range b.Segments {
					if !finite(s.Y, s.Height) || s.Height <= 0 || math.Abs(s.Y+s.Height-bottom) > 0.02 {
						t.Errorf("bar %d segment %+v does not sit on %v", i, s, bottom)
					}
					bottom = s.Y
				}
			}
		})
	}
}

func TestNewChartStacksInStatusOrder(t *testing.T) {
	c := NewChart(day(map[int]Hour{5: {Succeeded: 2, Failed: 1, Retried: 1}}))
	var kinds []string
	for _, s := range c.Bars[5].Segments {
		kinds = append(kinds, s.Kind)
	}
	if strings.Join(kinds, ",") != "ok,bad,warn" {
		t.Fatalf("segments %v, want succeeded, failed, retried from the bottom", kinds)
	}
	if got := c.Bars[5].Title; got != "hour 5: 2 succeeded, 1 failed, 1 retried" {
		t.Errorf("title %q", got)
	}
	if got := c.Bars[4].Title; got != "hour 4: no attempts" {
		t.Errorf("empty hour's title %q", got)
	}
	if len(c.Ticks) != 4 || c.Ticks[0].Label != "h0" || c.Ticks[1].Label != "h6" {
		t.Errorf("ticks %+v, want every sixth hour", c.Ticks)
	}
}

func TestDeliveryChartMarkup(t *testing.T) {
	var buf bytes.Buffer
	if err := DeliveryChart(NewChart(day(map[int]Hour{2: {Succeeded: 3, Failed: 1}}))).Render(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	checks := []struct {
		what string
		n    int
		sub  string
	}{
		{"a group per hour", 24, `<g class="bar">`},
		{"a tooltip per hour", 24 + 1, `<title`}, // plus the chart's own title
		{"segments for non-empty hours only", 2, `class="seg seg-`},
		{"the summary the svg points at", 1, `id="delivery-chart-summary"`},
	}
	for _, c := range checks {
		if got := strings.Count(html, c.sub); got != c.n {
			t.Errorf("%s: %d × %q, want %d", c.what, got, c.sub, c.n)
		}
	}
	if strings.Contains(html, "NaN") || strings.Contains(html, "Inf") {
		t.Error("markup has a non-finite coordinate")
	}
}
