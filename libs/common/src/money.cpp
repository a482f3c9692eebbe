#include "flowex/common/money.hpp"

#include <cstdlib>

namespace flowex::common {
namespace {

Error Invalid(std::string msg) { return Error{ErrorCode::kValidation, std::move(msg)}; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<std::int64_t> ParseScaled(std::string_view text, int scale, std::int64_t max_abs) {
    // Grammar (JSON number): -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    std::size_t i = 0;
    const std::size_t n = text.size();
    bool negative = false;
    if (i < n && text[i] == '-') {
        negative = true;
        ++i;
    }
    if (i >= n || !IsDigit(text[i])) { return Invalid("not a number"); }
    // Collect significant digits (integer + fraction) and the count of fraction digits.
    std::string digits;
    digits.reserve(n);
    if (text[i] == '0' && i + 1 < n && IsDigit(text[i + 1])) { return Invalid("not a number"); }
    while (i < n && IsDigit(text[i])) { digits.push_back(text[i++]); }
    std::int64_t frac_digits = 0;
    if (i < n && text[i] == '.') {
        ++i;
        if (i >= n || !IsDigit(text[i])) { return Invalid("not a number"); }
        while (i < n && IsDigit(text[i])) {
            digits.push_back(text[i++]);
            ++frac_digits;
        }
    }
    std::int64_t exponent = 0;
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool exp_negative = false;
        if (i < n && (text[i] == '+' || text[i] == '-')) { exp_negative = text[i++] == '-'; }
        if (i >= n || !IsDigit(text[i])) { return Invalid("not a number"); }
        while (i < n && IsDigit(text[i])) {
            if (exponent > 100000) { return Invalid("exponent out of range"); }
            exponent = exponent * 10 + (text[i++] - '0');
        }
        if (exp_negative) { exponent = -exponent; }
    }
    if (i != n) { return Invalid("not a number"); }

    // value = digits × 10^(exponent − frac_digits); scaled = value × 10^scale.
    std::int64_t shift = exponent - frac_digits + scale;
    // Strip leading zeros so the length check below is meaningful.
    std::size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) { return std::int64_t{0}; }
    digits.erase(0, first);
    if (shift < 0) {
        // The last -shift digits must all be zero: otherwise the value has more precision
        // than the scale allows, which is an error (never a rounding).
        if (static_cast<std::int64_t>(digits.size()) <= -shift) {
            return Invalid("too many decimal places");
        }
        std::size_t keep = digits.size() - static_cast<std::size_t>(-shift);
        if (digits.find_first_not_of('0', keep) != std::string::npos) {
            return Invalid("too many decimal places");
        }
        digits.resize(keep);
        shift = 0;
    }
    if (static_cast<std::int64_t>(digits.size()) + shift > 18) { return Invalid("out of range"); }
    std::int64_t value = 0;
    for (char c : digits) { value = value * 10 + (c - '0'); }
    for (std::int64_t k = 0; k < shift; ++k) { value *= 10; }
    if (value > max_abs) { return Invalid("out of range"); }
    return negative ? -value : value;
}

Result<std::int64_t> ParseCents(std::string_view text, std::int64_t max_abs_cents) {
    return ParseScaled(text, 2, max_abs_cents);
}

std::string FormatCents(std::int64_t cents) {
    std::string out;
    std::uint64_t abs = cents < 0 ? 0 - static_cast<std::uint64_t>(cents)
                                  : static_cast<std::uint64_t>(cents);
    if (cents < 0) { out.push_back('-'); }
    out += std::to_string(abs / 100);
    out.push_back('.');
    out.push_back(static_cast<char>('0' + (abs % 100) / 10));
    out.push_back(static_cast<char>('0' + abs % 10));
    return out;
}

std::string FormatDollars(std::int64_t cents) {
    std::string s = FormatCents(cents);
    return s[0] == '-' ? "-$" + s.substr(1) : "$" + s;
}

Result<Money> Money::Parse(std::string_view text, ParseOptions options) {
    auto cents = ParseCents(text, options.max_cents);
    if (!cents) { return std::move(cents).error(); }
    if (*cents < 0 && !options.allow_negative) { return Invalid("must not be negative"); }
    if (*cents == 0 && !options.allow_zero) { return Invalid("must be greater than zero"); }
    return Money{*cents};
}

Result<Price> Price::Parse(std::string_view text, std::int64_t max_cents) {
    auto cents = ParseCents(text, max_cents);
    if (!cents) { return std::move(cents).error(); }
    if (*cents <= 0) { return Invalid("price must be greater than zero"); }
    return Price{*cents};
}

Result<Quantity> Quantity::Parse(std::string_view text, std::int64_t max) {
    auto shares = ParseScaled(text, 0, max);
    if (!shares) {
        if (shares.error().message == "too many decimal places") {
            return Invalid("quantity must be a whole number of shares");
        }
        return std::move(shares).error();
    }
    if (*shares <= 0) { return Invalid("quantity must be greater than zero"); }
    return Quantity{*shares};
}

}  // namespace flowex::common
