-- PII-aware history (docs/privacy.md).
--
-- mask_pii: phone numbers and caller names are masked in the console's
-- delivery history and in answers to read-only API keys; owners and admins
-- may reveal one delivery at a time (audited as delivery.revealed).
-- failed_bodies_only: the recorder keeps request and response bodies only
-- for attempts that failed. body_retention_days: attempts older than this
-- lose their bodies (the rows stay); 0 keeps them as long as the row.
ALTER TABLE accounts
    ADD COLUMN mask_pii boolean NOT NULL DEFAULT false,
    ADD COLUMN failed_bodies_only boolean NOT NULL DEFAULT false,
    ADD COLUMN body_retention_days integer NOT NULL DEFAULT 0
        CHECK (body_retention_days BETWEEN 0 AND 365);

-- bodies_dropped: the attempt's bodies were not kept (failed_bodies_only)
-- or were trimmed later (body_retention_days); the views say so instead of
-- showing an empty body.
ALTER TABLE attempts ADD COLUMN bodies_dropped boolean NOT NULL DEFAULT false;

-- The trim walks, per account, the attempts that still hold bodies, oldest
-- first; trimmed rows leave the index.
CREATE INDEX attempts_bodies_kept_idx ON attempts (account_id, started_at) WHERE NOT bodies_dropped;
