-- The order-manager's full sweep (every tenth second per symbol) reads a symbol's open
-- reservations twice: for those whose order was never inserted and for those of finished
-- orders left unreleased. reservations_symbol_open found them, but each was then read from the
-- table (a page for nearly every one: open reservations are scattered among released ones),
-- and the generic plan of the releasable statement often walked reservations_user_open, every
-- symbol's open reservations, instead. Both joined orders by hashing the whole table (now a
-- lookup per reservation, order-manager's sweeper_statements.hpp). At 125,000 orders and 2,300
-- open reservations a symbol, the two statements took 80 - 160 ms each, a second of
-- PostgreSQL's CPU every ten seconds, growing with the orders table (issue #9).
-- The index now holds what the sweeper reads (order_id, and created_at for the orphan grace),
-- so the reservations are read from it alone. reservations_user_open goes: no statement reads
-- a user's open reservations (`flowex audit` sums every user's at once, from the table), and
-- each reservation's insert and release wrote an entry into it.
DROP INDEX reservations_symbol_open;
DROP INDEX reservations_user_open;
CREATE INDEX reservations_symbol_open ON reservations (symbol, created_at) INCLUDE (order_id)
    WHERE NOT released;
