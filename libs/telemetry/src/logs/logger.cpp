#include "flowex/telemetry/logs/logger.hpp"

#include <fcntl.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "flowex/common/json.hpp"

namespace flowex::telemetry::logs {

/// An spdlog sink that only appends the formatted line to a buffer: the logger's writer
/// thread writes the buffer out every LoggerOptions::write_interval, so logging a line costs
/// the caller a mutex and a copy — no wake-up of another thread, no system call. (spdlog's
/// async logger signalled its worker for every line: three futex calls and a context switch
/// per line per output, the largest share of a service's system calls per request.) A
/// flush (the logger flushes at once for errors) writes on the calling thread. When more
/// than kMaxPending bytes wait, new lines are dropped and counted rather than block.
class DeferredFdSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    DeferredFdSink(int fd, bool owned) : fd_(fd), owned_(owned) {}
    ~DeferredFdSink() override {
        WriteOut();
        if (owned_ && fd_ >= 0) { ::close(fd_); }
    }

    /// Writes what is buffered (from the writer thread, or a flush).
    void WriteOut() noexcept {
        std::lock_guard write_lock(write_mutex_);  // one writer at a time, lines in order
        {
            std::lock_guard lock(mutex_);
            out_.swap(pending_);
        }
        std::size_t done = 0;
        while (done < out_.size()) {
            const ssize_t n = ::write(fd_, out_.data() + done, out_.size() - done);
            if (n < 0 && errno == EINTR) { continue; }
            if (n <= 0) { break; }  // a closed console or a full disk: the lines are lost
            done += static_cast<std::size_t>(n);
        }
        out_.clear();
    }
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(msg, formatted);
        if (pending_.size() + formatted.size() > kMaxPending) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        pending_.append(formatted.data(), formatted.size());
    }
    void flush_() override {
        // Called with mutex_ held; WriteOut takes write_mutex_ before mutex_ (lines stay in
        // order whoever writes them).
        mutex_.unlock();
        WriteOut();
        mutex_.lock();
    }

private:
    static constexpr std::size_t kMaxPending = 8u << 20;
    int fd_;
    bool owned_;
    std::string pending_;  // guarded by mutex_ (base_sink's)
    std::string out_;      // guarded by write_mutex_
    std::mutex write_mutex_;
    std::atomic<std::uint64_t> dropped_{0};
};

namespace {

std::uint64_t NowNanos() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

// A JSON string, escaped and made well-formed UTF-8 (common::AppendJsonEscaped).
void JsonEscape(std::string& out, std::string_view s) {
    out.push_back('"');
    common::AppendJsonEscaped(out, s);
    out.push_back('"');
}

void JsonValue(std::string& out, const AttributeValue& v) {
    switch (v.Type()) {
        case AttributeType::kBool:
            out += v.AsBool() ? "true" : "false";
            return;
        case AttributeType::kInt64:
            out += std::to_string(v.AsInt64());
            return;
        case AttributeType::kDouble:
            if (std::isfinite(v.AsDouble())) {
                char buf[32];
                const auto r = std::to_chars(buf, buf + sizeof(buf), v.AsDouble());
                out.append(buf, r.ptr);
            } else {
                out += "null";
            }
            return;
        case AttributeType::kString:
            JsonEscape(out, v.AsString());
            return;
        default: {
            // Arrays: rare in log fields; written as a JSON array of strings/numbers.
            out.push_back('[');
            bool first = true;
            const auto sep = [&] {
                if (!first) {
                    out.push_back(',');
                }
                first = false;
            };
            if (v.Type() == AttributeType::kStringArray) {
                for (auto s : v.AsStringArray()) {
                    sep();
                    JsonEscape(out, s);
                }
            } else if (v.Type() == AttributeType::kInt64Array) {
                for (auto i : v.AsInt64Array()) {
                    sep();
                    out += std::to_string(i);
                }
            } else if (v.Type() == AttributeType::kDoubleArray) {
                for (auto d : v.AsDoubleArray()) {
                    sep();
                    out += std::isfinite(d) ? fmt::format("{}", d) : "null";
                }
            } else {
                for (auto b : v.AsBoolArray()) {
                    sep();
                    out += b ? "true" : "false";
                }
            }
            out.push_back(']');
        }
    }
}

std::string IsoTimestamp(std::uint64_t nanos) {
    const time_t secs = static_cast<time_t>(nanos / 1000000000ULL);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       (nanos % 1000000000ULL) / 1000);
}

std::string_view ConsoleLevel(Severity s) {
    switch (s) {
        case Severity::kTrace:
            return "TRACE";
        case Severity::kDebug:
            return "DEBUG";
        case Severity::kInfo:
            return "INFO";
        case Severity::kWarn:
            return "WARNING";
        case Severity::kError:
            return "ERROR";
        case Severity::kFatal:
            return "CRITICAL";
    }
    return "INFO";
}

constexpr std::string_view kRedacted = "[REDACTED]";

}  // namespace

bool IsSecretKey(std::string_view key) noexcept {
    // Case-insensitive substring search without a lowered copy: a copy of a long key would
    // allocate, and this runs for every field of every log line (twice with a JSON file).
    static constexpr std::string_view kSecret[] = {"password", "passwd", "secret", "token",
                                                   "authorization", "api_key", "api-key", "apikey",
                                                   "cookie", "credential", "private_key"};
    const auto lower = [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    for (std::string_view s : kSecret) {
        for (std::size_t i = 0; i + s.size() <= key.size(); ++i) {
            std::size_t k = 0;
            while (k < s.size() && lower(key[i + k]) == s[k]) {
                ++k;
            }
            if (k == s.size()) {
                return true;
            }
        }
    }
    return false;
}

std::string FormatAccessLine(std::string_view client_address, unsigned client_port,
                             std::string_view method, std::string_view target,
                             std::string_view http_version, int status) {
    const char* reason = "";
    switch (status) {
        case 200: reason = "OK"; break;
        case 201: reason = "Created"; break;
        case 202: reason = "Accepted"; break;
        case 204: reason = "No Content"; break;
        case 301: reason = "Moved Permanently"; break;
        case 302: reason = "Found"; break;
        case 304: reason = "Not Modified"; break;
        case 400: reason = "Bad Request"; break;
        case 401: reason = "Unauthorized"; break;
        case 403: reason = "Forbidden"; break;
        case 404: reason = "Not Found"; break;
        case 405: reason = "Method Not Allowed"; break;
        case 409: reason = "Conflict"; break;
        case 413: reason = "Payload Too Large"; break;
        case 415: reason = "Unsupported Media Type"; break;
        case 422: reason = "Unprocessable Entity"; break;
        case 429: reason = "Too Many Requests"; break;
        case 500: reason = "Internal Server Error"; break;
        case 502: reason = "Bad Gateway"; break;
        case 503: reason = "Service Unavailable"; break;
        case 504: reason = "Gateway Timeout"; break;
        default: break;
    }
    return fmt::format("{}:{} - \"{} {} HTTP/{}\" {} {}", client_address, client_port, method,
                       target, http_version, status, reason);
}

LogBatchOptions LogBatchOptionsFromEnv(const EnvLookup& env) {
    LogBatchOptions o;
    o.max_queue_size = static_cast<std::size_t>(EnvInt(env, "OTEL_BLRP_MAX_QUEUE_SIZE",
                                                       static_cast<std::int64_t>(o.max_queue_size),
                                                       kMaxEnvQueueSize));
    o.schedule_delay = EnvMillis(env, "OTEL_BLRP_SCHEDULE_DELAY", o.schedule_delay);
    o.export_timeout = EnvMillis(env, "OTEL_BLRP_EXPORT_TIMEOUT", o.export_timeout);
    o.max_export_batch_size = static_cast<std::size_t>(EnvInt(
        env, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", static_cast<std::int64_t>(o.max_export_batch_size)));
    o.max_queue_size = std::max<std::size_t>(o.max_queue_size, 1);
    o.max_export_batch_size = std::clamp<std::size_t>(o.max_export_batch_size, 1, o.max_queue_size);
    return o;
}

LoggerOptions LoggerOptionsFromEnv(const EnvLookup& env, std::string service_name) {
    LoggerOptions o;
    o.service_name = std::move(service_name);
    const std::string level = EnvString(env, "FLOWEX_LOG_LEVEL").value_or("info");
    if (level == "trace") {
        o.level = Severity::kTrace;
    } else if (level == "debug") {
        o.level = Severity::kDebug;
    } else if (level == "warn" || level == "warning") {
        o.level = Severity::kWarn;
    } else if (level == "error") {
        o.level = Severity::kError;
    }
    o.json_file = EnvString(env, "FLOWEX_LOG_FILE").value_or("");
    o.console = EnvBool(env, "FLOWEX_LOG_CONSOLE", true);
    return o;
}

// ---- batch log processor --------------------------------------------------------------------

BatchLogProcessor::BatchLogProcessor(std::unique_ptr<LogExporter> exporter, LogBatchOptions options)
    : exporter_(std::move(exporter)), options_(options) {
    worker_ = std::thread([this] { Run(); });
}

BatchLogProcessor::~BatchLogProcessor() {
    Shutdown(options_.export_timeout);
    if (worker_.joinable()) {
        worker_.join();
    }
}

LogRecordData* BatchLogProcessor::AcquireLocked() {
    if (stop_ || filled_ + in_export_ >= options_.max_queue_size) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    if (filled_ == filling_.size()) {
        filling_.emplace_back();
        return &filling_.back();
    }
    // A fresh record (every field at its default, whatever fields the struct gains) that
    // takes over the slot's body and attribute storage.
    LogRecordData& r = filling_[filled_];
    LogRecordData fresh;
    fresh.body = std::move(r.body);
    fresh.body.clear();
    fresh.attributes = std::move(r.attributes);
    fresh.attributes.Clear();
    r = std::move(fresh);
    return &r;
}

void BatchLogProcessor::Emit(const LogRecordData& record) noexcept {
    try {
        EmitWith([&](LogRecordData& r) { r = record; });
    } catch (...) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
    }
}

void BatchLogProcessor::Run() noexcept {
    // A slot keeps a body's capacity up to this; a longer one is freed after its export.
    constexpr std::size_t kKeptBodyCapacity = 256;
    const std::size_t batch_size = options_.max_export_batch_size;
    std::vector<const LogRecordData*> view;
    for (;;) {
        bool stopping = false;
        std::uint64_t flush_target = 0;
        {
            std::unique_lock lock(mutex_);
            cv_.wait_for(lock, options_.schedule_delay, [&] {
                return stop_ || flush_requested_ != flush_done_ || filled_ >= batch_size;
            });
            stopping = stop_;
            flush_target = flush_requested_;
        }
        for (;;) {
            std::size_t n = 0;
            {
                std::lock_guard lock(mutex_);
                n = filled_;
                if (n > 0) {
                    filling_.swap(exporting_);
                    filled_ = 0;
                    in_export_ = n;
                }
            }
            if (n == 0) {
                break;
            }
            for (std::size_t i = 0; i < n; i += batch_size) {
                view.clear();
                for (std::size_t j = i; j < std::min(n, i + batch_size); ++j) {
                    view.push_back(&exporting_[j]);
                }
                if (exporter_->Export(view) == sdk::ExportResult::kSuccess) {
                    exported_.fetch_add(view.size(), std::memory_order_relaxed);
                } else {
                    failures_.fetch_add(1, std::memory_order_relaxed);
                }
            }
            for (std::size_t j = 0; j < n; ++j) {
                if (exporting_[j].body.capacity() > kKeptBodyCapacity) {
                    std::string().swap(exporting_[j].body);
                }
            }
            std::lock_guard lock(mutex_);
            in_export_ = 0;
        }
        std::lock_guard lock(mutex_);
        flush_done_ = std::max(flush_done_, flush_target);
        if (stopping) {
            exporter_->Shutdown(options_.export_timeout);
            stopped_ = true;
            done_cv_.notify_all();
            return;
        }
        done_cv_.notify_all();
    }
}

bool BatchLogProcessor::ForceFlush(std::chrono::milliseconds timeout) noexcept {
    std::unique_lock lock(mutex_);
    if (stopped_) {
        return true;
    }
    const std::uint64_t ticket = ++flush_requested_;
    cv_.notify_one();
    return done_cv_.wait_for(lock, timeout, [&] { return flush_done_ >= ticket || stopped_; });
}

bool BatchLogProcessor::Shutdown(std::chrono::milliseconds timeout) noexcept {
    std::unique_lock lock(mutex_);
    stop_ = true;
    cv_.notify_one();
    if (done_cv_.wait_for(lock, timeout, [&] { return stopped_; })) {
        return true;
    }
    // The final export is still running: shutting the exporter down ends it (see
    // BatchSpanProcessor::Shutdown).
    lock.unlock();
    exporter_->Shutdown(std::chrono::milliseconds(0));
    return false;
}

LogProcessorStats BatchLogProcessor::Stats() const noexcept {
    std::size_t held = 0;
    {
        std::lock_guard lock(mutex_);
        held = filled_ + in_export_;
    }
    return {exported_.load(), dropped_.load(), failures_.load(), held, options_.max_queue_size};
}

// ---- logger ---------------------------------------------------------------------------------

Logger::Logger(LoggerOptions options) : options_(std::move(options)), level_(options_.level) {
    const auto make = [&](std::string name, spdlog::sink_ptr sink) {
        sink->set_pattern("%v");
        return std::make_shared<spdlog::logger>(std::move(name), std::move(sink));
    };
    if (options_.console) {
        if (options_.async) {
            deferred_.push_back(std::make_shared<DeferredFdSink>(STDOUT_FILENO, false));
            console_ = make("flowex-console", deferred_.back());
        } else {
            console_ = make("flowex-console", std::make_shared<spdlog::sinks::stdout_sink_mt>());
        }
    }
    if (!options_.json_file.empty()) {
        if (options_.async) {
            const int fd = ::open(options_.json_file.c_str(),
                                  O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd >= 0) {
                deferred_.push_back(std::make_shared<DeferredFdSink>(fd, true));
                file_ = make("flowex-json", deferred_.back());
            } else {
                std::fprintf(stderr, "telemetry: cannot open log file %s: %s\n",
                             options_.json_file.c_str(), std::strerror(errno));
            }
        } else {
            try {
                file_ = make("flowex-json",
                             std::make_shared<spdlog::sinks::basic_file_sink_mt>(options_.json_file));
            } catch (const spdlog::spdlog_ex& e) {
                std::fprintf(stderr, "telemetry: cannot open log file %s: %s\n",
                             options_.json_file.c_str(), e.what());
            }
        }
    }
    for (auto* l : {&console_, &file_}) {
        if (*l) {
            (*l)->set_level(spdlog::level::trace);
            (*l)->flush_on(spdlog::level::err);
        }
    }
    if (!deferred_.empty()) {
        writer_ = std::thread([this] {
            std::unique_lock lock(writer_mutex_);
            while (!writer_stop_) {
                writer_cv_.wait_for(lock, options_.write_interval, [this] { return writer_stop_; });
                lock.unlock();
                for (const auto& sink : deferred_) { sink->WriteOut(); }
                lock.lock();
            }
        });
    }
}

Logger::~Logger() {
    if (writer_.joinable()) {
        {
            std::lock_guard lock(writer_mutex_);
            writer_stop_ = true;
        }
        writer_cv_.notify_one();
        writer_.join();
    }
    Flush();
}

std::uint64_t Logger::DroppedLines() const noexcept {
    std::uint64_t n = 0;
    for (const auto& sink : deferred_) { n += sink->dropped(); }
    return n;
}

void Logger::Log(Severity severity, const Context& ctx, std::string_view message,
                 std::span<const Field> fields) noexcept {
    if (!Enabled(severity)) {
        return;
    }
    try {
        const std::uint64_t now = NowNanos();
        const SpanContext& span = ctx.GetSpanContext();
        // Errors are written at once (flush_on err); the rest by the writer thread.
        const spdlog::level::level_enum line_level =
            static_cast<int>(severity) >= static_cast<int>(Severity::kError) ? spdlog::level::err
                                                                              : spdlog::level::info;
        if (console_) {
            console_->log(line_level, "{}: {}", ConsoleLevel(severity), message);
        }
        if (file_) {
            std::string line;
            line.reserve(160 + message.size());
            line += "{\"timestamp\":\"";
            line += IsoTimestamp(now);
            line += "\",\"level\":\"";
            line += SeverityText(severity);
            line += "\",\"service\":";
            JsonEscape(line, options_.service_name);
            line += ",\"message\":";
            JsonEscape(line, message);
            if (span.IsValid()) {
                line += ",\"trace_id\":\"" + span.GetTraceId().Hex() + "\",\"span_id\":\"" +
                        span.GetSpanId().Hex() + "\"";
            }
            for (const Field& f : fields) {
                line.push_back(',');
                JsonEscape(line, f.key);
                line.push_back(':');
                if (IsSecretKey(f.key)) {
                    JsonEscape(line, kRedacted);
                } else {
                    JsonValue(line, f.value);
                }
            }
            line.push_back('}');
            file_->log(line_level, "{}", line);
        }
        if (options_.otlp) {
            options_.otlp->EmitWith([&](LogRecordData& r) {
                r.time_unix_nano = now;
                r.observed_time_unix_nano = now;
                r.severity = severity;
                r.body.assign(message);
                for (const Field& f : fields) {
                    r.attributes.Set(f.key,
                                     IsSecretKey(f.key) ? AttributeValue(kRedacted) : f.value,
                                     128, 0);
                }
                if (span.IsValid()) {
                    r.trace_id = span.GetTraceId();
                    r.span_id = span.GetSpanId();
                    r.trace_flags = span.GetTraceFlags();
                }
                r.scope = &scope_;
                r.resource = options_.resource.get();
            });
        }
    } catch (...) {
        // Logging must never take a request down.
    }
}

void Logger::Flush(std::chrono::milliseconds timeout) noexcept {
    try {
        if (console_) {
            console_->flush();
        }
        if (file_) {
            file_->flush();
        }
        if (options_.otlp) {
            options_.otlp->ForceFlush(timeout);
        }
    } catch (...) {
    }
}

}  // namespace flowex::telemetry::logs
