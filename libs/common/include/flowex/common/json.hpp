#pragma once
/// A small JSON DOM that keeps every number's *text*, so money and 64-bit integers are
/// parsed exactly (Boost.JSON's own DOM would hand us a double), plus `JsonWriter`, a fast
/// append-only serializer that writes money with exactly two decimals.
///
/// Parsing uses Boost.JSON's validating `basic_parser`; depth, string and element counts
/// are bounded by `JsonLimits`, so hostile input costs bounded memory and never crashes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "flowex/common/result.hpp"

namespace flowex::common {

class JsonValue;
using JsonArray = std::vector<JsonValue>;
using JsonMember = std::pair<std::string, JsonValue>;
using JsonObject = std::vector<JsonMember>;

/// A JSON number as written in the document (e.g. "776.25", "-1e3").
struct JsonNumber {
    std::string text;
};

class JsonValue {
public:
    enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

    JsonValue() = default;
    explicit JsonValue(bool b) : v_(b) {}
    explicit JsonValue(JsonNumber n) : v_(std::move(n)) {}
    explicit JsonValue(std::string s) : v_(std::move(s)) {}
    explicit JsonValue(JsonArray a) : v_(std::move(a)) {}
    explicit JsonValue(JsonObject o) : v_(std::move(o)) {}

    Kind kind() const noexcept { return static_cast<Kind>(v_.index()); }
    bool is_null() const noexcept { return kind() == Kind::kNull; }
    bool is_bool() const noexcept { return kind() == Kind::kBool; }
    bool is_number() const noexcept { return kind() == Kind::kNumber; }
    bool is_string() const noexcept { return kind() == Kind::kString; }
    bool is_array() const noexcept { return kind() == Kind::kArray; }
    bool is_object() const noexcept { return kind() == Kind::kObject; }

    /// Accessors; calling one for the wrong kind is a programming error (aborts).
    bool as_bool() const { return std::get<bool>(v_); }
    std::string_view number_text() const { return std::get<JsonNumber>(v_).text; }
    const std::string& as_string() const { return std::get<std::string>(v_); }
    const JsonArray& as_array() const { return std::get<JsonArray>(v_); }
    const JsonObject& as_object() const { return std::get<JsonObject>(v_); }
    JsonArray& as_array() { return std::get<JsonArray>(v_); }
    JsonObject& as_object() { return std::get<JsonObject>(v_); }

    /// Member lookup on an object (the first member of that name); nullptr when absent or
    /// when this is not an object.
    const JsonValue* Find(std::string_view key) const noexcept;

    /// The number as an exact integer: integral text (or an integral value such as 1e3 or
    /// 10.0) within int64; nullopt otherwise (fractions, overflow, not a number).
    std::optional<std::int64_t> ToInt64() const noexcept;
    /// Like ToInt64 for uint64 (used for OTLP fixed64 times written as JSON numbers).
    std::optional<std::uint64_t> ToUint64() const noexcept;
    /// The number as a double (nullopt when not a number or not finite).
    std::optional<double> ToDouble() const noexcept;

private:
    std::variant<std::monostate, bool, JsonNumber, std::string, JsonArray, JsonObject> v_;
};

struct JsonLimits {
    std::size_t max_depth = 64;
    std::size_t max_string_bytes = 1 << 20;
    std::size_t max_elements = 1 << 20;  // total values in the document
};

/// Parses one JSON document (whitespace around it allowed). Errors are kInvalidJson with
/// a message that names what was wrong, never echoing the input.
Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits = {});

/// Reads the fields of one request object and maps problems to DESIGN §4's codes:
/// a missing required field → kValidation; a known field of the wrong JSON type →
/// kInvalidJson; a value out of range → kValidation. Unknown fields are ignored.
class JsonObjectReader {
public:
    /// `value` must outlive the reader. A non-object yields kInvalidJson on first use.
    explicit JsonObjectReader(const JsonValue& value) : value_(value) {}

    Result<std::string> String(std::string_view key) const;
    Result<std::optional<std::string>> OptString(std::string_view key) const;
    /// A whole number (no fraction) in [min, max].
    Result<std::int64_t> Int(std::string_view key, std::int64_t min, std::int64_t max) const;
    Result<std::optional<std::int64_t>> OptInt(std::string_view key, std::int64_t min,
                                               std::int64_t max) const;
    /// A dollar amount with at most 2 decimals (from the number's text) as cents in
    /// [min_cents, max_cents].
    Result<std::int64_t> Cents(std::string_view key, std::int64_t min_cents,
                               std::int64_t max_cents) const;
    Result<std::optional<std::int64_t>> OptCents(std::string_view key, std::int64_t min_cents,
                                                 std::int64_t max_cents) const;
    Result<bool> Bool(std::string_view key) const;

private:
    Result<const JsonValue*> Get(std::string_view key, bool required) const;
    const JsonValue& value_;
};

/// Append-only JSON serializer. Commas are managed for you; keys and strings are escaped (and
/// made well-formed UTF-8, as AppendJsonEscaped does).
/// Not thread-safe; reuse one per response.
class JsonWriter {
public:
    JsonWriter& BeginObject();
    JsonWriter& EndObject();
    JsonWriter& BeginArray();
    JsonWriter& EndArray();
    JsonWriter& Key(std::string_view key);
    JsonWriter& String(std::string_view s);
    JsonWriter& Int(std::int64_t v);
    JsonWriter& Uint(std::uint64_t v);
    JsonWriter& Double(double v);  // shortest round-trip text; non-finite → null
    JsonWriter& Bool(bool v);
    JsonWriter& Null();
    /// Cents as a JSON number with exactly two decimals: 77625 → 776.25, 15000 → 150.00.
    JsonWriter& Cents(std::int64_t cents);
    /// A pre-serialized JSON value, inserted as is.
    JsonWriter& Raw(std::string_view json);
    /// Writes a DOM value.
    JsonWriter& Value(const JsonValue& v);

    template <class T>
    JsonWriter& Field(std::string_view key, const T& v);

    const std::string& str() const noexcept { return out_; }
    std::string Take() noexcept { return std::move(out_); }
    void Clear() noexcept {
        out_.clear();
        first_.clear();
    }
    void Reserve(std::size_t n) { out_.reserve(n); }

private:
    void Separate();
    std::string out_;
    std::vector<bool> first_;  // per open container: no element written yet
    bool after_key_ = false;
};

/// Appends `s` JSON-escaped (without quotes) to `out`; bytes that are not well-formed UTF-8
/// become U+FFFD (see utf8.hpp), so the output is always valid JSON.
void AppendJsonEscaped(std::string& out, std::string_view s);
/// Serializes a DOM value.
std::string ToJson(const JsonValue& v);

template <class T>
JsonWriter& JsonWriter::Field(std::string_view key, const T& v) {
    Key(key);
    if constexpr (std::is_same_v<T, bool>) {
        return Bool(v);
    } else if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
        return Int(v);
    } else if constexpr (std::is_integral_v<T>) {
        return Uint(v);
    } else if constexpr (std::is_floating_point_v<T>) {
        return Double(v);
    } else {
        return String(std::string_view(v));
    }
}

}  // namespace flowex::common
