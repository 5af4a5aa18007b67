-- The circuit breaker: a webhook whose receiver failed breakerFailures
-- attempts in a row is not sent to until paused_until (models/breaker.go);
-- pause_trips counts the pauses of the current streak, which doubles the
-- next one. Both are cleared by a success.
ALTER TABLE webhooks
    ADD COLUMN paused_until timestamptz,
    ADD COLUMN pause_trips integer NOT NULL DEFAULT 0;
