#include <gtest/gtest.h>

#include <map>
#include <string>

#include "flowex/telemetry/api/propagation.hpp"

namespace flowex::telemetry {
namespace {

class MapCarrier final : public TextMapCarrier {
public:
    std::map<std::string, std::string, std::less<>> headers;
    std::string_view Get(std::string_view key) const noexcept override {
        const auto it = headers.find(key);
        return it == headers.end() ? std::string_view() : std::string_view(it->second);
    }
    void Set(std::string_view key, std::string_view value) noexcept override {
        headers[std::string(key)] = std::string(value);
    }
};

constexpr std::string_view kValid = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(TelemetryPropagation, ParsesValidVersion00) {
    const auto sc = ParseTraceparent(kValid);
    ASSERT_TRUE(sc.has_value());
    EXPECT_EQ(sc->GetTraceId().Hex(), "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(sc->GetSpanId().Hex(), "b7ad6b7169203331");
    EXPECT_TRUE(sc->IsSampled());
    EXPECT_TRUE(sc->IsRemote());
}

TEST(TelemetryPropagation, AcceptsSurroundingWhitespaceAndUnsampledFlags) {
    const auto sc = ParseTraceparent("  00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00 ");
    ASSERT_TRUE(sc.has_value());
    EXPECT_FALSE(sc->IsSampled());
}

TEST(TelemetryPropagation, FutureVersionMayBeLongerAfterADash) {
    EXPECT_TRUE(ParseTraceparent(
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-the-future-holds"));
    EXPECT_TRUE(ParseTraceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    EXPECT_FALSE(ParseTraceparent(
        "cc-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01.what-the-future-holds"));
}

TEST(TelemetryPropagation, RejectsInvalidTraceparents) {
    const char* invalid[] = {
        "",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-",     // 00 longer than 55
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",       // too short
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",      // forbidden version
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",      // uppercase hex
        "00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",      // uppercase hex
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",      // zero trace id
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",      // zero span id
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",      // bad separator
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",      // bad flags
        "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",      // bad version
        "00-0af7651916cd43dd8448eb211c8031-9cb7ad6b7169203331-01",      // misplaced dash
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 x",    // trailing junk
    };
    for (const char* v : invalid) {
        EXPECT_FALSE(ParseTraceparent(v).has_value()) << v;
    }
}

TEST(TelemetryPropagation, InvalidTraceparentIsIgnoredWholeIncludingTracestate) {
    MapCarrier in;
    in.headers["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01";
    in.headers["tracestate"] = "congo=t61rcWkgMzE";
    TraceContextPropagator p;
    const Context ctx = p.Extract(in, Context());
    EXPECT_FALSE(ctx.GetSpanContext().IsValid());
    EXPECT_TRUE(ctx.GetSpanContext().GetTraceState().empty());
}

TEST(TelemetryPropagation, ExtractInjectRoundTripKeepsTracestate) {
    MapCarrier in;
    in.headers["traceparent"] = std::string(kValid);
    in.headers["tracestate"] = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    TraceContextPropagator p;
    const Context ctx = p.Extract(in, Context());
    ASSERT_TRUE(ctx.GetSpanContext().IsValid());
    MapCarrier out;
    p.Inject(ctx, out);
    EXPECT_EQ(out.headers["traceparent"], kValid);
    EXPECT_EQ(out.headers["tracestate"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
}

TEST(TelemetryPropagation, InvalidTracestateIsDroppedButTraceparentKept) {
    MapCarrier in;
    in.headers["traceparent"] = std::string(kValid);
    in.headers["tracestate"] = "Congo=t61rcWkgMzE";  // uppercase key
    TraceContextPropagator p;
    const Context ctx = p.Extract(in, Context());
    EXPECT_TRUE(ctx.GetSpanContext().IsValid());
    EXPECT_TRUE(ctx.GetSpanContext().GetTraceState().empty());
}

TEST(TelemetryPropagation, TracestateValidity) {
    EXPECT_TRUE(IsValidTracestate("a=1"));
    EXPECT_TRUE(IsValidTracestate("tenant@system=v, b=2"));
    EXPECT_FALSE(IsValidTracestate("a=1,a=2"));  // duplicate key
    EXPECT_FALSE(IsValidTracestate("a"));
    EXPECT_FALSE(IsValidTracestate("a=x,y"));
    std::string many;
    for (int i = 0; i < 33; ++i) {
        many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
    }
    EXPECT_FALSE(IsValidTracestate(many));
}

TEST(TelemetryPropagation, BaggagePercentEncodingRoundTrip) {
    Baggage b = Baggage().With("user_id", "11").With("note", "a b,c;d=%é");
    const std::string header = FormatBaggage(b);
    EXPECT_EQ(header, "user_id=11,note=a%20b%2Cc%3Bd=%25%C3%A9");
    const Baggage parsed = ParseBaggage(header);
    ASSERT_NE(parsed.Get("note"), nullptr);
    EXPECT_EQ(*parsed.Get("note"), "a b,c;d=%é");
    EXPECT_EQ(*parsed.Get("user_id"), "11");
}

TEST(TelemetryPropagation, BaggageKeepsPropertiesAndSkipsMalformedMembers) {
    const Baggage b = ParseBaggage(" k1 = v1 ;prop=1 , bad, =x, k2=v2");
    ASSERT_EQ(b.Entries().size(), 2u);
    EXPECT_EQ(b.Entries()[0].key, "k1");
    EXPECT_EQ(b.Entries()[0].value, "v1");
    EXPECT_EQ(b.Entries()[0].metadata, "prop=1");
    EXPECT_EQ(b.Entries()[1].value, "v2");
}

TEST(TelemetryPropagation, BaggageSkipsMembersWithABrokenPercentEscape) {
    const Baggage b = ParseBaggage("a=100%,b=%zz,c=x%2,d=%41%2c,e=%25");
    ASSERT_EQ(b.Entries().size(), 2u);
    EXPECT_EQ(b.Entries()[0].key, "d");
    EXPECT_EQ(b.Entries()[0].value, "A,");
    EXPECT_EQ(b.Entries()[1].key, "e");
    EXPECT_EQ(b.Entries()[1].value, "%");
}

TEST(TelemetryPropagation, BaggageNearTheByteLimitKeepsEveryMemberThroughExtractAndInject) {
    // 8,097 bytes in. Were the 40 raw '%' of `p` kept, they would go out as "%25" each, 80
    // bytes more, and `z` would no longer fit in the 8,192 bytes of the injected header.
    std::string header;
    for (int i = 0; i < 52; ++i) {
        header += (i ? "," : "") + std::string("k") + std::to_string(i) + "=" +
                  std::string(150 - 2 - std::to_string(i).size(), 'v');
    }
    header += ",p=" + std::string(40, '%') + ",z=" + std::string(200, 'v');
    ASSERT_EQ(header.size(), 8097u);
    const Baggage in = ParseBaggage(header);
    EXPECT_EQ(in.Get("p"), nullptr);
    ASSERT_NE(in.Get("z"), nullptr);
    EXPECT_EQ(ParseBaggage(FormatBaggage(in)).Entries().size(), in.Entries().size());
}

TEST(TelemetryPropagation, BaggageLimitsSixtyFourMembersAndEightKiB) {
    std::string header;
    for (int i = 0; i < 100; ++i) {
        header += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
    }
    EXPECT_EQ(ParseBaggage(header).Entries().size(), 64u);

    Baggage big;
    for (int i = 0; i < 20; ++i) {
        big = big.With("k" + std::to_string(i), std::string(1000, 'x'));
    }
    const std::string out = FormatBaggage(big);
    EXPECT_LE(out.size(), Baggage::kMaxBytes);
    EXPECT_EQ(ParseBaggage(out).Entries().size(), 8u);
}

TEST(TelemetryPropagation, CompositeFromOtelPropagators) {
    EXPECT_EQ(MakePropagator("")->Size(), 2u);
    EXPECT_EQ(MakePropagator("tracecontext")->Size(), 1u);
    EXPECT_EQ(MakePropagator("none")->Size(), 0u);
    EXPECT_EQ(MakePropagator("b3, baggage")->Size(), 1u);

    MapCarrier in;
    in.headers["traceparent"] = std::string(kValid);
    in.headers["baggage"] = "user_id=11";
    const auto p = MakePropagator("tracecontext,baggage");
    const Context ctx = p->Extract(in, Context());
    EXPECT_TRUE(ctx.GetSpanContext().IsValid());
    ASSERT_NE(ctx.GetBaggage().Get("user_id"), nullptr);
    MapCarrier out;
    p->Inject(ctx, out);
    EXPECT_EQ(out.headers["baggage"], "user_id=11");
    EXPECT_EQ(out.headers["traceparent"], kValid);
}

}  // namespace
}  // namespace flowex::telemetry
