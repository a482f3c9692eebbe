#pragma once
/// libs/telemetry plugged into libs/http and libs/storage for a service process (DESIGN §5,
/// §7): the SERVER span middleware (context from `traceparent`, `X-Trace-Id` on every traced
/// response, trace_id in error bodies, the request-duration histogram), CLIENT spans for
/// calls to other services with `traceparent` injected, `{OPERATION} {table}` spans for
/// PostgreSQL and Redis, the trace-aware logger (access lines and business lines), and the
/// Prometheus registry served at /metrics.
#include <memory>
#include <string>
#include <vector>

#include "flowex/http/client.hpp"
#include "flowex/http/context.hpp"
#include "flowex/storage/observer.hpp"
#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/logs/logger.hpp"
#include "flowex/telemetry/metrics/metrics.hpp"

namespace flowex::service {

/// SERVER span per request, named `{METHOD} {route}`; fills ctx.trace; adds X-Trace-Id.
/// Put it first (outermost) so it sees every answer, 404/405/413 included. Requests on an
/// `untraced` route get no span (nor X-Trace-Id) but are measured all the same.
http::Middleware TracingMiddleware(
    telemetry::Tracer tracer, telemetry::metrics::Family<telemetry::metrics::Histogram>* duration,
    std::vector<std::string> untraced = {});

/// The access line of DESIGN §7 through the trace-aware logger, after the answer is known;
/// at debug level for a `quiet` route's request that did not fail (health checks, scrapes).
http::Middleware AccessLogMiddleware(std::shared_ptr<telemetry::logs::Logger> logger,
                                     std::vector<std::string> quiet = {});

/// CLIENT spans for calls through an http::Client; `peer_service` names the callee.
std::shared_ptr<http::ClientObserver> MakeClientTracer(telemetry::Tracer tracer,
                                                       std::string peer_service);

/// CLIENT spans for PostgreSQL queries and Redis commands.
std::shared_ptr<storage::DbObserver> MakeDbTracer(telemetry::Tracer tracer);

/// The process-wide service logger used by LogInfo/LogWarn/LogError (log.hpp). Until one
/// is set, lines go to spdlog's default logger.
void SetServiceLogger(std::shared_ptr<telemetry::logs::Logger> logger);
telemetry::logs::Logger* ServiceLogger() noexcept;

}  // namespace flowex::service
