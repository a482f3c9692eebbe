// libFuzzer target: the collector's query API (Jaeger v1 and v3, flowex's logs and metrics
// endpoints) on arbitrary paths and query strings, over a store holding a two-service trace
// with a log record. The input's first line is the path (percent-encoded, as a browser sends
// it), the rest the query string. Beyond not crashing: the answer is 200, 400 or 404 (the
// store is healthy, so never 500) and a JSON answer parses as JSON.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "flowex/collector/otlp_decode.hpp"
#include "flowex/collector/query_api.hpp"
#include "flowex/collector/red_metrics.hpp"
#include "flowex/collector/store.hpp"
#include "flowex/common/clock.hpp"
#include "flowex/common/json.hpp"
#include "flowex/http/message.hpp"

namespace {

namespace fc = flowex::collector;

void Check(bool condition) {
    if (!condition) { __builtin_trap(); }
}

std::string Span(std::string_view id, std::string_view parent, std::string_view name, int kind,
                 std::int64_t start_ns, std::string_view attrs) {
    return std::string(R"({"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":")") +
           std::string(id) + R"(","parentSpanId":")" + std::string(parent) + R"(","name":")" +
           std::string(name) + R"(","kind":)" + std::to_string(kind) + R"(,"startTimeUnixNano":")" +
           std::to_string(start_ns) + R"(","endTimeUnixNano":")" +
           std::to_string(start_ns + 5'000'000) + R"(","attributes":[)" + std::string(attrs) +
           R"(],"status":{"code":2,"message":"boom"}})";
}

std::string Resource(std::string_view service, const std::string& spans) {
    return std::string(
               R"({"resource":{"attributes":[{"key":"service.name","value":{"stringValue":")") +
           std::string(service) + R"("}}]},"scopeSpans":[{"spans":[)" + spans + "]}]}";
}

struct Fixture {
    std::filesystem::path dir;
    std::unique_ptr<fc::Store> store;
    fc::RedMetrics metrics;
    std::unique_ptr<fc::QueryApi> api;

    Fixture() {
        char tmpl[] = "/tmp/flowex-fuzz-collector-XXXXXX";
        Check(mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        fc::StoreOptions options;
        options.data_dir = dir.string();
        options.commit_interval = std::chrono::nanoseconds(0);
        store = std::move(fc::Store::Open(options)).value();

        const std::int64_t t0 = flowex::common::SystemClock().UnixNanos() - 60'000'000'000;
        const std::string status =
            R"({"key":"http.response.status_code","value":{"intValue":"503"}})";
        const std::string body =
            R"({"resourceSpans":[)" +
            Resource("client-gateway",
                     Span("b7ad6b7169203331", "", "POST /v1/order", 2, t0, status)) +
            "," +
            Resource(
                "order-manager",
                Span("b7ad6b7169203332", "b7ad6b7169203331", "INSERT orders", 3, t0 + 1'000'000,
                     R"({"key":"db.system.name","value":{"stringValue":"postgresql"}})")) +
            "]}";
        auto traces = fc::DecodeTraces(body, fc::Encoding::kJson);
        Check(traces.ok());
        const std::string log_body =
            R"({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"order-manager"}}]},)"
            R"("scopeLogs":[{"logRecords":[{"timeUnixNano":")" +
            std::to_string(t0 + 2'000'000) +
            R"(","severityNumber":17,"severityText":"ERROR","body":{"stringValue":"order rejected"},)"
            R"("traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203332"}]}]}]})";
        auto logs = fc::DecodeLogs(log_body, fc::Encoding::kJson);
        Check(logs.ok());
        auto outcome = store->Ingest({&*traces}, {&*logs});
        Check(outcome.ok() && outcome->spans == 2);
        metrics.Record(outcome->facts, outcome->new_traces);
        Check(store->Flush(true).ok());
        api = std::make_unique<fc::QueryApi>(*store, metrics, flowex::common::SystemClock());
    }
    ~Fixture() {
        api.reset();
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    static Fixture& Get() {
        static Fixture f;
        return f;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t newline = input.find('\n');
    const std::string path = flowex::http::PercentDecode(input.substr(0, newline), false);
    const auto params = flowex::http::ParseQuery(
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1));
    const fc::ApiResponse r = Fixture::Get().api->Get(path, params);
    Check(r.status == 200 || r.status == 400 || r.status == 404);
    if (r.content_type.starts_with("application/json")) {
        Check(flowex::common::ParseJson(r.body).ok());
    }
    return 0;
}
