-- Every running dispatcher registers here and beats every second or so;
-- leases name their holder, so when a holder stops beating its deliveries
-- go back to the queue in seconds instead of at the end of a lease that
-- spans the webhook's whole timeout.
CREATE TABLE dispatchers (
    id         text PRIMARY KEY,
    host       text NOT NULL DEFAULT '',
    pid        integer NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL,
    beat_at    timestamptz NOT NULL
);
ALTER TABLE deliveries ADD COLUMN lease_holder text;
