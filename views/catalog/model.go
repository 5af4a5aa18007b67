// Package catalog renders the event catalog page: every event type a
// webhook can subscribe to, grouped, with its payload fields and a sample
// payload, and what every delivery carries besides (envelope and headers).
// Its view models hold display-ready strings only.
package catalog

import "strings"

// Catalog is the page's state.
type Catalog struct {
	Groups    []Group
	CoreCount int
}

// Group is a heading with its event types, in catalog order.
type Group struct {
	ID, Label string
	Types     []Type
}

// Type is one event type.
type Type struct {
	ID          string // e.g. call.hangup
	Label       string
	Description string
	Core        bool
	Fields      []Field
	Sample      string // pretty-printed JSON
}

// Field is one documented payload key.
type Field struct {
	Name     string
	Required bool // never null
}

// Anchor is the element id of an event type on the catalog page, e.g.
// "type-call-hangup" for call.hangup, for links from other pages.
func Anchor(typeID string) string {
	return "type-" + strings.ReplaceAll(typeID, ".", "-")
}

// Href is the catalog page's address for an event type.
func Href(typeID string) string {
	return "/events/catalog#" + Anchor(typeID)
}
