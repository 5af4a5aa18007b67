-- Every tenant table's primary key and foreign keys lead with account_id,
-- so the schema can be distributed by account (one shard holds a tenant's
-- rows and every join between them). Ids stay generated and distinct; on
-- the smaller tables a plain index on id replaces the old primary key for
-- the statements that still look rows up by id alone. Where an index on
-- (account_id, id) already existed, the new primary key takes its place.

-- Foreign keys that point at a primary key about to change.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_webhook_id_fkey;
ALTER TABLE attempts DROP CONSTRAINT attempts_delivery_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_api_key_id_fkey;
ALTER TABLE probe_attempts DROP CONSTRAINT probe_attempts_webhook_id_fkey;

ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX users_id_idx ON users (id);
DROP INDEX users_account_idx;

ALTER TABLE api_keys DROP CONSTRAINT api_keys_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX api_keys_id_idx ON api_keys (id);
DROP INDEX api_keys_account_idx;

ALTER TABLE phone_numbers DROP CONSTRAINT phone_numbers_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX phone_numbers_id_idx ON phone_numbers (id);

ALTER TABLE webhooks DROP CONSTRAINT webhooks_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX webhooks_id_idx ON webhooks (id);

-- Deliveries and attempts are read only by account, never by id alone:
-- no index on id (one index fewer to write per row than before). An
-- index on id would also be a trap: walked newest first, it passes every
-- other account's newer rows before reaching an account's first page (a
-- second at ten million deliveries), and the planner cannot tell.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_pkey, ADD PRIMARY KEY (account_id, id);
DROP INDEX deliveries_account_idx; -- (account_id, id DESC): the primary key now

ALTER TABLE attempts DROP CONSTRAINT attempts_pkey, ADD PRIMARY KEY (account_id, id);
DROP INDEX attempts_account_idx; -- (account_id, id DESC): the primary key now
ALTER TABLE attempts DROP CONSTRAINT attempts_delivery_id_number_key,
	ADD CONSTRAINT attempts_delivery_id_number_key UNIQUE (account_id, delivery_id, number);

ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD PRIMARY KEY (account_id, id);
DROP INDEX audit_log_account_idx; -- (account_id, id DESC): the primary key now
CREATE INDEX audit_log_id_idx ON audit_log (id);

ALTER TABLE sessions DROP CONSTRAINT sessions_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX sessions_id_idx ON sessions (id);

ALTER TABLE jobs DROP CONSTRAINT jobs_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX jobs_id_idx ON jobs (id);

ALTER TABLE invites DROP CONSTRAINT invites_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX invites_id_idx ON invites (id);

ALTER TABLE probe_attempts DROP CONSTRAINT probe_attempts_pkey, ADD PRIMARY KEY (account_id, id);
CREATE INDEX probe_attempts_id_idx ON probe_attempts (id);
ALTER TABLE probe_attempts DROP CONSTRAINT probe_attempts_webhook_id_number_key,
	ADD CONSTRAINT probe_attempts_webhook_id_number_key UNIQUE (account_id, webhook_id, number);

-- The foreign keys again, each carrying the account.
ALTER TABLE deliveries ADD CONSTRAINT deliveries_webhook_id_fkey
	FOREIGN KEY (account_id, webhook_id) REFERENCES webhooks (account_id, id) ON DELETE CASCADE;
ALTER TABLE attempts ADD CONSTRAINT attempts_delivery_id_fkey
	FOREIGN KEY (account_id, delivery_id) REFERENCES deliveries (account_id, id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey
	FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_api_key_id_fkey
	FOREIGN KEY (account_id, api_key_id) REFERENCES api_keys (account_id, id) ON DELETE CASCADE;
ALTER TABLE probe_attempts ADD CONSTRAINT probe_attempts_webhook_id_fkey
	FOREIGN KEY (account_id, webhook_id) REFERENCES webhooks (account_id, id) ON DELETE CASCADE;
