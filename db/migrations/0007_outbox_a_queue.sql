-- The outbox holds the events not yet published, and only those: order-manager deletes an
-- event once Redis has it (the sweeper publishes what is older than 2 s, as before). Marking
-- it published instead (published_at = now()) was an update no HOT could serve — the partial
-- index named the column —, so each event's row was written twice, payload and all, with two
-- entries in each of its indexes: 6 % of the WAL at the load's mix (issue #9). A delete
-- writes no new row version and no index entry. Published events were never read again; the
-- state they announce is in orders and trades.
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_unpublished;
ALTER TABLE outbox DROP COLUMN published_at;
