#include "credentials.hpp"

#include <sodium.h>

#include <mutex>

namespace flowex::users {

common::Status InitCrypto() {
    static const int rc = sodium_init();  // thread-safe static init; returns 1 if already done
    if (rc < 0) {
        return common::Error{common::ErrorCode::kInternal, "libsodium could not initialise"};
    }
    return common::Ok();
}

common::Result<std::string> HashPassword(std::string_view password,
                                         const PasswordHashParams& params) {
    if (auto st = InitCrypto(); !st) { return std::move(st).error(); }
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.ops_limit,
                              params.mem_limit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return common::Error{common::ErrorCode::kInternal, "password hashing ran out of memory"};
    }
    return std::string(out);
}

bool VerifyPassword(std::string_view password, const std::string& encoded_hash) {
    if (!InitCrypto()) { return false; }
    if (encoded_hash.size() >= crypto_pwhash_STRBYTES) { return false; }
    return crypto_pwhash_str_verify(encoded_hash.c_str(), password.data(), password.size()) == 0;
}

NewToken GenerateToken() {
    (void)InitCrypto();
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    char text[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(text, sizeof text, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    NewToken t;
    t.token = text;
    t.hash = HashToken(t.token);
    return t;
}

TokenHash HashToken(std::string_view token) {
    TokenHash h{};
    crypto_hash_sha256(h.data(), reinterpret_cast<const unsigned char*>(token.data()),
                       token.size());
    return h;
}

bool LooksLikeToken(std::string_view token) noexcept {
    if (token.size() != 43) { return false; }
    for (char c : token) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok) { return false; }
    }
    return true;
}

}  // namespace flowex::users
