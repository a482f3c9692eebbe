#include "flowex/service/trace_bridge.hpp"

#include <algorithm>

namespace flowex::service {

telemetry::Context ToTelemetry(const common::TraceContext& trace) {
    telemetry::TraceId tid;
    telemetry::SpanId sid;
    std::copy(trace.trace_id.begin(), trace.trace_id.end(), tid.bytes.begin());
    std::copy(trace.span_id.begin(), trace.span_id.end(), sid.bytes.begin());
    return telemetry::Context(
        telemetry::SpanContext(tid, sid, telemetry::TraceFlags{trace.flags}, false));
}

common::TraceContext ToPlain(const telemetry::SpanContext& span) {
    common::TraceContext t;
    const auto& tid = span.GetTraceId().bytes;
    const auto& sid = span.GetSpanId().bytes;
    std::copy(tid.begin(), tid.end(), t.trace_id.begin());
    std::copy(sid.begin(), sid.end(), t.span_id.begin());
    t.flags = span.GetTraceFlags().value;
    return t;
}

telemetry::Span StartChild(const telemetry::Tracer& tracer, std::string_view name,
                           const common::TraceContext& parent, telemetry::SpanKind kind) {
    telemetry::Context ctx = ToTelemetry(parent);
    return tracer.StartSpan(name, telemetry::SpanStartOptions{.kind = kind, .parent = &ctx});
}

void MarkError(telemetry::Span& span, const common::Error& error) {
    span.MarkError(common::ToString(error.code), error.message);
}

}  // namespace flowex::service
