#include "flowex/http/access_log.hpp"

#include <atomic>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace flowex::http {
namespace {

// Writes the line into `out` without allocating beyond its capacity.
template <class Out>
void AppendAccessLine(Out& out, const RequestContext& ctx, int status) {
    std::string_view method =
        ctx.request.method == Method::kOther ? std::string_view(ctx.request.method_text)
                                             : ToString(ctx.request.method);
    std::string_view version = ctx.request.version == 10 ? "1.0" : "1.1";
    fmt::format_to(std::back_inserter(out), "{}:{} - \"{} {} HTTP/{}\" {} {}", ctx.peer_address,
                   ctx.peer_port, method, ctx.request.target, version, status,
                   StatusReason(status));
}

// The logger lookup of AccessLogOptions: by name until registered, then kept.
class NamedLogger {
public:
    explicit NamedLogger(std::string name) : name_(std::move(name)) {}

    spdlog::logger* Get() {
        spdlog::logger* cached = cached_.load(std::memory_order_acquire);
        if (cached != nullptr) { return cached; }
        std::shared_ptr<spdlog::logger> found = spdlog::get(name_);
        if (!found) { return spdlog::default_logger_raw(); }
        std::lock_guard<std::mutex> lock(mu_);
        if (!keep_) {
            keep_ = std::move(found);
            cached_.store(keep_.get(), std::memory_order_release);
        }
        return keep_.get();
    }

private:
    std::string name_;
    std::mutex mu_;
    std::shared_ptr<spdlog::logger> keep_;
    std::atomic<spdlog::logger*> cached_{nullptr};
};

void Log(spdlog::logger* logger, const RequestContext& ctx, int status) {
    if (logger == nullptr || !logger->should_log(spdlog::level::info)) { return; }
    fmt::memory_buffer buf;
    AppendAccessLine(buf, ctx, status);
    logger->info(std::string_view(buf.data(), buf.size()));
}

}  // namespace

std::string FormatAccessLine(const RequestContext& ctx, int status) {
    std::string out;
    AppendAccessLine(out, ctx, status);
    return out;
}

Middleware AccessLog(AccessLogOptions options) {
    auto named = std::make_shared<NamedLogger>(std::move(options.logger_name));
    return [named](RequestContext& ctx, Next next) -> awaitable<Response> {
        Response r = co_await next();
        Log(named->Get(), ctx, r.status);
        co_return r;
    };
}

Middleware AccessLog(std::shared_ptr<spdlog::logger> logger) {
    return [logger = std::move(logger)](RequestContext& ctx, Next next) -> awaitable<Response> {
        Response r = co_await next();
        Log(logger.get(), ctx, r.status);
        co_return r;
    };
}

}  // namespace flowex::http
