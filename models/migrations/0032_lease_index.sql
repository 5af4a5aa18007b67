-- The recorder finds each delivery by its primary key and checks that it is
-- still 'sending'. With the old predicate (status = 'sending' alone) the
-- planner could use this index for that check, and on a database where few
-- rows were sending its custom plan did (EXPLAIN at 10,000,000 deliveries):
-- a walk of every entry of the index, which holds one for each row leased
-- since the last vacuum, instead of one key lookup. Requiring lease_until
-- keeps the index to the statements that look for leases, which all name
-- lease_until; the recorder's check then goes through the account's status
-- index, a lookup of (account_id, status, id).
DROP INDEX deliveries_lease_idx;
CREATE INDEX deliveries_lease_idx ON deliveries (lease_until) WHERE status = 'sending' AND lease_until IS NOT NULL;
