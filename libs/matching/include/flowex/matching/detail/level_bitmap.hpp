#pragma once
/// Hierarchical bitmap over price-ladder slots (implementation detail of OrderBook): layer 0 has
/// one bit per slot, each higher layer one bit per non-zero word below. Finding the next
/// non-empty level above or below a slot costs a few word scans however sparse the ladder is.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace flowex::matching::detail {

class LevelBitmap {
public:
    static constexpr std::size_t kNone = SIZE_MAX;

    /// Sizes the bitmap for `bits` slots, all clear. Reuses capacity when it suffices.
    void Reset(std::size_t bits) {
        std::size_t layer_count = 0;
        std::size_t n = bits;
        do {
            n = (n + 63) / 64;
            ++layer_count;
        } while (n > 1);
        layers_.resize(layer_count);
        n = bits;
        for (auto& layer : layers_) {
            n = (n + 63) / 64;
            layer.assign(n, 0);
        }
        bits_ = bits;
    }

    std::size_t Size() const noexcept { return bits_; }

    bool Test(std::size_t i) const noexcept { return (layers_[0][i >> 6] >> (i & 63)) & 1U; }

    void Set(std::size_t i) noexcept {
        for (auto& layer : layers_) {
            std::uint64_t& word = layer[i >> 6];
            bool was_empty = word == 0;
            word |= std::uint64_t{1} << (i & 63);
            if (!was_empty) { return; }
            i >>= 6;
        }
    }

    void Clear(std::size_t i) noexcept {
        for (auto& layer : layers_) {
            std::uint64_t& word = layer[i >> 6];
            word &= ~(std::uint64_t{1} << (i & 63));
            if (word != 0) { return; }
            i >>= 6;
        }
    }

    /// Smallest set slot >= i, or kNone.
    std::size_t FindNext(std::size_t i) const noexcept {
        std::size_t layer = 0;
        for (;;) {
            if (layer == layers_.size()) { return kNone; }
            const auto& words = layers_[layer];
            std::size_t w = i >> 6;
            if (w >= words.size()) { return kNone; }
            std::uint64_t m = words[w] & (~std::uint64_t{0} << (i & 63));
            if (m != 0) {
                i = (w << 6) + static_cast<std::size_t>(std::countr_zero(m));
                break;
            }
            i = w + 1;
            ++layer;
        }
        while (layer > 0) {
            --layer;
            i = (i << 6) + static_cast<std::size_t>(std::countr_zero(layers_[layer][i]));
        }
        return i;
    }

    /// Largest set slot <= i, or kNone.
    std::size_t FindPrev(std::size_t i) const noexcept {
        if (i >= bits_) {
            if (bits_ == 0) { return kNone; }
            i = bits_ - 1;
        }
        std::size_t layer = 0;
        for (;;) {
            if (layer == layers_.size()) { return kNone; }
            std::size_t w = i >> 6;
            std::uint64_t m = layers_[layer][w] & (~std::uint64_t{0} >> (63 - (i & 63)));
            if (m != 0) {
                i = (w << 6) + 63 - static_cast<std::size_t>(std::countl_zero(m));
                break;
            }
            if (w == 0) { return kNone; }
            i = w - 1;
            ++layer;
        }
        while (layer > 0) {
            --layer;
            i = (i << 6) + 63 - static_cast<std::size_t>(std::countl_zero(layers_[layer][i]));
        }
        return i;
    }

    /// Calls visit(slot) for set slots from `from` downwards (inclusive) while it returns true.
    /// Walks dense stretches word by word and jumps gaps through the upper layers.
    template <class Visit>
    void VisitDown(std::size_t from, Visit&& visit) const {
        const auto& words = layers_[0];
        std::size_t i = from;
        while (i != kNone) {
            const std::size_t w = i >> 6;
            std::uint64_t m = words[w] & (~std::uint64_t{0} >> (63 - (i & 63)));
            while (m != 0) {
                const auto bit = static_cast<std::size_t>(63 - std::countl_zero(m));
                if (!visit((w << 6) + bit)) { return; }
                m &= ~(std::uint64_t{1} << bit);
            }
            if (w == 0) { return; }
            i = words[w - 1] != 0 ? (w << 6) - 1 : FindPrev((w << 6) - 1);
        }
    }

    /// Calls visit(slot) for set slots from `from` upwards (inclusive) while it returns true.
    template <class Visit>
    void VisitUp(std::size_t from, Visit&& visit) const {
        const auto& words = layers_[0];
        std::size_t i = from;
        while (i != kNone && i < bits_) {
            const std::size_t w = i >> 6;
            std::uint64_t m = words[w] & (~std::uint64_t{0} << (i & 63));
            while (m != 0) {
                const auto bit = static_cast<std::size_t>(std::countr_zero(m));
                if (!visit((w << 6) + bit)) { return; }
                m &= m - 1;
            }
            if (w + 1 >= words.size()) { return; }
            i = words[w + 1] != 0 ? (w + 1) << 6 : FindNext((w + 1) << 6);
        }
    }

private:
    std::vector<std::vector<std::uint64_t>> layers_;
    std::size_t bits_ = 0;
};

}  // namespace flowex::matching::detail
