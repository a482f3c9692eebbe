#pragma once
// Internal text helpers for parsing OTEL_* key=value lists (OTEL_RESOURCE_ATTRIBUTES,
// OTEL_EXPORTER_OTLP_HEADERS): the W3C baggage-style percent-encoding and blank trimming.
#include <charconv>
#include <string>
#include <string_view>

namespace flowex::telemetry::detail {

/// Decodes %XX escapes; anything malformed is kept literally.
inline std::string PercentDecode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        int v = 0;
        if (in[i] == '%' && i + 2 < in.size() &&
            std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16).ptr == in.data() + i + 3) {
            out.push_back(static_cast<char>(v));
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
