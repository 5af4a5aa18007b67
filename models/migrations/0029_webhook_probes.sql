-- Endpoints that heal (models/probe.go). A webhook the dispatcher disabled
-- on its own (a failure streak or 410 Gone) is probed on a backoff schedule
-- until it answers 2xx (then it is enabled again and its failed and held
-- deliveries are replayed) or three days have passed. A manual disable
-- clears disabled_auto and is never probed.
ALTER TABLE webhooks ADD COLUMN disabled_auto boolean NOT NULL DEFAULT false;
ALTER TABLE webhooks ADD COLUMN probe_next_at timestamptz;
ALTER TABLE webhooks ADD COLUMN probe_count integer NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN probe_last_at timestamptz;
ALTER TABLE webhooks ADD COLUMN probe_last_result text NOT NULL DEFAULT '';
-- Several dispatchers share the probes: one claims a webhook's probe with
-- FOR UPDATE SKIP LOCKED and holds it until probe_lease_until.
ALTER TABLE webhooks ADD COLUMN probe_lease_holder text;
ALTER TABLE webhooks ADD COLUMN probe_lease_until timestamptz;
ALTER TABLE webhooks ADD COLUMN probe_gave_up_at timestamptz;
-- The last automatic re-enable, for the banner on the webhook page.
ALTER TABLE webhooks ADD COLUMN healed_at timestamptz;
ALTER TABLE webhooks ADD COLUMN healed_replayed integer NOT NULL DEFAULT 0;

CREATE INDEX webhooks_probe_due_idx ON webhooks (probe_next_at) WHERE probe_next_at IS NOT NULL;

-- One row per probe sent.
CREATE TABLE probe_attempts (
    id              bigserial PRIMARY KEY,
    account_id      text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    webhook_id      text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    number          integer NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_ms     integer NOT NULL DEFAULT 0,
    request_url     text NOT NULL DEFAULT '',
    response_status integer,
    response_body   text NOT NULL DEFAULT '',
    error_kind      text NOT NULL DEFAULT '',
    error_message   text NOT NULL DEFAULT '',
    UNIQUE (webhook_id, number)
);
CREATE INDEX probe_attempts_webhook_idx ON probe_attempts (webhook_id, id DESC);

-- A delivery queued again (a replay after a heal) restarts its call's
-- ordering window from then: requeued_at, when later than created_at.
ALTER TABLE deliveries ADD COLUMN requeued_at timestamptz;
