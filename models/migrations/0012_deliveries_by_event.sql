-- The call view (models.Store.CallTimeline) reads a call's deliveries by
-- event id, and ingest counts a repeated event's deliveries the same way;
-- without this index both scan the account's whole delivery log.
CREATE INDEX deliveries_event_idx ON deliveries (account_id, event_id);
