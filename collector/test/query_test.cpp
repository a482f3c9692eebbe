#include <gtest/gtest.h>

#include "flowex/collector/query_api.hpp"
#include "flowex/collector/red_metrics.hpp"
#include "flowex/collector/render.hpp"
#include "flowex/common/json.hpp"
#include "test_util.hpp"

namespace flowex::collector {
namespace {

using testing::AddResource;
using testing::AddSpan;
using testing::DecodeOrDie;
using testing::TempDir;

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000ULL;
constexpr std::uint64_t kMs = 1'000'000ULL;
const char* kTrace = "0af7651916cd43dd8448eb211c80319c";

class QueryTest : public ::testing::Test {
protected:
    void SetUp() override {
        StoreOptions o;
        o.data_dir = dir_.str();
        o.clock = &clock_;
        store_ = std::move(Store::Open(o)).value();
        ExportTraceRequest req;
        auto* gw = AddResource(&req, "client-gateway");
        AddSpan(gw, {kTrace, "b7ad6b7169203331", "", "POST /v1/order", 2, kT0, kT0 + 120 * kMs, true,
                     {{"http.request.method", "POST"}}, {{"http.response.status_code", 422}}});
        auto* span = gw->mutable_spans(0);
        auto* ev = span->add_events();
        ev->set_name("exception");
        ev->set_time_unix_nano(kT0 + 5 * kMs);
        auto* kv = ev->add_attributes();
        kv->set_key("exception.message");
        kv->mutable_value()->set_string_value("insufficient funds");
        auto* link = span->add_links();
        link->set_trace_id(testing::Id("11111111111111111111111111111111"));
        link->set_span_id(testing::Id("2222222222222222"));
        AddSpan(gw, {kTrace, "b7ad6b7169203332", "b7ad6b7169203331", "place_order", 1, kT0 + kMs, kT0 + 100 * kMs,
                     false, {{"symbol", "AAPL"}}});
        DecodedTraces d = DecodeOrDie(req);
        auto r = store_->Ingest({&d}, {});
        ASSERT_TRUE(r.ok());
        metrics_.Record(r->facts, r->new_traces);
        api_ = std::make_unique<QueryApi>(*store_, metrics_, clock_);
    }
    common::JsonValue Get(const std::string& path, const QueryParams& p, int expect_status = 200) {
        ApiResponse r = api_->Get(path, p);
        EXPECT_EQ(r.status, expect_status) << r.body;
        auto j = common::ParseJson(r.body);
        EXPECT_TRUE(j.ok()) << r.body;
        return j.ok() ? std::move(j).value() : common::JsonValue();
    }
    TempDir dir_;
    common::ManualClock clock_{static_cast<std::int64_t>(kT0 + 60'000 * kMs)};
    std::unique_ptr<Store> store_;
    RedMetrics metrics_;
    std::unique_ptr<QueryApi> api_;
};

const common::JsonValue* Tag(const common::JsonValue& span, std::string_view key) {
    for (const auto& t : span.Find("tags")->as_array()) {
        if (t.Find("key")->as_string() == key) {
            return t.Find("value");
        }
    }
    return nullptr;
}

TEST_F(QueryTest, V1TraceHasJaegerShape) {
    auto j = Get(std::string("/api/traces/") + kTrace, {});
    const auto& trace = j.Find("data")->as_array().at(0);
    EXPECT_EQ(trace.Find("traceID")->as_string(), kTrace);
    const auto& spans = trace.Find("spans")->as_array();
    ASSERT_EQ(spans.size(), 2u);
    const auto& root = spans[0];
    EXPECT_EQ(root.Find("operationName")->as_string(), "POST /v1/order");
    EXPECT_EQ(root.Find("startTime")->ToInt64(), static_cast<std::int64_t>(kT0 / 1000));
    EXPECT_EQ(root.Find("duration")->ToInt64(), 120000);
    EXPECT_EQ(Tag(root, "span.kind")->as_string(), "server");
    EXPECT_TRUE(Tag(root, "error")->as_bool());
    EXPECT_EQ(Tag(root, "otel.status_code")->as_string(), "ERROR");
    EXPECT_EQ(Tag(root, "otel.status_description")->as_string(), "boom");
    EXPECT_EQ(Tag(root, "http.response.status_code")->ToInt64(), 422);
    const auto& logs = root.Find("logs")->as_array();
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].Find("fields")->as_array()[0].Find("key")->as_string(), "event");
    EXPECT_EQ(logs[0].Find("fields")->as_array()[0].Find("value")->as_string(), "exception");
    EXPECT_EQ(root.Find("references")->as_array()[0].Find("refType")->as_string(), "FOLLOWS_FROM");
    const auto& child = spans[1];
    EXPECT_EQ(child.Find("references")->as_array()[0].Find("refType")->as_string(), "CHILD_OF");
    EXPECT_EQ(child.Find("references")->as_array()[0].Find("spanID")->as_string(), "b7ad6b7169203331");
    std::string pid = root.Find("processID")->as_string();
    EXPECT_EQ(trace.Find("processes")->Find(pid)->Find("serviceName")->as_string(), "client-gateway");
}

TEST_F(QueryTest, UnknownTraceIs404AndMalformedIs400) {
    Get("/api/traces/0000000000000000000000000000abcd", {}, 404);
    Get("/api/traces/zz", {}, 400);
    Get("/api/v3/traces/0000000000000000000000000000abcd", {}, 404);
}

TEST_F(QueryTest, V1SearchWithTagsJsonTagPairsAndDurations) {
    auto j = Get("/api/traces", {{"service", "client-gateway"}, {"tags", R"({"error":"true"})"}});
    EXPECT_EQ(j.Find("data")->as_array().size(), 1u);
    j = Get("/api/traces", {{"service", "client-gateway"}, {"tag", "symbol:AAPL"}, {"minDuration", "50ms"}});
    EXPECT_EQ(j.Find("data")->as_array().size(), 1u);
    j = Get("/api/traces", {{"service", "client-gateway"}, {"minDuration", "1.2s"}});
    EXPECT_EQ(j.Find("data")->as_array().size(), 0u);
    j = Get("/api/traces", {{"service", "client-gateway"}, {"lookback", "1h"}});
    EXPECT_EQ(j.Find("data")->as_array().size(), 1u);
    Get("/api/traces", {{"service", "client-gateway"}, {"minDuration", "soon"}}, 400);
}

TEST_F(QueryTest, SearchLimitBeyond1500IsRefusedWithAMessageNotCut) {
    auto j = Get("/api/traces", {{"service", "client-gateway"}, {"limit", "1500"}});
    EXPECT_EQ(j.Find("data")->as_array().size(), 1u);
    ApiResponse r = api_->Get("/api/traces", {{"service", "client-gateway"}, {"limit", "1501"}});
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("'limit' is at most 1500 traces a search (asked for 1501)"),
              std::string::npos)
        << r.body;
    j = Get("/api/v3/traces",
            {{"query.service_name", "client-gateway"}, {"query.search_depth", "1500"}});
    EXPECT_EQ(j.Find("result")->Find("resourceSpans")->as_array().size(), 1u);
    for (const char* name : {"query.search_depth", "query.num_traces"}) {
        r = api_->Get("/api/v3/traces",
                      {{"query.service_name", "client-gateway"}, {name, "100000"}});
        EXPECT_EQ(r.status, 400) << name;
        EXPECT_NE(r.body.find(std::string("'") + name +
                              "' is at most 1500 traces a search (asked for 100000)"),
                  std::string::npos)
            << r.body;
    }
}

// Times whose nanoseconds would not fit in 64 bits are refused, not overflowed into nonsense.
TEST_F(QueryTest, TimesBeyondTheYear2096AndANanQuantileAre400) {
    Get("/api/traces", {{"service", "client-gateway"}, {"end", "99999999999999999"}}, 400);
    Get("/api/traces", {{"service", "client-gateway"}, {"start", "-1"}}, 400);
    Get("/api/traces", {{"service", "client-gateway"}, {"end", "4000000000000000"}});
    Get("/api/dependencies", {{"endTs", "9223372036854775807"}}, 400);
    Get("/api/dependencies", {{"lookback", "99999999999999"}}, 400);
    Get("/api/metrics/calls", {{"service", "client-gateway"}, {"step", "9223372036854775"}}, 400);
    Get("/api/metrics/latencies", {{"service", "client-gateway"}, {"quantile", "nan"}}, 400);
    Get("/api/v3/traces",
        {{"query.service_name", "client-gateway"},
         {"query.start_time_min", "9999-12-31T23:59:59Z"}},
        400);
    std::int64_t ns = 0;
    EXPECT_TRUE(ParseRfc3339("2096-01-01T00:00:00Z", &ns));
    EXPECT_FALSE(ParseRfc3339("2263-01-01T00:00:00Z", &ns));
    EXPECT_FALSE(ParseRfc3339("1969-12-31T23:59:59Z", &ns));
}

TEST_F(QueryTest, ServicesAndOperations) {
    auto j = Get("/api/services", {});
    EXPECT_EQ(j.Find("data")->as_array().at(0).as_string(), "client-gateway");
    j = Get("/api/services/client-gateway/operations", {});
    EXPECT_EQ(j.Find("data")->as_array().size(), 2u);
    j = Get("/api/operations", {{"service", "client-gateway"}, {"spanKind", "server"}});
    ASSERT_EQ(j.Find("data")->as_array().size(), 1u);
    EXPECT_EQ(j.Find("data")->as_array()[0].Find("spanKind")->as_string(), "server");
    j = Get("/api/v3/services", {});
    EXPECT_EQ(j.Find("services")->as_array().size(), 1u);
    j = Get("/api/v3/operations", {{"service", "client-gateway"}});
    EXPECT_EQ(j.Find("operations")->as_array().size(), 2u);
}

TEST_F(QueryTest, V3TraceAndSearchReturnOtlpJson) {
    auto j = Get(std::string("/api/v3/traces/") + kTrace, {});
    const auto& rs = j.Find("result")->Find("resourceSpans")->as_array();
    ASSERT_EQ(rs.size(), 1u);
    const auto& span = rs[0].Find("scopeSpans")->as_array()[0].Find("spans")->as_array()[0];
    EXPECT_EQ(span.Find("traceId")->as_string(), kTrace);
    EXPECT_EQ(span.Find("kind")->ToInt64(), 2);
    EXPECT_EQ(span.Find("startTimeUnixNano")->as_string(), std::to_string(kT0));
    j = Get("/api/v3/traces", {{"query.service_name", "client-gateway"},
                               {"query.start_time_min", "2023-11-14T00:00:00Z"},
                               {"query.attributes", R"({"symbol":"AAPL"})"}});
    EXPECT_EQ(j.Find("result")->Find("resourceSpans")->as_array().size(), 1u);
    j = Get("/api/v3/trace-summaries", {{"query.service_name", "client-gateway"}});
    const auto& t = j.Find("result")->Find("traces")->as_array().at(0);
    EXPECT_EQ(t.Find("rootOperation")->as_string(), "POST /v1/order");
    EXPECT_EQ(t.Find("errorCount")->ToInt64(), 1);
}

// A response carries at most the collector's span limit of a trace, and says so: Jaeger's
// trace-level warnings and X-Flowex-Spans-Omitted. `maxSpans` asks for more (0: all).
TEST_F(QueryTest, ATraceBeyondTheSpanLimitSaysHowManySpansAreLeftOutAndMaxSpansAsksForMore) {
    const std::string path = std::string("/api/traces/") + kTrace;
    auto spans_and_warnings = [](const ApiResponse& r) {
        auto j = common::ParseJson(r.body);
        EXPECT_TRUE(j.ok()) << r.body;
        const auto& trace = j->Find("data")->as_array().at(0);
        std::string warnings;
        if (!trace.Find("warnings")->is_null()) {
            for (const auto& w : trace.Find("warnings")->as_array()) { warnings += w.as_string(); }
        }
        return std::make_pair(trace.Find("spans")->as_array().size(), warnings);
    };
    auto [all, none] = spans_and_warnings(api_->Get(path, {}));
    EXPECT_EQ(all, 2u);
    EXPECT_EQ(none, "");

    QueryApi limited(*store_, metrics_, clock_, 1);
    ApiResponse r = limited.Get(path, {});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.spans_omitted, 1);
    auto [spans, warning] = spans_and_warnings(r);
    EXPECT_EQ(spans, 1u);
    EXPECT_NE(warning.find("1 spans of this trace are left out"), std::string::npos) << warning;
    EXPECT_NE(warning.find("maxSpans=0"), std::string::npos) << warning;

    r = limited.Get(path, {{"maxSpans", "0"}});
    EXPECT_EQ(r.spans_omitted, 0);
    EXPECT_EQ(spans_and_warnings(r), std::make_pair(std::size_t{2}, std::string()));
    r = limited.Get(path, {{"maxSpans", "2"}});
    EXPECT_EQ(spans_and_warnings(r).first, 2u);

    r = limited.Get("/api/traces", {{"service", "client-gateway"}});
    EXPECT_EQ(r.spans_omitted, 1);
    EXPECT_EQ(spans_and_warnings(r).first, 1u);
    EXPECT_EQ(limited.Get(std::string("/api/v3/traces/") + kTrace, {}).spans_omitted, 1);
    EXPECT_EQ(
        limited.Get("/api/v3/traces", {{"query.service_name", "client-gateway"}}).spans_omitted, 1);

    for (const char* bad : {"-1", "many", "1e3", ""}) {
        EXPECT_EQ(limited.Get(path, {{"maxSpans", bad}}).status, *bad == '\0' ? 200 : 400) << bad;
    }
    EXPECT_EQ(limited.Get(std::string("/api/v3/traces/") + kTrace, {{"maxSpans", "x"}}).status,
              400);
}

// A trace's logs carry at most the collector's log limit, and say so: "warnings" and
// X-Flowex-Logs-Omitted. `maxLogs` asks for more (0: all); a bad one is a 400.
TEST_F(QueryTest, ATracesLogsBeyondTheLogLimitSayHowManyAreLeftOutAndMaxLogsAsksForMore) {
    ExportLogsRequest req;
    auto* sl = testing::AddLogResource(&req, "wallet-service");
    for (int i = 0; i < 3; ++i) {
        auto* rec = sl->add_log_records();
        rec->set_time_unix_nano(kT0 + static_cast<std::uint64_t>(i) * kMs);
        rec->set_trace_id(testing::Id(kTrace));
        rec->set_span_id(testing::Id("b7ad6b7169203332"));
        rec->mutable_body()->set_string_value("line " + std::to_string(i));
    }
    auto decoded = DecodeLogs(req.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(decoded.ok());
    const DecodedLogs& logs = *decoded;
    ASSERT_TRUE(store_->Ingest({}, {&logs}).ok());

    const std::string path = std::string("/api/traces/") + kTrace + "/logs";
    auto bodies_and_warnings = [](const ApiResponse& r) {
        auto j = common::ParseJson(r.body);
        EXPECT_TRUE(j.ok()) << r.body;
        std::string bodies;
        for (const auto& rec : j->Find("data")->as_array()) {
            bodies += rec.Find("body")->as_string() + ";";
        }
        std::string warnings;
        if (const auto* w = j->Find("warnings"); w != nullptr) {
            for (const auto& text : w->as_array()) { warnings += text.as_string(); }
        }
        return std::make_pair(bodies, warnings);
    };
    ApiResponse r = api_->Get(path, {});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.logs_omitted, 0);
    EXPECT_EQ(bodies_and_warnings(r),
              std::make_pair(std::string("line 0;line 1;line 2;"), std::string()));

    QueryApi limited(*store_, metrics_, clock_, QueryApi::kDefaultMaxTraceSpans, 2);
    r = limited.Get(path, {});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.logs_omitted, 1);
    EXPECT_EQ(r.spans_omitted, 0);
    auto [bodies, warning] = bodies_and_warnings(r);
    EXPECT_EQ(bodies, "line 0;line 1;");
    EXPECT_NE(warning.find("1 log records of this trace are left out"), std::string::npos)
        << warning;
    EXPECT_NE(warning.find("maxLogs=0"), std::string::npos) << warning;

    r = limited.Get(path, {{"maxLogs", "0"}});
    EXPECT_EQ(r.logs_omitted, 0);
    EXPECT_EQ(bodies_and_warnings(r).first, "line 0;line 1;line 2;");
    EXPECT_EQ(bodies_and_warnings(limited.Get(path, {{"maxLogs", "1"}})).first, "line 0;");
    for (const char* bad : {"-1", "all", "2.5"}) {
        r = limited.Get(path, {{"maxLogs", bad}});
        EXPECT_EQ(r.status, 400) << bad;
        EXPECT_NE(r.body.find("maxLogs"), std::string::npos) << r.body;
    }
}

// A search's response shares the span limit among the traces it lists, each keeping its root:
// twenty runaway traces cost no more than one.
TEST_F(QueryTest, ASearchSharesTheSpanLimitAmongItsTracesAndKeepsEveryRoot) {
    const char* other = "1af7651916cd43dd8448eb211c80319c";
    ExportTraceRequest req;
    auto* gw = AddResource(&req, "client-gateway");
    AddSpan(gw, {other, "c7ad6b7169203331", "", "GET /v1/me", 2, kT0 + kMs, kT0 + 9 * kMs});
    for (const char* child : {"c7ad6b7169203332", "c7ad6b7169203333", "c7ad6b7169203334"}) {
        AddSpan(gw, {other, child, "c7ad6b7169203331", "verify_token", 1, kT0 + 2 * kMs,
                     kT0 + 3 * kMs});
    }
    DecodedTraces d = DecodeOrDie(req);
    ASSERT_TRUE(store_->Ingest({&d}, {}).ok());

    QueryApi limited(*store_, metrics_, clock_, 3);
    for (const char* path : {"/api/traces", "/api/v3/traces"}) {
        const bool v3 = std::string_view(path) == "/api/v3/traces";
        ApiResponse r =
            limited.Get(path, {{v3 ? "query.service_name" : "service", "client-gateway"}});
        ASSERT_EQ(r.status, 200) << r.body;
        auto j = common::ParseJson(r.body);
        ASSERT_TRUE(j.ok());
        std::size_t shown = 0;
        std::size_t roots = 0;
        if (v3) {
            for (const auto& rs : j->Find("result")->Find("resourceSpans")->as_array()) {
                for (const auto& ss : rs.Find("scopeSpans")->as_array()) {
                    for (const auto& span : ss.Find("spans")->as_array()) {
                        ++shown;
                        roots += span.Find("parentSpanId") == nullptr ||
                                 span.Find("parentSpanId")->as_string().empty();
                    }
                }
            }
        } else {
            ASSERT_EQ(j->Find("data")->as_array().size(), 2u);
            for (const auto& t : j->Find("data")->as_array()) {
                for (const auto& span : t.Find("spans")->as_array()) {
                    ++shown;
                    bool child = false;  // a link is a FOLLOWS_FROM reference, not a parent
                    for (const auto& ref : span.Find("references")->as_array()) {
                        child = child || ref.Find("refType")->as_string() == "CHILD_OF";
                    }
                    roots += child ? 0 : 1;
                }
            }
        }
        EXPECT_EQ(roots, 2u) << path;
        EXPECT_LE(shown, 3u + 1u) << path;  // the limit, and the root past it
        EXPECT_EQ(shown + static_cast<std::size_t>(r.spans_omitted), 6u) << path;
    }
}

// The search of /api/traces, one summary a trace (flowex extra): what the UI's search page
// shows, without every span.
TEST_F(QueryTest, TraceSummariesAnswerTheV1SearchWithOneSummaryATrace) {
    ExportTraceRequest other;
    AddSpan(AddResource(&other, "order-manager"),
            {"1af7651916cd43dd8448eb211c80319c", "c7ad6b7169203331", "", "POST /order", 2,
             kT0 + kMs, kT0 + 3 * kMs});
    DecodedTraces d = DecodeOrDie(other);
    ASSERT_TRUE(store_->Ingest({&d}, {}).ok());
    auto full = Get("/api/traces", {{"service", "client-gateway"}, {"lookback", "1h"}});
    auto j = Get("/api/trace-summaries", {{"service", "client-gateway"}, {"lookback", "1h"}});
    const auto& found = j.Find("data")->as_array();
    ASSERT_EQ(found.size(), 1u);
    ASSERT_EQ(full.Find("data")->as_array().size(), 1u);
    const auto& t = found[0];
    EXPECT_EQ(t.Find("traceID")->as_string(),
              full.Find("data")->as_array()[0].Find("traceID")->as_string());
    EXPECT_EQ(t.Find("rootService")->as_string(), "client-gateway");
    EXPECT_EQ(t.Find("rootOperation")->as_string(), "POST /v1/order");
    EXPECT_EQ(t.Find("startTime")->ToInt64(), static_cast<std::int64_t>(kT0 / 1000));
    EXPECT_EQ(t.Find("duration")->ToInt64(), 120000);
    EXPECT_EQ(t.Find("spanCount")->ToInt64(), 2);
    EXPECT_EQ(t.Find("errorCount")->ToInt64(), 1);
    ASSERT_EQ(t.Find("services")->as_array().size(), 1u);
    EXPECT_EQ(t.Find("services")->as_array()[0].Find("count")->ToInt64(), 2);
    EXPECT_EQ(t.Find("spans"), nullptr);
    EXPECT_EQ(j.Find("total")->ToInt64(), 1);
    EXPECT_EQ(Get("/api/trace-summaries", {{"lookback", "1h"}}).Find("data")->as_array().size(),
              2u);
    for (const char* symbol : {"AAPL", "MSFT"}) {
        QueryParams tagged{{"service", "client-gateway"},
                           {"tags", std::string(R"({"symbol":")") + symbol + R"("})"}};
        EXPECT_EQ(Get("/api/trace-summaries", tagged).Find("data")->as_array().size(),
                  Get("/api/traces", tagged).Find("data")->as_array().size())
            << symbol;
    }
    Get("/api/trace-summaries", {{"service", "client-gateway"}, {"minDuration", "soon"}}, 400);
    Get("/api/trace-summaries", {{"traceID", kTrace}}, 400);
}

TEST_F(QueryTest, SpmMetricsShape) {
    auto j = Get("/api/metrics/calls", {{"service", "client-gateway"},
                                        {"endTs", std::to_string((kT0 + 60'000 * kMs) / 1'000'000)},
                                        {"lookback", "600000"}, {"step", "60000"}, {"ratePer", "600000"}});
    EXPECT_EQ(j.Find("name")->as_string(), "service_call_rate");
    const auto& m = j.Find("metrics")->as_array().at(0);
    EXPECT_EQ(m.Find("labels")->as_array()[0].Find("name")->as_string(), "service_name");
    EXPECT_FALSE(m.Find("metricPoints")->as_array().empty());
    j = Get("/api/metrics/latencies", {{"service", "client-gateway"}, {"quantile", "0.95"},
                                       {"groupByOperation", "true"},
                                       {"endTs", std::to_string((kT0 + 60'000 * kMs) / 1'000'000)}});
    EXPECT_EQ(j.Find("name")->as_string(), "service_operation_latencies");
    std::string prom;
    metrics_.AppendPrometheus(&prom);
    EXPECT_NE(prom.find("flowex_span_calls_total{service=\"client-gateway\",operation=\"POST /v1/order\","
                        "span_kind=\"SPAN_KIND_SERVER\"} 1"),
              std::string::npos);
    EXPECT_NE(prom.find("flowex_traces_received_total{service=\"client-gateway\"} 1"), std::string::npos);
}

// Lines of a Prometheus text exposition that start with `prefix`.
std::vector<std::string> LinesStartingWith(const std::string& text, const std::string& prefix) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) { end = text.size(); }
        if (text.compare(pos, prefix.size(), prefix) == 0) {
            out.push_back(text.substr(pos, end - pos));
        }
        pos = end + 1;
    }
    return out;
}

TEST(RedMetricsTest, SeriesPastTheLimitCountInOneOverflowSeriesPerKind) {
    // An operation name holding an id makes a series per span; each held ~25 KB, without
    // bound (three 4 MB OTLP/JSON requests of such spans took a collector from 9 MB to 1.8 GB).
    RedMetrics metrics(3);
    std::vector<std::string> names;
    for (int i = 0; i < 6; ++i) { names.push_back("GET /orders/" + std::to_string(i)); }
    std::vector<SpanFact> facts;
    for (const std::string& name : names) {
        facts.push_back(SpanFact{"svc", name, 2, static_cast<std::int64_t>(kT0), 3'000'000, false});
    }
    facts.push_back(SpanFact{"svc", names[0], 2, static_cast<std::int64_t>(kT0), 3'000'000, true});
    facts.push_back(SpanFact{"svc", names[5], 2, static_cast<std::int64_t>(kT0), 3'000'000, true});
    facts.push_back(SpanFact{"svc", names[5], 3, static_cast<std::int64_t>(kT0), 3'000'000, false});
    std::vector<TraceSummary> traces(5);
    for (int i = 0; i < 5; ++i) { traces[i].root_service = "root-" + std::to_string(i); }
    metrics.Record(facts, traces);

    std::string prom;
    metrics.AppendPrometheus(&prom);
    EXPECT_EQ(LinesStartingWith(prom, "flowex_span_calls_total{service=").size(), 3u) << prom;
    EXPECT_EQ(
        LinesStartingWith(prom,
                          "flowex_span_calls_total{service=\"svc\",operation=\"GET /orders/0\","
                          "span_kind=\"SPAN_KIND_SERVER\"} 2")
            .size(),
        1u)
        << prom;
    // Orders 3, 4 and 5 (twice) as SERVER spans, 5 as a CLIENT span.
    EXPECT_EQ(LinesStartingWith(prom,
                                "flowex_span_calls_total{otel_metric_overflow=\"true\","
                                "span_kind=\"SPAN_KIND_SERVER\"} 4")
                  .size(),
              1u)
        << prom;
    EXPECT_EQ(LinesStartingWith(prom,
                                "flowex_span_calls_total{otel_metric_overflow=\"true\","
                                "span_kind=\"SPAN_KIND_CLIENT\"} 1")
                  .size(),
              1u)
        << prom;
    EXPECT_EQ(LinesStartingWith(prom,
                                "flowex_span_errors_total{otel_metric_overflow=\"true\","
                                "span_kind=\"SPAN_KIND_SERVER\"} 1")
                  .size(),
              1u)
        << prom;
    EXPECT_EQ(LinesStartingWith(prom,
                                "flowex_span_duration_seconds_count{otel_metric_overflow=\"true\","
                                "span_kind=\"SPAN_KIND_SERVER\"} 4")
                  .size(),
              1u)
        << prom;
    EXPECT_EQ(LinesStartingWith(prom, "flowex_traces_received_total{service=").size(), 3u) << prom;
    EXPECT_EQ(
        LinesStartingWith(prom, "flowex_traces_received_total{otel_metric_overflow=\"true\"} 2")
            .size(),
        1u)
        << prom;

    // The SPM API shows the kept series only.
    SpmQuery q;
    q.group_by_operation = true;
    q.end_ns = static_cast<std::int64_t>(kT0) + 60'000'000'000LL;
    auto spm = common::ParseJson(metrics.Spm("calls", q));
    ASSERT_TRUE(spm.ok());
    EXPECT_EQ(spm->Find("metrics")->as_array().size(), 3u);
}

TEST(Rfc3339, ParsesUtcAndOffsets) {
    std::int64_t ns = 0;
    ASSERT_TRUE(ParseRfc3339("2023-11-14T22:13:20Z", &ns));
    EXPECT_EQ(ns, 1'700'000'000'000'000'000LL);
    ASSERT_TRUE(ParseRfc3339("2023-11-14T23:13:20.5+01:00", &ns));
    EXPECT_EQ(ns, 1'700'000'000'500'000'000LL);
    EXPECT_FALSE(ParseRfc3339("yesterday", &ns));
}

}  // namespace
}  // namespace flowex::collector
