// flowex-bench-telemetry-echo: an HTTP echo server for the tracing-overhead benchmark
// (bench/telemetry/http_overhead.sh). POST /echo answers the body; GET /metrics the Prometheus
// text (with otel_sdk_spans_dropped_total). Tracing follows OTEL_* (OTEL_SDK_DISABLED=true for
// the untraced run). Usage: flowex-bench-telemetry-echo PORT
#include <cstdlib>
#include <string>

#include "flowex/http/server.hpp"
#include "flowex/telemetry/exporters/otlp_http.hpp"
#include "flowex/telemetry/instrumentation/http_middleware.hpp"
#include "flowex/telemetry/metrics/metrics.hpp"

int main(int argc, char** argv) {
    namespace telemetry = flowex::telemetry;
    namespace http = flowex::http;
    const int port = argc > 1 ? std::atoi(argv[1]) : 18080;
    auto provider = telemetry::exporters::InitTracingFromEnv(telemetry::ProcessEnv(),
                                                             {"bench-echo", "0.1.0"});
    auto& registry = telemetry::metrics::Registry::Default();
    telemetry::metrics::RegisterProcessMetrics(registry);
    telemetry::metrics::RegisterSdkMetrics(registry, *provider);
    http::Server server({.listen = {"127.0.0.1", static_cast<std::uint16_t>(port)}});
    server.Use(telemetry::HttpServerMiddleware({.tracer = provider->GetTracer("bench-echo")}));
    server.router().Post("/echo", http::Sync([](http::RequestContext& ctx) {
        return http::TextResponse(200, ctx.request.body);
    }));
    server.router().Get("/metrics", http::Sync([&registry](http::RequestContext&) {
        return http::TextResponse(200, registry.Render());
    }));
    server.StopOnSignals();
    const auto status = server.Run();
    provider->Shutdown(std::chrono::seconds(2));
    return status.ok() ? 0 : 2;
}
