package models_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ringhook/ringhook/models"
	"github.com/ringhook/ringhook/models/modeltest"
)

// sweepIndexes are the indexes through which a statement may read
// webhooks of every account: the walks of the due set, of the probes due
// and of deleted webhooks, which sharded would run on each node over the
// accounts it holds (docs/scaling.md).
var sweepIndexes = []string{"webhooks_due_idx", "webhooks_probe_due_idx", "webhooks_deleted_idx"}

// statementLog records the statements a Store runs, with their arguments.
type statementLog struct {
	mu   sync.Mutex
	runs []loggedStatement
}

type loggedStatement struct {
	sql  string
	vars []any
}

// watch registers the log on every kind of statement GORM runs on db.
func (l *statementLog) watch(t *testing.T, db *gorm.DB) {
	t.Helper()
	note := func(tx *gorm.DB) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.runs = append(l.runs, loggedStatement{sql: tx.Statement.SQL.String(), vars: slices.Clone(tx.Statement.Vars)})
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("gorm:create").Register("test:log", note),
		cb.Query().After("gorm:query").Register("test:log", note),
		cb.Update().After("gorm:update").Register("test:log", note),
		cb.Delete().After("gorm:delete").Register("test:log", note),
		cb.Row().After("gorm:row").Register("test:log", note),
		cb.Raw().After("gorm:raw").Register("test:log", note),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

var readsWebhooks = regexp.MustCompile(`(?i)\bwebhooks\b`)

// TestWebhookStatementsNameTheAccount runs the dispatcher's paths through
// a Store (ingest, claim, a success, a failure and its retry, an
// auto-disable, the breaker's probe lease, the probe claim, the reaper's
// requeue, the due set's settle, the key rotation) and EXPLAINs every
// statement that read or wrote webhooks, with its own arguments, under
// settings that leave the planner only index paths: every scan of
// webhooks must be restricted by account_id, or walk one of the sweep
// indexes. A statement finding webhooks by id alone (what a table
// distributed by account_id could not route to one node) fails it.
func TestWebhookStatementsNameTheAccount(t *testing.T) {
	now := fixtureBase
	// Its own database: the key rotation walks every account's webhooks.
	s := models.NewStore(modeltest.OwnDatabase(t, "models/webhook_statements"), func() time.Time { return now })
	ctx := context.Background()
	var log statementLog
	log.watch(t, s.DB())

	acc := newAccount(t, s)
	ok, broken := newWebhook(t, s, acc.ID, "ok"), newWebhook(t, s, acc.ID, "broken")
	ingest := func() {
		t.Helper()
		ev := &models.Event{AccountID: acc.ID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: now,
			Payload: models.JSON[map[string]any]{V: map[string]any{"event": "call.hangup"}}}
		if _, err := s.Ingest(ctx, ev, func(_ *models.Event, hooks []models.Webhook) []models.NewDelivery {
			out := make([]models.NewDelivery, len(hooks))
			for i := range hooks {
				out[i] = models.NewDelivery{Webhook: &hooks[i], Request: models.RenderedRequest{Method: "POST", URL: hooks[i].URL, Body: []byte(`{}`)}}
			}
			return out
		}); err != nil {
			t.Fatal(err)
		}
	}
	claim := func() []models.Claimed {
		t.Helper()
		c, err := s.Claim(ctx, now, 10, 8, nil, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	outcome := func(c models.Claimed, code int, retry bool) models.Outcome {
		o := models.Outcome{Status: models.StatusSucceeded, Attempt: models.Attempt{AccountID: c.AccountID, DeliveryID: c.ID,
			WebhookID: c.WebhookID, Number: c.AttemptCount, Trigger: models.TriggerAuto, StartedAt: now, RequestMethod: "POST",
			ResponseStatus: &code}}
		if code >= 300 {
			o.Status, o.Attempt.ErrorKind = models.StatusFailed, models.ErrKindHTTPStatus
			if retry {
				next := now.Add(time.Minute)
				o.Status, o.NextAttemptAt, o.Attempt.NextRetryAt = models.StatusPending, &next, &next
			}
		}
		return o
	}
	record := func(rule models.AutoDisable, outs ...models.Outcome) {
		t.Helper()
		if _, err := s.Record(ctx, now, outs, rule); err != nil {
			t.Fatal(err)
		}
	}
	keep := models.AutoDisable{Failures: 1 << 20, Window: time.Hour}

	// A success beside a failure that retries, then the retry fails for good.
	ingest()
	var outs []models.Outcome
	for _, c := range claim() {
		code := 500
		if c.WebhookID == ok.ID {
			code = 200
		}
		outs = append(outs, outcome(c, code, true))
	}
	record(keep, outs...)
	now = now.Add(2 * time.Minute)
	for _, c := range claim() {
		record(keep, outcome(c, 500, false))
	}
	// A lease that runs out goes back to the queue; the settle corrects
	// the due set.
	ingest()
	if n := len(claim()); n != 2 {
		t.Fatalf("claimed %d deliveries, want 2", n)
	}
	now = now.Add(time.Hour)
	if n, err := s.ReapExpired(ctx, now); err != nil || n != 2 {
		t.Fatalf("reaped %d, %v; want 2", n, err)
	}
	if _, err := s.SettleDue(ctx, now); err != nil {
		t.Fatal(err)
	}
	// The breaker: a webhook past BreakerFailures gets one probe, leased.
	if err := s.DB().Exec(`UPDATE webhooks SET consecutive_failures = ? WHERE account_id = ? AND id = ?`, models.BreakerFailures, acc.ID, broken.ID).Error; err != nil {
		t.Fatal(err)
	}
	for _, c := range claim() {
		code := 200
		if c.WebhookID == broken.ID {
			code = 500
		}
		record(models.AutoDisable{Failures: 1, Window: 0}, outcome(c, code, false)) // broken is disabled
	}
	now = now.Add(24 * time.Hour)
	if _, err := s.ClaimProbes(ctx, now, 10, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReencryptSecrets(ctx); err != nil {
		t.Fatal(err)
	}
	if w, err := s.Webhook(ctx, acc.ID, broken.ID); err != nil || w.Enabled {
		t.Fatalf("the broken webhook is enabled %v (%v): the auto-disable did not run", w != nil && w.Enabled, err)
	}

	log.mu.Lock()
	runs := slices.Clone(log.runs)
	log.mu.Unlock()
	sqlDB, err := s.DB().DB()
	if err != nil {
		t.Fatal(err)
	}
	checked := map[string]bool{}
	for _, r := range runs {
		if !readsWebhooks.MatchString(r.sql) || checked[r.sql] || strings.HasPrefix(strings.TrimSpace(r.sql), "EXPLAIN") {
			continue
		}
		checked[r.sql] = true
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		err = func() error {
			for _, set := range []string{"enable_seqscan", "enable_hashjoin", "enable_mergejoin"} {
				if _, err := tx.ExecContext(ctx, "SET LOCAL "+set+" = off"); err != nil {
					return err
				}
			}
			return tx.QueryRowContext(ctx, "EXPLAIN (FORMAT JSON) "+r.sql, r.vars...).Scan(&out)
		}()
		if rerr := tx.Rollback(); rerr != nil {
			t.Fatal(rerr)
		}
		if err != nil {
			t.Errorf("explain %s: %v", r.sql, err)
			continue
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("plan of %s: %v", r.sql, err)
		}
		for _, n := range plans[0].Plan.scansOf("webhooks") {
			if !n.namesAccount() && !slices.Contains(sweepIndexes, n.index()) {
				t.Errorf("reads webhooks by %q (%s %s), not through the account:\n%s", n.cond(), n.NodeType, n.index(), r.sql)
			}
		}
	}
	// The paths above ran what this test means to check.
	for _, want := range []string{"consecutive_failures = 0", "next_due_at = least", "paused_until = CAST", "enabled = false",
		"probe_lease_holder", "signing_secret", "consecutive_failures = (CASE"} {
		found := false
		for q := range checked {
			found = found || strings.Contains(q, want)
		}
		if !found {
			t.Errorf("no statement with %q ran: the flow no longer covers it", want)
		}
	}
}

// scansOf returns the nodes that read table, anywhere under n (an
// UPDATE's ModifyTable writes the rows its child scan found).
func (n planNode) scansOf(table string) []planNode {
	var out []planNode
	if n.Relation == table && n.NodeType != "ModifyTable" {
		out = append(out, n)
	}
	for _, c := range n.Plans {
		out = append(out, c.scansOf(table)...)
	}
	return out
}

// cond is every condition of the scan, a bitmap scan's index conditions
// included.
func (n planNode) cond() string {
	parts := []string{n.IndexCond, n.Recheck, n.Filter}
	for _, c := range n.Plans {
		if c.Relation == "" && c.Index != "" {
			parts = append(parts, c.IndexCond)
		}
	}
	return strings.Join(parts, " ")
}

func (n planNode) namesAccount() bool { return strings.Contains(n.cond(), "account_id") }

// index is the index the scan reads (a bitmap scan's first).
func (n planNode) index() string {
	if n.Index != "" {
		return n.Index
	}
	for _, c := range n.Plans {
		if c.Index != "" {
			return c.Index
		}
	}
	return ""
}
