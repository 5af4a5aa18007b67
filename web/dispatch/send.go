package dispatch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/web/dispatch/payload"
	"github.com/ringhook/ringhook/web/dispatch/retry"
	"github.com/ringhook/ringhook/web/dispatch/safehttp"
)

// MaxRecordedBody bounds request and response bodies kept in attempt records.
const MaxRecordedBody = 16 << 10

// maxDrain is how much of a long response is read (and dropped) so the
// connection can be reused; beyond it the connection is closed.
const maxDrain = 256 << 10

// internalError is what an attempt that hit a bug in Ringhook records; the
// details (panic value and stack) go to the log only.
const internalError = "Ringhook hit an internal error while sending this attempt (details are in the server log)."

// send makes one attempt at a claimed delivery and returns what to record.
// A panic while rendering or sending is recovered: it is logged with its
// stack and recorded as this attempt's error (kind internal), and the
// delivery is retried like after any failure, so one bad delivery cannot
// take the process or the other deliveries down.
func (d *Dispatcher) send(ctx context.Context, c *models.Claimed, trigger models.Trigger) (o models.Outcome) {
	d.cfg.Observer.InFlight(1)
	defer d.cfg.Observer.InFlight(-1)
	start := d.now()
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		d.log.Error("panic while sending a delivery: recorded as an internal error and retried",
			"delivery", c.ID, "webhook", c.WebhookID, "attempt", c.AttemptCount, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		a := models.Attempt{AccountID: c.AccountID, DeliveryID: c.ID, WebhookID: c.WebhookID, Number: c.AttemptCount,
			Trigger: trigger, StartedAt: start, DurationMS: int(d.now().Sub(start) / time.Millisecond),
			RequestMethod: c.RequestMethod, RequestURL: models.RedactURL(c.RequestURL),
			RequestHeaders: models.JSON[[]models.Header]{V: []models.Header{}}, ResponseHeaders: models.JSON[[]models.Header]{V: []models.Header{}},
			ErrorKind: models.ErrKindInternal, ErrorMessage: internalError}
		o = d.outcome(c, a, nil, start)
	}()
	return d.attempt(ctx, c, trigger)
}

// attempt sends one claimed delivery and returns what to record.
func (d *Dispatcher) attempt(ctx context.Context, c *models.Claimed, trigger models.Trigger) models.Outcome {
	w := &c.Webhook
	start := d.now()
	a := models.Attempt{AccountID: c.AccountID, DeliveryID: c.ID, WebhookID: c.WebhookID, Number: c.AttemptCount,
		Trigger: trigger, StartedAt: start, RequestMethod: c.RequestMethod, RequestURL: models.RedactURL(c.RequestURL),
		ResponseHeaders: models.JSON[[]models.Header]{V: []models.Header{}}}
	req := models.RenderedRequest{Method: c.RequestMethod, URL: c.RequestURL, Headers: c.RequestHeaders.V, Body: c.RequestBody}
	if c.PreviousFailed {
		var err error
		if req.URL, req.Body, err = payload.WithPreviousFailed(req.Method, req.URL, headerValue(req.Headers, "Content-Type"), req.Body); err != nil {
			a.ErrorKind, a.ErrorMessage = models.ErrKindRender, err.Error()
			return d.outcome(c, a, nil, start)
		}
		a.RequestURL = models.RedactURL(req.URL)
	}
	extra, err := attemptHeaders(req, w.SigningSecrets(start), c.EventID, c.EventType, c.AttemptCount, start)
	headers := append(extra, req.Headers...)
	a.RequestHeaders = models.JSON[[]models.Header]{V: redactHeaders(headers)}
	a.RequestBody = truncate(req.Body)
	if err != nil {
		a.ErrorKind, a.ErrorMessage = models.ErrKindRender, err.Error()
		return d.outcome(c, a, nil, start)
	}

	timeout := w.Timeout()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		a.ErrorKind, a.ErrorMessage = models.ErrKindRender, "invalid request: "+err.Error()
		return d.outcome(c, a, nil, start)
	}
	for _, h := range headers {
		// Set the map directly so names go out exactly as recorded
		// (webhook-id, not Webhook-Id).
		hreq.Header[h.Name] = append(hreq.Header[h.Name], h.Value)
	}
	if len(req.Body) == 0 {
		hreq.Body, hreq.ContentLength = http.NoBody, 0
	}
	a.RequestHeaders.V = append(a.RequestHeaders.V, clientHeaders(hreq)...)
	res, err := d.client.Do(hreq)
	a.DurationMS = int(d.now().Sub(start) / time.Millisecond)
	if err != nil {
		a.ErrorKind, a.ErrorMessage = safehttp.Classify(err)
		return d.outcome(c, a, nil, start)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, MaxRecordedBody+1))
	// Drain only a body that can end within maxDrain: the connection of a
	// longer one is closed anyway, so reading more of it is wasted work
	// (a receiver answering 100 MB bodies must not cost the others CPU).
	huge := len(body) > MaxRecordedBody && res.ContentLength > MaxRecordedBody+1+maxDrain
	if res.ContentLength < 0 || res.ContentLength <= MaxRecordedBody+1+maxDrain {
		n, _ := io.Copy(io.Discard, io.LimitReader(res.Body, maxDrain+1))
		huge = n > maxDrain
	}
	a.DurationMS = int(d.now().Sub(start) / time.Millisecond)
	status := res.StatusCode
	a.ResponseStatus = &status
	a.ResponseBody = truncate(body)
	for name, vals := range res.Header {
		for _, v := range vals {
			a.ResponseHeaders.V = append(a.ResponseHeaders.V, models.Header{Name: name, Value: models.RedactHeaderValue(name, v)})
		}
	}
	if status < 200 || status > 299 {
		a.ErrorKind = models.ErrKindHTTPStatus
		a.ErrorMessage = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
		if status >= 300 && status < 400 {
			a.ErrorMessage += " (redirects are not followed; update the URL)"
		}
	}
	o := d.outcome(c, a, res.Header, start)
	if a.Succeeded() {
		o.Degraded = degradedBy(a, timeout, huge)
	}
	return o
}

// degradedBy says why a successful attempt a still shows its receiver in
// trouble: it answered after half its timeout or more, or with a body
// longer than the sender drains (huge). Such a receiver keeps the worker
// (and for a huge body, the CPU) it holds far longer than a healthy one,
// so its webhook gets one delivery in flight for a while (see degraded).
func degradedBy(a models.Attempt, timeout time.Duration, huge bool) string {
	switch {
	case huge:
		return "body past the drain limit"
	case time.Duration(a.DurationMS)*time.Millisecond*2 >= timeout:
		return "answered near the timeout"
	}
	return ""
}

// outcome decides the delivery's next state from an attempt.
func (d *Dispatcher) outcome(c *models.Claimed, a models.Attempt, resHeader http.Header, now time.Time) models.Outcome {
	o := models.Outcome{Attempt: a, Test: c.Test}
	if c.LeaseHolder != nil {
		o.LeaseHolder = *c.LeaseHolder
	}
	if a.Succeeded() {
		o.Status = models.StatusSucceeded
		return o
	}
	status := 0
	if a.ResponseStatus != nil {
		status = *a.ResponseStatus
	}
	if status == http.StatusGone {
		o.DisableReason = "Disabled automatically: the receiver answered 410 Gone." // the time is disabled_at
	}
	if a.Trigger == models.TriggerManual {
		// A manual redelivery that fails leaves the automatic schedule and
		// the retry budget as they were: a waiting delivery waits for the
		// same next try; one that had ended stays ended, failed.
		if (c.PriorStatus == models.StatusPending || c.PriorStatus == models.StatusSending) && c.NextAttemptAt != nil {
			o.Status, o.NextAttemptAt = models.StatusPending, c.NextAttemptAt
			o.Attempt.NextRetryAt = c.NextAttemptAt
		} else {
			o.Status = models.StatusFailed
		}
		return o
	}
	maxAttempts := c.Webhook.MaxAttempts
	if c.Test || a.ErrorKind == models.ErrKindRender {
		maxAttempts = 0 // tests are shown inline, not retried; a render error will not heal
	}
	// Manual redeliveries do not spend the automatic budget or move the
	// schedule along.
	automatic := c.AttemptCount - c.ManualAttempts
	d.rndMu.Lock()
	next, again := retry.Next(automatic, maxAttempts, status, resHeader.Get("Retry-After"), now, d.jitter())
	d.rndMu.Unlock()
	if again {
		o.Status, o.NextAttemptAt = models.StatusPending, &next
		o.Attempt.NextRetryAt = &next
	} else {
		o.Status = models.StatusFailed
	}
	return o
}

// clientHeaders are the headers Go's transport writes on its own (Host,
// Content-Length, and Accept-Encoding: gzip for transparent decompression),
// recorded so an attempt shows exactly what went out.
func clientHeaders(r *http.Request) []models.Header {
	out := []models.Header{{Name: "Host", Value: r.Host}}
	if r.ContentLength > 0 {
		out = append(out, models.Header{Name: "Content-Length", Value: strconv.FormatInt(r.ContentLength, 10)})
	}
	if r.Header.Get("Accept-Encoding") == "" && r.Header.Get("Range") == "" && r.Method != http.MethodHead {
		out = append(out, models.Header{Name: "Accept-Encoding", Value: "gzip"})
	}
	return out
}

// headerValue is the first value of the named header (case-insensitive).
func headerValue(hs []models.Header, name string) string {
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

func redactHeaders(hs []models.Header) []models.Header {
	out := make([]models.Header, len(hs))
	for i, h := range hs {
		out[i] = models.RedactHeader(h)
	}
	return out
}

// truncate keeps at most MaxRecordedBody bytes of valid UTF-8 text.
func truncate(b []byte) string {
	cut := len(b) > MaxRecordedBody
	if cut {
		b = b[:MaxRecordedBody]
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	if cut {
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "\n… (truncated)"
	}
	return s
}
