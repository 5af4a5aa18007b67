-- Long-running work a user asked for (today: retrying a webhook's failed
-- deliveries), done by a runner in small batches. done and cursor move in
-- the same transaction as each batch, so a job whose process died is taken
-- over (its lease ran out) from where it stopped, without repeating rows.
CREATE TABLE jobs (
    id           text PRIMARY KEY,
    account_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('retry_failed')),
    params       jsonb NOT NULL DEFAULT '{}',
    state        text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    total        integer NOT NULL DEFAULT 0,
    done         integer NOT NULL DEFAULT 0,
    cursor       bigint NOT NULL DEFAULT 0,
    error        text NOT NULL DEFAULT '',
    created_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    started_at   timestamptz,
    finished_at  timestamptz,
    lease_holder text,
    lease_until  timestamptz
);
CREATE INDEX jobs_account_idx ON jobs (account_id, created_at DESC);
CREATE INDEX jobs_open_idx ON jobs (created_at) WHERE state IN ('queued', 'running');

-- A delivery queued again by hand (a bulk retry): its next attempt is
-- labelled manual and, when it fails, leaves the delivery failed instead
-- of starting the automatic schedule again. Cleared when it is recorded.
ALTER TABLE deliveries ADD COLUMN manual_retry boolean NOT NULL DEFAULT false;

-- A webhook's failed deliveries by id: what a bulk retry counts and walks.
CREATE INDEX deliveries_failed_idx ON deliveries (webhook_id, id) WHERE status = 'failed';
