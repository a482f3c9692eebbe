#include "flowex/common/clock.hpp"

#include <ctime>

namespace flowex::common {
namespace {

class RealClock final : public Clock {
public:
    std::int64_t UnixNanos() const noexcept override {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    std::chrono::steady_clock::time_point Steady() const noexcept override {
        return std::chrono::steady_clock::now();
    }
};

}  // namespace

Clock& SystemClock() noexcept {
    static RealClock clock;
    return clock;
}

std::string FormatRfc3339(std::int64_t unix_nanos) {
    std::int64_t secs = unix_nanos / 1'000'000'000;
    std::int64_t micros = (unix_nanos % 1'000'000'000) / 1000;
    if (micros < 0) {
        micros += 1'000'000;
        --secs;
    }
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(micros));
    return buf;
}

}  // namespace flowex::common
