-- Ingest claims its events' ids in the event_ids ledger itself, one insert
-- for the whole batch (models.ingestEventCTEs), instead of the
-- events_claim_id trigger doing it once per row: the per-row trigger was a
-- quarter of the cost of storing an event. The trigger stays for every
-- other writer of events, and stands aside when the transaction says its
-- ids are claimed already.
DROP TRIGGER events_claim_id ON events;
CREATE TRIGGER events_claim_id BEFORE INSERT ON events FOR EACH ROW
    WHEN (current_setting('ringhook.event_ids_claimed', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION events_claim_id();
