#pragma once
/// Business log lines with the request's trace context (DESIGN §7): the context is installed
/// as telemetry's thread-local current context for the synchronous duration of the call, so
/// the trace-aware sinks that libs/telemetry puts on spdlog stamp trace_id/span_id on it.
#include <spdlog/spdlog.h>

#include "flowex/common/trace_context.hpp"
#include "flowex/service/trace_bridge.hpp"
#include "flowex/telemetry/api/context.hpp"

namespace flowex::service {

template <class... Args>
void LogInfo(const common::TraceContext& trace, spdlog::format_string_t<Args...> fmt,
             Args&&... args) {
    telemetry::ScopedContext scope(ToTelemetry(trace));
    spdlog::info(fmt, std::forward<Args>(args)...);
}

template <class... Args>
void LogWarn(const common::TraceContext& trace, spdlog::format_string_t<Args...> fmt,
             Args&&... args) {
    telemetry::ScopedContext scope(ToTelemetry(trace));
    spdlog::warn(fmt, std::forward<Args>(args)...);
}

template <class... Args>
void LogError(const common::TraceContext& trace, spdlog::format_string_t<Args...> fmt,
              Args&&... args) {
    telemetry::ScopedContext scope(ToTelemetry(trace));
    spdlog::error(fmt, std::forward<Args>(args)...);
}

}  // namespace flowex::service
