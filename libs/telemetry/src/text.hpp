#pragma once
// Internal text helpers for parsing OTEL_* key=value lists (OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_HEADERS): the W3C baggage-style percent-encoding and blank trimming.
#include <string>
#include <string_view>

namespace flowex::telemetry::detail {

/// Decodes %XX escapes; anything malformed is kept literally.
inline std::string PercentDecode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const auto hex = [&](std::size_t at) {
            const char c = in[at];
            return c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : -1;
        };
        // Two hex digits exactly (from_chars would also take a sign: "%-1").
        if (in[i] == '%' && i + 2 < in.size() && hex(i + 1) >= 0 && hex(i + 2) >= 0) {
            out.push_back(static_cast<char>(hex(i + 1) * 16 + hex(i + 2)));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// Strips spaces and tabs at both ends.
inline std::string_view Trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) { s.remove_prefix(1); }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) { s.remove_suffix(1); }
    return s;
}

}  // namespace flowex::telemetry::detail
