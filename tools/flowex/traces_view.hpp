#pragma once
/// Parsing Jaeger v1 trace JSON and drawing it for a terminal: the trace table of
/// `flowex traces` and the waterfall of `flowex trace` (pure functions, tested).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowex/common/result.hpp"

namespace flowex::cli {

struct CliSpan {
    std::string span_id;
    std::string parent_id;
    std::string service;  // the process's service (or the peer for DB/cache client spans)
    std::string operation;
    std::int64_t start_us = 0;
    std::int64_t duration_us = 0;
    bool error = false;
};

struct CliTrace {
    std::string trace_id;
    std::vector<CliSpan> spans;
    std::vector<std::string> warnings;  // Jaeger's trace warnings (flowex: spans left out)
    std::int64_t Start() const;
    std::int64_t End() const;
    int Errors() const;
    const CliSpan* Root() const;  // the span without a parent here (earliest if several)
};

/// One row of `flowex traces`.
struct CliTraceSummary {
    std::string trace_id;
    std::int64_t start_us = 0;
    std::int64_t duration_us = 0;
    std::int64_t spans = 0;
    std::int64_t errors = 0;
    std::string root;  // "service: operation"
};

/// {"data":[trace…]} from /api/traces or /api/traces/{id}.
common::Result<std::vector<CliTrace>> ParseJaegerTraces(std::string_view body);
/// {"data":[summary…]} from flowex's /api/trace-summaries.
common::Result<std::vector<CliTraceSummary>> ParseTraceSummaries(std::string_view body);
/// The summary of a whole trace, as /api/trace-summaries would give it.
CliTraceSummary SummaryOf(const CliTrace& trace);

/// "152.3ms", "1.20s", "850µs".
std::string FormatDuration(std::int64_t us);

/// The waterfall: one line per span in tree order, `service: operation`, a bar scaled to the
/// trace, the duration; errors marked with ✗ (and red with colour); then the trace's warnings.
std::string RenderWaterfall(const CliTrace& trace, bool color, int bar_width = 40);
/// The table of `flowex traces`.
std::string RenderTraceTable(const std::vector<CliTraceSummary>& traces, bool color);

/// One record of flowex's /api/traces/{id}/logs.
struct CliLog {
    std::int64_t time_us = 0;
    std::string severity;
    std::string body;
    std::string span_id;
    std::string service;
};
struct CliTraceLogs {
    std::vector<CliLog> records;        // by time
    std::vector<std::string> warnings;  // flowex: records left out by the collector's log limit
};
/// {"data":[{timestamp, severity, body, spanID, service, …}], "warnings":[…]}.
common::Result<CliTraceLogs> ParseTraceLogs(std::string_view body);
/// The trace's log records under its waterfall: offset from the trace's start, service,
/// severity, the span's operation, body; then the warnings.
std::string RenderTraceLogs(const CliTrace& trace, const CliTraceLogs& logs, bool color);

}  // namespace flowex::cli
