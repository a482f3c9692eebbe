#include "flowex/telemetry/logs/log_record.hpp"

namespace flowex::telemetry::logs {

std::string_view SeverityText(Severity severity) noexcept {
    switch (severity) {
        case Severity::kTrace:
            return "TRACE";
        case Severity::kDebug:
            return "DEBUG";
        case Severity::kInfo:
            return "INFO";
        case Severity::kWarn:
            return "WARN";
        case Severity::kError:
            return "ERROR";
        case Severity::kFatal:
            return "FATAL";
    }
    return "INFO";
}

}  // namespace flowex::telemetry::logs
