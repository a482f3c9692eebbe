#pragma once
/// flowex-collector wired together: the OTLP/HTTP receiver (its own server, default :4318),
/// the query API + web UI server (default :16686), the store, the ingest queue and the RED
/// metrics. main.cpp only parses flags and calls this; tests start it on port 0.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "flowex/collector/query_api.hpp"
#include "flowex/collector/red_metrics.hpp"
#include "flowex/common/config.hpp"
#include "flowex/common/result.hpp"

namespace flowex::collector {

struct CollectorOptions {
    common::HostPort otlp_addr{"127.0.0.1", 4318};
    common::HostPort query_addr{"127.0.0.1", 16686};
    std::string data_dir = ".flowex/collector";
    std::chrono::nanoseconds max_age = std::chrono::hours(24 * 7);
    std::int64_t max_bytes = 2LL << 30;
    std::chrono::nanoseconds window = std::chrono::hours(1);
    std::chrono::nanoseconds commit_interval = std::chrono::seconds(2);  // StoreOptions
    std::string ui_dir;  // empty: no UI (the API still works)
    std::vector<std::string> index_tags;
    std::size_t max_body_bytes = 16 << 20;          // compressed or not: 413 above
    std::size_t max_decompressed_bytes = 64 << 20;  // gzip output: 413 above
    std::size_t queue_batches = 256;                // ingest queue: 503 + Retry-After when full
    std::size_t queue_bytes = 256 << 20;
    /// One by default: the writer thread does most of the work, and a second receiving thread
    /// cost 4 – 11 % more CPU in hand-offs (futex wake-ups) than it gained in parallel decoding
    /// (flowex-bench-collector-http side by side, docs/benchmarks.md).
    int otlp_threads = 1;
    int query_threads = 2;
    /// RED metrics series kept (RedMetrics): spans of further ones count as overflow.
    std::size_t max_metric_series = RedMetrics::kDefaultMaxSeries;
    std::size_t max_services = StoreOptions{}.max_services;  // StoreOptions
    /// Spans a trace response carries unless the request asks otherwise (0: all; QueryApi).
    std::int64_t max_trace_spans = QueryApi::kDefaultMaxTraceSpans;
    /// Log records `/api/traces/{id}/logs` carries unless the request asks otherwise (0: all).
    std::int64_t max_trace_logs = QueryApi::kDefaultMaxTraceLogs;
    bool print_listening = true;
    /// Test seam: runs on the writer thread before each commit (see IngestOptions).
    std::function<void()> before_commit;
    /// Where storing failures (and recovery) are reported; stderr when empty (IngestOptions).
    std::function<void(const std::string&)> report;
};

class Collector {
public:
    virtual ~Collector() = default;
    static common::Result<std::unique_ptr<Collector>> Create(CollectorOptions options);
    /// Binds both listeners (printing "listening on HOST:PORT" for each) and starts serving.
    virtual common::Status Start() = 0;
    /// SIGTERM / SIGINT → Stop().
    virtual void StopOnSignals() = 0;
    /// Graceful: stop accepting, finish in-flight requests, store every accepted batch.
    virtual void Stop() = 0;
    /// Blocks until stopped; afterwards every batch answered 200 is committed.
    virtual void Wait() = 0;
    virtual std::uint16_t otlp_port() const = 0;
    virtual std::uint16_t query_port() const = 0;
};

}  // namespace flowex::collector
