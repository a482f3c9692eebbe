#pragma once
/// What the SDK records about a span, as exporters see it. Plain, copyable data.
/// `SpanData::scope` and `SpanData::resource` point into the TracerProvider that created the
/// span and are valid for the provider's lifetime.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "flowex/telemetry/api/trace.hpp"

namespace flowex::telemetry::sdk {

/// An owned attribute value (alternative order mirrors AttributeType).
using OwnedValue = std::variant<bool, std::int64_t, double, std::string, std::vector<bool>,
                                std::vector<std::int64_t>, std::vector<double>,
                                std::vector<std::string>>;

struct OwnedAttribute {
    std::string key;
    OwnedValue value;
};

/// Copies `value` into `out`, reusing `out`'s string capacity when it already holds a string;
/// strings are cut to `max_length` bytes (0 = unlimited) on a UTF-8 boundary.
void AssignValue(OwnedValue& out, const AttributeValue& value, std::size_t max_length) noexcept;

/// An attribute list that keeps its slots' capacity across Clear() (span records are pooled).
/// Setting an existing key overwrites it; a new key beyond `count_limit` is dropped.
class AttributeList {
public:
    AttributeList() = default;
    AttributeList(const AttributeList& other) : items_(other.begin(), other.end()),
                                                size_(other.size_) {}
    AttributeList& operator=(const AttributeList& other) {
        if (this != &other) {
            items_.assign(other.begin(), other.end());
            size_ = other.size_;
        }
        return *this;
    }
    AttributeList(AttributeList&&) noexcept = default;
    AttributeList& operator=(AttributeList&&) noexcept = default;

    /// False when dropped by the count limit.
    bool Set(std::string_view key, const AttributeValue& value, std::size_t count_limit,
             std::size_t value_length_limit) noexcept;
    void Clear() noexcept { size_ = 0; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const OwnedAttribute* begin() const noexcept { return items_.data(); }
    const OwnedAttribute* end() const noexcept { return items_.data() + size_; }
    const OwnedAttribute& operator[](std::size_t i) const noexcept { return items_[i]; }
    /// The value of `key`, or nullptr.
    const OwnedValue* Find(std::string_view key) const noexcept;

private:
    std::vector<OwnedAttribute> items_;
    std::size_t size_ = 0;
};

struct InstrumentationScope {
    std::string name;
    std::string version;
};

/// An immutable set of resource attributes (service.name, host.name, ...).
struct Resource {
    AttributeList attributes;

    /// The string value of `key`, or "".
    std::string_view GetString(std::string_view key) const noexcept;
};

struct EventData {
    std::string name;
    std::uint64_t time_unix_nano = 0;
    AttributeList attributes;
    std::uint32_t dropped_attributes_count = 0;
};

struct LinkData {
    SpanContext context;
    AttributeList attributes;
    std::uint32_t dropped_attributes_count = 0;
};

struct SpanData {
    TraceId trace_id;
    SpanId span_id;
    SpanId parent_span_id;  // all-zero for a root span
    TraceFlags trace_flags;
    bool parent_is_remote = false;
    std::string trace_state;
    std::string name;
    SpanKind kind = SpanKind::kInternal;
    std::uint64_t start_time_unix_nano = 0;
    std::uint64_t end_time_unix_nano = 0;
    AttributeList attributes;
    std::uint32_t dropped_attributes_count = 0;
    std::vector<EventData> events;
    std::uint32_t dropped_events_count = 0;
    std::vector<LinkData> links;
    std::uint32_t dropped_links_count = 0;
    StatusCode status_code = StatusCode::kUnset;
    std::string status_message;
    const InstrumentationScope* scope = nullptr;
    const Resource* resource = nullptr;

    /// The OTLP `flags` field: trace flags plus the HAS_IS_REMOTE/IS_REMOTE bits.
    std::uint32_t OtlpFlags() const noexcept {
        return trace_flags.value | 0x100u | (parent_is_remote ? 0x200u : 0u);
    }
};

}  // namespace flowex::telemetry::sdk
