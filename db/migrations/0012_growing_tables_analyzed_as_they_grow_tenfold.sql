-- Every ANALYZE (and every VACUUM that changes a table's page or row count) invalidates the
-- cached plan of every statement that reads the table, in every connection: each service
-- connection plans those statements again on its next use, all in the same moment. orders,
-- trades, transactions and reservations grow with every order, so at autovacuum's default
-- (analyze after 50 rows + 10 % of the table changed; it looks every 5 s, scripts/up) a
-- fresh exchange at 500 orders/s analyzed one or more of them in every round, and 40 - 170
-- orders of each such second took over 25 ms (issue #9, docs/benchmarks.md). The services'
-- generic plans read a table's size (which the planner takes from the table's current
-- pages whatever the statistics say) and its columns' distinct counts, which the constants
-- in their statements (a status, a side, a kind, a flag) keep small: the plans do not change
-- as a table grows once one ANALYZE has seen it with rows in it. So the first ANALYZE comes
-- after 1,000 changed rows, and each next one once the table has grown about tenfold since
-- the last (10,000, 100,000, 1,000,000 rows, ...): a handful in a table's life instead of
-- one every few seconds. Vacuums, which keep the row counts and clean the indexes, run as
-- before.
ALTER TABLE orders SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 10);
ALTER TABLE trades SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 10);
ALTER TABLE transactions SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 10);
ALTER TABLE reservations SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 10);
