// flowex-collector: wiring only (flags → CollectorOptions → Collector).
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "flowex/collector/collector.hpp"
#include "flowex/common/config.hpp"

int main(int argc, char** argv) {
    flowex::collector::CollectorOptions o;
    std::int64_t queue = static_cast<std::int64_t>(o.queue_batches);
    std::int64_t max_body = static_cast<std::int64_t>(o.max_body_bytes);
    std::int64_t otlp_threads = o.otlp_threads;
    std::int64_t max_series = static_cast<std::int64_t>(o.max_metric_series);
    std::int64_t max_services = static_cast<std::int64_t>(o.max_services);
    std::string index_tags;
#ifdef FLOWEX_WEB_DIST
    if (std::filesystem::exists(std::filesystem::path(FLOWEX_WEB_DIST) / "index.html")) {
        o.ui_dir = FLOWEX_WEB_DIST;
    }
#endif
    flowex::common::Config cfg("flowex-collector",
                               "OTLP/HTTP receiver, embedded trace and log store, Jaeger-compatible query API and web UI.");
    cfg.Address("otlp-http-addr", "FLOWEX_COLLECTOR_OTLP_HTTP_ADDR", &o.otlp_addr, "OTLP/HTTP listen address (port 0: any)");
    cfg.Address("query-addr", "FLOWEX_COLLECTOR_QUERY_ADDR", &o.query_addr, "query API and web UI listen address");
    cfg.String("data-dir", "FLOWEX_COLLECTOR_DATA_DIR", &o.data_dir, "directory of the store's window files");
    cfg.Duration("max-age", "FLOWEX_COLLECTOR_MAX_AGE", &o.max_age, "delete data older than this (0: keep)");
    cfg.Bytes("max-bytes", "FLOWEX_COLLECTOR_MAX_BYTES", &o.max_bytes, "delete the oldest windows above this size (0: no limit)");
    cfg.Duration("window", "FLOWEX_COLLECTOR_WINDOW", &o.window, "time span of one store file");
    cfg.Duration("commit-interval", "FLOWEX_COLLECTOR_COMMIT_INTERVAL", &o.commit_interval,
                 "longest wait of stored batches for their index commit (0: a commit per batch)");
    cfg.String("ui-dir", "FLOWEX_COLLECTOR_UI_DIR", &o.ui_dir, "built web UI served at / (SPA fallback to index.html)");
    cfg.String("index-tags", "FLOWEX_COLLECTOR_INDEX_TAGS", &index_tags, "extra span attribute keys to index, comma separated");
    cfg.Int("queue-size", "FLOWEX_COLLECTOR_QUEUE_SIZE", &queue, "ingest queue length in batches (503 when full)", 1, 1 << 20);
    cfg.Int("otlp-threads", "FLOWEX_COLLECTOR_OTLP_THREADS", &otlp_threads,
            "threads that receive and decode OTLP requests", 1, 64);
    cfg.Bytes("max-body", "FLOWEX_COLLECTOR_MAX_BODY", &max_body, "largest OTLP request body (413 above)");
    cfg.Int("max-metric-series", "FLOWEX_COLLECTOR_MAX_METRIC_SERIES", &max_series,
            "span metrics series (service, operation, span kind) kept; spans of others count in an "
            "overflow series",
            1, 1'000'000);
    cfg.Int(
        "max-services", "FLOWEX_COLLECTOR_MAX_SERVICES", &max_services,
        "service names indexed; spans of services first seen past this are indexed as (overflow)",
        1, 10'000'000);
    cfg.Int("max-trace-spans", "FLOWEX_COLLECTOR_MAX_TRACE_SPANS", &o.max_trace_spans,
            "spans a trace response carries unless it asks for more with ?maxSpans= (the first to "
            "arrive, and every root span; 0: all)",
            0, INT64_MAX);
    cfg.Int("max-trace-logs", "FLOWEX_COLLECTOR_MAX_TRACE_LOGS", &o.max_trace_logs,
            "log records a trace's logs carry unless it asks for more with ?maxLogs= (the first "
            "to arrive; 0: all)",
            0, INT64_MAX);
    cfg.ParseOrExit(argc, argv);
    o.max_metric_series = static_cast<std::size_t>(max_series);
    o.max_services = static_cast<std::size_t>(max_services);
    o.queue_batches = static_cast<std::size_t>(queue);
    o.max_body_bytes = static_cast<std::size_t>(max_body);
    o.otlp_threads = static_cast<int>(otlp_threads);
    std::stringstream ss(index_tags);
    for (std::string tag; std::getline(ss, tag, ',');) {
        if (!tag.empty()) {
            o.index_tags.push_back(tag);
        }
    }
    // Under a file-size limit (ulimit -f) a write past it fails with EFBIG, answered 503 like a
    // full disk, instead of the signal's default: killing the process.
    std::signal(SIGXFSZ, SIG_IGN);
    auto c = flowex::collector::Collector::Create(o);
    if (!c) {
        std::fprintf(stderr, "flowex-collector: %s\n", c.error().message.c_str());
        return 2;
    }
    (*c)->StopOnSignals();
    if (auto st = (*c)->Start(); !st) {
        std::fprintf(stderr, "flowex-collector: %s\n", st.error().message.c_str());
        return 2;
    }
    std::fflush(stdout);
    (*c)->Wait();
    return 0;
}
