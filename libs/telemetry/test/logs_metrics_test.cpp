#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "flowex/telemetry/exporters/otlp_encode.hpp"
#include "flowex/telemetry/exporters/otlp_http.hpp"
#include "flowex/telemetry/instrumentation/instrumentation.hpp"
#include "flowex/telemetry/logs/logger.hpp"
#include "flowex/telemetry/metrics/metrics.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "test_util.hpp"

namespace flowex::telemetry {
namespace {

namespace json = boost::json;
using testing::TestProvider;

std::string TempPath(const std::string& name) {
    return ::testing::TempDir() + "/" + name + "-" + std::to_string(getpid());
}

std::vector<std::string> ReadLines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        lines.push_back(line);
    }
    return lines;
}

class MemoryLogExporter final : public logs::LogExporter {
public:
    std::vector<logs::LogRecordData> records;
    std::mutex mutex;
    std::string last_protobuf;
    sdk::ExportResult Export(std::span<const logs::LogRecordData* const> batch) noexcept override {
        std::lock_guard lock(mutex);
        for (const auto* r : batch) {
            records.push_back(*r);
        }
        last_protobuf.clear();
        exporters::EncodeLogsProtobuf(batch, last_protobuf);
        return sdk::ExportResult::kSuccess;
    }
};

TEST(TelemetryLogs, JsonLinesCarryTraceIdsAndBusinessFieldsAndRedactSecrets) {
    const std::string path = TempPath("flowex-log.jsonl");
    auto exporter = std::make_unique<MemoryLogExporter>();
    MemoryLogExporter* mem = exporter.get();
    auto processor = std::make_shared<logs::BatchLogProcessor>(std::move(exporter));
    TestProvider tp;
    {
        logs::Logger logger({.service_name = "order-manager",
                             .level = logs::Severity::kInfo,
                             .console = false,
                             .json_file = path,
                             .async = false,
                             .otlp = processor});
        Span span = tp.GetTracer().StartSpan("validate_order");
        const Context ctx = span.MakeContext(Context());
        logger.Info(ctx, "Validating order for user {}, symbol {}", 11, "AAPL");
        logger.Log(logs::Severity::kWarn, ctx, "Blocking $776.25 for user 11",
                   {{"user_id", 11},
                    {"amount", "776.25"},
                    {"password", "hunter2"},
                    {"username", "bob\xFF"}});  // a client's bytes need not be UTF-8
        logger.Debug(ctx, "filtered out {}", 1);
        {
            ScopedContext scope(ctx);
            logger.Error("from the current context");
        }
        logger.Info(Context(), "outside any span");
        logger.Flush();
        const auto lines = ReadLines(path);
        ASSERT_EQ(lines.size(), 4u);
        const auto first = json::parse(lines[0]).as_object();
        EXPECT_EQ(first.at("level").as_string(), "INFO");
        EXPECT_EQ(first.at("service").as_string(), "order-manager");
        EXPECT_EQ(first.at("message").as_string(), "Validating order for user 11, symbol AAPL");
        EXPECT_EQ(first.at("trace_id").as_string(), span.GetContext().GetTraceId().Hex());
        EXPECT_EQ(first.at("span_id").as_string(), span.GetContext().GetSpanId().Hex());
        EXPECT_TRUE(first.contains("timestamp"));
        const auto second = json::parse(lines[1]).as_object();
        EXPECT_EQ(second.at("level").as_string(), "WARN");
        EXPECT_EQ(second.at("user_id").as_int64(), 11);
        EXPECT_EQ(second.at("amount").as_string(), "776.25");
        EXPECT_EQ(second.at("password").as_string(), "[REDACTED]");
        EXPECT_EQ(lines[1].find("hunter2"), std::string::npos);
        EXPECT_EQ(second.at("username").as_string(), "bob\xEF\xBF\xBD");  // U+FFFD
        EXPECT_EQ(json::parse(lines[2]).at("trace_id").as_string(),
                  span.GetContext().GetTraceId().Hex());
        EXPECT_FALSE(json::parse(lines[3]).as_object().contains("trace_id"));
        ASSERT_TRUE(processor->ForceFlush(std::chrono::seconds(5)));
    }
    std::lock_guard lock(mem->mutex);
    ASSERT_EQ(mem->records.size(), 4u);
    EXPECT_EQ(mem->records[1].severity, logs::Severity::kWarn);
    EXPECT_TRUE(mem->records[1].trace_id.IsValid());
    EXPECT_FALSE(mem->records[3].trace_id.IsValid());
    opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
    ASSERT_TRUE(req.ParseFromString(mem->last_protobuf));
    EXPECT_GE(req.resource_logs(0).scope_logs(0).log_records_size(), 1);
    std::remove(path.c_str());
}

// The default (async) logger defers console and file lines to its writer thread — no
// wake-up per line — but writes an error at once, in order after what was pending, and
// everything on Flush and on destruction.
TEST(TelemetryLogs, DeferredLinesAreWrittenInOrderOnErrorFlushAndDestruction) {
    const std::string path = TempPath("flowex-deferred.jsonl");
    std::remove(path.c_str());
    {
        logs::Logger logger({.service_name = "wallet-service",
                             .console = false,
                             .json_file = path,
                             .write_interval = std::chrono::hours(1)});  // never by itself here
        logger.Info(Context(), "first");
        logger.Warn(Context(), "second");
        EXPECT_TRUE(ReadLines(path).empty());
        logger.Error(Context(), "third");
        auto lines = ReadLines(path);
        ASSERT_EQ(lines.size(), 3u);
        EXPECT_EQ(json::parse(lines[0]).at("message").as_string(), "first");
        EXPECT_EQ(json::parse(lines[2]).at("level").as_string(), "ERROR");
        logger.Info(Context(), "fourth");
        logger.Flush();
        EXPECT_EQ(ReadLines(path).size(), 4u);
        logger.Info(Context(), "fifth");
        EXPECT_EQ(logger.DroppedLines(), 0u);
    }
    const auto lines = ReadLines(path);
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(json::parse(lines[4]).at("message").as_string(), "fifth");
    std::remove(path.c_str());
}

TEST(TelemetryLogs, AccessLineFormat) {
    EXPECT_EQ(logs::FormatAccessLine("127.0.0.1", 54321, "POST", "/v1/order", "1.1", 201),
              "127.0.0.1:54321 - \"POST /v1/order HTTP/1.1\" 201 Created");
}

// Redaction matches a credential word anywhere in the key, in any case, at any key length.
TEST(TelemetryLogs, SecretKeysAreFoundInAnyCaseAndPosition) {
    for (const char* key :
         {"password", "PASSWORD", "db_Passwd", "client_secret", "X-Auth-Token", "authorization",
          "Authorization", "api_key", "ApiKey", "X-API-Key", "Set-Cookie", "aws_credentials",
          "PRIVATE_KEY_PEM", "token",
          "a_rather_long_field_name_well_past_the_small_string_buffer_token"}) {
        EXPECT_TRUE(logs::IsSecretKey(key)) << key;
    }
    for (const char* key : {"", "user_id", "symbol", "amount", "tok", "passw", "secre", "api key",
                            "order.value",
                            "a_rather_long_field_name_well_past_the_small_string_buf"}) {
        EXPECT_FALSE(logs::IsSecretKey(key)) << key;
    }
}

TEST(TelemetryLogs, OtlpLogExporterPostsToV1Logs) {
    testing::TestHttpServer server;
    exporters::OtlpHttpOptions o;
    o.endpoint = server.Url("/v1/logs");
    auto processor = std::make_shared<logs::BatchLogProcessor>(
        std::make_unique<exporters::OtlpHttpLogExporter>(o));
    logs::Logger logger({.service_name = "svc", .console = false, .async = false, .otlp = processor});
    logger.Info(Context(), "hello {}", "world");
    ASSERT_TRUE(processor->ForceFlush(std::chrono::seconds(10)));
    const auto seen = server.Seen();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].target, "/v1/logs");
    opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest req;
    ASSERT_TRUE(req.ParseFromString(seen[0].body));
    EXPECT_EQ(req.resource_logs(0).scope_logs(0).log_records(0).body().string_value(),
              "hello world");
    EXPECT_EQ(processor->Stats().exported, 1u);
}

// Records are built in reused slots: a record written where an earlier one was exported
// carries none of its fields, ids or text.
TEST(TelemetryLogs, ReusedRecordSlotsCarryNothingOver) {
    auto exporter = std::make_unique<MemoryLogExporter>();
    MemoryLogExporter* mem = exporter.get();
    auto processor = std::make_shared<logs::BatchLogProcessor>(std::move(exporter));
    TestProvider tp;
    logs::Logger logger(
        {.service_name = "svc", .console = false, .async = false, .otlp = processor});
    Span span = tp.GetTracer().StartSpan("op");
    const std::string long_text(1000, 'x');  // longer than a slot keeps: freed after export
    for (int round = 0; round < 3; ++round) {
        logger.Log(logs::Severity::kWarn, span.MakeContext(Context()), long_text,
                   {{"user_id", 11}, {"symbol", "AAPL"}});
        logger.Log(logs::Severity::kError, span.MakeContext(Context()), "second", {{"n", 2}});
        ASSERT_TRUE(processor->ForceFlush(std::chrono::seconds(5)));
        // Two plain groups: the slot sets alternate at each flush, so one of them lands on
        // the slots the two records above were written in.
        for (int group = 0; group < 2; ++group) {
            logger.Info(Context(), "plain {}", round);
            logger.Info(Context(), "plain too");
            ASSERT_TRUE(processor->ForceFlush(std::chrono::seconds(5)));
        }
    }
    std::lock_guard lock(mem->mutex);
    ASSERT_EQ(mem->records.size(), 18u);
    for (int round = 0; round < 3; ++round) {
        const auto* r = &mem->records[static_cast<std::size_t>(round) * 6];
        EXPECT_EQ(r[0].body, long_text);
        EXPECT_EQ(r[0].severity, logs::Severity::kWarn);
        EXPECT_EQ(r[0].attributes.size(), 2u);
        EXPECT_EQ(r[0].trace_id, span.GetContext().GetTraceId());
        EXPECT_EQ(r[1].body, "second");
        EXPECT_EQ(r[1].attributes.size(), 1u);
        for (const auto* plain : {&r[2], &r[3], &r[4], &r[5]}) {
            EXPECT_EQ(plain->severity, logs::Severity::kInfo);
            EXPECT_TRUE(plain->attributes.empty());
            EXPECT_FALSE(plain->trace_id.IsValid());
            EXPECT_FALSE(plain->span_id.IsValid());
            EXPECT_EQ(plain->trace_flags.value, 0);
        }
        EXPECT_EQ(r[2].body, "plain " + std::to_string(round));
        EXPECT_EQ(r[3].body, "plain too");
        EXPECT_EQ(r[4].body, "plain " + std::to_string(round));
        EXPECT_EQ(r[5].body, "plain too");
    }
    EXPECT_EQ(processor->Stats().exported, 18u);
    EXPECT_EQ(processor->Stats().dropped, 0u);
}

TEST(TelemetryLogs, BatchLogProcessorDropsWhenFull) {
    // An exporter stuck until released. The records it holds count against the queue: at most
    // four are kept, whether the worker has taken them yet or not.
    class Gate final : public logs::LogExporter {
    public:
        std::mutex mutex;
        std::condition_variable cv;
        bool open = false;
        sdk::ExportResult Export(std::span<const logs::LogRecordData* const>) noexcept override {
            std::unique_lock lock(mutex);
            cv.wait(lock, [&] { return open; });
            return sdk::ExportResult::kSuccess;
        }
    };
    auto gate = std::make_unique<Gate>();
    Gate* g = gate.get();
    logs::BatchLogProcessor p(std::move(gate), {.max_queue_size = 4,
                                                .schedule_delay = std::chrono::hours(1),
                                                .max_export_batch_size = 4});
    for (int i = 0; i < 100; ++i) {
        p.Emit(logs::LogRecordData{});  // never blocks, even with the exporter stuck
    }
    EXPECT_EQ(p.Stats().dropped, 96u);
    EXPECT_EQ(p.Stats().queue_size, 4u);
    EXPECT_EQ(p.Stats().queue_capacity, 4u);
    {
        std::lock_guard lock(g->mutex);
        g->open = true;
        g->cv.notify_all();
    }
    ASSERT_TRUE(p.ForceFlush(std::chrono::seconds(5)));
    EXPECT_EQ(p.Stats().exported + p.Stats().dropped, 100u);
}

std::string RunPromtool(const std::string& text, int* exit_code) {
    const std::string path = TempPath("metrics.prom");
    {
        std::ofstream out(path);
        out << text;
    }
    const std::string cmd = "promtool check metrics < " + path + " 2>&1";
    std::string output;
    FILE* pipe = popen(cmd.c_str(), "r");
    if (pipe == nullptr) {
        *exit_code = -1;
        return "popen failed";
    }
    char buf[512];
    while (fgets(buf, sizeof(buf), pipe) != nullptr) {
        output += buf;
    }
    const int status = pclose(pipe);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::remove(path.c_str());
    return output;
}

TEST(TelemetryLogs, BatchOptionsFromEnvReadAndClampTheBlrpVariables) {
    const auto o =
        logs::LogBatchOptionsFromEnv(MapEnv({{"OTEL_BLRP_MAX_QUEUE_SIZE", "100"},
                                             {"OTEL_BLRP_SCHEDULE_DELAY", "250"},
                                             {"OTEL_BLRP_EXPORT_TIMEOUT", "1000"},
                                             {"OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "500"}}));
    EXPECT_EQ(o.max_queue_size, 100u);
    EXPECT_EQ(o.schedule_delay.count(), 250);
    EXPECT_EQ(o.export_timeout.count(), 1000);
    EXPECT_EQ(o.max_export_batch_size, 100u);  // clamped to the queue
    const auto huge =
        logs::LogBatchOptionsFromEnv(MapEnv({{"OTEL_BLRP_MAX_QUEUE_SIZE", "1000000000000"},
                                             {"OTEL_BLRP_SCHEDULE_DELAY", "99999999999999999"}}));
    EXPECT_EQ(huge.max_queue_size, static_cast<std::size_t>(kMaxEnvQueueSize));
    EXPECT_EQ(huge.schedule_delay, kMaxEnvMillis);
    const auto d = logs::LogBatchOptionsFromEnv(MapEnv({{"OTEL_BLRP_SCHEDULE_DELAY", "-1"}}));
    EXPECT_EQ(d.max_queue_size, 2048u);
    EXPECT_EQ(d.schedule_delay.count(), 1000);
}

TEST(TelemetryMetrics, PrometheusTextPassesPromtoolAndHasTheNamedMetrics) {
    metrics::Registry registry;
    TestProvider tp;
    tp.GetTracer().StartSpan("op").End();
    // Three log records waiting: the processor exports after an hour or 512 records.
    logs::BatchLogProcessor log_processor(std::make_unique<MemoryLogExporter>(),
                                          {.schedule_delay = std::chrono::hours(1)});
    for (int i = 0; i < 3; ++i) {
        log_processor.Emit(logs::LogRecordData{});
    }
    metrics::RegisterProcessMetrics(registry);
    metrics::RegisterSdkMetrics(registry, *tp.provider, &log_processor);
    auto& orders = registry.AddCounter("flowex_orders_total", "Orders accepted.", {"symbol", "side"});
    orders.WithLabels({"AAPL", "BUY"}).Inc();
    orders.WithLabels({"we\"ird\\sym\nbol", "SELL"}).Inc(2);
    registry.AddGauge("flowex_open_orders", "Open orders in the books.").Get().Set(7);
    auto& duration = metrics::HttpServerDuration(registry);
    duration.WithLabels({"POST", "/v1/order", "201"}).Observe(0.012);
    duration.WithLabels({"POST", "/v1/order", "201"}).Observe(3);
    duration.WithLabels({"GET", "/me", "401"}).Observe(0.001);

    const std::string text = registry.Render();
    int code = 0;
    const std::string output = RunPromtool(text, &code);
    EXPECT_EQ(code, 0) << output << "\n" << text;
    EXPECT_EQ(output, "") << text;
    for (const char* name :
         {"# TYPE http_server_request_duration_seconds histogram",
          "http_server_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/order\","
          "status=\"201\",le=\"0.025\"} 1",
          "http_server_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/order\","
          "status=\"201\",le=\"+Inf\"} 2",
          "http_server_request_duration_seconds_count{method=\"POST\",route=\"/v1/order\","
          "status=\"201\"} 2",
          "http_server_request_duration_seconds_sum{method=\"GET\",route=\"/me\",status=\"401\"}",
          "# HELP process_cpu_seconds_total ", "process_resident_memory_bytes ",
          "process_start_time_seconds ", "otel_sdk_spans_started_total 1",
          "otel_sdk_spans_exported_total 1", "otel_sdk_spans_dropped_total 0",
          "otel_sdk_span_queue_size ", "otel_sdk_span_export_failures_total 0",
          "otel_sdk_logs_exported_total 0", "otel_sdk_logs_dropped_total 0",
          "otel_sdk_log_queue_size 3", "otel_sdk_log_queue_capacity 2048",
          "flowex_orders_total{symbol=\"AAPL\",side=\"BUY\"} 1",
          "flowex_orders_total{symbol=\"we\\\"ird\\\\sym\\nbol\",side=\"SELL\"} 2",
          "flowex_open_orders 7"}) {
        EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
    }
}

TEST(TelemetryMetrics, PromtoolRejectsBrokenTextSoTheCheckIsReal) {
    int code = 0;
    RunPromtool("# TYPE broken counter\nbroken{le=\"x\" 1\n", &code);
    EXPECT_NE(code, 0);
}

TEST(TelemetryMetrics, ConcurrentUpdatesAreNotLost) {
    metrics::Registry registry;
    auto& c = registry.AddCounter("hits_total", "Hits.").Get();
    auto& h = registry.AddHistogram("lat_seconds", "Latency.", {}).Get();
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) {
                c.Inc();
                h.Observe(0.01);
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(c.Value(), 40000.0);
    EXPECT_EQ(h.Count(), 40000u);
}

class MapCarrier final : public TextMapCarrier {
public:
    std::map<std::string, std::string, std::less<>> headers;
    std::string_view Get(std::string_view key) const noexcept override {
        const auto it = headers.find(key);
        return it == headers.end() ? std::string_view() : std::string_view(it->second);
    }
    void Set(std::string_view key, std::string_view value) noexcept override {
        headers[std::string(key)] = std::string(value);
    }
};

TEST(TelemetryInstrumentation, ServerSpanContinuesIncomingTraceAndFollowsSemconv) {
    TestProvider tp;
    metrics::Registry registry;
    MapCarrier headers;
    headers.headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    headers.headers["baggage"] = "user_id=11";
    instrumentation::ServerSpan server = instrumentation::StartServerSpan(
        tp.GetTracer(),
        {.method = "POST", .route = "/v1/order", .path = "/v1/order", .server_address = "localhost",
         .server_port = 8347, .client_address = "127.0.0.1", .client_port = 54321,
         .user_agent = "curl/7.88.1", .headers = &headers});
    EXPECT_EQ(server.context.GetSpanContext().GetTraceId().Hex(), "0af7651916cd43dd8448eb211c80319c");
    ASSERT_NE(server.context.GetBaggage().Get("user_id"), nullptr);
    // A downstream call made with the request context.
    MapCarrier outgoing;
    Span client = instrumentation::StartClientSpan(
        tp.GetTracer(), server.context,
        {.method = "GET", .url = "http://user-service:8101/me", .server_address = "user-service",
         .server_port = 8101},
        outgoing);
    EXPECT_EQ(outgoing.headers["traceparent"].substr(3, 32), "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(outgoing.headers["traceparent"].substr(36, 16), client.GetContext().GetSpanId().Hex());
    instrumentation::EndClientSpan(client, 404);
    instrumentation::EndServerSpan(server, 422, &metrics::HttpServerDuration(registry));

    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 2u);
    const auto& c = spans[0];
    EXPECT_EQ(c.name, "GET");
    EXPECT_EQ(c.kind, SpanKind::kClient);
    EXPECT_EQ(c.status_code, StatusCode::kError);  // 4xx on a client
    const auto& s = spans[1];
    EXPECT_EQ(s.name, "POST /v1/order");
    EXPECT_EQ(s.kind, SpanKind::kServer);
    EXPECT_EQ(s.parent_span_id.Hex(), "b7ad6b7169203331");
    EXPECT_TRUE(s.parent_is_remote);
    EXPECT_EQ(s.status_code, StatusCode::kUnset);  // 4xx on a server
    EXPECT_EQ(std::get<std::string>(*s.attributes.Find("http.request.method")), "POST");
    EXPECT_EQ(std::get<std::string>(*s.attributes.Find("http.route")), "/v1/order");
    EXPECT_EQ(std::get<std::string>(*s.attributes.Find("url.path")), "/v1/order");
    EXPECT_EQ(std::get<std::string>(*s.attributes.Find("url.scheme")), "http");
    EXPECT_EQ(std::get<std::int64_t>(*s.attributes.Find("server.port")), 8347);
    EXPECT_EQ(std::get<std::string>(*s.attributes.Find("client.address")), "127.0.0.1");
    EXPECT_EQ(s.attributes.Find("client.port"), nullptr);  // Opt-In in the semconv
    EXPECT_EQ(std::get<std::string>(*s.attributes.Find("network.protocol.version")), "1.1");
    EXPECT_EQ(std::get<std::string>(*s.attributes.Find("user_agent.original")), "curl/7.88.1");
    EXPECT_EQ(std::get<std::int64_t>(*s.attributes.Find("http.response.status_code")), 422);
    EXPECT_NE(registry.Render().find(
                  "http_server_request_duration_seconds_count{method=\"POST\",route=\"/v1/order\","
                  "status=\"422\"} 1"),
              std::string::npos);
}

TEST(TelemetryInstrumentation, Server5xxIsError) {
    TestProvider tp;
    auto server = instrumentation::StartServerSpan(tp.GetTracer(),
                                                   {.method = "GET", .route = "/me", .path = "/me"});
    instrumentation::EndServerSpan(server, 503);
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 1u);
    EXPECT_EQ(spans[0].status_code, StatusCode::kError);
    EXPECT_EQ(std::get<std::string>(*spans[0].attributes.Find("error.type")), "503");
}

TEST(TelemetryInstrumentation, PostgresAndRedisSpans) {
    TestProvider tp;
    const Context root;
    const auto sql = instrumentation::SummarizeSql(
        "UPDATE wallets SET blocked_balance = blocked_balance + $1 WHERE user_id = $2");
    EXPECT_EQ(sql.operation, "UPDATE");
    EXPECT_EQ(sql.table, "wallets");
    EXPECT_EQ(instrumentation::SummarizeSql("select h.symbol from holdings h join x on 1=1").table,
              "holdings");
    EXPECT_EQ(instrumentation::SummarizeSql("INSERT INTO orders (id) VALUES ($1)").table, "orders");
    Span db = instrumentation::StartPostgresSpan(
        tp.GetTracer(), root,
        {.operation = sql.operation, .table = sql.table,
         .query_text = "UPDATE wallets SET blocked_balance = blocked_balance + $1 WHERE user_id = $2",
         .server_address = "127.0.0.1", .server_port = 5432});
    db.End();
    Span redis = instrumentation::StartRedisSpan(
        tp.GetTracer(), root,
        {.operation = "publish", .span_name = "publish_event", .channel = "orders",
         .kind = SpanKind::kProducer});
    redis.End();
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(spans[0].name, "UPDATE wallets");
    EXPECT_EQ(spans[0].kind, SpanKind::kClient);
    for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
             {"db.system.name", "postgresql"}, {"db.operation.name", "UPDATE"},
             {"db.collection.name", "wallets"}, {"db.namespace", "stockexchange"},
             {"service.peer.name", "postgresql"}, {"peer.service", "postgresql"},
             {"server.address", "127.0.0.1"}}) {
        ASSERT_NE(spans[0].attributes.Find(k), nullptr) << k;
        EXPECT_EQ(std::get<std::string>(*spans[0].attributes.Find(k)), v) << k;
    }
    EXPECT_EQ(spans[1].name, "publish_event");
    EXPECT_EQ(spans[1].kind, SpanKind::kProducer);
    EXPECT_EQ(std::get<std::string>(*spans[1].attributes.Find("db.system.name")), "redis");
    EXPECT_EQ(std::get<std::string>(*spans[1].attributes.Find("db.operation.name")), "PUBLISH");
    EXPECT_EQ(std::get<std::string>(*spans[1].attributes.Find("service.peer.name")), "redis");
}

// The span name and db.operation.name upper-case the operation (ASCII only) whatever its length:
// short names are built on the stack, long ones on the heap, and both must read the same.
TEST(TelemetryInstrumentation, DatabaseSpanNamesUpperCaseTheOperationAtAnyLength) {
    TestProvider tp;
    const Context root;
    const std::string long_table(200, 't');
    const std::string long_operation = "select" + std::string(150, 'x');
    const struct {
        std::string_view operation;
        std::string_view table;
        std::string name;
        std::string operation_attribute;
    } cases[] = {
        {"select", "orders", "SELECT orders", "SELECT"},
        {"Delete", "", "DELETE", "DELETE"},
        {"update", long_table, "UPDATE " + long_table, "UPDATE"},
        {long_operation, "", "SELECT" + std::string(150, 'X'), "SELECT" + std::string(150, 'X')},
        {"insert", "caf\xc3\xa9s", "INSERT caf\xc3\xa9s", "INSERT"},  // the table is kept as is
    };
    for (const auto& c : cases) {
        Span db = instrumentation::StartPostgresSpan(
            tp.GetTracer(), root, {.operation = c.operation, .table = c.table});
        db.End();
    }
    Span short_redis = instrumentation::StartRedisSpan(tp.GetTracer(), root, {.operation = "get"});
    short_redis.End();
    Span long_redis =
        instrumentation::StartRedisSpan(tp.GetTracer(), root, {.operation = long_operation});
    long_redis.End();

    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), std::size(cases) + 2);
    for (std::size_t i = 0; i < std::size(cases); ++i) {
        EXPECT_EQ(spans[i].name, cases[i].name) << i;
        ASSERT_NE(spans[i].attributes.Find("db.operation.name"), nullptr) << i;
        EXPECT_EQ(std::get<std::string>(*spans[i].attributes.Find("db.operation.name")),
                  cases[i].operation_attribute)
            << i;
    }
    EXPECT_EQ(spans[std::size(cases)].name, "GET");
    EXPECT_EQ(std::get<std::string>(*spans[std::size(cases)].attributes.Find("db.operation.name")),
              "GET");
    EXPECT_EQ(spans[std::size(cases) + 1].name, "SELECT" + std::string(150, 'X'));
}

// A SERVER span is "{METHOD} {route}" (just the method without a route, "HTTP" for a method
// outside the known set), the route kept as is, short or long.
TEST(TelemetryInstrumentation, ServerSpanNamesAtAnyRouteLength) {
    TestProvider tp;
    const std::string long_route = "/v1/" + std::string(150, 'r');
    const struct {
        std::string_view method;
        std::string_view route;
        std::string name;
    } cases[] = {
        {"POST", "/internal/block-funds", "POST /internal/block-funds"},
        {"GET", long_route, "GET " + long_route},
        {"DELETE", "", "DELETE"},
        {"BREW", "/pot", "HTTP /pot"},
        {"BREW", long_route, "HTTP " + long_route},
    };
    for (const auto& c : cases) {
        auto server = instrumentation::StartServerSpan(
            tp.GetTracer(), {.method = c.method, .route = c.route, .path = "/p"});
        instrumentation::EndServerSpan(server, 200);
    }
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), std::size(cases));
    for (std::size_t i = 0; i < std::size(cases); ++i) {
        EXPECT_EQ(spans[i].name, cases[i].name) << i;
    }
}

}  // namespace
}  // namespace flowex::telemetry
