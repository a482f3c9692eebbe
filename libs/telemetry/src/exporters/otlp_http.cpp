#include "flowex/telemetry/exporters/otlp_http.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <system_error>
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

using detail::PercentDecode;
using detail::Trim;

struct Url {
    std::string host;  // without brackets
    std::string port;
    std::string host_header;  // host[:port] as the Host header wants it, IPv6 in brackets
    std::string target;       // path and query
    std::string userinfo;     // percent-decoded "user:password", empty when none
};

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

// An http:// URL (RFC 3986: the scheme is case-insensitive; userinfo becomes Basic
// authentication, as curl and Go's net/http do). Why not otherwise, in `why`.
std::optional<Url> ParseUrl(std::string_view url, std::string& why) {
    const auto colon_slashes = url.find("://");
    const std::string_view scheme =
        colon_slashes == std::string_view::npos ? std::string_view() : url.substr(0, colon_slashes);
    if (!EqualsIgnoringCase(scheme, "http")) {
        why = EqualsIgnoringCase(scheme, "https")
                  ? "https is not supported (no TLS in this exporter): send to an http:// "
                    "endpoint, such as a local collector"
                  : "only http://host[:port][/path] endpoints are supported";
        return std::nullopt;
    }
    url.remove_prefix(colon_slashes + 3);
    url = url.substr(0, url.find('#'));
    const auto end_of_authority = url.find_first_of("/?");
    std::string_view authority = url.substr(0, end_of_authority);
    Url out;
    out.target = end_of_authority == std::string_view::npos
                     ? "/"
                     : std::string(url.substr(end_of_authority));
    if (out.target.front() == '?') { out.target.insert(0, "/"); }
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        out.userinfo = PercentDecode(authority.substr(0, at));
        authority.remove_prefix(at + 1);
    }
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {  // [v6]:port
        const auto close = authority.find(']');
        if (close == std::string_view::npos ||
            (close + 1 < authority.size() && authority[close + 1] != ':')) {
            why = "the host is not a well-formed [IPv6] literal";
            return std::nullopt;
        }
        out.host = std::string(authority.substr(1, close - 1));
        port = close + 1 < authority.size() ? authority.substr(close + 2) : "80";
    } else {
        const auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        port = colon == std::string_view::npos ? "80" : authority.substr(colon + 1);
    }
    unsigned number = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (out.host.empty() || ec != std::errc() || end != port.data() + port.size() || number == 0 ||
        number > 65535) {
        why = out.host.empty() ? "the host is missing" : "the port is not a number from 1 to 65535";
        return std::nullopt;
    }
    out.port = std::to_string(number);
    const bool v6 = out.host.find(':') != std::string::npos;
    out.host_header = (v6 ? "[" + out.host + "]" : out.host) + ":" + out.port;
    return out;
}

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, in.size() - i);
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 3; ++k) {
            v = (v << 8) | (k < n ? static_cast<unsigned char>(in[i + k]) : 0U);
        }
        for (std::size_t k = 0; k < 4; ++k) {
            out.push_back(k <= n ? kBase64[(v >> (18 - 6 * k)) & 63] : '=');
        }
    }
    return out;
}

}  // namespace

std::string RedactEndpoint(std::string_view endpoint) {
    const auto colon_slashes = endpoint.find("://");
    const std::size_t authority = colon_slashes == std::string_view::npos ? 0 : colon_slashes + 3;
    const auto rest = std::min(endpoint.find_first_of("/?#", authority), endpoint.size());
    std::string out(endpoint.substr(0, authority));
    const std::string_view host = endpoint.substr(authority, rest - authority);
    const auto at = host.rfind('@');
    if (at != std::string_view::npos) { out += "***@"; }
    out += at == std::string_view::npos ? host : host.substr(at + 1);
    const std::string_view tail = endpoint.substr(rest);
    const auto query = tail.find_first_of("?#");
    out += tail.substr(0, query);
    if (query != std::string_view::npos && tail[query] == '?') { out += "?***"; }
    return out;
}

namespace {

bool IsRetryableStatus(int status) {
    return status == 429 || status == 502 || status == 503 || status == 504;
}

// At most one line per period; counts the ones it swallowed.
// It holds on to spdlog's default logger: an export can outlast main (TracerProvider::Shutdown
// returns at its timeout while an export to a dead endpoint is still retrying, and the global
// provider is destroyed among the exit handlers), and logging through spdlog's registry after
// the exit handlers had destroyed it crashed the process (exit status 139, found with
// http_overhead.sh's refused and black-holed cases).
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
            logger_->warn("telemetry: {} ({} similar messages suppressed)", message, suppressed_);
        } else {
            logger_->warn("telemetry: {}", message);
        }
        suppressed_ = 0;
    }

private:
    static constexpr std::chrono::seconds kPeriod{10};
    const std::shared_ptr<spdlog::logger> logger_ = spdlog::default_logger();
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

using Clock = std::chrono::steady_clock;

// Waits until `fd` is ready for `events` or `deadline` passes, or until `abort_fd` (an
// eventfd, -1 for none) becomes readable: the sender's Shutdown ends an export in flight.
beast::error_code WaitReady(int fd, short events, Clock::time_point deadline, int abort_fd) {
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return asio::error::timed_out;
        }
        std::array<pollfd, 2> p{pollfd{fd, events, 0}, pollfd{abort_fd, POLLIN, 0}};
        const int r = ::poll(p.data(), abort_fd >= 0 ? 2 : 1,
                             static_cast<int>(std::min<std::int64_t>(left.count(), 60000)));
        if (r > 0) {
            if ((p[1].revents & POLLIN) != 0) {
                return asio::error::operation_aborted;
            }
            return {};  // ready, or an error the next call reports
        }
        if (r < 0 && errno != EINTR) {
            return {errno, boost::system::system_category()};
        }
    }
}

// A connected non-blocking TCP socket with blocking reads and writes bounded by a deadline, as
// a Beast synchronous stream. The exchange of one export is one sendmsg, one poll and usually
// one recv: the asio coroutine this replaced made ~10 system calls per export (epoll_wait
// rounds, two timerfd_settime for the timeout, a recv that could only fail), at ~1 us each on
// the VM of docs/benchmarks.md.
class DeadlineSocket {
public:
    DeadlineSocket(int fd, int abort_fd) noexcept : fd_(fd), abort_fd_(abort_fd) {}
    DeadlineSocket(const DeadlineSocket&) = delete;
    DeadlineSocket& operator=(const DeadlineSocket&) = delete;
    ~DeadlineSocket() { ::close(fd_); }

    void SetDeadline(Clock::time_point deadline) noexcept { deadline_ = deadline; }

    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers, beast::error_code& ec) {
        std::array<iovec, 64> iov{};
        std::size_t n = 0;
        for (auto it = asio::buffer_sequence_begin(buffers);
             it != asio::buffer_sequence_end(buffers) && n < iov.size(); ++it) {
            const asio::const_buffer b(*it);
            if (b.size() > 0) {
                iov[n++] = {const_cast<void*>(b.data()), b.size()};
            }
        }
        ec = {};
        if (n == 0) {
            return 0;
        }
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = n;
        for (;;) {
            const ssize_t r = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
            if (r >= 0) {
                answer_pending_ = true;
                return static_cast<std::size_t>(r);
            }
            if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                ec = {errno, boost::system::system_category()};
                return 0;
            }
            if (errno != EINTR) {
                ec = WaitReady(fd_, POLLOUT, deadline_, abort_fd_);
                if (ec) {
                    return 0;
                }
            }
        }
    }

    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
        ec = {};
        asio::mutable_buffer b;
        for (auto it = asio::buffer_sequence_begin(buffers);
             it != asio::buffer_sequence_end(buffers); ++it) {
            b = asio::mutable_buffer(*it);
            if (b.size() > 0) {
                break;
            }
        }
        if (b.size() == 0) {
            return 0;
        }
        if (answer_pending_) {
            // Right after a request the answer cannot be there yet: wait before reading.
            answer_pending_ = false;
            ec = WaitReady(fd_, POLLIN, deadline_, abort_fd_);
            if (ec) {
                return 0;
            }
        }
        for (;;) {
            const ssize_t r = ::recv(fd_, b.data(), b.size(), 0);
            if (r > 0) {
                return static_cast<std::size_t>(r);
            }
            if (r == 0) {
                ec = asio::error::eof;
                return 0;
            }
            if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                ec = {errno, boost::system::system_category()};
                return 0;
            }
            if (errno != EINTR) {
                ec = WaitReady(fd_, POLLIN, deadline_, abort_fd_);
                if (ec) {
                    return 0;
                }
            }
        }
    }

    // The throwing forms complete the Beast SyncReadStream/SyncWriteStream concepts.
    template <class ConstBufferSequence>
    std::size_t write_some(const ConstBufferSequence& buffers) {
        beast::error_code ec;
        const std::size_t n = write_some(buffers, ec);
        if (ec) {
            throw boost::system::system_error(ec);
        }
        return n;
    }
    template <class MutableBufferSequence>
    std::size_t read_some(const MutableBufferSequence& buffers) {
        beast::error_code ec;
        const std::size_t n = read_some(buffers, ec);
        if (ec) {
            throw boost::system::system_error(ec);
        }
        return n;
    }

private:
    int fd_;
    int abort_fd_;
    Clock::time_point deadline_{};
    bool answer_pending_ = false;
};

// A non-blocking TCP connection to `url` by `deadline`: the descriptor in `fd` (-1 on
// failure) and the error of the last address tried.
std::string Connect(const Url& url, Clock::time_point deadline, int abort_fd, int& fd) {
    fd = -1;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &found);
    if (rc != 0) {
        return ::gai_strerror(rc);
    }
    std::string error = "no address";
    for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        const int s = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) {
            error = std::system_category().message(errno);
            continue;
        }
        beast::error_code ec;
        if (::connect(s, ai->ai_addr, ai->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                ec = {errno, boost::system::system_category()};
            } else {
                ec = WaitReady(s, POLLOUT, deadline, abort_fd);
                int so_error = 0;
                socklen_t len = sizeof(so_error);
                if (!ec && ::getsockopt(s, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 &&
                    so_error != 0) {
                    ec = {so_error, boost::system::system_category()};
                }
            }
        }
        if (!ec) {
            fd = s;
            error.clear();
            break;
        }
        error = ec.message();
        ::close(s);
    }
    ::freeaddrinfo(found);
    return error;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now) {
    value = Trim(value);
    if (value.empty()) {
        return std::nullopt;
    }
    // The server chooses the value: a wait too long to count in milliseconds (or, as a date,
    // in the clock's nanoseconds) saturates instead of overflowing. Callers cap it anyway.
    static constexpr std::int64_t kMaxSeconds = std::int64_t{1} << 32;  // ~136 years
    const auto from_seconds = [](std::int64_t s) {
        return std::chrono::milliseconds(std::min(s, kMaxSeconds) * 1000);
    };
    std::uint64_t digits = 0;
    const auto r = std::from_chars(value.data(), value.data() + value.size(), digits);
    if (r.ptr == value.data() + value.size() && r.ec != std::errc::invalid_argument) {
        return from_seconds(r.ec == std::errc() && digits < std::uint64_t{1} << 62
                                ? static_cast<std::int64_t>(digits)
                                : kMaxSeconds);  // out of range: a very long wait
    }
    std::tm tm{};
    const std::string text(value);
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    const std::int64_t when = timegm(&tm);
    const auto since_epoch =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
    const std::int64_t now_seconds = since_epoch.count() / 1000;
    if (when <= now_seconds) { return std::chrono::milliseconds(0); }
    if (when - now_seconds >= kMaxSeconds) { return from_seconds(kMaxSeconds); }
    return std::chrono::milliseconds(when * 1000) - since_epoch;
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
    o.timeout = EnvMillis(env, var("TIMEOUT", true),
                          EnvMillis(env, var("TIMEOUT", false), std::chrono::milliseconds(10000)));
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
    std::string shown;  // the endpoint as logged: no credentials
    std::optional<DeadlineSocket> socket;
    beast::flat_buffer buffer;
    std::mt19937_64 rng{std::random_device{}()};
    RateLimitedLog log;

    mutable std::mutex mutex;  // guards stats, shutdown; cv interrupts backoff waits
    std::condition_variable cv;
    bool shutdown = false;
    OtlpExportStats stats;
    // Readable once Shutdown ran: ends the waits of an attempt in flight (a black-holed
    // endpoint would otherwise hold a process's exit for the whole OTLP timeout).
    const int abort_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

    ~Impl() {
        socket.reset();
        if (abort_fd >= 0) { ::close(abort_fd); }
    }

    void Close() {
        socket.reset();
        buffer.clear();
    }

    AttemptResult Attempt(const http::request<http::string_body>& req,
                          std::chrono::milliseconds timeout) {
        AttemptResult result;
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        if (!socket) {
            int fd = -1;
            result.error = Connect(*url, deadline, abort_fd, fd);
            if (fd < 0) {
                return result;
            }
            socket.emplace(fd, abort_fd);
        }
        socket->SetDeadline(deadline);
        beast::error_code ec;
        bool keep_alive = false;
        http::write(*socket, req, ec);
        if (!ec) {
            http::response<http::string_body> res;
            http::read(*socket, buffer, res, ec);
            if (!ec) {
                result.transport_ok = true;
                result.status = static_cast<int>(res.result_int());
                result.retry_after = std::string(res[http::field::retry_after]);
                keep_alive = res.keep_alive();
            }
        }
        if (ec) {
            result.error = ec.message();
        }
        if (!result.transport_ok || !keep_alive) {
            Close();
        }
        return result;
    }
};

OtlpHttpSender::OtlpHttpSender(OtlpHttpOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
    impl_->shown = RedactEndpoint(options_.endpoint);
    std::string why;
    impl_->url = ParseUrl(options_.endpoint, why);
    if (!impl_->url) {
        spdlog::warn("telemetry: OTLP endpoint '{}' unusable, nothing will be exported: {}",
                     impl_->shown, why);
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
        req.set(http::field::host, s.url->host_header);
        if (!s.url->userinfo.empty()) {
            req.set(http::field::authorization, "Basic " + Base64(s.url->userinfo));
        }
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
            const bool reused = s.socket.has_value();
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
                s.log.Warn(
                    r.transport_ok
                        ? fmt::format("OTLP export to {} failed: HTTP {} after {} attempt(s)",
                                      s.shown, r.status, attempt)
                        : fmt::format("OTLP export to {} failed: {} after {} attempt(s)", s.shown,
                                      r.error, attempt));
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
    if (impl_->abort_fd >= 0) { (void)::eventfd_write(impl_->abort_fd, 1); }
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
        if (exporter != "otlp" && exporter != "console" && exporter != "none") {
            spdlog::warn(
                "telemetry: OTEL_TRACES_EXPORTER={} is not an exporter this SDK has "
                "(otlp, console, none); using otlp",
                exporter);
        }
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
