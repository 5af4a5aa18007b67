package handlers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ringhook/ringhook/models/catalog"
	catalogview "github.com/ringhook/ringhook/views/catalog" // models/catalog has the same name
	"github.com/ringhook/ringhook/web/render"
)

// catalogSampleTime and catalogSampleSeed make the catalog's sample
// payloads the same on every visit.
var catalogSampleTime = time.Date(2026, time.April, 9, 7, 25, 0, 0, time.UTC)

const catalogSampleSeed = 0x52494e47 // "RING"

// EventCatalog lists every event type with its fields and a sample payload.
func (h *Handler) EventCatalog(c echo.Context) error {
	v, err := catalogView()
	if err != nil {
		return err
	}
	return render.HTML(c, http.StatusOK, catalogview.Page(h.page(c, "Event catalog", "catalog"), v))
}

// catalogView converts the catalog for display; it depends on nothing but
// the catalog, so every visit sees the same page.
func catalogView() (catalogview.Catalog, error) {
	var v catalogview.Catalog
	for _, g := range catalog.Groups() {
		vg := catalogview.Group{ID: g.ID, Label: g.Label}
		for _, t := range g.Types {
			sample, err := samplePayload(t.ID)
			if err != nil {
				return catalogview.Catalog{}, err
			}
			required := catalog.RequiredFields(t.ID)
			vt := catalogview.Type{ID: t.ID, Label: t.Label, Description: t.Description, Core: t.Core, Sample: sample}
			for _, f := range catalog.Fields(t.ID) {
				vt.Fields = append(vt.Fields, catalogview.Field{Name: f, Required: slices.Contains(required, f)})
			}
			if t.Core {
				v.CoreCount++
			}
			vg.Types = append(vg.Types, vt)
		}
		v.Groups = append(v.Groups, vg)
	}
	return v, nil
}

// samplePayload is the type's sample as indented JSON, from a fixed seed.
func samplePayload(typeID string) (string, error) {
	m := catalog.Sample(typeID, catalogSampleTime, rand.New(rand.NewPCG(catalogSampleSeed, 0)))
	if m == nil {
		return "", nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return "", fmt.Errorf("sample payload of %s: %w", typeID, err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}
