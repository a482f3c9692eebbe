#include <gtest/gtest.h>

#include <set>

#include "credentials.hpp"

namespace flowex::users {
namespace {

TEST(Credentials, Argon2idHashVerifiesOnlyTheRightPassword) {
    auto h = HashPassword("correct horse battery");
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
    EXPECT_NE(h->find("m=19456,t=2"), std::string::npos);  // OWASP minimum: 19 MiB, 2 passes
    EXPECT_TRUE(VerifyPassword("correct horse battery", *h));
    EXPECT_FALSE(VerifyPassword("correct horse batterY", *h));
    EXPECT_EQ(h->find("correct"), std::string::npos);
}

TEST(Credentials, SamePasswordHashesDifferentlyEachTime) {
    EXPECT_NE(HashPassword("samepassword").value(), HashPassword("samepassword").value());
}

TEST(Credentials, MalformedHashNeverVerifies) {
    EXPECT_FALSE(VerifyPassword("x", "not-a-hash"));
    EXPECT_FALSE(VerifyPassword("x", ""));
}

TEST(Credentials, TokensAre256RandomBitsStoredOnlyAsHash) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) {
        NewToken t = GenerateToken();
        EXPECT_TRUE(LooksLikeToken(t.token)) << t.token;
        EXPECT_EQ(t.hash, HashToken(t.token));
        EXPECT_TRUE(seen.insert(t.token).second);
    }
    EXPECT_FALSE(LooksLikeToken("short"));
    EXPECT_FALSE(LooksLikeToken(std::string(43, '+')));
}

}  // namespace
}  // namespace flowex::users
