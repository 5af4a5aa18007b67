-- Vendor dialects (Kazoo, Kixie, Dixa, the backend API) bring their own
-- webhooks as they are: the Kazoo document's two examples share a name, so
-- names are no longer unique per account (the console tells same-named
-- webhooks apart by URL).
DROP INDEX IF EXISTS webhooks_account_name_key;

-- custom_data is sent nested under "custom_data" (Ringhook's default) or
-- merged into the top level of the payload, overriding event fields (what
-- the Kazoo document describes). Values may now be JSON strings, numbers or
-- booleans; the column was jsonb already.
ALTER TABLE webhooks ADD COLUMN custom_data_mode text NOT NULL DEFAULT 'nested'
    CHECK (custom_data_mode IN ('nested', 'merged'));

-- What a vendor dialect needs to answer in its client's own words: the
-- event names the client used (catalog id -> name) and the vendor filters
-- exactly as sent (Dixa's CombinedFilters). The webhook's own event_types
-- and filters stay the one truth; this only keeps spelling.
ALTER TABLE webhooks ADD COLUMN dialect_state jsonb NOT NULL DEFAULT '{}';
