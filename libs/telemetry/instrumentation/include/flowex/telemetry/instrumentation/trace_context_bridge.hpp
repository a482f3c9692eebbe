#pragma once
/// common::TraceContext ⇄ SpanContext: libs/http and libs/storage carry the W3C context as
/// plain bytes (they do not depend on telemetry); these convert at the seam. Header-only.
#include "flowex/common/trace_context.hpp"
#include "flowex/telemetry/api/context.hpp"

namespace flowex::telemetry {

/// An invalid TraceContext gives an invalid SpanContext. The result is local (not remote).
inline SpanContext FromTraceContext(const common::TraceContext& trace) noexcept {
    if (!trace.valid()) {
        return SpanContext();
    }
    return SpanContext(TraceId{trace.trace_id}, SpanId{trace.span_id}, TraceFlags{trace.flags},
                       /*remote=*/false);
}

inline common::TraceContext ToTraceContext(const SpanContext& span) noexcept {
    common::TraceContext t;
    t.trace_id = span.GetTraceId().bytes;
    t.span_id = span.GetSpanId().bytes;
    t.flags = span.GetTraceFlags().value;
    return t;
}

}  // namespace flowex::telemetry
