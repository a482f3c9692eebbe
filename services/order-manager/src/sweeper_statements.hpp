#pragma once
/// The order-manager sweeper's statements over a symbol's open reservations, apart from the
/// service so that a test can check their plans on a populated database
/// (services/order-manager/test/sweeper_plans_test.cpp).
///
/// Each reads the symbol's open reservations (reservations_symbol_open holds their ids and
/// creation times) and looks each one's order up by primary key: `OFFSET 0` keeps the lookup a
/// subquery run per reservation. As a join, the planner hashed the whole orders table, which
/// grows with every order, to check a few thousand reservations: at 125,000 orders, 80 - 160 ms
/// a statement, two a symbol every full sweep (migration 0011, issue #9).

#include "flowex/storage/pg.hpp"

namespace flowex::orders::sweeper {

/// Reservations of the symbol $1 whose order is finished and whose trades are all settled
/// (and marked so).
inline constexpr storage::PgStatement kSelectReleasable{
    "om_releasable",
    "SELECT r.order_id FROM reservations r CROSS JOIN LATERAL "
    "(SELECT o.status FROM orders o WHERE o.order_id = r.order_id OFFSET 0) o "
    "WHERE NOT r.released AND r.symbol = $1 AND o.status IN ('FILLED', 'CANCELLED', 'REJECTED') "
    "AND NOT EXISTS (SELECT 1 FROM trades t "
    "WHERE t.buy_order_id = r.order_id AND t.settled_at IS NULL) "
    "AND NOT EXISTS (SELECT 1 FROM trades t "
    "WHERE t.sell_order_id = r.order_id AND t.settled_at IS NULL)",
    "reservations"};

/// Reservations of the symbol $1 older than $2 seconds whose order was never inserted.
inline constexpr storage::PgStatement kSelectOrphaned{
    "om_orphaned",
    "SELECT r.order_id FROM reservations r WHERE NOT r.released AND r.symbol = $1 "
    "AND r.created_at < now() - make_interval(secs => $2) "
    "AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = r.order_id OFFSET 0)",
    "reservations"};

/// Those of the ids $1 still unreleased and order-less (under the symbol's mutex, before
/// releasing).
inline constexpr storage::PgStatement kStillOrphaned{
    "om_still_orphaned",
    "SELECT r.order_id FROM reservations r WHERE r.order_id = ANY ($1::uuid[]) "
    "AND NOT r.released AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = r.order_id "
    "OFFSET 0)",
    "reservations"};

}  // namespace flowex::orders::sweeper
