-- Deleting a webhook keeps its history: the row stays, marked deleted_at,
-- so its delivery log and attempts remain readable (labelled "deleted
-- webhook") until the account's history retention has passed since the
-- delete; then the purge removes the row and, through the foreign keys,
-- its log. A deleted webhook is also disabled and out of the due set, so
-- the matching and claim indexes (both WHERE enabled) never see it.
-- Webhook names are not unique (0009), so no name index changes.
ALTER TABLE webhooks ADD COLUMN deleted_at timestamptz;

-- The purge's walk: only deleted webhooks pay for it.
CREATE INDEX webhooks_deleted_idx ON webhooks (deleted_at) WHERE deleted_at IS NOT NULL;
