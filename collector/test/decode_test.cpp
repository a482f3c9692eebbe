#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "flowex/collector/otlp_decode.hpp"
#include "test_util.hpp"

namespace flowex::collector {
namespace {

using testing::AddResource;
using testing::AddSpan;
using testing::Id;

// A decoded span's attribute i, as the official classes read it.
otlp_common::KeyValue Attr(const ingest::Span& span, int i) {
    otlp_common::KeyValue kv;
    EXPECT_TRUE(kv.ParseFromString(span.attributes(i)));
    return kv;
}

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
    EXPECT_EQ(Attr(s0, 0).value().int_value(), 10);
    EXPECT_EQ(Attr(s0, 1).value().int_value(), 11);
    EXPECT_TRUE(Attr(s0, 2).value().bool_value());
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

// A request with every kind of attribute value, as the SDKs send them.
ExportTraceRequest AllValueKinds() {
    ExportTraceRequest req;
    auto* ss = AddResource(&req, "svc");
    testing::SpanSpec spec{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", "", "op", 2, 1, 2};
    spec.attrs = {{"symbol", "AAPL"}};
    spec.int_attrs = {{"user_id", 11}};
    AddSpan(ss, spec);
    auto* span = ss->mutable_spans(0);
    auto add = [&](const char* key) {
        auto* kv = span->add_attributes();
        kv->set_key(key);
        return kv->mutable_value();
    };
    add("b")->set_bool_value(true);
    add("d")->set_double_value(0.25);
    add("raw")->set_bytes_value(std::string("\x00\xff", 2));
    auto* list = add("list")->mutable_array_value();
    list->add_values()->set_string_value("x");
    list->add_values()->set_int_value(-3);
    auto* kvl = add("map")->mutable_kvlist_value()->add_values();
    kvl->set_key("inner");
    kvl->mutable_value()->set_string_value("y");
    add("unset");
    return req;
}

// Whether the decoded request holds exactly what the official classes read from `body`.
void ExpectSameAsOfficial(const DecodedTraces& d, const std::string& body) {
    ExportTraceRequest official;
    ASSERT_TRUE(official.ParseFromString(body));
    ExportTraceRequest back;
    ASSERT_TRUE(back.ParseFromString(d.message->SerializeAsString()));
    EXPECT_EQ(back.SerializeAsString(), official.SerializeAsString());
}

TEST(Decode, PlainAttributesOfEveryKindAreKeptExactly) {
    std::string body = AllValueKinds().SerializeAsString();
    auto d = DecodeTraces(body, Encoding::kProtobuf);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->accepted, 1);
    EXPECT_EQ(d->raw, body);  // nothing changed: the store copies the received bytes
    ExpectSameAsOfficial(*d, body);
    const auto& span = d->message->resource_spans(0).scope_spans(0).spans(0);
    ASSERT_EQ(span.attributes_size(), 8);
    AttributeView symbol = ReadAttribute(span.attributes(0));
    EXPECT_EQ(symbol.key, "symbol");
    EXPECT_TRUE(symbol.is_string);
    EXPECT_EQ(symbol.text, "AAPL");
    EXPECT_EQ(Attr(span, 1).value().int_value(), 11);
    EXPECT_EQ(ReadAttribute(span.attributes(1)).integer, 11);
    EXPECT_FALSE(ReadAttribute(span.attributes(2)).is_int);  // a bool
    EXPECT_EQ(Attr(span, 5).value().array_value().values(1).int_value(), -3);
    EXPECT_EQ(Attr(span, 6).value().kvlist_value().values(0).key(), "inner");
    EXPECT_FALSE(ReadAttribute(span.attributes(7)).is_string);
}

// Non-ASCII text, a repeated field, an unknown field: the official classes decide, and the
// result is what they read.
TEST(Decode, UnusualAttributesGoThroughTheOfficialClasses) {
    ExportTraceRequest req = AllValueKinds();
    auto* span = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0);
    auto* kv = span->add_attributes();
    kv->set_key("name");
    kv->mutable_value()->set_string_value("Zürich 東京");
    std::string body = req.SerializeAsString();
    // An AnyValue with two of its oneof's fields (the last one wins) and an unknown field.
    otlp_common::KeyValue twice;
    twice.set_key("twice");
    std::string value = "\x0a\x01" "a" "\x18\x07" "\x50\x01";  // string "a", int 7, field 10 = 1
    std::string kv_bytes = twice.SerializeAsString() + "\x12" + static_cast<char>(value.size()) + value;
    std::string span_extra = "\x4a" + std::string(1, static_cast<char>(kv_bytes.size())) + kv_bytes;
    ExportTraceRequest twice_req = AllValueKinds();
    std::string span_bytes = twice_req.resource_spans(0).scope_spans(0).spans(0).SerializeAsString() + span_extra;
    ASSERT_TRUE(twice_req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->ParseFromString(span_bytes));
    for (const std::string& b : {body, twice_req.SerializeAsString()}) {
        auto d = DecodeTraces(b, Encoding::kProtobuf);
        ASSERT_TRUE(d.ok()) << d.error().message;
        ExpectSameAsOfficial(*d, b);
    }
    auto d = DecodeTraces(twice_req.SerializeAsString(), Encoding::kProtobuf);
    const auto& s0 = d->message->resource_spans(0).scope_spans(0).spans(0);
    AttributeView last = ReadAttribute(s0.attributes(s0.attributes_size() - 1));
    EXPECT_EQ(last.key, "twice");
    EXPECT_FALSE(last.is_string);  // int 7 came last
    EXPECT_EQ(Attr(s0, s0.attributes_size() - 1).value().int_value(), 7);
}

TEST(Decode, AttributesTheOfficialClassesRefuseAreRefused) {
    ExportTraceRequest req = ThreeSpans();
    auto* kv = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->add_attributes();
    kv->set_key("k");
    kv->mutable_value()->set_string_value("PLACEHOLDER");
    std::string body = req.SerializeAsString();
    std::string bad_utf8 = body;
    bad_utf8.replace(bad_utf8.find("PLACEHOLDER"), 11, "\xc3\x28xxxxxxxxx", 11);
    EXPECT_FALSE(DecodeTraces(bad_utf8, Encoding::kProtobuf).ok());
    // A KeyValue whose value's length runs past its end.
    std::string broken = body;
    std::size_t at = broken.find("PLACEHOLDER");
    broken[at - 1] = 100;
    EXPECT_FALSE(DecodeTraces(broken, Encoding::kProtobuf).ok());
}

TEST(Decode, LongAttributeValuesAreCutAndTheSpanReencoded) {
    ExportTraceRequest req = ThreeSpans();
    auto* kv = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(0)->add_attributes();
    kv->set_key("db.query.text");
    kv->mutable_value()->set_string_value(std::string(20000, 'q'));
    auto d = DecodeTraces(req.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(d.ok());
    EXPECT_TRUE(d->raw.empty());  // changed: not the received bytes
    const auto& span = d->message->resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(Attr(span, span.attributes_size() - 1).value().string_value().size(), DecodeLimits{}.max_string_bytes);
}

// Random damage to requests with every kind of attribute: the decoder accepts exactly the
// bodies the official classes parse, and what it keeps parses with them (the query path).
TEST(Decode, DamagedBodiesGetTheOfficialClassesVerdict) {
    std::vector<std::string> seeds = {AllValueKinds().SerializeAsString(), ThreeSpans().SerializeAsString()};
    std::mt19937 rng(7);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string body = seeds[i % seeds.size()];
        for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n) {
            std::size_t at = rng() % body.size();
            switch (rng() % 3) {
                case 0: body[at] = static_cast<char>(rng()); break;
                case 1: body.insert(at, 1, static_cast<char>(rng())); break;
                default: body.erase(at, 1); break;
            }
        }
        ExportTraceRequest official;
        bool official_ok = official.ParseFromString(body);
        auto d = DecodeTraces(body, Encoding::kProtobuf);
        ASSERT_EQ(d.ok(), official_ok) << "mutation " << i;
        if (d.ok()) {
            ++accepted;
            otlp_trace::TracesData back;
            ASSERT_TRUE(back.ParseFromString(d->message->SerializeAsString())) << "mutation " << i;
        }
    }
    EXPECT_GT(accepted, 1000);  // the damage left many bodies parseable: both paths were exercised
}

TEST(Decode, ReadAttributeGivesKeyAndValue) {
    otlp_common::KeyValue kv;
    kv.set_key("symbol");
    kv.mutable_value()->set_string_value("AAPL");
    const std::string text = kv.SerializeAsString();
    AttributeView a = ReadAttribute(text);
    EXPECT_EQ(a.key, "symbol");
    EXPECT_TRUE(a.is_string);
    EXPECT_EQ(a.text, "AAPL");
    kv.mutable_value()->set_int_value(11);
    const std::string number = kv.SerializeAsString();
    a = ReadAttribute(number);
    EXPECT_EQ(a.key, "symbol");
    EXPECT_FALSE(a.is_string);
    EXPECT_TRUE(a.is_int);
    EXPECT_EQ(a.integer, 11);
    kv.mutable_value()->set_int_value(-5);
    const std::string negative = kv.SerializeAsString();
    EXPECT_EQ(ReadAttribute(negative).integer, -5);
    a = ReadAttribute(number);
    otlp_common::AnyValue v;
    ASSERT_TRUE(v.ParseFromString(std::string(a.value)));
    EXPECT_EQ(v.int_value(), 11);
}

}  // namespace
}  // namespace flowex::collector
