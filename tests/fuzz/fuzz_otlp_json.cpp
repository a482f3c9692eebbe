// libFuzzer target: OTLP/JSON bodies (traces and logs) through the collector's decoder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flowex/collector/otlp_decode.hpp"
#include "flowex/collector/render.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    namespace fc = flowex::collector;
    auto traces = fc::DecodeTraces(std::string(body), fc::Encoding::kJson);
    if (traces) {
        // What the decoder keeps is stored as it is encoded, and the query path reads it with
        // the official classes: they must accept it (TracesData shares the request's field 1).
        fc::otlp_trace::TracesData td;
        if (!td.ParseFromString(fc::EncodeKept(*traces))) { __builtin_trap(); }
        flowex::common::JsonWriter w;
        fc::WriteJaegerTrace(w, td);
        (void)fc::EncodeTraceResponse(traces->rejected, traces->error_message, fc::Encoding::kJson);
    }
    auto logs = fc::DecodeLogs(std::string(body), fc::Encoding::kJson);
    if (logs) {
        // Kept log records are stored as they are encoded, and read with the official classes.
        fc::otlp_logs::LogsData ld;
        if (!ld.ParseFromString(fc::EncodeKept(*logs))) { __builtin_trap(); }
        (void)fc::RenderTraceLogs(ld);
    }
    return 0;
}
