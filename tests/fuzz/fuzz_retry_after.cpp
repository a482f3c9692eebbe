// libFuzzer target: the values the OTLP exporter takes from outside the process — a backend's
// Retry-After header (delta-seconds or an HTTP date) and the OTEL_* numbers (sizes and
// milliseconds). Beyond not crashing (UBSan traps on signed overflow):
//  - a Retry-After wait is never negative and never above 2^32 seconds; digits alone wait
//    that many seconds (saturated at 2^32);
//  - an OTEL_* integer is the fallback or within [0, max]; milliseconds within kMaxEnvMillis.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "flowex/telemetry/env.hpp"
#include "flowex/telemetry/exporters/otlp_http.hpp"

namespace {

namespace ft = flowex::telemetry;

void Check(bool condition) {
    if (!condition) { __builtin_trap(); }
}

constexpr std::int64_t kMaxWaitMs = (std::int64_t{1} << 32) * 1000;

// Clamped OTEL_* values are logged: not once per input.
[[maybe_unused]] const bool g_quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
}();

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    // 2015-10-21T07:28:00Z, a fixed "now" so that a crash replays.
    const auto now = std::chrono::system_clock::from_time_t(1445412480);
    const auto wait = ft::exporters::ParseRetryAfter(input, now);
    if (wait) { Check(wait->count() >= 0 && wait->count() <= kMaxWaitMs); }
    if (!input.empty() && input.size() <= 30 &&
        input.find_first_not_of("0123456789") == std::string_view::npos) {
        std::uint64_t seconds = 0;
        bool big = false;
        for (const char c : input) {
            big = big || seconds > (std::uint64_t{1} << 32);
            seconds = seconds * 10 + static_cast<std::uint64_t>(c - '0');
        }
        const std::int64_t expected = big || seconds > (std::uint64_t{1} << 32)
                                          ? kMaxWaitMs
                                          : static_cast<std::int64_t>(seconds) * 1000;
        Check(wait.has_value() && wait->count() == expected);
    }

    const auto env = ft::MapEnv({{"N", std::string(input)}});
    constexpr std::int64_t kFallback = 12345;
    const std::int64_t n = ft::EnvInt(env, "N", kFallback, ft::kMaxEnvQueueSize);
    Check(n == kFallback || (n >= 0 && n <= ft::kMaxEnvQueueSize));
    const std::int64_t any = ft::EnvInt(env, "N", kFallback);
    Check(any == kFallback || any >= 0);
    const auto ms = ft::EnvMillis(env, "N", std::chrono::milliseconds(kFallback));
    Check(ms.count() == kFallback || (ms.count() >= 0 && ms <= ft::kMaxEnvMillis));
    return 0;
}
