#include <gtest/gtest.h>

#include <map>

#include "flowex/common/config.hpp"

namespace flowex::common {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const std::string& k) -> std::optional<std::string> {
        auto it = vars.find(k);
        if (it == vars.end()) { return std::nullopt; }
        return it->second;
    };
}

struct Settings {
    HostPort listen{"127.0.0.1", 8347};
    std::string db = "postgres://localhost/x";
    std::string token;
    std::int64_t workers = 2;
    bool verbose = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
};

Config MakeConfig(Settings& s) {
    Config c("svc", "A test service.");
    c.Address("listen", "FLOWEX_LISTEN", &s.listen, "address");
    c.String("database-url", "FLOWEX_DATABASE_URL", &s.db, "database");
    c.String("internal-token", "FLOWEX_INTERNAL_TOKEN", &s.token, "token").Required().Secret();
    c.Int("workers", "FLOWEX_WORKERS", &s.workers, "threads", 1, 64);
    c.Bool("verbose", "", &s.verbose, "chatty");
    c.Duration("timeout", "FLOWEX_TIMEOUT", &s.timeout, "deadline");
    return c;
}

TEST(Config, FlagBeatsEnvironmentBeatsDefault) {
    Settings s;
    Config c = MakeConfig(s);
    const char* argv[] = {"svc", "--listen", "0.0.0.0:9000", "--verbose", "--timeout=250ms"};
    auto r = c.Parse(5, argv,
                     FakeEnv({{"FLOWEX_LISTEN", "1.2.3.4:1"}, {"FLOWEX_WORKERS", "8"},
                              {"FLOWEX_INTERNAL_TOKEN", "s3cret"}}));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(*r);
    EXPECT_EQ(s.listen.ToString(), "0.0.0.0:9000");
    EXPECT_EQ(s.workers, 8);
    EXPECT_TRUE(s.verbose);
    EXPECT_EQ(s.timeout, std::chrono::milliseconds(250));
    EXPECT_EQ(s.db, "postgres://localhost/x");
}

TEST(Config, MissingRequiredSettingNamesFlagAndEnvironment) {
    Settings s;
    Config c = MakeConfig(s);
    const char* argv[] = {"svc"};
    auto r = c.Parse(1, argv, FakeEnv({}));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("--internal-token or FLOWEX_INTERNAL_TOKEN"), std::string::npos);
}

TEST(Config, BadValuesAreErrorsAndSecretsAreNotEchoed) {
    Settings s;
    Config c = MakeConfig(s);
    const char* argv[] = {"svc", "--workers", "100"};
    auto r = c.Parse(3, argv, FakeEnv({{"FLOWEX_INTERNAL_TOKEN", "s3cret"}}));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("between 1 and 64"), std::string::npos);
    EXPECT_EQ(c.Usage().find("s3cret"), std::string::npos);

    Settings s2;
    s2.token = "default-s3cret";
    Config c2("svc", "x");
    c2.String("token", "T", &s2.token, "a secret").Secret();
    EXPECT_EQ(c2.Usage().find("default-s3cret"), std::string::npos);
    EXPECT_NE(c2.Usage().find("secret]"), std::string::npos);
}

TEST(Config, UnknownFlagAndHelp) {
    Settings s;
    Config c = MakeConfig(s);
    const char* bad[] = {"svc", "--nope"};
    EXPECT_FALSE(c.Parse(2, bad, FakeEnv({})).ok());
    const char* help[] = {"svc", "--help"};
    auto r = c.Parse(2, help, FakeEnv({}));
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(*r);
    EXPECT_NE(c.Usage().find("--listen VALUE"), std::string::npos);
    EXPECT_NE(c.Usage().find("FLOWEX_LISTEN"), std::string::npos);
}

TEST(Config, DurationsAndSizes) {
    EXPECT_EQ(ParseDuration("1.2s").value(), std::chrono::milliseconds(1200));
    EXPECT_EQ(ParseDuration("100ms").value(), std::chrono::milliseconds(100));
    EXPECT_EQ(ParseDuration("7d").value(), std::chrono::hours(168));
    EXPECT_EQ(ParseDuration("5").value(), std::chrono::seconds(5));
    EXPECT_FALSE(ParseDuration("5 parsecs").ok());
    EXPECT_FALSE(ParseDuration("-1s").ok());
    EXPECT_EQ(ParseByteSize("64KiB").value(), 65536);
    EXPECT_EQ(ParseByteSize("1GB").value(), 1000000000);
    EXPECT_FALSE(ParseByteSize("lots").ok());
}

TEST(HostPort, ParsesAndRejects) {
    EXPECT_EQ(HostPort::Parse("127.0.0.1:0").value().port, 0);
    EXPECT_EQ(HostPort::Parse("[::1]:80").value().host, "::1");
    EXPECT_FALSE(HostPort::Parse("localhost").ok());
    EXPECT_FALSE(HostPort::Parse("h:99999").ok());
    EXPECT_FALSE(HostPort::Parse(":80").ok());
}

}  // namespace
}  // namespace flowex::common
