#pragma once
/// Open-addressing hash map from order id to pool slot (implementation detail of OrderBook).
/// Linear probing with backward-shift deletion, so heavy insert/erase churn leaves no tombstones
/// and probe sequences stay short. Allocates only when it grows past half full.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "flowex/matching/types.hpp"

namespace flowex::matching::detail {

class OrderIndex {
public:
    static constexpr std::uint32_t kMissing = UINT32_MAX;

    explicit OrderIndex(std::size_t expected = 16) { Reserve(expected); }

    /// Makes room for `count` keys without further allocation.
    void Reserve(std::size_t count) {
        std::size_t capacity = std::bit_ceil(count * 2 < 16 ? std::size_t{16} : count * 2);
        if (capacity > slots_.size()) { Rehash(capacity); }
    }

    std::uint32_t Find(OrderId key) const noexcept {
        for (std::size_t i = Home(key);; i = (i + 1) & mask_) {
            const Slot& slot = slots_[i];
            if (slot.value == kMissing) { return kMissing; }
            if (slot.key == key) { return slot.value; }
        }
    }

    /// Inserts a key that is not present (the caller checked with Find).
    void Insert(OrderId key, std::uint32_t value) {
        if ((size_ + 1) * 2 > slots_.size()) { Rehash(slots_.size() * 2); }
        std::size_t i = Home(key);
        while (slots_[i].value != kMissing) { i = (i + 1) & mask_; }
        slots_[i] = Slot{key, value};
        ++size_;
    }

    /// Removes a key that is present.
    void Erase(OrderId key) noexcept {
        std::size_t i = Home(key);
        while (slots_[i].key != key || slots_[i].value == kMissing) { i = (i + 1) & mask_; }
        // Backward shift: pull later members of the probe run into the hole when their home
        // slot does not lie cyclically in (hole, position].
        std::size_t j = i;
        for (;;) {
            j = (j + 1) & mask_;
            if (slots_[j].value == kMissing) { break; }
            std::size_t home = Home(slots_[j].key);
            bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = Slot{};
        --size_;
    }

    std::size_t Size() const noexcept { return size_; }

private:
    struct Slot {
        OrderId key = 0;
        std::uint32_t value = kMissing;
        std::uint32_t unused = 0;
    };

    std::size_t Home(OrderId key) const noexcept {
        // Fibonacci hashing: sequential ids spread over the whole table.
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
    }

    void Rehash(std::size_t capacity) {
        std::vector<Slot> old;
        old.swap(slots_);
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
        shift_ = 64 - std::countr_zero(capacity);
        size_ = 0;
        for (const Slot& slot : old) {
            if (slot.value != kMissing) { Insert(slot.key, slot.value); }
        }
    }

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    int shift_ = 64;
    std::size_t size_ = 0;
};

}  // namespace flowex::matching::detail
