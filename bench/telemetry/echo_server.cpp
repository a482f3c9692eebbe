// flowex-bench-telemetry-echo: the HTTP echo server of the tracing-overhead benchmark
// (bench/telemetry/http_overhead.sh), and the two export endpoints that benchmark needs.
//
//   flowex-bench-telemetry-echo PORT               POST /echo answers the body; GET /metrics the
//                                                  Prometheus text (otel_sdk_spans_dropped_total).
//                                                  Tracing follows OTEL_* (OTEL_SDK_DISABLED=true
//                                                  for the untraced run).
//   flowex-bench-telemetry-echo --sink PORT        an OTLP/HTTP endpoint that reads each export
//                                                  and answers 200, doing nothing else.
//   flowex-bench-telemetry-echo --black-hole PORT  accepts TCP connections (the kernel does) and
//                                                  never reads or answers.
// All three listen on 127.0.0.1 and run until SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "flowex/http/server.hpp"
#include "flowex/telemetry/exporters/otlp_http.hpp"
#include "flowex/telemetry/instrumentation/http_middleware.hpp"
#include "flowex/telemetry/metrics/metrics.hpp"
#include "loopback_sink.hpp"

namespace {

int Usage() {
    std::fprintf(stderr,
                 "usage: flowex-bench-telemetry-echo PORT\n"
                 "       flowex-bench-telemetry-echo --sink PORT\n"
                 "       flowex-bench-telemetry-echo --black-hole PORT\n");
    return 2;
}

// Blocks until SIGTERM or SIGINT.
void WaitForSignal() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    sigwait(&set, &sig);
}

void BlockSignals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts: they inherit it
}

int BlackHole(int port) {
    const int fd = flowex::bench::ListenLoopback(port, 1024);
    if (fd < 0) {
        std::perror("black hole: bind/listen");
        return 1;
    }
    WaitForSignal();
    close(fd);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    namespace telemetry = flowex::telemetry;
    namespace http = flowex::http;
    if (argc == 3 && std::string_view(argv[1]) == "--sink") {
        BlockSignals();
        flowex::bench::LoopbackSink sink(std::atoi(argv[2]));
        WaitForSignal();
        return 0;  // the sink's destructor closes the listener and joins its thread
    }
    if (argc == 3 && std::string_view(argv[1]) == "--black-hole") {
        BlockSignals();
        return BlackHole(std::atoi(argv[2]));
    }
    if (argc != 2 || argv[1][0] == '-') {
        return Usage();
    }
    const int port = std::atoi(argv[1]);
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
