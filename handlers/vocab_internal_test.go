package handlers

import (
	"reflect"
	"testing"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

// TestFormListsAreTheCatalogs pins each list the webhook form shares with
// filter validation and ingest: the form offers exactly the catalog's
// filter fields, call types and enum values, in the catalog's order.
func TestFormListsAreTheCatalogs(t *testing.T) {
	var fields []string
	for _, fr := range filterRows {
		fields = append(fields, fr.field)
	}
	if want := catalog.FilterFields(); !reflect.DeepEqual(fields, want) {
		t.Errorf("form filter rows %v, catalog.FilterFields %v", fields, want)
	}
	f := formView(formState{in: models.NewWebhookInput("UTC")}, nil)
	var callTypes []string
	for _, o := range f.CallTypes {
		callTypes = append(callTypes, o.Value)
		if o.Label == "" {
			t.Errorf("call type %q has no label", o.Value)
		}
	}
	if want := catalog.Values("call_type"); !reflect.DeepEqual(callTypes, want) {
		t.Errorf("form call types %v, catalog %v", callTypes, want)
	}
	for _, row := range f.Filters {
		if want := catalog.Values(row.Field); !reflect.DeepEqual(row.Choices, want) {
			t.Errorf("filter %s offers %v, catalog has %v", row.Field, row.Choices, want)
		}
	}
	if got := f.Filters[1]; got.Field != "call_status" || !reflect.DeepEqual(got.Choices, []string{"ringing", "in_progress", "answered", "missed"}) {
		t.Errorf("call status choices: %+v", got)
	}
}
