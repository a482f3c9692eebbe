#include <gtest/gtest.h>

#include "flowex/storage/pg.hpp"

namespace flowex::storage {
namespace {

TEST(StorageSqlDescribe, SelectTakesTheTableAfterTopLevelFrom) {
    auto s = DescribeSql("SELECT o.id, (SELECT count(*) FROM trades t WHERE t.order_id = o.id)\n"
                         "  FROM orders o JOIN trades t ON t.order_id = o.id WHERE o.user_id = $1");
    EXPECT_EQ(s.operation, "SELECT");
    EXPECT_EQ(s.table, "orders");
}

TEST(StorageSqlDescribe, InsertUpdateDeleteAndCase) {
    EXPECT_EQ(DescribeSql("insert into trades (a) values ($1)").operation, "INSERT");
    EXPECT_EQ(DescribeSql("insert into trades (a) values ($1)").table, "trades");
    auto u = DescribeSql("  UPDATE wallets SET balance = balance - $2 WHERE user_id = $1");
    EXPECT_EQ(u.operation, "UPDATE");
    EXPECT_EQ(u.table, "wallets");
    auto d = DescribeSql("DELETE FROM sessions WHERE token_hash = $1");
    EXPECT_EQ(d.operation, "DELETE");
    EXPECT_EQ(d.table, "sessions");
}

TEST(StorageSqlDescribe, CommentsStringsQuotesAndCtes) {
    auto c = DescribeSql("-- find it\n/* block */ SELECT 'from x' FROM \"public\".\"users\" WHERE a = $1");
    EXPECT_EQ(c.operation, "SELECT");
    EXPECT_EQ(c.table, "public.users");
    auto w = DescribeSql("WITH moved AS (SELECT * FROM orders) UPDATE holdings SET q = 1");
    EXPECT_EQ(w.operation, "UPDATE");
    EXPECT_EQ(w.table, "holdings");
    EXPECT_EQ(DescribeSql("BEGIN ISOLATION LEVEL SERIALIZABLE").operation, "BEGIN");
    EXPECT_EQ(DescribeSql("BEGIN").table, "");
    EXPECT_EQ(DescribeSql("SELECT 1").table, "");
    EXPECT_EQ(DescribeSql("").operation, "");
}

}  // namespace
}  // namespace flowex::storage
