#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flowex/storage/pg.hpp"
#include "flowex/storage/pg_array.hpp"

namespace flowex::storage {
namespace {

TEST(StoragePgArray, LiteralOfNumbersAndOfStrings) {
    EXPECT_EQ(PgArrayLiteral(std::vector<std::int64_t>{}), "{}");
    EXPECT_EQ(PgArrayLiteral(std::vector<std::int64_t>{7, -1, 42}), "{7,-1,42}");
    EXPECT_EQ(PgArrayLiteral(std::set<std::string>{"MSFT", "AAPL"}), "{AAPL,MSFT}");
}

TEST(StoragePgParam, EncodesValuesAsTextAndNull) {
    EXPECT_EQ(PgParam(std::int64_t{-42}).text(), "-42");
    EXPECT_EQ(PgParam(7).text(), "7");
    EXPECT_EQ(PgParam(true).text(), "true");
    EXPECT_EQ(PgParam("abc").text(), "abc");
    EXPECT_EQ(PgParam(std::string("x'y")).text(), "x'y");  // values never reach SQL text
    EXPECT_TRUE(PgParam(std::nullopt).is_null());
    EXPECT_TRUE(PgParam(std::optional<int>()).is_null());
    EXPECT_EQ(PgParam(std::optional<int>(5)).text(), "5");
    EXPECT_FALSE(PgParam(std::optional<std::string>("s")).is_null());
}

TEST(StoragePgError, UniqueViolationConstraintIsRecoverableFromTheError) {
    common::Error e{common::ErrorCode::kConflict,
                    "duplicate value violates unique constraint \"users_username_key\""};
    EXPECT_EQ(UniqueViolationConstraint(e), "users_username_key");
    EXPECT_EQ(UniqueViolationConstraint({common::ErrorCode::kConflict, "concurrent update conflict"}),
              std::nullopt);
    EXPECT_EQ(UniqueViolationConstraint({common::ErrorCode::kInternal, "database error"}), std::nullopt);
}

TEST(StoragePgRows, EmptyRowsAreSafeToRead) {
    PgRows rows;
    EXPECT_EQ(rows.size(), 0);
    EXPECT_TRUE(rows.empty());
    EXPECT_EQ(rows.affected(), 0);
    PgRow row(nullptr, 0);
    EXPECT_TRUE(row.IsNull(0));
    EXPECT_EQ(row.OptInt64(0), std::nullopt);
    EXPECT_EQ(row.Int64("missing"), 0);
}

}  // namespace
}  // namespace flowex::storage
