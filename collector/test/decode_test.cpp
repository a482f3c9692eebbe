#include <gtest/gtest.h>

#include "flowex/collector/otlp_decode.hpp"
#include "test_util.hpp"

namespace flowex::collector {
namespace {

using testing::AddResource;
using testing::AddSpan;
using testing::Id;

ExportTraceRequest ThreeSpans() {
    ExportTraceRequest req;
    auto* ss = AddResource(&req, "client-gateway");
    AddSpan(ss, {"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "", "POST /v1/order", 2, 1000, 5000});
    AddSpan(ss, {"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203332", "b7ad6b7169203331", "place_order", 1, 1500, 4000});
    AddSpan(ss, {"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203333", "b7ad6b7169203332", "POST", 3, 2000, 3000});
    return req;
}

TEST(Decode, ValidProtobufKeepsEverySpan) {
    auto d = DecodeTraces(ThreeSpans().SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->accepted, 3);
    EXPECT_EQ(d->rejected, 0);
    EXPECT_EQ(d->message->resource_spans(0).scope_spans(0).spans(1).name(), "place_order");
}

TEST(Decode, TruncatedProtobufIsRefused) {
    std::string body = ThreeSpans().SerializeAsString();
    auto d = DecodeTraces(std::string_view(body).substr(0, body.size() / 2), Encoding::kProtobuf);
    EXPECT_FALSE(d.ok());
}

TEST(Decode, GarbageProtobufIsRefused) {
    std::string garbage = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x0f garbage \x00\x01";
    auto d = DecodeTraces(garbage, Encoding::kProtobuf);
    EXPECT_FALSE(d.ok());
}

TEST(Decode, InvalidJsonIsRefused) {
    auto d = DecodeTraces("{\"resourceSpans\": [", Encoding::kJson);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error().code, common::ErrorCode::kInvalidJson);
    auto wrong = DecodeTraces(R"({"resourceSpans": {"x": 1}})", Encoding::kJson);
    EXPECT_FALSE(wrong.ok());
}

TEST(Decode, OtlpJsonHexIdsStringAndNumberIntsEnumsAsIntsOrNames) {
    const char* body = R"({"resourceSpans":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"risk-manager"}}]},
      "scopeSpans":[{"scope":{"name":"s","version":"1"},"spans":[
        {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
         "parentSpanId":"","name":"validate_order","kind":2,
         "startTimeUnixNano":"1544712660000000000","endTimeUnixNano":1544712661000000000,
         "attributes":[{"key":"quantity","value":{"intValue":"10"}},
                       {"key":"user_id","value":{"intValue":11}},
                       {"key":"ok","value":{"boolValue":true}},
                       {"key":"ratio","value":{"doubleValue":0.5}},
                       {"key":"list","value":{"arrayValue":{"values":[{"stringValue":"a"}]}}}],
         "events":[{"timeUnixNano":"1544712660500000000","name":"exception",
                    "attributes":[{"key":"exception.message","value":{"stringValue":"x"}}]}],
         "status":{"code":"STATUS_CODE_ERROR","message":"bad"}},
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175",
         "parentSpanId":"eee19b7ec3c1b174","name":"child","kind":"SPAN_KIND_CLIENT",
         "startTimeUnixNano":1,"endTimeUnixNano":2}]}]}]})";
    auto d = DecodeTraces(body, Encoding::kJson);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->accepted, 2);
    const auto& s0 = d->message->resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(ToHex(s0.trace_id()), "5b8efff798038103d269b633813fc60c");
    EXPECT_EQ(s0.start_time_unix_nano(), 1544712660000000000ULL);
    EXPECT_EQ(s0.end_time_unix_nano(), 1544712661000000000ULL);
    EXPECT_EQ(s0.attributes(0).value().int_value(), 10);
    EXPECT_EQ(s0.attributes(1).value().int_value(), 11);
    EXPECT_TRUE(s0.attributes(2).value().bool_value());
    EXPECT_EQ(s0.status().code(), otlp_trace::Status::STATUS_CODE_ERROR);
    EXPECT_EQ(s0.events(0).name(), "exception");
    const auto& s1 = d->message->resource_spans(0).scope_spans(0).spans(1);
    EXPECT_EQ(s1.kind(), otlp_trace::Span::SPAN_KIND_CLIENT);
    EXPECT_EQ(ToHex(s1.parent_span_id()), "eee19b7ec3c1b174");
}

TEST(Decode, InvalidIdsAreRejectedPerSpanAndCounted) {
    ExportTraceRequest req = ThreeSpans();
    auto* ss = req.mutable_resource_spans(0)->mutable_scope_spans(0);
    AddSpan(ss, {"00000000000000000000000000000000", "b7ad6b7169203334", "", "zero trace", 1, 1, 2});
    AddSpan(ss, {"0af7651916cd43dd8448eb211c80319c", "0000000000000000", "", "zero span", 1, 1, 2});
    ss->mutable_spans(4)->set_span_id("abc");  // wrong size
    auto d = DecodeTraces(req.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->accepted, 3);
    EXPECT_EQ(d->rejected, 2);
    EXPECT_FALSE(d->error_message.empty());
    EXPECT_EQ(d->message->resource_spans(0).scope_spans(0).spans_size(), 3);

    auto j = DecodeTraces(R"({"resourceSpans":[{"scopeSpans":[{"spans":[
        {"traceId":"not-hex","spanId":"eee19b7ec3c1b174","name":"x"}]}]}]})", Encoding::kJson);
    ASSERT_TRUE(j.ok());
    EXPECT_EQ(j->accepted, 0);
    EXPECT_EQ(j->rejected, 1);
}

TEST(Decode, TenThousandAttributesAreTruncatedNotFatal) {
    ExportTraceRequest req;
    auto* ss = AddResource(&req, "svc");
    testing::SpanSpec spec{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "", "huge", 1, 1, 2};
    for (int i = 0; i < 10000; ++i) {
        spec.attrs.emplace_back("k" + std::to_string(i), "v");
    }
    AddSpan(ss, spec);
    auto d = DecodeTraces(req.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(d.ok());
    const auto& span = d->message->resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(span.attributes_size(), 128);
    EXPECT_EQ(span.dropped_attributes_count(), 10000u - 128u);
}

TEST(Decode, PartialSuccessResponseInBothEncodings) {
    EXPECT_EQ(EncodeTraceResponse(0, "", Encoding::kJson), "{}");
    EXPECT_EQ(EncodeTraceResponse(2, "bad id", Encoding::kJson),
              R"({"partialSuccess":{"rejectedSpans":"2","errorMessage":"bad id"}})");
    opentelemetry::proto::collector::trace::v1::ExportTraceServiceResponse r;
    ASSERT_TRUE(r.ParseFromString(EncodeTraceResponse(2, "bad id", Encoding::kProtobuf)));
    EXPECT_EQ(r.partial_success().rejected_spans(), 2);
}

TEST(Decode, LogsJsonWithTraceContext) {
    const char* body = R"({"resourceLogs":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"wallet-service"}}]},
      "scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","severityNumber":9,
        "severityText":"INFO","body":{"stringValue":"Blocking $776.25 for user 11"},
        "traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"},
        {"timeUnixNano":"1","traceId":"abcd","body":{"stringValue":"bad id"}}]}]}]})";
    auto d = DecodeLogs(body, Encoding::kJson);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->accepted, 1);
    EXPECT_EQ(d->rejected, 1);
}

}  // namespace
}  // namespace flowex::collector
