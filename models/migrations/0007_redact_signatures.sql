-- Attempt records kept webhook-signature in clear: a valid signature of a
-- known body lets anyone replay that request. Redact it in the attempts
-- already stored (new ones are redacted when recorded). Secret values at
-- rest in webhooks and deliveries are sealed by the application, which
-- holds the key: `ringhook serve` and `ringhook rotate-key` seal what is
-- still plaintext.
UPDATE attempts a SET request_headers = (
    SELECT coalesce(jsonb_agg(
        CASE WHEN lower(h->>'name') LIKE '%signature%' AND coalesce(h->>'value', '') <> ''
             THEN jsonb_set(h, '{value}', '"[redacted]"') ELSE h END ORDER BY ord), '[]'::jsonb)
    FROM jsonb_array_elements(a.request_headers) WITH ORDINALITY AS x(h, ord))
-- (CASE, not AND: rows written with a null header list hold a JSON scalar,
-- which jsonb_array_elements refuses.)
WHERE CASE WHEN jsonb_typeof(a.request_headers) = 'array' THEN EXISTS (
    SELECT 1 FROM jsonb_array_elements(a.request_headers) h
    WHERE lower(h->>'name') LIKE '%signature%' AND coalesce(h->>'value', '') NOT IN ('', '[redacted]'))
    ELSE false END;
