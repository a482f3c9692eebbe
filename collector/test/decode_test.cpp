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

// What a decoded request keeps (as the store keeps it), read by the official classes.
ExportTraceRequest Kept(const DecodedTraces& d) {
    ExportTraceRequest m;
    EXPECT_TRUE(m.ParseFromString(EncodeKept(d)));
    return m;
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
    const std::string body = ThreeSpans().SerializeAsString();
    auto d = DecodeTraces(body, Encoding::kProtobuf);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->accepted, 3);
    EXPECT_EQ(d->rejected, 0);
    EXPECT_EQ(d->bytes, body);  // read in place: views of the received bytes
    ASSERT_EQ(d->resources.size(), 1u);
    EXPECT_EQ(d->resources[0].service, "client-gateway");
    ASSERT_EQ(d->spans.size(), 3u);
    const SpanView& s = d->spans[1];
    EXPECT_EQ(s.name, "place_order");
    EXPECT_EQ(ToHex(s.trace_id), "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(ToHex(s.span_id), "b7ad6b7169203332");
    EXPECT_EQ(ToHex(s.parent_span_id), "b7ad6b7169203331");
    EXPECT_TRUE(d->spans[0].parent_span_id.empty());
    EXPECT_EQ(s.kind, 1);
    EXPECT_EQ(d->spans[2].kind, 3);
    EXPECT_EQ(s.start_time_unix_nano, 1500u);
    EXPECT_EQ(s.end_time_unix_nano, 4000u);
    EXPECT_EQ(Kept(*d).resource_spans(0).scope_spans(0).spans(1).name(), "place_order");
}

TEST(Decode, TruncatedProtobufIsRefused) {
    std::string body = ThreeSpans().SerializeAsString();
    auto d = DecodeTraces(body.substr(0, body.size() / 2), Encoding::kProtobuf);
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
    const ExportTraceRequest kept = Kept(*d);
    const auto& s0 = kept.resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(ToHex(s0.trace_id()), "5b8efff798038103d269b633813fc60c");
    EXPECT_EQ(s0.start_time_unix_nano(), 1544712660000000000ULL);
    EXPECT_EQ(s0.end_time_unix_nano(), 1544712661000000000ULL);
    EXPECT_EQ(s0.attributes(0).value().int_value(), 10);
    EXPECT_EQ(s0.attributes(1).value().int_value(), 11);
    EXPECT_TRUE(s0.attributes(2).value().bool_value());
    EXPECT_EQ(s0.status().code(), otlp_trace::Status::STATUS_CODE_ERROR);
    EXPECT_EQ(s0.events(0).name(), "exception");
    const auto& s1 = kept.resource_spans(0).scope_spans(0).spans(1);
    EXPECT_EQ(s1.kind(), otlp_trace::Span::SPAN_KIND_CLIENT);
    EXPECT_EQ(ToHex(s1.parent_span_id()), "eee19b7ec3c1b174");
    // The views the store reads.
    ASSERT_EQ(d->spans.size(), 2u);
    EXPECT_EQ(d->resources[0].service, "risk-manager");
    EXPECT_EQ(d->spans[0].status_code, otlp_trace::Status::STATUS_CODE_ERROR);
    EXPECT_EQ(d->spans[1].kind, otlp_trace::Span::SPAN_KIND_CLIENT);
    EXPECT_EQ(d->AttributesOf(d->spans[0]).size(), 5u);
    EXPECT_EQ(ReadAttribute(d->AttributesOf(d->spans[0])[1]).integer, 11);
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
    ASSERT_EQ(d->spans.size(), 3u);
    EXPECT_EQ(Kept(*d).resource_spans(0).scope_spans(0).spans_size(), 3);
    EXPECT_EQ(d->spans[2].name, "POST");

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
    const ExportTraceRequest kept = Kept(*d);
    const auto& span = kept.resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(span.attributes_size(), 128);
    EXPECT_EQ(span.dropped_attributes_count(), 10000u - 128u);
    EXPECT_EQ(d->AttributesOf(d->spans[0]).size(), 128u);
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

// Whether the decoded request keeps exactly what the official classes read from `body` (fields
// they do not know left out), and its views say the same.
void ExpectSameAsOfficial(const DecodedTraces& d, const std::string& body) {
    ExportTraceRequest official;
    ASSERT_TRUE(official.ParseFromString(body));
    official.DiscardUnknownFields();
    EXPECT_EQ(Kept(d).SerializeAsString(), official.SerializeAsString());
    std::size_t i = 0;
    for (const auto& rs : official.resource_spans()) {
        for (const auto& ss : rs.scope_spans()) {
            for (const auto& span : ss.spans()) {
                ASSERT_LT(i, d.spans.size());
                const SpanView& v = d.spans[i++];
                EXPECT_EQ(v.name, span.name());
                EXPECT_EQ(v.kind, span.kind());
                EXPECT_EQ(v.status_code, span.status().code());
                EXPECT_EQ(v.start_time_unix_nano, span.start_time_unix_nano());
                EXPECT_EQ(v.end_time_unix_nano, span.end_time_unix_nano());
                EXPECT_EQ(v.parent_span_id, span.parent_span_id());
                ASSERT_EQ(v.attribute_count, static_cast<std::uint32_t>(span.attributes_size()));
                for (int a = 0; a < span.attributes_size(); ++a) {
                    EXPECT_EQ(d.AttributesOf(v)[static_cast<std::size_t>(a)],
                              span.attributes(a).SerializeAsString());
                }
            }
        }
    }
    EXPECT_EQ(i, d.spans.size());
}

TEST(Decode, PlainAttributesOfEveryKindAreKeptExactly) {
    std::string body = AllValueKinds().SerializeAsString();
    auto d = DecodeTraces(body, Encoding::kProtobuf);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->accepted, 1);
    EXPECT_EQ(d->bytes, body);  // read in place: the store copies the received bytes
    ExpectSameAsOfficial(*d, body);
    const auto attrs = d->AttributesOf(d->spans[0]);
    ASSERT_EQ(attrs.size(), 8u);
    AttributeView symbol = ReadAttribute(attrs[0]);
    EXPECT_EQ(symbol.key, "symbol");
    EXPECT_TRUE(symbol.is_string);
    EXPECT_EQ(symbol.text, "AAPL");
    EXPECT_EQ(ReadAttribute(attrs[1]).integer, 11);
    EXPECT_FALSE(ReadAttribute(attrs[2]).is_int);  // a bool
    const ExportTraceRequest kept = Kept(*d);
    const auto& span = kept.resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(span.attributes(5).value().array_value().values(1).int_value(), -3);
    EXPECT_EQ(span.attributes(6).value().kvlist_value().values(0).key(), "inner");
    EXPECT_FALSE(ReadAttribute(attrs[7]).is_string);
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
    ASSERT_TRUE(d.ok());
    AttributeView last = ReadAttribute(d->AttributesOf(d->spans[0]).back());
    EXPECT_EQ(last.key, "twice");
    EXPECT_FALSE(last.is_string);  // int 7 came last
    EXPECT_EQ(last.integer, 7);
}

// Encodings no OpenTelemetry SDK writes but protobuf allows (a field twice, an unknown field, a
// known field of another wire type, non-ASCII text): read as the official classes read them.
TEST(Decode, UnusualSpanEncodingsGetTheOfficialReading) {
    const ExportTraceRequest base = ThreeSpans();
    const std::string span = base.resource_spans(0).scope_spans(0).spans(0).SerializeAsString();
    const auto with_span = [&](const std::string& extra) {
        ExportTraceRequest req = base;
        EXPECT_TRUE(req.mutable_resource_spans(0)
                        ->mutable_scope_spans(0)
                        ->mutable_spans(0)
                        ->ParseFromString(span + extra));
        return req.SerializeAsString();
    };
    const auto field = [](int number, int type, const std::string& value) {
        std::string out(1, static_cast<char>(number << 3 | type));
        if (type == 2) { out.push_back(static_cast<char>(value.size())); }
        return out + value;
    };
    const std::vector<std::string> bodies = {
        with_span(field(5, 2, "renamed")),  // the name twice: the last wins
        with_span(field(15, 2, field(2, 2, "first")) +
                  field(15, 2, field(3, 0, "\x02"))),          // merged
        with_span(field(6, 2, "x")),                           // kind as bytes: an unknown field
        with_span(std::string("\xa0\x06\x01")),                // field 100: unknown
        with_span(field(5, 2, "Z\xc3\xbcrich")),               // non-ASCII name
        with_span(field(6, 0, "\x05") + field(6, 0, "\x03")),  // kind twice
    };
    for (const std::string& body : bodies) {
        auto d = DecodeTraces(body, Encoding::kProtobuf);
        ASSERT_TRUE(d.ok()) << d.error().message;
        EXPECT_EQ(d->accepted, 3);
        ExpectSameAsOfficial(*d, body);
    }
    auto renamed = DecodeTraces(bodies[0], Encoding::kProtobuf);
    EXPECT_EQ(renamed->spans[0].name, "renamed");
    auto merged = DecodeTraces(bodies[1], Encoding::kProtobuf);
    EXPECT_EQ(merged->spans[0].status_code, otlp_trace::Status::STATUS_CODE_ERROR);
    EXPECT_EQ(Kept(*merged).resource_spans(0).scope_spans(0).spans(0).status().message(), "first");
    EXPECT_EQ(DecodeTraces(bodies[5], Encoding::kProtobuf)->spans[0].kind, 3);
}

TEST(Decode, NamesPastTheLimitAreCut) {
    ExportTraceRequest req = ThreeSpans();
    req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(1)->set_name(
        std::string(1500, 'n'));
    auto d = DecodeTraces(req.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->spans[1].name, std::string(1024, 'n'));
    EXPECT_EQ(Kept(*d).resource_spans(0).scope_spans(0).spans(1).name().size(), 1024u);
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
    EXPECT_NE(d->bytes, req.SerializeAsString());  // changed: not the received bytes
    const ExportTraceRequest kept = Kept(*d);
    const auto& span = kept.resource_spans(0).scope_spans(0).spans(0);
    EXPECT_EQ(span.attributes(span.attributes_size() - 1).value().string_value().size(),
              DecodeLimits{}.max_string_bytes);
}

// `body` with one to three bytes changed, inserted or erased at random.
std::string Damaged(std::string body, std::mt19937& rng) {
    for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n) {
        std::size_t at = rng() % body.size();
        switch (rng() % 3) {
            case 0:
                body[at] = static_cast<char>(rng());
                break;
            case 1:
                body.insert(at, 1, static_cast<char>(rng()));
                break;
            default:
                body.erase(at, 1);
                break;
        }
    }
    return body;
}

// Random damage to requests with every kind of attribute: the decoder accepts exactly the
// bodies the official classes parse, and keeps what they read (spans with invalid ids left out,
// unknown fields dropped), which parses with them again (the query path).
TEST(Decode, DamagedBodiesGetTheOfficialClassesVerdict) {
    std::vector<std::string> seeds = {AllValueKinds().SerializeAsString(), ThreeSpans().SerializeAsString()};
    std::mt19937 rng(7);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string body = Damaged(seeds[i % seeds.size()], rng);
        ExportTraceRequest official;
        bool official_ok = official.ParseFromString(body);
        auto d = DecodeTraces(body, Encoding::kProtobuf);
        ASSERT_EQ(d.ok(), official_ok) << "mutation " << i;
        if (d.ok()) {
            ++accepted;
            otlp_trace::TracesData back;
            ASSERT_TRUE(back.ParseFromString(EncodeKept(*d))) << "mutation " << i;
            official.DiscardUnknownFields();
            for (auto& rs : *official.mutable_resource_spans()) {
                rs.clear_schema_url();
                for (auto& ss : *rs.mutable_scope_spans()) {
                    ss.clear_schema_url();
                    auto* spans = ss.mutable_spans();
                    for (int k = spans->size() - 1; k >= 0; --k) {
                        const auto& sp = spans->Get(k);
                        const bool valid =
                            sp.trace_id().size() == 16 && sp.trace_id() != std::string(16, '\0') &&
                            sp.span_id().size() == 8 && sp.span_id() != std::string(8, '\0') &&
                            (sp.parent_span_id().empty() || sp.parent_span_id().size() == 8);
                        if (!valid) { spans->DeleteSubrange(k, 1); }
                    }
                }
            }
            ASSERT_EQ(Kept(*d).SerializeAsString(), official.SerializeAsString())
                << "mutation " << i;
        }
    }
    EXPECT_GT(accepted, 1000);  // the damage left many bodies parseable: both paths were exercised
}

// Log records of two traces and one without a trace, with attributes, as the services send them.
ExportLogsRequest SomeLogs() {
    ExportLogsRequest req;
    auto* sl = testing::AddLogResource(&req, "wallet-service");
    sl->mutable_scope()->set_name("flowex");
    const auto add = [&](const std::string& trace, const std::string& body) {
        auto* rec = sl->add_log_records();
        rec->set_time_unix_nano(1700000000000000000ULL);
        rec->set_observed_time_unix_nano(1700000000000000001ULL);
        rec->set_severity_number(otlp_logs::SEVERITY_NUMBER_INFO);
        rec->set_severity_text("INFO");
        rec->mutable_body()->set_string_value(body);
        auto* kv = rec->add_attributes();
        kv->set_key("user_id");
        kv->mutable_value()->set_int_value(11);
        if (!trace.empty()) {
            rec->set_trace_id(Id(trace));
            rec->set_span_id(Id("eee19b7ec3c1b174"));
            rec->set_flags(1);
        }
    };
    add("5b8efff798038103d269b633813fc60c", "Blocking $776.25 for user 11");
    add("", "started");
    add("0af7651916cd43dd8448eb211c80319c", "order accepted");
    return req;
}

// What a decoded log request keeps, read by the official classes, is what they read from the
// body (fields they do not know left out).
void ExpectSameLogsAsOfficial(const DecodedLogs& d, const std::string& body) {
    ExportLogsRequest official;
    ASSERT_TRUE(official.ParseFromString(body));
    official.DiscardUnknownFields();
    ExportLogsRequest kept;
    ASSERT_TRUE(kept.ParseFromString(EncodeKept(d)));
    EXPECT_EQ(kept.SerializeAsString(), official.SerializeAsString());
}

TEST(Decode, PlainLogRecordsAreReadInPlace) {
    const std::string body = SomeLogs().SerializeAsString();
    auto d = DecodeLogs(body, Encoding::kProtobuf);
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->bytes, body);
    EXPECT_EQ(d->accepted, 3);
    ASSERT_EQ(d->records.size(), 3u);
    EXPECT_EQ(ToHex(d->records[0].trace_id), "5b8efff798038103d269b633813fc60c");
    EXPECT_TRUE(d->records[1].trace_id.empty());
    EXPECT_EQ(ToHex(d->records[2].trace_id), "0af7651916cd43dd8448eb211c80319c");
    ASSERT_EQ(d->scopes.size(), 1u);
    EXPECT_EQ(d->scopes[0].record_count, 3u);
    ExpectSameLogsAsOfficial(*d, body);
}

TEST(Decode, LogRecordsWithBadIdsAreRejectedAndUnusualOnesGetTheOfficialReading) {
    ExportLogsRequest req = SomeLogs();
    req.mutable_resource_logs(0)->mutable_scope_logs(0)->mutable_log_records(1)->set_trace_id(
        "abc");
    auto bad = DecodeLogs(req.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(bad->accepted, 2);
    EXPECT_EQ(bad->rejected, 1);
    EXPECT_EQ(bad->error_message, "trace id must be empty or 16 bytes");
    ASSERT_EQ(bad->records.size(), 2u);
    EXPECT_EQ(ToHex(bad->records[1].trace_id), "0af7651916cd43dd8448eb211c80319c");

    // Non-ASCII text, a field twice, an unknown field: as the official classes read them.
    ExportLogsRequest unusual = SomeLogs();
    unusual.mutable_resource_logs(0)
        ->mutable_scope_logs(0)
        ->mutable_log_records(0)
        ->mutable_body()
        ->set_string_value("Zürich");
    const std::string record =
        SomeLogs().resource_logs(0).scope_logs(0).log_records(2).SerializeAsString();
    ExportLogsRequest twice = SomeLogs();
    ASSERT_TRUE(
        twice.mutable_resource_logs(0)
            ->mutable_scope_logs(0)
            ->mutable_log_records(2)
            ->ParseFromString(record + std::string("\x1a\x04WARN") + std::string("\xa0\x06\x01")));
    for (const std::string& body : {unusual.SerializeAsString(), twice.SerializeAsString()}) {
        auto d = DecodeLogs(body, Encoding::kProtobuf);
        ASSERT_TRUE(d.ok()) << d.error().message;
        EXPECT_EQ(d->accepted, 3);
        ExpectSameLogsAsOfficial(*d, body);
    }

    // A body past the limit is cut.
    ExportLogsRequest big = SomeLogs();
    big.mutable_resource_logs(0)
        ->mutable_scope_logs(0)
        ->mutable_log_records(0)
        ->mutable_body()
        ->set_string_value(std::string(20000, 'x'));
    auto cut = DecodeLogs(big.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(cut.ok());
    ExportLogsRequest kept;
    ASSERT_TRUE(kept.ParseFromString(EncodeKept(*cut)));
    EXPECT_EQ(kept.resource_logs(0).scope_logs(0).log_records(0).body().string_value().size(),
              DecodeLimits{}.max_string_bytes);
}

// Random damage to log requests: accepted exactly when the official classes parse them, and
// what is kept is what they read (records with ids of the wrong size left out).
TEST(Decode, DamagedLogBodiesGetTheOfficialClassesVerdict) {
    const std::string seed = SomeLogs().SerializeAsString();
    std::mt19937 rng(11);
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        const std::string body = Damaged(seed, rng);
        ExportLogsRequest official;
        const bool official_ok = official.ParseFromString(body);
        auto d = DecodeLogs(body, Encoding::kProtobuf);
        ASSERT_EQ(d.ok(), official_ok) << "mutation " << i;
        if (!d.ok()) { continue; }
        ++accepted;
        official.DiscardUnknownFields();
        for (auto& rl : *official.mutable_resource_logs()) {
            rl.clear_schema_url();
            for (auto& sl : *rl.mutable_scope_logs()) {
                sl.clear_schema_url();
                auto* recs = sl.mutable_log_records();
                for (int k = recs->size() - 1; k >= 0; --k) {
                    const auto& rec = recs->Get(k);
                    if ((!rec.trace_id().empty() && rec.trace_id().size() != 16) ||
                        (!rec.span_id().empty() && rec.span_id().size() != 8)) {
                        recs->DeleteSubrange(k, 1);
                    }
                }
            }
        }
        ExportLogsRequest kept;
        ASSERT_TRUE(kept.ParseFromString(EncodeKept(*d))) << "mutation " << i;
        ASSERT_EQ(kept.SerializeAsString(), official.SerializeAsString()) << "mutation " << i;
    }
    EXPECT_GT(accepted, 1000);
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
