// `flowex audit`: checks every money and order invariant of DESIGN §6 against the database
// (issue #7). Each check is one SQL query that returns one row per breach, so the work stays
// in PostgreSQL and scales to millions of ledger rows; all checks read one REPEATABLE READ
// snapshot, so a running exchange is audited at a single instant. Exit codes: 0 every
// invariant holds, 1 a breach (each one named), 2 usage or connection error.
//
// The checks mirror exactly what the services write (services/wallet-service/src/wallet.cpp,
// services/order-manager/src/order_manager.cpp):
//   deposit / withdrawal  ref request id, cash_delta ±amount, nothing else
//   grant                 ref request id, symbol, quantity_delta +q
//   block                 ref order id, BUY blocked_delta +price×quantity, SELL blocked_quantity +q
//   release               ref order id, −(what the reservation still held)
//   trade_buy             ref trade id, buyer: cash −price×q, quantity +q,
//                         blocked_delta −(reservation price)×q (a better price frees the rest)
//   trade_sell            ref trade id, seller: cash +price×q, quantity −q, blocked_quantity −q
#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "command.hpp"
#include "flowex/common/config.hpp"
#include "flowex/common/json.hpp"

namespace flowex::cli {
namespace {

constexpr const char* kDefaultDatabaseUrl = "postgresql://postgres@127.0.0.1:55432/stockexchange";

/// One invariant: `sql` selects (sort_key, subject, what, expected, actual), one row per breach.
struct Check {
    const char* name;
    const char* description;
    const char* sql;
};

// The SQL reads best laid out by hand.
// clang-format off
// Fragments shared by the order and reservation subjects.
#define FLOWEX_ORDER_SUBJECT(o)                                                                  \
    "'order ' || " o ".order_id || ' (user ' || " o ".user_id || ' ' || " o ".side || ' ' || " o \
    ".quantity || ' ' || " o ".symbol || ', ' || " o ".status || ')'"
#define FLOWEX_RESERVATION_SUBJECT(r)                                                       \
    "'reservation ' || " r ".order_id || ' (user ' || " r ".user_id || ' ' || " r ".side || " \
    "' ' || " r ".symbol || ')'"

const Check kChecks[] = {
    {"cash_conservation", "Σ wallet balances = Σ deposits − Σ withdrawals (the ledger)",
     "SELECT 0, 'all wallets', 'Σ balance_cents vs Σ deposits − Σ withdrawals', d.s::text, "
     "w.s::text "
     "FROM (SELECT coalesce(sum(balance_cents), 0) AS s FROM wallets) w, "
     "(SELECT coalesce(sum(cash_delta_cents), 0) AS s FROM transactions "
     " WHERE kind IN ('deposit', 'withdrawal')) d WHERE w.s <> d.s "
     "UNION ALL "
     "SELECT 1, 'all trades', 'Σ trade_buy + trade_sell cash_delta_cents', '0', s::text "
     "FROM (SELECT coalesce(sum(cash_delta_cents), 0) AS s FROM transactions "
     " WHERE kind IN ('trade_buy', 'trade_sell')) t WHERE s <> 0"},

    {"wallet_ledger", "each wallet's balance and blocked equal the sum of its ledger rows",
     "WITH l AS (SELECT user_id, sum(cash_delta_cents) AS cash, "
     " sum(blocked_delta_cents) AS blocked FROM transactions GROUP BY user_id), "
     "j AS (SELECT coalesce(w.user_id, l.user_id) AS uid, coalesce(w.balance_cents, 0) AS wb, "
     " coalesce(w.blocked_cents, 0) AS wk, coalesce(l.cash, 0) AS lb, "
     " coalesce(l.blocked, 0) AS lk FROM wallets w FULL JOIN l ON l.user_id = w.user_id) "
     "SELECT uid, 'user ' || uid, 'balance_cents vs Σ ledger cash_delta_cents', lb::text, "
     "wb::text FROM j WHERE wb <> lb "
     "UNION ALL "
     "SELECT uid, 'user ' || uid, 'blocked_cents vs Σ ledger blocked_delta_cents', lk::text, "
     "wk::text FROM j WHERE wk <> lk"},

    {"share_conservation", "Σ shares per symbol = Σ granted (shares are only created by grants)",
     "WITH h AS (SELECT symbol, sum(quantity) AS q FROM holdings GROUP BY symbol), "
     "g AS (SELECT symbol, sum(quantity_delta) AS q FROM transactions WHERE kind = 'grant' "
     " GROUP BY symbol) "
     "SELECT coalesce(h.symbol, g.symbol), 'symbol ' || coalesce(h.symbol, g.symbol), "
     "'Σ holdings.quantity vs Σ granted', coalesce(g.q, 0)::text, coalesce(h.q, 0)::text "
     "FROM h FULL JOIN g ON g.symbol = h.symbol WHERE coalesce(h.q, 0) <> coalesce(g.q, 0) "
     "UNION ALL "
     "SELECT symbol, 'symbol ' || symbol, 'Σ trade_buy + trade_sell quantity_delta', '0', "
     "s::text FROM (SELECT symbol, sum(quantity_delta) AS s FROM transactions "
     " WHERE kind IN ('trade_buy', 'trade_sell') GROUP BY symbol) t WHERE s <> 0"},

    {"holding_ledger", "each holding's quantity and blocked quantity equal its ledger rows",
     "WITH l AS (SELECT user_id, symbol, sum(quantity_delta) AS q, "
     " sum(blocked_quantity_delta) AS bq FROM transactions WHERE symbol IS NOT NULL "
     " GROUP BY user_id, symbol), "
     "j AS (SELECT coalesce(h.user_id, l.user_id) AS uid, coalesce(h.symbol, l.symbol) AS sym, "
     " coalesce(h.quantity, 0) AS hq, coalesce(h.blocked_quantity, 0) AS hb, "
     " coalesce(l.q, 0) AS lq, coalesce(l.bq, 0) AS lb "
     " FROM holdings h FULL JOIN l ON l.user_id = h.user_id AND l.symbol = h.symbol) "
     "SELECT lpad(uid::text, 20, '0') || sym, 'user ' || uid || ' ' || sym, "
     "'quantity vs Σ ledger quantity_delta', lq::text, hq::text FROM j WHERE hq <> lq "
     "UNION ALL "
     "SELECT lpad(uid::text, 20, '0') || sym, 'user ' || uid || ' ' || sym, "
     "'blocked_quantity vs Σ ledger blocked_quantity_delta', lb::text, hb::text "
     "FROM j WHERE hb <> lb"},

    {"blocked_cash", "each user's blocked cash = Σ remaining_cents of unreleased BUY reservations",
     "WITH r AS (SELECT user_id, sum(remaining_cents) AS c, count(*) AS n FROM reservations "
     " WHERE side = 'BUY' AND NOT released GROUP BY user_id) "
     "SELECT coalesce(w.user_id, r.user_id), 'user ' || coalesce(w.user_id, r.user_id), "
     "'blocked_cents vs Σ remaining_cents of ' || coalesce(r.n, 0) || "
     "' unreleased BUY reservation(s)', coalesce(r.c, 0)::text, "
     "coalesce(w.blocked_cents, 0)::text "
     "FROM wallets w FULL JOIN r ON r.user_id = w.user_id "
     "WHERE coalesce(w.blocked_cents, 0) <> coalesce(r.c, 0)"},

    {"blocked_shares",
     "each user's blocked shares = Σ remaining_quantity of unreleased SELL reservations",
     "WITH r AS (SELECT user_id, symbol, sum(remaining_quantity) AS q, count(*) AS n "
     " FROM reservations WHERE side = 'SELL' AND NOT released GROUP BY user_id, symbol) "
     "SELECT lpad(coalesce(h.user_id, r.user_id)::text, 20, '0') || coalesce(h.symbol, r.symbol), "
     "'user ' || coalesce(h.user_id, r.user_id) || ' ' || coalesce(h.symbol, r.symbol), "
     "'blocked_quantity vs Σ remaining_quantity of ' || coalesce(r.n, 0) || "
     "' unreleased SELL reservation(s)', coalesce(r.q, 0)::text, "
     "coalesce(h.blocked_quantity, 0)::text "
     "FROM holdings h FULL JOIN r ON r.user_id = h.user_id AND r.symbol = h.symbol "
     "WHERE coalesce(h.blocked_quantity, 0) <> coalesce(r.q, 0)"},

    {"non_negative", "no balance, holding, reservation or fill is negative or over its bound",
     "SELECT 'a' || lpad(user_id::text, 20, '0'), 'user ' || user_id, v.what, '≥ 0', v.val::text "
     "FROM wallets CROSS JOIN LATERAL (VALUES ('wallet balance_cents', balance_cents), "
     " ('wallet blocked_cents', blocked_cents), "
     " ('wallet available_cents (balance − blocked)', balance_cents - blocked_cents)) v(what, val) "
     "WHERE v.val < 0 "
     "UNION ALL "
     "SELECT 'b' || lpad(user_id::text, 20, '0') || symbol, 'user ' || user_id || ' ' || symbol, "
     "v.what, '≥ 0', v.val::text FROM holdings CROSS JOIN LATERAL (VALUES "
     " ('holding quantity', quantity), ('holding blocked_quantity', blocked_quantity), "
     " ('holding available quantity (quantity − blocked)', quantity - blocked_quantity)) "
     " v(what, val) WHERE v.val < 0 "
     "UNION ALL "
     "SELECT 'c' || order_id, " FLOWEX_RESERVATION_SUBJECT("r") ", v.what, '≥ 0', v.val::text "
     "FROM reservations r CROSS JOIN LATERAL (VALUES ('remaining_cents', remaining_cents), "
     " ('remaining_quantity', remaining_quantity)) v(what, val) WHERE v.val < 0 "
     "UNION ALL "
     "SELECT 'd' || lpad(seq::text, 20, '0'), " FLOWEX_ORDER_SUBJECT("o") ", v.what, '≥ 0', "
     "v.val::text FROM orders o CROSS JOIN LATERAL (VALUES ('filled_quantity', filled_quantity), "
     " ('filled_notional_cents', filled_notional_cents), "
     " ('unfilled quantity (quantity − filled_quantity)', quantity - filled_quantity)) "
     " v(what, val) WHERE v.val < 0"},

    {"trade_settled", "every trade is settled (settled_at set)",
     "SELECT t.seq, 'trade ' || t.trade_id || ' (' || t.quantity || ' ' || t.symbol || ' @ ' || "
     "t.price_cents || ', buyer ' || t.buyer_id || ', seller ' || t.seller_id || ')', "
     "'settled_at', 'set', 'NULL (' || (SELECT count(*) FROM transactions x "
     " WHERE x.kind IN ('trade_buy', 'trade_sell') AND x.ref = t.trade_id::text) || "
     "' of 2 ledger rows written)' FROM trades t WHERE t.settled_at IS NULL"},

    {"trade_ledger",
     "every trade has exactly one trade_buy and one trade_sell row with the right users and "
     "amounts",
     "WITH l AS (SELECT ref, kind, count(*) AS n, min(user_id) AS uid, min(symbol) AS sym, "
     " sum(cash_delta_cents) AS cash, sum(blocked_delta_cents) AS bc, "
     " sum(quantity_delta) AS q, sum(blocked_quantity_delta) AS bq FROM transactions "
     " WHERE kind IN ('trade_buy', 'trade_sell') GROUP BY ref, kind) "
     "SELECT lpad(t.seq::text, 20, '0'), 'trade ' || t.trade_id || ' (' || t.quantity || ' ' || "
     "t.symbol || ' @ ' || t.price_cents || ', buyer ' || t.buyer_id || ', seller ' || "
     "t.seller_id || ')', v.what, v.expected, v.actual "
     "FROM trades t "
     "LEFT JOIN l b ON b.ref = t.trade_id::text AND b.kind = 'trade_buy' "
     "LEFT JOIN l s ON s.ref = t.trade_id::text AND s.kind = 'trade_sell' "
     "LEFT JOIN reservations r ON r.order_id = t.buy_order_id "
     "CROSS JOIN LATERAL (VALUES "
     " (coalesce(b.n, 0) <> 1, 'trade_buy ledger rows', '1', coalesce(b.n, 0)::text), "
     " (b.n = 1 AND b.uid <> t.buyer_id, 'trade_buy user_id (the buyer)', t.buyer_id::text, "
     "  b.uid::text), "
     " (b.n = 1 AND b.sym IS DISTINCT FROM t.symbol, 'trade_buy symbol', t.symbol, b.sym), "
     " (b.n = 1 AND b.cash <> -(t.price_cents * t.quantity), "
     "  'trade_buy cash_delta_cents (−price × quantity)', (-(t.price_cents * t.quantity))::text, "
     "  b.cash::text), "
     " (b.n = 1 AND b.q <> t.quantity, 'trade_buy quantity_delta', t.quantity::text, b.q::text), "
     " (b.n = 1 AND b.bq <> 0, 'trade_buy blocked_quantity_delta', '0', b.bq::text), "
     " (b.n = 1 AND b.bc IS DISTINCT FROM -(r.price_cents * t.quantity), "
     "  'trade_buy blocked_delta_cents (−blocked price × quantity)', "
     "  coalesce((-(r.price_cents * t.quantity))::text, "
     "           'a BUY reservation for order ' || t.buy_order_id), b.bc::text), "
     " (coalesce(s.n, 0) <> 1, 'trade_sell ledger rows', '1', coalesce(s.n, 0)::text), "
     " (s.n = 1 AND s.uid <> t.seller_id, 'trade_sell user_id (the seller)', "
     "  t.seller_id::text, s.uid::text), "
     " (s.n = 1 AND s.sym IS DISTINCT FROM t.symbol, 'trade_sell symbol', t.symbol, s.sym), "
     " (s.n = 1 AND s.cash <> t.price_cents * t.quantity, "
     "  'trade_sell cash_delta_cents (price × quantity)', (t.price_cents * t.quantity)::text, "
     "  s.cash::text), "
     " (s.n = 1 AND s.q <> -t.quantity, 'trade_sell quantity_delta', (-t.quantity)::text, "
     "  s.q::text), "
     " (s.n = 1 AND s.bq <> -t.quantity, 'trade_sell blocked_quantity_delta', "
     "  (-t.quantity)::text, s.bq::text), "
     " (s.n = 1 AND s.bc <> 0, 'trade_sell blocked_delta_cents', '0', s.bc::text) "
     ") v(bad, what, expected, actual) WHERE v.bad "
     "UNION ALL "
     "SELECT 'z' || lpad(x.transaction_id::text, 20, '0'), 'ledger row ' || x.transaction_id || "
     "' (' || x.kind || ', user ' || x.user_id || ')', 'ref', 'the id of a trade', x.ref "
     "FROM transactions x WHERE x.kind IN ('trade_buy', 'trade_sell') "
     "AND NOT EXISTS (SELECT 1 FROM trades t WHERE t.trade_id::text = x.ref)"},

    {"trade_orders",
     "every trade joins a BUY and a SELL order of its buyer, seller and symbol at an allowed price",
     "SELECT t.seq, 'trade ' || t.trade_id || ' (' || t.quantity || ' ' || t.symbol || ' @ ' || "
     "t.price_cents || ')', v.what, v.expected, v.actual "
     "FROM trades t JOIN orders b ON b.order_id = t.buy_order_id "
     "JOIN orders s ON s.order_id = t.sell_order_id "
     "CROSS JOIN LATERAL (SELECT CASE WHEN t.aggressor_side = 'BUY' THEN s.order_id "
     " ELSE b.order_id END AS id, CASE WHEN t.aggressor_side = 'BUY' THEN s.price_cents "
     " ELSE b.price_cents END AS price) m "
     "CROSS JOIN LATERAL (VALUES "
     " (b.side <> 'BUY', 'side of buy order ' || b.order_id, 'BUY', b.side), "
     " (b.user_id <> t.buyer_id, 'user of buy order ' || b.order_id, t.buyer_id::text, "
     "  b.user_id::text), "
     " (b.symbol <> t.symbol, 'symbol of buy order ' || b.order_id, t.symbol, b.symbol), "
     " (s.side <> 'SELL', 'side of sell order ' || s.order_id, 'SELL', s.side), "
     " (s.user_id <> t.seller_id, 'user of sell order ' || s.order_id, t.seller_id::text, "
     "  s.user_id::text), "
     " (s.symbol <> t.symbol, 'symbol of sell order ' || s.order_id, t.symbol, s.symbol), "
     " (t.buyer_id = t.seller_id, 'buyer and seller (self-trade)', 'different users', "
     "  'both user ' || t.buyer_id), "
     " (b.type = 'LIMIT' AND t.price_cents > b.price_cents, 'price vs buy limit', "
     "  '≤ ' || b.price_cents, t.price_cents::text), "
     " (s.type = 'LIMIT' AND t.price_cents < s.price_cents, 'price vs sell limit', "
     "  '≥ ' || s.price_cents, t.price_cents::text), "
     " (m.price IS DISTINCT FROM t.price_cents, 'price vs resting order ' || m.id, "
     "  coalesce(m.price::text, 'a limit price'), t.price_cents::text) "
     ") v(bad, what, expected, actual) WHERE v.bad"},

    {"order_fills", "each order's filled_quantity and filled_notional equal the sum of its trades",
     "WITH f AS (SELECT order_id, sum(q) AS q, sum(n) AS n, count(*) AS c FROM ("
     " SELECT buy_order_id AS order_id, quantity AS q, price_cents * quantity AS n FROM trades "
     " UNION ALL "
     " SELECT sell_order_id, quantity, price_cents * quantity FROM trades) x GROUP BY order_id) "
     "SELECT o.seq, " FLOWEX_ORDER_SUBJECT("o") ", v.what, v.expected, v.actual "
     "FROM orders o LEFT JOIN f ON f.order_id = o.order_id "
     "CROSS JOIN LATERAL (VALUES "
     " (o.filled_quantity <> coalesce(f.q, 0), 'filled_quantity vs Σ quantity of its ' || "
     "  coalesce(f.c, 0) || ' trade(s)', coalesce(f.q, 0)::text, o.filled_quantity::text), "
     " (o.filled_notional_cents <> coalesce(f.n, 0), "
     "  'filled_notional_cents vs Σ price × quantity of its ' || coalesce(f.c, 0) || "
     "  ' trade(s)', coalesce(f.n, 0)::text, o.filled_notional_cents::text) "
     ") v(bad, what, expected, actual) WHERE v.bad"},

    {"order_status",
     "each order's status agrees with its fills (FILLED iff filled = quantity; IOC never rests)",
     "SELECT o.seq, " FLOWEX_ORDER_SUBJECT("o") ", "
     "'status for filled_quantity ' || o.filled_quantity || ' of ' || o.quantity, "
     "CASE WHEN o.filled_quantity > o.quantity THEN 'filled_quantity ≤ quantity' "
     " WHEN o.filled_quantity = o.quantity THEN 'FILLED' "
     " WHEN o.filled_quantity > 0 THEN 'PARTIALLY_FILLED or CANCELLED' "
     " ELSE 'NEW, OPEN, CANCELLED or REJECTED' END, o.status "
     "FROM orders o WHERE NOT CASE WHEN o.filled_quantity > o.quantity THEN false "
     " WHEN o.filled_quantity = o.quantity THEN o.status = 'FILLED' "
     " WHEN o.filled_quantity > 0 THEN o.status IN ('PARTIALLY_FILLED', 'CANCELLED') "
     " ELSE o.status IN ('NEW', 'OPEN', 'CANCELLED', 'REJECTED') END "
     "UNION ALL "
     "SELECT o.seq, " FLOWEX_ORDER_SUBJECT("o") ", 'status of an IOC ' || o.type || ' order', "
     "'not resting (NEW, FILLED, CANCELLED or REJECTED)', o.status "
     "FROM orders o WHERE o.time_in_force = 'IOC' AND o.status IN ('OPEN', 'PARTIALLY_FILLED')"},

    {"order_reservation",
     "open orders hold an unreleased reservation that matches them; finished orders hold nothing",
     "SELECT lpad(o.seq::text, 20, '0'), " FLOWEX_ORDER_SUBJECT("o") ", v.what, v.expected, "
     "v.actual FROM orders o LEFT JOIN reservations r ON r.order_id = o.order_id "
     "CROSS JOIN LATERAL (VALUES "
     " (o.status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED') AND (r.order_id IS NULL OR r.released), "
     "  'reservation of an open order', 'unreleased', "
     "  CASE WHEN r.order_id IS NULL THEN 'none' ELSE 'released' END), "
     " (o.status IN ('FILLED', 'CANCELLED') AND r.order_id IS NULL, "
     "  'reservation of a finished order', 'released', 'none'), "
     " (o.status IN ('FILLED', 'CANCELLED', 'REJECTED') AND NOT r.released AND "
     "  (r.remaining_cents > 0 OR r.remaining_quantity > 0), "
     "  'reservation of a finished order', 'released', "
     "  'unreleased, holding ' || r.remaining_cents || ' cents / ' || r.remaining_quantity || "
     "  ' shares'), "
     " (r.user_id <> o.user_id, 'reservation user_id', o.user_id::text, r.user_id::text), "
     " (r.side <> o.side, 'reservation side', o.side, r.side), "
     " (r.symbol <> o.symbol, 'reservation symbol', o.symbol, r.symbol), "
     " (o.side = 'BUY' AND o.type = 'LIMIT' AND r.price_cents <> o.price_cents, "
     "  'reservation price_cents (a BUY LIMIT blocks at its limit)', o.price_cents::text, "
     "  r.price_cents::text), "
     " (NOT r.released AND r.remaining_quantity <> o.quantity - o.filled_quantity, "
     "  'reservation remaining_quantity (quantity − filled_quantity)', "
     "  (o.quantity - o.filled_quantity)::text, r.remaining_quantity::text), "
     " (NOT r.released AND o.side = 'BUY' AND "
     "  r.remaining_cents IS DISTINCT FROM r.price_cents * r.remaining_quantity, "
     "  'reservation remaining_cents (price_cents × remaining_quantity)', "
     "  (r.price_cents * r.remaining_quantity)::text, r.remaining_cents::text), "
     " (o.side = 'SELL' AND r.remaining_cents <> 0, 'SELL reservation remaining_cents', '0', "
     "  r.remaining_cents::text) "
     ") v(bad, what, expected, actual) WHERE v.bad "
     "UNION ALL "
     "SELECT 'z' || r.order_id, " FLOWEX_RESERVATION_SUBJECT("r") ", "
     "'order of an unreleased reservation', 'an order with this id', "
     "'none; holding ' || r.remaining_cents || ' cents / ' || r.remaining_quantity || "
     "' shares since ' || to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
     "FROM reservations r WHERE NOT r.released "
     "AND r.created_at < now() - make_interval(secs => $1) "
     "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = r.order_id)"},

    {"reservation_ledger",
     "each reservation's remaining amount equals its block, trade and release ledger rows",
     "WITH tb AS (SELECT t.buy_order_id AS order_id, sum(x.blocked_delta_cents) AS bc "
     " FROM trades t JOIN transactions x ON x.kind = 'trade_buy' AND x.ref = t.trade_id::text "
     " GROUP BY t.buy_order_id), "
     "ts AS (SELECT t.sell_order_id AS order_id, sum(x.blocked_quantity_delta) AS bq "
     " FROM trades t JOIN transactions x ON x.kind = 'trade_sell' AND x.ref = t.trade_id::text "
     " GROUP BY t.sell_order_id), "
     "br AS (SELECT transaction_id, kind, ref, user_id, blocked_delta_cents AS bc, "
     " blocked_quantity_delta AS bq FROM transactions WHERE kind IN ('block', 'release')) "
     "SELECT r.order_id::text, " FLOWEX_RESERVATION_SUBJECT("r") ", v.what, v.expected, v.actual "
     "FROM reservations r "
     "LEFT JOIN br b ON b.kind = 'block' AND b.ref = r.order_id::text AND b.user_id = r.user_id "
     "LEFT JOIN br rl ON rl.kind = 'release' AND rl.ref = r.order_id::text "
     " AND rl.user_id = r.user_id "
     "LEFT JOIN orders o ON o.order_id = r.order_id "
     "LEFT JOIN tb ON tb.order_id = r.order_id LEFT JOIN ts ON ts.order_id = r.order_id "
     "CROSS JOIN LATERAL (SELECT coalesce(b.bc, 0) + coalesce(rl.bc, 0) + "
     " CASE WHEN r.side = 'BUY' THEN coalesce(tb.bc, 0) ELSE 0 END AS cash, "
     " coalesce(b.bq, 0) + coalesce(rl.bq, 0) + "
     " CASE WHEN r.side = 'SELL' THEN coalesce(ts.bq, 0) ELSE 0 END AS qty) s "
     "CROSS JOIN LATERAL (VALUES "
     " (b.ref IS NULL, 'block ledger row (kind block, ref = order id)', 'one', 'none'), "
     " (r.released AND rl.ref IS NULL AND (o.order_id IS NULL OR o.filled_quantity < o.quantity), "
     "  'release ledger row of a reservation released before it was used up', 'one', 'none'), "
     " (NOT r.released AND rl.ref IS NOT NULL, "
     "  'release ledger row of an unreleased reservation', 'none', "
     "  'ledger row ' || rl.transaction_id), "
     " (r.side = 'BUY' AND o.order_id IS NOT NULL AND "
     "  b.bc IS DISTINCT FROM r.price_cents * o.quantity, "
     "  'block blocked_delta_cents (price_cents × order quantity)', "
     "  (r.price_cents * o.quantity)::text, b.bc::text), "
     " (r.side = 'SELL' AND o.order_id IS NOT NULL AND b.bq IS DISTINCT FROM o.quantity, "
     "  'block blocked_quantity_delta (order quantity)', o.quantity::text, b.bq::text), "
     " (r.side = 'BUY' AND s.cash <> r.remaining_cents, "
     "  'remaining_cents vs Σ blocked_delta_cents of its block, trade_buy and release rows', "
     "  s.cash::text, r.remaining_cents::text), "
     " (r.side = 'SELL' AND s.qty <> r.remaining_quantity, "
     "  'remaining_quantity vs Σ blocked_quantity_delta of its block, trade_sell and release "
     "rows', s.qty::text, r.remaining_quantity::text), "
     " (r.side = 'BUY' AND s.qty <> 0, 'Σ blocked_quantity_delta of a BUY reservation', '0', "
     "  s.qty::text), "
     " (r.side = 'SELL' AND s.cash <> 0, 'Σ blocked_delta_cents of a SELL reservation', '0', "
     "  s.cash::text) "
     ") v(bad, what, expected, actual) WHERE v.bad"},

    {"ledger_rows", "every ledger row has the shape its kind allows and refers to what caused it",
     "SELECT x.transaction_id, 'ledger row ' || x.transaction_id || ' (' || x.kind || ' ' || "
     "x.ref || ', user ' || x.user_id || ')', v.what, v.expected, v.actual "
     "FROM transactions x "
     "LEFT JOIN reservations r ON x.kind IN ('block', 'release') AND r.order_id::text = x.ref "
     "CROSS JOIN LATERAL (SELECT format('cash %s, blocked %s, quantity %s, blocked_quantity %s, "
     " symbol %s', x.cash_delta_cents, x.blocked_delta_cents, x.quantity_delta, "
     " x.blocked_quantity_delta, coalesce(x.symbol, 'none')) AS deltas) d "
     "CROSS JOIN LATERAL (VALUES "
     " (x.kind IN ('deposit', 'withdrawal') AND (x.blocked_delta_cents <> 0 OR "
     "  x.quantity_delta <> 0 OR x.blocked_quantity_delta <> 0 OR x.symbol IS NOT NULL), "
     "  'deltas', 'cash only', d.deltas), "
     " (x.kind = 'deposit' AND x.cash_delta_cents <= 0, 'cash_delta_cents', '> 0', "
     "  x.cash_delta_cents::text), "
     " (x.kind = 'withdrawal' AND x.cash_delta_cents >= 0, 'cash_delta_cents', '< 0', "
     "  x.cash_delta_cents::text), "
     " (x.kind = 'grant' AND (x.cash_delta_cents <> 0 OR x.blocked_delta_cents <> 0 OR "
     "  x.blocked_quantity_delta <> 0 OR x.quantity_delta <= 0 OR x.symbol IS NULL), "
     "  'deltas', 'quantity > 0 of a symbol only', d.deltas), "
     " (x.kind IN ('block', 'release') AND (x.cash_delta_cents <> 0 OR x.quantity_delta <> 0), "
     "  'deltas', 'blocked amounts only', d.deltas), "
     " (x.kind = 'block' AND (x.blocked_delta_cents < 0 OR x.blocked_quantity_delta < 0), "
     "  'deltas', 'blocked amounts ≥ 0', d.deltas), "
     " (x.kind = 'release' AND (x.blocked_delta_cents > 0 OR x.blocked_quantity_delta > 0), "
     "  'deltas', 'blocked amounts ≤ 0', d.deltas), "
     " (x.kind IN ('block', 'release') AND r.order_id IS NULL, 'reservation', "
     "  'a reservation for order ' || x.ref, 'none'), "
     " (r.user_id <> x.user_id, 'user of reservation ' || r.order_id, x.user_id::text, "
     "  r.user_id::text), "
     " (r.symbol IS DISTINCT FROM x.symbol AND r.order_id IS NOT NULL, "
     "  'symbol of reservation ' || r.order_id, coalesce(x.symbol, 'none'), r.symbol) "
     ") v(bad, what, expected, actual) WHERE v.bad"},

    // Orders, reservations and ledger rows have no foreign keys to users and instruments (the
    // statements writing them guarantee both: db/migrations/0006), so they are checked here.
    {"references",
     "every order, reservation and ledger row names an existing user and a listed symbol",
     "SELECT 'a' || lpad(o.seq::text, 20, '0'), " FLOWEX_ORDER_SUBJECT("o") ", 'user_id', "
     "'an existing user', o.user_id::text FROM orders o "
     "WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = o.user_id) "
     "UNION ALL "
     "SELECT 'a' || lpad(o.seq::text, 20, '0'), " FLOWEX_ORDER_SUBJECT("o") ", 'symbol', "
     "'a listed symbol', o.symbol FROM orders o "
     "WHERE NOT EXISTS (SELECT 1 FROM instruments i WHERE i.symbol = o.symbol) "
     "UNION ALL "
     "SELECT 'b' || r.order_id, " FLOWEX_RESERVATION_SUBJECT("r") ", 'user_id', "
     "'an existing user', r.user_id::text FROM reservations r "
     "WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = r.user_id) "
     "UNION ALL "
     "SELECT 'b' || r.order_id, " FLOWEX_RESERVATION_SUBJECT("r") ", 'symbol', "
     "'a listed symbol', r.symbol FROM reservations r "
     "WHERE NOT EXISTS (SELECT 1 FROM instruments i WHERE i.symbol = r.symbol) "
     "UNION ALL "
     "SELECT 'c' || lpad(x.transaction_id::text, 20, '0'), 'ledger row ' || x.transaction_id || "
     "' (' || x.kind || ' ' || x.ref || ', user ' || x.user_id || ')', 'user_id', "
     "'an existing user', x.user_id::text FROM transactions x "
     "WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = x.user_id) "
     "UNION ALL "
     "SELECT 'c' || lpad(x.transaction_id::text, 20, '0'), 'ledger row ' || x.transaction_id || "
     "' (' || x.kind || ' ' || x.ref || ', user ' || x.user_id || ')', 'symbol', "
     "'a listed symbol', x.symbol FROM transactions x WHERE x.symbol IS NOT NULL "
     "AND NOT EXISTS (SELECT 1 FROM instruments i WHERE i.symbol = x.symbol)"},
};

#undef FLOWEX_ORDER_SUBJECT
#undef FLOWEX_RESERVATION_SUBJECT
// clang-format on

struct Breach {
    std::string subject;
    std::string what;
    std::string expected;
    std::string actual;
};

struct Outcome {
    const Check* check;
    std::int64_t count = 0;        // every breach, also those not listed
    std::vector<Breach> breaches;  // the first `max_lines`
};

struct PgConnDeleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct PgResultDeleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

/// `url` with any password replaced by "***" (URL userinfo or a password= parameter).
std::string RedactUrl(std::string url) {
    if (auto scheme = url.find("://"); scheme != std::string::npos) {
        const std::size_t start = scheme + 3;
        const std::size_t end = std::min(url.find_first_of("/?#", start), url.size());
        const std::size_t at = url.rfind('@', end);
        if (at != std::string::npos && at >= start) {
            const std::size_t colon = url.find(':', start);
            if (colon != std::string::npos && colon < at) {
                url.replace(colon + 1, at - colon - 1, "***");
            }
        }
    }
    for (std::size_t p = url.find("password="); p != std::string::npos;
         p = url.find("password=", p + 1)) {
        const std::size_t v = p + 9;
        const std::size_t e = std::min(url.find_first_of("& ", v), url.size());
        url.replace(v, e - v, "***");
    }
    return url;
}

std::string Trimmed(const char* message) {
    std::string s = message != nullptr ? message : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) { s.pop_back(); }
    return s;
}

/// Runs `sql` with text parameters; nullptr and `error` set when it fails.
PgResultPtr Exec(PGconn* conn, const std::string& sql, const std::vector<std::string>& params,
                 std::string* error) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) { values.push_back(p.c_str()); }
    PgResultPtr res(PQexecParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0));
    const ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        *error = Trimmed(res ? PQresultErrorMessage(res.get()) : PQerrorMessage(conn));
        if (error->empty()) { *error = Trimmed(PQerrorMessage(conn)); }
        return nullptr;
    }
    return res;
}

void PrintText(const std::string& url, const std::vector<Outcome>& outcomes) {
    std::printf("flowex audit of %s\n", url.c_str());
    std::int64_t total = 0;
    int failed = 0;
    for (const Outcome& o : outcomes) {
        if (o.count == 0) {
            std::printf("ok    %-20s %s\n", o.check->name, o.check->description);
            continue;
        }
        ++failed;
        total += o.count;
        std::printf("FAIL  %-20s %s: %lld breach%s\n", o.check->name, o.check->description,
                    static_cast<long long>(o.count), o.count == 1 ? "" : "es");
        for (const Breach& b : o.breaches) {
            std::printf("  breach %s: %s: %s: expected %s, actual %s\n", o.check->name,
                        b.subject.c_str(), b.what.c_str(), b.expected.c_str(), b.actual.c_str());
        }
        const auto hidden = o.count - static_cast<std::int64_t>(o.breaches.size());
        if (hidden > 0) {
            std::printf("  breach %s: … and %lld more (--max-lines)\n", o.check->name,
                        static_cast<long long>(hidden));
        }
    }
    if (failed == 0) {
        std::printf("audit passed: all %zu invariants hold\n", outcomes.size());
    } else {
        std::printf("audit FAILED: %d of %zu invariants broken, %lld breach%s\n", failed,
                    outcomes.size(), static_cast<long long>(total), total == 1 ? "" : "es");
    }
}

void PrintJson(const std::string& url, const std::vector<Outcome>& outcomes) {
    std::int64_t total = 0;
    std::int64_t failed = 0;
    for (const Outcome& o : outcomes) {
        total += o.count;
        failed += o.count > 0 ? 1 : 0;
    }
    common::JsonWriter w;
    w.BeginObject()
        .Field("database", url)
        .Field("ok", failed == 0)
        .Field("failed_checks", failed)
        .Field("breaches", total)
        .Key("checks")
        .BeginArray();
    for (const Outcome& o : outcomes) {
        w.BeginObject()
            .Field("name", std::string_view(o.check->name))
            .Field("description", std::string_view(o.check->description))
            .Field("ok", o.count == 0)
            .Field("breach_count", o.count)
            .Key("breaches")
            .BeginArray();
        for (const Breach& b : o.breaches) {
            w.BeginObject()
                .Field("subject", b.subject)
                .Field("what", b.what)
                .Field("expected", b.expected)
                .Field("actual", b.actual)
                .EndObject();
        }
        w.EndArray().EndObject();
    }
    w.EndArray().EndObject();
    std::printf("%s\n", w.Take().c_str());
}

int RunAudit(int argc, char** argv) {
    std::string url = kDefaultDatabaseUrl;
    bool json = false;
    std::int64_t max_lines = 20;
    std::int64_t orphan_grace = 0;
    std::string summary =
        "Checks every money and order invariant of DESIGN §6 against the database, in one "
        "read-only snapshot. Exit 0 when all hold, 1 naming each breach (check, subject, "
        "expected vs actual), 2 on usage or connection errors.\n\nChecks:";
    for (const Check& c : kChecks) {
        summary += "\n  " + std::string(c.name) +
                   std::string(20 - std::string_view(c.name).size(), ' ') + c.description;
    }
    common::Config cfg("flowex audit", summary);
    cfg.String("database-url", "FLOWEX_DATABASE_URL", &url,
               std::string("PostgreSQL URL (default ") + kDefaultDatabaseUrl + ")")
        .Secret();
    cfg.Bool("json", "", &json, "print one JSON document instead of text");
    cfg.Int("max-lines", "", &max_lines, "breaches listed per check (the count is always exact)", 0,
            1000000);
    cfg.Int("orphan-grace", "", &orphan_grace,
            "seconds an unreleased reservation without an order may exist before it is a "
            "breach (order-manager releases such orphans after its own grace, 30 s)",
            0, 86400);
    cfg.ParseOrExit(argc, argv);
    const std::string shown = RedactUrl(url);

    // connect_timeout first, so that one given in the URL wins.
    const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "flowex-audit", url.c_str(), nullptr};
    PgConnPtr conn(PQconnectdbParams(keys, values, 1));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        std::fprintf(stderr, "flowex audit: cannot connect to %s: %s\n", shown.c_str(),
                     conn ? Trimmed(PQerrorMessage(conn.get())).c_str() : "out of memory");
        return 2;
    }
    std::string error;
    // One snapshot for every check: a live exchange is audited at one instant.
    if (!Exec(conn.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", {}, &error)) {
        std::fprintf(stderr, "flowex audit: %s: %s\n", shown.c_str(), error.c_str());
        return 2;
    }
    const std::string limit = std::to_string(std::max<std::int64_t>(max_lines, 1));
    std::vector<Outcome> outcomes;
    for (const Check& check : kChecks) {
        // MATERIALIZED: planned to produce every row. As a plain subquery under ORDER BY ...
        // LIMIT the planner picks a fast-start plan (nested loops in key order) that takes
        // minutes on a million ledger rows instead of seconds.
        const std::string sql =
            std::string("WITH b(k, subject, what, expected, actual) AS MATERIALIZED (") +
            check.sql +
            ") SELECT subject, what, expected, actual, (SELECT count(*) FROM b) FROM b "
            "ORDER BY k, what LIMIT " +
            limit;
        std::vector<std::string> params;
        if (std::string_view(check.sql).find("$1") != std::string_view::npos) {
            params.push_back(std::to_string(orphan_grace));
        }
        PgResultPtr res = Exec(conn.get(), sql, params, &error);
        if (!res) {
            std::fprintf(stderr, "flowex audit: check %s failed to run on %s: %s\n", check.name,
                         shown.c_str(), error.c_str());
            return 2;
        }
        Outcome o{&check};
        const int rows = PQntuples(res.get());
        if (rows > 0) { o.count = std::stoll(PQgetvalue(res.get(), 0, 4)); }
        for (int i = 0; i < rows && i < max_lines; ++i) {
            auto text = [&](int col) {
                return PQgetisnull(res.get(), i, col) != 0
                           ? std::string("NULL")
                           : std::string(PQgetvalue(res.get(), i, col));
            };
            o.breaches.push_back(Breach{text(0), text(1), text(2), text(3)});
        }
        outcomes.push_back(std::move(o));
    }
    (void)Exec(conn.get(), "COMMIT", {}, &error);
    if (json) {
        PrintJson(shown, outcomes);
    } else {
        PrintText(shown, outcomes);
    }
    for (const Outcome& o : outcomes) {
        if (o.count > 0) { return 1; }
    }
    return 0;
}

}  // namespace

#ifndef FLOWEX_CLI_NO_REGISTER
FLOWEX_COMMAND("audit", "check DESIGN §6's money and order invariants against the database",
               RunAudit);
#endif

}  // namespace flowex::cli
