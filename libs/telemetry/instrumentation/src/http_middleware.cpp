#include "flowex/telemetry/instrumentation/http_middleware.hpp"

#include "flowex/telemetry/instrumentation/instrumentation.hpp"

namespace flowex::telemetry {
namespace {

// Reads request headers (case-insensitive) for extraction.
class RequestHeadersCarrier final : public TextMapCarrier {
public:
    explicit RequestHeadersCarrier(const http::Headers& headers) : headers_(headers) {}
    std::string_view Get(std::string_view key) const noexcept override {
        return headers_.Get(key).value_or(std::string_view());
    }
    void Set(std::string_view, std::string_view) noexcept override {}

private:
    const http::Headers& headers_;
};

// Writes outgoing headers for injection.
class OutgoingHeadersCarrier final : public TextMapCarrier {
public:
    explicit OutgoingHeadersCarrier(http::Headers& headers) : headers_(headers) {}
    std::string_view Get(std::string_view key) const noexcept override {
        return headers_.Get(key).value_or(std::string_view());
    }
    void Set(std::string_view key, std::string_view value) noexcept override {
        try {
            headers_.Set(key, value);
        } catch (...) {
        }
    }

private:
    http::Headers& headers_;
};

class ClientScope final : public http::ClientCallScope {
public:
    explicit ClientScope(Span span) : span_(std::move(span)) {}
    void End(const http::ClientCallResult& result) noexcept override {
        if (result.error != nullptr) {
            instrumentation::FailClientSpan(span_, common::ToString(result.error->code),
                                            result.error->message);
        } else {
            instrumentation::EndClientSpan(span_, result.status);
        }
    }

private:
    Span span_;
};

class ClientObserverImpl final : public http::ClientObserver {
public:
    ClientObserverImpl(Tracer tracer, std::string peer_service, const TextMapPropagator* propagator)
        : tracer_(tracer), peer_service_(std::move(peer_service)), propagator_(propagator) {}

    std::unique_ptr<http::ClientCallScope> Start(const http::ClientCallInfo& info,
                                                 http::Headers& inject) noexcept override {
        try {
            const Context parent(FromTraceContext(info.parent));
            OutgoingHeadersCarrier carrier(inject);
            Span span = instrumentation::StartClientSpan(
                tracer_, parent,
                {.method = http::ToString(info.method), .url = info.url,
                 .server_address = info.peer_host, .server_port = info.peer_port,
                 .peer_service = peer_service_},
                carrier, propagator_ != nullptr ? *propagator_ : GlobalPropagator());
            return std::make_unique<ClientScope>(std::move(span));
        } catch (...) {
            return nullptr;
        }
    }

private:
    Tracer tracer_;
    std::string peer_service_;
    const TextMapPropagator* propagator_;
};

std::string_view HostWithoutPort(std::string_view host) {
    if (!host.empty() && host.front() == '[') {
        const auto close = host.find(']');
        return close == std::string_view::npos ? host : host.substr(1, close - 1);
    }
    const auto colon = host.rfind(':');
    return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

http::Middleware HttpServerMiddleware(HttpServerMiddlewareOptions options) {
    return [options = std::move(options)](http::RequestContext& ctx,
                                          http::Next next) -> http::awaitable<http::Response> {
        const RequestHeadersCarrier carrier(ctx.request.headers);
        const std::string_view host = ctx.request.headers.Get("host").value_or("");
        const std::string_view version = ctx.request.version == 10 ? "1.0" : "1.1";
        instrumentation::ServerSpan server = instrumentation::StartServerSpan(
            options.tracer,
            {.method = ctx.request.method_text.empty() ? http::ToString(ctx.request.method)
                                                        : std::string_view(ctx.request.method_text),
             .route = ctx.route,
             .path = ctx.request.Path(),
             .scheme = options.scheme,
             .server_address = HostWithoutPort(host),
             .server_port = ctx.local_port,
             .client_address = ctx.peer_address,
             .client_port = ctx.peer_port,
             .protocol_version = version,
             .user_agent = ctx.request.headers.Get("user-agent").value_or(""),
             .headers = &carrier},
            options.propagator != nullptr ? *options.propagator : GlobalPropagator());
        ctx.trace = ToTraceContext(server.context.GetSpanContext());
        // ctx.trace alone rebuilds this context (RequestTelemetryContext) unless it carries a
        // tracestate or baggage: only then is it stored, which costs an allocation.
        if (!server.context.GetSpanContext().GetTraceState().empty() ||
            !server.context.GetBaggage().Empty()) {
            ctx.extensions.Emplace<Context>(server.context);
        }
        http::Response response = co_await next();
        instrumentation::EndServerSpan(server, response.status, options.duration);
        co_return response;
    };
}

Context RequestTelemetryContext(const http::RequestContext& ctx) {
    if (const Context* c = ctx.extensions.Get<Context>()) {
        return *c;  // with tracestate or baggage
    }
    return Context(FromTraceContext(ctx.trace));
}

std::shared_ptr<http::ClientObserver> HttpClientObserver(Tracer tracer, std::string peer_service,
                                                         const TextMapPropagator* propagator) {
    return std::make_shared<ClientObserverImpl>(tracer, std::move(peer_service), propagator);
}

}  // namespace flowex::telemetry
