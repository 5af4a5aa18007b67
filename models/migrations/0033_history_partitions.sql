-- History (events, deliveries, attempts) moves into weekly range
-- partitions, so retention drops whole weeks instead of deleting rows.
--
-- A week runs Monday 00:00 UTC to the next Monday. Week w holds:
--   events      received_at in [history_week_start(w), history_week_start(w+1))
--   deliveries  id in [w << 40, (w+1) << 40): a delivery's id carries the
--               week it was created in (delivery_row_id), so every lookup by
--               (account_id, id) reaches one partition
--   attempts    delivery_id in the same range: with their delivery
-- A delivery is created in its event's transaction, at the same instant,
-- so the three partitions of a week hold one week of history and go
-- together. No foreign keys run between the three tables (a partition could
-- not be dropped without checking the others); the statements that delete
-- history name all three.
--
-- An event id must stay unique for as long as history is kept, but a
-- partitioned table's unique keys must include its partition key. The
-- event_ids ledger holds every stored (account_id, id) with a primary key
-- of its own; a trigger on events inserts there first and skips the event
-- when the id is already known, which keeps INSERT ... ON CONFLICT DO
-- NOTHING RETURNING meaning what it meant.
--
-- A row whose week has no partition yet lands in the table's default
-- partition rather than failing. Ringhook creates each week's partitions
-- before writing into it (and a week ahead), so the default partitions
-- stay empty.

CREATE FUNCTION history_week(at timestamptz) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN floor((extract(epoch FROM at) - 345600) / 604800); -- 345600 s: Monday 1970-01-05

CREATE FUNCTION history_week_start(w int) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN to_timestamp(345600 + w::bigint * 604800);

CREATE SEQUENCE deliveries_row_seq;

-- delivery_row_id is the id of a delivery created at at: its week in the
-- high bits, a sequence number in the low 40.
CREATE FUNCTION delivery_row_id(at timestamptz) RETURNS bigint
LANGUAGE sql VOLATILE PARALLEL UNSAFE
RETURN (history_week(at)::bigint << 40) | (nextval('deliveries_row_seq') & 1099511627775);

-- The recount view (migration 0018) is made again over the new tables.
DROP VIEW webhook_rollups_recount;

-- The old tables step aside, with their indexes and sequences renamed so
-- the new ones can take the names.
ALTER TABLE attempts RENAME TO attempts_old;
ALTER TABLE deliveries RENAME TO deliveries_old;
ALTER TABLE events RENAME TO events_old;
ALTER SEQUENCE attempts_id_seq RENAME TO attempts_id_seq_old;
DO $$
DECLARE r record;
BEGIN
	FOR r IN SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
		WHERE x.indrelid IN ('attempts_old'::regclass, 'deliveries_old'::regclass, 'events_old'::regclass)
	LOOP
		EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, r.relname || '_old');
	END LOOP;
END $$;

CREATE TABLE events (LIKE events_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (received_at);
ALTER TABLE events ADD PRIMARY KEY (account_id, id, received_at),
	ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE;
CREATE INDEX events_call_idx ON events (account_id, call_id) WHERE call_id IS NOT NULL;
CREATE INDEX events_from_number_idx ON events (account_id, (payload ->> 'from_number'));
CREATE INDEX events_to_number_idx ON events (account_id, (payload ->> 'to_number'));
CREATE INDEX events_recent_idx ON events (account_id, received_at DESC, id DESC);
-- A lookup by (account_id, id) reads the primary key's prefix.

CREATE TABLE event_ids (
	account_id text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	id text NOT NULL,
	received_at timestamptz NOT NULL,
	PRIMARY KEY (account_id, id)
);
-- Retention removes the ids of dropped weeks oldest first.
CREATE INDEX event_ids_received_idx ON event_ids (received_at);

CREATE FUNCTION events_claim_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO event_ids (account_id, id, received_at) VALUES (NEW.account_id, NEW.id, NEW.received_at)
	ON CONFLICT DO NOTHING;
	IF FOUND THEN
		RETURN NEW;
	END IF;
	RETURN NULL; -- a duplicate: the event is not stored again
END $$;
CREATE TRIGGER events_claim_id BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION events_claim_id();

CREATE TABLE deliveries (LIKE deliveries_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS) PARTITION BY RANGE (id);
ALTER TABLE deliveries ALTER COLUMN id SET DEFAULT delivery_row_id(now());
ALTER TABLE deliveries ADD PRIMARY KEY (account_id, id),
	ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE,
	ADD CONSTRAINT deliveries_webhook_id_fkey FOREIGN KEY (account_id, webhook_id) REFERENCES webhooks (account_id, id) ON DELETE CASCADE;
CREATE INDEX deliveries_account_call_idx ON deliveries (account_id, call_id, id) WHERE call_id IS NOT NULL;
CREATE INDEX deliveries_account_created_idx ON deliveries (account_id, created_at, id);
CREATE INDEX deliveries_account_failing_idx ON deliveries (account_id, created_at)
	WHERE status = 'failed' OR (status = 'pending' AND attempt_count > 0) OR (status = 'sending' AND attempt_count > 1);
CREATE INDEX deliveries_account_status_idx ON deliveries (account_id, status, id);
CREATE INDEX deliveries_account_type_idx ON deliveries (account_id, event_type, id);
CREATE INDEX deliveries_account_webhook_idx ON deliveries (account_id, webhook_id, id);
CREATE INDEX deliveries_call_order_idx ON deliveries (webhook_id, call_id, occurred_at, id)
	WHERE status IN ('pending', 'sending') AND call_id IS NOT NULL;
CREATE INDEX deliveries_event_idx ON deliveries (account_id, event_id);
CREATE INDEX deliveries_expired_idx ON deliveries (account_id, webhook_id, completed_at) WHERE status = 'expired';
CREATE INDEX deliveries_expiry_idx ON deliveries (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
CREATE INDEX deliveries_failed_idx ON deliveries (webhook_id, id) WHERE status = 'failed';
CREATE INDEX deliveries_lease_idx ON deliveries (lease_until) WHERE status = 'sending' AND lease_until IS NOT NULL;
CREATE INDEX deliveries_webhook_due_idx ON deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_webhook_failed_idx ON deliveries (account_id, webhook_id, completed_at) WHERE status = 'failed' AND NOT test;
CREATE INDEX deliveries_webhook_idx ON deliveries (webhook_id, id DESC);

-- Attempts are found by their delivery; the (delivery, number) key that
-- keeps a late recorder from writing an attempt twice is the primary key.
CREATE TABLE attempts (LIKE attempts_old INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY) PARTITION BY RANGE (delivery_id);
ALTER TABLE attempts ADD PRIMARY KEY (account_id, delivery_id, number),
	ADD FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE;
CREATE INDEX attempts_bodies_kept_idx ON attempts (account_id, started_at) WHERE NOT bodies_dropped;

CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE TABLE deliveries_default PARTITION OF deliveries DEFAULT;
CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;

-- history_partition_name is the name of table's partition for week w: the
-- table and the week's Monday, as in deliveries_20261130.
CREATE FUNCTION history_partition_name(tab text, w int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN tab || '_' || to_char(history_week_start(w) AT TIME ZONE 'UTC', 'YYYYMMDD');

-- history_partition_add creates and attaches week w's three partitions
-- unless they exist, and says whether it did. Each is created on its own
-- and then attached: ATTACH PARTITION locks the parent only against other
-- schema changes, where CREATE TABLE ... PARTITION OF would block every
-- reader and writer of the table.
CREATE FUNCTION history_partition_add(w int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	lo timestamptz := history_week_start(w);
	hi timestamptz := history_week_start(w + 1);
	tab text;
BEGIN
	PERFORM pg_advisory_xact_lock(7245193033);
	IF to_regclass(history_partition_name('events', w)) IS NOT NULL THEN
		RETURN false;
	END IF;
	FOREACH tab IN ARRAY ARRAY['events', 'deliveries', 'attempts'] LOOP
		EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', history_partition_name(tab, w), tab);
	END LOOP;
	-- Rows written into the week before it had partitions wait in the
	-- default partitions; they move in first (ATTACH would refuse them).
	IF EXISTS (SELECT 1 FROM events_default WHERE received_at >= lo AND received_at < hi)
		OR EXISTS (SELECT 1 FROM deliveries_default WHERE id >= w::bigint << 40 AND id < (w + 1)::bigint << 40)
		OR EXISTS (SELECT 1 FROM attempts_default WHERE delivery_id >= w::bigint << 40 AND delivery_id < (w + 1)::bigint << 40)
	THEN
		LOCK TABLE events_default, deliveries_default, attempts_default IN SHARE ROW EXCLUSIVE MODE;
		EXECUTE format('WITH m AS (DELETE FROM events_default WHERE received_at >= %L AND received_at < %L RETURNING *) INSERT INTO %I SELECT * FROM m',
			lo, hi, history_partition_name('events', w));
		FOREACH tab IN ARRAY ARRAY['deliveries', 'attempts'] LOOP
			EXECUTE format('WITH m AS (DELETE FROM %I WHERE %I >= %s AND %I < %s RETURNING *) INSERT INTO %I SELECT * FROM m',
				tab || '_default', CASE tab WHEN 'deliveries' THEN 'id' ELSE 'delivery_id' END, w::bigint << 40,
				CASE tab WHEN 'deliveries' THEN 'id' ELSE 'delivery_id' END, (w + 1)::bigint << 40, history_partition_name(tab, w));
		END LOOP;
	END IF;
	EXECUTE format('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', history_partition_name('events', w), lo, hi);
	EXECUTE format('ALTER TABLE deliveries ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
		history_partition_name('deliveries', w), w::bigint << 40, (w + 1)::bigint << 40);
	EXECUTE format('ALTER TABLE attempts ATTACH PARTITION %I FOR VALUES FROM (%s) TO (%s)',
		history_partition_name('attempts', w), w::bigint << 40, (w + 1)::bigint << 40);
	RETURN true;
END $$;

-- history_partition_drop drops week w's three partitions, unless one of
-- its deliveries is still pending or sending (a retry in flight is never
-- cut short), and says whether it did.
CREATE FUNCTION history_partition_drop(w int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	open boolean;
BEGIN
	PERFORM pg_advisory_xact_lock(7245193033);
	IF to_regclass(history_partition_name('deliveries', w)) IS NULL THEN
		RETURN false;
	END IF;
	-- Each test reads a partial index of open deliveries (the due and the
	-- lease index), not the week.
	EXECUTE format('SELECT EXISTS (SELECT 1 FROM %1$I WHERE status = ''pending'')
		OR EXISTS (SELECT 1 FROM %1$I WHERE status = ''sending'' AND lease_until IS NOT NULL)',
		history_partition_name('deliveries', w)) INTO open;
	IF open THEN
		RETURN false;
	END IF;
	EXECUTE format('DROP TABLE %I, %I, %I', history_partition_name('attempts', w),
		history_partition_name('deliveries', w), history_partition_name('events', w));
	RETURN true;
END $$;

-- history_partition_weeks lists the weeks that have partitions, oldest first.
CREATE FUNCTION history_partition_weeks() RETURNS SETOF int LANGUAGE sql STABLE AS $$
	SELECT history_week(CAST(right(c.relname, 8) AS date)::timestamp AT TIME ZONE 'UTC') AS w
	FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_[0-9]{8}$'
	ORDER BY 1
$$;

-- Partitions for every week the existing history touches and the weeks
-- around now, then the rows. A delivery's new id is its old one under its
-- week: unique, and in the order it had.
SELECT history_partition_add(w) FROM (
	SELECT history_week(received_at) FROM events_old
	UNION SELECT history_week(created_at) FROM deliveries_old
	UNION SELECT history_week(now()) + g FROM generate_series(0, 1) g
) weeks(w);

INSERT INTO events SELECT * FROM events_old;
INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type, call_id, status, test, attempt_count,
	next_attempt_at, lease_until, last_status_code, last_error, request_method, request_url, request_headers,
	request_body, created_at, updated_at, completed_at, lease_holder, manual_retry, occurred_at, expires_at,
	previous_failed, requeued_at)
SELECT (history_week(created_at)::bigint << 40) | id, account_id, webhook_id, event_id, event_type, call_id, status, test,
	attempt_count, next_attempt_at, lease_until, last_status_code, last_error, request_method, request_url,
	request_headers, request_body, created_at, updated_at, completed_at, lease_holder, manual_retry, occurred_at,
	expires_at, previous_failed, requeued_at
FROM deliveries_old;
INSERT INTO attempts (id, account_id, delivery_id, webhook_id, number, trigger, started_at, duration_ms, request_method,
	request_url, request_headers, request_body, response_status, response_headers, response_body, error_kind,
	error_message, next_retry_at, bodies_dropped)
OVERRIDING SYSTEM VALUE
SELECT a.id, a.account_id, (history_week(d.created_at)::bigint << 40) | a.delivery_id, a.webhook_id, a.number, a.trigger,
	a.started_at, a.duration_ms, a.request_method, a.request_url, a.request_headers, a.request_body, a.response_status,
	a.response_headers, a.response_body, a.error_kind, a.error_message, a.next_retry_at, a.bodies_dropped
FROM attempts_old a JOIN deliveries_old d ON d.account_id = a.account_id AND d.id = a.delivery_id;

-- A bulk retry in progress walks delivery ids: its place moves with them.
UPDATE jobs j SET cursor = (history_week(d.created_at)::bigint << 40) | d.id
FROM deliveries_old d WHERE d.account_id = j.account_id AND d.id = j.cursor;

SELECT setval('deliveries_row_seq', greatest((SELECT max(id) FROM deliveries_old), 1));
SELECT setval(pg_get_serial_sequence('attempts', 'id'), greatest((SELECT max(id) FROM attempts_old), 1));

DROP TABLE attempts_old, deliveries_old, events_old;

CREATE VIEW webhook_rollups_recount AS
WITH a AS (
    SELECT a.account_id, a.webhook_id, (d.test OR a.trigger = 'test') AS test,
           date_bin('15 minutes', a.started_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
           width_bucket(a.duration_ms, ringhook_latency_bounds()) AS cell,
           (a.error_kind = '' AND a.response_status BETWEEN 200 AND 299) AS ok,
           a.next_retry_at IS NOT NULL AS retry, a.started_at
    FROM attempts a JOIN deliveries d ON d.account_id = a.account_id AND d.id = a.delivery_id
), c AS (
    SELECT account_id, webhook_id, test, bucket, cell, count(*) AS n,
           count(*) FILTER (WHERE ok) AS ok,
           count(*) FILTER (WHERE NOT ok AND retry) AS retried,
           count(*) FILTER (WHERE NOT ok AND NOT retry) AS failed,
           max(started_at) FILTER (WHERE ok) AS last_ok_at,
           max(started_at) FILTER (WHERE NOT ok) AS last_fail_at
    FROM a GROUP BY account_id, webhook_id, test, bucket, cell
), k AS (
    SELECT account_id, webhook_id, test, bucket, sum(n)::int AS attempts, sum(ok)::int AS ok,
           sum(retried)::int AS retried, sum(failed)::int AS failed, jsonb_object_agg(cell, n) AS cells,
           max(last_ok_at) AS last_ok_at, max(last_fail_at) AS last_fail_at
    FROM c GROUP BY account_id, webhook_id, test, bucket
)
SELECT account_id, webhook_id, test, bucket, attempts, ok, retried, failed,
       ARRAY(SELECT coalesce((k.cells ->> i::text)::int, 0)
             FROM generate_series(0, cardinality(ringhook_latency_bounds())) AS i ORDER BY i) AS latency,
       last_ok_at, last_fail_at
FROM k;
