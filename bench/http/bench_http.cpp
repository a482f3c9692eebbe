// flowex-bench-http: the libs/http server as the services use it (router, middleware
// chain with the access log, JSON through libs/common), answering a keep-alive JSON echo.
//
//   POST /echo   body parsed with common::ParseJson and written back (400 on bad JSON)
//   GET  /echo   {"ok":true}
//
// Measured by bench/http/compare_nginx.sh against nginx-light with wrk.
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <sched.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "flowex/common/config.hpp"
#include "flowex/common/json.hpp"
#include "flowex/http/access_log.hpp"
#include "flowex/http/server.hpp"

namespace {

using flowex::http::awaitable;
using flowex::http::RequestContext;
using flowex::http::Response;

awaitable<Response> Echo(RequestContext& ctx) {
    if (ctx.request.method == flowex::http::Method::kGet) {
        co_return flowex::http::JsonResponse(200, R"({"ok":true})");
    }
    auto json = ctx.JsonBody();
    if (!json) { co_return ctx.Error(json.error()); }
    co_return flowex::http::JsonResponse(200, flowex::common::ToJson(*json));
}

}  // namespace

int main(int argc, char** argv) {
    flowex::common::HostPort listen{"127.0.0.1", 8080};
    std::string access_log = "/tmp/flowex-bench-http-access.log";
    std::int64_t threads = 1;
    std::string mode = "async";
    flowex::common::Config cfg(
        "flowex-bench-http",
        "A keep-alive JSON echo (POST/GET /echo) on the libs/http server: router, middleware "
        "chain and access log (async, to a file), one server thread by default.");
    cfg.Address("listen", "FLOWEX_LISTEN", &listen, "host:port to listen on (port 0: a free one)")
        .String("access-log", "FLOWEX_BENCH_ACCESS_LOG", &access_log,
                "file for the access log (async spdlog logger named 'access')")
        .Int("threads", "FLOWEX_BENCH_THREADS", &threads, "server io threads", 1, 64)
        .String("access-log-mode", "FLOWEX_BENCH_ACCESS_LOG_MODE", &mode,
                "async (the measured setup), sync, or off (to see what logging costs)");
    cfg.ParseOrExit(argc, argv);
    if (mode != "async" && mode != "sync" && mode != "off") {
        std::fprintf(stderr, "flowex-bench-http: --access-log-mode: async, sync or off\n");
        return 2;
    }

    // The access log goes through an async logger to a file, as a service's file log does.
    std::shared_ptr<spdlog::logger> logger;
    try {
        auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(access_log, true);
        if (mode == "async") {
            // The log writer is background work: SCHED_BATCH keeps it from preempting the
            // server thread on every wake-up, so it drains lines in batches.
            const char* policy = std::getenv("FLOWEX_BENCH_LOG_SCHED");  // batch (default) | other
            bool batch = policy == nullptr || std::string(policy) != "other";
            spdlog::init_thread_pool(65536, 1, [batch] {
                if (batch) {
                    sched_param param{};
                    sched_setscheduler(0, SCHED_BATCH, &param);
                }
            });
            logger = std::make_shared<spdlog::async_logger>(
                "access", sink, spdlog::thread_pool(), spdlog::async_overflow_policy::block);
        } else {
            logger = std::make_shared<spdlog::logger>("access", sink);
        }
    } catch (const spdlog::spdlog_ex& e) {
        std::fprintf(stderr, "flowex-bench-http: cannot open %s: %s\n", access_log.c_str(),
                     e.what());
        return 2;
    }
    logger->set_pattern("%^%l%$: %v");
    if (mode == "off") { logger->set_level(spdlog::level::off); }
    spdlog::register_logger(logger);

    flowex::http::ServerOptions options;
    options.listen = listen;
    options.threads = static_cast<int>(threads);
    flowex::http::Server server(options);
    server.Use(flowex::http::AccessLog({.logger_name = "access"}));
    server.router().Get("/echo", Echo);
    server.router().Post("/echo", Echo);
    server.StopOnSignals();
    flowex::common::Status st = server.Run();
    spdlog::shutdown();
    if (!st) {
        std::fprintf(stderr, "flowex-bench-http: %s\n", st.error().message.c_str());
        return 2;
    }
    return 0;
}
