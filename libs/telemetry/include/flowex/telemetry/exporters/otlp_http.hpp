#pragma once
/// OTLP/HTTP exporters for spans (`/v1/traces`) and logs (`/v1/logs`), protobuf or JSON,
/// optional gzip.
///
/// Transport: a small synchronous HTTP/1.1 client (Boost.Beast) with keep-alive, used only
/// from the batch worker thread that calls Export. Every attempt is bounded by `timeout`.
/// Plain `http://` only (TLS is terminated by a local collector/sidecar).
///
/// Retry (OTLP specification): only 429, 502, 503, 504 and transport failures (connection
/// refused/reset, timeout) are retried, up to `retry.max_attempts` attempts in total, waiting
/// `Retry-After` (delta-seconds or HTTP-date, capped at `retry.max_retry_after`) when the
/// server sends it, else an exponential backoff with jitter (uniform in [b/2, b], b growing by
/// `multiplier` up to `max_backoff`). Any other status (400 included) fails immediately.
/// Failures are counted and logged through spdlog at most once per 10 s (with the number
/// suppressed); headers are never logged (they may hold credentials).
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flowex/telemetry/env.hpp"
#include "flowex/telemetry/logs/log_record.hpp"
#include "flowex/telemetry/sdk/exporter.hpp"
#include "flowex/telemetry/sdk/resource.hpp"
#include "flowex/telemetry/sdk/tracer_provider.hpp"

namespace flowex::telemetry::exporters {

enum class OtlpProtocol : std::uint8_t { kHttpProtobuf, kHttpJson };
enum class OtlpSignal : std::uint8_t { kTraces, kLogs };

struct RetryOptions {
    int max_attempts = 5;
    std::chrono::milliseconds initial_backoff{1000};
    std::chrono::milliseconds max_backoff{5000};
    double multiplier = 1.5;
    std::chrono::milliseconds max_retry_after{30000};
};

struct OtlpHttpOptions {
    // http://[user:password@]host[:port][/path][?query]; userinfo is sent as Basic
    // authentication. https is refused (no TLS here): the exporter then sends nothing.
    std::string endpoint = "http://localhost:4318/v1/traces";
    OtlpProtocol protocol = OtlpProtocol::kHttpProtobuf;
    std::vector<std::pair<std::string, std::string>> headers;
    std::chrono::milliseconds timeout{10000};
    bool gzip = false;
    RetryOptions retry;
};

/// OTEL_EXPORTER_OTLP_{TRACES_,LOGS_}ENDPOINT (the signal-specific one is used as-is; the base
/// one gets `/v1/traces` or `/v1/logs` appended), _HEADERS (k=v,… percent-decoded), _TIMEOUT
/// (ms), _PROTOCOL (http/protobuf | http/json; grpc falls back to http/protobuf), _COMPRESSION
/// (gzip | none). Signal-specific variables win over the base ones.
OtlpHttpOptions OtlpHttpOptionsFromEnv(const EnvLookup& env, OtlpSignal signal);

/// `endpoint` as a log line may show it: userinfo and query, which can carry credentials,
/// become "***" ("http://***@host:4318/v1/traces?***").
std::string RedactEndpoint(std::string_view endpoint);

/// A Retry-After value (delta-seconds or IMF-fixdate HTTP-date) as a wait from `now`;
/// nullopt when unparsable. Dates in the past yield zero; waits past 2^32 seconds (and numbers
/// too large to read) saturate there rather than overflow.
std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now);

struct OtlpExportStats {
    std::uint64_t attempts = 0;         // HTTP requests tried
    std::uint64_t retries = 0;          // attempts beyond the first
    std::uint64_t retry_after_used = 0; // waits taken from a Retry-After header
    std::uint64_t successes = 0;        // exports that ended 2xx
    std::uint64_t failures = 0;         // exports given up
    int last_status = 0;                // last HTTP status (0: transport failure)
};

/// Sends encoded OTLP payloads with the retry policy above. Send is called from one thread at
/// a time; Stats and Shutdown from any thread (Shutdown interrupts a backoff wait).
class OtlpHttpSender {
public:
    explicit OtlpHttpSender(OtlpHttpOptions options);
    ~OtlpHttpSender();
    OtlpHttpSender(const OtlpHttpSender&) = delete;
    OtlpHttpSender& operator=(const OtlpHttpSender&) = delete;

    sdk::ExportResult Send(std::string body) noexcept;
    void Shutdown() noexcept;
    OtlpExportStats Stats() const noexcept;
    const OtlpHttpOptions& Options() const noexcept { return options_; }

private:
    struct Impl;
    OtlpHttpOptions options_;
    std::unique_ptr<Impl> impl_;
};

class OtlpHttpSpanExporter final : public sdk::SpanExporter {
public:
    explicit OtlpHttpSpanExporter(OtlpHttpOptions options) : sender_(std::move(options)) {}
    sdk::ExportResult Export(std::span<const sdk::SpanData* const> spans) noexcept override;
    bool Shutdown(std::chrono::milliseconds timeout) noexcept override;
    OtlpExportStats Stats() const noexcept { return sender_.Stats(); }

private:
    OtlpHttpSender sender_;
};

class OtlpHttpLogExporter final : public logs::LogExporter {
public:
    explicit OtlpHttpLogExporter(OtlpHttpOptions options) : sender_(std::move(options)) {}
    sdk::ExportResult Export(std::span<const logs::LogRecordData* const> records) noexcept override;
    bool Shutdown(std::chrono::milliseconds timeout) noexcept override;
    OtlpExportStats Stats() const noexcept { return sender_.Stats(); }

private:
    OtlpHttpSender sender_;
};

/// The one-call setup a service's main() uses: reads every OTEL_* variable (resource,
/// sampler, limits, OTEL_BSP_*, OTEL_TRACES_EXPORTER = otlp | console | none, the exporter
/// options, OTEL_PROPAGATORS, OTEL_SDK_DISABLED), builds a provider with a BatchSpanProcessor,
/// and installs it and the propagator globally. Returns the provider (keep it for the process
/// lifetime; call Shutdown at exit to flush).
std::shared_ptr<sdk::TracerProvider> InitTracingFromEnv(const EnvLookup& env,
                                                        sdk::ResourceOptions resource);

}  // namespace flowex::telemetry::exporters
