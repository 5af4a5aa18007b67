-- Auto-disable bookkeeping: consecutive failed attempts and since when.
ALTER TABLE webhooks
    ADD COLUMN consecutive_failures integer NOT NULL DEFAULT 0,
    ADD COLUMN failing_since timestamptz;
