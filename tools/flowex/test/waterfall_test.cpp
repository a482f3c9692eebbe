#include <gtest/gtest.h>

#include "traces_view.hpp"

namespace flowex::cli {
namespace {

const char* kTrace = R"({"data":[{"traceID":"abc","spans":[
 {"traceID":"abc","spanID":"a","operationName":"POST /v1/order","references":[],"startTime":1000000,"duration":150000,"tags":[{"key":"span.kind","type":"string","value":"server"}],"processID":"p1"},
 {"traceID":"abc","spanID":"b","operationName":"create_order","references":[{"refType":"CHILD_OF","traceID":"abc","spanID":"a"}],"startTime":1030000,"duration":90000,"tags":[{"key":"error","type":"bool","value":true}],"processID":"p2"},
 {"traceID":"abc","spanID":"c","operationName":"INSERT orders","references":[{"refType":"CHILD_OF","traceID":"abc","spanID":"b"}],"startTime":1100000,"duration":18000,"tags":[{"key":"span.kind","type":"string","value":"client"},{"key":"service.peer.name","type":"string","value":"postgresql"}],"processID":"p2"}],
 "processes":{"p1":{"serviceName":"client-gateway","tags":[]},"p2":{"serviceName":"order-manager","tags":[]}}}]})";

TEST(Waterfall, DrawsTreeBarsDurationsAndErrorsWithoutColour) {
    auto traces = ParseJaegerTraces(kTrace);
    ASSERT_TRUE(traces.ok());
    ASSERT_EQ(traces->size(), 1u);
    std::string w = RenderWaterfall(traces->front(), false, 20);
    EXPECT_NE(w.find("client-gateway: POST /v1/order"), std::string::npos) << w;
    EXPECT_NE(w.find("└─ order-manager: create_order"), std::string::npos) << w;
    EXPECT_NE(w.find("└─ postgresql: INSERT orders"), std::string::npos) << w;
    EXPECT_NE(w.find("[████████████████████] 150.0ms"), std::string::npos) << w;
    EXPECT_NE(w.find("✗ error"), std::string::npos);
    EXPECT_EQ(w.find("\x1b["), std::string::npos);  // plain when not a terminal
    EXPECT_NE(RenderWaterfall(traces->front(), true, 20).find("\x1b[31m"), std::string::npos);
}

TEST(Waterfall, TableListsRootDurationSpansAndErrors) {
    auto traces = ParseJaegerTraces(kTrace);
    ASSERT_TRUE(traces.ok());
    std::string t = RenderTraceTable({SummaryOf(traces->front())}, false);
    EXPECT_NE(t.find("abc"), std::string::npos);
    EXPECT_NE(t.find("150.0ms"), std::string::npos);
    EXPECT_NE(t.find("client-gateway: POST /v1/order"), std::string::npos);
    EXPECT_NE(t.find("1970-01-01 00:00:01  150.0ms   3      1       client-gateway"),
              std::string::npos)
        << t;
}

// flowex's /api/trace-summaries gives the table's row without the spans: the same row as the
// whole trace summarised here (what a plain Jaeger's /api/traces needs).
TEST(Waterfall, ASummaryFromTheServerGivesTheSameRowAsTheWholeTrace) {
    auto summaries = ParseTraceSummaries(
        R"({"data":[{"traceID":"abc","rootService":"client-gateway","rootOperation":"POST /v1/order",)"
        R"("startTime":1000000,"duration":150000,"spanCount":3,"errorCount":1,"services":[]}],"total":1})");
    ASSERT_TRUE(summaries.ok());
    ASSERT_EQ(summaries->size(), 1u);
    auto traces = ParseJaegerTraces(kTrace);
    ASSERT_TRUE(traces.ok());
    EXPECT_EQ(RenderTraceTable(*summaries, false),
              RenderTraceTable({SummaryOf(traces->front())}, false));
    EXPECT_FALSE(ParseTraceSummaries("not json").ok());
    EXPECT_TRUE(ParseTraceSummaries(R"({"data":null})")->empty());
}

// The collector's trace warnings (a huge trace cut to its span limit) follow the waterfall.
TEST(Waterfall, TheTracesWarningsFollowTheWaterfall) {
    std::string body = kTrace;
    const std::string warning = "3 spans of this trace are left out";
    body.replace(body.rfind("}]}"), 3, R"(,"warnings":[")" + warning + R"("]}]})");
    auto traces = ParseJaegerTraces(body);
    ASSERT_TRUE(traces.ok());
    ASSERT_EQ(traces->front().warnings, std::vector<std::string>{warning});
    std::string w = RenderWaterfall(traces->front(), false, 20);
    EXPECT_NE(w.find("\nwarning: " + warning + "\n"), std::string::npos) << w;
    EXPECT_TRUE(ParseJaegerTraces(kTrace)->front().warnings.empty());
}

// `flowex trace --logs`: the trace's log records by time under the waterfall, each with its
// offset in the trace, service, severity and span's operation, on one line each.
TEST(Waterfall, TheTracesLogRecordsFollowByTimeWithTheirSpansOperation) {
    auto traces = ParseJaegerTraces(kTrace);
    ASSERT_TRUE(traces.ok());
    auto logs = ParseTraceLogs(
        R"({"data":[)"
        R"({"timestamp":1100000,"severity":"ERROR","body":"Insufficient funds\nfor user 11","attributes":{},"spanID":"b","traceID":"abc","service":"order-manager"},)"
        R"({"timestamp":1002000,"severity":"INFO","body":"POST /v1/order \u001b[2J","attributes":{},"spanID":"a","traceID":"abc","service":"client-gateway"}],)"
        R"("warnings":["1 log records of this trace are left out"]})");
    ASSERT_TRUE(logs.ok());
    ASSERT_EQ(logs->records.size(), 2u);
    std::string l = RenderTraceLogs(traces->front(), *logs, false);
    EXPECT_EQ(l,
              "Logs (2)\n"
              "+2.0ms     client-gateway INFO  POST /v1/order  POST /v1/order ?[2J\n"
              "+100.0ms   order-manager  ERROR create_order    Insufficient funds for user 11\n"
              "warning: 1 log records of this trace are left out\n");
    EXPECT_NE(RenderTraceLogs(traces->front(), *logs, true).find("\x1b[31mERROR"),
              std::string::npos);
    EXPECT_EQ(RenderTraceLogs(traces->front(), CliTraceLogs{}, false),
              "Logs (0)\n(no log records)\n");
    EXPECT_FALSE(ParseTraceLogs("<html>").ok());
}

TEST(Waterfall, FormatsDurations) {
    EXPECT_EQ(FormatDuration(850), "850µs");
    EXPECT_EQ(FormatDuration(152300), "152.3ms");
    EXPECT_EQ(FormatDuration(1200000), "1.20s");
}

}  // namespace
}  // namespace flowex::cli
