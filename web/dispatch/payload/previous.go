package payload

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// PreviousFailedField is the envelope key set to true on a delivery that
// waited behind an earlier delivery of the same call which ended without
// success (failed, expired or cancelled); it is absent otherwise.
const PreviousFailedField = "previous_failed"

// WithPreviousFailed adds previous_failed: true to a rendered request, which
// was stored before the delivery ahead of it ended: to the JSON object
// (keys stay sorted, everything else byte for byte as rendered), as a last
// form pair, or as a last GET query pair. contentType is the request's
// Content-Type (ignored for GET). Errors are *RenderError.
func WithPreviousFailed(method, url, contentType string, body []byte) (string, []byte, error) {
	if method == http.MethodGet {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		url += sep + PreviousFailedField + "=true"
		return url, body, checkURLBytes(url)
	}
	if ct, _, _ := strings.Cut(contentType, ";"); strings.TrimSpace(ct) == ContentTypeForm {
		out := append(append([]byte(nil), body...), "&"+PreviousFailedField+"=true"...)
		return url, out, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers go out exactly as rendered
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return "", nil, renderErr("previous_failed: the stored body is not a JSON object", err)
	}
	fields[PreviousFailedField] = true
	out, err := EncodeJSON(fields)
	if err != nil {
		return "", nil, renderErr("previous_failed", err)
	}
	return url, out, nil
}
