-- Calls in order and stale events expired (see models.claimSQL and
-- models.expireSQL).
--
-- A webhook ordered by call sends one call's deliveries in the order of
-- their events' occurred_at (ties by id, the ingest order): a delivery waits
-- while an earlier one of the same call is pending or sending, unless that
-- one was queued more than ordering_window_s ago. Existing webhooks keep
-- sending as before; new ones are ordered (models.NewWebhookInput).
ALTER TABLE webhooks ADD COLUMN ordered_by_call boolean NOT NULL DEFAULT false;
ALTER TABLE webhooks ADD COLUMN ordering_window_s integer NOT NULL DEFAULT 600 CHECK (ordering_window_s > 0);
-- Per event type, seconds after occurred_at when a delivery is no longer
-- worth sending; a type not listed never expires.
ALTER TABLE webhooks ADD COLUMN expire_after jsonb NOT NULL DEFAULT '{}';

ALTER TABLE deliveries ADD COLUMN occurred_at timestamptz;
ALTER TABLE deliveries ADD COLUMN expires_at timestamptz;
-- An earlier delivery of the same call ended without success (failed or
-- expired) while this one waited behind it; the envelope says so.
ALTER TABLE deliveries ADD COLUMN previous_failed boolean NOT NULL DEFAULT false;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
	CHECK (status IN ('pending', 'sending', 'succeeded', 'failed', 'expired', 'cancelled'));

UPDATE deliveries d SET occurred_at = e.occurred_at
FROM events e WHERE e.account_id = d.account_id AND e.id = d.event_id AND d.status IN ('pending', 'sending');

-- The claim's "is an earlier delivery of this call still open" probe.
CREATE INDEX deliveries_call_order_idx ON deliveries (webhook_id, call_id, occurred_at, id)
	WHERE status IN ('pending', 'sending') AND call_id IS NOT NULL;
-- The expiry sweep reads only deliveries that can expire.
CREATE INDEX deliveries_expiry_idx ON deliveries (expires_at) WHERE status = 'pending' AND expires_at IS NOT NULL;
