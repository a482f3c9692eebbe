#pragma once
/// The query API as a pure function from (path, query parameters) to a response, with no HTTP
/// library in sight: Jaeger v1 (`/api/services`, `/api/services/{s}/operations`,
/// `/api/operations`, `/api/traces`, `/api/traces/{id}`, `/api/dependencies`,
/// `/api/metrics/{latencies,calls,errors}`), v3 (`/api/v3/services`, `/api/v3/operations`,
/// `/api/v3/traces`, `/api/v3/traces/{id}`, `/api/v3/trace-summaries`) and flowex's
/// `/api/traces/{id}/logs`. Thread-safe (the store and metrics are).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "flowex/collector/red_metrics.hpp"
#include "flowex/collector/store.hpp"
#include "flowex/common/clock.hpp"

namespace flowex::collector {

struct ApiResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    /// Spans the trace responses left out (the span limit): X-Flowex-Spans-Omitted when > 0.
    std::int64_t spans_omitted = 0;
    /// Log records a trace's logs left out (the log limit): X-Flowex-Logs-Omitted when > 0.
    std::int64_t logs_omitted = 0;
};

using QueryParams = std::vector<std::pair<std::string, std::string>>;

class QueryApi {
public:
    /// Spans a trace response carries by default: enough for any trace a person reads (Jaeger
    /// UI slows down past a few thousand), and a bounded read of a runaway one (a 200,000-span
    /// trace is 100 MB of JSON). A request asks for more with `maxSpans` (0: all).
    static constexpr std::int64_t kDefaultMaxTraceSpans = 50'000;
    /// Log records `/api/traces/{id}/logs` carries by default (the first to arrive), for the
    /// same reasons; a request asks for more with `maxLogs` (0: all).
    static constexpr std::int64_t kDefaultMaxTraceLogs = 50'000;

    QueryApi(const Store& store, const RedMetrics& metrics, const common::Clock& clock,
             std::int64_t max_trace_spans = kDefaultMaxTraceSpans,
             std::int64_t max_trace_logs = kDefaultMaxTraceLogs)
        : store_(store),
          metrics_(metrics),
          clock_(clock),
          max_trace_spans_(max_trace_spans),
          max_trace_logs_(max_trace_logs) {}

    /// Answers a GET for `path` (percent-decoded, without the query). Unknown /api paths → 404.
    ApiResponse Get(std::string_view path, const QueryParams& params) const;

    /// Parses Jaeger v1 search parameters (exposed for tests).
    common::Result<SearchQuery> ParseV1Search(const QueryParams& params) const;
    common::Result<SearchQuery> ParseV3Search(const QueryParams& params) const;

private:
    ApiResponse Services() const;
    ApiResponse ServiceOperations(const std::string& service) const;
    ApiResponse Operations(const QueryParams& params) const;
    ApiResponse Traces(const QueryParams& params) const;
    ApiResponse TraceSummaries(const QueryParams& params) const;
    ApiResponse Trace(std::string_view id, const QueryParams& params) const;
    ApiResponse TraceLogs(std::string_view id, const QueryParams& params) const;
    ApiResponse Dependencies(const QueryParams& params) const;
    ApiResponse Metrics(const std::string& kind, const QueryParams& params) const;
    ApiResponse V3Services() const;
    ApiResponse V3Operations(const QueryParams& params) const;
    ApiResponse V3Trace(std::string_view id, const QueryParams& params) const;
    ApiResponse V3Traces(const QueryParams& params, bool summaries) const;

    const Store& store_;
    const RedMetrics& metrics_;
    const common::Clock& clock_;
    std::int64_t max_trace_spans_;  // 0: no limit
    std::int64_t max_trace_logs_;   // 0: no limit
};

/// A trace id from hex (up to 32 digits; shorter ids are left-padded as Jaeger does); false
/// when not hex or all zero.
bool ParseTraceId(std::string_view hex, std::string* out);
/// RFC 3339 ("2026-11-29T14:37:44.123Z", offsets allowed) → Unix nanoseconds; false when
/// malformed or outside 1970 – 2096 (where the nanoseconds would come near int64's limit).
bool ParseRfc3339(std::string_view text, std::int64_t* unix_ns);

}  // namespace flowex::collector
