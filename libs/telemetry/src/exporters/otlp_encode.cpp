#include "flowex/telemetry/exporters/otlp_encode.hpp"

#include <zlib.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include "flowex/common/utf8.hpp"

namespace flowex::telemetry::exporters {
namespace {

static_assert(std::endian::native == std::endian::little, "fixed64 is written as host bytes");

using sdk::AttributeList;
using sdk::OwnedAttribute;
using sdk::OwnedValue;

// ---- protobuf primitives -------------------------------------------------------------------

constexpr std::size_t VarintSize(std::uint64_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

// A length-delimited field with a one-byte tag.
constexpr std::size_t LenField(std::size_t n) noexcept { return 1 + VarintSize(n) + n; }

// ---- well-formed UTF-8 ----------------------------------------------------------------------
// Protobuf's `string` fields must hold well-formed UTF-8: a receiver that checks (the official
// classes, any Go collector) refuses the whole request otherwise. Bytes from outside the
// process (a client's User-Agent, a path) can be anything, so a byte that starts no UTF-8
// sequence is written as U+FFFD. Checking every string as it is sized and written would cost
// the encoder much of its speed; instead each item (span, log record, resource, scope) is
// checked once, all its strings at a time (AsciiCheck), and only an item holding a byte >= 0x80
// is sized and written string by string through the checking path (t_ascii false).

thread_local bool t_ascii = true;  // the item being encoded has only ASCII strings

// The checking path, out of line so that the ASCII path stays small enough to inline.
[[gnu::noinline]] std::size_t CheckedSize(std::string_view s) noexcept {
    return common::ValidUtf8Size(s);
}

// The size of a `string` field's payload as Writer::Str writes it.
inline std::size_t StrSize(std::string_view s) noexcept {
    return t_ascii ? s.size() : CheckedSize(s);
}

struct Writer {
    char* p;

    void Byte(std::uint8_t b) noexcept { *p++ = static_cast<char>(b); }
    void Varint(std::uint64_t v) noexcept {
        while (v >= 0x80) {
            *p++ = static_cast<char>(v | 0x80);
            v >>= 7;
        }
        *p++ = static_cast<char>(v);
    }
    void Fixed64(std::uint64_t v) noexcept {
        std::memcpy(p, &v, 8);
        p += 8;
    }
    void Fixed32(std::uint32_t v) noexcept {
        std::memcpy(p, &v, 4);
        p += 4;
    }
    void Raw(const void* d, std::size_t n) noexcept {
        std::memcpy(p, d, n);
        p += n;
    }
    void Len(std::uint8_t tag, std::size_t n) noexcept {
        Byte(tag);
        Varint(n);
    }
    void Str(std::uint8_t tag, std::string_view s) noexcept {
        if (!t_ascii) {
            StrChecked(tag, s);
            return;
        }
        Len(tag, s.size());
        Raw(s.data(), s.size());
    }
    [[gnu::noinline]] void StrChecked(std::uint8_t tag, std::string_view s) noexcept {
        Len(tag, common::ValidUtf8Size(s));
        common::ForEachValidUtf8Piece(
            s, [this](std::string_view piece) { Raw(piece.data(), piece.size()); });
    }
};

// The size of a `string` field as Writer::Str writes it.
inline std::size_t StrField(std::string_view s) noexcept {
    return LenField(StrSize(s));
}

// ORs every byte of an item's strings into `bits` (bit 7 set: some byte is >= 0x80).
class AsciiCheck {
public:
    void Add(std::string_view s) noexcept { bits_ |= common::OrOfBytes(s); }
    void Add(const AttributeList& list) noexcept {
        for (const OwnedAttribute& a : list) {
            if (a.key.owned()) { Add(a.key.view()); }  // interned keys are ASCII
            if (const auto* v = std::get_if<std::string>(&a.value)) {
                Add(*v);
            } else if (const auto* vs = std::get_if<std::vector<std::string>>(&a.value)) {
                for (const std::string& e : *vs) { Add(e); }
            }
        }
    }
    bool ascii() const noexcept { return common::AsciiBits(bits_); }

private:
    std::uint64_t bits_ = 0;
};

// ---- AnyValue / KeyValue --------------------------------------------------------------------
// AnyValue: 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue{1 repeated AnyValue}.

std::size_t AnyValueSize(const OwnedValue& v) noexcept;

template <class T>
std::size_t ScalarAnySize(const T& x) noexcept {
    if constexpr (std::is_same_v<T, bool>) {
        return 2;
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        return 1 + VarintSize(static_cast<std::uint64_t>(x));
    } else if constexpr (std::is_same_v<T, double>) {
        return 9;
    } else {
        return StrField(x);
    }
}

template <class T>
void WriteScalarAny(Writer& w, const T& x) noexcept {
    if constexpr (std::is_same_v<T, bool>) {
        w.Byte(0x10);
        w.Byte(x ? 1 : 0);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        w.Byte(0x18);
        w.Varint(static_cast<std::uint64_t>(x));
    } else if constexpr (std::is_same_v<T, double>) {
        w.Byte(0x21);
        w.Fixed64(std::bit_cast<std::uint64_t>(x));
    } else {
        w.Str(0x0A, x);
    }
}

template <class Vec>
std::size_t ArrayBodySize(const Vec& v) noexcept {
    std::size_t n = 0;
    for (const auto& x : v) {
        using T = std::conditional_t<std::is_same_v<Vec, std::vector<bool>>, bool,
                                     typename Vec::value_type>;
        n += LenField(ScalarAnySize<T>(x));
    }
    return n;
}

// The scalar cases (almost every attribute) are tested first, inline: std::visit goes through
// a table of function pointers, and this runs twice per attribute (size pass, then write); it
// was the worker's largest entry in a profile of the traced echo server.
std::size_t AnyValueSize(const OwnedValue& v) noexcept {
    if (const auto* s = std::get_if<std::string>(&v)) { return StrField(*s); }
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return 1 + VarintSize(static_cast<std::uint64_t>(*i));
    }
    if (std::holds_alternative<double>(v)) {
        return 9;
    }
    if (std::holds_alternative<bool>(v)) {
        return 2;
    }
    return std::visit(
        [](const auto& x) -> std::size_t {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                          std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
                return ScalarAnySize<T>(x);
            } else {
                return LenField(ArrayBodySize(x));
            }
        },
        v);
}

void WriteAnyValue(Writer& w, const OwnedValue& v) noexcept {
    if (const auto* s = std::get_if<std::string>(&v)) {
        WriteScalarAny<std::string>(w, *s);
        return;
    }
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        WriteScalarAny<std::int64_t>(w, *i);
        return;
    }
    std::visit(
        [&w](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                          std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
                WriteScalarAny<T>(w, x);
            } else {
                w.Len(0x2A, ArrayBodySize(x));
                for (const auto& e : x) {
                    using E = std::conditional_t<std::is_same_v<T, std::vector<bool>>, bool,
                                                 typename T::value_type>;
                    const E element = e;
                    w.Len(0x0A, ScalarAnySize<E>(element));
                    WriteScalarAny<E>(w, element);
                }
            }
        },
        v);
}

std::size_t KeyValueSize(std::string_view key, const OwnedValue& v) noexcept {
    return StrField(key) + LenField(AnyValueSize(v));
}

void WriteKeyValue(Writer& w, std::uint8_t tag, std::string_view key, const OwnedValue& v) {
    const std::size_t any = AnyValueSize(v);
    w.Len(tag, StrField(key) + LenField(any));
    w.Str(0x0A, key);
    w.Len(0x12, any);
    WriteAnyValue(w, v);
}

std::size_t AttributesSize(const AttributeList& list) noexcept {
    std::size_t n = 0;
    for (const OwnedAttribute& a : list) {
        n += LenField(KeyValueSize(a.key, a.value));
    }
    return n;
}

void WriteAttributes(Writer& w, std::uint8_t tag, const AttributeList& list) {
    for (const OwnedAttribute& a : list) {
        WriteKeyValue(w, tag, a.key, a.value);
    }
}

std::size_t OptVarint(std::uint64_t v) noexcept { return v == 0 ? 0 : 1 + VarintSize(v); }

void WriteOptVarint(Writer& w, std::uint8_t tag, std::uint64_t v) noexcept {
    if (v != 0) {
        w.Byte(tag);
        w.Varint(v);
    }
}

// ---- Resource / Scope -----------------------------------------------------------------------

const sdk::Resource& ResourceOf(const sdk::Resource* r) noexcept {
    static const sdk::Resource kEmpty;
    return r != nullptr ? *r : kEmpty;
}

const sdk::InstrumentationScope& ScopeOf(const sdk::InstrumentationScope* s) noexcept {
    static const sdk::InstrumentationScope kEmpty;
    return s != nullptr ? *s : kEmpty;
}

std::size_t ResourceSize(const sdk::Resource& r) noexcept { return AttributesSize(r.attributes); }

std::size_t ScopeSize(const sdk::InstrumentationScope& s) noexcept {
    return (s.name.empty() ? 0 : StrField(s.name)) + (s.version.empty() ? 0 : StrField(s.version));
}

void WriteScope(Writer& w, std::uint8_t tag, const sdk::InstrumentationScope& s) {
    w.Len(tag, ScopeSize(s));
    if (!s.name.empty()) {
        w.Str(0x0A, s.name);
    }
    if (!s.version.empty()) {
        w.Str(0x12, s.version);
    }
}

// ---- prefetching ----------------------------------------------------------------------------
// In a service the batch worker reads spans that other threads wrote milliseconds earlier and
// that are no longer in this CPU's caches: in a profile of the traced echo server
// (bench/telemetry/http_overhead.sh) most of the encoder's samples sat on the load of an
// attribute's type, and it took 220-260 ns a span there against ~105 ns for the warm
// BM_OtlpProtobufEncodeServerSpans. Each span is a chain of dependent loads (record ->
// attribute array -> long values on the heap), so the next spans' memory is requested
// a few spans ahead, one link per distance: 180-230 ns a span in the same server (the warm
// benchmark is unchanged).

constexpr std::size_t kPrefetchRecordAhead = 8;  // the record itself
constexpr std::size_t kPrefetchArrayAhead = 4;   // its attribute array (pointer in the record)
constexpr std::size_t kPrefetchHeapAhead = 2;    // heap keys and values (pointers in the array)

void PrefetchLines(const void* p, std::size_t bytes) noexcept {
    const auto* c = static_cast<const char*>(p);
    for (std::size_t off = 0; off < bytes; off += 64) {
        __builtin_prefetch(c + off, 0, 3);
    }
    if (bytes > 0) {
        __builtin_prefetch(c + bytes - 1, 0, 3);
    }
}

void PrefetchArray(const AttributeList& list) noexcept {
    PrefetchLines(list.begin(), list.size() * sizeof(OwnedAttribute));
}

void PrefetchHeap(const AttributeList& list) noexcept {
    // A string longer than its inline buffer lives on the heap. (Interned keys are shared by
    // every span and stay in cache.)
    constexpr std::size_t kInline = 15;
    for (const OwnedAttribute& a : list) {
        const auto* s = std::get_if<std::string>(&a.value);
        if (s != nullptr && s->size() > kInline) {
            __builtin_prefetch(s->data(), 0, 3);
        }
    }
}

// Prefetches what item i + distance needs, for the pass that is at item i.
template <class Item>
void PrefetchAhead(const std::vector<const Item*>& items, std::size_t i) noexcept {
    const std::size_t n = items.size();
    if (i + kPrefetchRecordAhead < n) {
        PrefetchLines(items[i + kPrefetchRecordAhead], sizeof(Item));
    }
    if (i + kPrefetchArrayAhead < n) {
        PrefetchArray(items[i + kPrefetchArrayAhead]->attributes);
    }
    if (i + kPrefetchHeapAhead < n) {
        const Item& next = *items[i + kPrefetchHeapAhead];
        PrefetchHeap(next.attributes);
        if constexpr (std::is_same_v<Item, sdk::SpanData>) {
            if (next.name.size() > 15) {
                __builtin_prefetch(next.name.data(), 0, 3);
            }
        }
    }
}

// Whether every string of an item is ASCII (see "well-formed UTF-8" above).
bool IsAscii(const sdk::Resource& r) noexcept {
    AsciiCheck c;
    c.Add(r.attributes);
    return c.ascii();
}

bool IsAscii(const sdk::InstrumentationScope& s) noexcept {
    AsciiCheck c;
    c.Add(s.name);
    c.Add(s.version);
    return c.ascii();
}

bool IsAscii(const sdk::SpanData& s) noexcept {
    AsciiCheck c;
    c.Add(s.trace_state);
    c.Add(s.name);
    c.Add(s.status_message);
    c.Add(s.attributes);
    for (const auto& e : s.events) {
        c.Add(e.name);
        c.Add(e.attributes);
    }
    for (const auto& l : s.links) {
        c.Add(l.context.GetTraceState());
        c.Add(l.attributes);
    }
    return c.ascii();
}

bool IsAscii(const logs::LogRecordData& r) noexcept {
    AsciiCheck c;
    c.Add(r.body);
    c.Add(r.attributes);
    return c.ascii();
}

// ---- grouping -------------------------------------------------------------------------------

template <class Item>
struct ScopeGroup {
    const sdk::InstrumentationScope* scope;
    std::vector<const Item*> items;
    std::vector<std::size_t> sizes;
    std::vector<bool> ascii;  // per item: IsAscii
    std::size_t body = 0;     // ScopeSpans/ScopeLogs message size
    bool scope_ascii = true;
};

template <class Item>
struct ResourceGroup {
    const sdk::Resource* resource;
    std::vector<ScopeGroup<Item>> scopes;
    std::size_t body = 0;
    bool resource_ascii = true;
};

template <class Item>
std::vector<ResourceGroup<Item>> Group(std::span<const Item* const> items) {
    std::vector<ResourceGroup<Item>> groups;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i + kPrefetchRecordAhead < items.size()) {
            PrefetchLines(items[i + kPrefetchRecordAhead], sizeof(Item));
        }
        const Item* item = items[i];
        ResourceGroup<Item>* rg = nullptr;
        for (auto& g : groups) {
            if (g.resource == item->resource) {
                rg = &g;
                break;
            }
        }
        if (rg == nullptr) {
            rg = &groups.emplace_back(ResourceGroup<Item>{item->resource, {}, 0, true});
        }
        ScopeGroup<Item>* sg = nullptr;
        for (auto& s : rg->scopes) {
            if (s.scope == item->scope) {
                sg = &s;
                break;
            }
        }
        if (sg == nullptr) {
            sg = &rg->scopes.emplace_back(ScopeGroup<Item>{item->scope, {}, {}, {}, 0, true});
            sg->items.reserve(items.size());
            sg->sizes.reserve(items.size());
            sg->ascii.reserve(items.size());
        }
        sg->items.push_back(item);
    }
    return groups;
}

// Encodes Export{Trace,Logs}ServiceRequest: 1 Resource{Spans,Logs}{1 resource, 2 scope_*{1 scope,
// 2 items}}.
template <class Item, class SizeFn, class WriteFn>
void EncodeGrouped(std::span<const Item* const> items, std::string& out, SizeFn size_of,
                   WriteFn write) {
    auto groups = Group(items);
    std::size_t total = 0;
    for (auto& rg : groups) {
        rg.resource_ascii = t_ascii = IsAscii(ResourceOf(rg.resource));
        rg.body = LenField(ResourceSize(ResourceOf(rg.resource)));
        for (auto& sg : rg.scopes) {
            sg.scope_ascii = t_ascii = IsAscii(ScopeOf(sg.scope));
            sg.body = LenField(ScopeSize(ScopeOf(sg.scope)));
            for (std::size_t i = 0; i < sg.items.size(); ++i) {
                PrefetchAhead(sg.items, i);
                t_ascii = IsAscii(*sg.items[i]);
                sg.ascii.push_back(t_ascii);
                const std::size_t n = size_of(*sg.items[i]);
                sg.sizes.push_back(n);
                sg.body += LenField(n);
            }
            rg.body += LenField(sg.body);
        }
        total += LenField(rg.body);
    }
    const std::size_t start = out.size();
    out.resize(start + total);
    Writer w{out.data() + start};
    for (const auto& rg : groups) {
        w.Len(0x0A, rg.body);
        const sdk::Resource& resource = ResourceOf(rg.resource);
        t_ascii = rg.resource_ascii;
        w.Len(0x0A, ResourceSize(resource));
        WriteAttributes(w, 0x0A, resource.attributes);
        for (const auto& sg : rg.scopes) {
            w.Len(0x12, sg.body);
            t_ascii = sg.scope_ascii;
            WriteScope(w, 0x0A, ScopeOf(sg.scope));
            for (std::size_t i = 0; i < sg.items.size(); ++i) {
                PrefetchAhead(sg.items, i);
                t_ascii = sg.ascii[i];
                w.Len(0x12, sg.sizes[i]);
                write(w, *sg.items[i]);
            }
        }
    }
    t_ascii = true;
}

// ---- Span -----------------------------------------------------------------------------------

std::size_t EventSize(const sdk::EventData& e) noexcept {
    return 9 + (e.name.empty() ? 0 : StrField(e.name)) + AttributesSize(e.attributes) +
           OptVarint(e.dropped_attributes_count);
}

std::size_t LinkSize(const sdk::LinkData& l) noexcept {
    const auto state = l.context.GetTraceState();
    return 18 + 10 + (state.empty() ? 0 : StrField(state)) + AttributesSize(l.attributes) +
           OptVarint(l.dropped_attributes_count) + 5;
}

std::size_t StatusSize(const sdk::SpanData& s) noexcept {
    return (s.status_message.empty() ? 0 : StrField(s.status_message)) +
           OptVarint(static_cast<std::uint64_t>(s.status_code));
}

std::size_t SpanSize(const sdk::SpanData& s) noexcept {
    std::size_t n = 18 + 10;  // trace_id, span_id
    if (!s.trace_state.empty()) { n += StrField(s.trace_state); }
    if (s.parent_span_id.IsValid()) {
        n += 10;
    }
    if (!s.name.empty()) { n += StrField(s.name); }
    n += OptVarint(static_cast<std::uint64_t>(s.kind));
    n += 18;  // start, end
    n += AttributesSize(s.attributes) + OptVarint(s.dropped_attributes_count);
    for (const auto& e : s.events) {
        n += LenField(EventSize(e));
    }
    n += OptVarint(s.dropped_events_count);
    for (const auto& l : s.links) {
        n += LenField(LinkSize(l));
    }
    n += OptVarint(s.dropped_links_count);
    if (s.status_code != StatusCode::kUnset || !s.status_message.empty()) {
        n += LenField(StatusSize(s));
    }
    n += 2 + 4;  // flags (field 16: two-byte tag)
    return n;
}

void WriteSpan(Writer& w, const sdk::SpanData& s) {
    w.Len(0x0A, 16);
    w.Raw(s.trace_id.bytes.data(), 16);
    w.Len(0x12, 8);
    w.Raw(s.span_id.bytes.data(), 8);
    if (!s.trace_state.empty()) {
        w.Str(0x1A, s.trace_state);
    }
    if (s.parent_span_id.IsValid()) {
        w.Len(0x22, 8);
        w.Raw(s.parent_span_id.bytes.data(), 8);
    }
    if (!s.name.empty()) {
        w.Str(0x2A, s.name);
    }
    WriteOptVarint(w, 0x30, static_cast<std::uint64_t>(s.kind));
    w.Byte(0x39);
    w.Fixed64(s.start_time_unix_nano);
    w.Byte(0x41);
    w.Fixed64(s.end_time_unix_nano);
    WriteAttributes(w, 0x4A, s.attributes);
    WriteOptVarint(w, 0x50, s.dropped_attributes_count);
    for (const auto& e : s.events) {
        w.Len(0x5A, EventSize(e));
        w.Byte(0x09);
        w.Fixed64(e.time_unix_nano);
        if (!e.name.empty()) {
            w.Str(0x12, e.name);
        }
        WriteAttributes(w, 0x1A, e.attributes);
        WriteOptVarint(w, 0x20, e.dropped_attributes_count);
    }
    WriteOptVarint(w, 0x60, s.dropped_events_count);
    for (const auto& l : s.links) {
        w.Len(0x6A, LinkSize(l));
        w.Len(0x0A, 16);
        w.Raw(l.context.GetTraceId().bytes.data(), 16);
        w.Len(0x12, 8);
        w.Raw(l.context.GetSpanId().bytes.data(), 8);
        if (!l.context.GetTraceState().empty()) {
            w.Str(0x1A, l.context.GetTraceState());
        }
        WriteAttributes(w, 0x22, l.attributes);
        WriteOptVarint(w, 0x28, l.dropped_attributes_count);
        w.Byte(0x35);
        w.Fixed32(l.context.GetTraceFlags().value | 0x100u |
                  (l.context.IsRemote() ? 0x200u : 0u));
    }
    WriteOptVarint(w, 0x70, s.dropped_links_count);
    if (s.status_code != StatusCode::kUnset || !s.status_message.empty()) {
        w.Len(0x7A, StatusSize(s));
        if (!s.status_message.empty()) {
            w.Str(0x12, s.status_message);
        }
        WriteOptVarint(w, 0x18, static_cast<std::uint64_t>(s.status_code));
    }
    w.Byte(0x85);  // field 16, wire type 5
    w.Byte(0x01);
    w.Fixed32(s.OtlpFlags());
}

// ---- LogRecord ------------------------------------------------------------------------------
// 1 time, 11 observed_time, 2 severity_number, 3 severity_text, 5 body, 6 attributes, 8 flags,
// 9 trace_id, 10 span_id.

std::size_t LogSize(const logs::LogRecordData& r) noexcept {
    std::size_t n = 9 + 9;
    n += OptVarint(static_cast<std::uint64_t>(r.severity));
    n += StrField(logs::SeverityText(r.severity));
    n += LenField(StrField(r.body));
    n += AttributesSize(r.attributes);
    if (r.trace_id.IsValid()) {
        n += 5 + 18 + 10;
    }
    return n;
}

void WriteLog(Writer& w, const logs::LogRecordData& r) {
    w.Byte(0x09);
    w.Fixed64(r.time_unix_nano);
    w.Byte(0x59);
    w.Fixed64(r.observed_time_unix_nano);
    WriteOptVarint(w, 0x10, static_cast<std::uint64_t>(r.severity));
    w.Str(0x1A, logs::SeverityText(r.severity));
    w.Len(0x2A, StrField(r.body));
    w.Str(0x0A, r.body);
    WriteAttributes(w, 0x32, r.attributes);
    if (r.trace_id.IsValid()) {
        w.Byte(0x45);
        w.Fixed32(r.trace_flags.value);
        w.Len(0x4A, 16);
        w.Raw(r.trace_id.bytes.data(), 16);
        w.Len(0x52, 8);
        w.Raw(r.span_id.bytes.data(), 8);
    }
}

// ---- JSON -----------------------------------------------------------------------------------

// The well-formed UTF-8 sequence at s[i] (s[i] >= 0x80), or U+FFFD when there is none; returns
// the bytes consumed. Out of line: JsonString's loop stays small for the ASCII it nearly always
// sees.
[[gnu::noinline]] std::size_t JsonNonAscii(std::string& out, std::string_view s, std::size_t i) {
    const std::size_t n = common::Utf8SequenceAt(s, i);
    out.append(n == 0 ? common::kUtf8Replacement : s.substr(i, n));
    return n == 0 ? 1 : n;
}

// A JSON string, escaped, with bytes that are not well-formed UTF-8 as U+FFFD.
void JsonString(std::string& out, std::string_view s) {
    out.push_back('"');
    for (std::size_t i = 0; i < s.size();) {
        const char ch = s[i];
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    static constexpr char kHex[] = "0123456789abcdef";
                    out += "\\u00";
                    out.push_back(kHex[c >> 4]);
                    out.push_back(kHex[c & 0x0f]);
                } else if (c >= 0x80) {
                    i += JsonNonAscii(out, s, i);
                    continue;
                } else {
                    out.push_back(ch);
                }
        }
        ++i;
    }
    out.push_back('"');
}

void JsonU64String(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out.push_back('"');
    out.append(buf, r.ptr);
    out.push_back('"');
}

void JsonNumber(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, r.ptr);
}

void JsonHex(std::string& out, const TraceId& id) {
    char buf[32];
    id.ToHex(buf);
    out.push_back('"');
    out.append(buf, 32);
    out.push_back('"');
}

void JsonHex(std::string& out, const SpanId& id) {
    char buf[16];
    id.ToHex(buf);
    out.push_back('"');
    out.append(buf, 16);
    out.push_back('"');
}

template <class T>
void JsonScalarAny(std::string& out, const T& x) {
    if constexpr (std::is_same_v<T, bool>) {
        out += x ? "{\"boolValue\":true}" : "{\"boolValue\":false}";
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof(buf), x);
        out += "{\"intValue\":\"";
        out.append(buf, r.ptr);
        out += "\"}";
    } else if constexpr (std::is_same_v<T, double>) {
        out += "{\"doubleValue\":";
        if (std::isnan(x)) {
            out += "\"NaN\"";
        } else if (std::isinf(x)) {
            out += x > 0 ? "\"Infinity\"" : "\"-Infinity\"";
        } else {
            char buf[32];
            const auto r = std::to_chars(buf, buf + sizeof(buf), x);
            out.append(buf, r.ptr);
        }
        out.push_back('}');
    } else {
        out += "{\"stringValue\":";
        JsonString(out, x);
        out.push_back('}');
    }
}

void JsonAnyValue(std::string& out, const OwnedValue& v) {
    std::visit(
        [&out](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                          std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
                JsonScalarAny<T>(out, x);
            } else {
                out += "{\"arrayValue\":{\"values\":[";
                bool first = true;
                for (const auto& e : x) {
                    using E = std::conditional_t<std::is_same_v<T, std::vector<bool>>, bool,
                                                 typename T::value_type>;
                    if (!first) {
                        out.push_back(',');
                    }
                    first = false;
                    const E element = e;
                    JsonScalarAny<E>(out, element);
                }
                out += "]}}";
            }
        },
        v);
}

void JsonAttributes(std::string& out, const AttributeList& list) {
    out += "\"attributes\":[";
    bool first = true;
    for (const OwnedAttribute& a : list) {
        if (!first) {
            out.push_back(',');
        }
        first = false;
        out += "{\"key\":";
        JsonString(out, a.key);
        out += ",\"value\":";
        JsonAnyValue(out, a.value);
        out.push_back('}');
    }
    out.push_back(']');
}

void JsonDropped(std::string& out, std::string_view name, std::uint32_t n) {
    if (n != 0) {
        out += ",\"";
        out += name;
        out += "\":";
        JsonNumber(out, n);
    }
}

template <class Item, class WriteFn>
void JsonGrouped(std::span<const Item* const> items, std::string& out, std::string_view outer,
                 std::string_view scope_list, std::string_view item_list, WriteFn write) {
    const auto groups = Group(items);
    out += "{\"";
    out += outer;
    out += "\":[";
    for (std::size_t g = 0; g < groups.size(); ++g) {
        if (g != 0) {
            out.push_back(',');
        }
        out += "{\"resource\":{";
        JsonAttributes(out, ResourceOf(groups[g].resource).attributes);
        out += "},\"";
        out += scope_list;
        out += "\":[";
        for (std::size_t s = 0; s < groups[g].scopes.size(); ++s) {
            const auto& sg = groups[g].scopes[s];
            if (s != 0) {
                out.push_back(',');
            }
            const auto& scope = ScopeOf(sg.scope);
            out += "{\"scope\":{\"name\":";
            JsonString(out, scope.name);
            if (!scope.version.empty()) {
                out += ",\"version\":";
                JsonString(out, scope.version);
            }
            out += "},\"";
            out += item_list;
            out += "\":[";
            for (std::size_t i = 0; i < sg.items.size(); ++i) {
                if (i != 0) {
                    out.push_back(',');
                }
                write(out, *sg.items[i]);
            }
            out += "]}";
        }
        out += "]}";
    }
    out += "]}";
}

void JsonSpan(std::string& out, const sdk::SpanData& s) {
    out += "{\"traceId\":";
    JsonHex(out, s.trace_id);
    out += ",\"spanId\":";
    JsonHex(out, s.span_id);
    if (!s.trace_state.empty()) {
        out += ",\"traceState\":";
        JsonString(out, s.trace_state);
    }
    if (s.parent_span_id.IsValid()) {
        out += ",\"parentSpanId\":";
        JsonHex(out, s.parent_span_id);
    }
    out += ",\"flags\":";
    JsonNumber(out, s.OtlpFlags());
    out += ",\"name\":";
    JsonString(out, s.name);
    out += ",\"kind\":";
    JsonNumber(out, static_cast<std::uint64_t>(s.kind));
    out += ",\"startTimeUnixNano\":";
    JsonU64String(out, s.start_time_unix_nano);
    out += ",\"endTimeUnixNano\":";
    JsonU64String(out, s.end_time_unix_nano);
    out.push_back(',');
    JsonAttributes(out, s.attributes);
    JsonDropped(out, "droppedAttributesCount", s.dropped_attributes_count);
    out += ",\"events\":[";
    for (std::size_t i = 0; i < s.events.size(); ++i) {
        const auto& e = s.events[i];
        if (i != 0) {
            out.push_back(',');
        }
        out += "{\"timeUnixNano\":";
        JsonU64String(out, e.time_unix_nano);
        out += ",\"name\":";
        JsonString(out, e.name);
        out.push_back(',');
        JsonAttributes(out, e.attributes);
        JsonDropped(out, "droppedAttributesCount", e.dropped_attributes_count);
        out.push_back('}');
    }
    out.push_back(']');
    JsonDropped(out, "droppedEventsCount", s.dropped_events_count);
    out += ",\"links\":[";
    for (std::size_t i = 0; i < s.links.size(); ++i) {
        const auto& l = s.links[i];
        if (i != 0) {
            out.push_back(',');
        }
        out += "{\"traceId\":";
        JsonHex(out, l.context.GetTraceId());
        out += ",\"spanId\":";
        JsonHex(out, l.context.GetSpanId());
        if (!l.context.GetTraceState().empty()) {
            out += ",\"traceState\":";
            JsonString(out, l.context.GetTraceState());
        }
        out.push_back(',');
        JsonAttributes(out, l.attributes);
        JsonDropped(out, "droppedAttributesCount", l.dropped_attributes_count);
        out += ",\"flags\":";
        JsonNumber(out, l.context.GetTraceFlags().value | 0x100u |
                            (l.context.IsRemote() ? 0x200u : 0u));
        out.push_back('}');
    }
    out.push_back(']');
    JsonDropped(out, "droppedLinksCount", s.dropped_links_count);
    out += ",\"status\":{";
    bool comma = false;
    if (!s.status_message.empty()) {
        out += "\"message\":";
        JsonString(out, s.status_message);
        comma = true;
    }
    if (s.status_code != StatusCode::kUnset) {
        if (comma) {
            out.push_back(',');
        }
        out += "\"code\":";
        JsonNumber(out, static_cast<std::uint64_t>(s.status_code));
    }
    out += "}}";
}

void JsonLog(std::string& out, const logs::LogRecordData& r) {
    out += "{\"timeUnixNano\":";
    JsonU64String(out, r.time_unix_nano);
    out += ",\"observedTimeUnixNano\":";
    JsonU64String(out, r.observed_time_unix_nano);
    out += ",\"severityNumber\":";
    JsonNumber(out, static_cast<std::uint64_t>(r.severity));
    out += ",\"severityText\":";
    JsonString(out, logs::SeverityText(r.severity));
    out += ",\"body\":{\"stringValue\":";
    JsonString(out, r.body);
    out += "},";
    JsonAttributes(out, r.attributes);
    if (r.trace_id.IsValid()) {
        out += ",\"flags\":";
        JsonNumber(out, r.trace_flags.value);
        out += ",\"traceId\":";
        JsonHex(out, r.trace_id);
        out += ",\"spanId\":";
        JsonHex(out, r.span_id);
    }
    out.push_back('}');
}

}  // namespace

void EncodeTracesProtobuf(std::span<const sdk::SpanData* const> spans, std::string& out) {
    EncodeGrouped<sdk::SpanData>(spans, out, SpanSize, WriteSpan);
}

void EncodeLogsProtobuf(std::span<const logs::LogRecordData* const> records, std::string& out) {
    EncodeGrouped<logs::LogRecordData>(records, out, LogSize, WriteLog);
}

void EncodeTracesJson(std::span<const sdk::SpanData* const> spans, std::string& out) {
    JsonGrouped<sdk::SpanData>(spans, out, "resourceSpans", "scopeSpans", "spans", JsonSpan);
}

void EncodeLogsJson(std::span<const logs::LogRecordData* const> records, std::string& out) {
    JsonGrouped<logs::LogRecordData>(records, out, "resourceLogs", "scopeLogs", "logRecords",
                                     JsonLog);
}

bool GzipCompress(std::string_view in, std::string& out) {
    z_stream zs{};
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return false;
    }
    const std::size_t start = out.size();
    out.resize(start + deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + start);
    zs.avail_out = static_cast<uInt>(out.size() - start);
    const int rc = deflate(&zs, Z_FINISH);
    out.resize(start + zs.total_out);
    deflateEnd(&zs);
    return rc == Z_STREAM_END;
}

}  // namespace flowex::telemetry::exporters
