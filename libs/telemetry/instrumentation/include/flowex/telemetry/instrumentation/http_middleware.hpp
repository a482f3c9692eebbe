#pragma once
/// Telemetry for libs/http (target flowex_telemetry_http): the server middleware and the
/// client observer, built on the transport-agnostic helpers in instrumentation.hpp.
///
///     server.Use(flowex::http::AccessLog());                       // outermost: final status
///     server.Use(telemetry::HttpServerMiddleware({.tracer = tracer}));
///     client.SetObserver(telemetry::HttpClientObserver(tracer, "wallet-service"));
///
/// The middleware extracts the incoming `traceparent`/`tracestate`/`baggage`, starts the
/// SERVER span `{METHOD} {route}`, and sets `RequestContext::trace` (what handlers pass to
/// clients and storage); the full `telemetry::Context`, with tracestate and baggage, is
/// `RequestTelemetryContext(ctx)`. After the chain answers it records the
/// status (5xx → ERROR, 4xx unset) and `http_server_request_duration_seconds`.
#include <memory>
#include <string>

#include "flowex/common/trace_context.hpp"
#include "flowex/http/client.hpp"
#include "flowex/http/context.hpp"
#include "flowex/telemetry/api/propagation.hpp"
#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/instrumentation/trace_context_bridge.hpp"
#include "flowex/telemetry/metrics/metrics.hpp"

namespace flowex::telemetry {

struct HttpServerMiddlewareOptions {
    Tracer tracer;  // no-op by default
    /// Duration histogram; nullptr: none. Default: metrics::HttpServerDuration() (global).
    metrics::Family<metrics::Histogram>* duration = &metrics::HttpServerDuration();
    /// nullptr: GlobalPropagator() at request time.
    const TextMapPropagator* propagator = nullptr;
    std::string scheme = "http";
};

http::Middleware HttpServerMiddleware(HttpServerMiddlewareOptions options);

/// The request's telemetry Context (span, tracestate, baggage) as the middleware set it;
/// without the middleware, one built from `ctx.trace`.
Context RequestTelemetryContext(const http::RequestContext& ctx);

/// CLIENT spans `{METHOD}` for every call of an http::Client, with context injection.
/// `peer_service` (optional) becomes service.peer.name/peer.service.
std::shared_ptr<http::ClientObserver> HttpClientObserver(
    Tracer tracer, std::string peer_service = {}, const TextMapPropagator* propagator = nullptr);

}  // namespace flowex::telemetry
