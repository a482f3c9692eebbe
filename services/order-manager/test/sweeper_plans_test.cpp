// The sweeper's statements on a database that has run a while (60,000 orders, 3,000 of them
// open): each finds exactly what it is for, and its plan — generic, as libs/storage prepares
// every statement — reads the symbol's open reservations from reservations_symbol_open and
// looks their orders up by primary key, never reading the orders table whole (migration 0011).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "flowex/common/json.hpp"
#include "flowex/storage/migrations.hpp"
#include "flowex/testing/test_env.hpp"
#include "sweeper_statements.hpp"

namespace flowex::orders {
namespace {

// 20 users; 60,000 orders: every 30th OPEN, and the 1st, 61st, … MSFT's OPEN ones, the rest
// FILLED AAPL orders; each with its reservation, unreleased while the order is open. The
// reservations of the BUY orders 2, 4, …, 80 are left unreleased too. Each filled BUY order
// has a trade, settled but for those of 62 – 80: of the 40, 30 and 60 are open and 62 – 80 wait
// for their settlement, so 28 are releasable. 50 reservations an hour old have no order
// (orphans). Then VACUUM ANALYZE, as autovacuum would have done.
constexpr const char* kHistory = R"sql(
INSERT INTO users (user_id, username, password_hash)
  SELECT u, 'user' || u, 'x' FROM generate_series(1, 20) u;
INSERT INTO orders (order_id, user_id, symbol, side, type, time_in_force, price_cents, quantity,
                    filled_quantity, filled_notional_cents, status)
  SELECT md5('o' || g)::uuid, 1 + g % 20, CASE WHEN g % 60 = 1 THEN 'MSFT' ELSE 'AAPL' END,
         CASE WHEN g % 2 = 0 THEN 'BUY' ELSE 'SELL' END, 'LIMIT', 'GTC', 15000, 10,
         CASE WHEN g % 30 = 0 OR g % 60 = 1 THEN 0 ELSE 10 END,
         CASE WHEN g % 30 = 0 OR g % 60 = 1 THEN 0 ELSE 150000 END,
         CASE WHEN g % 30 = 0 OR g % 60 = 1 THEN 'OPEN' ELSE 'FILLED' END
  FROM generate_series(1, 60000) g;
INSERT INTO reservations (order_id, user_id, side, symbol, price_cents, remaining_cents,
                          remaining_quantity, released, created_at)
  SELECT order_id, user_id, side::order_side, symbol, price_cents, 0, 0, status <> 'OPEN',
         now() - interval '1 hour'
  FROM orders;
UPDATE reservations SET released = false
  WHERE order_id IN (SELECT md5('o' || g)::uuid FROM generate_series(2, 80, 2) g);
INSERT INTO trades (trade_id, symbol, price_cents, quantity, buy_order_id, sell_order_id,
                    buyer_id, seller_id, aggressor_side, settled_at)
  SELECT md5('t' || g)::uuid, 'AAPL', 15000, 10, md5('o' || g)::uuid, md5('o' || (g + 1))::uuid,
         1, 2, 'BUY', CASE WHEN g BETWEEN 62 AND 80 THEN NULL ELSE now() END
  FROM generate_series(2, 59998, 2) g WHERE g <= 80 OR g % 30 <> 0;
INSERT INTO reservations (order_id, user_id, side, symbol, price_cents, remaining_cents,
                          remaining_quantity, released, created_at)
  SELECT md5('x' || g)::uuid, 1, 'BUY', 'AAPL', 15000, 150000, 10, false,
         now() - interval '1 hour'
  FROM generate_series(1, 50) g;
)sql";

class SweeperPlans : public ::testing::Test {
protected:
    void SetUp() override {
        db_ = std::make_unique<testing::TestDatabase>(
            testing::TestDatabase::CreateOrThrow("sweeper_plans"));
        auto migrations =
            storage::LoadMigrations(std::string(FLOWEX_SOURCE_DIR) + "/db/migrations");
        ASSERT_TRUE(migrations.ok()) << migrations.error().message;
        for (const storage::MigrationFile& m : *migrations) { Exec(m.sql); }
        Exec(kHistory);
        Exec("VACUUM ANALYZE");  // not in a transaction: on its own
    }
    void Exec(const std::string& sql) {
        auto st = db_->Exec(sql);
        ASSERT_TRUE(st.ok()) << st.error().message;
    }
    // Prepares `statement` (parameter types `types`) on one connection and returns the value
    // of `last`, run after it there: libs/storage's generic plan, as the service has it.
    std::string WithPrepared(const storage::PgStatement& statement, const std::string& types,
                             const std::string& last) {
        auto v = db_->QueryValue("SET plan_cache_mode = force_generic_plan; PREPARE s(" + types +
                                 ") AS " + std::string(statement.sql) + "; " + last);
        EXPECT_TRUE(v.ok()) << (v.ok() ? "" : v.error().message);
        return v.ok() ? *v : std::string();
    }
    std::int64_t Count(const storage::PgStatement& statement, const std::string& types,
                       const std::string& args) {
        // EXECUTE cannot be a subquery: the rows are counted through a temporary table.
        std::string n = WithPrepared(
            statement, types,
            "CREATE TEMP TABLE found AS EXECUTE s(" + args + "); SELECT count(*) FROM found");
        return n.empty() ? -1 : std::stoll(n);
    }
    common::JsonValue Plan(const storage::PgStatement& statement, const std::string& types,
                           const std::string& args) {
        std::string text =
            WithPrepared(statement, types, "EXPLAIN (FORMAT JSON) EXECUTE s(" + args + ")");
        auto json = common::ParseJson(text);
        EXPECT_TRUE(json.ok()) << text;
        return json.ok() ? std::move(*json) : common::JsonValue();
    }

    std::unique_ptr<testing::TestDatabase> db_;
};

struct Scan {
    std::string node;      // "Index Only Scan", "Seq Scan", …
    std::string relation;  // "orders"
    std::string index;     // "orders_pkey" ("" for none)
    bool under_hash = false;
};

void CollectScans(const common::JsonValue& node, bool under_hash, std::vector<Scan>* out) {
    const common::JsonValue* type = node.Find("Node Type");
    if (type == nullptr || !type->is_string()) { return; }
    under_hash = under_hash || type->as_string() == "Hash";
    const common::JsonValue* rel = node.Find("Relation Name");
    const common::JsonValue* index = node.Find("Index Name");
    if (rel != nullptr || index != nullptr) {  // a Bitmap Index Scan names its index only
        out->push_back(Scan{type->as_string(), rel != nullptr ? rel->as_string() : "",
                            index != nullptr ? index->as_string() : "", under_hash});
    }
    if (const common::JsonValue* plans = node.Find("Plans"); plans != nullptr) {
        for (const common::JsonValue& child : plans->as_array()) {
            CollectScans(child, under_hash, out);
        }
    }
}

std::vector<Scan> ScansOf(const common::JsonValue& explain) {
    std::vector<Scan> scans;
    if (!explain.is_array() || explain.as_array().empty()) { return scans; }
    if (const common::JsonValue* plan = explain.as_array()[0].Find("Plan"); plan != nullptr) {
        CollectScans(*plan, false, &scans);
    }
    return scans;
}

std::string Describe(const std::vector<Scan>& scans) {
    std::string s;
    for (const Scan& x : scans) {
        s += "  " + x.node + " on " + x.relation + (x.index.empty() ? "" : " using " + x.index) +
             (x.under_hash ? " (hashed)" : "") + "\n";
    }
    return s;
}

// No table is read whole, orders only by primary-key lookups (never hashed), and the
// reservations through `index` (by symbol: through no other).
void ExpectProbes(const std::vector<Scan>& scans, const std::string& index) {
    bool orders_read = false;
    bool index_read = false;
    for (const Scan& x : scans) {
        EXPECT_NE(x.node, "Seq Scan") << Describe(scans);
        if (x.relation == "orders") {
            orders_read = true;
            EXPECT_TRUE((x.node == "Index Scan" || x.node == "Index Only Scan") &&
                        x.index == "orders_pkey" && !x.under_hash)
                << "orders read otherwise than by primary key:\n"
                << Describe(scans);
        }
        if (index == "reservations_symbol_open" && x.index.starts_with("reservations")) {
            EXPECT_EQ(x.index, index) << Describe(scans);
        }
        index_read = index_read || x.index == index;
    }
    EXPECT_TRUE(orders_read) << Describe(scans);
    EXPECT_TRUE(index_read) << Describe(scans);
}

TEST_F(SweeperPlans, ReleasableReservationsAreFoundByOrderLookupsWithoutReadingOrdersWhole) {
    EXPECT_EQ(Count(sweeper::kSelectReleasable, "text", "'AAPL'"), 28);
    EXPECT_EQ(Count(sweeper::kSelectReleasable, "text", "'MSFT'"), 0);
    ExpectProbes(ScansOf(Plan(sweeper::kSelectReleasable, "text", "'AAPL'")),
                 "reservations_symbol_open");
}

TEST_F(SweeperPlans, OrphanedReservationsAreFoundByOrderLookupsWithoutReadingOrdersWhole) {
    EXPECT_EQ(Count(sweeper::kSelectOrphaned, "text, bigint", "'AAPL', 30"), 50);
    EXPECT_EQ(Count(sweeper::kSelectOrphaned, "text, bigint", "'AAPL', 7200"),
              0);  // not old enough
    EXPECT_EQ(Count(sweeper::kSelectOrphaned, "text, bigint", "'MSFT', 30"), 0);
    ExpectProbes(ScansOf(Plan(sweeper::kSelectOrphaned, "text, bigint", "'AAPL', 30")),
                 "reservations_symbol_open");
}

TEST_F(SweeperPlans, StillOrphanedIdsAreCheckedByOrderLookups) {
    const std::string ids =
        "'{"
        "00000000-0000-4000-8000-000000000001,"
        "00000000-0000-4000-8000-000000000002}'";
    // Two orphans and an open order's reservation: the orphans only.
    auto listed = db_->QueryValue(
        "SELECT string_agg(id::text, ',') FROM (SELECT md5('x' || g)::uuid AS id "
        "FROM generate_series(1, 2) g UNION ALL SELECT md5('o' || 30)::uuid) ids");
    ASSERT_TRUE(listed.ok() && !listed->empty());
    const std::string orphans = *listed;
    EXPECT_EQ(Count(sweeper::kStillOrphaned, "text", "'{" + orphans + "}'"), 2);
    EXPECT_EQ(Count(sweeper::kStillOrphaned, "text", ids), 0);
    ExpectProbes(ScansOf(Plan(sweeper::kStillOrphaned, "text", "'{" + orphans + "}'")),
                 "reservations_pkey");
}

}  // namespace
}  // namespace flowex::orders
