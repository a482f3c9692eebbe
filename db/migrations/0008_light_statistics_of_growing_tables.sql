-- orders, trades, transactions and reservations grow with every order, so autovacuum (which
-- looks every 5 s, scripts/up) analyzes each of them again after every 10 % of changes: under
-- load, all four every 5 - 10 s, within the same second. At the default statistics target
-- (100) an ANALYZE samples 30,000 rows and sorts every column's values: 0.15 - 0.28 s of CPU
-- for orders at 125,000 rows, about as much for each of the others, and the exchange's
-- latency jumped at each such round (issue #9). The services' statements are planned once per
-- connection as generic plans (libs/storage), which read a table's row count and its columns'
-- distinct counts, not their most common values or histograms; the constants in them (a
-- status, a side, a kind, a flag) take fewer than ten values, which a target of 10 still
-- lists whole. With 10, an ANALYZE samples 3,000 rows: 0.01 - 0.04 s. A column added to one
-- of these tables later gets the default target again: set it there too.
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT attrelid::regclass AS tbl, attname FROM pg_attribute
             WHERE attrelid IN ('orders'::regclass, 'trades'::regclass,
                                'transactions'::regclass, 'reservations'::regclass)
               AND attnum > 0 AND NOT attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS 10', c.tbl, c.attname);
    END LOOP;
END $$;
