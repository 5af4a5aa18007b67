package dashboard

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Hour is one bar of the delivery chart: an hour's counts and its labels
// in the account's time zone.
type Hour struct {
	Label     string // axis label, e.g. "14:00"
	Span      string // hover text, e.g. "9 Apr 14:00–15:00 IST"
	Succeeded int
	Failed    int
	Retried   int // failed attempts that will be retried
}

// Total is the hour's number of deliveries.
func (h Hour) Total() int { return h.Succeeded + h.Failed + h.Retried }

// Chart is the bar chart's geometry in SVG user units, ready to draw.
type Chart struct {
	Width, Height float64 // the viewBox
	Left, Right   float64 // x of the plot area's edges
	Top, Base     float64 // y of the max gridline and of the baseline
	Max           int     // the largest hour's total; 0 when every hour is empty
	MaxLabel      string  // Max as text, "" when Max is 0
	Bars          []Bar
	Ticks         []Tick
	Summary       string // the chart as one sentence, for screen readers and the caption
	ChartOptions
}

// ChartOptions name a chart and its span; the dashboard's is DayChart.
type ChartOptions struct {
	ID, Title string // the SVG's id and accessible title
	Period    string // "the last 24 hours", for the summary
	Unit      string // "hour" or "day": the busiest one is named in the summary
	TickEvery int    // label every n-th bar
}

// DayChart is the dashboard's chart: 24 hourly bars.
var DayChart = ChartOptions{ID: "delivery-chart", Title: "Deliveries per hour, last 24 hours", Period: "the last 24 hours", Unit: "hour", TickEvery: 6}

// Bar is one hour: a hover area spanning the plot height and the stacked
// segments (succeeded at the bottom, then failed, then retried). An empty
// hour has no segments.
type Bar struct {
	X, Width  float64
	Title     string
	Segments  []Segment
	HitY      float64
	HitHeight float64
}

// Segment is one coloured part of a bar; Kind is "ok", "bad" or "warn".
type Segment struct {
	Kind      string
	Y, Height float64
}

// Tick is an x-axis label centred under a bar.
type Tick struct {
	X     float64
	Label string
}

// Chart geometry, in SVG user units.
const (
	chartWidth    = 600.0
	chartHeight   = 180.0
	chartLeft     = 34.0 // room for the y-axis labels
	chartRight    = 596.0
	chartTop      = 12.0
	chartBase     = 156.0 // room below for the x-axis labels
	barFill       = 0.72  // share of an hour's slot the bar covers
	minSegment    = 1.0   // a non-zero count is never drawn thinner than this
	tickLabelDown = 16.0  // x label baseline below the chart baseline
)

// NewChart lays out hours as stacked bars. Heights scale to the largest
// hour's total, which fills the plot height; an hour without deliveries
// draws no segment, and all-zero or empty input divides by nothing.
func NewChart(hours []Hour) Chart { return NewChartFor(DayChart, hours) }

// NewChartFor is NewChart with its names and span given by o.
func NewChartFor(o ChartOptions, hours []Hour) Chart {
	c := Chart{Width: chartWidth, Height: chartHeight, Left: chartLeft, Right: chartRight, Top: chartTop, Base: chartBase, ChartOptions: o}
	var succeeded, failed, retried, busiest int
	for i, h := range hours {
		succeeded += h.Succeeded
		failed += h.Failed
		retried += h.Retried
		if h.Total() > c.Max {
			c.Max, busiest = h.Total(), i
		}
	}
	if c.Max > 0 {
		c.MaxLabel = strconv.Itoa(c.Max)
	}
	plot := chartBase - chartTop
	if len(hours) > 0 {
		slot := (chartRight - chartLeft) / float64(len(hours))
		width := slot * barFill
		for i, h := range hours {
			x := chartLeft + float64(i)*slot + (slot-width)/2
			b := Bar{X: round2(x), Width: round2(width), HitY: chartTop, HitHeight: plot, Title: barTitle(h)}
			y := chartBase
			for _, s := range []struct {
				kind string
				n    int
			}{{"ok", h.Succeeded}, {"bad", h.Failed}, {"warn", h.Retried}} {
				if s.n <= 0 || c.Max == 0 {
					continue
				}
				height := max(float64(s.n)/float64(c.Max)*plot, minSegment)
				y -= height
				b.Segments = append(b.Segments, Segment{Kind: s.kind, Y: round2(y), Height: round2(height)})
			}
			c.Bars = append(c.Bars, b)
			if i%max(o.TickEvery, 1) == 0 {
				c.Ticks = append(c.Ticks, Tick{X: round2(x + width/2), Label: h.Label})
			}
		}
	}
	total := succeeded + failed + retried
	if total == 0 {
		c.Summary = "No attempts in " + o.Period + "."
		return c
	}
	c.Summary = fmt.Sprintf("%s in %s: %d succeeded, %d failed, %d retried. Busiest %s: %s with %d.",
		plural(total, "attempt", "attempts"), o.Period, succeeded, failed, retried, o.Unit, hours[busiest].Span, c.Max)
	return c
}

func barTitle(h Hour) string {
	if h.Total() == 0 {
		return h.Span + ": no attempts"
	}
	return fmt.Sprintf("%s: %d succeeded, %d failed, %d retried", h.Span, h.Succeeded, h.Failed, h.Retried)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// round2 keeps two decimals, so the markup stays short and stable.
func round2(f float64) float64 { return math.Round(f*100) / 100 }

// num formats a coordinate for an SVG attribute.
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Latency is one point of a latency line: a bar's p50 and p95 in ms.
type Latency struct {
	Span     string
	P50, P95 int
	Has      bool // false: no attempts then (a gap in the lines)
}

// LatencyChart is two polylines (p50 and p95) over the same slots as a
// bar chart, scaled to the largest p95.
type LatencyChart struct {
	Width, Height, Left, Right, Top, Base float64
	Max                                   int    // the largest p95 in ms
	MaxLabel                              string // "1.2 s"
	P50, P95                              string // SVG points lists
	Dots                                  []LatencyDot
	ID, Title, Summary                    string
}

// LatencyDot is one point with its hover text.
type LatencyDot struct {
	X, Y50, Y95 float64
	Title       string
}

// NewLatencyChart lays out points as p50/p95 lines; slots without
// attempts have no point.
func NewLatencyChart(id, title, period string, points []Latency) LatencyChart {
	c := LatencyChart{Width: chartWidth, Height: latencyHeight, Left: chartLeft, Right: chartRight, Top: chartTop, Base: latencyBase, ID: id, Title: title}
	drawn := false
	for _, p := range points {
		if p.Has {
			drawn, c.Max = true, max(c.Max, p.P95, 1) // 1: attempts under a millisecond still draw
		}
	}
	if !drawn {
		c.Summary = "No latency to show for " + period + "."
		return c
	}
	c.MaxLabel = MS(c.Max)
	slot := (chartRight - chartLeft) / float64(len(points))
	plot := latencyBase - chartTop
	var p50s, p95s []string
	worst := 0
	for i, p := range points {
		if !p.Has {
			continue
		}
		x := round2(chartLeft + float64(i)*slot + slot/2)
		y50, y95 := round2(latencyBase-float64(p.P50)/float64(c.Max)*plot), round2(latencyBase-float64(p.P95)/float64(c.Max)*plot)
		p50s, p95s = append(p50s, num(x)+","+num(y50)), append(p95s, num(x)+","+num(y95))
		c.Dots = append(c.Dots, LatencyDot{X: x, Y50: y50, Y95: y95, Title: fmt.Sprintf("%s: p50 %s, p95 %s", p.Span, MS(p.P50), MS(p.P95))})
		if p.P95 >= points[worst].P95 {
			worst = i
		}
	}
	c.P50, c.P95 = strings.Join(p50s, " "), strings.Join(p95s, " ")
	c.Summary = fmt.Sprintf("Latency over %s: the slowest p95 was %s (%s).", period, MS(points[worst].P95), points[worst].Span)
	return c
}

// Latency chart geometry: shorter than the bars.
const (
	latencyHeight = 120.0
	latencyBase   = 100.0
)

// MS formats milliseconds as "240 ms" or "1.25 s".
func MS(ms int) string {
	if ms < 1000 {
		return strconv.Itoa(ms) + " ms"
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 2, 64) + " s"
}
