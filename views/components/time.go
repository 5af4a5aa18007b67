package components

import "time"

// timeLayout is how the console writes an instant: date, time and the
// zone's abbreviation, so no reader has to guess which zone it is in.
const timeLayout = "2006-01-02 15:04:05 MST"

// Time writes t in loc (the account's time zone) with the zone's
// abbreviation. It is the console's one way of showing an instant.
func Time(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(timeLayout)
}
