#include "flowex/telemetry/sdk/span_data.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "flowex/common/utf8.hpp"
#include "span_record.hpp"

namespace flowex::telemetry::sdk {

namespace {

template <class Word>
inline Word Load(const char* p) noexcept {
    Word w;
    std::memcpy(&w, p, sizeof(w));
    return w;
}

// Copies n bytes, sizeof(Word) <= n <= 2 * sizeof(Word): the first and the last word (they may
// overlap).
template <class Word>
inline void CopyEnds(char* out, const char* in, std::size_t n) noexcept {
    const Word head = Load<Word>(in);
    const Word tail = Load<Word>(in + n - sizeof(Word));
    std::memcpy(out, &head, sizeof(Word));
    std::memcpy(out + n - sizeof(Word), &tail, sizeof(Word));
}

// Copies 0-16 bytes with a few fixed-size moves, inline.
inline void CopyShort(char* out, const char* in, std::size_t n) noexcept {
    if (n >= 8) {
        CopyEnds<std::uint64_t>(out, in, n);
    } else if (n >= 4) {
        CopyEnds<std::uint32_t>(out, in, n);
    } else if (n > 0) {
        out[0] = in[0];
        out[n / 2] = in[n / 2];
        out[n - 1] = in[n - 1];
    }
}

// a[0, n) == b[0, n), inline for up to 32 bytes (attribute keys): a few overlapping loads.
inline bool SameBytes(const char* a, const char* b, std::size_t n) noexcept {
    using U64 = std::uint64_t;
    using U32 = std::uint32_t;
    if (n >= 8) {
        if (n > 32) {
            return std::memcmp(a, b, n) == 0;
        }
        U64 diff = (Load<U64>(a) ^ Load<U64>(b)) | (Load<U64>(a + n - 8) ^ Load<U64>(b + n - 8));
        if (n > 16) {
            diff |= (Load<U64>(a + 8) ^ Load<U64>(b + 8)) |
                    (Load<U64>(a + n - 16) ^ Load<U64>(b + n - 16));
        }
        return diff == 0;
    }
    if (n >= 4) {
        return ((Load<U32>(a) ^ Load<U32>(b)) | (Load<U32>(a + n - 4) ^ Load<U32>(b + n - 4))) == 0;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

// Pooled records see the same names and values over and over: when the length matches, copy
// in place instead of std::string::assign's general (aliasing-safe) replace. A short text is
// just copied (inline, as cheap as comparing it); a long one, in its own heap buffer, is first
// compared, so that an unchanged buffer is not written.
void AssignReusing(std::string& out, std::string_view s) noexcept {
    if (out.size() == s.size()) {
        if (s.size() <= 16) {
            CopyShort(out.data(), s.data(), s.size());
        } else if (std::memcmp(out.data(), s.data(), s.size()) != 0) {
            std::memcpy(out.data(), s.data(), s.size());
        }
        return;
    }
    out.assign(s.data(), s.size());
}

namespace {

// The intern table: append-only, never freed (keys are referenced from any record, on any
// thread, at any time). Texts live in chunks that never move.
struct InternTable {
    static constexpr std::size_t kChunkSize = 16 * 1024;
    std::mutex mutex;
    std::unordered_set<std::string_view> keys;
    std::vector<std::unique_ptr<char[]>> chunks;
    std::size_t chunk_used = kChunkSize;
};

InternTable& Table() {
    static auto* table = new InternTable();  // leaked on purpose: outlives every thread
    return *table;
}

// Each thread remembers recent keys by the address of the caller's text (a string literal at a
// call site, usually), so the common case is one compare against text already in cache. Two
// ways per set: keys whose addresses collide would otherwise evict each other on every span.
struct InternCacheEntry {
    const char* text = nullptr;
    std::size_t size = 0;
    const char* interned = nullptr;

    bool Holds(std::string_view t) const noexcept {
        // The text at an address may have changed since (a reused buffer): compare it.
        return text == t.data() && size == t.size() && interned != nullptr &&
               SameBytes(interned, t.data(), t.size());
    }
};
constexpr int kInternCacheSetBits = 7;
using InternCacheSet = InternCacheEntry[2];  // [0] the most recently used
thread_local InternCacheSet t_intern_cache[1 << kInternCacheSetBits];  // trivial: no TLS guard

InternCacheSet& CacheSetFor(std::string_view text) noexcept {
    const auto address = reinterpret_cast<std::uintptr_t>(text.data()) ^ text.size();
    return t_intern_cache[(address * 0x9E3779B97F4A7C15ULL) >> (64 - kInternCacheSetBits)];
}

[[gnu::noinline]] const char* InternSlow(std::string_view text, InternCacheSet& set) noexcept {
    // Only ASCII keys are interned, so that an exporter need not check an interned key's text
    // for well-formed UTF-8 (AttributeKey::owned()).
    if (text.size() > AttributeKey::kMaxInternedKeySize || !common::IsAscii(text)) {
        return nullptr;
    }
    const char* interned = nullptr;
    try {
        auto& table = Table();
        std::lock_guard lock(table.mutex);
        if (const auto it = table.keys.find(text); it != table.keys.end()) {
            interned = it->data();
        } else if (table.keys.size() < AttributeKey::kMaxInternedKeys) {
            if (table.chunk_used + text.size() + 1 > InternTable::kChunkSize) {
                table.chunks.push_back(std::make_unique<char[]>(InternTable::kChunkSize));
                table.chunk_used = 0;
            }
            char* copy = table.chunks.back().get() + table.chunk_used;
            std::memcpy(copy, text.data(), text.size());
            copy[text.size()] = '\0';
            table.chunk_used += text.size() + 1;
            table.keys.emplace(copy, text.size());
            interned = copy;
        }
    } catch (...) {
        return nullptr;  // out of memory: the key owns a copy instead
    }
    if (interned != nullptr) {
        set[1] = set[0];
        set[0] = {text.data(), text.size(), interned};
    }
    return interned;
}

std::string_view Truncate(std::string_view s, std::size_t max_length) noexcept {
    if (max_length == 0 || s.size() <= max_length) {
        return s;
    }
    std::size_t n = max_length;
    // Never cut a UTF-8 sequence in half: back up over continuation bytes.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
        --n;
    }
    return s.substr(0, n);
}

}  // namespace

void AssignValue(OwnedValue& out, const AttributeValue& value, std::size_t max_length) noexcept {
    switch (value.Type()) {
        case AttributeType::kBool:
            out = value.AsBool();
            return;
        case AttributeType::kInt64:
            out = value.AsInt64();
            return;
        case AttributeType::kDouble:
            out = value.AsDouble();
            return;
        case AttributeType::kString: {
            const std::string_view s = Truncate(value.AsString(), max_length);
            if (auto* existing = std::get_if<std::string>(&out)) {
                AssignReusing(*existing, s);  // keeps the pooled capacity
            } else {
                out.emplace<std::string>(s);
            }
            return;
        }
        case AttributeType::kBoolArray: {
            const auto a = value.AsBoolArray();
            out.emplace<std::vector<bool>>(a.begin(), a.end());
            return;
        }
        case AttributeType::kInt64Array: {
            const auto a = value.AsInt64Array();
            out.emplace<std::vector<std::int64_t>>(a.begin(), a.end());
            return;
        }
        case AttributeType::kDoubleArray: {
            const auto a = value.AsDoubleArray();
            out.emplace<std::vector<double>>(a.begin(), a.end());
            return;
        }
        case AttributeType::kStringArray: {
            std::vector<std::string> v;
            v.reserve(value.AsStringArray().size());
            for (std::string_view s : value.AsStringArray()) {
                v.emplace_back(Truncate(s, max_length));
            }
            out = std::move(v);
            return;
        }
    }
}

const char* AttributeKey::Intern(std::string_view text) noexcept {
    InternCacheSet& set = CacheSetFor(text);
    if (set[0].Holds(text)) {
        return set[0].interned;
    }
    if (set[1].Holds(text)) {
        std::swap(set[0], set[1]);
        return set[0].interned;
    }
    return InternSlow(text, set);
}

void AttributeKey::Assign(std::string_view text, const char* interned) {
    if (interned != nullptr) {
        Release();
        data_ = interned;
        size_ = static_cast<std::uint32_t>(text.size());
        owned_ = false;
        return;
    }
    auto copy = std::make_unique<char[]>(text.size() + 1);
    std::memcpy(copy.get(), text.data(), text.size());
    Release();
    data_ = copy.release();
    size_ = static_cast<std::uint32_t>(text.size());
    owned_ = true;
}

bool AttributeList::Set(std::string_view key, const AttributeValue& value,
                        std::size_t count_limit, std::size_t value_length_limit) noexcept {
    const char* interned = AttributeKey::Intern(key);
    for (std::size_t i = 0; i < size_; ++i) {
        if (items_[i].key.SameAs(key, interned)) {
            AssignValue(items_[i].value, value, value_length_limit);
            return true;
        }
    }
    if (size_ >= count_limit) {
        return false;
    }
    if (size_ == items_.size()) {
        items_.emplace_back();
    }
    OwnedAttribute& slot = items_[size_];
    try {
        slot.key.Assign(key, interned);
    } catch (...) {
        return false;  // out of memory for an uninterned key: dropped like one over the limit
    }
    AssignValue(slot.value, value, value_length_limit);
    ++size_;
    return true;
}

const OwnedValue* AttributeList::Find(std::string_view key) const noexcept {
    for (const auto& a : *this) {
        if (a.key == key) {
            return &a.value;
        }
    }
    return nullptr;
}

std::string_view Resource::GetString(std::string_view key) const noexcept {
    const OwnedValue* v = attributes.Find(key);
    if (v == nullptr) {
        return {};
    }
    if (const auto* s = std::get_if<std::string>(v)) {
        return *s;
    }
    return {};
}

}  // namespace flowex::telemetry::sdk
