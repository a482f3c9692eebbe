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
    for (const char* route : {"limit", "market", "cancel", "positions", "balance"}) {
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
