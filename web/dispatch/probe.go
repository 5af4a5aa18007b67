package dispatch

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/catalog"
)

// probeBatch bounds the probes one turn of the prober claims.
const probeBatch = 8

// probePolls is the prober's interval in Polls: probes are a minute and
// more apart (models.ProbeDelay), so a few seconds late costs nothing, and
// polling at the claimer's pace was a large part of an idle process's CPU.
const probePolls = 10

// prober sends the probes of webhooks disabled automatically (see
// models.ClaimProbes and models.RecordProbe) every probePolls Polls.
type prober struct {
	loop
	d *Dispatcher
}

func (p *prober) start(ctx context.Context) { p.run(ctx, p.d.probeLoop) }

func (d *Dispatcher) probeLoop(ctx context.Context) {
	t := time.NewTicker(probePolls * d.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := d.ProcessProbes(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("probe disabled webhooks", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ProcessProbes claims the probes due now, sends them concurrently and
// records them, returning how many were sent: one turn of the prober,
// which tests step with an injected clock.
func (d *Dispatcher) ProcessProbes(ctx context.Context) (int, error) {
	hooks, err := d.store.ClaimProbes(ctx, d.now(), probeBatch, d.id)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(hooks))
	for i := range hooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.probe(ctx, &hooks[i])
		}()
	}
	wg.Wait()
	return len(hooks), errors.Join(errs...)
}

// probe sends one signed webhook.probe request to w, rendered like its
// deliveries (method, headers, auth, test: true) and sent through the same
// SSRF-safe client, and records it.
func (d *Dispatcher) probe(ctx context.Context, w *models.Webhook) error {
	now := d.now()
	number := w.ProbeCount + 1
	ev := map[string]any{"event": catalog.ProbeType, "event_id": catalog.NewEventID(now, rand.Reader),
		"occurred_at": now.UTC().Format("2006-01-02T15:04:05.000Z"), "probe_number": int64(number), "disable_reason": w.DisabledReason}
	a := models.ProbeAttempt{StartedAt: now, RequestURL: models.RedactURL(w.URL)}
	req, err := render(w, ev, true)
	if err != nil {
		a.ErrorKind, a.ErrorMessage = models.ErrKindRender, err.Error()
	} else {
		c := &models.Claimed{Webhook: *w, Delivery: models.Delivery{AccountID: w.AccountID, WebhookID: w.ID, EventID: ev["event_id"].(string),
			EventType: catalog.ProbeType, Test: true, AttemptCount: number, RequestMethod: req.Method, RequestURL: req.URL,
			RequestHeaders: models.JSON[[]models.Header]{V: req.Headers}, RequestBody: req.Body}}
		o := d.send(ctx, c, models.TriggerTest)
		a.StartedAt, a.DurationMS, a.RequestURL = o.Attempt.StartedAt, o.Attempt.DurationMS, o.Attempt.RequestURL
		a.ResponseStatus, a.ResponseBody, a.ErrorKind, a.ErrorMessage = o.Attempt.ResponseStatus, o.Attempt.ResponseBody, o.Attempt.ErrorKind, o.Attempt.ErrorMessage
	}
	out, err := d.store.RecordProbe(ctx, d.now(), w, d.id, a)
	if errors.Is(err, models.ErrProbeLost) {
		return nil // enabled or disabled by hand meanwhile
	}
	if err != nil {
		return fmt.Errorf("record probe of %s: %w", w.ID, err)
	}
	switch {
	case out.Healed:
		d.log.Info("webhook re-enabled after a successful probe", "webhook", w.ID, "probe", number, "replayed", out.Replayed)
		d.wake()
	case out.GaveUp:
		d.log.Warn("stopped probing a disabled webhook after three days", "webhook", w.ID, "probes", number)
	}
	return nil
}
