// The book's internal containers checked against standard ones.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "flowex/matching/detail/level_bitmap.hpp"
#include "flowex/matching/detail/order_index.hpp"

namespace flowex::matching::detail {
namespace {

TEST(MatchingLevelBitmap, FindNextAndPrevAgreeWithOrderedSet) {
    for (std::size_t bits : {1U, 63U, 64U, 65U, 4096U, 300'000U}) {
        LevelBitmap bitmap;
        bitmap.Reset(bits);
        std::set<std::size_t> reference;
        std::mt19937_64 rng(bits);
        for (int step = 0; step < 20'000; ++step) {
            const std::size_t i = rng() % bits;
            if (rng() % 2 == 0) {
                bitmap.Set(i);
                reference.insert(i);
            } else {
                bitmap.Clear(i);
                reference.erase(i);
            }
            const std::size_t probe = rng() % bits;
            auto next = reference.lower_bound(probe);
            EXPECT_EQ(bitmap.FindNext(probe), next == reference.end() ? LevelBitmap::kNone : *next);
            auto prev = reference.upper_bound(probe);
            EXPECT_EQ(bitmap.FindPrev(probe),
                      prev == reference.begin() ? LevelBitmap::kNone : *std::prev(prev));
            EXPECT_EQ(bitmap.Test(probe), reference.contains(probe));
        }
        EXPECT_EQ(bitmap.FindNext(bits), LevelBitmap::kNone);

        // Visiting walks the same slots as the ordered set, in order, and stops on request.
        const std::size_t from = rng() % bits;
        std::vector<std::size_t> down;
        bitmap.VisitDown(from, [&](std::size_t i) {
            down.push_back(i);
            return down.size() < 50;
        });
        std::vector<std::size_t> expected_down;
        for (auto it = reference.upper_bound(from);
             it != reference.begin() && expected_down.size() < 50;) {
            expected_down.push_back(*--it);
        }
        EXPECT_EQ(down, expected_down);
        std::vector<std::size_t> up;
        bitmap.VisitUp(from, [&](std::size_t i) {
            up.push_back(i);
            return up.size() < 50;
        });
        std::vector<std::size_t> expected_up;
        for (auto it = reference.lower_bound(from);
             it != reference.end() && expected_up.size() < 50; ++it) {
            expected_up.push_back(*it);
        }
        EXPECT_EQ(up, expected_up);
    }
}

TEST(MatchingOrderIndex, InsertFindEraseAgreeWithUnorderedMap) {
    OrderIndex index(4);
    std::unordered_map<OrderId, std::uint32_t> reference;
    std::mt19937_64 rng(7);
    for (std::uint32_t step = 0; step < 200'000; ++step) {
        // Mix sequential and random ids so that probe runs collide and wrap.
        const OrderId id = rng() % 3 == 0 ? rng() : rng() % 5'000;
        if (reference.contains(id)) {
            index.Erase(id);
            reference.erase(id);
        } else {
            index.Insert(id, step);
            reference.emplace(id, step);
        }
        const OrderId probe = rng() % 5'000;
        auto it = reference.find(probe);
        EXPECT_EQ(index.Find(probe), it == reference.end() ? OrderIndex::kMissing : it->second);
    }
    EXPECT_EQ(index.Size(), reference.size());
    for (const auto& [id, value] : reference) { EXPECT_EQ(index.Find(id), value); }
}

}  // namespace
}  // namespace flowex::matching::detail
