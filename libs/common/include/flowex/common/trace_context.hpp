#pragma once
/// The W3C trace context of a request as plain bytes. Libraries below the telemetry layer
/// (libs/http, libs/storage) carry it and hand it to their instrumentation hooks without
/// depending on libs/telemetry; libs/telemetry converts its SpanContext to and from it.
#include <array>
#include <cstdint>
#include <string>

#include "flowex/common/ids.hpp"

namespace flowex::common {

struct TraceContext {
    std::array<std::uint8_t, 16> trace_id{};
    std::array<std::uint8_t, 8> span_id{};
    std::uint8_t flags = 0;  // bit 0: sampled

    bool valid() const noexcept {
        bool t = false;
        bool s = false;
        for (auto b : trace_id) { t = t || b != 0; }
        for (auto b : span_id) { s = s || b != 0; }
        return t && s;
    }
    bool sampled() const noexcept { return (flags & 1) != 0; }
    std::string TraceIdHex() const { return ToHex(trace_id.data(), trace_id.size()); }
    std::string SpanIdHex() const { return ToHex(span_id.data(), span_id.size()); }
};

}  // namespace flowex::common
