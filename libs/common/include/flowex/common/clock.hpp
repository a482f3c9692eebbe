#pragma once
/// An injectable clock. Production code takes a `Clock&` (default: `SystemClock()`);
/// tests pass a `ManualClock` and advance it, so time-dependent behaviour is tested by
/// outcome, never by sleeping.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace flowex::common {

class Clock {
public:
    virtual ~Clock() = default;
    /// Wall time, nanoseconds since the Unix epoch. Thread-safe.
    virtual std::int64_t UnixNanos() const noexcept = 0;
    /// Monotonic time for durations and deadlines. Thread-safe.
    virtual std::chrono::steady_clock::time_point Steady() const noexcept = 0;
};

/// The process-wide real clock.
Clock& SystemClock() noexcept;

/// A clock that moves only when told. Thread-safe.
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t unix_nanos = 1'700'000'000'000'000'000) : now_(unix_nanos) {}
    std::int64_t UnixNanos() const noexcept override { return now_.load(); }
    std::chrono::steady_clock::time_point Steady() const noexcept override {
        return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(now_.load()));
    }
    void Advance(std::chrono::nanoseconds d) noexcept { now_.fetch_add(d.count()); }
    void Set(std::int64_t unix_nanos) noexcept { now_.store(unix_nanos); }

private:
    std::atomic<std::int64_t> now_;
};

/// RFC 3339 UTC with microseconds: "2026-11-29T14:37:44.123456Z".
std::string FormatRfc3339(std::int64_t unix_nanos);

}  // namespace flowex::common
