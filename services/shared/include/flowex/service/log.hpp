#pragma once
/// Business log lines with the request's trace context (DESIGN §7): through the service's
/// telemetry logger (console line, JSON file with trace_id/span_id, OTLP log record) when the
/// runtime installed one, else spdlog's default logger.
#include <spdlog/spdlog.h>

#include "flowex/common/trace_context.hpp"
#include "flowex/service/observability.hpp"
#include "flowex/service/trace_bridge.hpp"

namespace flowex::service {

#define FLOWEX_SERVICE_LOG(Name, Method, Spd)                                              \
    template <class... Args>                                                               \
    void Name(const common::TraceContext& trace, fmt::format_string<Args...> fmt,          \
              Args&&... args) {                                                            \
        if (telemetry::logs::Logger* logger = ServiceLogger()) {                           \
            logger->Method(ToTelemetry(trace), fmt, std::forward<Args>(args)...);          \
        } else {                                                                           \
            spdlog::Spd(fmt, std::forward<Args>(args)...);                                 \
        }                                                                                  \
    }
FLOWEX_SERVICE_LOG(LogInfo, Info, info)
FLOWEX_SERVICE_LOG(LogWarn, Warn, warn)
FLOWEX_SERVICE_LOG(LogError, Error, error)
#undef FLOWEX_SERVICE_LOG

}  // namespace flowex::service
