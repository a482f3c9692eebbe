// libFuzzer target: OTLP/JSON bodies (traces and logs) through the collector's decoder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flowex/collector/otlp_decode.hpp"
#include "flowex/collector/render.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    namespace fc = flowex::collector;
    auto traces = fc::DecodeTraces(body, fc::Encoding::kJson);
    if (traces) {
        fc::otlp_trace::TracesData td;
        for (const auto& rs : traces->message->resource_spans()) {
            *td.add_resource_spans() = rs;
        }
        flowex::common::JsonWriter w;
        fc::WriteJaegerTrace(w, td);
        (void)fc::EncodeTraceResponse(traces->rejected, traces->error_message, fc::Encoding::kJson);
    }
    auto logs = fc::DecodeLogs(body, fc::Encoding::kJson);
    if (logs) {
        fc::otlp_logs::LogsData ld;
        for (const auto& rl : logs->message->resource_logs()) {
            *ld.add_resource_logs() = rl;
        }
        (void)fc::RenderTraceLogs(ld);
    }
    return 0;
}
