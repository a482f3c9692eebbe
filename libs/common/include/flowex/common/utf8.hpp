#pragma once
/// Well-formed UTF-8 (RFC 3629) for text that leaves the process: JSON strings and protobuf
/// `string` fields must be valid UTF-8 (a Go OTLP receiver rejects a whole batch otherwise), yet
/// bytes from clients (a User-Agent, a path, an error message quoting input) may be anything.
/// Each byte that does not start a well-formed sequence becomes U+FFFD, as Go's decoder reads
/// it; valid text is left alone, and the ASCII fast path checks 8 bytes at a time.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace flowex::common {

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";

/// The length (2-4) of the well-formed multi-byte sequence at s[i] (s[i] >= 0x80), or 0 when
/// the bytes there are not one (a stray continuation byte, an overlong form, a surrogate, a
/// code point above U+10FFFF, or a truncated sequence).
inline std::size_t Utf8SequenceAt(std::string_view s, std::size_t i) noexcept {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    const unsigned char c = b(0);
    if (c >= 0xC2 && c <= 0xDF) { return cont(1) ? 2 : 0; }
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) { return 0; }
        if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) { return 0; }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) { return 0; }
        if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F)) { return 0; }
        return 4;
    }
    return 0;
}

/// The index of the first byte >= 0x80 at or after `from`, or s.size().
inline std::size_t FindNonAscii(std::string_view s, std::size_t from = 0) noexcept {
    std::size_t i = from;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        if ((w & 0x8080808080808080ULL) != 0) { break; }
    }
    while (i < s.size() && static_cast<unsigned char>(s[i]) < 0x80) { ++i; }
    return i;
}

/// The bytes of `s` ORed together in the lanes of a 64-bit word (whole words, the last one
/// overlapping; short strings by overlapping 4-byte words or single bytes): a lane's bit 7 is
/// set if and only if some byte is >= 0x80. ORing the results of several strings checks them
/// all with one test.
inline std::uint64_t OrOfBytes(std::string_view s) noexcept {
    const auto load = [&](std::size_t at, auto word) {
        std::memcpy(&word, s.data() + at, sizeof word);
        return static_cast<std::uint64_t>(word);
    };
    const std::size_t n = s.size();
    std::uint64_t bits = 0;
    if (n >= 8) {
        for (std::size_t i = 0; i + 8 < n; i += 8) { bits |= load(i, std::uint64_t{}); }
        bits |= load(n - 8, std::uint64_t{});
    } else if (n >= 4) {
        bits = load(0, std::uint32_t{}) | load(n - 4, std::uint32_t{});
    } else if (n > 0) {
        bits = static_cast<unsigned char>(s[0]) | static_cast<unsigned char>(s[n / 2]) |
               static_cast<unsigned char>(s[n - 1]);
    }
    return bits;
}

/// True when `bits` (ORs of OrOfBytes) show no byte >= 0x80.
inline bool AsciiBits(std::uint64_t bits) noexcept {
    return (bits & 0x8080808080808080ULL) == 0;
}

/// True when every byte of `s` is below 0x80 (ASCII, hence well-formed): the common case.
inline bool IsAscii(std::string_view s) noexcept {
    return AsciiBits(OrOfBytes(s));
}

/// The size of `s` once made well-formed (s.size() when it already is).
inline std::size_t ValidUtf8Size(std::string_view s) noexcept {
    if (IsAscii(s)) { return s.size(); }
    std::size_t size = s.size();
    for (std::size_t i = FindNonAscii(s); i < s.size(); i = FindNonAscii(s, i)) {
        const std::size_t n = Utf8SequenceAt(s, i);
        if (n == 0) {
            size += kUtf8Replacement.size() - 1;
            ++i;
        } else {
            i += n;
        }
    }
    return size;
}

/// Calls emit(piece) for consecutive pieces of `s` made well-formed: runs of `s` itself and
/// kUtf8Replacement in place of each byte that starts no well-formed sequence.
template <class Emit>
void ForEachValidUtf8Piece(std::string_view s, Emit&& emit) {
    if (IsAscii(s)) {
        if (!s.empty()) { emit(s); }
        return;
    }
    std::size_t run = 0;
    for (std::size_t i = FindNonAscii(s); i < s.size(); i = FindNonAscii(s, i)) {
        const std::size_t n = Utf8SequenceAt(s, i);
        if (n != 0) {
            i += n;
            continue;
        }
        if (i > run) { emit(s.substr(run, i - run)); }
        emit(kUtf8Replacement);
        run = ++i;
    }
    if (run < s.size()) { emit(s.substr(run)); }
}

/// Appends `s` made well-formed to `out`.
inline void AppendValidUtf8(std::string& out, std::string_view s) {
    ForEachValidUtf8Piece(s, [&](std::string_view piece) { out.append(piece); });
}

}  // namespace flowex::common
