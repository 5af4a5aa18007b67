// Package audit renders the account's audit log: who changed what and
// when, newest first, with the changed keys of every entry. Its view
// models hold display-ready strings only.
package audit

// Log is one page of the audit log.
type Log struct {
	TimeZone  string
	Rows      []Row
	NextURL   string // older entries; "" on the last page
	NewestURL string // back to the first page; "" on it
}

// Row is one audit entry.
type Row struct {
	ID          string
	Time        string // in the account's time zone
	Actor       string
	Action      string // the raw action, e.g. webhook.created
	ActionLabel string // e.g. "Created webhook"
	ObjectType  string // e.g. "Webhook"
	ObjectLabel string // a name when known, else the id
	ObjectID    string // shown under the label; "" when the label says it all (a phone number)
	ObjectURL   string // "" when the object cannot be shown (deleted, or no page)
	Changes     []Change
}

// Change is one key whose value differs between before and after.
type Change struct {
	Key      string
	Old, New string // compact JSON; "" when the key is absent on that side
}
