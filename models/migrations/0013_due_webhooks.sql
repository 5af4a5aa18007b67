-- The due set: webhooks.next_due_at is a lower bound on the next_attempt_at
-- of the webhook's pending deliveries (NULL: none pending). Claims walk only
-- the enabled webhooks in this partial index, in due order, so idle
-- webhooks cost a claim nothing; disabling a webhook takes it out of the
-- index and enabling it puts its backlog back (see models.claimSQL).
ALTER TABLE webhooks ADD COLUMN next_due_at timestamptz;
CREATE INDEX webhooks_due_idx ON webhooks (next_due_at, id) WHERE enabled AND next_due_at IS NOT NULL;
UPDATE webhooks w SET next_due_at = p.due
FROM (SELECT webhook_id, min(next_attempt_at) AS due FROM deliveries WHERE status IN ('pending', 'sending') GROUP BY webhook_id) p
WHERE w.id = p.webhook_id;
