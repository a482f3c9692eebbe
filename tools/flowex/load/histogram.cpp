// Layout: indices [0, 2048) hold the values 0..2047 exactly; from there on each power of two
// [2^k, 2^(k+1)) for k ≥ 11 is split into 1024 equal sub-buckets of width 2^(k-10). That
// is HdrHistogram with 3 significant digits, simplified to one flat array.
#include "load/histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>

namespace flowex::load {
namespace {

constexpr std::uint64_t kLinear = 2048;  // exact values below this
constexpr std::uint64_t kSubBuckets = 1024;
constexpr std::size_t kBuckets =
    kLinear + static_cast<std::size_t>(Histogram::kMaxExponent - 10) * kSubBuckets;
constexpr std::uint64_t kMaxValue = (std::uint64_t{1} << Histogram::kMaxExponent) - 1;

}  // namespace

Histogram::Histogram() : counts_(kBuckets, 0) {}

std::size_t Histogram::IndexOf(std::uint64_t value) noexcept {
    value = std::min(value, kMaxValue);
    if (value < kLinear) { return static_cast<std::size_t>(value); }
    const int k = std::bit_width(value) - 1;  // 2^k ≤ value < 2^(k+1), k ≥ 11
    const int shift = k - 10;
    const std::uint64_t sub = (value >> shift) - kSubBuckets;  // 0..1023
    return static_cast<std::size_t>(kLinear + static_cast<std::uint64_t>(k - 11) * kSubBuckets + sub);
}

std::uint64_t Histogram::LowestEquivalent(std::size_t index) noexcept {
    if (index < kLinear) { return index; }
    const std::uint64_t rel = index - kLinear;
    const int k = static_cast<int>(rel / kSubBuckets) + 11;
    const std::uint64_t sub = rel % kSubBuckets;
    return (kSubBuckets + sub) << (k - 10);
}

std::uint64_t Histogram::HighestEquivalent(std::size_t index) noexcept {
    if (index < kLinear) { return index; }
    const int k = static_cast<int>((index - kLinear) / kSubBuckets) + 11;
    return LowestEquivalent(index) + (std::uint64_t{1} << (k - 10)) - 1;
}

void Histogram::Record(std::uint64_t value) noexcept {
    value = std::min(value, kMaxValue);
    ++counts_[IndexOf(value)];
    ++count_;
    max_ = std::max(max_, value);
    min_ = std::min(min_, value);
    const auto v = static_cast<double>(value);
    sum_ += v;
    sum_squares_ += v * v;
}

void Histogram::Add(const Histogram& other) noexcept {
    for (std::size_t i = 0; i < counts_.size(); ++i) { counts_[i] += other.counts_[i]; }
    count_ += other.count_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
    sum_ += other.sum_;
    sum_squares_ += other.sum_squares_;
}

void Histogram::Reset() noexcept {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    max_ = 0;
    min_ = UINT64_MAX;
    sum_ = 0;
    sum_squares_ = 0;
}

double Histogram::Mean() const noexcept {
    return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

double Histogram::StdDev() const noexcept {
    if (count_ == 0) { return 0.0; }
    const double mean = Mean();
    const double var = sum_squares_ / static_cast<double>(count_) - mean * mean;
    return var > 0 ? std::sqrt(var) : 0.0;
}

std::uint64_t Histogram::ValueAtPercentile(double percentile) const noexcept {
    if (count_ == 0) { return 0; }
    percentile = std::clamp(percentile, 0.0, 100.0);
    if (percentile >= 100.0) { return max_; }
    // The small slack keeps 99.9 % of 1000 at rank 999 (99.9 / 100 is not exact in binary).
    auto target = static_cast<std::uint64_t>(
        std::ceil(percentile / 100.0 * static_cast<double>(count_) - 1e-7));
    target = std::max<std::uint64_t>(target, 1);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= target) { return std::min(HighestEquivalent(i), max_); }
    }
    return max_;
}

std::uint64_t Histogram::CountAtOrBelow(std::uint64_t value) const noexcept {
    const std::size_t last = IndexOf(value);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i <= last; ++i) { seen += counts_[i]; }
    return seen;
}

std::string Histogram::PercentileDistribution(double unit_scale) const {
    std::string out = "       Value     Percentile TotalCount 1/(1-Percentile)\n\n";
    char line[160];
    auto emit = [&](std::uint64_t value, double pct, std::uint64_t total) {
        const double fraction = pct / 100.0;
        if (fraction < 1.0) {
            std::snprintf(line, sizeof line, "%12.3f %14.12f %10llu %14.2f\n",
                          static_cast<double>(value) / unit_scale, fraction,
                          static_cast<unsigned long long>(total), 1.0 / (1.0 - fraction));
        } else {
            std::snprintf(line, sizeof line, "%12.3f %14.12f %10llu\n",
                          static_cast<double>(value) / unit_scale, fraction,
                          static_cast<unsigned long long>(total));
        }
        out += line;
    };
    if (count_ > 0) {
        // HdrHistogram's percentile iterator: the step halves each time the distance to
        // 100 % halves, so the tail gets as many lines as the body.
        double pct = 0.0;
        for (int guard = 0; guard < 400; ++guard) {
            const std::uint64_t value = ValueAtPercentile(pct);
            const std::uint64_t total = CountAtOrBelow(value);
            if (total >= count_) { break; }
            emit(value, pct, total);
            const double half_distance =
                std::pow(2.0, std::floor(std::log2(100.0 / (100.0 - pct))) + 1.0);
            pct += 100.0 / (5.0 * half_distance);
        }
        emit(max_, 100.0, count_);
    }
    std::snprintf(line, sizeof line, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n",
                  Mean() / unit_scale, StdDev() / unit_scale);
    out += line;
    std::snprintf(line, sizeof line, "#[Max     = %12.3f, Total count    = %12llu]\n",
                  static_cast<double>(max_) / unit_scale, static_cast<unsigned long long>(count_));
    out += line;
    std::snprintf(line, sizeof line, "#[Buckets = %12d, SubBuckets     = %12llu]\n",
                  kMaxExponent - 10, static_cast<unsigned long long>(kSubBuckets * 2));
    out += line;
    return out;
}

}  // namespace flowex::load
