#pragma once
/// Span-derived RED metrics (rate, errors, duration) per service, operation and span kind,
/// kept in memory from ingest: cumulative counters and a latency histogram for Prometheus, and
/// per-minute buckets of the last three hours for Jaeger's SPM API (/api/metrics/*).
/// After a restart they start empty (Prometheus sees a counter reset); they are not rebuilt
/// from the store. Thread-safe: Record from the writer, reads from any thread.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "flowex/collector/store.hpp"

namespace flowex::collector {

struct SpmQuery {
    std::vector<std::string> services;
    bool group_by_operation = false;
    std::vector<int> span_kinds;  // OTLP kinds; empty = server
    std::int64_t end_ns = 0;
    std::int64_t lookback_ns = 3600LL * 1'000'000'000;
    std::int64_t step_ns = 60LL * 1'000'000'000;
    std::int64_t rate_per_ns = 600LL * 1'000'000'000;
    double quantile = 0.95;
};

class RedMetrics {
public:
    static constexpr int kBuckets = 14;  // upper bounds in kBoundsMs, the last is +Inf
    static constexpr int kMinutes = 180;
    /// Series (service, operation, span kind) kept, ~25 KB each with their three hours of
    /// minutes: spans of any further one (an operation name holding an id, say) are counted in
    /// one overflow series per span kind, as OpenTelemetry's cardinality limit does (label
    /// `otel_metric_overflow="true"`); the SPM API does not show them. The same limit holds
    /// for the root services of flowex_traces_received_total.
    static constexpr std::size_t kDefaultMaxSeries = 2000;

    explicit RedMetrics(std::size_t max_series = kDefaultMaxSeries) : max_series_(max_series) {}

    void Record(const std::vector<SpanFact>& facts, const std::vector<TraceSummary>& new_traces);
    /// Prometheus text exposition of the span metrics (appended to `out`).
    void AppendPrometheus(std::string* out) const;
    /// Jaeger SPM MetricFamily JSON: kind is "latencies", "calls" or "errors".
    std::string Spm(const std::string& kind, const SpmQuery& q) const;

private:
    struct Minute {
        std::int64_t minute = -1;
        std::int64_t calls = 0;
        std::int64_t errors = 0;
        std::int64_t buckets[kBuckets] = {};
    };
    struct Series {
        std::int64_t calls = 0;
        std::int64_t errors = 0;
        double sum_seconds = 0;
        std::int64_t buckets[kBuckets] = {};
        std::vector<Minute> minutes = std::vector<Minute>(kMinutes);
    };
    using Key = std::tuple<std::string, std::string, int>;  // service, operation, kind
    // Orders a Key and a tuple of views of the same fields alike, so that a span's series is
    // found without copying its names. (std::less<> would compare the two tuple types through
    // libstdc++'s mixed-type tuple operators, which clang rejects.)
    struct KeyLess {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(const A& a, const B& b) const {
            return Views(a) < Views(b);
        }
        template <class T>
        static std::tuple<std::string_view, std::string_view, int> Views(const T& t) {
            return {std::get<0>(t), std::get<1>(t), std::get<2>(t)};
        }
    };
    Series& SeriesOf(const SpanFact& f);  // under mu_

    const std::size_t max_series_;
    mutable std::mutex mu_;
    std::map<Key, Series, KeyLess> series_;  // found by views: no copy of the names a span
    std::map<int, Series> overflow_;         // by span kind: spans of series past max_series_
    std::map<std::string, std::int64_t> traces_per_service_;
    std::int64_t overflow_traces_ = 0;  // new traces of root services past max_series_
};

}  // namespace flowex::collector
