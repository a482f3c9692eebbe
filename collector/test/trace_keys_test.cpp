#include "../src/trace_keys.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

namespace flowex::collector {
namespace {

std::uint64_t Packed(const TraceKey& k) { return k.hi * 1'000'003 + k.lo; }

// Random inserts, lookups and erases over few keys (long probe runs, erases in their middle)
// give the same answers as std::unordered_map, through growth and after Clear.
TEST(TraceMap, AgreesWithAStandardMapThroughInsertsErasesAndGrowth) {
    TraceMap<std::string> map;
    std::unordered_map<std::uint64_t, std::string> model;
    std::mt19937_64 rng(7);
    for (int round = 0; round < 2; ++round) {
        for (int op = 0; op < 200'000; ++op) {
            // Half the keys differ only in hi, half only in lo: both halves must count.
            const std::uint64_t n = rng() % 3000;
            const TraceKey key = n % 2 == 0 ? TraceKey{n, 5} : TraceKey{9, n};
            const std::uint64_t packed = Packed(key);
            switch (rng() % 4) {
                case 0:
                case 1: {
                    auto [value, inserted] = map.TryEmplace(key);
                    ASSERT_EQ(inserted, model.count(packed) == 0) << "op " << op;
                    if (inserted) {
                        ASSERT_TRUE(value->empty()) << "a reused place is not value-initialised";
                        *value = std::to_string(op);
                        model[packed] = *value;
                    } else {
                        ASSERT_EQ(*value, model[packed]);
                    }
                    break;
                }
                case 2:
                    ASSERT_EQ(map.Erase(key), model.erase(packed) == 1) << "op " << op;
                    break;
                default: {
                    const std::string* found = map.Find(key);
                    auto it = model.find(packed);
                    ASSERT_EQ(found != nullptr, it != model.end()) << "op " << op;
                    if (found != nullptr) {
                        ASSERT_EQ(*found, it->second);
                    }
                }
            }
            ASSERT_EQ(map.size(), model.size());
        }
        // Every key the model holds is found, and no other.
        for (std::uint64_t n = 0; n < 3000; ++n) {
            const TraceKey key = n % 2 == 0 ? TraceKey{n, 5} : TraceKey{9, n};
            const std::string* found = map.Find(key);
            auto it = model.find(Packed(key));
            ASSERT_EQ(found != nullptr, it != model.end()) << n;
            if (found != nullptr) {
                EXPECT_EQ(*found, it->second);
            }
        }
        map.Clear();
        model.clear();
        EXPECT_EQ(map.size(), 0u);
        EXPECT_EQ(map.Find(TraceKey{0, 5}), nullptr);
    }
}

// A value's address holds while other keys come and go (the writer keeps a reference to one
// trace's summary while it evicts others).
TEST(TraceMap, AValueStaysPutWhileOtherKeysAreInsertedAndErased) {
    TraceMap<std::string> map;
    auto [kept, inserted] = map.TryEmplace(TraceKey{1, 1});
    ASSERT_TRUE(inserted);
    *kept = "kept";
    for (std::uint64_t i = 2; i < 5000; ++i) {
        *map.TryEmplace(TraceKey{i, i}).first = "other";
        if (i % 3 == 0) {
            EXPECT_TRUE(map.Erase(TraceKey{i - 1, i - 1}));
        }
    }
    EXPECT_EQ(map.Find(TraceKey{1, 1}), kept);
    EXPECT_EQ(*kept, "kept");
    EXPECT_FALSE(map.Erase(TraceKey{7, 8}));
}

TEST(TraceSlots, StoresTheFirstPositionOfEachKeyUntilCleared) {
    TraceSlots slots;
    for (std::size_t i = 0; i < 1000; ++i) {
        auto [position, inserted] = slots.FindOrInsert(TraceKey{i, 0}, i);
        EXPECT_TRUE(inserted);
        EXPECT_EQ(position, i);
    }
    for (std::size_t i = 0; i < 1000; ++i) {
        auto [position, inserted] = slots.FindOrInsert(TraceKey{i, 0}, 5000);
        EXPECT_FALSE(inserted);
        EXPECT_EQ(position, i);
        EXPECT_TRUE(slots.Contains(TraceKey{i, 0}));
    }
    EXPECT_FALSE(slots.Contains(TraceKey{0, 1}));
    slots.Clear();
    EXPECT_EQ(slots.size(), 0u);
    EXPECT_FALSE(slots.Contains(TraceKey{3, 0}));
}

TEST(TraceKeys, KeyOfTakesSixteenByteIdsAndGivesZeroForOthers) {
    const std::string id("0123456789abcdef", 16);
    const TraceKey k = KeyOf(id);
    EXPECT_NE(k, TraceKey{});
    EXPECT_EQ(k, KeyOf(std::string(id)));
    EXPECT_NE(k, KeyOf(std::string("0123456789abcdeF", 16)));
    EXPECT_EQ(KeyOf("short"), TraceKey{});
}

}  // namespace
}  // namespace flowex::collector
