// `flowex audit` against the real PostgreSQL: a consistent little history written exactly as
// wallet-service and order-manager write it passes; each corruption fails, naming its breach.
// The actual binary runs (FLOWEX_CLI_BIN), on a fresh database per test.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "flowex/common/json.hpp"
#include "flowex/testing/test_env.hpp"

#ifndef FLOWEX_CLI_BIN
#error "FLOWEX_CLI_BIN must name the flowex binary"
#endif

namespace flowex::cli {
namespace {

// Order and trade ids of the history (UUIDs as the services store them): bob's FILLED
// SELL 4 AAPL, alice's partially filled BUY 10 AAPL, carol's OPEN SELL 5 MSFT, carol's
// CANCELLED BUY 2 MSFT, and the one trade (4 AAPL @ 150.00).
constexpr const char* kSellB = "00000000-0000-4000-8000-00000000000b";
constexpr const char* kBuyA = "00000000-0000-4000-8000-00000000000a";
constexpr const char* kSellC = "00000000-0000-4000-8000-00000000000c";
constexpr const char* kBuyD = "00000000-0000-4000-8000-00000000000d";
constexpr const char* kTrade = "00000000-0000-4000-8000-0000000000f1";

// Users 1 alice, 2 bob, 3 carol. Every row is what the services write:
//   deposits/withdrawal (wallet /update-balance), grants (/admin/grant-shares),
//   bob SELL 4 AAPL @ 150.00 rests; alice BUY 10 AAPL @ 151.00 blocks 151 000 and takes it:
//   one trade 4 @ 150.00 (the resting price) — alice pays 60 000 and 60 400 is unblocked
//   (the better price frees 400); bob's filled SELL reservation is released by the sweeper;
//   carol SELL 5 MSFT rests; carol BUY 2 MSFT @ 400.00 is cancelled and released; an order
//   rejected by risk has no reservation.
constexpr const char* kHistory = R"sql(
INSERT INTO users (user_id, username, password_hash) VALUES
  (1, 'alice', 'x'), (2, 'bob', 'x'), (3, 'carol', 'x');
INSERT INTO wallets (user_id, balance_cents, blocked_cents) VALUES
  (1, 940000, 90600), (2, 560000, 0), (3, 150000, 0);
INSERT INTO holdings (user_id, symbol, quantity, blocked_quantity, cost_basis_cents) VALUES
  (1, 'AAPL', 4, 0, 60000), (2, 'AAPL', 96, 0, 0), (3, 'MSFT', 10, 5, 0);
INSERT INTO reservations (order_id, user_id, side, symbol, price_cents, remaining_cents,
                          remaining_quantity, released) VALUES
  ('00000000-0000-4000-8000-00000000000b', 2, 'SELL', 'AAPL', NULL, 0, 0, true),
  ('00000000-0000-4000-8000-00000000000a', 1, 'BUY', 'AAPL', 15100, 90600, 6, false),
  ('00000000-0000-4000-8000-00000000000c', 3, 'SELL', 'MSFT', NULL, 0, 5, false),
  ('00000000-0000-4000-8000-00000000000d', 3, 'BUY', 'MSFT', 40000, 0, 0, true);
INSERT INTO orders (order_id, user_id, symbol, side, type, time_in_force, price_cents, quantity,
                    filled_quantity, filled_notional_cents, status, reject_reason) VALUES
  ('00000000-0000-4000-8000-00000000000b', 2, 'AAPL', 'SELL', 'LIMIT', 'GTC', 15000, 4, 4, 60000,
   'FILLED', NULL),
  ('00000000-0000-4000-8000-00000000000a', 1, 'AAPL', 'BUY', 'LIMIT', 'GTC', 15100, 10, 4, 60000,
   'PARTIALLY_FILLED', NULL),
  ('00000000-0000-4000-8000-00000000000c', 3, 'MSFT', 'SELL', 'LIMIT', 'GTC', 42000, 5, 0, 0,
   'OPEN', NULL),
  ('00000000-0000-4000-8000-00000000000d', 3, 'MSFT', 'BUY', 'LIMIT', 'GTC', 40000, 2, 0, 0,
   'CANCELLED', NULL),
  ('00000000-0000-4000-8000-00000000000e', 1, 'AAPL', 'BUY', 'LIMIT', 'GTC', 100, 100000, 0, 0,
   'REJECTED', 'risk_rejected:order rejected by risk checks: price_band');
INSERT INTO trades (trade_id, symbol, price_cents, quantity, buy_order_id, sell_order_id,
                    buyer_id, seller_id, aggressor_side, settled_at) VALUES
  ('00000000-0000-4000-8000-0000000000f1', 'AAPL', 15000, 4,
   '00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-00000000000b', 1, 2, 'BUY',
   now());
INSERT INTO transactions (user_id, kind, ref, symbol, cash_delta_cents, blocked_delta_cents,
                          quantity_delta, blocked_quantity_delta) VALUES
  (1, 'deposit', 'dep-a', NULL, 1000000, 0, 0, 0),
  (2, 'deposit', 'dep-b', NULL, 500000, 0, 0, 0),
  (3, 'deposit', 'dep-c', NULL, 200000, 0, 0, 0),
  (3, 'withdrawal', 'wd-c', NULL, -50000, 0, 0, 0),
  (2, 'grant', 'grant-b', 'AAPL', 0, 0, 100, 0),
  (3, 'grant', 'grant-c', 'MSFT', 0, 0, 10, 0),
  (2, 'block', '00000000-0000-4000-8000-00000000000b', 'AAPL', 0, 0, 0, 4),
  (1, 'block', '00000000-0000-4000-8000-00000000000a', 'AAPL', 0, 151000, 0, 0),
  (2, 'trade_sell', '00000000-0000-4000-8000-0000000000f1', 'AAPL', 60000, 0, -4, -4),
  (1, 'trade_buy', '00000000-0000-4000-8000-0000000000f1', 'AAPL', -60000, -60400, 4, 0),
  (2, 'release', '00000000-0000-4000-8000-00000000000b', 'AAPL', 0, 0, 0, 0),
  (3, 'block', '00000000-0000-4000-8000-00000000000c', 'MSFT', 0, 0, 0, 5),
  (3, 'block', '00000000-0000-4000-8000-00000000000d', 'MSFT', 0, 80000, 0, 0),
  (3, 'release', '00000000-0000-4000-8000-00000000000d', 'MSFT', 0, -80000, 0, 0);
)sql";

struct CliRun {
    int exit_code = -1;
    std::string output;  // stdout and stderr
};

/// Runs the flowex binary with `args`, reads its output to EOF, then reaps it.
CliRun RunFlowex(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe(fds) != 0) { return {}; }
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(fds[1], STDOUT_FILENO);
        ::dup2(fds[1], STDERR_FILENO);
        ::close(fds[0]);
        ::close(fds[1]);
        std::vector<char*> argv;
        std::string bin = FLOWEX_CLI_BIN;
        argv.push_back(bin.data());
        std::vector<std::string> copy = args;
        for (auto& a : copy) { argv.push_back(a.data()); }
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fds[1]);
    CliRun run;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) { run.output.append(buf, n); }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return run;
}

std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class Audit : public ::testing::Test {
protected:
    void SetUp() override {
        db_ =
            std::make_unique<testing::TestDatabase>(testing::TestDatabase::CreateOrThrow("audit"));
        // The schema the services run on: every migration, in order.
        std::vector<std::string> migrations;
        for (const auto& e : std::filesystem::directory_iterator(std::string(FLOWEX_SOURCE_DIR) +
                                                                 "/db/migrations")) {
            if (e.path().extension() == ".sql") { migrations.push_back(e.path().string()); }
        }
        std::sort(migrations.begin(), migrations.end());
        for (const auto& m : migrations) { Exec(ReadFile(m)); }
        Exec(kHistory);
    }
    void Exec(const std::string& sql) {
        if (sql.empty()) { return; }
        auto st = db_->Exec(sql);
        ASSERT_TRUE(st.ok()) << st.error().message << "\n" << sql;
    }
    CliRun RunAudit(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{"audit", "--database-url", db_->url()};
        args.insert(args.end(), extra.begin(), extra.end());
        return RunFlowex(args);
    }
    /// Corrupts with `sql`, runs the audit and expects exit 1 with a breach line of `check`
    /// that contains every one of `parts`.
    void ExpectBreach(const std::string& sql, const std::string& check,
                      const std::vector<std::string>& parts) {
        Exec(sql);
        CliRun r = RunAudit();
        EXPECT_EQ(r.exit_code, 1) << r.output;
        EXPECT_NE(r.output.find("FAIL  " + check), std::string::npos) << r.output;
        std::istringstream lines(r.output);
        bool found = false;
        for (std::string line; std::getline(lines, line);) {
            if (line.rfind("  breach " + check + ": ", 0) != 0) { continue; }
            bool all = true;
            for (const auto& p : parts) { all = all && line.find(p) != std::string::npos; }
            found = found || all;
        }
        EXPECT_TRUE(found) << "no '" << check << "' breach line with every expected part in:\n"
                           << r.output;
    }

    std::unique_ptr<testing::TestDatabase> db_;
};

TEST_F(Audit, ConsistentHistoryPasses) {
    CliRun r = RunAudit();
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("audit passed"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
}

TEST_F(Audit, ConsistentHistoryPassesAsJson) {
    CliRun r = RunAudit({"--json"});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    auto doc = common::ParseJson(r.output);
    ASSERT_TRUE(doc.ok() && doc->is_object()) << r.output;
    ASSERT_NE(doc->Find("ok"), nullptr);
    EXPECT_TRUE(doc->Find("ok")->as_bool());
    ASSERT_NE(doc->Find("checks"), nullptr);
    EXPECT_GE(doc->Find("checks")->as_array().size(), 15u);
}

TEST_F(Audit, ExtraCentInOneWalletBreaksCashConservationAndItsLedger) {
    ExpectBreach("UPDATE wallets SET balance_cents = balance_cents + 1 WHERE user_id = 2",
                 "cash_conservation", {"all wallets", "expected 1650000, actual 1650001"});
    ExpectBreach("", "wallet_ledger",
                 {"user 2", "balance_cents", "expected 560000, actual 560001"});
}

TEST_F(Audit, TradeWithOnlyTheSellSideInTheLedgerIsNamed) {
    ExpectBreach("DELETE FROM transactions WHERE kind = 'trade_buy'", "trade_ledger",
                 {std::string("trade ") + kTrade, "trade_buy ledger rows", "expected 1, actual 0"});
}

TEST_F(Audit, TradeSettledTwiceIsNamed) {
    ExpectBreach(
        std::string("INSERT INTO transactions (user_id, kind, ref, symbol, cash_delta_cents, "
                    "quantity_delta) VALUES (3, 'trade_buy', '") +
            kTrade + "', 'AAPL', -60000, 4)",
        "trade_ledger", {kTrade, "trade_buy ledger rows", "expected 1, actual 2"});
}

TEST_F(Audit, TradeNotMarkedSettledIsNamed) {
    ExpectBreach("UPDATE trades SET settled_at = NULL", "trade_settled",
                 {kTrade, "settled_at", "expected set", "2 of 2 ledger rows"});
}

TEST_F(Audit, BetterPriceFillThatReleasesTooLittleIsNamed) {
    // The buyer's row unblocks only the cost (60 000), not the blocked price × quantity (60 400),
    // and the wallet agrees with that ledger: only the per-trade and reservation checks see it.
    ExpectBreach(
        "UPDATE transactions SET blocked_delta_cents = -60000 WHERE kind = 'trade_buy';"
        "UPDATE wallets SET blocked_cents = 91000 WHERE user_id = 1",
        "trade_ledger",
        {kTrade, "trade_buy blocked_delta_cents", "expected -60400, actual -60000"});
    ExpectBreach("", "blocked_cash", {"user 1", "expected 90600, actual 91000"});
    ExpectBreach("", "reservation_ledger",
                 {kBuyA, "remaining_cents", "expected 91000, actual 90600"});
}

TEST_F(Audit, BlockedCashNotMatchingReservationsIsNamed) {
    ExpectBreach(std::string("UPDATE reservations SET remaining_cents = remaining_cents - 100 "
                             "WHERE order_id = '") +
                     kBuyA + "'",
                 "blocked_cash", {"user 1", "expected 90500, actual 90600"});
}

TEST_F(Audit, BlockedSharesNotMatchingReservationsIsNamed) {
    ExpectBreach("UPDATE holdings SET blocked_quantity = 4 WHERE user_id = 3 AND symbol = 'MSFT'",
                 "blocked_shares", {"user 3 MSFT", "expected 5, actual 4"});
}

TEST_F(Audit, SharesFromNowhereBreakShareConservation) {
    ExpectBreach(
        "UPDATE holdings SET quantity = quantity + 5 WHERE user_id = 2 AND symbol = 'AAPL'",
        "share_conservation", {"symbol AAPL", "expected 100, actual 105"});
    ExpectBreach("", "holding_ledger", {"user 2 AAPL", "quantity", "expected 96, actual 101"});
}

TEST_F(Audit, NegativeBalanceIsNamed) {
    // The schema's CHECKs forbid it; the audit must not rely on them.
    ExpectBreach(
        "ALTER TABLE wallets DROP CONSTRAINT wallets_check;"
        "UPDATE wallets SET balance_cents = -10 WHERE user_id = 3",
        "non_negative", {"user 3", "wallet balance_cents", "expected ≥ 0, actual -10"});
}

TEST_F(Audit, FilledOrderWithoutTradesIsNamed) {
    const std::string order = "00000000-0000-4000-8000-0000000000aa";
    ExpectBreach(
        "INSERT INTO orders (order_id, user_id, symbol, side, type, time_in_force, "
        "price_cents, quantity, filled_quantity, filled_notional_cents, status) VALUES ('" +
            order + "', 2, 'AAPL', 'SELL', 'LIMIT', 'GTC', 15000, 3, 3, 45000, 'FILLED')",
        "order_fills", {"order " + order, "filled_quantity", "expected 0, actual 3"});
    ExpectBreach(
        "", "order_reservation",
        {"order " + order, "reservation of a finished order", "expected released, actual none"});
}

TEST_F(Audit, StatusInconsistentWithFillsIsNamed) {
    ExpectBreach(
        std::string("UPDATE orders SET status = 'FILLED' WHERE order_id = '") + kBuyA + "'",
        "order_status", {kBuyA, "expected PARTIALLY_FILLED or CANCELLED, actual FILLED"});
}

TEST_F(Audit, FullyFilledOrderMarkedCancelledIsNamed) {
    ExpectBreach(
        std::string("UPDATE orders SET status = 'CANCELLED' WHERE order_id = '") + kSellB + "'",
        "order_status", {kSellB, "expected FILLED, actual CANCELLED"});
}

TEST_F(Audit, OpenOrderWithoutReservationIsNamed) {
    ExpectBreach(std::string("DELETE FROM reservations WHERE order_id = '") + kSellC + "'",
                 "order_reservation",
                 {kSellC, "reservation of an open order", "expected unreleased, actual none"});
}

TEST_F(Audit, CancelledOrderStillHoldingCashIsNamed) {
    // The release never happened: the reservation, the wallet and the ledger all still hold it.
    ExpectBreach(std::string("UPDATE reservations SET released = false, remaining_cents = 80000, "
                             "remaining_quantity = 2 WHERE order_id = '") +
                     kBuyD + "';" +
                     "DELETE FROM transactions WHERE kind = 'release' AND user_id = 3;"
                     "UPDATE wallets SET blocked_cents = 80000 WHERE user_id = 3",
                 "order_reservation", {kBuyD, "unreleased, holding 80000 cents"});
}

TEST_F(Audit, ReservationUsedUpByItsTradesNeedsNoReleaseRow) {
    // wallet-service's settlement of a filled order's last trade releases its reservation and
    // writes no ledger row of zeros: bob's filled SELL without its release row is consistent.
    Exec(std::string("DELETE FROM transactions WHERE kind = 'release' AND ref = '") + kSellB + "'");
    CliRun r = RunAudit();
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(r.output.find("FAIL"), std::string::npos) << r.output;
}

TEST_F(Audit, ReleaseOfAnUnfilledOrderWithoutItsLedgerRowIsNamed) {
    ExpectBreach(
        std::string("DELETE FROM transactions WHERE kind = 'release' AND ref = '") + kBuyD + "'",
        "reservation_ledger",
        {kBuyD, "released before it was used up", "expected one, actual none"});
}

TEST_F(Audit, TradeAgainstAnotherUsersOrderIsNamed) {
    ExpectBreach("UPDATE trades SET buyer_id = 3", "trade_orders",
                 {kTrade, "user of buy order", "expected 3, actual 1"});
}

TEST_F(Audit, OrphanReservationIsNamedAfterTheGrace) {
    const std::string orphan = "00000000-0000-4000-8000-0000000000bb";
    Exec(
        "INSERT INTO reservations (order_id, user_id, side, symbol, price_cents, remaining_cents, "
        "remaining_quantity, created_at) VALUES ('" +
        orphan +
        "', 2, 'BUY', 'AAPL', 100, 500, 5, now() - interval '1 minute');"
        "INSERT INTO transactions (user_id, kind, ref, symbol, blocked_delta_cents) VALUES "
        "(2, 'block', '" +
        orphan +
        "', 'AAPL', 500);"
        "UPDATE wallets SET blocked_cents = 500 WHERE user_id = 2");
    CliRun within = RunAudit({"--orphan-grace", "120"});
    EXPECT_EQ(within.exit_code, 0) << within.output;
    ExpectBreach("", "order_reservation", {"reservation " + orphan, "none; holding 500 cents"});
}

TEST_F(Audit, RowsOfAnUnknownUserOrSymbolAreNamed) {
    ExpectBreach(
        "INSERT INTO transactions (user_id, kind, ref, cash_delta_cents) "
        "VALUES (77, 'deposit', 'ghost', 5)",
        "references",
        {"ledger row", "deposit ghost", "user_id", "expected an existing user, actual 77"});
    ExpectBreach(
        std::string("UPDATE reservations SET symbol = 'ZZZZ' WHERE order_id = '") + kBuyD + "'",
        "references",
        {"reservation " + std::string(kBuyD), "symbol", "expected a listed symbol, actual ZZZZ"});
    ExpectBreach(
        std::string("UPDATE orders SET user_id = 78 WHERE order_id = '") + kBuyD + "'",
        "references",
        {"order " + std::string(kBuyD), "user_id", "expected an existing user, actual 78"});
}

TEST_F(Audit, MalformedLedgerRowIsNamed) {
    ExpectBreach(
        "INSERT INTO transactions (user_id, kind, ref, cash_delta_cents) "
        "VALUES (1, 'deposit', 'bad', -5)",
        "ledger_rows", {"deposit bad", "cash_delta_cents", "expected > 0, actual -5"});
}

TEST_F(Audit, BreachListIsCappedWithACount) {
    Exec("UPDATE wallets SET balance_cents = balance_cents + 1");
    CliRun r = RunAudit({"--max-lines", "1"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    EXPECT_NE(r.output.find("FAIL  wallet_ledger"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("ledger rows: 3 breaches"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("breach wallet_ledger: … and 2 more"), std::string::npos) << r.output;
}

TEST_F(Audit, BreachesAsJsonNameCheckSubjectExpectedAndActual) {
    Exec("UPDATE wallets SET balance_cents = balance_cents + 1 WHERE user_id = 2");
    CliRun r = RunAudit({"--json"});
    EXPECT_EQ(r.exit_code, 1) << r.output;
    auto doc = common::ParseJson(r.output);
    ASSERT_TRUE(doc.ok() && doc->is_object()) << r.output;
    EXPECT_FALSE(doc->Find("ok")->as_bool());
    bool found = false;
    for (const auto& c : doc->Find("checks")->as_array()) {
        if (c.Find("name")->as_string() != "wallet_ledger") { continue; }
        EXPECT_EQ(c.Find("breach_count")->ToInt64().value_or(0), 1);
        const auto& b = c.Find("breaches")->as_array().at(0);
        EXPECT_EQ(b.Find("subject")->as_string(), "user 2");
        EXPECT_EQ(b.Find("expected")->as_string(), "560000");
        EXPECT_EQ(b.Find("actual")->as_string(), "560001");
        found = true;
    }
    EXPECT_TRUE(found) << r.output;
}

// The schema the audit runs on is the services' (every migration): db/migrations/0008 gives
// every column of the four tables that grow with each order a statistics target of 10, so
// that autovacuum's frequent ANALYZEs sample 3,000 rows instead of 30,000. A column added to
// one of them without it would quietly bring the full sample back.
using Schema = Audit;
TEST_F(Schema, EveryColumnOfTheGrowingTablesIsAnalyzedFromASmallSample) {
    const std::string columns =
        "FROM pg_attribute WHERE attrelid IN ('orders'::regclass, 'trades'::regclass, "
        "'transactions'::regclass, 'reservations'::regclass) AND attnum > 0 AND NOT attisdropped";
    auto all = db_->QueryValue("SELECT count(*) " + columns);
    ASSERT_TRUE(all.ok()) << all.error().message;
    EXPECT_GT(std::stoi(*all), 40);
    auto other = db_->QueryValue(
        "SELECT coalesce(string_agg(attrelid::regclass || '.' || attname || ' ' || "
        "coalesce(attstattarget, -1), ', '), '') " +
        columns + " AND coalesce(attstattarget, -1) <> 10");
    ASSERT_TRUE(other.ok()) << other.error().message;
    EXPECT_EQ(*other, "") << "columns without statistics target 10";
}

TEST_F(Schema, GrowingTablesAreAnalyzedAgainOnlyOnceTheyGrewTenfold) {
    // db/migrations/0012: each ANALYZE of these tables made every connection plan its
    // statements on them again in the same moment; at autovacuum's default they were analyzed
    // every few seconds under load, now about each tenfold growth. A table added to them, or a
    // migration that resets the settings, shows here.
    auto settings = db_->QueryValue(
        "SELECT string_agg(relname || ' ' || array_to_string(reloptions, ','), '; ' ORDER BY "
        "relname) FROM pg_class WHERE relname IN ('orders', 'trades', 'transactions', "
        "'reservations') AND relkind = 'r'");
    ASSERT_TRUE(settings.ok()) << settings.error().message;
    const std::string t = "autovacuum_analyze_threshold=1000,autovacuum_analyze_scale_factor=";
    EXPECT_EQ(*settings, "orders " + t + "1.6; reservations " + t + "2.1; trades " + t +
                             "1.8; transactions " + t + "0.9");
}

TEST_F(Schema, OnlyOrdersWithAClientOrderIdAreIndexedByItAndItStaysUnique) {
    // db/migrations/0013: an order without a client_order_id writes no entry in the index that
    // keeps them unique (a partial index); one with it is still refused a second time for the
    // same user, by that index.
    auto indexes = db_->QueryValue(
        "SELECT string_agg(pg_get_indexdef(indexrelid), '; ') FROM pg_index "
        "WHERE indrelid = 'orders'::regclass AND pg_get_indexdef(indexrelid) LIKE "
        "'%client_order_id%'");
    ASSERT_TRUE(indexes.ok()) << indexes.error().message;
    EXPECT_EQ(*indexes,
              "CREATE UNIQUE INDEX orders_user_client_order_id ON public.orders USING btree "
              "(user_id, client_order_id) WHERE (client_order_id IS NOT NULL)");
    const std::string insert =
        "INSERT INTO orders (order_id, seq, user_id, client_order_id, symbol, side, type, "
        "time_in_force, price_cents, quantity, status) VALUES ('00000000-0000-4000-8000-0000000000";
    const std::string rest = ", 'AAPL', 'BUY', 'LIMIT', 'GTC', 100, 1, 'CANCELLED')";
    Exec(insert + "c1', 9001, 1, NULL" + rest);
    Exec(insert + "c2', 9002, 1, NULL" + rest);
    Exec(insert + "c3', 9003, 1, 'mine'" + rest);
    Exec(insert + "c4', 9004, 2, 'mine'" + rest);
    auto again = db_->Exec(insert + "c5', 9005, 1, 'mine'" + rest);
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.error().message.find("orders_user_client_order_id"), std::string::npos)
        << again.error().message;
}

TEST_F(Schema, TablesWrittenByOrdersCarryNoOneColumnCheck) {
    // PostgreSQL reads and plans a table's CHECKs again at every INSERT or UPDATE of it; a
    // one-column check is a domain (db/migrations/0009), read once a connection. Only the
    // checks that compare two columns stay on these tables.
    auto checks = db_->QueryValue(
        "SELECT string_agg(conname, ' ' ORDER BY conname) FROM pg_constraint WHERE contype = 'c' "
        "AND conrelid IN ('instruments'::regclass, 'wallets'::regclass, 'holdings'::regclass, "
        "'transactions'::regclass, 'reservations'::regclass, 'orders'::regclass, "
        "'trades'::regclass)");
    ASSERT_TRUE(checks.ok()) << checks.error().message;
    EXPECT_EQ(*checks, "holdings_check orders_check wallets_check");
}

TEST_F(Schema, EveryColumnCheckOfTheFirstSchemaStillRefusesItsValues) {
    // One statement for each CHECK of db/migrations/0001 (inserts and updates alike): each
    // must still be refused as a check violation, whether a domain or a table refuses it.
    const std::string order = "'00000000-0000-4000-8000-0000000000e1'";
    const std::string insert_order =
        "INSERT INTO orders (order_id, user_id, symbol, side, type, time_in_force, price_cents, "
        "quantity, status) VALUES (" +
        order + ", 1, 'AAPL', ";
    const std::string insert_reservation =
        "INSERT INTO reservations (order_id, user_id, side, symbol, remaining_cents, "
        "remaining_quantity) VALUES (" +
        order + ", 1, ";
    const std::vector<std::string> refused = {
        "UPDATE instruments SET tick_size_cents = 0 WHERE symbol = 'AAPL'",
        "UPDATE instruments SET reference_price_cents = -1 WHERE symbol = 'AAPL'",
        "UPDATE instruments SET last_price_cents = 0 WHERE symbol = 'AAPL'",
        "UPDATE instruments SET price_band_bps = 0 WHERE symbol = 'AAPL'",
        "UPDATE wallets SET balance_cents = -1 WHERE user_id = 2",
        "UPDATE wallets SET blocked_cents = balance_cents + 1 WHERE user_id = 2",
        "UPDATE wallets SET blocked_cents = -1 WHERE user_id = 2",
        "UPDATE holdings SET quantity = -1 WHERE user_id = 2",
        "UPDATE holdings SET blocked_quantity = quantity + 1 WHERE user_id = 2",
        "INSERT INTO transactions (user_id, kind, ref) VALUES (1, 'gift', 'g-1')",
        "UPDATE transactions SET kind = 'gift' WHERE ref = 'dep-a'",
        insert_reservation + "'HOLD', 'AAPL', 0, 0)",
        insert_reservation + "'BUY', 'AAPL', -1, 0)",
        insert_reservation + "'SELL', 'AAPL', 0, -1)",
        "UPDATE reservations SET remaining_cents = remaining_cents - 90601 WHERE order_id = '" +
            std::string(kBuyA) + "'",
        insert_order + "'HOLD', 'LIMIT', 'GTC', 100, 1, 'OPEN')",
        insert_order + "'BUY', 'STOP', 'GTC', 100, 1, 'OPEN')",
        insert_order + "'BUY', 'LIMIT', 'FOK', 100, 1, 'OPEN')",
        insert_order + "'BUY', 'LIMIT', 'GTC', 0, 1, 'OPEN')",
        insert_order + "'BUY', 'LIMIT', 'GTC', 100, 0, 'OPEN')",
        insert_order + "'BUY', 'LIMIT', 'GTC', 100, 1, 'DONE')",
        "UPDATE orders SET status = 'DONE' WHERE order_id = '" + std::string(kSellC) + "'",
        "UPDATE orders SET filled_quantity = quantity + 1 WHERE order_id = '" +
            std::string(kSellC) + "'",
        "UPDATE orders SET filled_quantity = -1 WHERE order_id = '" + std::string(kSellC) + "'",
        "UPDATE trades SET price_cents = 0",
        "UPDATE trades SET quantity = 0",
        "UPDATE trades SET aggressor_side = 'HOLD'",
    };
    for (const std::string& sql : refused) {
        common::Status st = db_->Exec(sql);
        ASSERT_FALSE(st.ok()) << "accepted: " << sql;
        EXPECT_NE(st.error().message.find("violates check constraint"), std::string::npos)
            << sql << ": " << st.error().message;
    }
    // And the values the services write pass: an order as order-manager writes it, its
    // reservation, a fill with its status, a last price, a ledger row of each kind.
    Exec(insert_reservation + "'BUY', 'AAPL', 100, 0)");
    Exec(insert_order + "'BUY', 'MARKET', 'IOC', NULL, 1, 'NEW')");
    Exec(
        "UPDATE orders SET filled_quantity = 1, status = CASE WHEN 1 = quantity THEN 'FILLED' "
        "ELSE 'PARTIALLY_FILLED' END WHERE order_id = " +
        order);
    Exec("UPDATE instruments SET last_price_cents = 15001 WHERE symbol = 'AAPL'");
    Exec(
        "INSERT INTO transactions (user_id, kind, ref) SELECT 1, k, 'k-' || k FROM unnest("
        "ARRAY['deposit', 'withdrawal', 'block', 'release', 'trade_buy', 'trade_sell', "
        "'grant']) AS k");
    auto status = db_->QueryValue("SELECT status FROM orders WHERE order_id = " + order);
    ASSERT_TRUE(status.ok()) << status.error().message;
    EXPECT_EQ(*status, "FILLED");
}

TEST(AuditUsage, UnreachableDatabaseExitsTwoWithoutThePassword) {
    CliRun r = RunFlowex(
        {"audit", "--database-url", "postgresql://postgres:s3cr3t-pw@127.0.0.1:1/stockexchange"});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("cannot connect"), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("s3cr3t-pw"), std::string::npos) << r.output;
}

TEST(AuditUsage, UnknownFlagExitsTwoAndHelpExitsZero) {
    EXPECT_EQ(RunFlowex({"audit", "--no-such-flag"}).exit_code, 2);
    CliRun help = RunFlowex({"audit", "--help"});
    EXPECT_EQ(help.exit_code, 0) << help.output;
    EXPECT_NE(help.output.find("--database-url"), std::string::npos) << help.output;
    EXPECT_NE(help.output.find("--json"), std::string::npos) << help.output;
}

}  // namespace
}  // namespace flowex::cli
