package dispatch

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

func TestFitSample(t *testing.T) {
	w := &models.Webhook{CallTypes: models.StringList{"inbound"}, DIDNumbers: models.StringList{"+918287842426"},
		Filters: models.JSON[[]models.Filter]{V: []models.Filter{{Field: "call_status", Op: "in", Values: []string{"missed"}}}}}
	for seed := uint64(0); seed < 20; seed++ {
		s := catalog.Sample("call.ended", time.Now(), rand.New(rand.NewPCG(seed, 1)))
		fitSample(s, w)
		if s["call_type"] != "inbound" || s["direction"] != "inbound" || s["did_number"] != "+918287842426" || s["to_number"] != "+918287842426" || s["call_status"] != "missed" {
			t.Fatalf("seed %d: %v %v %v %v %v", seed, s["call_type"], s["direction"], s["did_number"], s["to_number"], s["call_status"])
		}
		if !w.Matches(s) {
			t.Fatalf("seed %d: the fitted sample does not match its own webhook", seed)
		}
	}
	msg := catalog.Sample("message.received", time.Now(), rand.New(rand.NewPCG(1, 1)))
	fitSample(msg, w)
	if _, ok := msg["call_type"]; ok {
		t.Fatal("fitSample added a field the event type does not have")
	}
}
