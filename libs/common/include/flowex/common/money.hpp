#pragma once
/// Exact money, price and quantity types. Values are integers (cents, shares); parsing
/// works from a JSON number's *text*, so "776.25" is exactly 77625 cents. A value that is
/// not a whole number of cents (776.255), NaN/Infinity, an exponent that overflows, or a
/// sign where none is allowed is an error — never a rounding. (Trailing zeros such as
/// "1.500" are exact and accepted.)
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "flowex/common/result.hpp"

namespace flowex::common {

/// Upper bound for any amount: $10^13 (fits int64 cents with headroom for sums).
inline constexpr std::int64_t kMaxCents = 1'000'000'000'000'000;
/// Upper bound for any share quantity.
inline constexpr std::int64_t kMaxQuantity = 1'000'000'000;

/// Parses a decimal number's text (JSON number grammar: -?int(.frac)?([eE][+-]?exp)?)
/// into cents; |value| must be ≤ max_abs_cents. Errors: kValidation.
Result<std::int64_t> ParseCents(std::string_view text, std::int64_t max_abs_cents = kMaxCents);

/// Parses a decimal number's text into an exact integer scaled by 10^scale (scale 0..9).
Result<std::int64_t> ParseScaled(std::string_view text, int scale, std::int64_t max_abs);

/// "776.25", "-0.05", "150.00".
std::string FormatCents(std::int64_t cents);
/// "$776.25" — for log lines.
std::string FormatDollars(std::int64_t cents);

struct Money {
    std::int64_t cents = 0;

    struct ParseOptions {
        bool allow_negative = false;
        bool allow_zero = false;
        std::int64_t max_cents = kMaxCents;
    };
    static Result<Money> Parse(std::string_view text, ParseOptions options);
    static Result<Money> Parse(std::string_view text) { return Parse(text, ParseOptions{}); }
    std::string ToString() const { return FormatCents(cents); }
    auto operator<=>(const Money&) const = default;
};

/// A limit price: strictly positive cents.
struct Price {
    std::int64_t cents = 0;
    static Result<Price> Parse(std::string_view text, std::int64_t max_cents = kMaxCents);
    std::string ToString() const { return FormatCents(cents); }
    auto operator<=>(const Price&) const = default;
};

/// Whole shares, strictly positive.
struct Quantity {
    std::int64_t shares = 0;
    static Result<Quantity> Parse(std::string_view text, std::int64_t max = kMaxQuantity);
    auto operator<=>(const Quantity&) const = default;
};

}  // namespace flowex::common
