#pragma once
// The SDK's span: a pooled record that is both the SpanBackend behind a recording Span and
// the SpanData exporters read. Records are recycled through a process-wide pool with
// per-thread caches, so the hot path allocates nothing once warm.
#include "flowex/telemetry/sdk/span_data.hpp"
#include "flowex/telemetry/sdk/tracer_provider.hpp"

namespace flowex::telemetry::sdk {

class SpanRecord final : public SpanBackend {
public:
    SpanData data;
    TracerProvider* provider = nullptr;
    bool sampled = false;

    void SetAttribute(std::string_view key, const AttributeValue& value) noexcept override;
    void AddEvent(std::string_view name, std::span<const Attribute> attributes,
                  Timestamp time) noexcept override;
    void AddLink(const SpanContext& context,
                 std::span<const Attribute> attributes) noexcept override;
    void SetStatus(StatusCode code, std::string_view description) noexcept override;
    void UpdateName(std::string_view name) noexcept override;
    void End(Timestamp end_time) noexcept override;

    /// Clears the record for reuse, keeping string and vector capacity.
    void Reset() noexcept;
};

/// A record from the pool (reset). Any thread.
SpanRecord* AcquireSpanRecord() noexcept;
/// Returns a record to the pool. Any thread.
void ReleaseSpanRecord(SpanRecord* record) noexcept;

/// Nanoseconds since the Unix epoch, now.
std::uint64_t NowUnixNanos() noexcept;

}  // namespace flowex::telemetry::sdk
