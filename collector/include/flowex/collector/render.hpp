#pragma once
/// JSON renderings of stored traces: Jaeger's v1 model (the mapping Jaeger itself applies to
/// OTLP: span.kind tag, error=true for ERROR status, otel.status_code/description, events →
/// logs with an `event` field, parent → CHILD_OF, links → FOLLOWS_FROM, resource → process),
/// OTLP/JSON for v3, and flowex's trace summary and log record shapes. Pure functions.
#include <string>
#include <vector>

#include "flowex/collector/store.hpp"
#include "flowex/common/json.hpp"

namespace flowex::collector {

/// One Jaeger trace object {traceID, spans, processes, warnings} (null when none given).
void WriteJaegerTrace(common::JsonWriter& w, const otlp_trace::TracesData& trace,
                      const std::vector<std::string>& warnings = {});
/// OTLP/JSON resourceSpans elements (hex ids, int64 as strings, enums as ints), appended to
/// an open array.
void WriteOtlpResourceSpans(common::JsonWriter& w, const otlp_trace::TracesData& trace);
/// {traceID, rootService, rootOperation, startTime (µs), duration (µs), spanCount, errorCount,
///  services:[{name,count,errors}]}
void WriteTraceSummary(common::JsonWriter& w, const TraceSummary& s);
/// {"data":[{timestamp (µs), severity, body, attributes {k: v}, spanID, service}]}, by time,
/// and "warnings":[…] when there are any (records left out by the log limit).
std::string RenderTraceLogs(const otlp_logs::LogsData& logs,
                            const std::vector<std::string>& warnings = {});
/// Jaeger's span.kind tag value: "server", "client", … ("" for unspecified).
std::string SpanKindText(int kind);
/// Inverse (also accepts "SPAN_KIND_SERVER"); -1 when unknown.
int SpanKindFromText(std::string_view text);

}  // namespace flowex::collector
