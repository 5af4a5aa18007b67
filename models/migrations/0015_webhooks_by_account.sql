-- 0009 dropped the unique (account_id, name) index, which was also the only
-- index leading with account_id: without it every ingest's webhook match
-- and every console list scanned the whole webhooks table (about 24 ms per
-- event with 50,000 webhooks). Non-unique now, the same order serves both.
CREATE INDEX webhooks_account_name_idx ON webhooks (account_id, name);
