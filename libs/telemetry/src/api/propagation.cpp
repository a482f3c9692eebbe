#include "flowex/telemetry/api/propagation.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <mutex>

namespace flowex::telemetry {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

constexpr bool IsLowerHex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// Lowercase hex digit values; -1 for everything else (W3C ids are lowercase only).
constexpr auto kHexTable = [] {
    std::array<int, 256> t{};
    for (auto& x : t) {
        x = -1;
    }
    for (int c = '0'; c <= '9'; ++c) {
        t[static_cast<std::size_t>(c)] = c - '0';
    }
    for (int c = 'a'; c <= 'f'; ++c) {
        t[static_cast<std::size_t>(c)] = c - 'a' + 10;
    }
    return t;
}();

constexpr int HexValue(char c) noexcept {
    return c <= '9' ? c - '0' : c - 'a' + 10;
}

std::string_view TrimOws(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// W3C tracestate key: simple-key or tenant-id@system-id.
bool IsKeyChar(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '*' || c == '/';
}

bool IsValidTracestateKey(std::string_view key) noexcept {
    if (key.empty() || key.size() > 256) {
        return false;
    }
    const auto at = key.find('@');
    if (at == std::string_view::npos) {
        if (!((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= '0' && key[0] <= '9'))) {
            return false;
        }
        for (char c : key) {
            if (!IsKeyChar(c)) {
                return false;
            }
        }
        return true;
    }
    const std::string_view tenant = key.substr(0, at);
    const std::string_view system = key.substr(at + 1);
    if (tenant.empty() || tenant.size() > 241 || system.empty() || system.size() > 14) {
        return false;
    }
    if (!((tenant[0] >= 'a' && tenant[0] <= 'z') || (tenant[0] >= '0' && tenant[0] <= '9'))) {
        return false;
    }
    if (!(system[0] >= 'a' && system[0] <= 'z')) {
        return false;
    }
    for (char c : tenant) {
        if (!IsKeyChar(c)) {
            return false;
        }
    }
    for (char c : system) {
        if (!IsKeyChar(c)) {
            return false;
        }
    }
    return true;
}

bool IsValidTracestateValue(std::string_view value) noexcept {
    if (value.empty() || value.size() > 256 || value.back() == ' ') {
        return false;
    }
    for (char c : value) {
        if (c < 0x20 || c > 0x7e || c == ',' || c == '=') {
            return false;
        }
    }
    return true;
}

// baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E
bool IsBaggageOctet(unsigned char c) noexcept {
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a) ||
           (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

bool IsTokenChar(unsigned char c) noexcept {
    if (c <= 0x20 || c >= 0x7f) {
        return false;
    }
    switch (c) {
        case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
        case '\\': case '"': case '/': case '[': case ']': case '?': case '=': case '{':
        case '}':
            return false;
        default:
            return true;
    }
}

std::string PercentDecode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '%' && i + 2 < in.size() &&
            IsLowerHex(static_cast<char>(in[i + 1] | 0x20)) &&
            IsLowerHex(static_cast<char>(in[i + 2] | 0x20))) {
            const int hi = HexValue(static_cast<char>(in[i + 1] | 0x20));
            const int lo = HexValue(static_cast<char>(in[i + 2] | 0x20));
            out.push_back(static_cast<char>((hi << 4) | lo));
            i += 2;
        } else {
            out.push_back(in[i]);
        }
    }
    return out;
}

/// True when every '%' in `in` starts a two-hex-digit escape.
bool WellFormedEscapes(std::string_view in) noexcept {
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') { continue; }
        if (i + 2 >= in.size() || !IsLowerHex(static_cast<char>(in[i + 1] | 0x20)) ||
            !IsLowerHex(static_cast<char>(in[i + 2] | 0x20))) {
            return false;
        }
        i += 2;
    }
    return true;
}

void PercentEncode(std::string_view in, std::string& out) {
    for (char ch : in) {
        const auto c = static_cast<unsigned char>(ch);
        if (IsBaggageOctet(c) && c != '%') {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back("0123456789ABCDEF"[c >> 4]);
            out.push_back("0123456789ABCDEF"[c & 0x0f]);
        }
    }
}

}  // namespace

std::optional<SpanContext> ParseTraceparent(std::string_view value) noexcept {
    value = TrimOws(value);
    if (value.size() < kTraceparentLength) {
        return std::nullopt;
    }
    const char* p = value.data();
    const int v_hi = kHexTable[static_cast<unsigned char>(p[0])];
    const int v_lo = kHexTable[static_cast<unsigned char>(p[1])];
    if ((v_hi | v_lo) < 0) {
        return std::nullopt;
    }
    const int version = v_hi * 16 + v_lo;
    if (version == 0xff) {
        return std::nullopt;
    }
    if (version == 0 && value.size() != kTraceparentLength) {
        return std::nullopt;
    }
    // A future version may append fields, always after a '-'.
    if (version > 0 && value.size() > kTraceparentLength && p[kTraceparentLength] != '-') {
        return std::nullopt;
    }
    if (p[2] != '-' || p[35] != '-' || p[52] != '-') {
        return std::nullopt;
    }
    TraceId trace_id;
    SpanId span_id;
    // Table lookups; any invalid (negative) digit poisons `bad` (no early branches).
    int bad = 0;
    std::uint8_t any = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        const int hi = kHexTable[static_cast<unsigned char>(p[3 + 2 * i])];
        const int lo = kHexTable[static_cast<unsigned char>(p[4 + 2 * i])];
        bad |= hi | lo;
        trace_id.bytes[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0x0f));
        any |= trace_id.bytes[i];
    }
    std::uint8_t any_span = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        const int hi = kHexTable[static_cast<unsigned char>(p[36 + 2 * i])];
        const int lo = kHexTable[static_cast<unsigned char>(p[37 + 2 * i])];
        bad |= hi | lo;
        span_id.bytes[i] = static_cast<std::uint8_t>((hi << 4) | (lo & 0x0f));
        any_span |= span_id.bytes[i];
    }
    const int f_hi = kHexTable[static_cast<unsigned char>(p[53])];
    const int f_lo = kHexTable[static_cast<unsigned char>(p[54])];
    bad |= f_hi | f_lo;
    if (bad < 0 || any == 0 || any_span == 0) {
        return std::nullopt;
    }
    const auto flags = static_cast<std::uint8_t>((f_hi << 4) | f_lo);
    return SpanContext(trace_id, span_id, TraceFlags{flags}, /*remote=*/true);
}

void FormatTraceparent(const SpanContext& context, char (&out)[kTraceparentLength]) noexcept {
    out[0] = '0';
    out[1] = '0';
    out[2] = '-';
    context.GetTraceId().ToHex(out + 3);
    out[35] = '-';
    context.GetSpanId().ToHex(out + 36);
    out[52] = '-';
    const std::uint8_t flags = context.GetTraceFlags().value;
    out[53] = kHexDigits[flags >> 4];
    out[54] = kHexDigits[flags & 0x0f];
}

bool IsValidTracestate(std::string_view value) noexcept {
    std::string_view keys[32];
    std::size_t count = 0;
    while (true) {
        const auto comma = value.find(',');
        const std::string_view member = TrimOws(value.substr(0, comma));
        if (!member.empty()) {
            const auto eq = member.find('=');
            if (eq == std::string_view::npos || count == 32) {
                return false;
            }
            const std::string_view key = member.substr(0, eq);
            if (!IsValidTracestateKey(key) || !IsValidTracestateValue(member.substr(eq + 1))) {
                return false;
            }
            for (std::size_t i = 0; i < count; ++i) {
                if (keys[i] == key) {
                    return false;
                }
            }
            keys[count++] = key;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return true;
}

Baggage ParseBaggage(std::string_view value) {
    std::vector<Baggage::Entry> entries;
    std::size_t bytes = 0;
    while (!value.empty() && entries.size() < Baggage::kMaxMembers) {
        const auto comma = value.find(',');
        const std::string_view raw = value.substr(0, comma);
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        const std::string_view member = TrimOws(raw);
        bytes += raw.size() + 1;
        if (bytes > Baggage::kMaxBytes + 1) {
            break;
        }
        if (member.empty()) {
            continue;
        }
        const auto semi = member.find(';');
        const std::string_view kv = member.substr(0, semi);
        const auto eq = kv.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        const std::string_view key = TrimOws(kv.substr(0, eq));
        const std::string_view val = TrimOws(kv.substr(eq + 1));
        bool ok = !key.empty();
        for (char c : key) {
            ok = ok && IsTokenChar(static_cast<unsigned char>(c));
        }
        for (char c : val) {
            ok = ok && (IsBaggageOctet(static_cast<unsigned char>(c)));
        }
        // '%' only as the start of an escape: a raw one would be re-sent as "%25", so what
        // came in near the 8192-byte limit would no longer fit going out.
        ok = ok && WellFormedEscapes(val);
        if (!ok) {
            continue;
        }
        std::string metadata;
        if (semi != std::string_view::npos) {
            metadata = std::string(TrimOws(member.substr(semi + 1)));
        }
        bool replaced = false;
        std::string decoded = PercentDecode(val);
        for (auto& e : entries) {
            if (e.key == key) {
                e.value = std::move(decoded);
                e.metadata = std::move(metadata);
                replaced = true;
                break;
            }
        }
        if (!replaced) {
            entries.push_back(Baggage::Entry{std::string(key), std::move(decoded),
                                             std::move(metadata)});
        }
    }
    return Baggage(std::move(entries));
}

std::string FormatBaggage(const Baggage& baggage) {
    std::string out;
    std::string member;
    std::size_t count = 0;
    for (const auto& e : baggage.Entries()) {
        if (count == Baggage::kMaxMembers) {
            break;
        }
        member.clear();
        member.append(e.key);
        member.push_back('=');
        PercentEncode(e.value, member);
        if (!e.metadata.empty()) {
            member.push_back(';');
            member.append(e.metadata);
        }
        const std::size_t needed = member.size() + (out.empty() ? 0 : 1);
        if (out.size() + needed > Baggage::kMaxBytes) {
            continue;  // a smaller member later may still fit
        }
        if (!out.empty()) {
            out.push_back(',');
        }
        out.append(member);
        ++count;
    }
    return out;
}

Context TraceContextPropagator::Extract(const TextMapCarrier& carrier,
                                        const Context& base) const noexcept {
    auto parsed = ParseTraceparent(carrier.Get(kTraceparentHeader));
    if (!parsed) {
        return base;
    }
    const std::string_view state = TrimOws(carrier.Get(kTracestateHeader));
    if (!state.empty() && IsValidTracestate(state)) {
        parsed = SpanContext(parsed->GetTraceId(), parsed->GetSpanId(), parsed->GetTraceFlags(),
                             true, std::make_shared<const std::string>(state));
    }
    return base.WithSpanContext(std::move(*parsed));
}

void TraceContextPropagator::Inject(const Context& context,
                                    TextMapCarrier& carrier) const noexcept {
    const SpanContext& span = context.GetSpanContext();
    if (!span.IsValid()) {
        return;
    }
    char buf[kTraceparentLength];
    FormatTraceparent(span, buf);
    carrier.Set(kTraceparentHeader, std::string_view(buf, kTraceparentLength));
    if (!span.GetTraceState().empty()) {
        carrier.Set(kTracestateHeader, span.GetTraceState());
    }
}

Context BaggagePropagator::Extract(const TextMapCarrier& carrier,
                                   const Context& base) const noexcept {
    const std::string_view header = carrier.Get(kBaggageHeader);
    if (header.empty()) {
        return base;
    }
    Baggage baggage = ParseBaggage(header);
    if (baggage.Empty()) {
        return base;
    }
    return base.WithBaggage(std::make_shared<const Baggage>(std::move(baggage)));
}

void BaggagePropagator::Inject(const Context& context, TextMapCarrier& carrier) const noexcept {
    if (context.GetBaggage().Empty()) {
        return;
    }
    const std::string header = FormatBaggage(context.GetBaggage());
    if (!header.empty()) {
        carrier.Set(kBaggageHeader, header);
    }
}

Context CompositePropagator::Extract(const TextMapCarrier& carrier,
                                     const Context& base) const noexcept {
    Context ctx = base;
    for (const auto& p : parts_) {
        ctx = p->Extract(carrier, ctx);
    }
    return ctx;
}

void CompositePropagator::Inject(const Context& context, TextMapCarrier& carrier) const noexcept {
    for (const auto& p : parts_) {
        p->Inject(context, carrier);
    }
}

std::unique_ptr<CompositePropagator> MakePropagator(std::string_view otel_propagators) {
    otel_propagators = TrimOws(otel_propagators);
    if (otel_propagators.empty()) {
        otel_propagators = "tracecontext,baggage";
    }
    std::vector<std::unique_ptr<TextMapPropagator>> parts;
    while (true) {
        const auto comma = otel_propagators.find(',');
        const std::string_view name = TrimOws(otel_propagators.substr(0, comma));
        if (name == "none") {
            return std::make_unique<CompositePropagator>(
                std::vector<std::unique_ptr<TextMapPropagator>>{});
        }
        if (name == "tracecontext") {
            parts.push_back(std::make_unique<TraceContextPropagator>());
        } else if (name == "baggage") {
            parts.push_back(std::make_unique<BaggagePropagator>());
        } else if (!name.empty()) {
            spdlog::warn(
                "telemetry: OTEL_PROPAGATORS names '{}', which this SDK does not have "
                "(tracecontext, baggage, none); ignored",
                name);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        otel_propagators.remove_prefix(comma + 1);
    }
    return std::make_unique<CompositePropagator>(std::move(parts));
}

namespace {
struct GlobalPropagatorState {
    std::mutex mutex;
    // Replaced propagators stay alive: callers may hold a reference from GlobalPropagator().
    std::vector<std::shared_ptr<const TextMapPropagator>> all;
    std::atomic<const TextMapPropagator*> current{nullptr};
};
GlobalPropagatorState& PropagatorState() {
    static auto* state = [] {
        auto* s = new GlobalPropagatorState();
        std::shared_ptr<const TextMapPropagator> p = MakePropagator("");
        s->current.store(p.get());
        s->all.push_back(std::move(p));
        return s;
    }();
    return *state;
}
}  // namespace

const TextMapPropagator& GlobalPropagator() noexcept {
    return *PropagatorState().current.load(std::memory_order_acquire);
}

void SetGlobalPropagator(std::shared_ptr<const TextMapPropagator> propagator) noexcept {
    if (!propagator) {
        return;
    }
    auto& state = PropagatorState();
    std::lock_guard lock(state.mutex);
    state.current.store(propagator.get(), std::memory_order_release);
    state.all.push_back(std::move(propagator));
}

}  // namespace flowex::telemetry
