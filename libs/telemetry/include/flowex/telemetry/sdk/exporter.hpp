#pragma once
/// The exporter interface between the span processors and the exporters.
/// Threading: a processor calls Export from one thread at a time (the batch worker, or the
/// caller under the simple processor's lock). Export may block for up to the exporter's own
/// timeout; it never throws. The spans are valid only during the call: copy what you keep.
#include <chrono>
#include <span>

#include "flowex/telemetry/sdk/span_data.hpp"

namespace flowex::telemetry::sdk {

enum class ExportResult : std::uint8_t {
    kSuccess,
    kFailure,  // dropped after retries, or a permanent error (e.g. 400)
};

class SpanExporter {
public:
    virtual ~SpanExporter() = default;
    virtual ExportResult Export(std::span<const SpanData* const> spans) noexcept = 0;
    virtual bool ForceFlush(std::chrono::milliseconds /*timeout*/) noexcept { return true; }
    /// After Shutdown, Export fails fast.
    virtual bool Shutdown(std::chrono::milliseconds /*timeout*/) noexcept { return true; }
};

}  // namespace flowex::telemetry::sdk
