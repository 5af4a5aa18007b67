package models_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
	"github.com/ringhook/ringhook/models/publicid"
)

// The Store hands out public ids on every delivery and attempt it returns,
// and DeliveryRowID takes only the account's own.
func TestPublicIDsOnDeliveriesAndAttempts(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, nil)
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "pub")
	d := insertDelivery(t, s, w, "call.hangup", models.StatusFailed, "call-pub-1", fixtureBase, false)
	a := insertAttempt(t, s, d, 1)

	got, err := s.Delivery(ctx, acc.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publicid.Parse(got.PublicID.String()); err != nil || !strings.HasPrefix(got.PublicID.String(), "dlv_") {
		t.Fatalf("Delivery PublicID = %q", got.PublicID)
	}
	rows, err := s.Deliveries(ctx, acc.ID, models.DeliveryFilter{})
	if err != nil || len(rows) != 1 || rows[0].PublicID != got.PublicID {
		t.Fatalf("Deliveries = %+v, %v; want PublicID %s", rows, err, got.PublicID)
	}
	tl, err := s.CallTimeline(ctx, acc.ID, "call-pub-1")
	if err != nil || len(tl) != 1 || len(tl[0].Deliveries) != 1 || tl[0].Deliveries[0].PublicID != got.PublicID {
		t.Fatalf("CallTimeline = %+v, %v", tl, err)
	}
	as, err := s.Attempts(ctx, acc.ID, d.ID)
	if err != nil || len(as) != 1 || !strings.HasPrefix(as[0].PublicID.String(), "att_") || as[0].DeliveryPublicID != got.PublicID {
		t.Fatalf("Attempts = %+v, %v", as, err)
	}
	codec, err := s.PublicIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := codec.Decode(publicid.Attempt, as[0].PublicID.String()); !ok || n != a.ID {
		t.Fatalf("attempt id decodes to %d, %v; want %d", n, ok, a.ID)
	}

	if n, err := s.DeliveryRowID(ctx, acc.ID, got.PublicID.String()); err != nil || n != d.ID {
		t.Fatalf("DeliveryRowID(own) = %d, %v; want %d", n, err, d.ID)
	}
	other := newAccount(t, s)
	tampered := []byte(got.PublicID)
	tampered[len(tampered)-1] ^= 1 // another character of the alphabet
	for name, id := range map[string]string{
		"another account's": "", // checked below with other.ID
		"tampered":          string(tampered),
		"numeric":           strconv.FormatInt(d.ID, 10),
		"attempt id":        as[0].PublicID.String(),
		"empty":             "",
		"junk":              "dlv_\x00",
	} {
		accID := acc.ID
		if id == "" && name != "empty" {
			accID, id = other.ID, got.PublicID.String()
		}
		if n, err := s.DeliveryRowID(ctx, accID, id); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("%s: DeliveryRowID(%q) = %d, %v; want ErrNotFound", name, id, n, err)
		}
	}
}

// The key lives in the database: a new Store on the same database gives the
// same ids; another database gives different ones.
func TestPublicIDKeyPerDatabase(t *testing.T) {
	ctx := context.Background()
	first, err := newStore(t, nil).PublicIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, err := newStore(t, nil).PublicIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first.Delivery(12345) != again.Delivery(12345) {
		t.Fatal("reopening the Store changed the public ids")
	}

	db := modeltest.OwnDatabase(t, "models/publicids")
	second, err := models.NewStore(db, nil).PublicIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second.Delivery(12345) == first.Delivery(12345) {
		t.Fatal("two databases gave the same public id")
	}
	if _, ok := second.Decode(publicid.Delivery, first.Delivery(12345).String()); ok {
		t.Fatal("one database's id decoded under another's key")
	}
}
