-- flowex schema. Money is integer cents, quantities whole shares: never floating point.
-- Invariants (DESIGN §6) are enforced here where a constraint can express them; the rest
-- are checked by `flowex audit`.

CREATE TABLE users (
    user_id       BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 3 AND 64),
    password_hash TEXT NOT NULL,              -- Argon2id encoded string (libsodium)
    tier          TEXT NOT NULL DEFAULT 'standard' CHECK (tier IN ('standard', 'premium')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Access tokens are 256 random bits; only their SHA-256 is stored.
CREATE TABLE sessions (
    token_hash BYTEA PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (user_id),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE instruments (
    symbol                TEXT PRIMARY KEY,
    name                  TEXT NOT NULL,
    tick_size_cents       BIGINT NOT NULL DEFAULT 1 CHECK (tick_size_cents > 0),
    reference_price_cents BIGINT NOT NULL CHECK (reference_price_cents > 0),
    last_price_cents      BIGINT CHECK (last_price_cents > 0),
    price_band_bps        INTEGER NOT NULL DEFAULT 1000 CHECK (price_band_bps > 0),  -- ±10 %
    max_order_quantity    BIGINT NOT NULL DEFAULT 100000,
    max_order_notional_cents BIGINT NOT NULL DEFAULT 1000000000,                      -- $10M
    active                BOOLEAN NOT NULL DEFAULT true
);

-- One USD wallet per user.
CREATE TABLE wallets (
    user_id       BIGINT PRIMARY KEY REFERENCES users (user_id),
    balance_cents BIGINT NOT NULL DEFAULT 0,
    blocked_cents BIGINT NOT NULL DEFAULT 0,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (balance_cents >= 0),
    CHECK (blocked_cents >= 0 AND blocked_cents <= balance_cents)
);

CREATE TABLE holdings (
    user_id          BIGINT NOT NULL REFERENCES users (user_id),
    symbol           TEXT NOT NULL REFERENCES instruments (symbol),
    quantity         BIGINT NOT NULL DEFAULT 0,
    blocked_quantity BIGINT NOT NULL DEFAULT 0,
    cost_basis_cents BIGINT NOT NULL DEFAULT 0,   -- for average cost: cost_basis / quantity
    PRIMARY KEY (user_id, symbol),
    CHECK (quantity >= 0),
    CHECK (blocked_quantity >= 0 AND blocked_quantity <= quantity)
);

-- The ledger: every change to a wallet or a holding is one row, keyed for idempotency by
-- (kind, ref, user_id): ref is the request id, order id or trade id that caused it.
CREATE TABLE transactions (
    transaction_id         BIGSERIAL PRIMARY KEY,
    user_id                BIGINT NOT NULL REFERENCES users (user_id),
    kind                   TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'block', 'release',
                                                         'trade_buy', 'trade_sell', 'grant')),
    ref                    TEXT NOT NULL,
    symbol                 TEXT,
    cash_delta_cents       BIGINT NOT NULL DEFAULT 0,
    blocked_delta_cents    BIGINT NOT NULL DEFAULT 0,
    quantity_delta         BIGINT NOT NULL DEFAULT 0,
    blocked_quantity_delta BIGINT NOT NULL DEFAULT 0,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (kind, ref, user_id)
);
CREATE INDEX transactions_user_time ON transactions (user_id, transaction_id DESC);

-- What the wallet has blocked for each open order: the saga's reservation record.
-- remaining_* shrink as trades settle; a cancel or the end of an order releases the rest.
-- Invariant: a user's wallets.blocked_cents = Σ remaining_cents of their unreleased BUY
-- reservations, and holdings.blocked_quantity = Σ remaining_quantity of unreleased SELLs.
CREATE TABLE reservations (
    order_id                UUID PRIMARY KEY,
    user_id                 BIGINT NOT NULL REFERENCES users (user_id),
    side                    TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    symbol                  TEXT NOT NULL REFERENCES instruments (symbol),
    price_cents             BIGINT,                -- BUY: the per-share price cash was blocked at
    remaining_cents         BIGINT NOT NULL DEFAULT 0 CHECK (remaining_cents >= 0),
    remaining_quantity      BIGINT NOT NULL DEFAULT 0 CHECK (remaining_quantity >= 0),
    released                BOOLEAN NOT NULL DEFAULT false,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX reservations_user_open ON reservations (user_id) WHERE NOT released;

CREATE TABLE orders (
    order_id              UUID PRIMARY KEY,
    seq                   BIGSERIAL UNIQUE,        -- replay order for rebuilding the books
    user_id               BIGINT NOT NULL REFERENCES users (user_id),
    client_order_id       TEXT,
    symbol                TEXT NOT NULL REFERENCES instruments (symbol),
    side                  TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),
    type                  TEXT NOT NULL CHECK (type IN ('LIMIT', 'MARKET')),
    time_in_force         TEXT NOT NULL CHECK (time_in_force IN ('GTC', 'IOC')),
    price_cents           BIGINT CHECK (price_cents > 0),
    quantity              BIGINT NOT NULL CHECK (quantity > 0),
    filled_quantity       BIGINT NOT NULL DEFAULT 0,
    filled_notional_cents BIGINT NOT NULL DEFAULT 0,
    status                TEXT NOT NULL CHECK (status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED', 'FILLED',
                                                          'CANCELLED', 'REJECTED')),
    reject_reason         TEXT,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
    UNIQUE (user_id, client_order_id)
);
CREATE INDEX orders_user_time ON orders (user_id, created_at DESC);
CREATE INDEX orders_open ON orders (symbol, seq) WHERE status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED');

CREATE TABLE trades (
    trade_id       UUID PRIMARY KEY,
    seq            BIGSERIAL UNIQUE,
    symbol         TEXT NOT NULL REFERENCES instruments (symbol),
    price_cents    BIGINT NOT NULL CHECK (price_cents > 0),
    quantity       BIGINT NOT NULL CHECK (quantity > 0),
    buy_order_id   UUID NOT NULL REFERENCES orders (order_id),
    sell_order_id  UUID NOT NULL REFERENCES orders (order_id),
    buyer_id       BIGINT NOT NULL REFERENCES users (user_id),
    seller_id      BIGINT NOT NULL REFERENCES users (user_id),
    aggressor_side TEXT NOT NULL CHECK (aggressor_side IN ('BUY', 'SELL')),
    executed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at     TIMESTAMPTZ
);
CREATE INDEX trades_buyer ON trades (buyer_id, executed_at DESC);
CREATE INDEX trades_seller ON trades (seller_id, executed_at DESC);
CREATE INDEX trades_unsettled ON trades (seq) WHERE settled_at IS NULL;

-- Events to publish to Redis, written in the same transaction as the change they describe.
CREATE TABLE outbox (
    event_id     BIGSERIAL PRIMARY KEY,
    channel      TEXT NOT NULL,
    payload      TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished ON outbox (event_id) WHERE published_at IS NULL;
