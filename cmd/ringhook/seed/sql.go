package seed

// historySQL inserts rows @lo..@hi (0-based, of @n) of one account's
// history: one event and one delivery per row, then @attempts attempts per
// delivery, in one statement. Row g happened at @t0 + g*@step seconds, so
// ids ascend with time like live traffic; every len(EventTypes) rows are
// one call, delivered to one of the account's webhooks. Statuses come
// from a hash of g: the newest 0.2% are half pending (a retry due within
// the hour), the rest 94.5% succeeded (on the last attempt), 4% failed,
// 1% expired, 0.5% cancelled.
const historySQL = `
WITH src AS (
    SELECT g, x.*, h, CAST(@t0 AS timestamptz) + make_interval(secs => g * CAST(@step AS float8)) AS at,
           CASE WHEN g >= @n - greatest(@n / 500, 1) AND h < 500 THEN 'pending'
                WHEN h < 40 THEN 'failed'
                WHEN h < 50 THEN 'expired'
                WHEN h < 55 THEN 'cancelled'
                ELSE 'succeeded' END AS status
    FROM generate_series(CAST(@lo AS bigint), CAST(@hi AS bigint)) AS g,
         LATERAL (SELECT (hashint8(g) & 2147483647) % 1000 AS h) hh,
         LATERAL (SELECT 'evt_' || @tag || 'n' || lpad(g::text, 9, '0') AS event_id,
                         (CAST(@types AS text[]))[1 + g % cardinality(CAST(@types AS text[]))] AS type,
                         'call_' || @tag || 'n' || lpad((g / cardinality(CAST(@types AS text[])))::text, 9, '0') AS call_id,
                         (CAST(@hooks AS text[]))[1 + (g / cardinality(CAST(@types AS text[]))) % cardinality(CAST(@hooks AS text[]))] AS webhook_id,
                         '+1415' || lpad((((g / cardinality(CAST(@types AS text[]))) * 7919) % @callers)::text, 7, '0') AS caller,
                         '+1800555' || lpad(((g / cardinality(CAST(@types AS text[]))) % @dids)::text, 4, '0') AS did) x
), body AS (
    SELECT src.*, jsonb_build_object('event', type, 'event_id', event_id,
               'occurred_at', to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               'call_id', call_id, 'from_number', caller, 'to_number', did, 'direction', 'inbound',
               'call_type', 'inbound') AS payload,
           -- the last attempt's start and length (attempts below use the same formulas)
           at + make_interval(secs => 30 * (@attempts - 1) * (@attempts - 1)) AS last_at,
           20 + (hashtext(event_id || CAST(CAST(@attempts AS int) AS text)) & 2147483647) % 300 AS last_ms
    FROM src
), ev AS (
    INSERT INTO events (account_id, id, type, occurred_at, call_id, payload, received_at)
    SELECT @acc, event_id, type, at, call_id, payload, at FROM body
), d AS (
    INSERT INTO deliveries (id, account_id, webhook_id, event_id, event_type, call_id, status, attempt_count, next_attempt_at,
                            last_status_code, last_error, request_method, request_url, request_headers, request_body,
                            created_at, updated_at, completed_at, occurred_at)
    SELECT delivery_row_id(at), @acc, webhook_id, event_id, type, call_id, status, @attempts,
           CASE WHEN status = 'pending' THEN CAST(@t0 AS timestamptz) + make_interval(secs => @n * CAST(@step AS float8)) + make_interval(mins => 1 + h % 60) END,
           CASE WHEN status = 'succeeded' THEN 200 ELSE 503 END,
           CASE WHEN status = 'succeeded' THEN '' ELSE 'HTTP 503 Service Unavailable' END,
           'POST', 'https://hooks.example.com/' || @acc || '/' || webhook_id,
           '[{"name": "Content-Type", "value": "application/json"}]',
           convert_to(jsonb_build_object('type', type, 'data', payload)::text, 'UTF8'),
           at, last_at + make_interval(secs => last_ms / 1000.0),
           CASE WHEN status <> 'pending' THEN last_at + make_interval(secs => last_ms / 1000.0) END,
           at
    FROM body ORDER BY g
    RETURNING id, webhook_id, event_id, status, created_at, next_attempt_at, request_url
)
INSERT INTO attempts (account_id, delivery_id, webhook_id, number, trigger, started_at, duration_ms, request_method, request_url,
                      request_headers, response_status, response_headers, response_body, error_kind, error_message, next_retry_at)
SELECT @acc, d.id, d.webhook_id, k, 'auto', d.created_at + make_interval(secs => 30 * (k - 1) * (k - 1)),
       20 + (hashtext(d.event_id || k::text) & 2147483647) % 300, 'POST', d.request_url,
       '[{"name": "Content-Type", "value": "application/json"}]',
       CASE WHEN ok THEN 200 ELSE 503 END, '[{"name": "Content-Type", "value": "text/plain"}]',
       CASE WHEN ok THEN 'ok' ELSE 'unavailable' END,
       CASE WHEN ok THEN '' ELSE 'http_status' END,
       CASE WHEN ok THEN '' ELSE 'HTTP 503 Service Unavailable' END,
       CASE WHEN ok THEN NULL
            WHEN k < @attempts THEN d.created_at + make_interval(secs => 30 * k * k)
            WHEN d.status = 'pending' THEN d.next_attempt_at END
FROM d, generate_series(1, @attempts) AS k, LATERAL (SELECT d.status = 'succeeded' AND k = @attempts AS ok) o
ORDER BY d.id, k`

// eventIDsSQL records one account's events in the dedupe ledger
// (migration 0033), which the events trigger fills in normal writes but
// not under session_replication_role = replica. ON CONFLICT: when the
// trigger did run. Argument: the account id.
const eventIDsSQL = `
INSERT INTO event_ids (account_id, id, received_at)
SELECT account_id, id, received_at FROM events WHERE account_id = ?
ON CONFLICT DO NOTHING`

// auditSQL adds audit entries to one account, spread over the days before
// a time: settings changes of its first webhook. Arguments: the time, the
// days, the count, the days again, the count again, the account id.
const auditSQL = `
INSERT INTO audit_log (account_id, user_id, actor, action, object_type, object_id, before, after, created_at)
SELECT a.id, '', 'seed', 'webhook.updated', 'webhook', (SELECT min(w.id) FROM webhooks w WHERE w.account_id = a.id),
       '{"timeout_ms": 10000}', '{"timeout_ms": 5000}',
       CAST(? AS timestamptz) - make_interval(days => ?) + (CAST(g AS float8) / ?) * make_interval(days => ?)
FROM accounts a, generate_series(1, ?) AS g WHERE a.id = ?`
