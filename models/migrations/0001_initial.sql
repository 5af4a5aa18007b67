-- Initial schema: tenants, people, numbers, webhooks, the event store,
-- the delivery queue/log and its attempt history, API keys and the audit log.
-- Every tenant table carries account_id so every query can be scoped to it.

CREATE TABLE accounts (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    time_zone   text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             text PRIMARY KEY,
    account_id     text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email          text NOT NULL,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_account_idx ON users (account_id);

CREATE TABLE api_keys (
    id            text PRIMARY KEY,
    account_id    text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name          text NOT NULL,
    prefix        text NOT NULL,
    hash          bytea NOT NULL UNIQUE,
    created_by    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);
CREATE INDEX api_keys_account_idx ON api_keys (account_id);

CREATE TABLE phone_numbers (
    id          text PRIMARY KEY,
    account_id  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    number      text NOT NULL,
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, number)
);

CREATE TABLE webhooks (
    id                          text PRIMARY KEY,
    account_id                  text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name                        text NOT NULL,
    description                 text NOT NULL DEFAULT '',
    event_types                 text[] NOT NULL,
    url                         text NOT NULL,
    method                      text NOT NULL CHECK (method IN ('GET', 'POST')),
    content_type                text NOT NULL CHECK (content_type IN ('application/json', 'application/x-www-form-urlencoded')),
    call_types                  text[] NOT NULL DEFAULT '{}',
    did_numbers                 text[] NOT NULL DEFAULT '{}',
    time_zone                   text NOT NULL DEFAULT 'UTC',
    headers                     jsonb NOT NULL DEFAULT '[]',
    auth_type                   text NOT NULL DEFAULT 'none' CHECK (auth_type IN ('none', 'basic', 'bearer')),
    auth_username               text NOT NULL DEFAULT '',
    auth_secret                 text NOT NULL DEFAULT '',
    custom_data                 jsonb NOT NULL DEFAULT '{}',
    filters                     jsonb NOT NULL DEFAULT '[]',
    api_version                 text NOT NULL DEFAULT '2026-01',
    max_attempts                integer NOT NULL CHECK (max_attempts BETWEEN 1 AND 20),
    timeout_ms                  integer NOT NULL CHECK (timeout_ms BETWEEN 1000 AND 60000),
    enabled                     boolean NOT NULL DEFAULT true,
    disabled_reason             text NOT NULL DEFAULT '',
    disabled_at                 timestamptz,
    signing_secret              text NOT NULL,
    previous_secret             text NOT NULL DEFAULT '',
    previous_secret_expires_at  timestamptz,
    created_by                  text NOT NULL DEFAULT '',
    updated_by                  text NOT NULL DEFAULT '',
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX webhooks_account_name_key ON webhooks (account_id, lower(name));
-- Ingest matches enabled webhooks of one account by event type.
CREATE INDEX webhooks_match_idx ON webhooks USING gin (event_types) WHERE enabled;

CREATE TABLE events (
    account_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    id           text NOT NULL,
    type         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    call_id      text,
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);
CREATE INDEX events_call_idx ON events (account_id, call_id) WHERE call_id IS NOT NULL;

CREATE TABLE deliveries (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id        text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    webhook_id        text NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id          text NOT NULL,
    event_type        text NOT NULL,
    call_id           text,
    status            text NOT NULL CHECK (status IN ('pending', 'sending', 'succeeded', 'failed', 'cancelled')),
    test              boolean NOT NULL DEFAULT false,
    attempt_count     integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz,
    lease_until       timestamptz,
    last_status_code  integer,
    last_error        text NOT NULL DEFAULT '',
    request_method    text NOT NULL DEFAULT '',
    request_url       text NOT NULL DEFAULT '',
    request_headers   jsonb NOT NULL DEFAULT '[]',
    request_body      bytea,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    completed_at      timestamptz,
    FOREIGN KEY (account_id, event_id) REFERENCES events (account_id, id) ON DELETE CASCADE
);
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_lease_idx ON deliveries (lease_until) WHERE status = 'sending';
CREATE INDEX deliveries_account_idx ON deliveries (account_id, id DESC);
CREATE INDEX deliveries_webhook_idx ON deliveries (webhook_id, id DESC);

CREATE TABLE attempts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id        text NOT NULL,
    delivery_id       bigint NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    webhook_id        text NOT NULL,
    number            integer NOT NULL,
    trigger           text NOT NULL CHECK (trigger IN ('auto', 'manual', 'test')),
    started_at        timestamptz NOT NULL,
    duration_ms       integer NOT NULL,
    request_method    text NOT NULL,
    request_url       text NOT NULL,
    request_headers   jsonb NOT NULL DEFAULT '[]',
    request_body      text NOT NULL DEFAULT '',
    response_status   integer,
    response_headers  jsonb NOT NULL DEFAULT '[]',
    response_body     text NOT NULL DEFAULT '',
    error_kind        text NOT NULL DEFAULT '',
    error_message     text NOT NULL DEFAULT '',
    next_retry_at     timestamptz,
    UNIQUE (delivery_id, number)
);
CREATE INDEX attempts_account_idx ON attempts (account_id, id DESC);

CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   text NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    user_id      text NOT NULL DEFAULT '',
    actor        text NOT NULL DEFAULT '',
    action       text NOT NULL,
    object_type  text NOT NULL,
    object_id    text NOT NULL,
    before       jsonb,
    after        jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, id DESC);
