#pragma once
/// The request mix of `flowex load` ("limit=60,market=10,cancel=15,positions=10,balance=5")
/// and the open-loop arrival schedule. Pure functions: no I/O, no clocks.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "flowex/common/result.hpp"

namespace flowex::load {

/// What one arrival does. kLimit and kMarket are POST /v1/order; kCancel is
/// DELETE /v1/order/{id} of one of the user's resting orders; kPositions is
/// GET /reports/positions; kBalance is GET /wallet/balance.
enum class Op : std::uint8_t { kLimit, kMarket, kCancel, kPositions, kBalance };
inline constexpr std::size_t kOpCount = 5;
inline constexpr std::array<std::string_view, kOpCount> kOpNames = {"limit", "market", "cancel",
                                                                     "positions", "balance"};

inline std::string_view Name(Op op) noexcept { return kOpNames[static_cast<std::size_t>(op)]; }

/// "a, b,,c" -> {"a", "b", "c"}: split at commas, spaces trimmed, empty items dropped.
std::vector<std::string> SplitList(std::string_view text);

/// Relative weights of each Op (any non-negative integers; at least one positive).
class Mix {
public:
    /// "name=weight,…" with names from kOpNames; names left out weigh 0; a name twice,
    /// an unknown name, a negative or non-integer weight or an all-zero mix is kValidation.
    static common::Result<Mix> Parse(std::string_view text);

    /// Maps a uniform draw in [0, total()) to an Op, proportionally to the weights.
    Op Pick(std::uint64_t draw) const noexcept;
    std::uint64_t weight(Op op) const noexcept { return weights_[static_cast<std::size_t>(op)]; }
    std::uint64_t total() const noexcept { return total_; }
    /// "limit=60,market=10,…" (every op, in kOpNames order).
    std::string ToString() const;

private:
    std::array<std::uint64_t, kOpCount> weights_{};
    std::uint64_t total_ = 0;
};

/// The open-loop schedule: arrival i is due at start + i / rate, whatever happened to the
/// arrivals before it (so a stall shows up as latency of every request it delayed).
class ArrivalSchedule {
public:
    /// rate > 0 arrivals per second over `duration`.
    ArrivalSchedule(double rate, std::chrono::nanoseconds duration) noexcept
        : rate_(rate), duration_(duration) {}

    /// Offset from the start at which arrival i is intended to be sent.
    std::chrono::nanoseconds Offset(std::uint64_t i) const noexcept {
        return std::chrono::nanoseconds(
            static_cast<std::int64_t>(static_cast<double>(i) * 1e9 / rate_));
    }
    /// Arrivals whose offset is < duration (= ceil(rate × duration)).
    std::uint64_t Count() const noexcept;
    /// Arrivals due by `elapsed` (offset ≤ elapsed), capped at Count().
    std::uint64_t DueBy(std::chrono::nanoseconds elapsed) const noexcept;

private:
    double rate_;
    std::chrono::nanoseconds duration_;
};

}  // namespace flowex::load
