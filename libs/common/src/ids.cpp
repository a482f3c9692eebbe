#include "flowex/common/ids.hpp"

#include <chrono>
#include <cstdio>
#include <random>

namespace flowex::common {
namespace {

// splitmix64-seeded xoshiro256** per thread: fast, good enough for ids (not secrets).
struct Xoshiro {
    std::uint64_t s[4];
    Xoshiro() {
        std::random_device rd;
        std::uint64_t seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
        for (auto& w : s) {
            seed += 0x9e3779b97f4a7c15ULL;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            w = z ^ (z >> 31);
        }
    }
    static std::uint64_t Rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t Next() {
        const std::uint64_t result = Rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = Rotl(s[3], 45);
        return result;
    }
};

std::string FormatUuid(std::uint64_t hi, std::uint64_t lo) {
    char buf[37];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                  static_cast<unsigned>(hi >> 32), static_cast<unsigned>((hi >> 16) & 0xFFFF),
                  static_cast<unsigned>(hi & 0xFFFF), static_cast<unsigned>(lo >> 48),
                  static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
    return buf;
}

class UuidV7Generator final : public IdGenerator {
public:
    std::string NewUuid() override {
        auto ms = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count());
        std::uint64_t r1 = RandomU64();
        std::uint64_t r2 = RandomU64();
        std::uint64_t hi = (ms << 16) | 0x7000 | (r1 & 0x0FFF);
        std::uint64_t lo = (r2 & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
        return FormatUuid(hi, lo);
    }
};

}  // namespace

std::uint64_t RandomU64() noexcept {
    thread_local Xoshiro rng;
    return rng.Next();
}

IdGenerator& DefaultIdGenerator() noexcept {
    static UuidV7Generator gen;
    return gen;
}

std::string SequentialIdGenerator::NewUuid() {
    std::uint64_t n = next_.fetch_add(1);
    return FormatUuid(0x4000, 0x8000000000000000ULL | n);
}

bool IsUuid(std::string_view s) noexcept {
    if (s.size() != 36) { return false; }
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') { return false; }
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                     (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

void AppendHex(std::string& out, const std::uint8_t* data, std::size_t n) {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::size_t at = out.size();
    out.resize(at + 2 * n);  // one capacity check, not one per character
    char* p = out.data() + at;
    for (std::size_t i = 0; i < n; ++i) {
        p[2 * i] = kHex[data[i] >> 4];
        p[2 * i + 1] = kHex[data[i] & 0xF];
    }
}

std::string ToHex(const std::uint8_t* data, std::size_t n) {
    std::string out;
    out.reserve(n * 2);
    AppendHex(out, data, n);
    return out;
}

}  // namespace flowex::common
