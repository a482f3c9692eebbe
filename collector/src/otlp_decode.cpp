#include "flowex/collector/otlp_decode.hpp"

#include <google/protobuf/arena.h>
#include <google/protobuf/stubs/logging.h>
#include <malloc.h>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "flowex/common/json.hpp"

namespace flowex::collector {

using common::Error;
using common::ErrorCode;
using common::JsonValue;
using common::Result;
using common::Status;

namespace {

// ---------------------------------------------------------------- arena blocks

// Decoders' arenas take fixed-size blocks from a small pool (a batch of 512 spans needs a few):
// fresh heap blocks of growing sizes for every batch cost malloc's consolidation and page
// faults (≈ 10 % of ingest CPU in the profile). Bounded: at most kPooledBlocks idle (16 MiB).
constexpr std::size_t kArenaBlock = std::size_t{256} << 10;
constexpr std::size_t kPooledBlocks = 64;

std::mutex g_block_mu;
std::vector<void*>& BlockPool() {
    static auto* pool = new std::vector<void*>();  // never destroyed: arenas may outlive statics
    return *pool;
}

void* AllocArenaBlock(std::size_t n) {
    if (n == kArenaBlock) {
        std::lock_guard lock(g_block_mu);
        auto& pool = BlockPool();
        if (!pool.empty()) {
            void* p = pool.back();
            pool.pop_back();
            return p;
        }
    }
    return ::operator new(n);
}

void FreeArenaBlock(void* p, std::size_t n) {
    if (n == kArenaBlock) {
        std::lock_guard lock(g_block_mu);
        auto& pool = BlockPool();
        if (pool.size() < kPooledBlocks) {
            pool.push_back(p);
            return;
        }
    }
    ::operator delete(p);
}

// ---------------------------------------------------------------- small helpers

bool AllZero(std::string_view bytes) {
    for (char c : bytes) {
        if (c != 0) {
            return false;
        }
    }
    return true;
}

void TruncateUtf8(std::string* s, std::size_t max_bytes) {
    if (s->size() <= max_bytes) { return; }
    std::size_t n = max_bytes;
    // Back off continuation bytes (10xxxxxx) so the cut lands on a character boundary.
    while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) {
        --n;
    }
    s->resize(n);
}

template <class Field>
std::size_t TruncateRepeated(Field* field, std::size_t max) {
    if (static_cast<std::size_t>(field->size()) <= max) {
        return 0;
    }
    std::size_t dropped = field->size() - max;
    field->DeleteSubrange(static_cast<int>(max), static_cast<int>(dropped));
    return dropped;
}

void BoundValue(otlp_common::AnyValue* v, const DecodeLimits& limits, int depth);

void BoundAttributes(google::protobuf::RepeatedPtrField<otlp_common::KeyValue>* attrs,
                     const DecodeLimits& limits, std::uint32_t* dropped, int depth = 0) {
    std::size_t n = TruncateRepeated(attrs, limits.max_attributes);
    if (dropped != nullptr && n > 0) {
        std::uint64_t total = *dropped + n;
        *dropped = total > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(total);
    }
    for (auto& kv : *attrs) {
        if (kv.key().size() > 256) {
            TruncateUtf8(kv.mutable_key(), 256);
        }
        if (kv.has_value()) {
            BoundValue(kv.mutable_value(), limits, depth + 1);
        }
    }
}

void BoundValue(otlp_common::AnyValue* v, const DecodeLimits& limits, int depth) {
    switch (v->value_case()) {
        case otlp_common::AnyValue::kStringValue:
            if (v->string_value().size() > limits.max_string_bytes) {
                TruncateUtf8(v->mutable_string_value(), limits.max_string_bytes);
            }
            break;
        case otlp_common::AnyValue::kBytesValue:
            if (v->bytes_value().size() > limits.max_string_bytes) {
                v->mutable_bytes_value()->resize(limits.max_string_bytes);
            }
            break;
        case otlp_common::AnyValue::kArrayValue: {
            auto* values = v->mutable_array_value()->mutable_values();
            TruncateRepeated(values, limits.max_attributes);
            if (depth > 8 && !values->empty()) { values->Clear(); }
            for (auto& e : *values) {
                BoundValue(&e, limits, depth + 1);
            }
            break;
        }
        case otlp_common::AnyValue::kKvlistValue: {
            auto* values = v->mutable_kvlist_value()->mutable_values();
            if (depth > 8 && !values->empty()) { values->Clear(); }
            BoundAttributes(values, limits, nullptr, depth + 1);
            break;
        }
        default:
            break;
    }
}

// Why a span with these ids is invalid; nullptr when valid.
const char* IdProblem(std::string_view trace_id, std::string_view span_id,
                      std::string_view parent_span_id) {
    if (trace_id.size() != 16) { return "trace id must be 16 bytes"; }
    if (AllZero(trace_id)) { return "trace id must not be zero"; }
    if (span_id.size() != 8) { return "span id must be 8 bytes"; }
    if (AllZero(span_id)) { return "span id must not be zero"; }
    if (!parent_span_id.empty() && parent_span_id.size() != 8) {
        return "parent span id must be empty or 8 bytes";
    }
    return nullptr;
}
const char* SpanProblem(const otlp_trace::Span& span) {
    return IdProblem(span.trace_id(), span.span_id(), span.parent_span_id());
}
const char* SpanProblem(const SpanView& span) {
    return IdProblem(span.trace_id, span.span_id, span.parent_span_id);
}

const char* LogIdProblem(std::string_view trace_id, std::string_view span_id) {
    if (!trace_id.empty() && trace_id.size() != 16) { return "trace id must be empty or 16 bytes"; }
    if (!span_id.empty() && span_id.size() != 8) { return "span id must be empty or 8 bytes"; }
    return nullptr;
}
const char* LogProblem(const otlp_logs::LogRecord& rec) {
    return LogIdProblem(rec.trace_id(), rec.span_id());
}

// Removes invalid spans (counted in rejected, the first reason in error_message) and bounds
// the rest (the views read back from its encoding count what was kept).
void ValidateTraces(ExportTraceRequest* message, const DecodeLimits& limits,
                    std::int64_t* rejected, std::string* error_message) {
    for (auto& rs : *message->mutable_resource_spans()) {
        if (rs.has_resource()) {
            auto* res = rs.mutable_resource();
            std::uint32_t dropped = res->dropped_attributes_count();
            BoundAttributes(res->mutable_attributes(), limits, &dropped);
            res->set_dropped_attributes_count(dropped);
        }
        for (auto& ss : *rs.mutable_scope_spans()) {
            auto* spans = ss.mutable_spans();
            int keep = 0;
            for (int i = 0; i < spans->size(); ++i) {
                auto* span = spans->Mutable(i);
                if (const char* why = SpanProblem(*span); why != nullptr) {
                    ++*rejected;
                    if (error_message->empty()) {
                        *error_message = why;
                    }
                    continue;
                }
                std::uint32_t dropped = span->dropped_attributes_count();
                BoundAttributes(span->mutable_attributes(), limits, &dropped);
                span->set_dropped_attributes_count(dropped);
                TruncateUtf8(span->mutable_name(), 1024);
                std::size_t ev = TruncateRepeated(span->mutable_events(), limits.max_events);
                span->set_dropped_events_count(
                    static_cast<std::uint32_t>(std::min<std::uint64_t>(
                        UINT32_MAX, span->dropped_events_count() + ev)));
                for (auto& e : *span->mutable_events()) {
                    std::uint32_t ed = e.dropped_attributes_count();
                    BoundAttributes(e.mutable_attributes(), limits, &ed);
                    e.set_dropped_attributes_count(ed);
                    TruncateUtf8(e.mutable_name(), 1024);
                }
                std::size_t ln = TruncateRepeated(span->mutable_links(), limits.max_links);
                span->set_dropped_links_count(static_cast<std::uint32_t>(
                    std::min<std::uint64_t>(UINT32_MAX, span->dropped_links_count() + ln)));
                for (auto& l : *span->mutable_links()) {
                    std::uint32_t ld = l.dropped_attributes_count();
                    BoundAttributes(l.mutable_attributes(), limits, &ld);
                    l.set_dropped_attributes_count(ld);
                }
                if (span->has_status()) {
                    TruncateUtf8(span->mutable_status()->mutable_message(),
                                 limits.max_string_bytes);
                }
                if (keep != i) {
                    spans->SwapElements(keep, i);
                }
                ++keep;
            }
            while (spans->size() > keep) {
                spans->RemoveLast();
            }
        }
    }
}

// ---------------------------------------------------------------- encoded span attributes

// Reads protobuf wire format; every read checks the bounds.
class WireReader {
public:
    explicit WireReader(std::string_view bytes)
        : p_(reinterpret_cast<const unsigned char*>(bytes.data())), end_(p_ + bytes.size()) {}
    bool Done() const { return p_ == end_; }
    bool Varint(std::uint64_t* v) {
        std::uint64_t out = 0;
        for (int shift = 0; shift < 64 && p_ != end_; shift += 7) {
            unsigned char b = *p_++;
            out |= static_cast<std::uint64_t>(b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                *v = out;
                return true;
            }
        }
        return false;
    }
    bool Bytes(std::string_view* out) {
        std::uint64_t n = 0;
        if (!Varint(&n) || n > static_cast<std::uint64_t>(end_ - p_)) {
            return false;
        }
        *out = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
        p_ += n;
        return true;
    }
    bool Fixed(std::size_t n) {
        if (n > static_cast<std::size_t>(end_ - p_)) {
            return false;
        }
        p_ += n;
        return true;
    }
    // A little-endian fixed64 (n = 8) or fixed32 (n = 4).
    bool Fixed(std::size_t n, std::uint64_t* v) {
        if (n > static_cast<std::size_t>(end_ - p_)) { return false; }
        std::uint64_t out = 0;
        for (std::size_t i = 0; i < n; ++i) { out |= static_cast<std::uint64_t>(p_[i]) << (8 * i); }
        p_ += n;
        *v = out;
        return true;
    }
    const char* Position() const { return reinterpret_cast<const char*>(p_); }

private:
    const unsigned char* p_;
    const unsigned char* end_;
};

constexpr std::uint64_t Tag(int field, int wire_type) {
    return (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(wire_type);
}

bool Ascii(std::string_view s) {
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w = 0;
        std::memcpy(&w, s.data() + i, 8);
        if ((w & 0x8080808080808080ull) != 0) {
            return false;
        }
    }
    for (; i < s.size(); ++i) {
        if ((static_cast<unsigned char>(s[i]) & 0x80) != 0) {
            return false;
        }
    }
    return true;
}

// Whether an encoded KeyValue / AnyValue is one the official classes decode to the same thing
// and the limits leave alone: each field at most once and of its declared wire type, no
// unknown field, ASCII strings (valid UTF-8 without checking further), within the limits,
// nesting within kPlainDepth. Anything else is left to the official classes (false).
constexpr int kPlainDepth = 4;
bool PlainAnyValue(std::string_view bytes, const DecodeLimits& limits, int depth);

bool PlainKeyValue(std::string_view bytes, const DecodeLimits& limits, int depth) {
    WireReader r(bytes);
    bool key = false;
    bool value = false;
    while (!r.Done()) {
        std::uint64_t tag = 0;
        std::string_view f;
        if (!r.Varint(&tag) || !r.Bytes(&f)) {
            return false;
        }
        if (tag == Tag(1, 2) && !key) {
            if (f.size() > 256 || !Ascii(f)) {
                return false;
            }
            key = true;
        } else if (tag == Tag(2, 2) && !value) {
            if (!PlainAnyValue(f, limits, depth + 1)) {
                return false;
            }
            value = true;
        } else {
            return false;
        }
    }
    return true;
}

// ArrayValue and KeyValueList: field 1, repeated, of AnyValue or KeyValue.
bool PlainList(std::string_view bytes, const DecodeLimits& limits, int depth, bool key_values) {
    WireReader r(bytes);
    std::size_t n = 0;
    while (!r.Done()) {
        std::uint64_t tag = 0;
        std::string_view f;
        if (!r.Varint(&tag) || tag != Tag(1, 2) || !r.Bytes(&f) || ++n > limits.max_attributes) {
            return false;
        }
        if (!(key_values ? PlainKeyValue(f, limits, depth + 1) : PlainAnyValue(f, limits, depth + 1))) {
            return false;
        }
    }
    return true;
}

bool PlainAnyValue(std::string_view bytes, const DecodeLimits& limits, int depth) {
    WireReader r(bytes);
    bool seen = false;  // a oneof: one field
    while (!r.Done()) {
        std::uint64_t tag = 0;
        std::uint64_t v = 0;
        std::string_view f;
        if (seen || !r.Varint(&tag)) {
            return false;
        }
        seen = true;
        switch (tag) {
            case Tag(1, 2):  // string_value
                if (!r.Bytes(&f) || f.size() > limits.max_string_bytes || !Ascii(f)) {
                    return false;
                }
                break;
            case Tag(2, 0):  // bool_value
            case Tag(3, 0):  // int_value
                if (!r.Varint(&v)) {
                    return false;
                }
                break;
            case Tag(4, 1):  // double_value
                if (!r.Fixed(8)) {
                    return false;
                }
                break;
            case Tag(5, 2):  // array_value
            case Tag(6, 2):  // kvlist_value
                if (depth >= kPlainDepth || !r.Bytes(&f) ||
                    !PlainList(f, limits, depth, tag == Tag(6, 2))) {
                    return false;
                }
                break;
            case Tag(7, 2):  // bytes_value
                if (!r.Bytes(&f) || f.size() > limits.max_string_bytes) {
                    return false;
                }
                break;
            default:
                return false;
        }
    }
    return true;
}

// ---------------------------------------------------------------- span views

// One field of a message: its number, wire type and value (a varint or fixed value in
// `number_value`, a length-delimited one in `bytes`), and `whole`, its tag, length and value.
struct WireField {
    int number = 0;
    int type = 0;
    std::uint64_t number_value = 0;
    std::string_view bytes;
    std::string_view whole;
};

// The next field; false at a malformed one or a group (which no OTLP message has).
bool NextField(WireReader& r, WireField* f) {
    const char* begin = r.Position();
    std::uint64_t tag = 0;
    if (!r.Varint(&tag) || (tag >> 3) == 0 || (tag >> 3) > 536870911) { return false; }
    f->number = static_cast<int>(tag >> 3);
    f->type = static_cast<int>(tag & 7);
    bool ok = false;
    switch (f->type) {
        case 0:
            ok = r.Varint(&f->number_value);
            break;
        case 1:
            ok = r.Fixed(8, &f->number_value);
            break;
        case 2:
            ok = r.Bytes(&f->bytes);
            break;
        case 5:
            ok = r.Fixed(4, &f->number_value);
            break;
        default:
            return false;
    }
    f->whole = std::string_view(begin, static_cast<std::size_t>(r.Position() - begin));
    return ok;
}

// Reads a message's fields in order, calling read(field) for each; false at a malformed field
// or when read returns false.
template <class Read>
bool ReadFields(std::string_view bytes, Read&& read) {
    WireReader r(bytes);
    WireField f;
    while (!r.Done()) {
        if (!NextField(r, &f) || !read(f)) { return false; }
    }
    return true;
}

// The envelope spans and log records share (a request's resources, each with its scopes, each
// with its items), as views of DecodedTraces or DecodedLogs.
template <class Decoded>
struct Envelope;
template <>
struct Envelope<DecodedTraces> {
    using ResourceView = ResourceSpansView;
    using ScopeView = ScopeSpansView;
    static std::size_t Items(const DecodedTraces& d) { return d.spans.size(); }
    static std::string_view Item(const DecodedTraces& d, std::uint32_t i) {
        return d.spans[i].whole;
    }
    static std::uint32_t& First(ScopeSpansView& s) { return s.first_span; }
    static std::uint32_t& Count(ScopeSpansView& s) { return s.span_count; }
    static std::uint32_t First(const ScopeSpansView& s) { return s.first_span; }
    static std::uint32_t Count(const ScopeSpansView& s) { return s.span_count; }
    static std::string_view* Service(ResourceSpansView& r) { return &r.service; }
};
template <>
struct Envelope<DecodedLogs> {
    using ResourceView = ResourceLogsView;
    using ScopeView = ScopeLogsView;
    static std::size_t Items(const DecodedLogs& d) { return d.records.size(); }
    static std::string_view Item(const DecodedLogs& d, std::uint32_t i) {
        return d.records[i].whole;
    }
    static std::uint32_t& First(ScopeLogsView& s) { return s.first_record; }
    static std::uint32_t& Count(ScopeLogsView& s) { return s.record_count; }
    static std::uint32_t First(const ScopeLogsView& s) { return s.first_record; }
    static std::uint32_t Count(const ScopeLogsView& s) { return s.record_count; }
    static std::string_view* Service(ResourceLogsView&) { return nullptr; }
};

// Reads a trace or log request's protobuf encoding into views (DecodedTraces, DecodedLogs):
// the envelope here, each span or record by `Items::Item` (SpanItems, LogItems).
//
// Strict (a received body): only the plain form of the header — every known field of its
// declared wire type, a singular one at most once, no unknown field, ASCII strings, attributes
// and values that PlainKeyValue / PlainAnyValue accept, names and counts within the limits,
// enum and uint32 values in range. On anything else it returns false and the caller leaves the
// body to the official classes, which then decide exactly as for any body. Items with invalid
// ids are left out and counted, as ValidateTraces / ValidateLogs remove them.
// Lenient (what the official classes wrote after validating and bounding, or what the store
// wrote): any field order, unknown fields skipped, no checks beyond well-formedness.
template <class Decoded, class Items>
class EnvelopeScanner {
public:
    EnvelopeScanner(Decoded* out, const DecodeLimits& limits, bool strict)
        : out_(out), limits_(limits), strict_(strict) {}

    bool Request(std::string_view bytes) {
        const bool ok = ReadFields(bytes, [&](const WireField& f) {
            if (f.number != 1) { return Unknown(); }
            return f.type == 2 && ResourceItems(f.bytes);
        });
        out_->accepted = static_cast<std::int64_t>(Envelope<Decoded>::Items(*out_));
        return ok;
    }

private:
    friend Items;

    // Whether a field may be read: of the declared wire type, and (strict) a singular field
    // seen once. `seen` collects singular fields' numbers (all below 32).
    bool Accept(const WireField& f, int type, std::uint32_t* seen) const {
        if (f.type != type) { return false; }
        if (seen != nullptr) {
            const std::uint32_t bit = std::uint32_t{1} << f.number;
            if (strict_ && (*seen & bit) != 0) { return false; }
            *seen |= bit;
        }
        return true;
    }
    // A string field: ASCII (valid UTF-8 as it is) within max_bytes when strict.
    bool Text(std::string_view s, std::size_t max_bytes = SIZE_MAX) const {
        return !strict_ || (s.size() <= max_bytes && Ascii(s));
    }
    bool Int32(std::uint64_t v) const {
        return !strict_ || v <= static_cast<std::uint64_t>(INT32_MAX);
    }
    bool Uint32(std::uint64_t v) const { return !strict_ || v <= UINT32_MAX; }
    bool Attribute(std::string_view kv, std::size_t* count) const {
        return !strict_ || (++*count <= limits_.max_attributes && PlainKeyValue(kv, limits_, 0));
    }
    // A field this reader does not know: an error when strict, skipped otherwise.
    bool Unknown() const { return !strict_; }
    // Counts a rejected item and keeps the first reason.
    void Reject(const char* why) {
        ++out_->rejected;
        if (out_->error_message.empty()) { out_->error_message = why; }
    }

    // ResourceSpans / ResourceLogs.
    bool ResourceItems(std::string_view bytes) {
        typename Envelope<Decoded>::ResourceView res;
        res.first_scope = static_cast<std::uint32_t>(out_->scopes.size());
        std::uint32_t seen = 0;
        if (!ReadFields(bytes, [&](const WireField& f) {
                switch (f.number) {
                    case 1:
                        res.resource_field = f.whole;
                        return Accept(f, 2, &seen) &&
                               Resource(f.bytes, Envelope<Decoded>::Service(res));
                    case 2:
                        return Accept(f, 2, nullptr) && ScopeItems(f.bytes);
                    case 3:
                        return Accept(f, 2, &seen) && Text(f.bytes);
                    default:
                        return Unknown();
                }
            })) {
            return false;
        }
        res.scope_count = static_cast<std::uint32_t>(out_->scopes.size()) - res.first_scope;
        out_->resources.push_back(res);
        return true;
    }

    // ScopeSpans / ScopeLogs.
    bool ScopeItems(std::string_view bytes) {
        typename Envelope<Decoded>::ScopeView scope;
        const auto first = static_cast<std::uint32_t>(Envelope<Decoded>::Items(*out_));
        Envelope<Decoded>::First(scope) = first;
        std::uint32_t seen = 0;
        if (!ReadFields(bytes, [&](const WireField& f) {
                switch (f.number) {
                    case 1:
                        scope.scope_field = f.whole;
                        return Accept(f, 2, &seen) && Scope(f.bytes);
                    case 2:
                        return Accept(f, 2, nullptr) && Items::Item(*this, f.bytes, f.whole);
                    case 3:
                        return Accept(f, 2, &seen) && Text(f.bytes);
                    default:
                        return Unknown();
                }
            })) {
            return false;
        }
        Envelope<Decoded>::Count(scope) =
            static_cast<std::uint32_t>(Envelope<Decoded>::Items(*out_)) - first;
        out_->scopes.push_back(scope);
        return true;
    }

    // Resource: its checks, and the first string service.name when `service` is given.
    bool Resource(std::string_view bytes, std::string_view* service) const {
        bool found = false;
        std::size_t count = 0;
        std::uint32_t seen = 0;
        return ReadFields(bytes, [&](const WireField& f) {
            switch (f.number) {
                case 1:
                    if (!Accept(f, 2, nullptr) || !Attribute(f.bytes, &count)) { return false; }
                    if (service != nullptr && !found) {
                        const AttributeView kv = ReadAttribute(f.bytes);
                        if (kv.key == "service.name" && kv.is_string) {
                            *service = kv.text;
                            found = true;
                        }
                    }
                    return true;
                case 2:
                    return Accept(f, 0, &seen) && Uint32(f.number_value);
                default:
                    return Unknown();
            }
        });
    }

    // InstrumentationScope: read for its checks only.
    bool Scope(std::string_view bytes) const {
        std::size_t count = 0;
        std::uint32_t seen = 0;
        return !strict_ || ReadFields(bytes, [&](const WireField& f) {
            switch (f.number) {
                case 1:
                case 2:
                    return Accept(f, 2, &seen) && Text(f.bytes);
                case 3:
                    return Accept(f, 2, nullptr) && Attribute(f.bytes, &count);
                case 4:
                    return Accept(f, 0, &seen) && Uint32(f.number_value);
                default:
                    return false;
            }
        });
    }

    Decoded* out_;
    const DecodeLimits& limits_;
    bool strict_;
};

// A span, its events, links and status.
struct SpanItems {
    using Reader = EnvelopeScanner<DecodedTraces, SpanItems>;

    static bool Item(Reader& r, std::string_view bytes, std::string_view whole) {
        DecodedTraces& out = *r.out_;
        SpanView s;
        s.whole = whole;
        s.first_attribute = static_cast<std::uint32_t>(out.attributes.size());
        std::size_t attributes = 0;
        std::size_t events = 0;
        std::size_t links = 0;
        std::uint32_t seen = 0;
        if (!ReadFields(bytes, [&](const WireField& f) {
                switch (f.number) {
                    case 1:
                        s.trace_id = f.bytes;
                        return r.Accept(f, 2, &seen);
                    case 2:
                        s.span_id = f.bytes;
                        return r.Accept(f, 2, &seen);
                    case 3:
                        return r.Accept(f, 2, &seen) && r.Text(f.bytes);
                    case 4:
                        s.parent_span_id = f.bytes;
                        return r.Accept(f, 2, &seen);
                    case 5:
                        s.name = f.bytes;
                        return r.Accept(f, 2, &seen) && r.Text(f.bytes, 1024);
                    case 6:
                        s.kind = static_cast<std::int32_t>(f.number_value);
                        return r.Accept(f, 0, &seen) && r.Int32(f.number_value);
                    case 7:
                        s.start_time_unix_nano = f.number_value;
                        return r.Accept(f, 1, &seen);
                    case 8:
                        s.end_time_unix_nano = f.number_value;
                        return r.Accept(f, 1, &seen);
                    case 9:
                        out.attributes.push_back(f.bytes);
                        return r.Accept(f, 2, nullptr) && r.Attribute(f.bytes, &attributes);
                    case 10:
                    case 12:
                    case 14:
                        return r.Accept(f, 0, &seen) && r.Uint32(f.number_value);
                    case 11:
                        return r.Accept(f, 2, nullptr) &&
                               (!r.strict_ ||
                                (++events <= r.limits_.max_events && Event(r, f.bytes)));
                    case 13:
                        return r.Accept(f, 2, nullptr) &&
                               (!r.strict_ || (++links <= r.limits_.max_links && Link(r, f.bytes)));
                    case 15:
                        return r.Accept(f, 2, &seen) && Status(r, f.bytes, &s.status_code);
                    case 16:
                        return r.Accept(f, 5, &seen);
                    default:
                        return r.Unknown();
                }
            })) {
            return false;
        }
        s.attribute_count = static_cast<std::uint32_t>(out.attributes.size()) - s.first_attribute;
        if (const char* why = SpanProblem(s); why != nullptr) {
            out.attributes.resize(s.first_attribute);  // left out
            r.Reject(why);
            return true;
        }
        out.spans.push_back(s);
        return true;
    }

    // Read (strict only) for their checks.
    static bool Event(const Reader& r, std::string_view bytes) {
        std::size_t count = 0;
        std::uint32_t seen = 0;
        return ReadFields(bytes, [&](const WireField& f) {
            switch (f.number) {
                case 1:
                    return r.Accept(f, 1, &seen);
                case 2:
                    return r.Accept(f, 2, &seen) && r.Text(f.bytes, 1024);
                case 3:
                    return r.Accept(f, 2, nullptr) && r.Attribute(f.bytes, &count);
                case 4:
                    return r.Accept(f, 0, &seen) && r.Uint32(f.number_value);
                default:
                    return false;
            }
        });
    }
    static bool Link(const Reader& r, std::string_view bytes) {
        std::size_t count = 0;
        std::uint32_t seen = 0;
        return ReadFields(bytes, [&](const WireField& f) {
            switch (f.number) {
                case 1:
                case 2:
                    return r.Accept(f, 2, &seen);
                case 3:
                    return r.Accept(f, 2, &seen) && r.Text(f.bytes);
                case 4:
                    return r.Accept(f, 2, nullptr) && r.Attribute(f.bytes, &count);
                case 5:
                    return r.Accept(f, 0, &seen) && r.Uint32(f.number_value);
                case 6:
                    return r.Accept(f, 5, &seen);
                default:
                    return false;
            }
        });
    }
    static bool Status(const Reader& r, std::string_view bytes, std::int32_t* code) {
        std::uint32_t seen = 0;
        return ReadFields(bytes, [&](const WireField& f) {
            switch (f.number) {
                case 2:
                    return r.Accept(f, 2, &seen) && r.Text(f.bytes, r.limits_.max_string_bytes);
                case 3:
                    *code = static_cast<std::int32_t>(f.number_value);
                    return r.Accept(f, 0, &seen) && r.Int32(f.number_value);
                default:
                    return r.Unknown();
            }
        });
    }
};
using TraceScanner = EnvelopeScanner<DecodedTraces, SpanItems>;

// A log record.
struct LogItems {
    using Reader = EnvelopeScanner<DecodedLogs, LogItems>;

    static bool Item(Reader& r, std::string_view bytes, std::string_view whole) {
        LogRecordView rec;
        rec.whole = whole;
        std::string_view span_id;
        std::size_t attributes = 0;
        std::uint32_t seen = 0;
        if (!ReadFields(bytes, [&](const WireField& f) {
                switch (f.number) {
                    case 1:
                    case 11:
                        return r.Accept(f, 1, &seen);
                    case 2:
                        return r.Accept(f, 0, &seen) && r.Int32(f.number_value);
                    case 3:
                    case 12:
                        return r.Accept(f, 2, &seen) && r.Text(f.bytes);
                    case 5:
                        return r.Accept(f, 2, &seen) &&
                               (!r.strict_ || PlainAnyValue(f.bytes, r.limits_, 0));
                    case 6:
                        return r.Accept(f, 2, nullptr) && r.Attribute(f.bytes, &attributes);
                    case 7:
                        return r.Accept(f, 0, &seen) && r.Uint32(f.number_value);
                    case 8:
                        return r.Accept(f, 5, &seen);
                    case 9:
                        rec.trace_id = f.bytes;
                        return r.Accept(f, 2, &seen);
                    case 10:
                        span_id = f.bytes;
                        return r.Accept(f, 2, &seen);
                    default:
                        return r.Unknown();
                }
            })) {
            return false;
        }
        if (const char* why = LogIdProblem(rec.trace_id, span_id); why != nullptr) {
            r.Reject(why);  // left out
            return true;
        }
        r.out_->records.push_back(rec);
        return true;
    }
};
using LogScanner = EnvelopeScanner<DecodedLogs, LogItems>;

void ValidateLogs(ExportLogsRequest* message, const DecodeLimits& limits, DecodedLogs* d) {
    for (auto& rl : *message->mutable_resource_logs()) {
        if (rl.has_resource()) {
            auto* res = rl.mutable_resource();
            std::uint32_t dropped = res->dropped_attributes_count();
            BoundAttributes(res->mutable_attributes(), limits, &dropped);
            res->set_dropped_attributes_count(dropped);
        }
        for (auto& sl : *rl.mutable_scope_logs()) {
            auto* recs = sl.mutable_log_records();
            int keep = 0;
            for (int i = 0; i < recs->size(); ++i) {
                otlp_logs::LogRecord* rec = recs->Mutable(i);
                if (const char* why = LogProblem(*rec); why != nullptr) {
                    ++d->rejected;
                    if (d->error_message.empty()) {
                        d->error_message = why;
                    }
                    continue;
                }
                std::uint32_t dropped = rec->dropped_attributes_count();
                BoundAttributes(rec->mutable_attributes(), limits, &dropped);
                rec->set_dropped_attributes_count(dropped);
                if (rec->has_body()) {
                    BoundValue(rec->mutable_body(), limits, 0);
                }
                if (keep != i) {
                    recs->SwapElements(keep, i);
                }
                ++keep;
            }
            while (recs->size() > keep) {
                recs->RemoveLast();
            }
        }
    }
}

// ---------------------------------------------------------------- OTLP/JSON

int HexDigit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int Base64Digit(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

bool FromBase64(std::string_view in, std::string* out) {
    out->clear();
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=') {
            break;
        }
        int d = Base64Digit(c);
        if (d < 0) {
            return false;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return true;
}

class JsonDecoder {
public:
    Status Fail(std::string what) {
        return Error{ErrorCode::kInvalidJson, "OTLP/JSON: " + std::move(what)};
    }

    static const JsonValue* Get(const JsonValue& obj, std::string_view camel,
                                std::string_view snake) {
        const JsonValue* v = obj.Find(camel);
        if (v == nullptr && !snake.empty()) {
            v = obj.Find(snake);
        }
        if (v != nullptr && v->is_null()) {
            return nullptr;
        }
        return v;
    }

    Status String(const JsonValue& obj, std::string_view camel, std::string_view snake,
                  std::string* out) {
        const JsonValue* v = Get(obj, camel, snake);
        if (v == nullptr) {
            return {};
        }
        if (!v->is_string()) {
            return Fail(std::string(camel) + " must be a string");
        }
        *out = v->as_string();
        return {};
    }

    // 64-bit integers: a JSON string or number (proto3 JSON writes them as strings).
    template <class Int>
    Status Integer(const JsonValue& obj, std::string_view camel, std::string_view snake,
                   Int* out) {
        const JsonValue* v = Get(obj, camel, snake);
        if (v == nullptr) {
            return {};
        }
        if (v->is_number()) {
            if constexpr (std::is_signed_v<Int>) {
                auto n = v->ToInt64();
                if (!n || *n < std::numeric_limits<Int>::min() ||
                    *n > std::numeric_limits<Int>::max()) {
                    return Fail(std::string(camel) + " out of range");
                }
                *out = static_cast<Int>(*n);
            } else {
                auto n = v->ToUint64();
                if (!n || *n > std::numeric_limits<Int>::max()) {
                    return Fail(std::string(camel) + " out of range");
                }
                *out = static_cast<Int>(*n);
            }
            return {};
        }
        if (v->is_string()) {
            const std::string& s = v->as_string();
            Int n{};
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
            if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
                return Fail(std::string(camel) + " is not an integer");
            }
            *out = n;
            return {};
        }
        return Fail(std::string(camel) + " must be a number or a string");
    }

    // Enums: an integer, or the enum value's name.
    template <class ParseFn>
    Status Enum(const JsonValue& obj, std::string_view camel, std::string_view snake, int* out,
                ParseFn parse) {
        const JsonValue* v = Get(obj, camel, snake);
        if (v == nullptr) {
            return {};
        }
        if (v->is_number()) {
            auto n = v->ToInt64();
            if (!n || *n < INT32_MIN || *n > INT32_MAX) {
                return Fail(std::string(camel) + " out of range");
            }
            *out = static_cast<int>(*n);
            return {};
        }
        if (v->is_string()) {
            if (!parse(v->as_string(), out)) {
                return Fail(std::string(camel) + " has an unknown name");
            }
            return {};
        }
        return Fail(std::string(camel) + " must be a number or a string");
    }

    // Ids: hex per the OTLP/JSON rules; base64 (proto3 JSON's bytes) tolerated. An id that is
    // neither decodes to something of the wrong size, which validation rejects per item.
    Status Id(const JsonValue& obj, std::string_view camel, std::string_view snake,
              std::string* out) {
        const JsonValue* v = Get(obj, camel, snake);
        if (v == nullptr) {
            return {};
        }
        if (!v->is_string()) {
            return Fail(std::string(camel) + " must be a string");
        }
        const std::string& s = v->as_string();
        if (FromHex(s, out)) {
            return {};
        }
        if ((s.size() == 24 || s.size() == 12) && FromBase64(s, out)) {
            return {};
        }
        out->assign("\x01", 1);  // invalid size: the item is rejected, the request is not
        return {};
    }

    const google::protobuf::RepeatedPtrField<otlp_common::KeyValue>* dummy_ = nullptr;

    template <class F>
    Status Array(const JsonValue& obj, std::string_view camel, std::string_view snake, F each) {
        const JsonValue* v = Get(obj, camel, snake);
        if (v == nullptr) {
            return {};
        }
        if (!v->is_array()) {
            return Fail(std::string(camel) + " must be an array");
        }
        for (const JsonValue& e : v->as_array()) {
            if (!e.is_object()) {
                return Fail(std::string(camel) + " elements must be objects");
            }
            if (Status s = each(e); !s) {
                return s;
            }
        }
        return {};
    }

    Status AnyValue(const JsonValue& v, otlp_common::AnyValue* out, int depth) {
        if (depth > 32) {
            return Fail("values nested too deeply");
        }
        if (!v.is_object()) {
            return Fail("an AnyValue must be an object");
        }
        if (const JsonValue* s = Get(v, "stringValue", "string_value")) {
            if (!s->is_string()) {
                return Fail("stringValue must be a string");
            }
            out->set_string_value(s->as_string());
        } else if (const JsonValue* b = Get(v, "boolValue", "bool_value")) {
            if (!b->is_bool()) {
                return Fail("boolValue must be a boolean");
            }
            out->set_bool_value(b->as_bool());
        } else if (Get(v, "intValue", "int_value") != nullptr) {
            std::int64_t n = 0;
            if (Status st = Integer(v, "intValue", "int_value", &n); !st) {
                return st;
            }
            out->set_int_value(n);
        } else if (const JsonValue* d = Get(v, "doubleValue", "double_value")) {
            if (d->is_number()) {
                auto x = d->ToDouble();
                out->set_double_value(x ? *x : 0.0);
            } else if (d->is_string()) {
                const std::string& t = d->as_string();
                if (t == "NaN") {
                    out->set_double_value(std::numeric_limits<double>::quiet_NaN());
                } else if (t == "Infinity") {
                    out->set_double_value(std::numeric_limits<double>::infinity());
                } else if (t == "-Infinity") {
                    out->set_double_value(-std::numeric_limits<double>::infinity());
                } else {
                    double x = 0;
                    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
                    if (ec != std::errc() || p != t.data() + t.size()) {
                        return Fail("doubleValue is not a number");
                    }
                    out->set_double_value(x);
                }
            } else {
                return Fail("doubleValue must be a number");
            }
        } else if (const JsonValue* a = Get(v, "arrayValue", "array_value")) {
            if (!a->is_object()) {
                return Fail("arrayValue must be an object");
            }
            auto* arr = out->mutable_array_value();
            const JsonValue* values = Get(*a, "values", "");
            if (values != nullptr) {
                if (!values->is_array()) {
                    return Fail("arrayValue.values must be an array");
                }
                for (const JsonValue& e : values->as_array()) {
                    if (Status st = AnyValue(e, arr->add_values(), depth + 1); !st) {
                        return st;
                    }
                }
            }
        } else if (const JsonValue* kv = Get(v, "kvlistValue", "kvlist_value")) {
            if (!kv->is_object()) {
                return Fail("kvlistValue must be an object");
            }
            if (Status st = KeyValues(*kv, "values", "", out->mutable_kvlist_value()->mutable_values(),
                                      depth + 1);
                !st) {
                return st;
            }
        } else if (const JsonValue* by = Get(v, "bytesValue", "bytes_value")) {
            if (!by->is_string()) {
                return Fail("bytesValue must be a string");
            }
            std::string bytes;
            if (!FromBase64(by->as_string(), &bytes)) {
                return Fail("bytesValue must be base64");
            }
            out->set_bytes_value(std::move(bytes));
        }
        return {};
    }

    Status KeyValues(const JsonValue& obj, std::string_view camel, std::string_view snake,
                     google::protobuf::RepeatedPtrField<otlp_common::KeyValue>* out,
                     int depth = 0) {
        return Array(obj, camel, snake, [&](const JsonValue& e) -> Status {
            auto* kv = out->Add();
            if (Status st = String(e, "key", "", kv->mutable_key()); !st) {
                return st;
            }
            if (const JsonValue* v = Get(e, "value", "")) {
                return AnyValue(*v, kv->mutable_value(), depth + 1);
            }
            return {};
        });
    }

    Status Resource(const JsonValue& parent, otlp_resource::Resource* out) {
        const JsonValue* r = Get(parent, "resource", "");
        if (r == nullptr) {
            return {};
        }
        if (!r->is_object()) {
            return Fail("resource must be an object");
        }
        if (Status st = KeyValues(*r, "attributes", "", out->mutable_attributes()); !st) {
            return st;
        }
        std::uint32_t d = 0;
        if (Status st = Integer(*r, "droppedAttributesCount", "dropped_attributes_count", &d); !st) {
            return st;
        }
        out->set_dropped_attributes_count(d);
        return {};
    }

    Status Scope(const JsonValue& parent, otlp_common::InstrumentationScope* out) {
        const JsonValue* s = Get(parent, "scope", "");
        if (s == nullptr) {
            return {};
        }
        if (!s->is_object()) {
            return Fail("scope must be an object");
        }
        if (Status st = String(*s, "name", "", out->mutable_name()); !st) {
            return st;
        }
        if (Status st = String(*s, "version", "", out->mutable_version()); !st) {
            return st;
        }
        return KeyValues(*s, "attributes", "", out->mutable_attributes());
    }

    Status Span(const JsonValue& j, otlp_trace::Span* span) {
        Status st;
        std::uint32_t u32 = 0;
        std::uint64_t u64 = 0;
        int e = 0;
        if (!(st = Id(j, "traceId", "trace_id", span->mutable_trace_id())) ||
            !(st = Id(j, "spanId", "span_id", span->mutable_span_id())) ||
            !(st = Id(j, "parentSpanId", "parent_span_id", span->mutable_parent_span_id())) ||
            !(st = String(j, "traceState", "trace_state", span->mutable_trace_state())) ||
            !(st = String(j, "name", "", span->mutable_name()))) {
            return st;
        }
        if (!(st = Integer(j, "flags", "", &u32))) {
            return st;
        }
        span->set_flags(u32);
        if (!(st = Enum(j, "kind", "", &e, [](const std::string& n, int* o) {
                  otlp_trace::Span_SpanKind k{};
                  bool ok = otlp_trace::Span_SpanKind_Parse(n, &k);
                  *o = k;
                  return ok;
              }))) {
            return st;
        }
        span->set_kind(static_cast<otlp_trace::Span_SpanKind>(e));
        if (!(st = Integer(j, "startTimeUnixNano", "start_time_unix_nano", &u64))) {
            return st;
        }
        span->set_start_time_unix_nano(u64);
        u64 = 0;
        if (!(st = Integer(j, "endTimeUnixNano", "end_time_unix_nano", &u64))) {
            return st;
        }
        span->set_end_time_unix_nano(u64);
        if (!(st = KeyValues(j, "attributes", "", span->mutable_attributes()))) {
            return st;
        }
        u32 = 0;
        if (!(st = Integer(j, "droppedAttributesCount", "dropped_attributes_count", &u32))) {
            return st;
        }
        span->set_dropped_attributes_count(u32);
        st = Array(j, "events", "", [&](const JsonValue& ej) -> Status {
            auto* ev = span->add_events();
            std::uint64_t t = 0;
            std::uint32_t d = 0;
            Status s2;
            if (!(s2 = Integer(ej, "timeUnixNano", "time_unix_nano", &t)) ||
                !(s2 = String(ej, "name", "", ev->mutable_name())) ||
                !(s2 = KeyValues(ej, "attributes", "", ev->mutable_attributes())) ||
                !(s2 = Integer(ej, "droppedAttributesCount", "dropped_attributes_count", &d))) {
                return s2;
            }
            ev->set_time_unix_nano(t);
            ev->set_dropped_attributes_count(d);
            return {};
        });
        if (!st) {
            return st;
        }
        u32 = 0;
        if (!(st = Integer(j, "droppedEventsCount", "dropped_events_count", &u32))) {
            return st;
        }
        span->set_dropped_events_count(u32);
        st = Array(j, "links", "", [&](const JsonValue& lj) -> Status {
            auto* l = span->add_links();
            std::uint32_t d = 0;
            std::uint32_t f = 0;
            Status s2;
            if (!(s2 = Id(lj, "traceId", "trace_id", l->mutable_trace_id())) ||
                !(s2 = Id(lj, "spanId", "span_id", l->mutable_span_id())) ||
                !(s2 = String(lj, "traceState", "trace_state", l->mutable_trace_state())) ||
                !(s2 = KeyValues(lj, "attributes", "", l->mutable_attributes())) ||
                !(s2 = Integer(lj, "droppedAttributesCount", "dropped_attributes_count", &d)) ||
                !(s2 = Integer(lj, "flags", "", &f))) {
                return s2;
            }
            l->set_dropped_attributes_count(d);
            l->set_flags(f);
            return {};
        });
        if (!st) {
            return st;
        }
        u32 = 0;
        if (!(st = Integer(j, "droppedLinksCount", "dropped_links_count", &u32))) {
            return st;
        }
        span->set_dropped_links_count(u32);
        if (const JsonValue* sj = Get(j, "status", "")) {
            if (!sj->is_object()) {
                return Fail("status must be an object");
            }
            auto* status = span->mutable_status();
            if (!(st = String(*sj, "message", "", status->mutable_message()))) {
                return st;
            }
            int code = 0;
            if (!(st = Enum(*sj, "code", "", &code, [](const std::string& n, int* o) {
                      otlp_trace::Status_StatusCode c{};
                      bool ok = otlp_trace::Status_StatusCode_Parse(n, &c);
                      *o = c;
                      return ok;
                  }))) {
                return st;
            }
            status->set_code(static_cast<otlp_trace::Status_StatusCode>(code));
        }
        return {};
    }

    Status Traces(const JsonValue& root, ExportTraceRequest* req) {
        if (!root.is_object()) {
            return Fail("the body must be a JSON object");
        }
        return Array(root, "resourceSpans", "resource_spans", [&](const JsonValue& rj) -> Status {
            auto* rs = req->add_resource_spans();
            Status st;
            if (!(st = Resource(rj, rs->mutable_resource())) ||
                !(st = String(rj, "schemaUrl", "schema_url", rs->mutable_schema_url()))) {
                return st;
            }
            return Array(rj, "scopeSpans", "scope_spans", [&](const JsonValue& sj) -> Status {
                auto* ss = rs->add_scope_spans();
                Status s2;
                if (!(s2 = Scope(sj, ss->mutable_scope())) ||
                    !(s2 = String(sj, "schemaUrl", "schema_url", ss->mutable_schema_url()))) {
                    return s2;
                }
                return Array(sj, "spans", "", [&](const JsonValue& spj) -> Status {
                    return Span(spj, ss->add_spans());
                });
            });
        });
    }

    Status LogRecord(const JsonValue& j, otlp_logs::LogRecord* rec) {
        Status st;
        std::uint64_t t = 0;
        std::uint64_t ot = 0;
        std::uint32_t u = 0;
        std::uint32_t f = 0;
        int sev = 0;
        if (!(st = Integer(j, "timeUnixNano", "time_unix_nano", &t)) ||
            !(st = Integer(j, "observedTimeUnixNano", "observed_time_unix_nano", &ot)) ||
            !(st = String(j, "severityText", "severity_text", rec->mutable_severity_text())) ||
            !(st = KeyValues(j, "attributes", "", rec->mutable_attributes())) ||
            !(st = Integer(j, "droppedAttributesCount", "dropped_attributes_count", &u)) ||
            !(st = Integer(j, "flags", "", &f)) ||
            !(st = Id(j, "traceId", "trace_id", rec->mutable_trace_id())) ||
            !(st = Id(j, "spanId", "span_id", rec->mutable_span_id())) ||
            !(st = String(j, "eventName", "event_name", rec->mutable_event_name()))) {
            return st;
        }
        if (!(st = Enum(j, "severityNumber", "severity_number", &sev,
                        [](const std::string& n, int* o) {
                            otlp_logs::SeverityNumber s{};
                            bool ok = otlp_logs::SeverityNumber_Parse(n, &s);
                            *o = s;
                            return ok;
                        }))) {
            return st;
        }
        rec->set_time_unix_nano(t);
        rec->set_observed_time_unix_nano(ot);
        rec->set_dropped_attributes_count(u);
        rec->set_flags(f);
        rec->set_severity_number(static_cast<otlp_logs::SeverityNumber>(sev));
        if (const JsonValue* b = Get(j, "body", "")) {
            return AnyValue(*b, rec->mutable_body(), 0);
        }
        return {};
    }

    Status Logs(const JsonValue& root, ExportLogsRequest* req) {
        if (!root.is_object()) {
            return Fail("the body must be a JSON object");
        }
        return Array(root, "resourceLogs", "resource_logs", [&](const JsonValue& rj) -> Status {
            auto* rl = req->add_resource_logs();
            Status st;
            if (!(st = Resource(rj, rl->mutable_resource())) ||
                !(st = String(rj, "schemaUrl", "schema_url", rl->mutable_schema_url()))) {
                return st;
            }
            return Array(rj, "scopeLogs", "scope_logs", [&](const JsonValue& sj) -> Status {
                auto* sl = rl->add_scope_logs();
                Status s2;
                if (!(s2 = Scope(sj, sl->mutable_scope())) ||
                    !(s2 = String(sj, "schemaUrl", "schema_url", sl->mutable_schema_url()))) {
                    return s2;
                }
                return Array(sj, "logRecords", "log_records", [&](const JsonValue& lj) -> Status {
                    return LogRecord(lj, sl->add_log_records());
                });
            });
        });
    }
};

common::JsonLimits OtlpJsonLimits(std::size_t body_size) {
    common::JsonLimits l;
    l.max_depth = 96;
    l.max_string_bytes = 4 << 20;
    // A value takes at least a few bytes of text: bound elements by the body, not a constant.
    l.max_elements = std::max<std::size_t>(1024, body_size / 2);
    return l;
}

std::unique_ptr<google::protobuf::Arena> NewArena() {
    google::protobuf::ArenaOptions opts;
    opts.start_block_size = kArenaBlock;
    opts.max_block_size = kArenaBlock;
    opts.block_alloc = &AllocArenaBlock;
    opts.block_dealloc = &FreeArenaBlock;
    return std::make_unique<google::protobuf::Arena>(opts);
}

// Parses the body (either encoding) into a Message on the arena.
template <class Message>
Result<Message*> Parse(std::string_view body, Encoding encoding, google::protobuf::Arena* arena) {
    auto* message = google::protobuf::Arena::CreateMessage<Message>(arena);
    if (encoding == Encoding::kProtobuf) {
        if (body.size() > static_cast<std::size_t>(INT32_MAX) ||
            !message->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
            return Error{ErrorCode::kBadRequest, "the body is not a valid OTLP protobuf message"};
        }
        return message;
    }
    auto json = common::ParseJson(body, OtlpJsonLimits(body.size()));
    if (!json) { return Error{ErrorCode::kInvalidJson, json.error().message}; }
    JsonDecoder dec;
    Status st;
    if constexpr (std::is_same_v<Message, ExportTraceRequest>) {
        st = dec.Traces(*json, message);
    } else {
        st = dec.Logs(*json, message);
    }
    if (!st) { return st.error(); }
    return message;
}

// Reads a request's encoding the official classes wrote (or, replaying, the store) into `d`,
// which takes the bytes.
template <class Scanner, class Decoded>
bool ReadOwned(std::string bytes, Decoded* d) {
    d->storage = std::make_unique<std::string>(std::move(bytes));
    d->bytes = *d->storage;
    return Scanner(d, DecodeLimits{}, false).Request(d->bytes);
}

// Decodes a body: read in place when plain, else by the official classes (`Message`), bounded
// by `validate`, and their encoding read back.
template <class Message, class Scanner, class Decoded, class Validate>
Result<Decoded> DecodeBody(std::string body, Encoding encoding, const DecodeLimits& limits,
                           Validate validate) {
    if (encoding == Encoding::kProtobuf) {
        Decoded d;
        d.wire_bytes = body.size();
        d.storage = std::make_unique<std::string>(std::move(body));
        d.bytes = *d.storage;
        if (Scanner(&d, limits, true).Request(d.bytes)) { return d; }
        body = std::move(*d.storage);
    }
    // Not plain: the official classes decide and bound, and what they encode is read back.
    Decoded d;
    d.wire_bytes = body.size();
    std::unique_ptr<google::protobuf::Arena> arena = NewArena();
    auto m = Parse<Message>(body, encoding, arena.get());
    if (!m) { return std::move(m).error(); }
    validate(*m, &d);
    (*m)->DiscardUnknownFields();
    if (!ReadOwned<Scanner>((*m)->SerializeAsString(), &d)) {
        return Error{ErrorCode::kInternal, "re-reading a decoded OTLP request failed"};
    }
    return d;
}

// Reads what the store wrote; an older collector's bytes may hold unknown fields (groups among
// them), which the official classes read and drop first.
template <class Message, class Scanner, class Decoded>
bool ReadStored(std::string_view bytes, Decoded* out) {
    Decoded d;
    d.wire_bytes = bytes.size();
    d.bytes = bytes;
    if (!Scanner(&d, DecodeLimits{}, false).Request(bytes)) {
        Message m;
        if (bytes.size() > static_cast<std::size_t>(INT32_MAX) ||
            !m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
            return false;
        }
        m.DiscardUnknownFields();
        d = Decoded{};
        d.wire_bytes = bytes.size();
        if (!ReadOwned<Scanner>(m.SerializeAsString(), &d)) { return false; }
    }
    *out = std::move(d);
    return true;
}

void AppendVarint(std::string* out, std::uint64_t v) {
    for (; v >= 0x80; v >>= 7) { out->push_back(static_cast<char>((v & 0x7F) | 0x80)); }
    out->push_back(static_cast<char>(v));
}

// Appends field `number` (length-delimited) holding `bytes`.
void AppendLengthDelimited(std::string* out, int number, std::string_view bytes) {
    AppendVarint(out, (static_cast<std::uint64_t>(number) << 3) | 2);
    AppendVarint(out, bytes.size());
    out->append(bytes);
}

std::string PartialJson(std::string_view count_key, std::int64_t rejected,
                        std::string_view message) {
    if (rejected == 0 && message.empty()) { return "{}"; }
    common::JsonWriter w;
    w.BeginObject().Key("partialSuccess").BeginObject();
    w.Key(count_key).String(std::to_string(rejected));
    w.Key("errorMessage").String(message);
    w.EndObject().EndObject();
    return w.Take();
}

}  // namespace

Result<DecodedTraces> DecodeTraces(std::string body, Encoding encoding,
                                   const DecodeLimits& limits) {
    return DecodeBody<ExportTraceRequest, TraceScanner, DecodedTraces>(
        std::move(body), encoding, limits, [&](ExportTraceRequest* m, DecodedTraces* d) {
            ValidateTraces(m, limits, &d->rejected, &d->error_message);
        });
}

Result<DecodedLogs> DecodeLogs(std::string body, Encoding encoding, const DecodeLimits& limits) {
    return DecodeBody<ExportLogsRequest, LogScanner, DecodedLogs>(
        std::move(body), encoding, limits,
        [&](ExportLogsRequest* m, DecodedLogs* d) { ValidateLogs(m, limits, d); });
}

bool ReadStoredTraces(std::string_view bytes, DecodedTraces* out) {
    return ReadStored<ExportTraceRequest, TraceScanner>(bytes, out);
}

bool ReadStoredLogs(std::string_view bytes, DecodedLogs* out) {
    return ReadStored<ExportLogsRequest, LogScanner>(bytes, out);
}

namespace {

template <class Decoded>
std::string EncodeKeptItems(const Decoded& d) {
    using E = Envelope<Decoded>;
    std::string out;
    for (const auto& r : d.resources) {
        std::string resource(r.resource_field);
        for (std::uint32_t i = r.first_scope; i < r.first_scope + r.scope_count; ++i) {
            const auto& sc = d.scopes[i];
            std::string scope(sc.scope_field);
            for (std::uint32_t j = E::First(sc); j < E::First(sc) + E::Count(sc); ++j) {
                scope += E::Item(d, j);
            }
            AppendLengthDelimited(&resource, 2, scope);
        }
        AppendLengthDelimited(&out, 1, resource);
    }
    return out;
}

}  // namespace

std::string EncodeKept(const DecodedTraces& d) {
    return EncodeKeptItems(d);
}

std::string EncodeKept(const DecodedLogs& d) {
    return EncodeKeptItems(d);
}

AttributeView ReadAttribute(std::string_view encoded) {
    AttributeView a;
    WireReader r(encoded);
    while (!r.Done()) {
        std::uint64_t tag = 0;
        std::string_view f;
        if (!r.Varint(&tag) || (tag & 7) != 2 || !r.Bytes(&f)) {
            break;
        }
        if (tag == Tag(1, 2)) {
            a.key = f;
        } else if (tag == Tag(2, 2)) {
            a.value = f;
        }
    }
    // The value's last field decides (a oneof), as in the official classes.
    WireReader v(a.value);
    while (!v.Done()) {
        std::uint64_t tag = 0;
        std::uint64_t n = 0;
        std::string_view f;
        if (!v.Varint(&tag)) {
            break;
        }
        bool ok = true;
        switch (tag & 7) {
            case 0: ok = v.Varint(&n); break;
            case 1: ok = v.Fixed(8); break;
            case 2: ok = v.Bytes(&f); break;
            case 5: ok = v.Fixed(4); break;
            default: ok = false; break;
        }
        if (!ok) {
            break;
        }
        if (tag >> 3 >= 1 && tag >> 3 <= 7) {
            a.is_string = tag == Tag(1, 2);
            a.text = a.is_string ? f : std::string_view();
            a.is_int = tag == Tag(3, 0);
            a.integer = a.is_int ? static_cast<std::int64_t>(n) : 0;
        }
    }
    return a;
}

std::string EncodeTraceResponse(std::int64_t rejected, std::string_view message,
                                Encoding encoding) {
    if (encoding == Encoding::kJson) {
        return PartialJson("rejectedSpans", rejected, message);
    }
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse r;
    if (rejected != 0 || !message.empty()) {
        r.mutable_partial_success()->set_rejected_spans(rejected);
        r.mutable_partial_success()->set_error_message(std::string(message));
    }
    return r.SerializeAsString();
}

std::string EncodeLogsResponse(std::int64_t rejected, std::string_view message,
                               Encoding encoding) {
    if (encoding == Encoding::kJson) {
        return PartialJson("rejectedLogRecords", rejected, message);
    }
    opentelemetry::proto::collector::logs::v1::ExportLogsServiceResponse r;
    if (rejected != 0 || !message.empty()) {
        r.mutable_partial_success()->set_rejected_log_records(rejected);
        r.mutable_partial_success()->set_error_message(std::string(message));
    }
    return r.SerializeAsString();
}

void TuneAllocator() {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

void QuietProtobufLogging() {
    google::protobuf::SetLogHandler(
        [](google::protobuf::LogLevel, const char*, int, const std::string&) {});
}

std::string ToHex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(bytes.size() * 2, '0');
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto b = static_cast<unsigned char>(bytes[i]);
        out[2 * i] = kDigits[b >> 4];
        out[2 * i + 1] = kDigits[b & 0xF];
    }
    return out;
}

bool FromHex(std::string_view hex, std::string* out) {
    if (hex.size() % 2 != 0) {
        return false;
    }
    out->resize(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = HexDigit(hex[i]);
        int lo = HexDigit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        (*out)[i / 2] = static_cast<char>((hi << 4) | lo);
    }
    return true;
}

}  // namespace flowex::collector
