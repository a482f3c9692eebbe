-- Orders, reservations and ledger rows are written at every order (a reservation and its
-- block row, the order, two or four ledger rows per trade), and each foreign key to users or
-- instruments ran a lookup that locked the user's or the instrument's row (FOR KEY SHARE:
-- a row lock written to the WAL, a MultiXact when two transactions hold it) from an
-- after-trigger: 3.7 user locks and 1.8 instrument locks a request at the load's mix, some
-- 8 % of PostgreSQL's CPU (issue #9). Every one of these rows is written by a statement that
-- already guarantees what the key checked:
--   reservations  only FROM the wallet row (BUY) or the holding row (SELL) the same statement
--                 blocked, whose own keys name the user (and the instrument); a BUY's symbol
--                 is looked up in instruments (NULL, refused by NOT NULL, when not listed);
--   orders        only while the order's unreleased reservation is of the same user, symbol
--                 and side (the status is NULL otherwise: NOT NULL again); a rejected order
--                 only when its user and symbol exist;
--   transactions  in the transaction or statement that updates that user's wallet or holding
--                 (deposits and withdrawals insert the wallet first), or FROM the reservation.
-- Users and instruments are never deleted (an instrument is delisted with `active`), and
-- `flowex audit` checks every reference (the check `references`). The keys that stay: every
-- wallet, holding and session names a user, holdings an instrument, trades their two orders.
ALTER TABLE orders DROP CONSTRAINT orders_user_id_fkey, DROP CONSTRAINT orders_symbol_fkey;
ALTER TABLE reservations DROP CONSTRAINT reservations_user_id_fkey,
    DROP CONSTRAINT reservations_symbol_fkey;
ALTER TABLE transactions DROP CONSTRAINT transactions_user_id_fkey;
