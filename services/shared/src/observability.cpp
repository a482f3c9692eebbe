#include "flowex/service/observability.hpp"

#include <algorithm>
#include <atomic>

#include "flowex/http/access_log.hpp"
#include "flowex/service/trace_bridge.hpp"
#include "flowex/telemetry/instrumentation/instrumentation.hpp"

namespace flowex::service {

namespace inst = telemetry::instrumentation;

namespace {

std::shared_ptr<telemetry::logs::Logger>& LoggerSlot() {
    static std::shared_ptr<telemetry::logs::Logger> logger;
    return logger;
}

class RequestHeaders final : public telemetry::TextMapCarrier {
public:
    explicit RequestHeaders(const http::Headers& h) : h_(h) {}
    std::string_view Get(std::string_view key) const noexcept override {
        return h_.Get(key).value_or(std::string_view());
    }
    void Set(std::string_view, std::string_view) noexcept override {}

private:
    const http::Headers& h_;
};

class OutgoingHeaders final : public telemetry::TextMapCarrier {
public:
    explicit OutgoingHeaders(http::Headers& h) : h_(h) {}
    std::string_view Get(std::string_view) const noexcept override { return {}; }
    void Set(std::string_view key, std::string_view value) noexcept override {
        h_.Set(key, value);
    }

private:
    http::Headers& h_;
};

class ClientScope final : public http::ClientCallScope {
public:
    explicit ClientScope(telemetry::Span span) : span_(std::move(span)) {}
    void End(const http::ClientCallResult& result) noexcept override {
        if (result.error != nullptr) {
            inst::FailClientSpan(span_, common::ToString(result.error->code), result.error->message);
        } else {
            inst::EndClientSpan(span_, result.status);
        }
    }

private:
    telemetry::Span span_;
};

class ClientTracer final : public http::ClientObserver {
public:
    ClientTracer(telemetry::Tracer tracer, std::string peer)
        : tracer_(tracer), peer_(std::move(peer)) {}
    std::unique_ptr<http::ClientCallScope> Start(const http::ClientCallInfo& info,
                                                 http::Headers& inject) noexcept override {
        OutgoingHeaders carrier(inject);
        telemetry::Context parent = ToTelemetry(info.parent);
        inst::HttpClientRequest req{.method = http::ToString(info.method),
                                    .url = info.url,
                                    .server_address = info.peer_host,
                                    .server_port = info.peer_port,
                                    .peer_service = peer_};
        return std::make_unique<ClientScope>(inst::StartClientSpan(tracer_, parent, req, carrier));
    }

private:
    telemetry::Tracer tracer_;
    std::string peer_;
};

class DbScope final : public storage::DbCallScope {
public:
    explicit DbScope(telemetry::Span span) : span_(std::move(span)) {}
    void End(const storage::DbOutcome& outcome) noexcept override {
        if (!outcome.ok) {
            span_.MarkError(outcome.error_type.empty() ? common::ToString(outcome.code)
                                                       : outcome.error_type,
                            outcome.message);
        }
        if (outcome.rows >= 0) { span_.SetAttribute("db.response.returned_rows", outcome.rows); }
        span_.End();
    }

private:
    telemetry::Span span_;
};

class DbTracer final : public storage::DbObserver {
public:
    explicit DbTracer(telemetry::Tracer tracer) : tracer_(tracer) {}
    std::unique_ptr<storage::DbCallScope> OnStart(const storage::DbCallInfo& info) noexcept override {
        // Only queries made on behalf of a traced request (or a traced background task) get
        // spans: the sweeper's idle polling and health checks would flood the viewer.
        if (!info.parent->valid()) { return nullptr; }
        telemetry::Context parent = ToTelemetry(*info.parent);
        // Transaction control statements are not worth a span each.
        if (info.operation == "BEGIN" || info.operation == "COMMIT" ||
            info.operation == "ROLLBACK") {
            return nullptr;
        }
        if (info.system == "redis") {
            inst::RedisCall call{.operation = info.operation,
                                 .channel = info.channel,
                                 .server_address = info.server_address,
                                 .server_port = info.server_port};
            return std::make_unique<DbScope>(inst::StartRedisSpan(tracer_, parent, call));
        }
        inst::DbCall call{.operation = info.operation,
                          .table = info.collection,
                          .query_text = info.query_text,
                          .db_namespace = info.db_name,
                          .server_address = info.server_address,
                          .server_port = info.server_port};
        return std::make_unique<DbScope>(inst::StartPostgresSpan(tracer_, parent, call));
    }

private:
    telemetry::Tracer tracer_;
};

}  // namespace

http::Middleware TracingMiddleware(
    telemetry::Tracer tracer, telemetry::metrics::Family<telemetry::metrics::Histogram>* duration,
    std::vector<std::string> untraced) {
    return [tracer, duration, untraced = std::move(untraced)](
               http::RequestContext& ctx, http::Next next) -> http::awaitable<http::Response> {
        RequestHeaders carrier(ctx.request.headers);
        const std::string_view path = ctx.request.Path();
        inst::HttpServerRequest req{
            .method = ctx.request.method_text,
            .route = ctx.route,
            .path = path,
            .server_address = ctx.request.headers.Get("Host").value_or(std::string_view()),
            .client_address = ctx.peer_address,
            .client_port = ctx.peer_port,
            .protocol_version = ctx.request.version == 10 ? "1.0" : "1.1",
            .user_agent = ctx.request.headers.Get("User-Agent").value_or(std::string_view()),
            .headers = &carrier};
        const bool traced =
            std::find(untraced.begin(), untraced.end(), ctx.route) == untraced.end();
        // A default Tracer is the no-op one: the request is still measured.
        inst::ServerSpan server = inst::StartServerSpan(traced ? tracer : telemetry::Tracer(), req);
        ctx.trace = ToPlain(server.span.GetContext());
        http::Response response = co_await next();
        const std::string trace_id = ctx.TraceId();
        if (!trace_id.empty()) { response.headers.Set("X-Trace-Id", trace_id); }
        inst::EndServerSpan(server, response.status, duration);
        co_return response;
    };
}

http::Middleware AccessLogMiddleware(std::shared_ptr<telemetry::logs::Logger> logger,
                                     std::vector<std::string> quiet) {
    return [logger, quiet = std::move(quiet)](http::RequestContext& ctx,
                                              http::Next next) -> http::awaitable<http::Response> {
        http::Response response = co_await next();
        // A quiet route's line is kept for FLOWEX_LOG_LEVEL=debug, unless it failed.
        const bool is_quiet = response.status < 500 &&
                              std::find(quiet.begin(), quiet.end(), ctx.route) != quiet.end();
        logger->Log(is_quiet ? telemetry::logs::Severity::kDebug : telemetry::logs::Severity::kInfo,
                    ToTelemetry(ctx.trace), http::FormatAccessLine(ctx, response.status));
        co_return response;
    };
}

std::shared_ptr<http::ClientObserver> MakeClientTracer(telemetry::Tracer tracer,
                                                       std::string peer_service) {
    return std::make_shared<ClientTracer>(tracer, std::move(peer_service));
}

std::shared_ptr<storage::DbObserver> MakeDbTracer(telemetry::Tracer tracer) {
    return std::make_shared<DbTracer>(tracer);
}

void SetServiceLogger(std::shared_ptr<telemetry::logs::Logger> logger) {
    LoggerSlot() = std::move(logger);
}

telemetry::logs::Logger* ServiceLogger() noexcept { return LoggerSlot().get(); }

}  // namespace flowex::service
