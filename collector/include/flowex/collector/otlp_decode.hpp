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
/// Spans are decoded into `flowex.otlp.ingest` messages (libs/otlp/proto/flowex/otlp/
/// ingest.proto): the official ones, except that a span's attributes stay encoded KeyValue
/// messages (`ReadAttribute` reads one). A protobuf body whose span attributes are plain
/// (well-formed, ASCII, within the limits) is decoded that way directly; any other body, and
/// every JSON body, goes through the official classes and the limits first, so both ways accept,
/// refuse and bound exactly the same requests.
/// Thread-safe: the functions keep no state.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <google/protobuf/arena.h>

#include "flowex/common/result.hpp"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb.h"
#include "flowex/otlp/ingest.pb.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace flowex::collector {

namespace otlp_trace = opentelemetry::proto::trace::v1;
namespace otlp_logs = opentelemetry::proto::logs::v1;
namespace otlp_common = opentelemetry::proto::common::v1;
namespace otlp_resource = opentelemetry::proto::resource::v1;
using ExportTraceRequest = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;
using ExportLogsRequest = opentelemetry::proto::collector::logs::v1::ExportLogsServiceRequest;
namespace ingest = flowex::otlp::ingest;
using IngestTraceRequest = ingest::ExportTraceServiceRequest;

enum class Encoding { kProtobuf, kJson };

struct DecodeLimits {
    std::size_t max_attributes = 128;  // per span, event, link, resource, scope, log record
    std::size_t max_events = 128;
    std::size_t max_links = 128;
    std::size_t max_string_bytes = 16 * 1024;  // attribute values, names, bodies
};

/// A decoded request. The message lives on `arena`; move-only.
template <class Message>
struct Decoded {
    std::unique_ptr<google::protobuf::Arena> arena;
    Message* message = nullptr;
    std::int64_t accepted = 0;  // spans or log records kept
    std::int64_t rejected = 0;  // removed by validation
    std::string error_message;  // why (first reason), empty when nothing was rejected
    std::size_t wire_bytes = 0;  // size of the body it came from (queue accounting)
    /// A copy (on the arena) of the protobuf body when `message` is its exact decoding (nothing
    /// truncated by the limits): the store then copies spans' wire bytes instead of
    /// re-serializing them. Empty for JSON or when validation changed a span.
    std::string_view raw;
};
using DecodedTraces = Decoded<IngestTraceRequest>;
using DecodedLogs = Decoded<ExportLogsRequest>;

/// Decodes and validates an ExportTraceServiceRequest. Errors: kInvalidJson / kBadRequest
/// (unparseable body, wrong JSON types) — the whole request is refused.
common::Result<DecodedTraces> DecodeTraces(std::string_view body, Encoding encoding,
                                           const DecodeLimits& limits = {});
common::Result<DecodedLogs> DecodeLogs(std::string_view body, Encoding encoding,
                                       const DecodeLimits& limits = {});

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
