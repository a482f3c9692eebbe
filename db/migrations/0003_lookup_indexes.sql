-- Lookups that grew with the data (found by the end-to-end benchmark, issue #9):
-- an order's trades (cancel, order detail, the sweeper's "any trade unsettled?") scanned the
-- whole trades table; a user's open orders (risk-manager, on every order) and a symbol's
-- unreleased reservations (the sweeper, every second per symbol) walked every order of the
-- user / every unreleased reservation.
CREATE INDEX trades_buy_order ON trades (buy_order_id);
CREATE INDEX trades_sell_order ON trades (sell_order_id);
CREATE INDEX orders_user_open ON orders (user_id) WHERE status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED');
CREATE INDEX reservations_symbol_open ON reservations (symbol) WHERE NOT released;
