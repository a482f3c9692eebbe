#pragma once
/// Attribute values as instrumented code passes them: non-owning views, cheap to build.
/// The SDK copies what it keeps; the caller's strings only need to live for the call.
#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace flowex::telemetry {

enum class AttributeType : std::uint8_t {
    kBool,
    kInt64,
    kDouble,
    kString,
    kBoolArray,
    kInt64Array,
    kDoubleArray,
    kStringArray,
};

/// A borrowed attribute value: bool, any integer (stored as int64), double, string, or an
/// array of one of those. `const char*` is a string, never a bool.
class AttributeValue {
public:
    AttributeValue(bool v) noexcept : type_(AttributeType::kBool) { u_.b = v; }  // NOLINT
    template <std::integral T>
        requires(!std::same_as<T, bool> && !std::same_as<T, char>)
    AttributeValue(T v) noexcept : type_(AttributeType::kInt64) {  // NOLINT
        u_.i = static_cast<std::int64_t>(v);
    }
    AttributeValue(double v) noexcept : type_(AttributeType::kDouble) { u_.d = v; }  // NOLINT
    AttributeValue(float v) noexcept : type_(AttributeType::kDouble) { u_.d = v; }   // NOLINT
    AttributeValue(std::string_view v) noexcept : type_(AttributeType::kString) {    // NOLINT
        u_.s = {v.data(), v.size()};
    }
    AttributeValue(const char* v) noexcept : AttributeValue(std::string_view(v)) {}  // NOLINT
    AttributeValue(const std::string& v) noexcept : AttributeValue(std::string_view(v)) {}  // NOLINT
    AttributeValue(std::span<const bool> v) noexcept : type_(AttributeType::kBoolArray) {  // NOLINT
        u_.a = {v.data(), v.size()};
    }
    AttributeValue(std::span<const std::int64_t> v) noexcept  // NOLINT
        : type_(AttributeType::kInt64Array) {
        u_.a = {v.data(), v.size()};
    }
    AttributeValue(std::span<const double> v) noexcept  // NOLINT
        : type_(AttributeType::kDoubleArray) {
        u_.a = {v.data(), v.size()};
    }
    AttributeValue(std::span<const std::string_view> v) noexcept  // NOLINT
        : type_(AttributeType::kStringArray) {
        u_.a = {v.data(), v.size()};
    }

    AttributeType Type() const noexcept { return type_; }
    bool AsBool() const noexcept { return u_.b; }
    std::int64_t AsInt64() const noexcept { return u_.i; }
    double AsDouble() const noexcept { return u_.d; }
    std::string_view AsString() const noexcept { return {u_.s.data, u_.s.size}; }
    std::span<const bool> AsBoolArray() const noexcept {
        return {static_cast<const bool*>(u_.a.data), u_.a.size};
    }
    std::span<const std::int64_t> AsInt64Array() const noexcept {
        return {static_cast<const std::int64_t*>(u_.a.data), u_.a.size};
    }
    std::span<const double> AsDoubleArray() const noexcept {
        return {static_cast<const double*>(u_.a.data), u_.a.size};
    }
    std::span<const std::string_view> AsStringArray() const noexcept {
        return {static_cast<const std::string_view*>(u_.a.data), u_.a.size};
    }

private:
    struct Str {
        const char* data;
        std::size_t size;
    };
    struct Arr {
        const void* data;
        std::size_t size;
    };
    union U {
        bool b;
        std::int64_t i;
        double d;
        Str s;
        Arr a;
    } u_{};
    AttributeType type_;
};

/// A borrowed key/value pair (for StartSpan options, events and links).
struct Attribute {
    std::string_view key;
    AttributeValue value;
};

}  // namespace flowex::telemetry
