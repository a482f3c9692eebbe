#include "flowex/common/json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cmath>
#include <cstring>

#include "flowex/common/money.hpp"
#include "flowex/common/utf8.hpp"

namespace flowex::common {
namespace {

using boost::json::error_code;

// Builds a JsonValue tree from basic_parser events; a stack of open containers.
class DomBuilder {
public:
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);

    explicit DomBuilder(const JsonLimits& limits) : limits_(limits) {}

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_array_begin(error_code& ec) { return Open(JsonValue(JsonArray{}), ec); }
    bool on_array_end(std::size_t, error_code& ec) { return Close(ec); }
    bool on_object_begin(error_code& ec) { return Open(JsonValue(JsonObject{}), ec); }
    bool on_object_end(std::size_t, error_code& ec) { return Close(ec); }
    bool on_string_part(std::string_view s, std::size_t, error_code& ec) {
        return Accumulate(s, ec);
    }
    bool on_string(std::string_view s, std::size_t, error_code& ec) {
        if (!Accumulate(s, ec)) { return false; }
        return Add(JsonValue(std::exchange(text_, {})), ec);
    }
    bool on_key_part(std::string_view s, std::size_t, error_code& ec) { return Accumulate(s, ec); }
    bool on_key(std::string_view s, std::size_t, error_code& ec) {
        if (!Accumulate(s, ec)) { return false; }
        key_ = std::exchange(text_, {});
        return true;
    }
    bool on_number_part(std::string_view s, error_code& ec) { return Accumulate(s, ec); }
    bool on_int64(std::int64_t, std::string_view s, error_code& ec) { return Number(s, ec); }
    bool on_uint64(std::uint64_t, std::string_view s, error_code& ec) { return Number(s, ec); }
    bool on_double(double, std::string_view s, error_code& ec) { return Number(s, ec); }
    bool on_bool(bool b, error_code& ec) { return Add(JsonValue(b), ec); }
    bool on_null(error_code& ec) { return Add(JsonValue(), ec); }
    bool on_comment_part(std::string_view, error_code&) { return true; }
    bool on_comment(std::string_view, error_code&) { return true; }

    JsonValue Take() { return std::move(root_); }
    const char* limit_error = nullptr;

private:
    bool Fail(error_code& ec, const char* why) {
        limit_error = why;
        ec = boost::json::error::exception;
        return false;
    }
    bool Accumulate(std::string_view s, error_code& ec) {
        if (text_.size() + s.size() > limits_.max_string_bytes) {
            return Fail(ec, "string too long");
        }
        text_.append(s.data(), s.size());
        return true;
    }
    bool Number(std::string_view s, error_code& ec) {
        if (!Accumulate(s, ec)) { return false; }
        return Add(JsonValue(JsonNumber{std::exchange(text_, {})}), ec);
    }
    bool Count(error_code& ec) {
        if (++elements_ > limits_.max_elements) { return Fail(ec, "too many elements"); }
        return true;
    }
    // Places `v` into the innermost open container (or as the root) and returns it.
    JsonValue* Place(JsonValue v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        JsonValue* top = stack_.back();
        if (top->is_array()) {
            top->as_array().push_back(std::move(v));
            return &top->as_array().back();
        }
        top->as_object().emplace_back(std::exchange(key_, {}), std::move(v));
        return &top->as_object().back().second;
    }
    bool Add(JsonValue v, error_code& ec) {
        if (!Count(ec)) { return false; }
        Place(std::move(v));
        return true;
    }
    bool Open(JsonValue v, error_code& ec) {
        if (!Count(ec)) { return false; }
        if (stack_.size() >= limits_.max_depth) { return Fail(ec, "nesting too deep"); }
        stack_.push_back(Place(std::move(v)));
        return true;
    }
    bool Close(error_code&) {
        stack_.pop_back();
        return true;
    }

    const JsonLimits& limits_;
    JsonValue root_;
    std::vector<JsonValue*> stack_;  // pointers stay valid: a container is only appended to
                                     // while it is the innermost open one
    std::string text_;
    std::string key_;
    std::size_t elements_ = 0;
};

bool IsIntegralText(std::string_view t) {
    return t.find_first_of(".eE") == std::string_view::npos;
}

}  // namespace

const JsonValue* JsonValue::Find(std::string_view key) const noexcept {
    if (!is_object()) { return nullptr; }
    for (const auto& [k, v] : as_object()) {
        if (k == key) { return &v; }
    }
    return nullptr;
}

std::optional<std::int64_t> JsonValue::ToInt64() const noexcept {
    if (!is_number()) { return std::nullopt; }
    std::string_view t = number_text();
    if (IsIntegralText(t)) {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc() || p != t.data() + t.size()) { return std::nullopt; }
        return v;
    }
    auto r = ParseScaled(t, 0, INT64_MAX);
    if (!r) { return std::nullopt; }
    return *r;
}

std::optional<std::uint64_t> JsonValue::ToUint64() const noexcept {
    if (!is_number()) { return std::nullopt; }
    std::string_view t = number_text();
    if (IsIntegralText(t)) {
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc() || p != t.data() + t.size()) { return std::nullopt; }
        return v;
    }
    auto r = ToInt64();
    if (!r || *r < 0) { return std::nullopt; }
    return static_cast<std::uint64_t>(*r);
}

std::optional<double> JsonValue::ToDouble() const noexcept {
    if (!is_number()) { return std::nullopt; }
    std::string_view t = number_text();
    double d = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
    if (ec != std::errc() || p != t.data() + t.size() || !std::isfinite(d)) {
        return std::nullopt;
    }
    return d;
}

Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits) {
    boost::json::parse_options opts;
    opts.max_depth = limits.max_depth + 1;
    boost::json::basic_parser<DomBuilder> parser(opts, limits);
    error_code ec;
    std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
    if (!ec && used != text.size()) { ec = boost::json::error::extra_data; }
    if (ec) {
        if (parser.handler().limit_error != nullptr) {
            return Error{ErrorCode::kInvalidJson,
                         std::string("request body rejected: ") + parser.handler().limit_error};
        }
        if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
            return Error{ErrorCode::kInvalidJson, "request body is empty; expected JSON"};
        }
        return Error{ErrorCode::kInvalidJson, "request body is not valid JSON: " + ec.message()};
    }
    return parser.handler().Take();
}

// ---- JsonObjectReader ----

Result<const JsonValue*> JsonObjectReader::Get(std::string_view key, bool required) const {
    if (!value_.is_object()) {
        return Error{ErrorCode::kInvalidJson, "request body must be a JSON object"};
    }
    const JsonValue* v = nullptr;
    for (const auto& [name, member] : value_.as_object()) {
        if (name != key) { continue; }
        if (v != nullptr) {
            // Parsers disagree on which one counts (the first, the last); a request that
            // means two things is refused rather than guessed at.
            return Error{ErrorCode::kInvalidJson,
                         "field '" + std::string(key) + "' appears more than once"};
        }
        v = &member;
    }
    if ((v == nullptr || v->is_null()) && required) {
        return Error{ErrorCode::kValidation, "missing field '" + std::string(key) + "'"};
    }
    if (v != nullptr && v->is_null()) { return static_cast<const JsonValue*>(nullptr); }
    return v;
}

namespace {
Error WrongType(std::string_view key, const char* want) {
    return Error{ErrorCode::kInvalidJson,
                 "field '" + std::string(key) + "' must be " + want};
}
Error OutOfRange(std::string_view key, const std::string& why) {
    return Error{ErrorCode::kValidation, "field '" + std::string(key) + "': " + why};
}
}  // namespace

Result<std::string> JsonObjectReader::String(std::string_view key) const {
    auto v = OptString(key);
    if (!v) { return std::move(v).error(); }
    if (!v->has_value()) {
        return Error{ErrorCode::kValidation, "missing field '" + std::string(key) + "'"};
    }
    return std::move(**v);
}

Result<std::optional<std::string>> JsonObjectReader::OptString(std::string_view key) const {
    auto v = Get(key, false);
    if (!v) { return std::move(v).error(); }
    if (*v == nullptr) { return std::optional<std::string>{}; }
    if (!(*v)->is_string()) { return WrongType(key, "a string"); }
    return std::optional<std::string>((*v)->as_string());
}

Result<std::int64_t> JsonObjectReader::Int(std::string_view key, std::int64_t min,
                                           std::int64_t max) const {
    auto v = OptInt(key, min, max);
    if (!v) { return std::move(v).error(); }
    if (!v->has_value()) {
        return Error{ErrorCode::kValidation, "missing field '" + std::string(key) + "'"};
    }
    return **v;
}

Result<std::optional<std::int64_t>> JsonObjectReader::OptInt(std::string_view key,
                                                             std::int64_t min,
                                                             std::int64_t max) const {
    auto v = Get(key, false);
    if (!v) { return std::move(v).error(); }
    if (*v == nullptr) { return std::optional<std::int64_t>{}; }
    if (!(*v)->is_number()) { return WrongType(key, "a number"); }
    auto parsed = ParseScaled((*v)->number_text(), 0, INT64_MAX);
    if (!parsed) {
        return OutOfRange(key, parsed.error().message == "too many decimal places"
                                   ? "must be a whole number"
                                   : parsed.error().message);
    }
    if (*parsed < min || *parsed > max) {
        return OutOfRange(key, "must be between " + std::to_string(min) + " and " +
                                   std::to_string(max));
    }
    return std::optional<std::int64_t>(*parsed);
}

Result<std::int64_t> JsonObjectReader::Cents(std::string_view key, std::int64_t min_cents,
                                             std::int64_t max_cents) const {
    auto v = OptCents(key, min_cents, max_cents);
    if (!v) { return std::move(v).error(); }
    if (!v->has_value()) {
        return Error{ErrorCode::kValidation, "missing field '" + std::string(key) + "'"};
    }
    return **v;
}

Result<std::optional<std::int64_t>> JsonObjectReader::OptCents(std::string_view key,
                                                               std::int64_t min_cents,
                                                               std::int64_t max_cents) const {
    auto v = Get(key, false);
    if (!v) { return std::move(v).error(); }
    if (*v == nullptr) { return std::optional<std::int64_t>{}; }
    if (!(*v)->is_number()) { return WrongType(key, "a number"); }
    auto cents = ParseCents((*v)->number_text());
    if (!cents) {
        return OutOfRange(key, cents.error().message == "too many decimal places"
                                   ? "at most 2 decimal places are allowed"
                                   : cents.error().message);
    }
    if (*cents < min_cents || *cents > max_cents) {
        return OutOfRange(key, "must be between " + FormatCents(min_cents) + " and " +
                                   FormatCents(max_cents));
    }
    return std::optional<std::int64_t>(*cents);
}

Result<bool> JsonObjectReader::Bool(std::string_view key) const {
    auto v = Get(key, true);
    if (!v) { return std::move(v).error(); }
    if (!(*v)->is_bool()) { return WrongType(key, "true or false"); }
    return (*v)->as_bool();
}

// ---- JsonWriter ----

namespace {

// Whether any of the 8 bytes of `w` needs a look in a JSON string: a control byte (< 0x20),
// '"', '\\' or a byte >= 0x80. (The zero-byte tests can also flag the bytes above a real
// match, never a word without one.)
bool WordNeedsALook(std::uint64_t w) noexcept {
    constexpr std::uint64_t k01 = 0x0101010101010101ULL;
    constexpr std::uint64_t k80 = 0x8080808080808080ULL;
    const auto has_zero = [](std::uint64_t x) { return (x - k01) & ~x & k80; };
    return (((w - k01 * 0x20) & ~w) | has_zero(w ^ (k01 * '"')) | has_zero(w ^ (k01 * '\\')) | w) &
           k80;
}

}  // namespace

void AppendJsonEscaped(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        // Most text needs no escape: skip it 8 bytes at a time.
        while (i + 8 <= s.size()) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            if (WordNeedsALook(w)) { break; }
            i += 8;
        }
        if (i >= s.size()) { break; }
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            // Well-formed UTF-8 goes out as it is; a byte that starts no sequence as U+FFFD,
            // so that the document stays valid JSON whatever bytes a client sent.
            if (const std::size_t n = Utf8SequenceAt(s, i); n != 0) {
                i += n - 1;
                continue;
            }
            out.append(s.data() + run, i - run);
            run = i + 1;
            out += kUtf8Replacement;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') { continue; }
        out.append(s.data() + run, i - run);
        run = i + 1;
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                out += "\\u00";
                out.push_back(kHex[c >> 4]);
                out.push_back(kHex[c & 0xF]);
        }
    }
    out.append(s.data() + run, s.size() - run);
}

void JsonWriter::Separate() {
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!first_.empty()) {
        if (!first_.back()) { out_.push_back(','); }
        first_.back() = false;
    }
}

JsonWriter& JsonWriter::BeginObject() {
    Separate();
    out_.push_back('{');
    first_.push_back(true);
    return *this;
}
JsonWriter& JsonWriter::EndObject() {
    out_.push_back('}');
    first_.pop_back();
    return *this;
}
JsonWriter& JsonWriter::BeginArray() {
    Separate();
    out_.push_back('[');
    first_.push_back(true);
    return *this;
}
JsonWriter& JsonWriter::EndArray() {
    out_.push_back(']');
    first_.pop_back();
    return *this;
}
JsonWriter& JsonWriter::Key(std::string_view key) {
    Separate();
    out_.push_back('"');
    AppendJsonEscaped(out_, key);
    out_ += "\":";
    after_key_ = true;
    return *this;
}
JsonWriter& JsonWriter::String(std::string_view s) {
    Separate();
    out_.push_back('"');
    AppendJsonEscaped(out_, s);
    out_.push_back('"');
    return *this;
}
JsonWriter& JsonWriter::Int(std::int64_t v) {
    Separate();
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, p);
    return *this;
}
JsonWriter& JsonWriter::Uint(std::uint64_t v) {
    Separate();
    char buf[24];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, p);
    return *this;
}
JsonWriter& JsonWriter::Double(double v) {
    if (!std::isfinite(v)) { return Null(); }
    Separate();
    char buf[32];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, p);
    return *this;
}
JsonWriter& JsonWriter::Bool(bool v) {
    Separate();
    out_ += v ? "true" : "false";
    return *this;
}
JsonWriter& JsonWriter::Null() {
    Separate();
    out_ += "null";
    return *this;
}
JsonWriter& JsonWriter::Cents(std::int64_t cents) {
    Separate();
    out_ += FormatCents(cents);
    return *this;
}
JsonWriter& JsonWriter::Raw(std::string_view json) {
    Separate();
    out_.append(json);
    return *this;
}
JsonWriter& JsonWriter::Value(const JsonValue& v) {
    switch (v.kind()) {
        case JsonValue::Kind::kNull: return Null();
        case JsonValue::Kind::kBool: return Bool(v.as_bool());
        case JsonValue::Kind::kNumber: return Raw(v.number_text());
        case JsonValue::Kind::kString: return String(v.as_string());
        case JsonValue::Kind::kArray:
            BeginArray();
            for (const auto& e : v.as_array()) { Value(e); }
            return EndArray();
        case JsonValue::Kind::kObject:
            BeginObject();
            for (const auto& [k, e] : v.as_object()) {
                Key(k);
                Value(e);
            }
            return EndObject();
    }
    return *this;
}

std::string ToJson(const JsonValue& v) {
    JsonWriter w;
    w.Value(v);
    return w.Take();
}

}  // namespace flowex::common
