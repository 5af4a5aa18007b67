package models_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ringhook/ringhook/models"
)

// TestLatencyBoundsMatchTheDatabase: the Go histogram and the recount view
// put every duration in the same cell.
func TestLatencyBoundsMatchTheDatabase(t *testing.T) {
	s := newStore(t, nil)
	var text string
	if err := s.DB().Raw(`SELECT ringhook_latency_bounds()::text`).Scan(&text).Error; err != nil {
		t.Fatal(err)
	}
	want := "{"
	for i, b := range models.LatencyBounds {
		if i > 0 {
			want += ","
		}
		want += fmt.Sprint(b)
	}
	if want += "}"; text != want {
		t.Fatalf("ringhook_latency_bounds() = %s, models.LatencyBounds = %s", text, want)
	}
}

// outcomeFor is one attempt of d: ok (2xx), a failure with a retry, or a
// final failure, lasting ms.
func outcomeFor(d models.Delivery, number int, trigger models.Trigger, kind string, at time.Time, ms int) models.Outcome {
	o := models.Outcome{Test: d.Test, Attempt: models.Attempt{AccountID: d.AccountID, DeliveryID: d.ID, WebhookID: d.WebhookID,
		Number: number, Trigger: trigger, StartedAt: at, DurationMS: ms, RequestMethod: "POST", RequestURL: "https://example.com/"}}
	code := 200
	switch kind {
	case "ok":
		o.Status = models.StatusSucceeded
	case "retry":
		code = 503
		next := at.Add(5 * time.Minute)
		o.Status, o.NextAttemptAt, o.Attempt.NextRetryAt, o.Attempt.ErrorKind = models.StatusPending, &next, &next, models.ErrKindHTTPStatus
	default:
		code = 500
		o.Status, o.Attempt.ErrorKind = models.StatusFailed, models.ErrKindHTTPStatus
	}
	o.Attempt.ResponseStatus = &code
	return o
}

// TestRollupsEqualRecount drives Record with a random mix (successes,
// retries, final failures, manual and test sends, test-mode deliveries,
// render failures at ingest) from concurrent recorders, then compares the
// maintained rollups with a recount from the attempts, row by row.
func TestRollupsEqualRecount(t *testing.T) {
	s := newStore(t, func() time.Time { return fixtureBase.Add(48 * time.Hour) })
	ctx := context.Background()
	acc := newAccount(t, s)
	hooks := []*models.Webhook{newWebhook(t, s, acc.ID, "r-one"), newWebhook(t, s, acc.ID, "r-two"), newWebhook(t, s, acc.ID, "r-three")}
	rnd := rand.New(rand.NewPCG(11, 12))
	var outs []models.Outcome
	for i := range 150 {
		w := hooks[rnd.IntN(len(hooks))]
		d := insertDelivery(t, s, w, "call.hangup", models.StatusSending, "c", fixtureBase, rnd.IntN(6) == 0)
		at := fixtureBase.Add(time.Duration(rnd.IntN(40*60)) * time.Minute).Add(time.Duration(rnd.IntN(1e9)))
		for n := 1; n <= 1+rnd.IntN(4); n++ {
			trigger := []models.Trigger{models.TriggerAuto, models.TriggerAuto, models.TriggerManual, models.TriggerTest}[rnd.IntN(4)]
			kind := []string{"ok", "retry", "fail"}[rnd.IntN(3)]
			ms := []int{0, 1, 4, 99, 100, 250, 1999, 60000, 70000}[rnd.IntN(9)] + rnd.IntN(3)
			outs = append(outs, outcomeFor(d, n, trigger, kind, at, ms))
			at = at.Add(time.Duration(rnd.IntN(90)) * time.Minute)
		}
		if i%50 == 0 { // a render failure, recorded by ingest itself
			ev := &models.Event{AccountID: acc.ID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: fixtureBase,
				Payload: models.JSON[map[string]any]{V: map[string]any{}}}
			if _, err := s.Ingest(ctx, ev, func(_ *models.Event, _ []models.Webhook) []models.NewDelivery {
				return []models.NewDelivery{{Webhook: w, RenderErr: "template broke"}}
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	rnd.Shuffle(len(outs), func(i, j int) { outs[i], outs[j] = outs[j], outs[i] })
	var wg sync.WaitGroup
	errs := make(chan error, len(outs))
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := r * 7; i < len(outs); i += 4 * 7 {
				if _, err := s.Record(ctx, fixtureBase, outs[i:min(i+7, len(outs))], models.AutoDisable{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("record: %v", err)
	}
	cols := `account_id, webhook_id, test, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at`
	var extra, missing, rows int64
	db := s.DB()
	if err := db.Raw(`SELECT count(*) FROM (SELECT `+cols+` FROM webhook_rollups WHERE account_id = ? EXCEPT SELECT `+cols+` FROM webhook_rollups_recount WHERE account_id = ?) x`, acc.ID, acc.ID).Scan(&extra).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw(`SELECT count(*) FROM (SELECT `+cols+` FROM webhook_rollups_recount WHERE account_id = ? EXCEPT SELECT `+cols+` FROM webhook_rollups WHERE account_id = ?) x`, acc.ID, acc.ID).Scan(&missing).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw(`SELECT count(*) FROM webhook_rollups WHERE account_id = ?`, acc.ID).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if extra != 0 || missing != 0 || rows < 50 {
		t.Fatalf("%d rollup rows: %d not in the recount, %d of the recount missing", rows, extra, missing)
	}

	t.Run("the stats add up to the attempts, tests left out", func(t *testing.T) {
		stats, err := s.WebhookStats(ctx, acc.ID, fixtureBase.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range hooks {
			var want struct{ Attempts, OK, Failed, Retried int }
			if err := db.Raw(`SELECT count(*) AS attempts, count(*) FILTER (WHERE a.response_status = 200) AS ok,
				count(*) FILTER (WHERE a.response_status IS DISTINCT FROM 200 AND a.next_retry_at IS NULL) AS failed,
				count(*) FILTER (WHERE a.next_retry_at IS NOT NULL) AS retried
				FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
				WHERE a.webhook_id = ? AND NOT d.test AND a.trigger <> 'test'`, w.ID).Scan(&want).Error; err != nil {
				t.Fatal(err)
			}
			st := stats[w.ID]
			if st.Attempts != want.Attempts || st.Succeeded != want.OK || st.Failed != want.Failed || st.Retried != want.Retried || want.Attempts == 0 {
				t.Errorf("%s: stats %d/%d/%d/%d attempts/ok/failed/retried, attempts say %+v", w.Name, st.Attempts, st.Succeeded, st.Failed, st.Retried, want)
			}
		}
	})
	t.Run("a rebuild gives the same rows", func(t *testing.T) {
		if err := s.RebuildRollups(ctx, acc.ID); err != nil {
			t.Fatal(err)
		}
		var after int64
		if err := db.Raw(`SELECT count(*) FROM webhook_rollups WHERE account_id = ?`, acc.ID).Scan(&after).Error; err != nil || after != rows {
			t.Errorf("%d rows after the rebuild, %d before (%v)", after, rows, err)
		}
	})
}

// TestDeliveryCountsInLocalHours: hours and days are the account's, also
// in zones half or three quarters of an hour off UTC.
func TestDeliveryCountsInLocalHours(t *testing.T) {
	now := time.Date(2026, 1, 10, 10, 40, 0, 0, time.UTC) // 16:10 in Kolkata, 16:25 in Kathmandu
	s := newStore(t, func() time.Time { return now })
	ctx := context.Background()
	acc, err := s.CreateAccount(ctx, "Acct "+models.NewID(""), "Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	w := newWebhook(t, s, acc.ID, "local")
	d := insertDelivery(t, s, w, "call.hangup", models.StatusSending, "c", now, false)
	at := func(h, m int) time.Time { return time.Date(2026, 1, 10, h, m, 0, 0, time.UTC) }
	var outs []models.Outcome
	for i, a := range []struct {
		at   time.Time
		kind string
		ms   int
	}{
		{at(9, 29), "ok", 10},     // 14:59 IST: the 14:00 hour
		{at(9, 30), "ok", 20},     // 15:00 IST
		{at(10, 29), "fail", 300}, // 15:59 IST
		{at(10, 30), "retry", 40}, // 16:00 IST, the current hour
		{at(10, 35), "ok", 50},
	} {
		outs = append(outs, outcomeFor(d, i+1, models.TriggerAuto, a.kind, a.at, a.ms))
	}
	if _, err := s.Record(ctx, now, outs, models.AutoDisable{}); err != nil {
		t.Fatal(err)
	}
	ist := acc.Location()
	got, err := s.DeliveryCounts(ctx, acc.ID, models.LocalHours(now, ist, 24))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 24 {
		t.Fatalf("%d buckets", len(got))
	}
	for i, b := range got {
		if b.Start.In(ist).Minute() != 0 || b.End.Sub(b.Start) != time.Hour {
			t.Errorf("bucket %d spans %v–%v: not a whole IST hour", i, b.Start.In(ist), b.End.In(ist))
		}
	}
	last := func(k int) models.Bucket { return got[len(got)-1-k] }
	if b := last(0); b.Start.In(ist).Hour() != 16 || b.Succeeded != 1 || b.Retried != 1 || b.Attempts != 2 {
		t.Errorf("16:00 IST: %+v", b)
	}
	if b := last(1); b.Succeeded != 1 || b.Failed != 1 || b.Attempts != 2 {
		t.Errorf("15:00 IST: %+v", b)
	}
	if b := last(2); b.Succeeded != 1 || b.Attempts != 1 {
		t.Errorf("14:00 IST: %+v", b)
	}
	nepal, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}
	np, err := s.DeliveryCounts(ctx, acc.ID, models.LocalHours(now, nepal, 2))
	if err != nil {
		t.Fatal(err)
	}
	// 15:00–16:00 NPT is 09:15–10:15 UTC; 16:00–17:00 is 10:15–11:15.
	if len(np) != 2 || np[0].Attempts != 2 || np[1].Attempts != 3 || np[1].Start.In(nepal).Hour() != 16 {
		t.Errorf("Kathmandu hours: %+v", np)
	}

	t.Run("the report sums its series", func(t *testing.T) {
		for _, window := range []string{models.Window24h, models.Window7d} {
			rep, err := s.WebhookReport(ctx, acc.ID, w.ID, window, ist)
			if err != nil {
				t.Fatal(err)
			}
			wantLen := map[string]int{models.Window24h: 24, models.Window7d: 7}[window]
			sum := 0
			for _, b := range rep.Series {
				sum += b.Attempts
			}
			if len(rep.Series) != wantLen || sum != 5 || rep.Stat.Attempts != 5 || rep.Stat.Succeeded != 3 || rep.Stat.Deliveries() != 4 {
				t.Errorf("%s: %d buckets summing %d, stat %+v", window, len(rep.Series), sum, rep.Stat)
			}
			if p50, _ := rep.Stat.Latency.Quantile(0.5); p50 < 30 || p50 > 50 {
				t.Errorf("%s: p50 %d ms, want between 30 and 50", window, p50)
			}
			if rep.Stat.LastSuccessAt == nil || !rep.Stat.LastSuccessAt.Equal(at(10, 35)) || rep.Stat.LastFailureAt == nil || !rep.Stat.LastFailureAt.Equal(at(10, 30)) {
				t.Errorf("%s: last success %v, failure %v", window, rep.Stat.LastSuccessAt, rep.Stat.LastFailureAt)
			}
		}
		last := rep7dDay(t, s, acc.ID, w.ID, ist)
		if last.Start.In(ist).Hour() != 0 || !slices.Contains([]time.Duration{23 * time.Hour, 24 * time.Hour, 25 * time.Hour}, last.End.Sub(last.Start)) {
			t.Errorf("7d buckets are not local days: %v–%v", last.Start.In(ist), last.End.In(ist))
		}
	})
	t.Run("bad windows and other accounts", func(t *testing.T) {
		if _, err := s.WebhookReport(ctx, acc.ID, w.ID, "1y", ist); err == nil {
			t.Error("window 1y accepted")
		}
		other := newAccount(t, s)
		if _, err := s.WebhookReport(ctx, other.ID, w.ID, models.Window24h, ist); err == nil {
			t.Error("another account read the report")
		}
	})
}

func rep7dDay(t *testing.T, s *models.Store, accountID, webhookID string, loc *time.Location) models.Bucket {
	t.Helper()
	rep, err := s.WebhookReport(context.Background(), accountID, webhookID, models.Window7d, loc)
	if err != nil {
		t.Fatal(err)
	}
	return rep.Series[len(rep.Series)-1]
}

func TestHistogramQuantile(t *testing.T) {
	h := make(models.Histogram, len(models.LatencyBounds)+1)
	if _, ok := h.Quantile(0.5); ok {
		t.Error("an empty histogram has a median")
	}
	h[11] = 100 // 70 <= ms < 100
	if p, _ := h.Quantile(0.5); p != 85 {
		t.Errorf("p50 %d, want 85", p)
	}
	h[len(h)-1] = 100 // at or over 60 s
	if p, _ := h.Quantile(0.95); p != 60000 {
		t.Errorf("p95 %d, want 60000", p)
	}
}
