#include "flowex/telemetry/api/context.hpp"

#include <algorithm>

namespace flowex::telemetry {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// -1 for anything but lowercase hex: W3C ids are lowercase only.
constexpr int HexValue(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

template <std::size_t N>
void BytesToHex(const std::array<std::uint8_t, N>& bytes, char* out) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
        out[2 * i] = kHexDigits[bytes[i] >> 4];
        out[2 * i + 1] = kHexDigits[bytes[i] & 0x0f];
    }
}

template <std::size_t N>
bool HexToBytes(std::string_view hex, std::array<std::uint8_t, N>& bytes) noexcept {
    if (hex.size() != 2 * N) {
        return false;
    }
    std::array<std::uint8_t, N> tmp{};
    for (std::size_t i = 0; i < N; ++i) {
        const int hi = HexValue(hex[2 * i]);
        const int lo = HexValue(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        tmp[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    bytes = tmp;
    return true;
}

template <std::size_t N>
bool AnyNonZero(const std::array<std::uint8_t, N>& bytes) noexcept {
    return std::any_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b != 0; });
}

thread_local Context t_current;

const Baggage kEmptyBaggage;

}  // namespace

bool TraceId::IsValid() const noexcept { return AnyNonZero(bytes); }
void TraceId::ToHex(char* out) const noexcept { BytesToHex(bytes, out); }
std::string TraceId::Hex() const {
    std::string s(32, '0');
    ToHex(s.data());
    return s;
}
bool TraceId::FromHex(std::string_view hex) noexcept { return HexToBytes(hex, bytes); }

bool SpanId::IsValid() const noexcept { return AnyNonZero(bytes); }
void SpanId::ToHex(char* out) const noexcept { BytesToHex(bytes, out); }
std::string SpanId::Hex() const {
    std::string s(16, '0');
    ToHex(s.data());
    return s;
}
bool SpanId::FromHex(std::string_view hex) noexcept { return HexToBytes(hex, bytes); }

const std::string* Baggage::Get(std::string_view key) const noexcept {
    for (const auto& e : entries_) {
        if (e.key == key) {
            return &e.value;
        }
    }
    return nullptr;
}

Baggage Baggage::With(std::string key, std::string value, std::string metadata) const {
    std::vector<Entry> entries = entries_;
    for (auto& e : entries) {
        if (e.key == key) {
            e.value = std::move(value);
            e.metadata = std::move(metadata);
            return Baggage(std::move(entries));
        }
    }
    entries.push_back(Entry{std::move(key), std::move(value), std::move(metadata)});
    return Baggage(std::move(entries));
}

const Baggage& Context::GetBaggage() const noexcept {
    return baggage_ ? *baggage_ : kEmptyBaggage;
}

const Context& Context::Current() noexcept { return t_current; }

ScopedContext::ScopedContext(Context ctx) noexcept : previous_(std::move(t_current)) {
    t_current = std::move(ctx);
}

ScopedContext::~ScopedContext() { t_current = std::move(previous_); }

void ClearCurrentContext() noexcept { t_current = Context(); }

void InstallCurrentContext(const Context& ctx) noexcept { t_current = ctx; }

}  // namespace flowex::telemetry
