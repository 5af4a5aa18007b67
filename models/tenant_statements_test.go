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

// explain returns the plan (EXPLAIN, FORMAT JSON) of every distinct
// logged statement that matches, planned with its own arguments in a
// transaction that turns off the given planner settings and rolls back.
func (l *statementLog) explain(t *testing.T, s *models.Store, match *regexp.Regexp, off ...string) map[string]planNode {
	t.Helper()
	ctx := context.Background()
	l.mu.Lock()
	runs := slices.Clone(l.runs)
	l.mu.Unlock()
	sqlDB, err := s.DB().DB()
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]planNode{}
	for _, r := range runs {
		if _, done := plans[r.sql]; done || !match.MatchString(r.sql) || strings.HasPrefix(strings.TrimSpace(r.sql), "EXPLAIN") {
			continue
		}
		tx, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		err = func() error {
			for _, set := range off {
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
			t.Fatalf("explain %s: %v", r.sql, err)
		}
		var p []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &p); err != nil || len(p) != 1 {
			t.Fatalf("plan of %s: %v", r.sql, err)
		}
		plans[r.sql] = p[0].Plan
	}
	return plans
}

// loggedStore is a Store on a database of the test's own, on the clock
// *now, whose statements are logged.
func loggedStore(t *testing.T, name string, now *time.Time) (*models.Store, *statementLog) {
	t.Helper()
	s := models.NewStore(modeltest.OwnDatabase(t, name), func() time.Time { return *now })
	log := &statementLog{}
	log.watch(t, s.DB())
	return s, log
}

// ingestToAll stores a call.hangup of the account with a delivery to
// every webhook it matches.
func ingestToAll(t *testing.T, s *models.Store, accountID string, at time.Time) {
	t.Helper()
	ev := &models.Event{AccountID: accountID, ID: models.NewID("evt_"), Type: "call.hangup", OccurredAt: at,
		Payload: models.JSON[map[string]any]{V: map[string]any{"event": "call.hangup"}}}
	if _, err := s.Ingest(context.Background(), ev, func(_ *models.Event, hooks []models.Webhook) []models.NewDelivery {
		out := make([]models.NewDelivery, len(hooks))
		for i := range hooks {
			out[i] = models.NewDelivery{Webhook: &hooks[i], Request: models.RenderedRequest{Method: "POST", URL: hooks[i].URL, Body: []byte(`{}`)}}
		}
		return out
	}); err != nil {
		t.Fatal(err)
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
	s, log := loggedStore(t, "models/webhook_statements", &now)
	ctx := context.Background()
	acc := newAccount(t, s)
	ok, broken := newWebhook(t, s, acc.ID, "ok"), newWebhook(t, s, acc.ID, "broken")
	ingest := func() { ingestToAll(t, s, acc.ID, now) }
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

	checked := map[string]bool{}
	for q, plan := range log.explain(t, s, readsWebhooks, "enable_seqscan", "enable_hashjoin", "enable_mergejoin") {
		checked[q] = true
		for _, n := range plan.scansOf("webhooks") {
			if !n.namesAccount() && !slices.Contains(sweepIndexes, n.index()) {
				t.Errorf("reads webhooks by %q (%s %s), not through the account:\n%s", n.cond(), n.NodeType, n.index(), q)
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

// scansOf returns the nodes that read table (any table for ""), anywhere
// under n (an UPDATE's ModifyTable writes the rows its child scan found).
func (n planNode) scansOf(table string) []planNode {
	var out []planNode
	if n.Relation != "" && (table == "" || n.Relation == table) && n.NodeType != "ModifyTable" {
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

var updatesDeliveries = regexp.MustCompile(`(?s)^\s*(WITH .*)?UPDATE deliveries d SET`)

// filtersOnID matches a scan condition that compares a row's id with
// another's (the claim's p.id = id, the recorder's id = o.delivery_id).
var filtersOnID = regexp.MustCompile(`\(([a-z_0-9]+\.)?id = [a-z_0-9]+\.[a-z_]*id\)|= ([a-z_0-9]+\.)?id\)`)

// TestClaimAndRecordFindDeliveriesByKeyOnNewPartitions plans the claim's
// and the recorder's statements on a fresh database, whose partitions are
// as empty as every week's when it opens: each scan of deliveries must
// look the row up by its id in the index, not read the account's rows
// and filter on id (what they did while the newest index of deliveries
// was (account_id, event_id), see migration 0035: delivery latency went
// to seconds).
func TestClaimAndRecordFindDeliveriesByKeyOnNewPartitions(t *testing.T) {
	now := fixtureBase
	s, log := loggedStore(t, "models/new_partition_plans", &now)
	ctx := context.Background()
	acc := newAccount(t, s)
	w := newWebhook(t, s, acc.ID, "hook")
	ingestToAll(t, s, acc.ID, now)
	claimed, err := s.Claim(ctx, now, 10, 8, nil, "")
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d, %v; want 1", len(claimed), err)
	}
	code := 200
	c := claimed[0]
	if _, err := s.Record(ctx, now, []models.Outcome{{Status: models.StatusSucceeded, Attempt: models.Attempt{AccountID: acc.ID,
		DeliveryID: c.ID, WebhookID: w.ID, Number: c.AttemptCount, Trigger: models.TriggerAuto, StartedAt: now,
		RequestMethod: "POST", ResponseStatus: &code}}}, models.AutoDisable{}); err != nil {
		t.Fatal(err)
	}
	plans := log.explain(t, s, updatesDeliveries)
	if len(plans) < 2 {
		t.Fatalf("planned %d statements updating deliveries, want the claim's and the recorder's", len(plans))
	}
	for q, plan := range plans {
		for _, n := range plan.scansOf("") {
			if strings.HasPrefix(n.Relation, "deliveries") && filtersOnID.MatchString(n.Filter) {
				t.Errorf("%s of %s through %s filters on id (%s) instead of looking it up:\n%s", n.NodeType, n.Relation, n.index(), n.Filter, q)
			}
		}
	}
}

// writesAccountTable matches a statement that updates, deletes from or
// locks rows of the console's per-account tables, and names the table.
var writesAccountTable = regexp.MustCompile(`(?is)^\s*(?:WITH .*?)?(?:UPDATE|DELETE FROM)\s+"?(users|sessions|api_keys|invites|jobs)"?\b|^\s*SELECT .* FROM "?(users|sessions|api_keys|invites|jobs)"? .*FOR (?:NO KEY )?UPDATE`)

// TestAccountWritesNameTheAccount walks the console's writes to its small
// per-account tables (a sign-in, a session's touch, revoke and password
// change, an API key's use and revoke, an invite accepted and one
// revoked, a role change, a member removed, a retry job claimed and run)
// and EXPLAINs each UPDATE, DELETE and row lock: the scan of the table
// must be restricted by account_id. Finding the row by token, email or key
// hash is a read that learns the account; the write then names it, so a
// table distributed by account_id routes it to one node.
func TestAccountWritesNameTheAccount(t *testing.T) {
	now := fixtureBase
	s, log := loggedStore(t, "models/account_writes", &now)
	ctx := context.Background()
	later := func(d time.Duration) { now = now.Add(d) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	acc := newAccount(t, s)
	owner, err := s.CreateUser(ctx, acc.ID, "owner-"+models.NewID("")+"@example.com", "correct horse battery", models.RoleOwner)
	must(err)
	who := models.Actor{UserID: owner.ID, Label: owner.Email}
	_, err = s.Authenticate(ctx, owner.Email, "correct horse battery")
	must(err)

	sid, token, err := s.CreateSession(ctx, acc.ID, owner.ID, now.Add(time.Hour), "127.0.0.1", "test")
	must(err)
	later(2 * time.Minute)
	_, _, _, err = s.LiveSession(ctx, token)
	must(err)
	_, other, err := s.CreateSession(ctx, acc.ID, owner.ID, now.Add(time.Hour), "127.0.0.1", "test")
	must(err)
	must(s.RevokeSessionToken(ctx, other))
	must(s.ChangePassword(ctx, acc.ID, owner.ID, "correct horse battery", "another long passphrase", "another long passphrase", sid))
	must(s.RevokeSession(ctx, acc.ID, owner.ID, sid))

	key, plain, err := s.CreateAPIKey(ctx, acc.ID, who, models.NewAPIKey{Name: "ci", Scope: models.ScopeIngest})
	must(err)
	_, err = s.AuthenticateAPIKey(ctx, plain)
	must(err)
	must(s.RevokeAPIKey(ctx, acc.ID, key.ID, who))

	_, invite, err := s.CreateInvite(ctx, acc.ID, who, "admin-"+models.NewID("")+"@example.com", models.RoleAdmin)
	must(err)
	admin, err := s.AcceptInvite(ctx, invite, "a third long passphrase")
	must(err)
	_, err = s.ChangeUserRole(ctx, acc.ID, who, admin.ID, models.RoleViewer)
	must(err)
	_, err = s.RemoveUser(ctx, acc.ID, who, admin.ID)
	must(err)
	revoked, _, err := s.CreateInvite(ctx, acc.ID, who, "late-"+models.NewID("")+"@example.com", models.RoleViewer)
	must(err)
	must(s.RevokeInvite(ctx, acc.ID, who, revoked.ID))

	hook := newWebhook(t, s, acc.ID, "retry")
	failed := insertDelivery(t, s, hook, "call.hangup", models.StatusFailed, "c", now, false)
	must(s.DB().Exec(`UPDATE deliveries SET completed_at = ? WHERE account_id = ? AND id = ?`, now, acc.ID, failed.ID).Error)
	_, err = s.StartRetryFailed(ctx, acc.ID, who, models.RetryFailed{WebhookID: hook.ID, Since: now.Add(-time.Hour)})
	must(err)
	if j, err := s.ClaimJob(ctx, "runner", now, time.Minute); err != nil || j == nil {
		t.Fatalf("claim job: %v, %v", j, err)
	} else if _, err := s.RunJobBatch(ctx, j, "runner", 10, now, time.Minute); err != nil {
		t.Fatal(err)
	}

	checked := map[string]bool{}
	for q, plan := range log.explain(t, s, writesAccountTable, "enable_seqscan") {
		checked[q] = true
		m := writesAccountTable.FindStringSubmatch(q)
		table := m[1] + m[2]
		scans := plan.scansOf(table)
		if len(scans) == 0 {
			t.Errorf("no scan of %s in the plan of:\n%s", table, q)
		}
		for _, n := range scans {
			// The job runner's walk of open jobs serves every account,
			// as the dispatcher's of the due set does.
			if !n.namesAccount() && n.index() != "jobs_open_idx" {
				t.Errorf("finds %s rows by %q (%s %s), not through the account:\n%s", table, n.cond(), n.NodeType, n.index(), q)
			}
		}
	}
	for _, want := range []string{"last_login_at", "last_seen_at", "last_used_at", "password_hash", "accepted_at", `"role"`,
		"lease_holder", `DELETE FROM "users"`} {
		found := false
		for q := range checked {
			found = found || strings.Contains(q, want)
		}
		if !found {
			t.Errorf("no write with %q ran: the flow no longer covers it", want)
		}
	}
}
