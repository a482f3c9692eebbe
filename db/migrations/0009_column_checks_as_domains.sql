-- PostgreSQL 15 reads every CHECK constraint of a table back from its stored text and plans it
-- again for each INSERT or UPDATE statement on the table (ExecRelCheck: stringToNode and
-- ExecPrepareExpr once per statement, whichever columns the statement writes): seven for each
-- write of an order, four for each trade's update of its instrument's last price: 2 – 3 % of
-- the stack's CPU (issue #9; docs/benchmarks.md). A domain's CHECK is read once per connection
-- (the type cache) and evaluated only where a value is written to a column of that domain.
-- So each check of one column becomes the column's domain, with the same condition (NULL
-- passes both, as before); the checks that compare two columns stay on their tables, and
-- the one-column checks they imply go:
--   wallets_check   0 <= blocked_cents <= balance_cents   (so balance_cents >= 0)
--   holdings_check  0 <= blocked_quantity <= quantity     (so quantity >= 0)
--   orders_check    0 <= filled_quantity <= quantity
-- Whatever wrote a value the old checks refused is refused still (test
-- Schema.EveryColumnCheckOfTheFirstSchemaStillRefusesItsValues), with SQLSTATE 23514 as
-- before; only the message changes (it names the domain and its constraint). A statement
-- that uses one parameter both as such a column's value and in a comparison must cast it
-- (`$6::text`): PostgreSQL deduces the domain from the one and text from the other.
CREATE DOMAIN positive_bigint AS BIGINT CHECK (VALUE > 0);
CREATE DOMAIN positive_integer AS INTEGER CHECK (VALUE > 0);
CREATE DOMAIN nonnegative_bigint AS BIGINT CHECK (VALUE >= 0);
CREATE DOMAIN order_side AS TEXT CHECK (VALUE IN ('BUY', 'SELL'));
CREATE DOMAIN order_type AS TEXT CHECK (VALUE IN ('LIMIT', 'MARKET'));
CREATE DOMAIN order_time_in_force AS TEXT CHECK (VALUE IN ('GTC', 'IOC'));
CREATE DOMAIN order_status AS TEXT
    CHECK (VALUE IN ('NEW', 'OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'REJECTED'));
CREATE DOMAIN ledger_kind AS TEXT
    CHECK (VALUE IN ('deposit', 'withdrawal', 'block', 'release', 'trade_buy', 'trade_sell',
                     'grant'));

ALTER TABLE instruments
    DROP CONSTRAINT instruments_tick_size_cents_check,
    DROP CONSTRAINT instruments_reference_price_cents_check,
    DROP CONSTRAINT instruments_last_price_cents_check,
    DROP CONSTRAINT instruments_price_band_bps_check,
    ALTER COLUMN tick_size_cents TYPE positive_bigint,
    ALTER COLUMN reference_price_cents TYPE positive_bigint,
    ALTER COLUMN last_price_cents TYPE positive_bigint,
    ALTER COLUMN price_band_bps TYPE positive_integer;

-- Implied by wallets_check and holdings_check (0 <= blocked <= the total).
ALTER TABLE wallets DROP CONSTRAINT wallets_balance_cents_check;
ALTER TABLE holdings DROP CONSTRAINT holdings_quantity_check;

ALTER TABLE transactions
    DROP CONSTRAINT transactions_kind_check,
    ALTER COLUMN kind TYPE ledger_kind;

ALTER TABLE reservations
    DROP CONSTRAINT reservations_side_check,
    DROP CONSTRAINT reservations_remaining_cents_check,
    DROP CONSTRAINT reservations_remaining_quantity_check,
    ALTER COLUMN side TYPE order_side,
    ALTER COLUMN remaining_cents TYPE nonnegative_bigint,
    ALTER COLUMN remaining_quantity TYPE nonnegative_bigint;

ALTER TABLE orders
    DROP CONSTRAINT orders_side_check,
    DROP CONSTRAINT orders_type_check,
    DROP CONSTRAINT orders_time_in_force_check,
    DROP CONSTRAINT orders_price_cents_check,
    DROP CONSTRAINT orders_quantity_check,
    DROP CONSTRAINT orders_status_check,
    ALTER COLUMN side TYPE order_side,
    ALTER COLUMN type TYPE order_type,
    ALTER COLUMN time_in_force TYPE order_time_in_force,
    ALTER COLUMN price_cents TYPE positive_bigint,
    ALTER COLUMN quantity TYPE positive_bigint,
    ALTER COLUMN status TYPE order_status;

ALTER TABLE trades
    DROP CONSTRAINT trades_price_cents_check,
    DROP CONSTRAINT trades_quantity_check,
    DROP CONSTRAINT trades_aggressor_side_check,
    ALTER COLUMN price_cents TYPE positive_bigint,
    ALTER COLUMN quantity TYPE positive_bigint,
    ALTER COLUMN aggressor_side TYPE order_side;
