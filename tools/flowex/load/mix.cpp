#include "load/mix.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace flowex::load {

std::vector<std::string> SplitList(std::string_view text) {
    std::vector<std::string> items;
    while (!text.empty()) {
        const auto comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') { item.remove_prefix(1); }
        while (!item.empty() && item.back() == ' ') { item.remove_suffix(1); }
        if (!item.empty()) { items.emplace_back(item); }
    }
    return items;
}

common::Result<Mix> Mix::Parse(std::string_view text) {
    Mix mix;
    std::array<bool, kOpCount> seen{};
    for (const std::string& entry : SplitList(text)) {
        const std::string_view item = entry;
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            return common::Error{common::ErrorCode::kValidation,
                                 "mix entry '" + std::string(item) + "' is not name=weight"};
        }
        const std::string_view name = item.substr(0, eq);
        const std::string_view weight_text = item.substr(eq + 1);
        const auto it = std::find(kOpNames.begin(), kOpNames.end(), name);
        if (it == kOpNames.end()) {
            return common::Error{common::ErrorCode::kValidation,
                                 "unknown mix entry '" + std::string(name) +
                                     "' (use limit, market, cancel, positions, balance)"};
        }
        const auto index = static_cast<std::size_t>(it - kOpNames.begin());
        if (seen[index]) {
            return common::Error{common::ErrorCode::kValidation,
                                 "mix names '" + std::string(name) + "' twice"};
        }
        seen[index] = true;
        std::uint64_t weight = 0;
        const auto [end, ec] =
            std::from_chars(weight_text.data(), weight_text.data() + weight_text.size(), weight);
        if (ec != std::errc{} || end != weight_text.data() + weight_text.size() ||
            weight > 1'000'000) {
            return common::Error{common::ErrorCode::kValidation,
                                 "mix weight of '" + std::string(name) +
                                     "' must be a whole number 0..1000000"};
        }
        mix.weights_[index] = weight;
        mix.total_ += weight;
    }
    if (mix.total_ == 0) {
        return common::Error{common::ErrorCode::kValidation, "mix has no positive weight"};
    }
    return mix;
}

Op Mix::Pick(std::uint64_t draw) const noexcept {
    draw %= total_;
    for (std::size_t i = 0; i < kOpCount; ++i) {
        if (draw < weights_[i]) { return static_cast<Op>(i); }
        draw -= weights_[i];
    }
    return Op::kBalance;  // unreachable: draw < total_
}

std::string Mix::ToString() const {
    std::string out;
    for (std::size_t i = 0; i < kOpCount; ++i) {
        if (!out.empty()) { out += ','; }
        out += kOpNames[i];
        out += '=';
        out += std::to_string(weights_[i]);
    }
    return out;
}

std::uint64_t ArrivalSchedule::Count() const noexcept {
    const double n = std::ceil(rate_ * static_cast<double>(duration_.count()) / 1e9);
    // ceil can land one past when rate × duration is not exact in floating point.
    auto count = static_cast<std::uint64_t>(std::max(0.0, n));
    while (count > 0 && Offset(count - 1) >= duration_) { --count; }
    while (Offset(count) < duration_) { ++count; }
    return count;
}

std::uint64_t ArrivalSchedule::DueBy(std::chrono::nanoseconds elapsed) const noexcept {
    if (elapsed.count() < 0) { return 0; }
    auto due = static_cast<std::uint64_t>(
                   std::floor(static_cast<double>(elapsed.count()) * rate_ / 1e9)) + 1;
    while (due > 0 && Offset(due - 1) > elapsed) { --due; }
    while (Offset(due) <= elapsed) { ++due; }
    return std::min(due, Count());
}

}  // namespace flowex::load
