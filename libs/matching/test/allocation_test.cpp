// No heap allocation on the hot path after warm-up. This test binary replaces the global
// operator new to count every allocation; the counted windows contain only book calls.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>

#include "flowex/matching/order_book.hpp"
#include "flowex/matching/workload.hpp"

// The replacement operator new below is malloc-based, so its operator delete calls free; GCC
// cannot see that pairing through inlined library code and would warn.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) { return p; }
    throw std::bad_alloc();
}

void* operator new(std::size_t size, std::align_val_t align) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    const auto alignment = static_cast<std::size_t>(align);
    const std::size_t rounded = (size + alignment - 1) / alignment * alignment;
    if (void* p = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded)) { return p; }
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
    std::free(p);
}

namespace flowex::matching {
namespace {

std::uint64_t Allocations() {
    return g_allocations.load(std::memory_order_relaxed);
}

TEST(OrderBookAllocation, CountingAllocatorSeesVectorGrowth) {
    const std::uint64_t before = Allocations();
    std::vector<int> grows(1000);
    EXPECT_GT(Allocations(), before);
}

TEST(OrderBookAllocation, SharedStreamAfterWarmUpDoesNotAllocate) {
    workload::Workload stream;
    std::string error;
    ASSERT_TRUE(workload::Load(std::string(FLOWEX_SHARED_DIR) + "/bench/matching-mix-2M.csv.gz",
                               stream, error))
        << error;
    // Default sizing on purpose: warm-up grows whatever the stream needs.
    OrderBook book(BookConfig{.self_trade_prevention = SelfTradePrevention::kNone});
    for (const workload::Op& op : stream.prefill) { workload::Apply(book, op); }
    const std::size_t warm_up = 200'000;
    for (std::size_t i = 0; i < warm_up; ++i) { workload::Apply(book, stream.measured[i]); }
    DepthLevel depth[10];
    std::size_t trades = 0;
    const std::uint64_t before = Allocations();
    for (std::size_t i = warm_up; i < stream.measured.size(); ++i) {
        trades += workload::CountTrades(workload::Apply(book, stream.measured[i]));
        book.Depth(Side::kBuy, std::span<DepthLevel>(depth));
        book.Depth(Side::kSell, std::span<DepthLevel>(depth));
        static_cast<void>(book.Top());
    }
    EXPECT_EQ(Allocations() - before, 0U)
        << "over " << stream.measured.size() - warm_up << " operations";
    EXPECT_GT(trades, 100'000U);
}

TEST(OrderBookAllocation, RandomRequestsOfEveryKindAfterWarmUpDoNotAllocate) {
    for (SelfTradePrevention stp :
         {SelfTradePrevention::kNone, SelfTradePrevention::kCancelIncoming,
          SelfTradePrevention::kCancelResting, SelfTradePrevention::kCancelBoth}) {
        OrderBook book(BookConfig{.self_trade_prevention = stp});
        std::mt19937_64 rng(static_cast<std::uint64_t>(stp) + 11);
        auto uniform = [&rng](std::int64_t lo, std::int64_t hi) {
            return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
        };
        // Ids from a bounded range: some requests hit live orders, some are rejected.
        auto step = [&] {
            const auto id = static_cast<OrderId>(uniform(0, 1'500));
            const Price price = 10'000 + uniform(-20, 20);
            switch (uniform(0, 5)) {
                case 0:
                case 1:
                    book.Submit(NewOrder{
                        .id = id,
                        .user = static_cast<UserId>(uniform(0, 3)),
                        .side = uniform(0, 1) == 0 ? Side::kBuy : Side::kSell,
                        .type = uniform(0, 9) == 0 ? OrderType::kMarket : OrderType::kLimit,
                        .tif = uniform(0, 4) == 0 ? TimeInForce::kIoc : TimeInForce::kGtc,
                        .price = price,
                        .quantity = uniform(1, 40)});
                    break;
                case 2:
                    book.Cancel(id);
                    break;
                case 3:
                    book.Amend(id, uniform(0, 1) == 0 ? price : 10'000, uniform(1, 40));
                    break;
                default:
                    book.Move(id, price);
                    break;
            }
        };
        for (int i = 0; i < 100'000; ++i) { step(); }
        const std::uint64_t before = Allocations();
        for (int i = 0; i < 200'000; ++i) { step(); }
        EXPECT_EQ(Allocations() - before, 0U) << "stp mode " << static_cast<int>(stp);
    }
}

}  // namespace
}  // namespace flowex::matching
