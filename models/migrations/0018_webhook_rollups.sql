-- Per-webhook rollups of attempts, so stats read a few rows per webhook and
-- 15 minutes instead of scanning deliveries (issue 11). Store.Record keeps
-- them in its transaction; 15-minute buckets make whole local hours (and
-- days) of every time zone, +05:30 and +05:45 included, a sum of buckets.
-- test is true for test sends and for deliveries of test-mode keys: stats
-- leave those out, but they are counted apart rather than dropped.

-- The latency histogram's upper bounds in milliseconds, log-spaced: cell i
-- counts attempts with bounds[i-1] <= duration_ms < bounds[i] (cell 0 is
-- below the first bound, the last cell is at or above the last one), as
-- width_bucket numbers them. models.LatencyBounds is the same list
-- (TestLatencyBoundsMatchTheDatabase).
CREATE FUNCTION ringhook_latency_bounds() RETURNS int[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700,
                 1000, 1500, 2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 60000]
$$;

CREATE TABLE webhook_rollups (
    account_id    text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    webhook_id    text NOT NULL, -- no foreign key: like attempts, history outlives a deleted webhook
    test          boolean NOT NULL,
    bucket        timestamptz NOT NULL, -- start of the 15 minutes (from the epoch) the attempts started in
    attempts      integer NOT NULL,
    ok            integer NOT NULL, -- the receiver answered 2xx
    retried       integer NOT NULL, -- failed, another attempt scheduled
    failed        integer NOT NULL, -- failed, no retry scheduled
    latency       integer[] NOT NULL, -- one count per cell of ringhook_latency_bounds()
    last_ok_at    timestamptz,
    last_fail_at  timestamptz,
    PRIMARY KEY (account_id, webhook_id, test, bucket)
);
-- The dashboard and the webhooks list read every webhook of an account.
CREATE INDEX webhook_rollups_account_bucket_idx ON webhook_rollups (account_id, bucket) WHERE NOT test;

-- The rollups recounted from attempts: the backfill below, and what the
-- tests compare the maintained table with.
CREATE VIEW webhook_rollups_recount AS
WITH a AS (
    SELECT a.account_id, a.webhook_id, (d.test OR a.trigger = 'test') AS test,
           date_bin('15 minutes', a.started_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
           width_bucket(a.duration_ms, ringhook_latency_bounds()) AS cell,
           (a.error_kind = '' AND a.response_status BETWEEN 200 AND 299) AS ok,
           a.next_retry_at IS NOT NULL AS retry, a.started_at
    FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
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

INSERT INTO webhook_rollups (account_id, webhook_id, test, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at)
SELECT account_id, webhook_id, test, bucket, attempts, ok, retried, failed, latency, last_ok_at, last_fail_at
FROM webhook_rollups_recount;

-- What a replay of failed deliveries counts and queues (FailedSince,
-- RequeueFailed) without reading the webhook's whole history.
CREATE INDEX deliveries_webhook_failed_idx ON deliveries (account_id, webhook_id, completed_at) WHERE status = 'failed' AND NOT test;
