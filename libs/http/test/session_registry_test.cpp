// SessionRegistry: a sweep's snapshot never makes an item's destructor wait for a lock its
// own thread holds. Every wait here is bounded, so a deadlock fails the test instead of
// hanging it.
#include "../src/session_registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

namespace flowex::http::detail {
namespace {

using namespace std::chrono_literals;

struct Item : std::enable_shared_from_this<Item> {
    Item(SessionRegistry<Item>& r, int v, std::atomic<int>* destroyed)
        : registry(r), value(v), destroyed_count(destroyed) {}
    ~Item() {
        registry.Remove(pos);  // as a server's Session does
        destroyed_count->fetch_add(1);
    }
    static std::shared_ptr<Item> Make(SessionRegistry<Item>& r, int v, std::atomic<int>* destroyed) {
        auto item = std::make_shared<Item>(r, v, destroyed);
        item->pos = r.Add(item.get());
        return item;
    }
    SessionRegistry<Item>& registry;
    SessionRegistry<Item>::Position pos;
    std::atomic<int> value;
    std::atomic<int>* destroyed_count;
};

// Runs f on another thread; false if it did not finish within 5 s (a deadlock). The thread
// is then left behind on purpose: the test has failed and the process ends soon.
template <class F>
bool FinishesInTime(F f) {
    auto task = std::make_shared<std::packaged_task<void()>>(std::move(f));
    std::future<void> done = task->get_future();
    std::thread([task] { (*task)(); }).detach();
    return done.wait_for(5s) == std::future_status::ready;
}

TEST(SessionRegistry, SnapshotSelectsInOrderAndHonoursTheLimit) {
    SessionRegistry<Item> registry;
    std::atomic<int> destroyed{0};
    auto a = Item::Make(registry, 1, &destroyed);
    auto b = Item::Make(registry, 2, &destroyed);
    auto c = Item::Make(registry, 3, &destroyed);
    auto odd = registry.Snapshot([](const Item& i) { return i.value.load() % 2 == 1; });
    ASSERT_EQ(odd.size(), 2u);
    EXPECT_EQ(odd[0], a);
    EXPECT_EQ(odd[1], c);
    auto first = registry.Snapshot([](const Item&) { return true; }, 1);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0], a);
    EXPECT_EQ(registry.size(), 3u);
}

TEST(SessionRegistry, TheLastReferenceHeldByASnapshotIsReleasedOutsideTheLock) {
    // A connection ends on its io thread while a sweep holds it: the sweep's reference is
    // the last one, and releasing it runs the destructor, which removes the item.
    SessionRegistry<Item> registry;
    std::atomic<int> destroyed{0};
    auto owner = Item::Make(registry, 1, &destroyed);
    auto snapshot = registry.Snapshot([](const Item&) { return true; });
    ASSERT_EQ(snapshot.size(), 1u);
    owner.reset();  // the connection's own reference
    EXPECT_EQ(destroyed.load(), 0);
    ASSERT_TRUE(FinishesInTime([&] { snapshot.clear(); })) << "releasing the last reference deadlocked";
    EXPECT_EQ(destroyed.load(), 1);
    EXPECT_EQ(registry.size(), 0u);
    // The registry is still usable afterwards.
    auto next = Item::Make(registry, 2, &destroyed);
    ASSERT_TRUE(FinishesInTime([&] { EXPECT_EQ(registry.Snapshot([](const Item&) { return true; }).size(), 1u); }));
}

TEST(SessionRegistry, AnItemWhoseDestructorHasStartedIsSkipped) {
    // The connection's last reference goes on another thread while the sweep holds the
    // lock: its destructor waits for the lock, and the sweep must neither take a reference
    // to it nor wait for it.
    SessionRegistry<Item> registry;
    std::atomic<int> destroyed{0};
    auto dying = Item::Make(registry, 1, &destroyed);
    auto living = Item::Make(registry, 2, &destroyed);
    std::weak_ptr<Item> dying_weak = dying;
    std::thread releaser;
    bool expired_under_lock = false;
    ASSERT_TRUE(FinishesInTime([&] {
        auto snapshot = registry.Snapshot([&](const Item& i) {
            if (i.value.load() == 1 && !releaser.joinable()) {
                releaser = std::thread([&] { dying.reset(); });  // blocks in Remove until we return
                auto deadline = std::chrono::steady_clock::now() + 5s;
                while (!dying_weak.expired() && std::chrono::steady_clock::now() < deadline) {
                    std::this_thread::yield();
                }
                expired_under_lock = dying_weak.expired();
            }
            return true;
        });
        ASSERT_EQ(snapshot.size(), 1u);
        EXPECT_EQ(snapshot[0], living);
    }));
    ASSERT_TRUE(expired_under_lock);
    releaser.join();
    EXPECT_EQ(destroyed.load(), 1);
    EXPECT_EQ(registry.size(), 1u);
}

}  // namespace
}  // namespace flowex::http::detail
