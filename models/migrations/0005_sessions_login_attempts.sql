-- Server-side console sessions, so a sign-out, a password change or a removed
-- user ends them (the cookie only carries a random token; the table keeps its
-- SHA-256, so a leaked table yields no live cookie), and shared sign-in
-- throttle counters, so every process behind a load balancer sees the same
-- failures.

CREATE TABLE sessions (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id       text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT ''
);
-- The Profile page lists a user's sessions; revocation walks the same index.
CREATE INDEX sessions_user_idx ON sessions (account_id, user_id, created_at DESC);

-- One row per throttle key: "ip:<address>" or "email_ip:<sha256 of email and
-- address>" (hashed: people type passwords into the email field).
CREATE TABLE login_attempts (
    key            text PRIMARY KEY,
    failures       integer NOT NULL DEFAULT 0,
    last_at        timestamptz NOT NULL,
    blocked_until  timestamptz NOT NULL
);
CREATE INDEX login_attempts_last_idx ON login_attempts (last_at);
