#pragma once
/// Conversions between the plain `common::TraceContext` that libs/http and libs/storage
/// carry and libs/telemetry's `Context`, plus helpers for business spans.
#include <string_view>

#include "flowex/common/error.hpp"
#include "flowex/common/trace_context.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::service {

telemetry::Context ToTelemetry(const common::TraceContext& trace);
common::TraceContext ToPlain(const telemetry::SpanContext& span);

/// Starts an INTERNAL (or other kind) span that is a child of `parent`.
telemetry::Span StartChild(const telemetry::Tracer& tracer, std::string_view name,
                           const common::TraceContext& parent,
                           telemetry::SpanKind kind = telemetry::SpanKind::kInternal);

/// DESIGN §5 failure marking for a business span: ERROR, error.type = the error code,
/// an `exception` event.
void MarkError(telemetry::Span& span, const common::Error& error);

}  // namespace flowex::service
