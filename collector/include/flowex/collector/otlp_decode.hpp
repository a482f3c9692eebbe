#pragma once
/// OTLP/HTTP request decoding: protobuf and OTLP/JSON bodies become the generated OTLP
/// protobuf messages (one internal model for both encodings), validated and bounded.
///
/// Validation per item: a span needs a 16-byte non-zero trace id and an 8-byte non-zero span
/// id (a parent id, when present, must be 8 bytes); a log record's ids, when present, must
/// have those sizes. An invalid item is removed and counted in `rejected` (the response's
/// `partialSuccess`); the rest of the request is kept. A body that cannot be parsed at all is
/// an error (400) and nothing of it is stored.
///
/// Limits (truncation, never rejection, so a huge span still arrives): attributes, events and
/// links beyond `Limits` are dropped (counted in the `dropped_*_count` fields, as the OTel SDK
/// does), strings longer than `max_string_bytes` are cut at a UTF-8 boundary.
///
/// Spans and log records are decoded into views (`DecodedTraces`, `DecodedLogs`): each
/// resource, scope, span and record is a slice of protobuf bytes the decoded request keeps, with
/// the few fields the store reads, and a span's attributes stay encoded KeyValue messages
/// (`ReadAttribute` reads one). A protobuf body in the plain form every OpenTelemetry SDK sends
/// (each field of its declared wire type and at most once, no unknown field, ASCII strings,
/// within the limits) is read that way in one pass, without building messages; any other body,
/// and every JSON body, goes through the official classes and the limits first and is then read
/// the same way from their encoding, so both ways accept, refuse and bound exactly the same
/// requests.
/// Thread-safe: the functions keep no state.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flowex/common/result.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace flowex::collector {

namespace otlp_trace = opentelemetry::proto::trace::v1;
namespace otlp_logs = opentelemetry::proto::logs::v1;
namespace otlp_common = opentelemetry::proto::common::v1;
namespace otlp_resource = opentelemetry::proto::resource::v1;
using ExportTraceRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using ExportLogsRequest = opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;

enum class Encoding { kProtobuf, kJson };

struct DecodeLimits {
    std::size_t max_attributes = 128;  // per span, event, link, resource, scope, log record
    std::size_t max_events = 128;
    std::size_t max_links = 128;
    std::size_t max_string_bytes = 16 * 1024;  // attribute values, names, bodies
};

/// One span of a decoded request: views of DecodedTraces' bytes.
struct SpanView {
    std::string_view whole;     // field 2 of ScopeSpans (tag, length, span): what the store keeps
    std::string_view trace_id;  // 16 bytes, not all zero
    std::string_view span_id;   // 8 bytes, not all zero
    std::string_view parent_span_id;  // empty (a root) or 8 bytes
    std::string_view name;
    std::uint64_t start_time_unix_nano = 0;
    std::uint64_t end_time_unix_nano = 0;
    std::int32_t kind = 0;              // OTLP SpanKind
    std::int32_t status_code = 0;       // OTLP Status.StatusCode
    std::uint32_t first_attribute = 0;  // in DecodedTraces::attributes
    std::uint32_t attribute_count = 0;
};
/// One ScopeSpans: its scope field (field 1 with tag and length; empty when absent) and spans.
struct ScopeSpansView {
    std::string_view scope_field;
    std::uint32_t first_span = 0;  // in DecodedTraces::spans
    std::uint32_t span_count = 0;
};
/// One ResourceSpans: its resource field (field 1 with tag and length; empty when absent), the
/// resource's service.name ("unknown_service" without one) and its ScopeSpans.
struct ResourceSpansView {
    std::string_view resource_field;
    std::string_view service = "unknown_service";
    std::uint32_t first_scope = 0;  // in DecodedTraces::scopes
    std::uint32_t scope_count = 0;
};

/// A decoded trace request: views of `bytes` (valid spans only; rejected ones are left out).
/// Move-only; moving keeps the views valid.
struct DecodedTraces {
    std::unique_ptr<std::string> storage;  // what `bytes` views, when the request owns it
    std::string_view bytes;
    std::vector<ResourceSpansView> resources;
    std::vector<ScopeSpansView> scopes;
    std::vector<SpanView> spans;
    std::vector<std::string_view> attributes;  // encoded KeyValue messages
    std::int64_t accepted = 0;                 // spans kept
    std::int64_t rejected = 0;                 // removed by validation
    std::string error_message;   // why (first reason), empty when nothing was rejected
    std::size_t wire_bytes = 0;  // size of the body it came from (queue accounting)

    DecodedTraces() = default;
    DecodedTraces(DecodedTraces&&) noexcept = default;
    DecodedTraces& operator=(DecodedTraces&&) noexcept = default;

    std::span<const std::string_view> AttributesOf(const SpanView& s) const {
        return {attributes.data() + s.first_attribute, s.attribute_count};
    }
    /// The memory it holds: its bytes (when owned) and views.
    std::size_t Footprint() const {
        return (storage ? storage->capacity() : 0) +
               resources.capacity() * sizeof(ResourceSpansView) +
               scopes.capacity() * sizeof(ScopeSpansView) + spans.capacity() * sizeof(SpanView) +
               attributes.capacity() * sizeof(std::string_view);
    }
};

/// One log record of a decoded request: its field (tag, length, record) in DecodedLogs' bytes,
/// and its trace id (empty or 16 bytes).
struct LogRecordView {
    std::string_view whole;
    std::string_view trace_id;
};
struct ScopeLogsView {
    std::string_view scope_field;    // field 1 of ScopeLogs with tag and length; empty when absent
    std::uint32_t first_record = 0;  // in DecodedLogs::records
    std::uint32_t record_count = 0;
};
struct ResourceLogsView {
    std::string_view resource_field;  // field 1 of ResourceLogs with tag and length, or empty
    std::uint32_t first_scope = 0;    // in DecodedLogs::scopes
    std::uint32_t scope_count = 0;
};

/// A decoded log request: views of `bytes`, as DecodedTraces (valid records only).
struct DecodedLogs {
    std::unique_ptr<std::string> storage;  // what `bytes` views, when the request owns it
    std::string_view bytes;
    std::vector<ResourceLogsView> resources;
    std::vector<ScopeLogsView> scopes;
    std::vector<LogRecordView> records;
    std::int64_t accepted = 0;  // log records kept
    std::int64_t rejected = 0;  // removed by validation
    std::string error_message;  // why (first reason), empty when nothing was rejected
    std::size_t wire_bytes = 0;  // size of the body it came from (queue accounting)

    DecodedLogs() = default;
    DecodedLogs(DecodedLogs&&) noexcept = default;
    DecodedLogs& operator=(DecodedLogs&&) noexcept = default;

    /// The memory it holds: its bytes (when owned) and views.
    std::size_t Footprint() const {
        return (storage ? storage->capacity() : 0) +
               resources.capacity() * sizeof(ResourceLogsView) +
               scopes.capacity() * sizeof(ScopeLogsView) +
               records.capacity() * sizeof(LogRecordView);
    }
};

/// Decodes and validates an ExportTraceServiceRequest. Errors: kInvalidJson / kBadRequest
/// (unparseable body, wrong JSON types) — the whole request is refused. A plain protobuf body
/// becomes the result's storage, its views pointing into it: pass it by move to spare a copy.
common::Result<DecodedTraces> DecodeTraces(std::string body, Encoding encoding,
                                           const DecodeLimits& limits = {});
common::Result<DecodedLogs> DecodeLogs(std::string body, Encoding encoding,
                                       const DecodeLimits& limits = {});

/// Reads spans or log records the store wrote (a request's encoding) as views of `bytes`,
/// which the caller keeps alive; false when they are not such an encoding.
bool ReadStoredTraces(std::string_view bytes, DecodedTraces* out);
bool ReadStoredLogs(std::string_view bytes, DecodedLogs* out);

/// The kept spans or log records as one request's encoding, each resource, scope and item as
/// the store keeps them (for tests and tools; schema URLs are not kept).
std::string EncodeKept(const DecodedTraces& d);
std::string EncodeKept(const DecodedLogs& d);

/// One span attribute of a decoded request (an encoded KeyValue): its key, and its value still
/// encoded (an AnyValue message, empty when unset). Reads any bytes safely; on bytes the decoder
/// did not check, a malformed field ends the reading (what was read so far is returned).
struct AttributeView {
    std::string_view key;
    std::string_view value;
    /// The value is a string (AnyValue.string_value): `text` is that string.
    bool is_string = false;
    std::string_view text;
    /// The value is an integer (AnyValue.int_value): `integer` is it.
    bool is_int = false;
    std::int64_t integer = 0;
};
AttributeView ReadAttribute(std::string_view encoded);

/// The ExportTraceServiceResponse / ExportLogsServiceResponse body for a decoded request
/// (`partialSuccess` when something was rejected), in the request's encoding.
std::string EncodeTraceResponse(std::int64_t rejected, std::string_view message,
                                Encoding encoding);
std::string EncodeLogsResponse(std::int64_t rejected, std::string_view message,
                               Encoding encoding);

/// Keeps the decoders' arena blocks (up to a few MiB per batch) on the heap instead of fresh
/// mmap()s: each batch would otherwise page-fault its memory in and hand it back. Process-wide.
void TuneAllocator();

/// Silences protobuf's own stderr logging of parse failures (hostile input would flood it).
void QuietProtobufLogging();

/// Lower-case hex of bytes; and its inverse (nullopt-like empty string on bad input).
std::string ToHex(std::string_view bytes);
bool FromHex(std::string_view hex, std::string* out);

}  // namespace flowex::collector
