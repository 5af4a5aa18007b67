package payload_test

import (
	"testing"

	"github.com/ringhook/ringhook/web/dispatch/payload"
)

func benchmarkRender(b *testing.B, target payload.Target) {
	fields, err := payload.Fields(workedEvent(), target)
	if err != nil {
		b.Fatalf("Fields: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := payload.Render(fields, target); err != nil {
			b.Fatalf("Render: %v", err)
		}
	}
}

func BenchmarkRenderJSON(b *testing.B) {
	benchmarkRender(b, workedTarget("POST", payload.ContentTypeJSON))
}

func BenchmarkRenderForm(b *testing.B) {
	benchmarkRender(b, workedTarget("POST", payload.ContentTypeForm))
}

func BenchmarkRenderGET(b *testing.B) {
	benchmarkRender(b, workedTarget("GET", ""))
}

// BenchmarkFields is the delivery envelope of one event (the time zone
// comes from loadZone's cache after the first call).
func BenchmarkFields(b *testing.B) {
	event, target := workedEvent(), workedTarget("POST", payload.ContentTypeJSON)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := payload.Fields(event, target); err != nil {
			b.Fatalf("Fields: %v", err)
		}
	}
}
