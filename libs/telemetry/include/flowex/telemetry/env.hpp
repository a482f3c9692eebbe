#pragma once
/// Environment access for the `OTEL_*` variables, injectable so tests stay hermetic.
/// Every option struct is filled from the environment in exactly one function (`...FromEnv`).
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace flowex::telemetry {

/// Returns the variable's value, or nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The real process environment (getenv).
EnvLookup ProcessEnv();
/// A fixed map (tests).
EnvLookup MapEnv(std::map<std::string, std::string, std::less<>> values);

/// Set and non-empty after trimming, else nullopt.
std::optional<std::string> EnvString(const EnvLookup& env, std::string_view name);
/// "true"/"false" (case-insensitive); anything else yields `fallback`.
bool EnvBool(const EnvLookup& env, std::string_view name, bool fallback);
/// A non-negative integer; invalid or unset yields `fallback`.
std::int64_t EnvInt(const EnvLookup& env, std::string_view name, std::int64_t fallback);
/// The same, at most `max`: a larger value (or one too large to read) is clamped to `max`,
/// with a warning that names the variable.
std::int64_t EnvInt(const EnvLookup& env, std::string_view name, std::int64_t fallback,
                    std::int64_t max);

/// The longest duration an OTEL_* variable may set (~24.8 days, as JavaScript timers allow):
/// anything longer would overflow the clocks' nanoseconds once added to the current time.
inline constexpr std::chrono::milliseconds kMaxEnvMillis{2147483647};
/// The largest queue or batch an OTEL_* variable may set (the span queue allocates its cells
/// up front: a mistyped size must not take the process down).
inline constexpr std::int64_t kMaxEnvQueueSize = std::int64_t{1} << 20;

/// Milliseconds (the OTEL_* convention), at most kMaxEnvMillis (clamped, with a warning);
/// invalid or unset yields `fallback`.
std::chrono::milliseconds EnvMillis(const EnvLookup& env, std::string_view name,
                                    std::chrono::milliseconds fallback);

}  // namespace flowex::telemetry
