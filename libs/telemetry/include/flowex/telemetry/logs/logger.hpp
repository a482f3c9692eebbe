#pragma once
/// The flowex logger: spdlog underneath (deferred writes by default), three outputs:
///   console  human lines:   `INFO: Validating order for user 11, symbol AAPL`
///   file     JSON lines:    {"timestamp":…,"level":"INFO","service":…,"message":…,
///                            "trace_id":…,"span_id":…, <business fields>}
///   OTLP     log records with trace/span ids, through a BatchLogProcessor (/v1/logs).
/// A line logged inside a span (explicit Context, or the thread-local current one) carries
/// that span's trace_id/span_id in the JSON and OTLP outputs.
///
/// Secrets: fields whose key names a credential (password, token, secret, authorization,
/// api_key, cookie, …) are written as "[REDACTED]"; never put secrets in the message text.
/// Threading: every method is callable from any thread; nothing blocks on I/O: when async
/// (the default) a line is appended to a buffer that the logger's writer thread writes out
/// every `write_interval` (errors are written at once, on the caller's thread); OTLP export
/// runs on its own worker.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "flowex/telemetry/api/attribute.hpp"
#include "flowex/telemetry/api/context.hpp"
#include "flowex/telemetry/env.hpp"
#include "flowex/telemetry/logs/log_record.hpp"

namespace spdlog {
class logger;
}

namespace flowex::telemetry::logs {

/// A structured business field (`user_id`, `symbol`, `amount`, …).
struct Field {
    std::string_view key;
    AttributeValue value;
};

struct LogBatchOptions {
    std::size_t max_queue_size = 2048;
    std::chrono::milliseconds schedule_delay{1000};
    std::chrono::milliseconds export_timeout{30000};
    std::size_t max_export_batch_size = 512;
};

/// OTEL_BLRP_MAX_QUEUE_SIZE, OTEL_BLRP_SCHEDULE_DELAY, OTEL_BLRP_EXPORT_TIMEOUT,
/// OTEL_BLRP_MAX_EXPORT_BATCH_SIZE.
LogBatchOptions LogBatchOptionsFromEnv(const EnvLookup& env);

struct LogProcessorStats {
    std::uint64_t exported = 0;
    std::uint64_t dropped = 0;
    std::uint64_t export_failures = 0;
    std::uint64_t queue_size = 0;  // records held: waiting, or in the export under way
    std::uint64_t queue_capacity = 0;
};

/// Bounded queue + one worker thread exporting batches; Emit never blocks (drops and counts
/// when full).
class BatchLogProcessor {
public:
    BatchLogProcessor(std::unique_ptr<LogExporter> exporter, LogBatchOptions options = {});
    ~BatchLogProcessor();
    BatchLogProcessor(const BatchLogProcessor&) = delete;
    BatchLogProcessor& operator=(const BatchLogProcessor&) = delete;

    /// Stores one record, written by `fill(LogRecordData&)` into a reused slot that arrives
    /// cleared, under the processor's lock (keep `fill` short). A slot keeps its strings' and
    /// attribute list's capacity, so a warm processor allocates nothing per record. Never waits
    /// for the exporter: when the queue is full the record is dropped and counted. If `fill`
    /// throws, nothing is stored and the exception propagates.
    template <class Fill>
    void EmitWith(Fill&& fill) {
        std::lock_guard lock(mutex_);
        LogRecordData* slot = AcquireLocked();
        if (slot != nullptr) {
            std::forward<Fill>(fill)(*slot);
            CommitLocked();
        }
    }
    /// Stores a copy of `record` (see EmitWith); counted as dropped if memory runs out.
    void Emit(const LogRecordData& record) noexcept;
    bool ForceFlush(std::chrono::milliseconds timeout) noexcept;
    bool Shutdown(std::chrono::milliseconds timeout) noexcept;
    LogProcessorStats Stats() const noexcept;

private:
    LogRecordData* AcquireLocked();  // the next cleared slot, or nullptr (dropped, counted)
    void CommitLocked() noexcept {
        if (++filled_ == options_.max_export_batch_size) {
            cv_.notify_one();
        }
    }
    void Run() noexcept;

    std::unique_ptr<LogExporter> exporter_;
    LogBatchOptions options_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::condition_variable done_cv_;
    // Two sets of reused slots: callers fill `filling_` under mutex_; the worker swaps it with
    // `exporting_` and exports from that without the lock. The records in both count against
    // max_queue_size (in_export_ is how many the worker holds).
    std::vector<LogRecordData> filling_;    // guarded by mutex_; [0, filled_) hold records
    std::size_t filled_ = 0;                // guarded by mutex_
    std::size_t in_export_ = 0;             // guarded by mutex_
    std::vector<LogRecordData> exporting_;  // the worker's (swapped under mutex_)
    std::uint64_t flush_requested_ = 0;
    std::uint64_t flush_done_ = 0;
    bool stop_ = false;
    bool stopped_ = false;
    std::atomic<std::uint64_t> exported_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::uint64_t> failures_{0};
    std::thread worker_;
};

struct LoggerOptions {
    std::string service_name;
    Severity level = Severity::kInfo;
    bool console = true;
    std::string json_file;  // "" = no file output
    bool async = true;      // console and file written by a writer thread (else per line)
    std::chrono::milliseconds write_interval{50};  // how often the writer thread writes
    std::shared_ptr<BatchLogProcessor> otlp;         // null = no OTLP logs
    std::shared_ptr<const sdk::Resource> resource;   // for OTLP records
};

/// FLOWEX_LOG_LEVEL (trace|debug|info|warn|error), FLOWEX_LOG_FILE, FLOWEX_LOG_CONSOLE.
LoggerOptions LoggerOptionsFromEnv(const EnvLookup& env, std::string service_name);

/// `127.0.0.1:54321 - "POST /v1/order HTTP/1.1" 201 Created` (DESIGN §7 access line).
std::string FormatAccessLine(std::string_view client_address, unsigned client_port,
                             std::string_view method, std::string_view target,
                             std::string_view http_version, int status);

/// True for field keys that name a credential (they are redacted): password, passwd, secret,
/// token, authorization, api_key, api-key, apikey, cookie, credential or private_key anywhere
/// in the key, in any case. Allocates nothing.
bool IsSecretKey(std::string_view key) noexcept;

class DeferredFdSink;

class Logger {
public:
    explicit Logger(LoggerOptions options);
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    bool Enabled(Severity severity) const noexcept {
        return static_cast<int>(severity) >= static_cast<int>(level_.load(std::memory_order_relaxed));
    }
    void SetLevel(Severity severity) noexcept { level_.store(severity); }

    /// Logs `message` with business `fields` inside `ctx` (its span ids go with the line).
    void Log(Severity severity, const Context& ctx, std::string_view message,
             std::span<const Field> fields = {}) noexcept;
    void Log(Severity severity, const Context& ctx, std::string_view message,
             std::initializer_list<Field> fields) noexcept {
        Log(severity, ctx, message, std::span<const Field>(fields.begin(), fields.size()));
    }

#define FLOWEX_TELEMETRY_LOG_LEVEL(Name, Sev)                                           \
    template <class... Args>                                                            \
    void Name(const Context& ctx, fmt::format_string<Args...> f, Args&&... args) {      \
        if (Enabled(Sev)) {                                                             \
            Log(Sev, ctx, fmt::format(f, std::forward<Args>(args)...));                 \
        }                                                                               \
    }                                                                                   \
    template <class... Args>                                                            \
    void Name(fmt::format_string<Args...> f, Args&&... args) {                          \
        if (Enabled(Sev)) {                                                             \
            Log(Sev, Context::Current(), fmt::format(f, std::forward<Args>(args)...));  \
        }                                                                               \
    }
    FLOWEX_TELEMETRY_LOG_LEVEL(Trace, Severity::kTrace)
    FLOWEX_TELEMETRY_LOG_LEVEL(Debug, Severity::kDebug)
    FLOWEX_TELEMETRY_LOG_LEVEL(Info, Severity::kInfo)
    FLOWEX_TELEMETRY_LOG_LEVEL(Warn, Severity::kWarn)
    FLOWEX_TELEMETRY_LOG_LEVEL(Error, Severity::kError)
#undef FLOWEX_TELEMETRY_LOG_LEVEL

    /// Writes everything buffered (console, file and OTLP); waits up to `timeout` for OTLP.
    void Flush(std::chrono::milliseconds timeout = std::chrono::seconds(5)) noexcept;
    /// Console and file lines dropped because the writer fell more than 8 MiB behind.
    std::uint64_t DroppedLines() const noexcept;

private:
    LoggerOptions options_;
    std::atomic<Severity> level_;
    std::vector<std::shared_ptr<DeferredFdSink>> deferred_;  // when async
    std::mutex writer_mutex_;
    std::condition_variable writer_cv_;
    bool writer_stop_ = false;
    std::thread writer_;
    std::shared_ptr<spdlog::logger> console_;
    std::shared_ptr<spdlog::logger> file_;
    sdk::InstrumentationScope scope_{"flowex.logs", ""};
};

}  // namespace flowex::telemetry::logs
