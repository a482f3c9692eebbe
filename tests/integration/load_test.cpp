// `flowex load` against the real exchange (issue #9): a short low-rate run on a fresh stack.
// Every scheduled arrival is sent and completed, the counts add up, nothing fails, the
// histogram file is written, and `flowex audit` passes on the database afterwards.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "exchange_stack.hpp"
#include "flowex/common/json.hpp"
#include "flowex/testing/child_process.hpp"

#ifndef FLOWEX_BIN_DIR
#error "FLOWEX_BIN_DIR must name the directory of the binaries"
#endif

namespace flowex::itest {
namespace {

std::int64_t IntField(const common::JsonValue& doc, std::string_view key) {
    const auto* v = doc.Find(key);
    return v != nullptr ? v->ToInt64().value_or(-1) : -1;
}

TEST(FlowexLoad, ShortRunAgainstTheStackCompletesEveryArrivalWithoutErrorsAndAuditPasses) {
    auto s = ExchangeStack::Start("load_short_run");
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto stack = std::move(s).value();
    const std::string histogram =
        ::testing::TempDir() + "/flowex_load_hist_" + std::to_string(::getpid()) + ".txt";

    const std::string start_file =
        ::testing::TempDir() + "/flowex_load_start_" + std::to_string(::getpid());
    std::remove(start_file.c_str());

    // 2 s at 40/s: 80 arrivals over 5 users, every kind of request, held back until the start
    // file exists (--start-file).
    auto load = testing::ChildProcess::Start(
        {.argv = {std::string(FLOWEX_BIN_DIR) + "/flowex", "load", "--gateway-url",
                  stack->gateway(), "--wallet-url", stack->url("wallet-service"), "--rate", "40",
                  "--duration", "2s", "--users", "5", "--connections", "4", "--mix",
                  "limit=50,market=10,cancel=20,positions=10,balance=10", "--histogram",
                  histogram, "--start-file", start_file, "--json", "--quiet"},
         .env = {{"FLOWEX_INTERNAL_TOKEN", stack->internal_token()}}});
    ASSERT_TRUE(load.ok()) << load.error().message;
    // Users prepared, it waits for the file, and no order has been sent.
    auto waiting = (*load)->WaitForLine(
        [&](const std::string& line) { return line.find("waiting for " + start_file) != std::string::npos; },
        std::chrono::seconds(60));
    ASSERT_TRUE(waiting.ok()) << (*load)->Output();
    auto orders = stack->db().QueryValue("SELECT count(*) FROM orders");
    ASSERT_TRUE(orders.ok()) << orders.error().message;
    EXPECT_EQ(*orders, "0");
    { std::ofstream(start_file).put('\n'); }

    auto status = (*load)->Wait(std::chrono::seconds(120));
    std::remove(start_file.c_str());
    ASSERT_TRUE(status.ok()) << "flowex load did not finish";
    ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        << (*load)->Output() << "\n" << stack->Output();

    // The report is the output's last line (stderr's lines come before it).
    std::string output = (*load)->Output();
    auto report_at = output.rfind("\n{");
    auto doc = common::ParseJson(output.substr(report_at == std::string::npos ? 0 : report_at + 1));
    ASSERT_TRUE(doc.ok()) << output;
    EXPECT_EQ(IntField(*doc, "scheduled"), 80);
    EXPECT_EQ(IntField(*doc, "sent"), 80);
    EXPECT_EQ(IntField(*doc, "completed"), 80);
    EXPECT_EQ(IntField(*doc, "errors"), 0) << (*load)->Output();
    EXPECT_EQ(IntField(*doc, "ok") + IntField(*doc, "cancel_too_late") + IntField(*doc, "errors"),
              80);
    EXPECT_GT(doc->Find("ok_rate")->ToDouble().value_or(0), 0.0);
    const auto* routes = doc->Find("routes");
    ASSERT_NE(routes, nullptr);
    std::int64_t per_route = 0;
    // An arrival spent listing the user's open orders (after a cancel came too late) is
    // route "resync".
    for (const char* route : {"limit", "market", "cancel", "positions", "balance", "resync"}) {
        const auto* r = routes->Find(route);
        ASSERT_NE(r, nullptr) << route;
        EXPECT_EQ(IntField(*r, "errors"), 0) << route;
        per_route += IntField(*r, "count");
    }
    EXPECT_EQ(per_route, 80);
    const auto* all = routes->Find("all");
    ASSERT_NE(all, nullptr);
    EXPECT_EQ(IntField(*all, "count"), 80);
    const double p50 = all->Find("p50_ms")->ToDouble().value_or(-1);
    const double p99 = all->Find("p99_ms")->ToDouble().value_or(-1);
    const double max = all->Find("max_ms")->ToDouble().value_or(-1);
    EXPECT_GT(p50, 0.0);
    EXPECT_LE(p50, p99);
    EXPECT_LE(p99, max);
    auto orders_after_run = stack->db().QueryValue("SELECT count(*) FROM orders");
    ASSERT_TRUE(orders_after_run.ok()) << orders_after_run.error().message;

    std::ifstream in(histogram);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_NE(text.str().find("Value     Percentile TotalCount"), std::string::npos) << text.str();
    EXPECT_NE(text.str().find("Total count    =           80]"), std::string::npos) << text.str();
    std::remove(histogram.c_str());

    // A symbol the exchange does not list is named, and nothing is sent (exit code 2).
    auto unknown = testing::ChildProcess::Start(
        {.argv = {std::string(FLOWEX_BIN_DIR) + "/flowex", "load", "--gateway-url",
                  stack->gateway(), "--wallet-url", stack->url("wallet-service"), "--duration",
                  "1s", "--users", "1", "--symbols", "AAPL, NOPE", "--quiet"},
         .env = {{"FLOWEX_INTERNAL_TOKEN", stack->internal_token()}}});
    ASSERT_TRUE(unknown.ok()) << unknown.error().message;
    auto refused = (*unknown)->Wait(std::chrono::seconds(60));
    ASSERT_TRUE(refused.ok()) << "flowex load --symbols did not finish";
    EXPECT_TRUE(WIFEXITED(*refused) && WEXITSTATUS(*refused) == 2) << (*unknown)->Output();
    EXPECT_NE((*unknown)->Output().find("--symbols: not listed by the exchange: NOPE (it lists "),
              std::string::npos)
        << (*unknown)->Output();
    auto after = stack->db().QueryValue("SELECT count(*) FROM orders");
    ASSERT_TRUE(after.ok()) << after.error().message;
    EXPECT_EQ(*after, *orders_after_run) << "a refused run sent orders";

    auto audit = testing::ChildProcess::Start(
        {.argv = {std::string(FLOWEX_BIN_DIR) + "/flowex", "audit", "--database-url",
                  stack->db().url()}});
    ASSERT_TRUE(audit.ok()) << audit.error().message;
    auto audited = (*audit)->Wait(std::chrono::seconds(120));
    ASSERT_TRUE(audited.ok()) << "flowex audit did not finish";
    EXPECT_TRUE(WIFEXITED(*audited) && WEXITSTATUS(*audited) == 0)
        << "flowex audit failed:\n" << (*audit)->Output();
}

// Orders the generator never heard of (placed before its clock starts, as after a lost
// answer) and an open-order limit below its own cap: the first refusal makes the user list its
// open orders, the count found becomes every user's cap, and no later order is refused.
TEST(FlowexLoad, AUserAtTheOpenOrderLimitListsItsOrdersAndTheLimitIsLearnt) {
    auto s = ExchangeStack::Start("load_open_order_limit",
                                  StackOptions{.env = {{"FLOWEX_RISK_MAX_OPEN_ORDERS", "3"}}});
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto stack = std::move(s).value();
    const std::string start_file =
        ::testing::TempDir() + "/flowex_load_limit_start_" + std::to_string(::getpid());
    std::remove(start_file.c_str());

    // Resting limit orders only, one at a time (one connection), 2 users, 40 arrivals.
    std::vector<std::string> argv = {std::string(FLOWEX_BIN_DIR) + "/flowex",
                                     "load",
                                     "--gateway-url",
                                     stack->gateway(),
                                     "--wallet-url",
                                     stack->url("wallet-service"),
                                     "--start-file",
                                     start_file};
    std::istringstream flags(
        "--rate 20 --duration 2s --users 2 --connections 1 --mix limit=1 --crossing-percent 0 "
        "--symbols AAPL --json --quiet");
    for (std::string flag; flags >> flag;) { argv.push_back(flag); }
    auto load = testing::ChildProcess::Start(
        {.argv = argv, .env = {{"FLOWEX_INTERNAL_TOKEN", stack->internal_token()}}});
    ASSERT_TRUE(load.ok()) << load.error().message;
    auto waiting = (*load)->WaitForLine(
        [&](const std::string& line) {
            return line.find("waiting for " + start_file) != std::string::npos;
        },
        std::chrono::seconds(60));
    ASSERT_TRUE(waiting.ok()) << (*load)->Output();

    // Two resting orders of the first user, placed behind the generator's back. Its users are
    // load_<run>_<i> with the password load-password-<run>.
    auto name =
        stack->db().QueryValue(R"(SELECT username FROM users WHERE username LIKE 'load\_%\_0')");
    ASSERT_TRUE(name.ok()) << name.error().message;
    const std::string run = name->substr(5, name->size() - 7);
    auto login =
        Http("POST", stack->gateway() + "/auth/login",
             R"({"username":")" + *name + R"(","password":"load-password-)" + run + R"("})");
    ASSERT_TRUE(login.ok() && login->status == 200) << (login.ok() ? login->body : "");
    const common::JsonValue login_doc = login->Json();
    const auto* token = login_doc.Find("access_token");
    ASSERT_NE(token, nullptr) << login->body;
    auto symbols = Http("GET", stack->gateway() + "/v1/symbols");
    ASSERT_TRUE(symbols.ok() && symbols->status == 200);
    std::string band_low;
    const common::JsonValue listed = symbols->Json();
    ASSERT_NE(listed.Find("symbols"), nullptr) << symbols->body;
    for (const auto& item : listed.Find("symbols")->as_array()) {
        if (item.Find("symbol")->as_string() == "AAPL") {
            band_low = std::to_string(item.Find("band_low")->ToDouble().value_or(0));
        }
    }
    ASSERT_FALSE(band_low.empty()) << symbols->body;
    for (int i = 0; i < 2; ++i) {
        auto placed = Http("POST", stack->gateway() + "/v1/order",
                           R"({"symbol":"AAPL","side":"BUY","type":"LIMIT","quantity":1,"price":)" +
                               band_low + "}",
                           {{"Authorization", "Bearer " + token->as_string()}});
        ASSERT_TRUE(placed.ok() && placed->status == 201) << (placed.ok() ? placed->body : "");
    }
    { std::ofstream(start_file).put('\n'); }

    auto status = (*load)->Wait(std::chrono::seconds(120));
    std::remove(start_file.c_str());
    ASSERT_TRUE(status.ok()) << "flowex load did not finish";
    ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << (*load)->Output();
    std::string output = (*load)->Output();
    auto report_at = output.rfind("\n{");
    auto doc = common::ParseJson(output.substr(report_at == std::string::npos ? 0 : report_at + 1));
    ASSERT_TRUE(doc.ok()) << output;
    EXPECT_EQ(IntField(*doc, "completed"), 40) << output;
    // One refusal at most per user (the second user may have learnt the cap from the first
    // before reaching the limit); without listing, every resting order past the third would be.
    const std::int64_t errors = IntField(*doc, "errors");
    EXPECT_GE(errors, 1) << output;
    EXPECT_LE(errors, 2) << output;
    const auto* by_code = doc->Find("errors_by_code");
    ASSERT_NE(by_code, nullptr) << output;
    EXPECT_EQ(IntField(*by_code, "422 risk_rejected (open_order_limit)"), errors) << output;
    EXPECT_GE(IntField(*doc, "resyncs"), 1) << output;
    EXPECT_EQ(IntField(*doc, "open_order_cap"), 3) << output;
    const auto* resync = doc->Find("routes")->Find("resync");
    ASSERT_NE(resync, nullptr) << output;
    EXPECT_EQ(IntField(*resync, "count"), IntField(*doc, "resyncs")) << output;
    EXPECT_EQ(IntField(*resync, "errors"), 0) << output;

    auto audit =
        testing::ChildProcess::Start({.argv = {std::string(FLOWEX_BIN_DIR) + "/flowex", "audit",
                                               "--database-url", stack->db().url()}});
    ASSERT_TRUE(audit.ok()) << audit.error().message;
    auto audited = (*audit)->Wait(std::chrono::seconds(120));
    ASSERT_TRUE(audited.ok()) << "flowex audit did not finish";
    EXPECT_TRUE(WIFEXITED(*audited) && WEXITSTATUS(*audited) == 0) << "flowex audit failed:\n"
                                                                   << (*audit)->Output();
}

TEST(FlowexLoad, UnreachableGatewayIsExitCodeTwoWithAMessage) {
    // Port 1 on loopback: nothing listens there (connect is refused at once).
    auto load = testing::ChildProcess::Start(
        {.argv = {std::string(FLOWEX_BIN_DIR) + "/flowex", "load", "--gateway-url",
                  "http://127.0.0.1:1", "--internal-token", "x", "--duration", "1s",
                  "--timeout", "2s"}});
    ASSERT_TRUE(load.ok()) << load.error().message;
    auto status = (*load)->Wait(std::chrono::seconds(30));
    ASSERT_TRUE(status.ok());
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << (*load)->Output();
    EXPECT_NE((*load)->Output().find("cannot reach the gateway at http://127.0.0.1:1"),
              std::string::npos)
        << (*load)->Output();
}

TEST(FlowexLoad, NonPositiveTimeoutAndAnEmptySymbolListAreExitCodeTwoWithAMessage) {
    struct Case {
        std::vector<std::string> flags;
        std::string message;
    };
    for (const Case& c : {Case{{"--timeout", "0s"}, "--timeout must be positive"},
                          Case{{"--symbols", " , ,"}, "--symbols names no symbol"}}) {
        std::vector<std::string> argv = {std::string(FLOWEX_BIN_DIR) + "/flowex",
                                         "load",
                                         "--gateway-url",
                                         "http://127.0.0.1:1",
                                         "--internal-token",
                                         "x"};
        argv.insert(argv.end(), c.flags.begin(), c.flags.end());
        auto load = testing::ChildProcess::Start({.argv = argv});
        ASSERT_TRUE(load.ok()) << load.error().message;
        auto status = (*load)->Wait(std::chrono::seconds(30));
        ASSERT_TRUE(status.ok());
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << (*load)->Output();
        // Refused before any connection: not the unreachable gateway's message.
        EXPECT_NE((*load)->Output().find(c.message), std::string::npos) << (*load)->Output();
    }
}

}  // namespace
}  // namespace flowex::itest
