#pragma once
/// Password hashing and access tokens for user-service.
///
/// Passwords: Argon2id through libsodium at OWASP's minimum or above (19 MiB, t = 2, one
/// lane), encoded with its parameters so they can be raised later. Hashing takes tens of
/// milliseconds of CPU: call it on a worker pool, never on an event-loop thread.
/// Tokens: 256 random bits, shown to the client once as 43 base64url characters; only
/// their SHA-256 is stored, so a database leak reveals no usable token.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "flowex/common/result.hpp"

namespace flowex::users {

struct PasswordHashParams {
    std::uint64_t ops_limit = 2;                  // passes (t)
    std::size_t mem_limit_bytes = 19u << 20;      // 19 MiB (m)
};

/// Initialises libsodium; idempotent and thread-safe. Fails only if the OS has no entropy.
common::Status InitCrypto();

/// Argon2id-hashes `password` (encoded string "$argon2id$v=19$m=19456,t=2,p=1$…").
common::Result<std::string> HashPassword(std::string_view password,
                                         const PasswordHashParams& params = {});
/// Constant-time verification against an encoded hash; false on mismatch or a malformed hash.
bool VerifyPassword(std::string_view password, const std::string& encoded_hash);

using TokenHash = std::array<std::uint8_t, 32>;

struct NewToken {
    std::string token;  // give to the client, never store or log
    TokenHash hash;     // store this
};
NewToken GenerateToken();
/// SHA-256 of the token's text; works on anything the client sends.
TokenHash HashToken(std::string_view token);
/// True when `token` has the shape GenerateToken produces (43 base64url characters).
bool LooksLikeToken(std::string_view token) noexcept;

}  // namespace flowex::users
