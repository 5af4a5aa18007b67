package handlers_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ringhook/ringhook/handlers/handlertest"
	"github.com/ringhook/ringhook/models/publicid"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// pubID is the public id (dlv_…) of delivery row id in app's database.
func pubID(t testing.TB, app *handlertest.App, id int64) string {
	t.Helper()
	c, err := app.Store.PublicIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c.Delivery(id).String()
}

// rowID is the delivery row id a public id (dlv_…) names, for assertions
// that reach the database directly.
func rowID(t testing.TB, app *handlertest.App, pub string) int64 {
	t.Helper()
	c, err := app.Store.PublicIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n, ok := c.Decode(publicid.Delivery, pub)
	if !ok {
		t.Fatalf("%q is not a delivery id of this database", pub)
	}
	return n
}

// cursorID is the opaque page cursor (cur_…) of kind k at row id.
func cursorID(t testing.TB, app *handlertest.App, k publicid.Kind, id int64) string {
	t.Helper()
	c, err := app.Store.PublicIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c.Encode(k, id).String()
}
