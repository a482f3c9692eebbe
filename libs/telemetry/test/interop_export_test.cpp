// Writes sample exports for the node interop checks in tests/interop (run by CTest's
// TelemetryInterop.* through run_interop.cmake, which sets FLOWEX_INTEROP_OUT). Without that
// variable the test is skipped.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>

#include "flowex/telemetry/api/propagation.hpp"
#include "flowex/telemetry/exporters/otlp_encode.hpp"
#include "test_util.hpp"

namespace flowex::telemetry {
namespace {

namespace json = boost::json;

json::value ValueJson(const sdk::OwnedValue& v) {
    return std::visit(
        [](const auto& x) -> json::value {
            using T = std::decay_t<decltype(x)>;
            json::object o;
            if constexpr (std::is_same_v<T, bool>) {
                o["type"] = "bool";
                o["value"] = x;
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
                o["type"] = "int";
                o["value"] = std::to_string(x);
            } else if constexpr (std::is_same_v<T, double>) {
                o["type"] = "double";
                o["value"] = x;
            } else if constexpr (std::is_same_v<T, std::string>) {
                o["type"] = "string";
                o["value"] = x;
            } else {
                o["type"] = "array";
                json::array a;
                for (const auto& e : x) {
                    using E = std::conditional_t<std::is_same_v<T, std::vector<bool>>, bool,
                                                 typename T::value_type>;
                    const E element = e;
                    a.push_back(ValueJson(sdk::OwnedValue(element)));
                }
                o["value"] = std::move(a);
            }
            return o;
        },
        v);
}

json::object AttrsJson(const sdk::AttributeList& list) {
    json::object o;
    for (const auto& a : list) {
        o[std::string(a.key.view())] = ValueJson(a.value);
    }
    return o;
}

// What was recorded in-process, written without the encoders under test.
json::value Expected(const std::vector<sdk::SpanData>& spans) {
    json::array out;
    for (const auto& s : spans) {
        json::object o;
        o["traceId"] = s.trace_id.Hex();
        o["spanId"] = s.span_id.Hex();
        o["parentSpanId"] = s.parent_span_id.IsValid() ? s.parent_span_id.Hex() : "";
        o["traceState"] = s.trace_state;
        o["name"] = s.name;
        o["kind"] = static_cast<int>(s.kind);
        o["startTimeUnixNano"] = std::to_string(s.start_time_unix_nano);
        o["endTimeUnixNano"] = std::to_string(s.end_time_unix_nano);
        o["attributes"] = AttrsJson(s.attributes);
        json::array events;
        for (const auto& e : s.events) {
            events.push_back(json::object{{"name", e.name},
                                          {"timeUnixNano", std::to_string(e.time_unix_nano)},
                                          {"attributes", AttrsJson(e.attributes)}});
        }
        o["events"] = std::move(events);
        json::array links;
        for (const auto& l : s.links) {
            links.push_back(json::object{{"traceId", l.context.GetTraceId().Hex()},
                                         {"spanId", l.context.GetSpanId().Hex()},
                                         {"attributes", AttrsJson(l.attributes)}});
        }
        o["links"] = std::move(links);
        o["status"] = json::object{{"code", static_cast<int>(s.status_code)},
                                   {"message", s.status_message}};
        o["flags"] = s.OtlpFlags();
        o["scope"] = s.scope->name;
        o["serviceName"] = s.resource->GetString("service.name");
        out.push_back(std::move(o));
    }
    return out;
}

TEST(TelemetryInteropExport, WriteSamples) {
    const char* dir = std::getenv("FLOWEX_INTEROP_OUT");
    if (dir == nullptr) {
        GTEST_SKIP() << "FLOWEX_INTEROP_OUT not set (run through CTest TelemetryInterop.*)";
    }
    testing::TestProvider tp;
    Tracer tracer = tp.GetTracer();
    const Context incoming(
        *ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    {
        Span server = tracer.StartSpan("POST /v1/order",
                                       {.kind = SpanKind::kServer, .parent = &incoming});
        server.SetAttribute("http.request.method", "POST");
        server.SetAttribute("http.route", "/v1/order");
        server.SetAttribute("http.response.status_code", 201);
        server.SetAttribute("user_id", 11);
        server.SetAttribute("big.negative", std::int64_t{-9007199254740993});
        server.SetAttribute("order.value", 776.25);
        server.SetAttribute("cached", false);
        server.SetAttribute("unicode", "Zürich → 東京 \"q\" \\ \n");
        const std::string_view sides[] = {"BUY", "SELL"};
        server.SetAttribute("sides", std::span<const std::string_view>(sides));
        const std::int64_t qty[] = {1, -2, 300};
        server.SetAttribute("quantities", std::span<const std::int64_t>(qty));
        server.AddLink(SpanContext(TraceId{{0xaa, 0xbb}}, SpanId{{0xcc}}, TraceFlags{1}, true),
                       {});
        const Context ctx = server.MakeContext(incoming);
        for (const auto kind : {SpanKind::kInternal, SpanKind::kClient, SpanKind::kProducer,
                                SpanKind::kConsumer}) {
            Span child = tracer.StartSpan("child", {.kind = kind, .parent = &ctx});
            child.AddEvent("validated", {{"result", "accepted"}, {"reasons", 0}});
        }
        Span failing = tracer.StartSpan("block_funds", {.parent = &ctx});
        failing.MarkError("insufficient_funds", "needs $776.25");
        failing.End();
        Span ok = tracer.StartSpan("settle_trade", {.parent = &ctx});
        ok.SetStatus(StatusCode::kOk);
    }
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 7u);
    std::vector<const sdk::SpanData*> ptrs;
    for (const auto& s : spans) {
        ptrs.push_back(&s);
    }
    std::string pb;
    exporters::EncodeTracesProtobuf(ptrs, pb);
    std::string js;
    exporters::EncodeTracesJson(ptrs, js);
    const std::string base(dir);
    std::ofstream(base + "/traces.pb", std::ios::binary) << pb;
    std::ofstream(base + "/traces.json") << js;
    std::ofstream(base + "/expected.json") << json::serialize(Expected(spans));
}

}  // namespace
}  // namespace flowex::telemetry
