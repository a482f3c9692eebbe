#pragma once
/// OTLP encoders, hand-written (no protobuf message objects on the export path).
///
/// Protobuf: ExportTraceServiceRequest / ExportLogsServiceRequest with the official field
/// numbers (libs/otlp/proto). Spans are grouped by resource, then by instrumentation scope,
/// keeping their order. Sizes are computed first, then bytes are written once.
///
/// JSON follows the OTLP/JSON rules: lowerCamelCase field names, trace and span ids as hex
/// strings, enums as integers, 64-bit integers (times, intValue) as decimal strings, defaults
/// omitted. Strings must be UTF-8.
///
/// All functions append to `out`, are thread-safe (no shared state) and never throw except
/// std::bad_alloc.
#include <span>
#include <string>

#include "flowex/telemetry/logs/log_record.hpp"
#include "flowex/telemetry/sdk/span_data.hpp"

namespace flowex::telemetry::exporters {

void EncodeTracesProtobuf(std::span<const sdk::SpanData* const> spans, std::string& out);
void EncodeTracesJson(std::span<const sdk::SpanData* const> spans, std::string& out);
void EncodeLogsProtobuf(std::span<const logs::LogRecordData* const> records, std::string& out);
void EncodeLogsJson(std::span<const logs::LogRecordData* const> records, std::string& out);

/// gzip (RFC 1952) of `in`; false on a zlib error.
bool GzipCompress(std::string_view in, std::string& out);

}  // namespace flowex::telemetry::exporters
