-- API keys carry a scope: full (everything), read (GET requests only) or
-- ingest (only POST /api/v1/events: what a PBX producing events holds).
-- Existing keys keep working as before: they are full.
ALTER TABLE api_keys ADD COLUMN scope text NOT NULL DEFAULT 'full'
    CHECK (scope IN ('full', 'read', 'ingest'));

-- Idempotency-Key records for the JSON API: the first response to a POST
-- with a given key is kept for 24 hours and answered again to repeats
-- (handlers.Handler.Idempotent). status is NULL while the first request is in
-- flight; request_hash tells a repeat from a different request that reuses
-- the key.
CREATE TABLE idempotency_keys (
    account_id    text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    api_key_id    text NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
    key           text NOT NULL,
    request_hash  bytea NOT NULL,
    status        integer,
    headers       jsonb NOT NULL DEFAULT '{}', -- the replayed ones: Content-Type, Location
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, api_key_id, key)
);
-- Expired records are purged by age.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
