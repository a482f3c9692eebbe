// The span record pool (src/sdk/record_pool.cpp): records always go back to the thread that
// started them, also when another thread (the batch worker) releases them, and outlive that
// thread. Internal API, hence the private header.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "sdk/span_record.hpp"

namespace flowex::telemetry::sdk {
namespace {

constexpr std::size_t kRecords = 300;  // more than one return block
// Homes adopted from threads of earlier tests may still hold records: acquire at most this
// many while looking for the ones released.
constexpr std::size_t kSearchCap = 200000;

std::vector<SpanRecord*> Acquire(std::size_t n) {
    std::vector<SpanRecord*> out;
    for (std::size_t i = 0; i < n; ++i) { out.push_back(AcquireSpanRecord()); }
    return out;
}

void ReleaseAll(const std::vector<SpanRecord*>& records) {
    std::vector<RecordHome*> homes;
    for (SpanRecord* r : records) { homes.push_back(r->home); }
    ReleaseSpanRecords(records, homes);
}

/// Acquires on the calling thread until every record of `wanted` came back (or the cap);
/// returns how many of them did, and releases everything again.
std::size_t AcquireUntilSeen(const std::set<SpanRecord*>& wanted) {
    std::vector<SpanRecord*> taken;
    std::size_t seen = 0;
    while (seen < wanted.size() && taken.size() < kSearchCap) {
        SpanRecord* r = AcquireSpanRecord();
        taken.push_back(r);
        seen += wanted.count(r);
    }
    ReleaseAll(taken);
    return seen;
}

TEST(TelemetryRecordPool, RecordsReleasedByAnotherThreadGoBackToTheirThread) {
    std::promise<std::vector<SpanRecord*>> acquired;
    std::promise<void> released;
    std::size_t came_back = 0;
    std::thread starter([&] {
        std::vector<SpanRecord*> mine = Acquire(kRecords);
        const std::set<SpanRecord*> wanted(mine.begin(), mine.end());
        acquired.set_value(mine);
        released.get_future().wait();
        came_back = AcquireUntilSeen(wanted);
    });
    const std::vector<SpanRecord*> records = acquired.get_future().get();
    const std::set<SpanRecord*> wanted(records.begin(), records.end());
    RecordHome* starter_home = records.front()->home;
    ASSERT_NE(starter_home, nullptr);
    for (SpanRecord* r : records) { EXPECT_EQ(r->home, starter_home); }
    // Another thread (as the batch worker does) releases them, then takes records itself:
    // it gets none of them.
    std::size_t stolen = 0;
    std::thread releaser([&] {
        ReleaseAll(records);
        const std::vector<SpanRecord*> own = Acquire(kRecords);
        for (SpanRecord* r : own) {
            stolen += wanted.count(r);
            EXPECT_NE(r->home, starter_home);
        }
        ReleaseAll(own);
    });
    releaser.join();
    released.set_value();
    starter.join();
    EXPECT_EQ(stolen, 0u);
    EXPECT_EQ(came_back, kRecords);
}

TEST(TelemetryRecordPool, RecordsOutliveTheirThreadAndAreAdoptedWithItsPool) {
    ReleaseSpanRecord(AcquireSpanRecord());  // this thread has a home: releasing adopts none
    std::vector<SpanRecord*> records;
    std::thread starter([&] { records = Acquire(kRecords); });
    starter.join();
    // Released after their thread exited (spans still queued at exit): they go to its pool.
    ReleaseAll(records);
    // No thread exited since, so the next new thread adopts that pool and reuses them all.
    const std::set<SpanRecord*> wanted(records.begin(), records.end());
    std::size_t recovered = 0;
    std::thread adopter([&] { recovered = AcquireUntilSeen(wanted); });
    adopter.join();
    EXPECT_EQ(recovered, kRecords);
}

TEST(TelemetryRecordPool, AReusedRecordIsReset) {
    std::thread t([] {
        SpanRecord* r = AcquireSpanRecord();
        r->data.name = "used";
        r->data.status_message = "boom";
        r->sampled = true;
        ReleaseSpanRecord(r);
        SpanRecord* again = AcquireSpanRecord();
        EXPECT_EQ(again, r);  // this thread's own release comes back first
        EXPECT_TRUE(again->data.attributes.empty());
        EXPECT_TRUE(again->data.status_message.empty());
        EXPECT_FALSE(again->sampled);
        ReleaseSpanRecord(again);
    });
    t.join();
}

}  // namespace
}  // namespace flowex::telemetry::sdk
