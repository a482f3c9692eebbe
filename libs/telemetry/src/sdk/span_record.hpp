#pragma once
// The SDK's span: a pooled record that is both the SpanBackend behind a recording Span and
// the SpanData exporters read. Each record belongs to the thread that first allocated it and
// is always recycled back to that thread's pool (record_pool.cpp), so the hot path allocates
// nothing once warm and takes no lock.
#include <span>

#include "flowex/telemetry/sdk/span_data.hpp"
#include "flowex/telemetry/sdk/tracer_provider.hpp"

namespace flowex::telemetry::sdk {

struct RecordHome;  // a thread's record pool (record_pool.cpp)

class SpanRecord final : public SpanBackend {
public:
    SpanData data;
    TracerProvider* provider = nullptr;
    bool sampled = false;
    RecordHome* home = nullptr;        // the pool this record returns to; set once
    SpanRecord* next_free = nullptr;   // link while in its own thread's free list

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

/// A record from the calling thread's pool (reset). Any thread; never blocks.
SpanRecord* AcquireSpanRecord() noexcept;
/// Returns a record to the pool of the thread that acquired it. Any thread; never blocks.
void ReleaseSpanRecord(SpanRecord* record) noexcept;
/// The same for many records, given each one's `home` (`homes[i] == records[i]->home`) so that
/// the records' memory is not touched at all: one atomic operation per block of records.
void ReleaseSpanRecords(std::span<SpanRecord* const> records,
                        std::span<RecordHome* const> homes) noexcept;

/// `out = s`, in place when the length matches (pooled records see the same names and values
/// over and over); a long `out` that already holds `s` is not written. Keeps `out`'s capacity.
void AssignReusing(std::string& out, std::string_view s) noexcept;

/// Nanoseconds since the Unix epoch, now.
std::uint64_t NowUnixNanos() noexcept;

}  // namespace flowex::telemetry::sdk
