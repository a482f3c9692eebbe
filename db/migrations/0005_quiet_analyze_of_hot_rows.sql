-- wallets, holdings and instruments are a few rows each that every order updates (a balance,
-- a blocked quantity, a last price). Each update counts toward autoanalyze's threshold
-- (50 rows + 10 %), so with autovacuum looking every 5 s (scripts/up) all three were
-- analyzed every 5 s under load, and each ANALYZE invalidates every cached plan that reads
-- the table in every connection: the settlement statement alone was planned again some 45
-- times in 15 s at 500 orders/s. Their statistics do not change with updates (the same keys,
-- looked up by primary key), so autovacuum analyzes them after a million changes instead
-- of some fifty (its vacuums, which keep the row count current, run as before).
ALTER TABLE wallets SET (autovacuum_analyze_threshold = 1000000);
ALTER TABLE holdings SET (autovacuum_analyze_threshold = 1000000);
ALTER TABLE instruments SET (autovacuum_analyze_threshold = 1000000);
