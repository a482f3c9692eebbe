// Trace-keyed tables of the collector's writer (store.cpp): a trace id as two integers, and
// open-addressing tables keyed by it.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string_view>
#include <utility>
#include <vector>

namespace flowex::collector {

struct TraceKey {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
    bool operator==(const TraceKey&) const = default;
};

// The key of a 16-byte trace id (any other length: the zero key).
inline TraceKey KeyOf(std::string_view id) {
    TraceKey k;
    if (id.size() == 16) {
        std::memcpy(&k.hi, id.data(), 8);
        std::memcpy(&k.lo, id.data() + 8, 8);
    }
    return k;
}

// Trace ids are random in practice, but need not be (a client may number them): the multiply
// spreads any difference in either half over the top bits, which the tables take as the slot.
inline std::uint64_t TraceKeyMix(const TraceKey& key) noexcept {
    return (key.lo ^ (key.hi * 0x9E3779B97F4A7C15ull)) * 0xD6E8FEB86659FD93ull;
}

// Open addressing with linear probing over {TraceKey, payload} slots (payload 0: empty), a
// power of two long and at most three quarters full, so that a lookup is usually one cache
// line: what TraceSlots and TraceMap share. Erase moves the rest of its probe run back instead
// of leaving a tombstone.
template <typename Payload>
class TraceProbe {
public:
    /// {the payload stored for `key`, false}, or {make(), true} after storing that (non-zero).
    template <typename Make>
    std::pair<Payload, bool> FindOrInsert(const TraceKey& key, Make make) {
        if ((size_ + 1) * 4 > slots_.size() * 3) {
            Grow();
        }
        for (std::size_t i = Home(key);; i = Next(i)) {
            Slot& s = slots_[i];
            if (s.payload == 0) {
                s.key = key;
                s.payload = make();
                ++size_;
                return {s.payload, true};
            }
            if (s.key == key) {
                return {s.payload, false};
            }
        }
    }
    /// The payload stored for `key`, or 0.
    Payload Find(const TraceKey& key) const noexcept {
        const std::size_t i = SlotOf(key);
        return i == kNone ? 0 : slots_[i].payload;
    }
    /// Removes `key`; returns its payload, or 0 when it was not there.
    Payload Erase(const TraceKey& key) noexcept {
        std::size_t hole = SlotOf(key);
        if (hole == kNone) {
            return 0;
        }
        const Payload payload = slots_[hole].payload;
        // A later slot of the run moves into the hole unless its home lies after the hole
        // (cyclically, in (hole, j]): a lookup from that home would not pass the hole.
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t j = Next(hole); slots_[j].payload != 0; j = Next(j)) {
            if (((j - Home(slots_[j].key)) & mask) >= ((j - hole) & mask)) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole] = Slot{};
        --size_;
        return payload;
    }
    /// Empties the table. One that grew for a burst gives its memory back once it is eight
    /// times larger than what it held (always, with `release`).
    void Clear(bool release = false) noexcept {
        if (release || (slots_.size() > kInitialSlots && size_ * 8 < slots_.size())) {
            slots_.clear();
            slots_.shrink_to_fit();
        } else if (size_ > 0) {
            std::fill(slots_.begin(), slots_.end(), Slot{});
        }
        size_ = 0;
    }
    std::size_t size() const noexcept { return size_; }

private:
    struct Slot {
        TraceKey key;
        Payload payload = 0;
    };
    static constexpr std::size_t kInitialSlots = 256;
    static constexpr std::size_t kNone = SIZE_MAX;

    std::size_t Home(const TraceKey& key) const noexcept {
        return static_cast<std::size_t>(TraceKeyMix(key) >> shift_);
    }
    std::size_t Next(std::size_t i) const noexcept { return (i + 1) & (slots_.size() - 1); }
    std::size_t SlotOf(const TraceKey& key) const noexcept {
        if (size_ == 0) {
            return kNone;
        }
        for (std::size_t i = Home(key);; i = Next(i)) {
            const Slot& s = slots_[i];
            if (s.payload == 0) {
                return kNone;
            }
            if (s.key == key) {
                return i;
            }
        }
    }
    void Grow() {
        std::vector<Slot> old = std::move(slots_);
        const std::size_t n = old.empty() ? kInitialSlots : old.size() * 2;
        slots_.assign(n, Slot{});
        shift_ = 64 - static_cast<unsigned>(std::countr_zero(n));
        for (const Slot& s : old) {
            if (s.payload != 0) {
                std::size_t i = Home(s.key);
                while (slots_[i].payload != 0) {
                    i = Next(i);
                }
                slots_[i] = s;
            }
        }
    }

    std::vector<Slot> slots_;
    unsigned shift_ = 64;
    std::size_t size_ = 0;
};

// TraceKey → a position in a vector of the caller's, for the groups of one Ingest call and
// the trace rows of one transaction. (std::unordered_map fetched a bucket, then a node
// allocated per key, and emplace allocated one even for a key it already had: the trace-keyed
// maps took 5 - 10 % of the collector's CPU under the exchange's traffic.) Cleared whole.
class TraceSlots {
public:
    /// {the position stored for `key`, false}, or {`next`, true} after storing it.
    std::pair<std::size_t, bool> FindOrInsert(const TraceKey& key, std::size_t next) {
        const auto [stored, inserted] = probe_.FindOrInsert(key, [next] { return next + 1; });
        return {stored - 1, inserted};
    }
    bool Contains(const TraceKey& key) const noexcept { return probe_.Find(key) != 0; }
    void Clear() noexcept { probe_.Clear(); }
    std::size_t size() const noexcept { return probe_.size(); }

private:
    TraceProbe<std::size_t> probe_;  // the position + 1
};

// TraceKey → V, for what the writer remembers of recent traces (their summaries, their
// dependency state), with erase: the values in a deque whose erased places are reused. (Two
// std::unordered_maps cost 3 - 4 % of the collector's CPU under the exchange's traffic.) A
// reference to a value stays valid until its key is erased or the map cleared.
template <typename V>
class TraceMap {
public:
    /// {the value stored for `key`, false}, or {a new value-initialised one, true}.
    std::pair<V*, bool> TryEmplace(const TraceKey& key) {
        const auto [place, inserted] = probe_.FindOrInsert(key, [this] {
            if (free_.empty()) {
                values_.emplace_back();
                return static_cast<std::uint32_t>(values_.size());
            }
            const std::uint32_t reused = free_.back();
            free_.pop_back();
            return reused;
        });
        return {&values_[place - 1], inserted};
    }
    V* Find(const TraceKey& key) noexcept {
        const std::uint32_t place = probe_.Find(key);
        return place == 0 ? nullptr : &values_[place - 1];
    }
    const V* Find(const TraceKey& key) const noexcept {
        const std::uint32_t place = probe_.Find(key);
        return place == 0 ? nullptr : &values_[place - 1];
    }
    /// Removes `key` and its value (whose memory is released); false when it was not there.
    bool Erase(const TraceKey& key) {
        const std::uint32_t place = probe_.Erase(key);
        if (place == 0) {
            return false;
        }
        values_[place - 1] = V{};
        free_.push_back(place);
        return true;
    }
    /// Empties the map and gives its memory back.
    void Clear() {
        probe_.Clear(/*release=*/true);
        values_.clear();
        values_.shrink_to_fit();
        free_.clear();
        free_.shrink_to_fit();
    }
    std::size_t size() const noexcept { return probe_.size(); }

private:
    TraceProbe<std::uint32_t> probe_;  // the value's index in values_ + 1
    std::deque<V> values_;
    std::vector<std::uint32_t> free_;  // places of erased values
};

}  // namespace flowex::collector
