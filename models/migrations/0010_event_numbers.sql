-- The API's delivery filter by phone number looks events up by the
-- normalized from_number and to_number of their payload.
CREATE INDEX events_from_number_idx ON events (account_id, (payload->>'from_number'));
CREATE INDEX events_to_number_idx ON events (account_id, (payload->>'to_number'));
