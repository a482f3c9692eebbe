#pragma once
/// PostgreSQL array literals for one `$n::bigint[]`, `$n::uuid[]` or `$n::text[]` parameter:
/// `PgArrayLiteral(ids)` → "{1,2,3}". Elements are written as they are, so only numbers and
/// strings already validated to hold no quote, comma, brace, backslash or blank (UUIDs,
/// normalized symbols) may go in.
#include <string>
#include <type_traits>

namespace flowex::storage {

template <class Range>
std::string PgArrayLiteral(const Range& values) {
    std::string out = "{";
    for (const auto& v : values) {
        if (out.size() > 1) { out.push_back(','); }
        if constexpr (std::is_integral_v<std::decay_t<decltype(v)>>) {
            out += std::to_string(v);
        } else {
            out += v;
        }
    }
    out.push_back('}');
    return out;
}

}  // namespace flowex::storage
