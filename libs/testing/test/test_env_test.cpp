#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "flowex/testing/test_env.hpp"

namespace flowex::testing {
namespace {

// Points FLOWEX_TEST_ENV_FILE elsewhere for one test and restores it afterwards.
class EnvFileOverride {
public:
    explicit EnvFileOverride(const std::string& path) {
        if (const char* old = std::getenv("FLOWEX_TEST_ENV_FILE")) {
            old_ = old;
            had_ = true;
        }
        ::setenv("FLOWEX_TEST_ENV_FILE", path.c_str(), 1);
    }
    ~EnvFileOverride() {
        if (had_) {
            ::setenv("FLOWEX_TEST_ENV_FILE", old_.c_str(), 1);
        } else {
            ::unsetenv("FLOWEX_TEST_ENV_FILE");
        }
    }

private:
    std::string old_;
    bool had_ = false;
};

std::string TempPath(const std::string& name) {
    return ::testing::TempDir() + "/" + name + "_" + std::to_string(::getpid());
}

TEST(TestEnv, ReadsUrlsAndExtraValuesFromTheEnvFile) {
    const std::string path = TempPath("env_ok");
    {
        std::ofstream out(path);
        out << "FLOWEX_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:41234/stockexchange\n"
            << "# comment\n"
            << "FLOWEX_TEST_REDIS_URL=redis://127.0.0.1:41235\n"
            << "FLOWEX_TEST_PG_PID=77\n";
    }
    EnvFileOverride guard(path);
    auto env = TestEnv();
    ASSERT_TRUE(env.ok()) << env.error().message;
    EXPECT_EQ(env->database_url, "postgresql://postgres@127.0.0.1:41234/stockexchange");
    EXPECT_EQ(env->redis_url, "redis://127.0.0.1:41235");
    EXPECT_EQ(env->pg_port, 41234);
    EXPECT_EQ(env->redis_port, 41235);
    EXPECT_EQ(env->values.at("FLOWEX_TEST_PG_PID"), "77");
    std::remove(path.c_str());
}

TEST(TestEnv, MissingEnvFileIsAnErrorThatSaysHowToStartTheServices) {
    EnvFileOverride guard(TempPath("does_not_exist"));
    auto env = TestEnv();
    ASSERT_FALSE(env.ok());
    EXPECT_NE(env.error().message.find("scripts/test-services"), std::string::npos);
    // RequireTestEnv fails the test (throws), it never skips.
    EXPECT_THROW((void)RequireTestEnv(), std::runtime_error);
}

TEST(TestEnv, EnvFileWithoutUrlsIsAnError) {
    const std::string path = TempPath("env_partial");
    {
        std::ofstream out(path);
        out << "FLOWEX_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:1/x\n";
    }
    EnvFileOverride guard(path);
    EXPECT_FALSE(TestEnv().ok());
    std::remove(path.c_str());
}

TEST(TestEnv, WithDatabaseReplacesOnlyThePath) {
    EXPECT_EQ(WithDatabase("postgresql://postgres@127.0.0.1:5432/stockexchange", "t_a_1"),
              "postgresql://postgres@127.0.0.1:5432/t_a_1");
    EXPECT_EQ(WithDatabase("postgresql://u:p@h:1/db?sslmode=disable", "other"),
              "postgresql://u:p@h:1/other?sslmode=disable");
}

}  // namespace
}  // namespace flowex::testing
