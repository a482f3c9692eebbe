// libFuzzer target: a request body as every service reads it — common::ParseJson, the fields
// taken from it with JsonObjectReader (integers, cents, strings, booleans), and the public
// order body through exchange::ParseNewOrderRequest. Beyond not crashing:
//  - a parsed document written back (ToJson) parses again and writes the same text;
//  - any bytes written as a JSON string (JsonWriter) read back as those bytes made well-formed
//    UTF-8 (each byte that starts no sequence as U+FFFD), so an answer quoting a client's input
//    stays valid JSON;
//  - a number read as an integer or as cents is exact: written back (decimal digits,
//    FormatCents) it reads back as the same value, and it agrees with the number's text read
//    as a long double;
//  - a valid order has a normalized symbol (1-10 of A-Z, 0-9, '.'), a quantity and a price in
//    range, a price exactly when it is a LIMIT order, and a MARKET order is IOC.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "flowex/common/json.hpp"
#include "flowex/common/money.hpp"
#include "flowex/common/utf8.hpp"
#include "flowex/exchange/order.hpp"

namespace {

namespace fc = flowex::common;
namespace fe = flowex::exchange;

void Check(bool condition) {
    if (!condition) { __builtin_trap(); }
}

// The exact value of a JSON number's text, approximately: long double has 64 bits of
// mantissa, so a value below 10^18 is off by less than one part in 10^18.
void CheckAgreesWithText(std::string_view text, std::int64_t value, int scale) {
    const std::string s(text);
    long double expected = std::strtold(s.c_str(), nullptr);
    for (int i = 0; i < scale; ++i) { expected *= 10; }
    const long double diff = std::fabs(expected - static_cast<long double>(value));
    Check(diff <= 1e-12L * std::fabs(expected) + 1e-9L);
}

void CheckNumber(const fc::JsonValue& v) {
    const std::string_view text = v.number_text();
    if (auto i = fc::ParseScaled(text, 0, INT64_MAX)) {
        CheckAgreesWithText(text, *i, 0);
        auto back = fc::ParseScaled(std::to_string(*i), 0, INT64_MAX);
        Check(back && *back == *i);
    }
    if (auto cents = fc::ParseCents(text)) {
        CheckAgreesWithText(text, *cents, 2);
        auto back = fc::ParseCents(fc::FormatCents(*cents));
        Check(back && *back == *cents);
    }
    (void)v.ToInt64();
    (void)v.ToUint64();
    (void)v.ToDouble();
}

void Walk(const fc::JsonValue& v) {
    if (v.is_number()) {
        CheckNumber(v);
    } else if (v.is_array()) {
        for (const auto& e : v.as_array()) { Walk(e); }
    } else if (v.is_object()) {
        fc::JsonObjectReader r(v);
        for (const auto& [key, member] : v.as_object()) {
            (void)r.OptString(key);
            (void)r.OptInt(key, 1, fc::kMaxQuantity);
            (void)r.OptCents(key, 1, fc::kMaxCents);
            (void)r.Bool(key);
            Walk(member);
        }
    }
}

void CheckOrder(const fe::NewOrderRequest& o) {
    Check(!o.symbol.empty() && o.symbol.size() <= 10);
    for (char c : o.symbol) { Check((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'); }
    Check(o.quantity >= 1 && o.quantity <= fc::kMaxQuantity);
    Check(o.price_cents.has_value() == (o.type == fe::OrderType::kLimit));
    if (o.price_cents) { Check(*o.price_cents >= 1 && *o.price_cents <= fc::kMaxCents); }
    if (o.type == fe::OrderType::kMarket) { Check(o.time_in_force == fe::TimeInForce::kIoc); }
    if (o.client_order_id) {
        Check(!o.client_order_id->empty() &&
              o.client_order_id->size() <= fe::kMaxClientOrderIdLength);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    // The services' limits, small enough that the fuzzer reaches them.
    const fc::JsonLimits limits{.max_depth = 16, .max_string_bytes = 4096, .max_elements = 4096};
    fc::JsonWriter quoted;
    quoted.BeginArray().String(text).EndArray();
    auto quoted_back = fc::ParseJson(quoted.str(), {.max_string_bytes = 3 * size + 16});
    Check(quoted_back.ok());
    std::string expected;
    fc::AppendValidUtf8(expected, text);
    Check(quoted_back->as_array().at(0).as_string() == expected);

    auto parsed = fc::ParseJson(text, limits);
    if (!parsed) {
        Check(!parsed.error().message.empty());
        return 0;
    }
    const std::string once = fc::ToJson(*parsed);
    auto reparsed = fc::ParseJson(once, limits);
    Check(reparsed.ok());
    Check(fc::ToJson(*reparsed) == once);

    Walk(*parsed);
    if (auto order = fe::ParseNewOrderRequest(*parsed)) { CheckOrder(*order); }
    return 0;
}
