#pragma once
/// Transport-agnostic instrumentation helpers (stable semantic conventions), used by the
/// libs/http middleware and client and by libs/storage. DESIGN §5:
///   HTTP server  SERVER "{METHOD} {route}"; parent extracted from the request headers;
///                http.request.method, http.route, url.path, url.scheme, server.address,
///                server.port, client.address, network.protocol.version, user_agent.original,
///                http.response.status_code; 5xx → ERROR (+ error.type), 4xx left unset;
///                http_server_request_duration_seconds{method,route,status}.
///   HTTP client  CLIENT "{METHOD}"; traceparent (+ tracestate, baggage) injected;
///                4xx and 5xx → ERROR; transport failures → ERROR with error.type.
///   PostgreSQL   CLIENT "{OPERATION} {table}"; db.system.name=postgresql, db.query.text
///                (parameterised text only, never values), db.operation.name,
///                db.collection.name, db.namespace, server.address, server.port,
///                service.peer.name=postgresql and peer.service=postgresql.
///   Redis        CLIENT (or PRODUCER for PUBLISH) "{OPERATION}" or a given name;
///                db.system.name=redis, db.operation.name, service.peer.name=redis.
/// Every function is noexcept and cheap when tracing is off (no-op tracer).
#include <chrono>
#include <functional>
#include <string_view>

#include "flowex/telemetry/api/propagation.hpp"
#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/metrics/metrics.hpp"

namespace flowex::telemetry::instrumentation {

/// A carrier over two callables (adapts any header container).
class FunctionCarrier final : public TextMapCarrier {
public:
    using Getter = std::function<std::string_view(std::string_view)>;
    using Setter = std::function<void(std::string_view, std::string_view)>;
    FunctionCarrier(Getter get, Setter set) : get_(std::move(get)), set_(std::move(set)) {}
    std::string_view Get(std::string_view key) const noexcept override {
        return get_ ? get_(key) : std::string_view();
    }
    void Set(std::string_view key, std::string_view value) noexcept override {
        if (set_) {
            set_(key, value);
        }
    }

private:
    Getter get_;
    Setter set_;
};

struct HttpServerRequest {
    std::string_view method;            // "POST"
    std::string_view route;             // the matched template, "/v1/order/{id}"; "" if none
    std::string_view path;              // "/v1/order/42" (no query string)
    std::string_view scheme = "http";
    std::string_view server_address;    // Host header name / local address
    int server_port = 0;
    std::string_view client_address;    // peer IP
    int client_port = 0;                // not recorded: client.port is Opt-In in the semconv
    std::string_view protocol_version = "1.1";
    std::string_view user_agent;
    const TextMapCarrier* headers = nullptr;  // request headers (for extraction)
};

/// A started server span plus the request's Context (extracted parent + baggage, with the
/// server span active): pass `context` to the handler and everything it calls.
struct ServerSpan {
    Span span;
    Context context;
    Timestamp start_time;  // the span's start; also the start of the duration metric
    std::string method;
    std::string route;
};

ServerSpan StartServerSpan(const Tracer& tracer, const HttpServerRequest& request,
                           const TextMapPropagator& propagator = GlobalPropagator()) noexcept;

/// Sets the status code (5xx → ERROR), ends the span, and records the duration in
/// `duration` (nullptr: skip) as {method, route (or path template "" → "unmatched"), status}.
void EndServerSpan(ServerSpan& server, int status_code,
                   metrics::Family<metrics::Histogram>* duration = nullptr) noexcept;

struct HttpClientRequest {
    std::string_view method;           // "GET"
    std::string_view url;              // url.full (no credentials, no secrets in the query)
    std::string_view server_address;
    int server_port = 0;
    std::string_view peer_service;     // e.g. "user-service" (optional)
};

/// Starts a CLIENT span under `parent` and injects its context into `outgoing` headers.
Span StartClientSpan(const Tracer& tracer, const Context& parent, const HttpClientRequest& request,
                     TextMapCarrier& outgoing,
                     const TextMapPropagator& propagator = GlobalPropagator()) noexcept;
/// Records the response status (4xx and 5xx → ERROR) and ends the span.
void EndClientSpan(Span& span, int status_code) noexcept;
/// A request that got no response (connect refused, timeout): ERROR + error.type, then End.
void FailClientSpan(Span& span, std::string_view error_type, std::string_view message) noexcept;

struct DbCall {
    std::string_view operation;   // "SELECT", "INSERT", "UPDATE", "DELETE", …
    std::string_view table;       // "wallets"
    std::string_view query_text;  // parameterised SQL ($1, $2 …): never literal values
    std::string_view db_namespace = "stockexchange";
    std::string_view server_address;
    int server_port = 5432;
};

/// CLIENT span "{OPERATION} {table}" (or "{OPERATION}" without a table).
Span StartPostgresSpan(const Tracer& tracer, const Context& parent, const DbCall& call) noexcept;

/// Splits SQL into its operation keyword and first table ("UPDATE wallets SET …" →
/// {"UPDATE","wallets"}; "SELECT … FROM orders o JOIN …" → {"SELECT","orders"}).
struct SqlSummary {
    std::string operation;
    std::string table;
};
SqlSummary SummarizeSql(std::string_view sql);

struct RedisCall {
    std::string_view operation;   // "GET", "SET", "PUBLISH"
    std::string_view span_name;   // "" → operation (e.g. "publish_event" for DESIGN §5)
    std::string_view channel;     // PUBLISH/SUBSCRIBE channel (attribute `channel`)
    std::string_view server_address;
    int server_port = 6379;
    SpanKind kind = SpanKind::kClient;
};

Span StartRedisSpan(const Tracer& tracer, const Context& parent, const RedisCall& call) noexcept;

/// Marks `span` failed per DESIGN §5 and ends nothing (the caller still owns the span).
inline void MarkError(Span& span, std::string_view error_type, std::string_view message) noexcept {
    span.MarkError(error_type, message);
}

}  // namespace flowex::telemetry::instrumentation
