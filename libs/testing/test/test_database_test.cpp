#include <gtest/gtest.h>

#include "flowex/testing/test_env.hpp"

namespace flowex::testing {
namespace {

TEST(TestEnv, IntegrationEnvironmentIsPresent) {
    // Integration tests fail (not skip) when the fixture did not start the databases.
    auto env = TestEnv();
    ASSERT_TRUE(env.ok()) << env.error().message;
    EXPECT_GT(env->pg_port, 0);
    EXPECT_GT(env->redis_port, 0);
    auto v = QueryValue(env->database_url,
                        "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'");
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(*v, "1");
    auto preload = QueryValue(env->database_url, "SHOW shared_preload_libraries");
    ASSERT_TRUE(preload.ok());
    EXPECT_NE(preload->find("pg_stat_statements"), std::string::npos);
}

TEST(TestEnv, TestDatabasesAreFreshUniqueAndDroppedAfterwards) {
    auto env = RequireTestEnv();
    std::string name;
    {
        auto a = TestDatabase::CreateOrThrow("TestEnv Suite");
        auto b = TestDatabase::CreateOrThrow("TestEnv Suite");
        EXPECT_NE(a.name(), b.name());
        ASSERT_TRUE(a.Exec("CREATE TABLE only_in_a (id int)").ok());
        auto in_b = b.QueryValue("SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'");
        ASSERT_TRUE(in_b.ok()) << in_b.error().message;
        EXPECT_EQ(*in_b, "0");
        name = a.name();
    }
    auto left = QueryValue(env.database_url,
                           "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'");
    ASSERT_TRUE(left.ok());
    EXPECT_EQ(*left, "0");
}

}  // namespace
}  // namespace flowex::testing
