#pragma once
/// What the SDK records about a span, as exporters see it. Plain, copyable data.
/// `SpanData::scope` and `SpanData::resource` point into the TracerProvider that created the
/// span and are valid for the provider's lifetime.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "flowex/telemetry/api/trace.hpp"

namespace flowex::telemetry::sdk {

/// An owned attribute value (alternative order mirrors AttributeType).
using OwnedValue = std::variant<bool, std::int64_t, double, std::string, std::vector<bool>,
                                std::vector<std::int64_t>, std::vector<double>,
                                std::vector<std::string>>;

/// An attribute's key. Keys come from a small set (the semantic-convention names in the code),
/// so they are interned: a key points at the process's one copy of its text, kept for the
/// process's lifetime. A pooled span record then stores a pointer instead of copying the text
/// into a heap buffer of its own (a cache line to fetch per long key, for the span and for the
/// exporter), and equal interned keys have equal pointers. The table is bounded
/// (kMaxInternedKeys keys of at most kMaxInternedKeySize bytes); a key beyond it owns a copy.
/// Whether a text is interned never changes once decided, so two keys are equal exactly when
/// `SameAs` says so.
class AttributeKey {
public:
    static constexpr std::size_t kMaxInternedKeys = 4096;
    static constexpr std::size_t kMaxInternedKeySize = 256;

    AttributeKey() noexcept = default;
    AttributeKey(const AttributeKey& other) { CopyFrom(other); }
    AttributeKey& operator=(const AttributeKey& other) {
        if (this != &other) {
            Release();
            CopyFrom(other);
        }
        return *this;
    }
    AttributeKey(AttributeKey&& other) noexcept
        : data_(std::exchange(other.data_, "")), size_(std::exchange(other.size_, 0)),
          owned_(std::exchange(other.owned_, false)) {}
    AttributeKey& operator=(AttributeKey&& other) noexcept {
        if (this != &other) {
            Release();
            data_ = std::exchange(other.data_, "");
            size_ = std::exchange(other.size_, 0);
            owned_ = std::exchange(other.owned_, false);
        }
        return *this;
    }
    ~AttributeKey() { Release(); }

    /// The interned copy of `text`, or null when the table has no room for it or `text` is not
    /// ASCII.
    static const char* Intern(std::string_view text) noexcept;

    /// Sets the key to `text`, whose interned copy is `interned` (from Intern; null: an owned
    /// copy).
    void Assign(std::string_view text, const char* interned);

    /// Equal text (by pointer when interned).
    bool SameAs(std::string_view text, const char* interned) const noexcept {
        return interned != nullptr ? data_ == interned : owned_ && view() == text;
    }

    /// True when the key holds its own copy of its text: a key that was not interned (the
    /// table full, the text long, or not ASCII). An interned key's text is ASCII.
    bool owned() const noexcept { return owned_; }
    std::string_view view() const noexcept { return {data_, size_}; }
    operator std::string_view() const noexcept { return view(); }  // NOLINT: reads as text
    const char* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    friend bool operator==(const AttributeKey& a, std::string_view b) noexcept {
        return a.view() == b;
    }

private:
    void Release() noexcept {
        if (owned_) {
            delete[] data_;
        }
    }
    void CopyFrom(const AttributeKey& other) {
        owned_ = false;
        data_ = "";
        size_ = 0;
        if (other.owned_) {
            Assign(other.view(), nullptr);
        } else {
            data_ = other.data_;
            size_ = other.size_;
        }
    }

    const char* data_ = "";  // interned text, or a new[] copy when owned_
    std::uint32_t size_ = 0;
    bool owned_ = false;
};

struct OwnedAttribute {
    AttributeKey key;
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
