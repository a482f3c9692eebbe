// libFuzzer target: OTLP/HTTP protobuf bodies (traces and logs) through the collector's
// decoder, validation and limits. Any input must yield a value or an error, never a crash, and
// the same verdict as the official classes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flowex/collector/otlp_decode.hpp"
#include "flowex/collector/render.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool quiet = (flowex::collector::QuietProtobufLogging(), true);
    (void)quiet;
    std::string_view body(reinterpret_cast<const char*>(data), size);
    namespace fc = flowex::collector;
    auto traces = fc::DecodeTraces(std::string(body), fc::Encoding::kProtobuf);
    // The decoder reads plain bodies itself and leaves the rest to the official classes: it
    // must refuse exactly what they refuse.
    fc::ExportTraceRequest official;
    if (static_cast<bool>(traces) != official.ParseFromArray(body.data(), static_cast<int>(size))) {
        __builtin_trap();
    }
    if (traces) {
        // Whatever validation kept must render (the query path's view of it).
        // What the decoder keeps is stored as it is encoded, and the query path reads it with
        // the official classes: they must accept it (TracesData shares the request's field 1).
        fc::otlp_trace::TracesData td;
        if (!td.ParseFromString(fc::EncodeKept(*traces))) { __builtin_trap(); }
        flowex::common::JsonWriter w;
        fc::WriteJaegerTrace(w, td);
        w.Clear();
        w.BeginArray();
        fc::WriteOtlpResourceSpans(w, td);
        w.EndArray();
        (void)fc::EncodeTraceResponse(traces->rejected, traces->error_message, fc::Encoding::kProtobuf);
    }
    auto logs = fc::DecodeLogs(std::string(body), fc::Encoding::kProtobuf);
    fc::ExportLogsRequest official_logs;
    if (static_cast<bool>(logs) !=
        official_logs.ParseFromArray(body.data(), static_cast<int>(size))) {
        __builtin_trap();
    }
    if (logs) {
        // Kept log records are stored as they are encoded, and read with the official classes.
        fc::otlp_logs::LogsData ld;
        if (!ld.ParseFromString(fc::EncodeKept(*logs))) { __builtin_trap(); }
        (void)fc::RenderTraceLogs(ld);
    }
    return 0;
}
