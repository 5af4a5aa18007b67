-- Claims walk each webhook's own due deliveries (see models.claimSQL), so a
-- backlog behind one slow webhook is never scanned while it is at its cap.
CREATE INDEX deliveries_webhook_due_idx ON deliveries (webhook_id, next_attempt_at) WHERE status = 'pending';
-- The global due index is no longer read by claims; every index costs a
-- write on each of a delivery's state changes.
DROP INDEX deliveries_due_idx;
