#pragma once
/// Log records as the OTLP log exporter sees them, and the log exporter interface.
/// Threading: Export is called from one thread at a time (the log batch worker).
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "flowex/telemetry/sdk/exporter.hpp"
#include "flowex/telemetry/sdk/span_data.hpp"

namespace flowex::telemetry::logs {

/// Values equal OTLP SeverityNumber (the first number of each range).
enum class Severity : std::uint8_t {
    kTrace = 1,
    kDebug = 5,
    kInfo = 9,
    kWarn = 13,
    kError = 17,
    kFatal = 21,
};

/// "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL".
std::string_view SeverityText(Severity severity) noexcept;

struct LogRecordData {
    std::uint64_t time_unix_nano = 0;
    std::uint64_t observed_time_unix_nano = 0;
    Severity severity = Severity::kInfo;
    std::string body;
    sdk::AttributeList attributes;
    TraceId trace_id;  // all-zero outside a span
    SpanId span_id;
    TraceFlags trace_flags;
    const sdk::InstrumentationScope* scope = nullptr;
    const sdk::Resource* resource = nullptr;
};

class LogExporter {
public:
    virtual ~LogExporter() = default;
    /// The records are valid only during the call. Never throws.
    virtual sdk::ExportResult Export(std::span<const LogRecordData* const> records) noexcept = 0;
    virtual bool Shutdown(std::chrono::milliseconds /*timeout*/) noexcept { return true; }
};

}  // namespace flowex::telemetry::logs
