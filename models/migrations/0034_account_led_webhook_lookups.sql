-- Every statement now reaches a webhook through its primary key
-- (account_id, id): the recorder's streaks and the breaker's probes, the
-- due set, the claim of probes, the key-rotation walk and the console. The
-- plain index on id that 0031 kept for the lookups by id alone goes, so a
-- new one would show up as a full scan in review rather than work by
-- accident (and a table distributed by account_id could not route it).
DROP INDEX webhooks_id_idx;

-- (webhook_id, id DESC) is 0001's index for a webhook's deliveries, which
-- the console has read through (account_id, webhook_id, id) since 0028.
-- Nothing reads it any more, and every delivery wrote it three times (on
-- insert, on the claim, on the record).
DROP INDEX deliveries_webhook_idx;
