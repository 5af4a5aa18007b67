-- The filter back-test (models.BackTest) reads an account's newest events
-- first and stops after its last 1,000 calls: this index lets it read
-- exactly those rows, however many events the account has.
CREATE INDEX events_recent_idx ON events (account_id, received_at DESC, id DESC);
