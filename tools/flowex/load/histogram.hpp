#pragma once
/// A latency histogram in the spirit of HdrHistogram: log-linear buckets with 3 significant
/// decimal digits (values below 2048 exact, above that a relative error ≤ 1/1024), fixed
/// memory, O(1) recording. Values are whole units (flowex load records microseconds).
/// Not thread-safe: one owner records; merge copies with Add().
#include <cstdint>
#include <string>
#include <vector>

namespace flowex::load {

class Histogram {
public:
    /// Values above 2^kMaxExponent (≈ 12.7 days in µs) are clamped to it.
    static constexpr int kMaxExponent = 40;

    Histogram();

    void Record(std::uint64_t value) noexcept;
    /// Adds every count of `other` (same layout) to this one.
    void Add(const Histogram& other) noexcept;
    void Reset() noexcept;

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t max() const noexcept { return max_; }
    std::uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
    double Mean() const noexcept;
    double StdDev() const noexcept;

    /// The smallest recorded-bucket value v such that at least `percentile` % of the values
    /// are ≤ v (HdrHistogram's "highest equivalent value" of that bucket, capped at max()).
    /// 0 when empty; percentile is clamped to [0, 100]; 100 gives max().
    std::uint64_t ValueAtPercentile(double percentile) const noexcept;
    /// Values ≤ `value`'s bucket.
    std::uint64_t CountAtOrBelow(std::uint64_t value) const noexcept;

    /// HdrHistogram's percentile distribution text (Value, Percentile, TotalCount,
    /// 1/(1-Percentile)), 5 ticks per half distance, values divided by `unit_scale`
    /// (1000 prints microseconds as milliseconds), as wrk2 --latency and
    /// HistogramLogProcessor print it; plotting tools read this format.
    std::string PercentileDistribution(double unit_scale) const;

    /// Bucket index of a value and the range of values that share it (for tests).
    static std::size_t IndexOf(std::uint64_t value) noexcept;
    static std::uint64_t LowestEquivalent(std::size_t index) noexcept;
    static std::uint64_t HighestEquivalent(std::size_t index) noexcept;

private:
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    std::uint64_t max_ = 0;
    std::uint64_t min_ = UINT64_MAX;
    double sum_ = 0;
    double sum_squares_ = 0;
};

}  // namespace flowex::load
