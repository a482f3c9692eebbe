#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <sstream>

#include "flowex/telemetry/api/propagation.hpp"
#include "flowex/telemetry/exporters/otlp_encode.hpp"
#include "flowex/telemetry/exporters/otlp_http.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "test_util.hpp"

namespace flowex::telemetry {
namespace {

namespace pb_trace = opentelemetry::proto::collector::trace::v1;
namespace pb_logs = opentelemetry::proto::collector::logs::v1;
namespace json = boost::json;
using testing::TestProvider;

std::string Bytes(const TraceId& id) { return std::string(id.bytes.begin(), id.bytes.end()); }
std::string Bytes(const SpanId& id) { return std::string(id.bytes.begin(), id.bytes.end()); }

// A representative pair of spans: parent SERVER with every attribute type, an event, a link,
// ERROR status; child CLIENT.
std::vector<sdk::SpanData> RecordSample(TestProvider& tp) {
    Tracer tracer = tp.GetTracer();
    const auto remote = ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    const Context incoming(*remote);
    Span server = tracer.StartSpan("POST /v1/order", {.kind = SpanKind::kServer, .parent = &incoming});
    server.SetAttribute("http.request.method", "POST");
    server.SetAttribute("http.response.status_code", 201);
    server.SetAttribute("order.value", 776.25);
    server.SetAttribute("cached", false);
    server.SetAttribute("big", std::int64_t{-9007199254740993});
    const std::string_view tags[] = {"a", "b\"quoted\""};
    server.SetAttribute("tags", std::span<const std::string_view>(tags));
    const double prices[] = {1.5, 2.25};
    server.SetAttribute("prices", std::span<const double>(prices));
    server.AddEvent("validated", {{"result", "accepted"}, {"reasons", 0}});
    server.AddLink(SpanContext(TraceId{{0xaa, 1}}, SpanId{{0xbb, 2}}, TraceFlags{1}, true),
                   std::span<const Attribute>());
    const Context ctx = server.MakeContext(incoming);
    Span client = tracer.StartSpan("POST", {.kind = SpanKind::kClient, .parent = &ctx});
    client.SetAttribute("server.port", 8102);
    client.End();
    server.RecordException("InsufficientFunds", "needs $776.25\nline two");
    server.SetStatus(StatusCode::kError, "insufficient_funds");
    server.End();
    return tp.storage->Spans();
}

std::vector<const sdk::SpanData*> Ptrs(const std::vector<sdk::SpanData>& spans) {
    std::vector<const sdk::SpanData*> out;
    for (const auto& s : spans) {
        out.push_back(&s);
    }
    return out;
}

TEST(TelemetryOtlpEncode, ProtobufDecodesToWhatWasRecorded) {
    TestProvider tp;
    const auto spans = RecordSample(tp);
    std::string body;
    exporters::EncodeTracesProtobuf(Ptrs(spans), body);
    pb_trace::ExportTraceServiceRequest req;
    ASSERT_TRUE(req.ParseFromString(body));
    ASSERT_EQ(req.resource_spans_size(), 1);
    const auto& rs = req.resource_spans(0);
    bool found_service = false;
    for (const auto& kv : rs.resource().attributes()) {
        if (kv.key() == "service.name") {
            found_service = kv.value().string_value() == "test-service";
        }
    }
    EXPECT_TRUE(found_service);
    ASSERT_EQ(rs.scope_spans_size(), 1);
    EXPECT_EQ(rs.scope_spans(0).scope().name(), "flowex.test");
    EXPECT_EQ(rs.scope_spans(0).scope().version(), "0.1");
    ASSERT_EQ(rs.scope_spans(0).spans_size(), 2);
    for (int i = 0; i < 2; ++i) {
        const auto& p = rs.scope_spans(0).spans(i);
        const auto& s = spans[static_cast<std::size_t>(i)];
        EXPECT_EQ(p.trace_id(), Bytes(s.trace_id));
        EXPECT_EQ(p.span_id(), Bytes(s.span_id));
        EXPECT_EQ(p.parent_span_id(), Bytes(s.parent_span_id));
        EXPECT_EQ(p.name(), s.name);
        EXPECT_EQ(static_cast<int>(p.kind()), static_cast<int>(s.kind));
        EXPECT_EQ(p.start_time_unix_nano(), s.start_time_unix_nano);
        EXPECT_EQ(p.end_time_unix_nano(), s.end_time_unix_nano);
        EXPECT_EQ(p.flags(), s.OtlpFlags());
        EXPECT_EQ(p.attributes_size(), static_cast<int>(s.attributes.size()));
        EXPECT_EQ(static_cast<int>(p.status().code()), static_cast<int>(s.status_code));
        EXPECT_EQ(p.status().message(), s.status_message);
    }
    const auto& server = rs.scope_spans(0).spans(1);
    EXPECT_EQ(server.flags(), 0x301u);  // sampled, has-is-remote, parent is remote
    std::map<std::string, opentelemetry::proto::common::v1::AnyValue> attrs;
    for (const auto& kv : server.attributes()) {
        attrs[kv.key()] = kv.value();
    }
    EXPECT_EQ(attrs["http.request.method"].string_value(), "POST");
    EXPECT_EQ(attrs["http.response.status_code"].int_value(), 201);
    EXPECT_DOUBLE_EQ(attrs["order.value"].double_value(), 776.25);
    EXPECT_TRUE(attrs["cached"].has_bool_value());
    EXPECT_FALSE(attrs["cached"].bool_value());
    EXPECT_EQ(attrs["big"].int_value(), -9007199254740993);
    ASSERT_EQ(attrs["tags"].array_value().values_size(), 2);
    EXPECT_EQ(attrs["tags"].array_value().values(1).string_value(), "b\"quoted\"");
    EXPECT_DOUBLE_EQ(attrs["prices"].array_value().values(1).double_value(), 2.25);
    ASSERT_EQ(server.events_size(), 2);
    EXPECT_EQ(server.events(0).name(), "validated");
    EXPECT_EQ(server.events(0).time_unix_nano(), spans[1].events[0].time_unix_nano);
    EXPECT_EQ(server.events(1).name(), "exception");
    EXPECT_EQ(server.events(1).attributes(1).value().string_value(), "needs $776.25\nline two");
    ASSERT_EQ(server.links_size(), 1);
    EXPECT_EQ(server.links(0).trace_id(), Bytes(spans[1].links[0].context.GetTraceId()));
    EXPECT_EQ(server.links(0).flags(), 0x301u);
    // Byte-for-byte what libprotobuf would write for the same message.
    EXPECT_EQ(req.SerializeAsString().size(), body.size());
}

TEST(TelemetryOtlpEncode, ProtobufGroupsByResourceAndScope) {
    TestProvider a;
    TestProvider b;
    a.GetTracer().StartSpan("a1").End();
    b.GetTracer().StartSpan("b1").End();
    a.provider->GetTracer("other").StartSpan("a2").End();
    auto sa = a.storage->Spans();
    auto sb = b.storage->Spans();
    std::vector<const sdk::SpanData*> mixed = {&sa[0], &sb[0], &sa[1]};
    std::string body;
    exporters::EncodeTracesProtobuf(mixed, body);
    pb_trace::ExportTraceServiceRequest req;
    ASSERT_TRUE(req.ParseFromString(body));
    ASSERT_EQ(req.resource_spans_size(), 2);
    EXPECT_EQ(req.resource_spans(0).scope_spans_size(), 2);
    EXPECT_EQ(req.resource_spans(1).scope_spans_size(), 1);
    EXPECT_EQ(req.resource_spans(0).scope_spans(1).spans(0).name(), "a2");
}

TEST(TelemetryOtlpEncode, JsonFollowsOtlpJsonRules) {
    TestProvider tp;
    const auto spans = RecordSample(tp);
    std::string body;
    exporters::EncodeTracesJson(Ptrs(spans), body);
    const json::value doc = json::parse(body);
    const auto& jspans = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array();
    ASSERT_EQ(jspans.size(), 2u);
    const auto& server = jspans[1].as_object();
    EXPECT_EQ(server.at("traceId").as_string(), spans[1].trace_id.Hex());
    EXPECT_EQ(server.at("spanId").as_string(), spans[1].span_id.Hex());
    EXPECT_EQ(server.at("parentSpanId").as_string(), "b7ad6b7169203331");
    EXPECT_EQ(server.at("kind").as_int64(), 2);
    EXPECT_EQ(server.at("startTimeUnixNano").as_string(),
              std::to_string(spans[1].start_time_unix_nano));
    EXPECT_EQ(server.at("status").at("code").as_int64(), 2);
    EXPECT_EQ(server.at("status").at("message").as_string(), "insufficient_funds");
    std::map<std::string, json::value> attrs;
    for (const auto& kv : server.at("attributes").as_array()) {
        attrs[std::string(kv.at("key").as_string())] = kv.at("value");
    }
    EXPECT_EQ(attrs["http.response.status_code"].at("intValue").as_string(), "201");
    EXPECT_EQ(attrs["big"].at("intValue").as_string(), "-9007199254740993");
    EXPECT_DOUBLE_EQ(attrs["order.value"].at("doubleValue").as_double(), 776.25);
    EXPECT_EQ(attrs["cached"].at("boolValue").as_bool(), false);
    EXPECT_EQ(attrs["tags"].at("arrayValue").at("values").at(1).at("stringValue").as_string(),
              "b\"quoted\"");
    EXPECT_EQ(server.at("events").at(1).at("attributes").at(1).at("value").at("stringValue")
                  .as_string(),
              "needs $776.25\nline two");
    EXPECT_EQ(server.at("links").at(0).at("traceId").as_string(),
              spans[1].links[0].context.GetTraceId().Hex());
    // The root-level client span has no parentSpanId only when it is a root: here it has one.
    EXPECT_EQ(jspans[0].at("parentSpanId").as_string(), spans[1].span_id.Hex());
}

TEST(TelemetryOtlpEncode, LogsProtobufAndJson) {
    sdk::Resource resource;
    resource.attributes.Set("service.name", "order-manager", 128, 0);
    sdk::InstrumentationScope scope{"flowex.logs", ""};
    logs::LogRecordData r;
    r.time_unix_nano = 1700000000123456789ULL;
    r.observed_time_unix_nano = r.time_unix_nano + 1;
    r.severity = logs::Severity::kWarn;
    r.body = "Blocking $776.25 for user 11";
    r.attributes.Set("user_id", 11, 128, 0);
    r.trace_id = TraceId{{1, 2, 3}};
    r.span_id = SpanId{{4, 5, 6}};
    r.trace_flags = TraceFlags{1};
    r.resource = &resource;
    r.scope = &scope;
    const logs::LogRecordData* one[] = {&r};
    std::string body;
    exporters::EncodeLogsProtobuf(one, body);
    pb_logs::ExportLogsServiceRequest req;
    ASSERT_TRUE(req.ParseFromString(body));
    const auto& lr = req.resource_logs(0).scope_logs(0).log_records(0);
    EXPECT_EQ(lr.time_unix_nano(), r.time_unix_nano);
    EXPECT_EQ(lr.observed_time_unix_nano(), r.observed_time_unix_nano);
    EXPECT_EQ(static_cast<int>(lr.severity_number()), 13);
    EXPECT_EQ(lr.severity_text(), "WARN");
    EXPECT_EQ(lr.body().string_value(), r.body);
    EXPECT_EQ(lr.trace_id(), Bytes(r.trace_id));
    EXPECT_EQ(lr.span_id(), Bytes(r.span_id));
    EXPECT_EQ(lr.flags(), 1u);
    EXPECT_EQ(lr.attributes(0).value().int_value(), 11);

    std::string text;
    exporters::EncodeLogsJson(one, text);
    const json::value doc = json::parse(text);
    const auto& jr = doc.at("resourceLogs").at(0).at("scopeLogs").at(0).at("logRecords").at(0);
    EXPECT_EQ(jr.at("timeUnixNano").as_string(), "1700000000123456789");
    EXPECT_EQ(jr.at("severityNumber").as_int64(), 13);
    EXPECT_EQ(jr.at("traceId").as_string(), r.trace_id.Hex());
    EXPECT_EQ(jr.at("body").at("stringValue").as_string(), r.body);
}

// Bytes from clients (a User-Agent, a path) need not be UTF-8, yet protobuf `string` fields and
// JSON must be: each byte that starts no well-formed sequence goes out as U+FFFD, in both
// encodings, in every kind of string field; well-formed text (é, emoji) is left alone.
TEST(TelemetryOtlpEncode, InvalidUtf8GoesOutAsReplacementCharactersProtobufAndJson) {
    TestProvider tp;
    Tracer tracer = tp.GetTracer();
    Span span = tracer.StartSpan("GET /caf\xC3\xA9/\xFF");
    span.SetAttribute("user_agent.original", "curl\xC0\xAF/8 \xF0\x9F\x9A\x80");
    span.SetAttribute(std::string_view("k\xE2\x82"), "v");
    span.AddEvent("ev\xED\xA0\x80", {{"a", "b\x80"}});
    span.SetStatus(StatusCode::kError, "bad \xF4\x90\x80\x80");
    span.End();
    const auto spans = tp.storage->Spans();
    const std::string fffd = "\xEF\xBF\xBD";

    std::string body;
    exporters::EncodeTracesProtobuf(Ptrs(spans), body);
    pb_trace::ExportTraceServiceRequest req;
    ASSERT_TRUE(req.ParseFromString(body));  // the official parser verifies UTF-8
    const auto& ps = req.resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(ps.name(), "GET /caf\xC3\xA9/" + fffd);
    std::map<std::string, std::string> attrs;
    for (const auto& kv : ps.attributes()) { attrs[kv.key()] = kv.value().string_value(); }
    EXPECT_EQ(attrs["user_agent.original"], "curl" + fffd + fffd + "/8 \xF0\x9F\x9A\x80");
    EXPECT_EQ(attrs["k" + fffd + fffd], "v");
    EXPECT_EQ(ps.events(0).name(), "ev" + fffd + fffd + fffd);
    EXPECT_EQ(ps.events(0).attributes(0).value().string_value(), "b" + fffd);
    EXPECT_EQ(ps.status().message(), "bad " + fffd + fffd + fffd + fffd);

    std::string text;
    exporters::EncodeTracesJson(Ptrs(spans), text);
    const json::value doc = json::parse(text);  // throws on invalid UTF-8
    const auto& js = doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").at(0);
    EXPECT_EQ(js.at("name").as_string(), ps.name());
    EXPECT_EQ(js.at("status").at("message").as_string(), ps.status().message());

    logs::LogRecordData r;
    r.body = "user \xFE\xFFname";
    const logs::LogRecordData* one[] = {&r};
    std::string log_body;
    exporters::EncodeLogsProtobuf(one, log_body);
    pb_logs::ExportLogsServiceRequest logs_req;
    ASSERT_TRUE(logs_req.ParseFromString(log_body));
    EXPECT_EQ(logs_req.resource_logs(0).scope_logs(0).log_records(0).body().string_value(),
              "user " + fffd + fffd + "name");
    std::string log_text;
    exporters::EncodeLogsJson(one, log_text);
    EXPECT_EQ(json::parse(log_text)
                  .at("resourceLogs")
                  .at(0)
                  .at("scopeLogs")
                  .at(0)
                  .at("logRecords")
                  .at(0)
                  .at("body")
                  .at("stringValue")
                  .as_string(),
              "user " + fffd + fffd + "name");
}

std::string Gunzip(const std::string& in) {
    z_stream zs{};
    inflateInit2(&zs, 15 + 16);
    std::string out(in.size() * 20 + 1024, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    inflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return out;
}

exporters::OtlpHttpOptions FastOptions(const testing::TestHttpServer& server) {
    exporters::OtlpHttpOptions o;
    o.endpoint = server.Url("/v1/traces");
    o.timeout = std::chrono::milliseconds(2000);
    o.retry.initial_backoff = std::chrono::milliseconds(1);
    o.retry.max_backoff = std::chrono::milliseconds(4);
    o.retry.max_retry_after = std::chrono::milliseconds(5);
    o.retry.max_attempts = 4;
    return o;
}

TEST(TelemetryOtlpHttp, RetriesOn429And503HonouringRetryAfter) {
    testing::TestHttpServer server({{429, "1"}, {503, "Wed, 21 Oct 2015 07:28:00 GMT"}, {200, ""}});
    exporters::OtlpHttpSpanExporter exporter(FastOptions(server));
    TestProvider tp;
    const auto spans = RecordSample(tp);
    EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kSuccess);
    EXPECT_EQ(server.Requests(), 3);
    const auto stats = exporter.Stats();
    EXPECT_EQ(stats.attempts, 3u);
    EXPECT_EQ(stats.retries, 2u);
    EXPECT_EQ(stats.retry_after_used, 2u);
    EXPECT_EQ(stats.successes, 1u);
    // Every attempt carried the same, decodable payload.
    for (const auto& seen : server.Seen()) {
        EXPECT_EQ(seen.target, "/v1/traces");
        EXPECT_EQ(seen.content_type, "application/x-protobuf");
        pb_trace::ExportTraceServiceRequest req;
        EXPECT_TRUE(req.ParseFromString(seen.body));
    }
}

TEST(TelemetryOtlpHttp, RetriesOn502And504WithBackoffThenGivesUp) {
    testing::TestHttpServer server({{502, ""}, {504, ""}, {503, ""}, {503, ""}, {503, ""}});
    exporters::OtlpHttpSpanExporter exporter(FastOptions(server));
    TestProvider tp;
    const auto spans = RecordSample(tp);
    EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kFailure);
    EXPECT_EQ(server.Requests(), 4);  // max_attempts
    EXPECT_EQ(exporter.Stats().failures, 1u);
    EXPECT_EQ(exporter.Stats().retry_after_used, 0u);
}

TEST(TelemetryOtlpHttp, NeverRetries400Or500) {
    for (const int status : {400, 500, 413}) {
        testing::TestHttpServer server({{status, "1"}});
        exporters::OtlpHttpSpanExporter exporter(FastOptions(server));
        TestProvider tp;
        const auto spans = RecordSample(tp);
        EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kFailure);
        EXPECT_EQ(server.Requests(), 1) << status;
        EXPECT_EQ(exporter.Stats().last_status, status);
    }
}

TEST(TelemetryOtlpHttp, ConnectionRefusedIsRetriedThenFails) {
    unsigned short port = 0;
    {
        testing::TestHttpServer gone;
        port = gone.Port();
    }
    exporters::OtlpHttpOptions o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
    o.timeout = std::chrono::milliseconds(500);
    o.retry.initial_backoff = std::chrono::milliseconds(1);
    o.retry.max_attempts = 2;
    exporters::OtlpHttpSpanExporter exporter(o);
    TestProvider tp;
    const auto spans = RecordSample(tp);
    EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kFailure);
    EXPECT_EQ(exporter.Stats().attempts, 2u);
    EXPECT_EQ(exporter.Stats().last_status, 0);
}

// An endpoint that accepts connections and never answers (a listening socket nobody
// accepts on: the kernel completes the handshake). With an hour-long OTLP timeout the final
// export at shutdown would wait an hour; a processor's Shutdown that times out shuts the
// exporter down, which ends the export, so the worker stops and the process can exit.
TEST(TelemetryOtlpHttp, ShutdownEndsAnExportToAnEndpointThatNeverAnswers) {
    const int hole = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(hole, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(hole, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_EQ(::listen(hole, 16), 0);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::getsockname(hole, reinterpret_cast<sockaddr*>(&addr), &len), 0);

    exporters::OtlpHttpOptions o;
    o.endpoint = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/v1/traces";
    o.timeout = std::chrono::hours(1);
    o.retry.max_attempts = 3;
    auto exporter = std::make_unique<exporters::OtlpHttpSpanExporter>(o);
    const exporters::OtlpHttpSpanExporter* otlp = exporter.get();
    sdk::TracerProviderOptions po;
    po.sampler = sdk::AlwaysOnSampler();
    po.processor = std::make_unique<sdk::BatchSpanProcessor>(std::move(exporter));
    sdk::TracerProvider provider(std::move(po));
    { Span span = provider.GetTracer("t").StartSpan("op"); }
    // The final export is waiting for an answer that never comes: not done in time...
    EXPECT_FALSE(provider.Shutdown(std::chrono::milliseconds(50)));
    // ...but ended by it: the worker stops (without the abort this waits the full 30 s).
    EXPECT_TRUE(provider.Shutdown(std::chrono::seconds(30)));
    EXPECT_EQ(otlp->Stats().successes, 0u);
    EXPECT_GE(otlp->Stats().failures, 1u);
    ::close(hole);
}

TEST(TelemetryOtlpHttp, JsonGzipHeadersAndKeepAlive) {
    testing::TestHttpServer server;
    auto o = FastOptions(server);
    o.protocol = exporters::OtlpProtocol::kHttpJson;
    o.gzip = true;
    o.headers = {{"authorization", "Bearer not-logged"}};
    exporters::OtlpHttpSpanExporter exporter(o);
    TestProvider tp;
    const auto spans = RecordSample(tp);
    EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kSuccess);
    EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kSuccess);
    const auto seen = server.Seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].content_type, "application/json");
    EXPECT_EQ(seen[0].content_encoding, "gzip");
    EXPECT_EQ(seen[0].authorization, "Bearer not-logged");
    const json::value doc = json::parse(Gunzip(seen[0].body));
    EXPECT_EQ(doc.at("resourceSpans").at(0).at("scopeSpans").at(0).at("spans").as_array().size(),
              2u);
}

// What the process's default spdlog logger writes while this lives (the exporter's warnings).
class CapturedLog {
public:
    CapturedLog() : previous_(spdlog::default_logger()) {
        spdlog::set_default_logger(std::make_shared<spdlog::logger>(
            "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)));
    }
    ~CapturedLog() { spdlog::set_default_logger(previous_); }
    std::string Text() {
        spdlog::default_logger()->flush();
        return out_.str();
    }

private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

TEST(TelemetryOtlpHttp, EndpointUserinfoIsBasicAuthAndNeverLogged) {
    CapturedLog log;
    testing::TestHttpServer server({{200, ""}, {400, ""}});
    auto o = FastOptions(server);
    const std::string port = std::to_string(server.Port());
    // Any case of the scheme (RFC 3986); user "al@ice", password "s3cr:t", percent-encoded.
    o.endpoint = "HTTP://al%40ice:s3cr%3At@127.0.0.1:" + port + "/v1/traces?tenant=7#frag";
    exporters::OtlpHttpSpanExporter exporter(o);
    TestProvider tp;
    const auto spans = RecordSample(tp);
    EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kSuccess);
    EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kFailure);  // the 400
    const auto seen = server.Seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].authorization, "Basic YWxAaWNlOnMzY3I6dA==");  // base64("al@ice:s3cr:t")
    EXPECT_EQ(seen[0].host, "127.0.0.1:" + port);
    EXPECT_EQ(seen[0].target, "/v1/traces?tenant=7");
    const std::string text = log.Text();
    EXPECT_NE(text.find("HTTP://***@127.0.0.1:" + port + "/v1/traces?*** failed: HTTP 400"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("s3cr"), std::string::npos) << text;
    EXPECT_EQ(text.find("tenant"), std::string::npos) << text;
}

TEST(TelemetryOtlpHttp, AnUnusableEndpointIsNamedWithoutItsCredentialsAndSendsNothing) {
    const std::pair<std::string, std::string> cases[] = {
        {"https://me:hunter2@collector.example:4318/v1/traces", "https is not supported"},
        {"grpc://me:hunter2@collector:4317", "only http://"},
        {"collector:4318/v1/traces", "only http://"},
        {"http://me:hunter2@collector:99999/v1/traces", "port is not a number from 1 to 65535"},
        {"http://me:hunter2@collector:-1/v1/traces", "port is not a number"},
        {"http://me:hunter2@:4318/v1/traces", "host is missing"},
        {"http://me:hunter2@[::1:4318/v1/traces", "[IPv6]"},
    };
    for (const auto& [endpoint, why] : cases) {
        CapturedLog log;
        exporters::OtlpHttpOptions o;
        o.endpoint = endpoint;
        exporters::OtlpHttpSpanExporter exporter(o);
        TestProvider tp;
        const auto spans = RecordSample(tp);
        EXPECT_EQ(exporter.Export(Ptrs(spans)), sdk::ExportResult::kFailure) << endpoint;
        EXPECT_EQ(exporter.Stats().attempts, 0u) << endpoint;
        const std::string text = log.Text();
        EXPECT_NE(text.find("unusable"), std::string::npos) << text;
        EXPECT_NE(text.find(why), std::string::npos) << text;
        EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
    }
}

TEST(TelemetryOtlpHttp, RedactEndpointHidesUserinfoAndQuery) {
    using exporters::RedactEndpoint;
    EXPECT_EQ(RedactEndpoint("http://collector:4318/v1/traces"), "http://collector:4318/v1/traces");
    EXPECT_EQ(RedactEndpoint("http://u:p@collector:4318/v1/traces?key=s#x"),
              "http://***@collector:4318/v1/traces?***");
    EXPECT_EQ(RedactEndpoint("http://a@b@collector?key=s"), "http://***@collector?***");
    EXPECT_EQ(RedactEndpoint("u:p@collector/x/y@z"), "***@collector/x/y@z");
    EXPECT_EQ(RedactEndpoint("http://collector#frag"), "http://collector");
    EXPECT_EQ(RedactEndpoint(""), "");
}

TEST(TelemetryOtlpHttp, RetryAfterParsing) {
    const auto now = std::chrono::system_clock::from_time_t(1445412480);  // 07:28:00 GMT
    EXPECT_EQ(exporters::ParseRetryAfter("120", now)->count(), 120000);
    EXPECT_EQ(exporters::ParseRetryAfter("Wed, 21 Oct 2015 07:28:30 GMT", now)->count(), 30000);
    EXPECT_EQ(exporters::ParseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now)->count(), 0);
    EXPECT_FALSE(exporters::ParseRetryAfter("soon", now).has_value());
    EXPECT_FALSE(exporters::ParseRetryAfter("-5", now).has_value());
    EXPECT_FALSE(exporters::ParseRetryAfter("12s", now).has_value());
    // A server may send any number or date: very long waits saturate (the exporter caps them
    // at max_retry_after) instead of overflowing into a negative or wrapped wait.
    const std::int64_t longest = exporters::ParseRetryAfter("4294967296", now)->count();
    EXPECT_EQ(longest, std::int64_t{4294967296} * 1000);
    EXPECT_EQ(exporters::ParseRetryAfter("9223372036854775807", now)->count(), longest);
    EXPECT_EQ(exporters::ParseRetryAfter("99999999999999999999999", now)->count(), longest);
    EXPECT_EQ(exporters::ParseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", now)->count(),
              (std::int64_t{4102444800} - 1445412480) * 1000);
    // Past 2262 a date no longer fits the system clock's nanoseconds.
    EXPECT_EQ(exporters::ParseRetryAfter("Wed, 01 Jan 3000 00:00:00 GMT", now)->count(), longest);
}

TEST(TelemetryOtlpHttp, OptionsFromEnv) {
    using exporters::OtlpSignal;
    auto base = exporters::OtlpHttpOptionsFromEnv(
        MapEnv({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"},
                {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=se%20cret, x = y, z=%-1%4"},
                {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"},
                {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
                {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9999/custom"}}),
        OtlpSignal::kTraces);
    EXPECT_EQ(base.endpoint, "http://collector:4318/v1/traces");
    ASSERT_EQ(base.headers.size(), 3u);
    EXPECT_EQ(base.headers[0].second, "se cret");
    EXPECT_EQ(base.headers[1].first, "x");
    EXPECT_EQ(base.headers[2].second, "%-1%4");  // not escapes: kept as they are
    EXPECT_EQ(base.timeout.count(), 2500);
    EXPECT_EQ(base.protocol, exporters::OtlpProtocol::kHttpJson);
    EXPECT_TRUE(base.gzip);
    auto logs = exporters::OtlpHttpOptionsFromEnv(
        MapEnv({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"},
                {"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://logs:9999/custom"},
                {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"}}),
        OtlpSignal::kLogs);
    EXPECT_EQ(logs.endpoint, "http://logs:9999/custom");
    EXPECT_EQ(logs.protocol, exporters::OtlpProtocol::kHttpProtobuf);
    EXPECT_EQ(exporters::OtlpHttpOptionsFromEnv(MapEnv({}), OtlpSignal::kLogs).endpoint,
              "http://localhost:4318/v1/logs");
    // A timeout too long for the clock is clamped; the signal's own variable wins.
    EXPECT_EQ(exporters::OtlpHttpOptionsFromEnv(
                  MapEnv({{"OTEL_EXPORTER_OTLP_TIMEOUT", "99999999999999999"}}), OtlpSignal::kLogs)
                  .timeout,
              kMaxEnvMillis);
    EXPECT_EQ(exporters::OtlpHttpOptionsFromEnv(
                  MapEnv({{"OTEL_EXPORTER_OTLP_TIMEOUT", "99999999999999999"},
                          {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"}}),
                  OtlpSignal::kTraces)
                  .timeout.count(),
              700);
}

TEST(TelemetryOtlpHttp, BatchProcessorExportsToCollectorEndToEnd) {
    testing::TestHttpServer server;
    sdk::TracerProviderOptions o;
    o.sampler = sdk::AlwaysOnSampler();
    o.processor = std::make_unique<sdk::BatchSpanProcessor>(
        std::make_unique<exporters::OtlpHttpSpanExporter>(FastOptions(server)));
    sdk::TracerProvider provider(std::move(o));
    for (int i = 0; i < 10; ++i) {
        provider.GetTracer("e2e").StartSpan("op").End();
    }
    ASSERT_TRUE(provider.ForceFlush(std::chrono::seconds(10)));
    int total = 0;
    for (const auto& seen : server.Seen()) {
        pb_trace::ExportTraceServiceRequest req;
        ASSERT_TRUE(req.ParseFromString(seen.body));
        total += req.resource_spans(0).scope_spans(0).spans_size();
    }
    EXPECT_EQ(total, 10);
    EXPECT_EQ(provider.Stats().processor.exported, 10u);
}

}  // namespace
}  // namespace flowex::telemetry
