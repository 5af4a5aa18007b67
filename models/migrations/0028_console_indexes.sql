-- The delivery log's filters and every console page and API list read the
-- account's own rows through an index led by account_id (issue 11): with
-- ten million deliveries the log filtered by webhook, status, event type or
-- call walks only the matching rows, newest id first, and stops at the
-- page size; a time range reads only the rows inside it. Each ends with
-- id so that models.Store.Deliveries picks a page's ids from the index
-- alone (an index-only scan) before it reads those rows. Measured with
-- `ringhook console-bench` (docs/scaling.md).
CREATE INDEX deliveries_account_webhook_idx ON deliveries (account_id, webhook_id, id);
CREATE INDEX deliveries_account_status_idx ON deliveries (account_id, status, id);
CREATE INDEX deliveries_account_type_idx ON deliveries (account_id, event_type, id);
CREATE INDEX deliveries_account_call_idx ON deliveries (account_id, call_id, id) WHERE call_id IS NOT NULL;
CREATE INDEX deliveries_account_created_idx ON deliveries (account_id, created_at, id);
-- What the dashboard lists as failing in its window (ended failed, or
-- waiting for a retry after a failed attempt: models.failingSQL spells the
-- same predicate): few rows per day, found without walking the day's
-- successes.
CREATE INDEX deliveries_account_failing_idx ON deliveries (account_id, created_at)
    WHERE status = 'failed' OR (status = 'pending' AND attempt_count > 0) OR (status = 'sending' AND attempt_count > 1);
