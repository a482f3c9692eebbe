#include "flowex/http/context.hpp"

namespace flowex::http {

std::string_view RequestContext::Param(std::string_view name) const noexcept {
    for (const auto& [key, value] : path_params) {
        if (key == name) { return value; }
    }
    return {};
}

std::optional<std::string> RequestContext::Query(std::string_view name) const {
    std::string_view query = request.QueryString();
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        std::size_t eq = part.find('=');
        std::string_view key = part.substr(0, eq);
        bool match = key == name;
        if (!match && key.find_first_of("%+") != std::string_view::npos) {
            match = PercentDecode(key, true) == name;
        }
        if (match) {
            return PercentDecode(
                eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1), true);
        }
    }
    return std::nullopt;
}

std::vector<std::pair<std::string, std::string>> RequestContext::QueryParams() const {
    return ParseQuery(request.QueryString());
}

std::string RequestContext::TraceId() const {
    return trace.valid() ? trace.TraceIdHex() : std::string();
}

common::Result<common::JsonValue> RequestContext::JsonBody(
    const common::JsonLimits& limits) const {
    return common::ParseJson(request.body, limits);
}

Response RequestContext::Error(const common::Error& error) const {
    return ErrorResponse(error, TraceId());
}

Response RequestContext::Error(common::ErrorCode code, std::string message) const {
    return ErrorResponse(common::Error{code, std::move(message)}, TraceId());
}

void RequestContext::Reset() noexcept {
    extensions.Clear();
    request.method = Method::kGet;
    request.method_text.clear();
    request.target.clear();
    request.version = 11;
    request.headers.Clear();
    request.body.clear();
    request.keep_alive = true;
    route = {};
    path_params.clear();
    trace = common::TraceContext{};
}

awaitable<Response> Next::operator()() const {
    if (index_ < chain_->middleware->size()) {
        return (*chain_->middleware)[index_](*ctx_, Next(chain_, index_ + 1, ctx_));
    }
    return (*chain_->handler)(*ctx_);
}

Handler Sync(std::function<Response(RequestContext&)> fn) {
    return [fn = std::move(fn)](RequestContext& ctx) -> awaitable<Response> {
        co_return fn(ctx);
    };
}

}  // namespace flowex::http
