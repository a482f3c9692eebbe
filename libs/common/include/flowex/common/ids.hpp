#pragma once
/// Identifier generation. Services take an `IdGenerator&` so tests can inject a
/// deterministic one.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace flowex::common {

class IdGenerator {
public:
    virtual ~IdGenerator() = default;
    /// A new UUID string ("xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx"). Thread-safe.
    virtual std::string NewUuid() = 0;
};

/// UUIDv7 (RFC 9562): 48-bit Unix milliseconds then random bits, so ids sort by creation
/// time (good for B-tree indexes). Random bits come from a per-thread generator seeded
/// from the OS. Thread-safe.
IdGenerator& DefaultIdGenerator() noexcept;

/// Deterministic ids for tests: 00000000-0000-4000-8000-000000000001, …002, … Thread-safe.
class SequentialIdGenerator final : public IdGenerator {
public:
    std::string NewUuid() override;

private:
    std::atomic<std::uint64_t> next_{1};
};

/// True for the canonical 8-4-4-4-12 lowercase or uppercase hex form.
bool IsUuid(std::string_view s) noexcept;

/// 64 random bits from a fast per-thread generator (not for secrets; use libsodium there).
std::uint64_t RandomU64() noexcept;

/// Lowercase hex of raw bytes.
std::string ToHex(const std::uint8_t* data, std::size_t n);
/// The same, appended to `out` (no temporary string).
void AppendHex(std::string& out, const std::uint8_t* data, std::size_t n);

}  // namespace flowex::common
