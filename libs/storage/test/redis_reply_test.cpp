#include <gtest/gtest.h>

#include "flowex/storage/redis.hpp"

namespace flowex::storage {
namespace {

TEST(StorageRedisReply, AccessorsByType) {
    RedisReply s{.type = RedisReply::Type::kString, .str = "42"};
    EXPECT_EQ(s.AsString(), "42");
    EXPECT_EQ(s.AsInteger(), 42);
    RedisReply nil;
    EXPECT_TRUE(nil.is_nil());
    EXPECT_EQ(nil.AsString(), std::nullopt);
    RedisReply i{.type = RedisReply::Type::kInteger, .integer = 3};
    EXPECT_EQ(i.AsInteger(), 3);
    RedisReply e{.type = RedisReply::Type::kError, .str = "WRONGTYPE x"};
    EXPECT_TRUE(e.is_error());
    EXPECT_EQ(e.AsString(), std::nullopt);
}

}  // namespace
}  // namespace flowex::storage
