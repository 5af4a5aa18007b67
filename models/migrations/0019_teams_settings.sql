-- Teams and account settings.
--
-- Invites: an owner or admin invites an email with a role; the invitee opens
-- /invite/<token> once and sets a password. Only the token's SHA-256 is
-- kept, so the table yields no usable link. An invite is pending until it is
-- accepted, revoked or past expires_at (7 days after it was made).
CREATE TABLE invites (
    id           text PRIMARY KEY,
    account_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    token_hash   bytea NOT NULL UNIQUE,
    invited_by   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz,
    user_id      text
);
-- The Users page lists an account's open invites, newest first.
CREATE INDEX invites_account_idx ON invites (account_id, created_at DESC);

-- Account settings. The defaults fill existing accounts and are dropped
-- again, as 0004 did: new accounts get the values models.CreateAccount
-- chooses (models.SecretOverlap, models.DefaultHistoryRetentionDays).
-- secret_grace_seconds: how long a rotated signing secret keeps signing
-- (0 to 7 days). history_retention_days: how long delivery history is kept.
ALTER TABLE accounts
    ADD COLUMN secret_grace_seconds integer NOT NULL DEFAULT 86400
        CHECK (secret_grace_seconds BETWEEN 0 AND 604800),
    ADD COLUMN history_retention_days integer NOT NULL DEFAULT 30
        CHECK (history_retention_days BETWEEN 1 AND 365);
ALTER TABLE accounts ALTER COLUMN secret_grace_seconds DROP DEFAULT,
    ALTER COLUMN history_retention_days DROP DEFAULT;
