-- A webhook's expired deliveries by when they ended: the stats count them
-- apart from failures (expiry is not an attempt, so the rollups do not see
-- it) without walking the account's delivery log. Partial: only expired
-- rows pay for it.
CREATE INDEX deliveries_expired_idx ON deliveries (account_id, webhook_id, completed_at) WHERE status = 'expired';
