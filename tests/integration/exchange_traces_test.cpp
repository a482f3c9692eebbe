// The order flow as one trace in flowex-collector (DESIGN §5), and its logs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <set>
#include <thread>

#include "exchange_stack.hpp"

namespace flowex::itest {
namespace {

using common::JsonValue;

struct Span {
    std::string id;
    std::string parent;
    std::string service;
    std::string name;
    std::int64_t start_us = 0;
    std::int64_t duration_us = 0;
    std::map<std::string, std::string> tags;
};

std::string TagText(const JsonValue& v) {
    if (v.is_string()) { return v.as_string(); }
    if (v.is_number()) { return std::string(v.number_text()); }
    if (v.is_bool()) { return v.as_bool() ? "true" : "false"; }
    return common::ToJson(v);
}

using Required = std::vector<std::pair<std::string, std::string>>;  // (service, span name)

bool HasAll(const std::vector<Span>& spans, const Required& required) {
    for (const auto& [service, name] : required) {
        bool found = false;
        for (const Span& s : spans) { found = found || (s.service == service && s.name == name); }
        if (!found) { return false; }
    }
    return true;
}

/// The spans of one trace from the Jaeger v1 API, once every required span arrived (each
/// service exports in its own batches, so they come in at different moments).
std::vector<Span> WaitForTrace(const ExchangeStack& stack, const std::string& trace_id,
                               const Required& required) {
    std::vector<Span> spans;
    for (int i = 0; i < 200; ++i) {
        auto r = Http("GET", stack.query_url() + "/api/traces/" + trace_id);
        if (r && r->status == 200) {
            auto doc = common::ParseJson(r->body);
            spans.clear();
            if (doc && doc->Find("data") && !doc->Find("data")->as_array().empty()) {
                const JsonValue& t = doc->Find("data")->as_array()[0];
                for (const JsonValue& s : t.Find("spans")->as_array()) {
                    Span sp;
                    sp.id = s.Find("spanID")->as_string();
                    sp.name = s.Find("operationName")->as_string();
                    sp.start_us = s.Find("startTime")->ToInt64().value_or(0);
                    sp.duration_us = s.Find("duration")->ToInt64().value_or(0);
                    if (const auto* refs = s.Find("references"); refs && !refs->as_array().empty()) {
                        sp.parent = refs->as_array()[0].Find("spanID")->as_string();
                    }
                    const std::string pid = s.Find("processID")->as_string();
                    sp.service = t.Find("processes")->Find(pid)->Find("serviceName")->as_string();
                    for (const JsonValue& tag : s.Find("tags")->as_array()) {
                        sp.tags[tag.Find("key")->as_string()] = TagText(*tag.Find("value"));
                    }
                    spans.push_back(std::move(sp));
                }
                if (HasAll(spans, required)) { return spans; }
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return spans;
}

std::string Names(const std::vector<Span>& spans) {
    std::string out;
    for (const Span& s : spans) { out += s.service + ":" + s.name + " "; }
    return out;
}

const Span* Find(const std::vector<Span>& spans, const std::string& service, const std::string& name) {
    for (const Span& s : spans) {
        if (s.service == service && s.name == name) { return &s; }
    }
    return nullptr;
}

/// True when `ancestor` is on the parent chain of `span`.
bool Descends(const std::vector<Span>& spans, const Span* span, const Span* ancestor) {
    std::map<std::string, const Span*> by_id;
    for (const Span& s : spans) { by_id[s.id] = &s; }
    for (int depth = 0; span != nullptr && depth < 64; ++depth) {
        if (span->parent == ancestor->id) { return true; }
        auto it = by_id.find(span->parent);
        span = it == by_id.end() ? nullptr : it->second;
    }
    return false;
}

class ExchangeTraces : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        auto s = ExchangeStack::Start("exchange_traces", StackOptions{.with_collector = true});
        ASSERT_TRUE(s.ok()) << s.error().message;
        stack_ = std::move(s).value().release();
    }
    static void TearDownTestSuite() {
        delete stack_;
        stack_ = nullptr;
    }
    void SetUp() override { ASSERT_NE(stack_, nullptr); }
    static std::string Unique(const std::string& base) {
        static int n = 0;
        return base + "_" + std::to_string(::getpid()) + "_" + std::to_string(++n);
    }
    // A new user with $2,000 places `order` (JSON). The answer, which must be a 201 whose
    // X-Trace-Id names the order's trace; an empty result (and a failed test) otherwise.
    static HttpResult PlaceOrderAsNewUser(const std::string& name, const std::string& order) {
        auto token = stack_->NewUser(Unique(name));
        EXPECT_TRUE(token.ok()) << (token.ok() ? "" : token.error().message);
        if (!token.ok()) { return {}; }
        const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + *token}};
        auto funded = Http("POST", stack_->gateway() + "/wallet/add-funds", R"({"amount": 2000})", auth);
        EXPECT_TRUE(funded.ok() && funded->status == 200);
        auto placed = Http("POST", stack_->gateway() + "/v1/order", order, auth);
        EXPECT_TRUE(placed.ok());
        if (!placed.ok()) { return {}; }
        EXPECT_EQ(placed->status, 201) << placed->body;
        EXPECT_EQ(placed->Header("x-trace-id").size(), 32u);
        return *placed;
    }
    static ExchangeStack* stack_;
};
ExchangeStack* ExchangeTraces::stack_ = nullptr;

// Health checks and metric scrapes (Prometheus, every few seconds, on every service) leave no
// trace and no access line at the default level: they would bury the orders in the viewer and
// in the logs. They are still measured.
TEST_F(ExchangeTraces, HealthChecksAndMetricScrapesLeaveNoTraceNorLogLineButAreMeasured) {
    for (const char* path : {"/health", "/metrics"}) {
        auto r = Http("GET", stack_->gateway() + path);
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r->status, 200) << path;
        EXPECT_EQ(r->Header("x-trace-id"), "") << path;
    }
    // The gateway exports its spans in the order they end: once this later order's span is
    // stored, a span of the requests above would be too.
    HttpResult order = PlaceOrderAsNewUser(
        "untraced", R"({"symbol":"AAPL","side":"BUY","quantity":1,"price":150})");
    ASSERT_EQ(order.status, 201);
    auto spans =
        WaitForTrace(*stack_, order.Header("x-trace-id"), {{"client-gateway", "POST /v1/order"}});
    ASSERT_NE(Find(spans, "client-gateway", "POST /v1/order"), nullptr) << Names(spans);
    auto ops = Http("GET", stack_->query_url() + "/api/services/client-gateway/operations");
    ASSERT_TRUE(ops.ok() && ops->status == 200);
    EXPECT_NE(ops->body.find("POST /v1/order"), std::string::npos) << ops->body;
    EXPECT_EQ(ops->body.find("GET /health"), std::string::npos) << ops->body;
    EXPECT_EQ(ops->body.find("GET /metrics"), std::string::npos) << ops->body;
    auto metrics = Http("GET", stack_->gateway() + "/metrics");
    ASSERT_TRUE(metrics.ok());
    EXPECT_NE(
        metrics->body.find(
            R"(http_server_request_duration_seconds_count{method="GET",route="/health",status="200"})"),
        std::string::npos);
    // The log is written in order: once the order's access line is there, theirs would be.
    auto& gateway = stack_->process("client-gateway");
    ASSERT_TRUE(gateway
                    .WaitForLine(
                        [](const std::string& l) {
                            return l.find(R"("POST /v1/order HTTP/1.1" 201)") != std::string::npos;
                        },
                        std::chrono::seconds(10))
                    .ok());
    for (const std::string& line : gateway.Lines()) {
        EXPECT_EQ(line.find(R"("GET /health HTTP/1.1" 200)"), std::string::npos) << line;
        EXPECT_EQ(line.find(R"("GET /metrics HTTP/1.1" 200)"), std::string::npos) << line;
    }
}

TEST_F(ExchangeTraces, AnOrderIsOneTraceAcrossFiveServicesWithTheBriefsSpans) {
    HttpResult order = PlaceOrderAsNewUser("tracer", R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":150})");
    ASSERT_EQ(order.status, 201);
    const std::string trace_id = order.Header("x-trace-id");
    ASSERT_EQ(trace_id.size(), 32u);

    auto spans = WaitForTrace(*stack_, trace_id,
                              {{"client-gateway", "place_order"}, {"user-service", "verify_token"},
                               {"risk-manager", "validate_order"}, {"wallet-service", "block_funds"},
                               {"wallet-service", "UPDATE wallets"},
                               {"order-manager", "publish_event"}});
    std::set<std::string> services;
    for (const Span& s : spans) { services.insert(s.service); }
    for (const char* svc : {"client-gateway", "user-service", "order-manager", "risk-manager",
                            "wallet-service"}) {
        EXPECT_TRUE(services.count(svc)) << svc << " missing from the trace";
    }
    const Span* root = Find(spans, "client-gateway", "POST /v1/order");
    const Span* place = Find(spans, "client-gateway", "place_order");
    const Span* me = Find(spans, "user-service", "GET /me");
    const Span* verify = Find(spans, "user-service", "verify_token");
    const Span* om = Find(spans, "order-manager", "POST /order");
    const Span* create = Find(spans, "order-manager", "create_order");
    const Span* validate = Find(spans, "risk-manager", "validate_order");
    const Span* block = Find(spans, "wallet-service", "block_funds");
    const Span* update = Find(spans, "wallet-service", "UPDATE wallets");
    const Span* insert = Find(spans, "order-manager", "INSERT orders");
    const Span* match = Find(spans, "order-manager", "match_order");
    const Span* publish = Find(spans, "order-manager", "publish_event");
    for (auto [name, s] : std::vector<std::pair<const char*, const Span*>>{
             {"POST /v1/order", root}, {"place_order", place}, {"GET /me", me},
             {"verify_token", verify}, {"POST /order", om}, {"create_order", create},
             {"validate_order", validate}, {"block_funds", block}, {"UPDATE wallets", update},
             {"INSERT orders", insert}, {"match_order", match}, {"publish_event", publish}}) {
        ASSERT_NE(s, nullptr) << name << " missing; spans: " << spans.size();
    }
    EXPECT_TRUE(root->parent.empty());
    EXPECT_EQ(place->parent, root->id);
    EXPECT_TRUE(Descends(spans, me, place));
    EXPECT_TRUE(Descends(spans, create, place));
    EXPECT_TRUE(Descends(spans, validate, create));
    EXPECT_TRUE(Descends(spans, block, create));
    EXPECT_TRUE(Descends(spans, update, block));
    EXPECT_TRUE(Descends(spans, insert, create));
    // A limit order's block is asked for while risk decides: order-manager's call to
    // wallet-service starts before its call to risk-manager has its answer.
    const Span* ask_risk = nullptr;
    const Span* ask_wallet = nullptr;
    for (const Span& s : spans) {
        if (s.service != "order-manager" || s.name != "POST" || s.parent != create->id) {
            continue;
        }
        const std::string url = s.tags.count("url.full") ? s.tags.at("url.full") : "";
        if (url.ends_with("/validate")) { ask_risk = &s; }
        if (url.ends_with("/block-funds")) { ask_wallet = &s; }
    }
    ASSERT_NE(ask_risk, nullptr) << Names(spans);
    ASSERT_NE(ask_wallet, nullptr) << Names(spans);
    EXPECT_LT(ask_wallet->start_us, ask_risk->start_us + ask_risk->duration_us);
    EXPECT_EQ(place->tags.at("symbol"), "AAPL");
    EXPECT_EQ(place->tags.at("side"), "BUY");
    EXPECT_EQ(place->tags.at("quantity"), "10");
    EXPECT_EQ(place->tags.count("order.value"), 1u);
    EXPECT_EQ(place->tags.count("user.tier"), 1u);
    EXPECT_EQ(update->tags.at("db.system.name"), "postgresql");
    EXPECT_EQ(update->tags.at("db.collection.name"), "wallets");
    EXPECT_EQ(update->tags.at("service.peer.name"), "postgresql");
    EXPECT_EQ(publish->tags.at("db.system.name"), "redis");
    // publish_event is the Redis call itself: no span per PUBLISH under it.
    for (const Span& s : spans) {
        EXPECT_FALSE(s.name == "PUBLISH" || s.parent == publish->id) << Names(spans);
    }

    // The logs of the trace carry its id: the brief's business lines among them.
    std::string logs;
    for (int i = 0; i < 200; ++i) {
        auto r = Http("GET", stack_->query_url() + "/api/traces/" + trace_id + "/logs");
        if (r && r->status == 200 && r->body.find("Blocking $1500.00") != std::string::npos &&
            r->body.find("Sending to risk-manager") != std::string::npos) {
            logs = r->body;
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_NE(logs.find("Validating order for user"), std::string::npos) << logs;
    EXPECT_NE(logs.find("Blocking $1500.00 for user"), std::string::npos) << logs;
}

// The bookkeeping marks of answered orders (event published, trade settled) are written in
// batches: a write_marks trace of its own, linked to each order it covers, with the UPDATE.
TEST_F(ExchangeTraces, MarksAreWrittenInABatchTraceLinkedToTheOrder) {
    HttpResult order = PlaceOrderAsNewUser("marks", R"({"symbol":"AAPL","side":"BUY","quantity":1,"price":149})");
    ASSERT_EQ(order.status, 201);
    const std::string trace_id = order.Header("x-trace-id");
    ASSERT_EQ(trace_id.size(), 32u);

    std::string batch_trace;
    for (int i = 0; i < 200 && batch_trace.empty(); ++i) {
        auto r = Http("GET", stack_->query_url() +
                                 "/api/traces?service=order-manager&operation=write_marks&limit=200");
        if (r && r->status == 200) {
            auto doc = common::ParseJson(r->body);
            for (const JsonValue& t : doc->Find("data")->as_array()) {
                for (const JsonValue& sp : t.Find("spans")->as_array()) {
                    if (sp.Find("operationName")->as_string() != "write_marks") { continue; }
                    for (const JsonValue& ref : sp.Find("references")->as_array()) {
                        if (ref.Find("refType")->as_string() == "FOLLOWS_FROM" &&
                            ref.Find("traceID")->as_string() == trace_id) {
                            batch_trace = sp.Find("traceID")->as_string();
                        }
                    }
                }
            }
        }
        if (batch_trace.empty()) { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }
    }
    ASSERT_FALSE(batch_trace.empty()) << "no write_marks span links to the order's trace";
    EXPECT_NE(batch_trace, trace_id);
    auto spans = WaitForTrace(*stack_, batch_trace, {{"order-manager", "DELETE outbox"}});
    const Span* marks = Find(spans, "order-manager", "write_marks");
    const Span* update = Find(spans, "order-manager", "DELETE outbox");
    ASSERT_NE(marks, nullptr);
    ASSERT_NE(update, nullptr);
    EXPECT_TRUE(Descends(spans, update, marks));
    EXPECT_GE(std::stoi(marks->tags.at("events")), 1);
    // The mark itself was written.
    const std::string order_id = common::ParseJson(order.body)->Find("order_id")->as_string();
    std::string unpublished = "?";
    for (int i = 0; i < 100 && unpublished != "0"; ++i) {
        auto v = stack_->db().QueryValue("SELECT count(*) FROM outbox WHERE payload LIKE '%" +
                                         order_id + "%'");
        unpublished = v.ok() ? *v : v.error().message;
        if (unpublished != "0") { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }
    }
    EXPECT_EQ(unpublished, "0");
}

TEST_F(ExchangeTraces, ARejectedOrderIsFoundWithErrorTrue) {
    auto token = stack_->NewUser(Unique("broke"));
    ASSERT_TRUE(token.ok());
    const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + *token}};
    auto order = Http("POST", stack_->gateway() + "/v1/order",
                      R"({"symbol":"AAPL","side":"BUY","quantity":5,"price":150})", auth);
    ASSERT_TRUE(order.ok());
    ASSERT_EQ(order->status, 422);
    const std::string trace_id = order->Header("x-trace-id");
    auto body = common::ParseJson(order->body);
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(body->Find("error")->Find("trace_id")->as_string(), trace_id);

    auto spans = WaitForTrace(*stack_, trace_id,
                              {{"client-gateway", "place_order"}, {"wallet-service", "block_funds"},
                               {"client-gateway", "POST /v1/order"}});
    const Span* block = Find(spans, "wallet-service", "block_funds");
    const Span* place = Find(spans, "client-gateway", "place_order");
    ASSERT_NE(block, nullptr);
    ASSERT_NE(place, nullptr);
    auto tag = [](const Span* s, const std::string& k) {
        auto it = s->tags.find(k);
        return it == s->tags.end() ? std::string("<absent>") : it->second;
    };
    EXPECT_EQ(tag(block, "error"), "true");
    EXPECT_EQ(tag(block, "error.type"), "insufficient_funds");
    EXPECT_EQ(tag(place, "error"), "true");
    // A 4xx leaves the server span's status unset (DESIGN §5).
    const Span* root = Find(spans, "client-gateway", "POST /v1/order");
    ASSERT_NE(root, nullptr);
    EXPECT_EQ(root->tags.count("error"), 0u);

    bool found = false;
    for (int i = 0; i < 200 && !found; ++i) {
        auto r = Http("GET", stack_->query_url() +
                                 "/api/traces?service=client-gateway&tags=%7B%22error%22%3A%22true%22%7D&lookback=1h&limit=50");
        found = r && r->body.find(trace_id) != std::string::npos;
        if (!found) { std::this_thread::sleep_for(std::chrono::milliseconds(50)); }
    }
    EXPECT_TRUE(found) << "error=true search did not find " << trace_id;
}

/// Spans of `spans` on the parent chain below `ancestor` that satisfy `pred`.
template <class Pred>
std::vector<const Span*> Below(const std::vector<Span>& spans, const Span* ancestor, Pred pred) {
    std::vector<const Span*> out;
    for (const Span& s : spans) {
        if (pred(s) && Descends(spans, &s, ancestor)) { out.push_back(&s); }
    }
    return out;
}

std::string Tag(const Span* s, const std::string& key) {
    auto it = s->tags.find(key);
    return it == s->tags.end() ? std::string("<absent>") : it->second;
}

TEST_F(ExchangeTraces, AddFundsIsOneTraceThroughUserAndWalletServiceToPostgres) {
    auto token = stack_->NewUser(Unique("saver"));
    ASSERT_TRUE(token.ok()) << token.error().message;
    const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + *token}};
    auto r = Http("POST", stack_->gateway() + "/wallet/add-funds", R"({"amount": 1000})", auth);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << r->body;
    const std::string trace_id = r->Header("x-trace-id");
    ASSERT_EQ(trace_id.size(), 32u);

    auto spans = WaitForTrace(*stack_, trace_id,
                              {{"client-gateway", "POST /wallet/add-funds"},
                               {"client-gateway", "add_funds"}, {"user-service", "verify_token"},
                               {"wallet-service", "GET /balance"},
                               {"wallet-service", "POST /update-balance"},
                               {"wallet-service", "INSERT transactions"}});
    const Span* root = Find(spans, "client-gateway", "POST /wallet/add-funds");
    const Span* add = Find(spans, "client-gateway", "add_funds");
    const Span* verify = Find(spans, "user-service", "verify_token");
    const Span* balance = Find(spans, "wallet-service", "GET /balance");
    const Span* update = Find(spans, "wallet-service", "POST /update-balance");
    const Span* ledger = Find(spans, "wallet-service", "INSERT transactions");
    for (const Span* s : {root, add, verify, balance, update, ledger}) {
        ASSERT_NE(s, nullptr) << "spans: " << Names(spans);
    }
    EXPECT_TRUE(root->parent.empty());
    EXPECT_EQ(add->parent, root->id);
    EXPECT_TRUE(Descends(spans, verify, add));
    EXPECT_TRUE(Descends(spans, balance, add));
    EXPECT_TRUE(Descends(spans, update, add));
    EXPECT_TRUE(Descends(spans, ledger, update));
    EXPECT_EQ(Tag(add, "user_id"), Tag(verify, "user_id"));
    EXPECT_EQ(Tag(add, "amount"), "1000");
    EXPECT_EQ(Tag(ledger, "service.peer.name"), "postgresql");
    EXPECT_EQ(Tag(ledger, "db.collection.name"), "transactions");
    // The wallet row is created on the first deposit and updated in the same transaction.
    auto wallet_writes = Below(spans, update, [](const Span& s) {
        return s.name == "INSERT wallets" || s.name == "UPDATE wallets";
    });
    EXPECT_FALSE(wallet_writes.empty()) << Names(spans);
    EXPECT_EQ(Tag(root, "error"), "<absent>");

    std::string logs;
    for (int i = 0; i < 200 && logs.empty(); ++i) {
        auto l = Http("GET", stack_->query_url() + "/api/traces/" + trace_id + "/logs");
        if (l && l->status == 200 && l->body.find("Depositing $1000.00") != std::string::npos) {
            logs = l->body;
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    EXPECT_NE(logs.find("Depositing $1000.00 for user"), std::string::npos)
        << "the deposit's log line does not carry the trace id " << trace_id;
}

// HTTP lets a client send any byte above 0x7F in a header, but OTLP's strings must be UTF-8: a
// receiver that checks (the collector's official classes, any Go collector) refuses the whole
// export request otherwise, and with it every other span of the batch. The SDK sends such
// bytes as U+FFFD, so the trace arrives, and the spans sent beside it too.
TEST_F(ExchangeTraces, ANonUtf8UserAgentArrivesAsReplacementCharactersAndLosesNoSpan) {
    auto odd =
        Http("GET", stack_->gateway() + "/v1/symbols", "", {{"User-Agent", "probe\xFF\xFE/1"}});
    ASSERT_TRUE(odd.ok());
    ASSERT_EQ(odd->status, 200) << odd->body;
    auto plain = Http("GET", stack_->gateway() + "/v1/symbols", "", {{"User-Agent", "probe/2"}});
    ASSERT_TRUE(plain.ok());
    ASSERT_EQ(plain->status, 200) << plain->body;

    auto odd_spans =
        WaitForTrace(*stack_, odd->Header("x-trace-id"), {{"client-gateway", "GET /v1/symbols"}});
    const Span* root = Find(odd_spans, "client-gateway", "GET /v1/symbols");
    ASSERT_NE(root, nullptr) << "the trace with the odd User-Agent was lost: " << Names(odd_spans);
    EXPECT_EQ(Tag(root, "user_agent.original"), "probe\xEF\xBF\xBD\xEF\xBF\xBD/1");
    auto plain_spans =
        WaitForTrace(*stack_, plain->Header("x-trace-id"), {{"client-gateway", "GET /v1/symbols"}});
    const Span* other = Find(plain_spans, "client-gateway", "GET /v1/symbols");
    ASSERT_NE(other, nullptr) << "a span exported beside it was lost: " << Names(plain_spans);
    EXPECT_EQ(Tag(other, "user_agent.original"), "probe/2");
}

TEST_F(ExchangeTraces, PositionsMissQueriesPostgresAndCachesThenHitReadsRedisOnly) {
    auto token = stack_->NewUser(Unique("holder"));
    ASSERT_TRUE(token.ok()) << token.error().message;
    const std::vector<std::pair<std::string, std::string>> auth{{"Authorization", "Bearer " + *token}};
    auto miss = Http("GET", stack_->gateway() + "/reports/positions", "", auth);
    ASSERT_TRUE(miss.ok());
    ASSERT_EQ(miss->status, 200) << miss->body;
    auto hit = Http("GET", stack_->gateway() + "/reports/positions", "", auth);
    ASSERT_TRUE(hit.ok());
    ASSERT_EQ(hit->status, 200) << hit->body;
    EXPECT_EQ(hit->body, miss->body);

    auto spans = WaitForTrace(*stack_, miss->Header("x-trace-id"),
                              {{"client-gateway", "GET /reports/positions"},
                               {"user-service", "verify_token"},
                               {"reporting-service", "get_positions"},
                               {"reporting-service", "cache_result"}});
    const Span* root = Find(spans, "client-gateway", "GET /reports/positions");
    const Span* get = Find(spans, "reporting-service", "get_positions");
    const Span* cache = Find(spans, "reporting-service", "cache_result");
    for (const Span* s : {root, get, cache}) { ASSERT_NE(s, nullptr) << Names(spans); }
    EXPECT_TRUE(Descends(spans, get, root));
    EXPECT_EQ(Tag(get, "cache"), "miss");
    auto selects = Below(spans, get, [](const Span& s) {
        return s.tags.count("service.peer.name") && s.tags.at("service.peer.name") == "postgresql" &&
               s.name.rfind("SELECT", 0) == 0;
    });
    EXPECT_EQ(selects.size(), 1u) << "one SQL query with joins on a miss: " << Names(spans);
    auto stores = Below(spans, cache, [](const Span& s) {
        return s.tags.count("db.system.name") && s.tags.at("db.system.name") == "redis";
    });
    EXPECT_EQ(stores.size(), 1u) << "cache_result writes Redis once: " << Names(spans);

    auto hit_spans = WaitForTrace(*stack_, hit->Header("x-trace-id"),
                                  {{"reporting-service", "get_positions"}});
    const Span* get2 = Find(hit_spans, "reporting-service", "get_positions");
    ASSERT_NE(get2, nullptr) << Names(hit_spans);
    EXPECT_EQ(Tag(get2, "cache"), "hit");
    auto redis_reads = Below(hit_spans, get2, [](const Span& s) {
        return s.tags.count("db.system.name") && s.tags.at("db.system.name") == "redis";
    });
    auto sql = Below(hit_spans, get2, [](const Span& s) {
        return s.tags.count("db.system.name") && s.tags.at("db.system.name") == "postgresql";
    });
    EXPECT_EQ(redis_reads.size(), 1u) << Names(hit_spans);
    EXPECT_TRUE(sql.empty()) << "a cache hit must not query PostgreSQL: " << Names(hit_spans);
    EXPECT_EQ(Find(hit_spans, "reporting-service", "cache_result"), nullptr);
}

}  // namespace
}  // namespace flowex::itest
