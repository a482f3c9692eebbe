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
-- as a table grows once one ANALYZE has seen it with rows in it.
--
-- Autovacuum analyzes a table once the rows changed since its last ANALYZE exceed
-- threshold + scale_factor x its current row count. A table that grows by inserts, each row
-- then changed u times more, has changed (1 + u) x (n - n0) rows when it has grown from n0
-- to n, so a scale factor of 0.9 x (1 + u) analyzes it again at about n = 10 x n0. Under the
-- exchange's mix (flowex load) an order row is changed 1.8 times, a reservation 2.4, a trade
-- 2.0 (settled) and a ledger row once. A mix that changes rows less only spaces the ANALYZEs
-- further apart (at a scale factor above 1 + u, never again after the first); one that
-- changes them more brings them closer (each doubling at twice the changes). The first
-- ANALYZE comes after 1,000 changed rows (plus the scale factor x the rows a vacuum counted by
-- then).
ALTER TABLE orders SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 1.6);
ALTER TABLE reservations SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 2.1);
ALTER TABLE trades SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 1.8);
ALTER TABLE transactions SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.9);
