#include <gtest/gtest.h>

#include <set>

#include "flowex/common/clock.hpp"
#include "flowex/common/error.hpp"
#include "flowex/common/ids.hpp"
#include "flowex/common/result.hpp"

namespace flowex::common {
namespace {

TEST(Ids, UuidV7IsWellFormedUniqueAndTimeOrdered) {
    std::set<std::string> seen;
    std::string prev;
    for (int i = 0; i < 10000; ++i) {
        std::string id = DefaultIdGenerator().NewUuid();
        ASSERT_TRUE(IsUuid(id)) << id;
        EXPECT_EQ(id[14], '7');
        EXPECT_TRUE(seen.insert(id).second);
        // The 48-bit millisecond prefix never goes backwards.
        EXPECT_GE(id.substr(0, 13), prev.empty() ? "" : prev.substr(0, 13));
        prev = id;
    }
}

TEST(Ids, SequentialGeneratorIsDeterministic) {
    SequentialIdGenerator g;
    EXPECT_EQ(g.NewUuid(), "00000000-0000-4000-8000-000000000001");
    EXPECT_EQ(g.NewUuid(), "00000000-0000-4000-8000-000000000002");
    EXPECT_FALSE(IsUuid("not-a-uuid"));
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
    ManualClock c(1'000);
    EXPECT_EQ(c.UnixNanos(), 1'000);
    c.Advance(std::chrono::microseconds(5));
    EXPECT_EQ(c.UnixNanos(), 6'000);
}

TEST(Clock, FormatsRfc3339Utc) {
    EXPECT_EQ(FormatRfc3339(1'700'000'000'123'456'789), "2023-11-14T22:13:20.123456Z");
}

TEST(Errors, EveryCodeHasItsDesignStatusAndName) {
    EXPECT_EQ(HttpStatus(ErrorCode::kInsufficientFunds), 422);
    EXPECT_EQ(ToString(ErrorCode::kInsufficientFunds), "insufficient_funds");
    EXPECT_EQ(HttpStatus(ErrorCode::kOrderNotCancellable), 409);
    EXPECT_EQ(HttpStatus(ErrorCode::kPayloadTooLarge), 413);
    EXPECT_EQ(HttpStatus(ErrorCode::kUpstreamTimeout), 504);
    EXPECT_EQ(ErrorCodeFromString("risk_rejected"), ErrorCode::kRiskRejected);
    EXPECT_EQ(ErrorCodeFromString("what"), ErrorCode::kInternal);
}

TEST(Result, HoldsValueOrError) {
    Result<int> ok = 5;
    Result<int> bad = Error{ErrorCode::kNotFound, "no"};
    EXPECT_TRUE(ok.ok());
    EXPECT_EQ(*ok, 5);
    EXPECT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
    EXPECT_EQ(bad.value_or(7), 7);
    Status s = Ok();
    EXPECT_TRUE(s.ok());
}

}  // namespace
}  // namespace flowex::common
