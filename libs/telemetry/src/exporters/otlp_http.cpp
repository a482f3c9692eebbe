#include "flowex/telemetry/exporters/otlp_http.hpp"

#include <time.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <spdlog/spdlog.h>

#include "flowex/telemetry/api/propagation.hpp"
#include "flowex/telemetry/exporters/in_memory.hpp"
#include "flowex/telemetry/exporters/otlp_encode.hpp"

#include "../text.hpp"

namespace flowex::telemetry::exporters {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Url {
    std::string host;
    std::string port;
    std::string target;
};

std::optional<Url> ParseUrl(std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    if (url.substr(0, kScheme.size()) != kScheme) {
        return std::nullopt;
    }
    url.remove_prefix(kScheme.size());
    const auto slash = url.find('/');
    const std::string_view authority = url.substr(0, slash);
    Url out;
    out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    if (!authority.empty() && authority.front() == '[') {  // [v6]:port
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = std::string(authority.substr(1, close - 1));
        const auto rest = authority.substr(close + 1);
        out.port = rest.size() > 1 && rest[0] == ':' ? std::string(rest.substr(1)) : "80";
    } else {
        const auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        out.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
    }
    if (out.host.empty() || out.port.empty()) {
        return std::nullopt;
    }
    return out;
}

using detail::PercentDecode;
using detail::Trim;

bool IsRetryableStatus(int status) {
    return status == 429 || status == 502 || status == 503 || status == 504;
}

// At most one line per period; counts the ones it swallowed.
class RateLimitedLog {
public:
    void Warn(const std::string& message) {
        const auto now = std::chrono::steady_clock::now();
        std::lock_guard lock(mutex_);
        if (last_ != std::chrono::steady_clock::time_point{} && now - last_ < kPeriod) {
            ++suppressed_;
            return;
        }
        last_ = now;
        if (suppressed_ > 0) {
            spdlog::warn("telemetry: {} ({} similar messages suppressed)", message, suppressed_);
        } else {
            spdlog::warn("telemetry: {}", message);
        }
        suppressed_ = 0;
    }

private:
    static constexpr std::chrono::seconds kPeriod{10};
    std::mutex mutex_;
    std::chrono::steady_clock::time_point last_{};
    std::uint64_t suppressed_ = 0;
};

struct AttemptResult {
    bool transport_ok = false;
    int status = 0;
    std::string retry_after;
    std::string error;
};

}  // namespace

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now) {
    value = Trim(value);
    if (value.empty()) {
        return std::nullopt;
    }
    std::int64_t seconds = 0;
    const auto r = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (r.ec == std::errc() && r.ptr == value.data() + value.size()) {
        if (seconds < 0) {
            return std::nullopt;
        }
        return std::chrono::milliseconds(seconds * 1000);
    }
    std::tm tm{};
    const std::string text(value);
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    const auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
    if (when <= now) {
        return std::chrono::milliseconds(0);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

OtlpHttpOptions OtlpHttpOptionsFromEnv(const EnvLookup& env, OtlpSignal signal) {
    const std::string_view sig = signal == OtlpSignal::kTraces ? "TRACES" : "LOGS";
    const std::string_view path = signal == OtlpSignal::kTraces ? "/v1/traces" : "/v1/logs";
    const auto var = [&](std::string_view suffix, bool specific) {
        return std::string("OTEL_EXPORTER_OTLP_") + (specific ? std::string(sig) + "_" : "") +
               std::string(suffix);
    };
    const auto lookup = [&](std::string_view suffix) {
        auto v = EnvString(env, var(suffix, true));
        return v ? v : EnvString(env, var(suffix, false));
    };
    OtlpHttpOptions o;
    if (auto specific = EnvString(env, var("ENDPOINT", true))) {
        o.endpoint = *specific;
    } else {
        std::string base = EnvString(env, var("ENDPOINT", false)).value_or("http://localhost:4318");
        while (!base.empty() && base.back() == '/') {
            base.pop_back();
        }
        o.endpoint = base + std::string(path);
    }
    if (auto headers = lookup("HEADERS")) {
        std::string_view rest = *headers;
        while (!rest.empty()) {
            const auto comma = rest.find(',');
            const std::string_view member = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            const auto eq = member.find('=');
            if (eq == std::string_view::npos) {
                continue;
            }
            std::string key = PercentDecode(Trim(member.substr(0, eq)));
            if (!key.empty()) {
                o.headers.emplace_back(std::move(key), PercentDecode(Trim(member.substr(eq + 1))));
            }
        }
    }
    const auto timeout = EnvInt(env, var("TIMEOUT", true), EnvInt(env, var("TIMEOUT", false), 10000));
    o.timeout = std::chrono::milliseconds(timeout);
    if (auto protocol = lookup("PROTOCOL")) {
        if (*protocol == "http/json") {
            o.protocol = OtlpProtocol::kHttpJson;
        } else {
            o.protocol = OtlpProtocol::kHttpProtobuf;
            if (*protocol != "http/protobuf") {
                spdlog::warn("telemetry: OTLP protocol '{}' unsupported, using http/protobuf",
                             *protocol);
            }
        }
    }
    if (auto compression = lookup("COMPRESSION")) {
        o.gzip = *compression == "gzip";
    }
    return o;
}

struct OtlpHttpSender::Impl {
    std::optional<Url> url;
    asio::io_context ioc;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    std::mt19937_64 rng{std::random_device{}()};
    RateLimitedLog log;

    mutable std::mutex mutex;  // guards stats, shutdown; cv interrupts backoff waits
    std::condition_variable cv;
    bool shutdown = false;
    OtlpExportStats stats;

    void Close() {
        if (stream) {
            beast::error_code ec;
            stream->socket().shutdown(tcp::socket::shutdown_both, ec);
            stream->close();
            stream.reset();
        }
    }

    AttemptResult Attempt(const http::request<http::string_body>& req,
                          std::chrono::milliseconds timeout) {
        AttemptResult result;
        bool keep_alive = false;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                try {
                    if (!stream) {
                        tcp::resolver resolver(ioc);
                        const auto endpoints =
                            co_await resolver.async_resolve(url->host, url->port, asio::use_awaitable);
                        stream.emplace(ioc);
                        stream->expires_after(timeout);
                        co_await stream->async_connect(endpoints, asio::use_awaitable);
                    }
                    stream->expires_after(timeout);
                    co_await http::async_write(*stream, req, asio::use_awaitable);
                    http::response<http::string_body> res;
                    co_await http::async_read(*stream, buffer, res, asio::use_awaitable);
                    result.transport_ok = true;
                    result.status = static_cast<int>(res.result_int());
                    result.retry_after = std::string(res[http::field::retry_after]);
                    keep_alive = res.keep_alive();
                } catch (const boost::system::system_error& e) {
                    result.error = e.code().message();
                } catch (const std::exception& e) {
                    result.error = e.what();
                }
            },
            asio::detached);
        ioc.restart();
        ioc.run();
        if (!result.transport_ok || !keep_alive) {
            Close();
            buffer.clear();
        }
        return result;
    }
};

OtlpHttpSender::OtlpHttpSender(OtlpHttpOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
    impl_->url = ParseUrl(options_.endpoint);
    if (!impl_->url) {
        spdlog::warn("telemetry: unsupported OTLP endpoint '{}' (only http://host:port/path)",
                     options_.endpoint);
    }
    options_.retry.max_attempts = std::max(1, options_.retry.max_attempts);
}

OtlpHttpSender::~OtlpHttpSender() = default;

sdk::ExportResult OtlpHttpSender::Send(std::string body) noexcept {
    Impl& s = *impl_;
    {
        std::lock_guard lock(s.mutex);
        if (s.shutdown || !s.url) {
            ++s.stats.failures;
            return sdk::ExportResult::kFailure;
        }
    }
    try {
        http::request<http::string_body> req{http::verb::post, s.url->target, 11};
        req.set(http::field::host, s.url->host + ":" + s.url->port);
        req.set(http::field::user_agent, "flowex-telemetry/0.1");
        req.set(http::field::content_type, options_.protocol == OtlpProtocol::kHttpJson
                                               ? "application/json"
                                               : "application/x-protobuf");
        for (const auto& [k, v] : options_.headers) {
            req.set(k, v);
        }
        if (options_.gzip) {
            std::string compressed;
            if (GzipCompress(body, compressed)) {
                body = std::move(compressed);
                req.set(http::field::content_encoding, "gzip");
            }
        }
        req.body() = std::move(body);
        req.keep_alive(true);
        req.prepare_payload();

        auto backoff = options_.retry.initial_backoff;
        for (int attempt = 1;; ++attempt) {
            const bool reused = s.stream.has_value();
            AttemptResult r = s.Attempt(req, options_.timeout);
            if (!r.transport_ok && reused) {
                // The server may have closed an idle keep-alive connection: one fresh try.
                r = s.Attempt(req, options_.timeout);
            }
            {
                std::lock_guard lock(s.mutex);
                ++s.stats.attempts;
                if (attempt > 1) {
                    ++s.stats.retries;
                }
                s.stats.last_status = r.status;
            }
            if (r.transport_ok && r.status >= 200 && r.status < 300) {
                std::lock_guard lock(s.mutex);
                ++s.stats.successes;
                return sdk::ExportResult::kSuccess;
            }
            const bool retryable = !r.transport_ok || IsRetryableStatus(r.status);
            if (!retryable || attempt >= options_.retry.max_attempts) {
                {
                    std::lock_guard lock(s.mutex);
                    ++s.stats.failures;
                }
                s.log.Warn(r.transport_ok
                               ? fmt::format("OTLP export to {} failed: HTTP {} after {} attempt(s)",
                                             options_.endpoint, r.status, attempt)
                               : fmt::format("OTLP export to {} failed: {} after {} attempt(s)",
                                             options_.endpoint, r.error, attempt));
                return sdk::ExportResult::kFailure;
            }
            std::chrono::milliseconds delay{0};
            const auto retry_after = r.transport_ok
                                         ? ParseRetryAfter(r.retry_after, std::chrono::system_clock::now())
                                         : std::nullopt;
            if (retry_after) {
                delay = std::min(*retry_after, options_.retry.max_retry_after);
            } else {
                const auto b = std::max<std::int64_t>(backoff.count(), 1);
                std::uniform_int_distribution<std::int64_t> jitter(b / 2, b);
                delay = std::chrono::milliseconds(jitter(s.rng));
            }
            backoff = std::min(
                std::chrono::milliseconds(static_cast<std::int64_t>(
                    static_cast<double>(backoff.count()) * options_.retry.multiplier)),
                options_.retry.max_backoff);
            std::unique_lock lock(s.mutex);
            if (retry_after) {
                ++s.stats.retry_after_used;
            }
            if (s.cv.wait_for(lock, delay, [&] { return s.shutdown; })) {
                ++s.stats.failures;
                return sdk::ExportResult::kFailure;
            }
        }
    } catch (const std::exception& e) {
        std::lock_guard lock(s.mutex);
        ++s.stats.failures;
        return sdk::ExportResult::kFailure;
    }
}

void OtlpHttpSender::Shutdown() noexcept {
    std::lock_guard lock(impl_->mutex);
    impl_->shutdown = true;
    impl_->cv.notify_all();
}

OtlpExportStats OtlpHttpSender::Stats() const noexcept {
    std::lock_guard lock(impl_->mutex);
    return impl_->stats;
}

sdk::ExportResult OtlpHttpSpanExporter::Export(
    std::span<const sdk::SpanData* const> spans) noexcept {
    try {
        std::string body;
        if (sender_.Options().protocol == OtlpProtocol::kHttpJson) {
            EncodeTracesJson(spans, body);
        } else {
            EncodeTracesProtobuf(spans, body);
        }
        return sender_.Send(std::move(body));
    } catch (...) {
        return sdk::ExportResult::kFailure;
    }
}

bool OtlpHttpSpanExporter::Shutdown(std::chrono::milliseconds) noexcept {
    sender_.Shutdown();
    return true;
}

sdk::ExportResult OtlpHttpLogExporter::Export(
    std::span<const logs::LogRecordData* const> records) noexcept {
    try {
        std::string body;
        if (sender_.Options().protocol == OtlpProtocol::kHttpJson) {
            EncodeLogsJson(records, body);
        } else {
            EncodeLogsProtobuf(records, body);
        }
        return sender_.Send(std::move(body));
    } catch (...) {
        return sdk::ExportResult::kFailure;
    }
}

bool OtlpHttpLogExporter::Shutdown(std::chrono::milliseconds) noexcept {
    sender_.Shutdown();
    return true;
}

std::shared_ptr<sdk::TracerProvider> InitTracingFromEnv(const EnvLookup& env,
                                                        sdk::ResourceOptions resource) {
    sdk::TracerProviderOptions options;
    options.disabled = EnvBool(env, "OTEL_SDK_DISABLED", false);
    options.resource = sdk::ResourceFromEnv(env, resource);
    options.sampler = sdk::SamplerFromEnv(env);
    options.limits = sdk::SpanLimitsFromEnv(env);
    if (!options.disabled) {
        const std::string exporter = EnvString(env, "OTEL_TRACES_EXPORTER").value_or("otlp");
        std::unique_ptr<sdk::SpanExporter> e;
        if (exporter == "console") {
            e = std::make_unique<ConsoleSpanExporter>();
        } else if (exporter != "none") {
            e = std::make_unique<OtlpHttpSpanExporter>(
                OtlpHttpOptionsFromEnv(env, OtlpSignal::kTraces));
        }
        if (e) {
            options.processor = std::make_unique<sdk::BatchSpanProcessor>(
                std::move(e), sdk::BatchOptionsFromEnv(env));
        }
    }
    auto provider = std::make_shared<sdk::TracerProvider>(std::move(options));
    SetGlobalTracerProvider(provider);
    SetGlobalPropagator(std::shared_ptr<const TextMapPropagator>(
        MakePropagator(EnvString(env, "OTEL_PROPAGATORS").value_or(""))));
    return provider;
}

}  // namespace flowex::telemetry::exporters
