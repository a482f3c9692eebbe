-- A trade's buyer_id, seller_id and symbol are copies of its two orders' user_id and symbol:
-- buy_order_id and sell_order_id keep their foreign keys (so the orders, and through theirs
-- the users and the instrument, exist), and `flowex audit` (trade_orders) checks that the
-- copies agree with the orders. The three foreign keys on the copies only re-checked what
-- those guarantee: three more lookups, each locking (FOR KEY SHARE) a user or instrument row
-- that every order touches, for every trade of every group commit (issue #9).
ALTER TABLE trades DROP CONSTRAINT trades_buyer_id_fkey;
ALTER TABLE trades DROP CONSTRAINT trades_seller_id_fkey;
ALTER TABLE trades DROP CONSTRAINT trades_symbol_fkey;
