#include "flowex/collector/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "test_util.hpp"

namespace flowex::collector {
namespace {

using testing::AddResource;
using testing::AddSpan;
using testing::DecodeOrDie;
using testing::FileSizeLimit;
using testing::Id;
using testing::TempDir;

constexpr std::uint64_t kT0 = 1'700'000'000'000'000'000ULL;
constexpr std::uint64_t kMs = 1'000'000ULL;

// An order trace: gateway (server → internal) → order-manager (server) → postgres client span.
ExportTraceRequest OrderTrace(const std::string& trace, std::uint64_t t0, bool error, std::uint64_t dur_ms,
                              const std::string& symbol = "AAPL", std::int64_t user = 11) {
    ExportTraceRequest req;
    auto* gw = AddResource(&req, "client-gateway");
    AddSpan(gw, {trace, "1000000000000001", "", "POST /v1/order", 2, t0, t0 + dur_ms * kMs, error});
    testing::SpanSpec place{trace, "1000000000000002", "1000000000000001", "place_order", 1, t0 + kMs,
                            t0 + (dur_ms - 1) * kMs, error, {{"symbol", symbol}, {"note", "hello"}}, {{"user_id", user}}};
    AddSpan(gw, place);
    AddSpan(gw, {trace, "1000000000000003", "1000000000000002", "POST", 3, t0 + 2 * kMs, t0 + 3 * kMs});
    auto* om = AddResource(&req, "order-manager");
    AddSpan(om, {trace, "2000000000000001", "1000000000000003", "POST /order", 2, t0 + 2 * kMs, t0 + 3 * kMs});
    testing::SpanSpec db{trace, "2000000000000002", "2000000000000001", "INSERT orders", 3, t0 + 2 * kMs,
                         t0 + 3 * kMs, false, {{"db.system.name", "postgresql"}, {"service.peer.name", "postgresql"}}};
    AddSpan(om, db);
    return req;
}

// The request holding only `whole`'s resource number `resource` (one service's export).
ExportTraceRequest OneResource(const ExportTraceRequest& whole, int resource) {
    ExportTraceRequest part;
    *part.add_resource_spans() = whole.resource_spans(resource);
    return part;
}

// The service map's calls by "parent -> child" over the hour around kT0.
std::map<std::string, std::int64_t> CallsByEdge(const Store& s) {
    std::map<std::string, std::int64_t> calls;
    auto deps = s.Dependencies(static_cast<std::int64_t>(kT0) + 60'000'000'000LL, 3'600'000'000'000LL);
    EXPECT_TRUE(deps.ok());
    if (deps.ok()) {
        for (const auto& d : *deps) { calls[d.parent + " -> " + d.child] += d.calls; }
    }
    return calls;
}

std::string TraceHex(int i) {
    char buf[33];
    std::snprintf(buf, sizeof buf, "%032x", i + 1);
    return buf;
}

class StoreTest : public ::testing::Test {
protected:
    std::unique_ptr<Store> Open(
        std::chrono::nanoseconds max_age = std::chrono::hours(24), std::int64_t max_bytes = 0,
        std::int64_t tag_block_traces = 2048, const std::string& dir = "",
        std::size_t dependency_memory_bytes = StoreOptions{}.dependency_memory_bytes,
        std::size_t summary_cache_traces = StoreOptions{}.summary_cache_traces,
        std::size_t max_services = StoreOptions{}.max_services) {
        StoreOptions o;
        o.max_services = max_services;
        o.tag_block_traces = tag_block_traces;
        o.dependency_memory_bytes = dependency_memory_bytes;
        o.summary_cache_traces = summary_cache_traces;
        o.data_dir = dir.empty() ? dir_.str() : dir;
        // The manual clock stands still: rows commit when a query, Flush or the close asks.
        o.clock = &clock_;
        o.max_age = max_age;
        o.max_bytes = max_bytes;
        o.window = std::chrono::hours(1);
        auto s = Store::Open(o);
        EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
        return std::move(s).value();
    }
    void Put(Store& s, const ExportTraceRequest& req) {
        DecodedTraces d = DecodeOrDie(req);
        auto r = s.Ingest({&d}, {});
        ASSERT_TRUE(r.ok()) << r.error().message;
    }
    TempDir dir_;
    common::ManualClock clock_{static_cast<std::int64_t>(kT0)};
};

// Adds spans number first .. first + count - 1 of a loop under span 00000000000000aa: span id
// 0x100 + n, named `name`, in the n-th millisecond from kT0.
void AddLoopSpans(otlp_trace::ScopeSpans* scope, const std::string& trace, const char* name,
                  int first, int count) {
    for (int n = first; n < first + count; ++n) {
        char sid[17];
        std::snprintf(sid, sizeof sid, "%016x", 0x100 + n);
        AddSpan(scope, {trace, sid, "00000000000000aa", name, 1,
                        kT0 + static_cast<std::uint64_t>(n) * kMs,
                        kT0 + static_cast<std::uint64_t>(n + 1) * kMs});
    }
}

// A runaway trace (a loop under one span) is read in bounded memory: the first spans to arrive
// up to the limit, and the root, which ends (and arrives) last.
TEST_F(StoreTest, ALimitedReadKeepsTheFirstSpansToArriveAndTheRootAndCountsTheRest) {
    auto s = Open();
    const std::string id = TraceHex(7);
    for (int call = 0; call < 4; ++call) {
        ExportTraceRequest req;
        AddLoopSpans(AddResource(&req, "runaway"), id, "loop", call * 10, 10);
        Put(*s, req);
    }
    ExportTraceRequest root;
    AddSpan(AddResource(&root, "runaway"),
            {id, "00000000000000aa", "", "GET /runaway", 2, kT0, kT0 + 50 * kMs});
    Put(*s, root);

    auto span_ids = [](const otlp_trace::TracesData& t) {
        std::vector<std::string> ids;
        for (const auto& rs : t.resource_spans()) {
            EXPECT_GT(rs.scope_spans_size(), 0);  // nothing left empty by the cut
            for (const auto& ss : rs.scope_spans()) {
                EXPECT_GT(ss.spans_size(), 0);
                for (const auto& span : ss.spans()) { ids.push_back(span.span_id()); }
            }
        }
        return ids;
    };
    std::int64_t omitted = -1;
    auto t = s->GetTrace(Id(id), 15, &omitted);
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_TRUE(t->has_value());
    std::vector<std::string> ids = span_ids(**t);
    ASSERT_EQ(ids.size(), 16u);
    for (int n = 0; n < 15; ++n) {
        char sid[17];
        std::snprintf(sid, sizeof sid, "%016x", 0x100 + n);
        EXPECT_EQ(ids[static_cast<std::size_t>(n)], Id(sid)) << n;
    }
    EXPECT_EQ(ids.back(), Id("00000000000000aa"));
    EXPECT_EQ(omitted, 25);

    t = s->GetTrace(Id(id), 0, &omitted);
    ASSERT_TRUE(t.ok() && t->has_value());
    EXPECT_EQ(span_ids(**t).size(), 41u);
    EXPECT_EQ(omitted, 0);
}

TEST_F(StoreTest, IngestThenLookupById) {
    auto s = Open();
    std::string id = TraceHex(1);
    DecodedTraces d = DecodeOrDie(OrderTrace(id, kT0, false, 10));
    auto r = s->Ingest({&d}, {});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->spans, 5);
    ASSERT_EQ(r->new_traces.size(), 1u);
    EXPECT_EQ(r->new_traces[0].root_service, "client-gateway");
    EXPECT_EQ(r->new_traces[0].root_operation, "POST /v1/order");
    auto t = s->GetTrace(Id(id));
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t->has_value());
    int spans = 0;
    for (const auto& rs : (*t)->resource_spans()) {
        for (const auto& ss : rs.scope_spans()) {
            spans += ss.spans_size();
            EXPECT_EQ(ss.scope().name(), "test-scope");
        }
    }
    EXPECT_EQ(spans, 5);
    auto missing = s->GetTrace(Id(TraceHex(99)));
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
}

// The traces a search by service alone finds (none when the search fails).
std::vector<TraceSummary> TracesOf(const Store& s, const std::string& service) {
    SearchQuery q;
    q.service = service;
    auto found = s.Search(q);
    EXPECT_TRUE(found.ok()) << (found.ok() ? "" : found.error().message);
    return found.ok() ? *found : std::vector<TraceSummary>{};
}

TEST_F(StoreTest, SpansOfOneTraceInSeveralBatchesMerge) {
    auto s = Open();
    std::string id = TraceHex(2);
    ExportTraceRequest full = OrderTrace(id, kT0, false, 10);
    ExportTraceRequest a;
    *a.add_resource_spans() = full.resource_spans(1);  // child service first
    ExportTraceRequest b;
    *b.add_resource_spans() = full.resource_spans(0);
    Put(*s, a);
    Put(*s, b);
    const std::vector<TraceSummary> found = TracesOf(*s, "order-manager");
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].span_count, 5);
    EXPECT_EQ(found[0].root_service, "client-gateway");
    EXPECT_EQ(found[0].services.size(), 2u);
}

// The writer reuses its per-trace builders from call to call: a trace written after another
// carries none of the first one's services, errors, tags, spans or calls.
TEST_F(StoreTest, ATraceWrittenAfterAnotherCarriesNothingOfIt) {
    auto s = Open();
    const std::string first = TraceHex(3);
    const std::string second = TraceHex(4);
    Put(*s, OrderTrace(first, kT0, true, 10, "MSFT"));
    ExportTraceRequest lone;
    AddSpan(AddResource(&lone, "lonely"),
            {second, "3000000000000001", "", "GET /alone", 2, kT0 + kMs, kT0 + 2 * kMs});
    Put(*s, lone);

    const std::vector<TraceSummary> lonely = TracesOf(*s, "lonely");
    ASSERT_EQ(lonely.size(), 1u);
    const TraceSummary& t = lonely[0];
    EXPECT_EQ(t.trace_id, Id(second));
    EXPECT_EQ(t.span_count, 1);
    EXPECT_EQ(t.error_count, 0);
    EXPECT_EQ(t.root_service, "lonely");
    EXPECT_EQ(t.root_operation, "GET /alone");
    ASSERT_EQ(t.services.size(), 1u);
    EXPECT_EQ(t.services[0].name, "lonely");

    SearchQuery by_tag;
    by_tag.tags = {{"symbol", "MSFT"}};
    auto found = s->Search(by_tag);
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ((*found)[0].trace_id, Id(first));

    auto read = s->GetTrace(Id(second));
    ASSERT_TRUE(read.ok());
    ASSERT_TRUE(read->has_value());
    ASSERT_EQ((*read)->resource_spans_size(), 1);
    ASSERT_EQ((*read)->resource_spans(0).scope_spans_size(), 1);
    EXPECT_EQ((*read)->resource_spans(0).scope_spans(0).spans_size(), 1);
    const std::map<std::string, std::int64_t> calls = CallsByEdge(*s);
    EXPECT_EQ(calls, (std::map<std::string, std::int64_t>{{"client-gateway -> order-manager", 1},
                                                          {"order-manager -> postgresql", 1}}));
}

// A builder that held a large trace gives that memory back when reused (the path differs):
// the next trace still reads back alone and whole.
TEST_F(StoreTest, ATraceWrittenAfterALargeOneReadsBackAlone) {
    auto s = Open();
    const std::string large = TraceHex(5);
    const std::string small = TraceHex(6);
    ExportTraceRequest big;
    auto* scope = AddResource(&big, "busy");
    AddSpan(scope, {large, "00000000000000aa", "", "GET /busy", 2, kT0, kT0 + 400 * kMs});
    AddLoopSpans(scope, large, "step", 0, 300);
    Put(*s, big);
    ExportTraceRequest lone;
    AddSpan(AddResource(&lone, "quiet"),
            {small, "3000000000000001", "", "GET /quiet", 2, kT0 + kMs, kT0 + 2 * kMs});
    Put(*s, lone);

    auto read = s->GetTrace(Id(small));
    ASSERT_TRUE(read.ok());
    ASSERT_TRUE(read->has_value());
    ASSERT_EQ((*read)->resource_spans_size(), 1);
    EXPECT_EQ((*read)->resource_spans(0).scope_spans(0).spans_size(), 1);
    const std::vector<TraceSummary> busy = TracesOf(*s, "busy");
    ASSERT_EQ(busy.size(), 1u);
    EXPECT_EQ(busy[0].span_count, 301);
}

std::string OnlyFileWithSuffix(const std::string& dir, const std::string& suffix) {
    std::string found;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        std::string name = e.path().string();
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            EXPECT_TRUE(found.empty()) << "two files end with " << suffix;
            found = name;
        }
    }
    return found;
}

// Runs sql (read-write: the first connection recovers the WAL, as after a crash) on every
// window database of dir and returns the first column of the first row of each.
std::vector<std::int64_t> QueryWindows(const std::string& dir, const std::string& sql) {
    std::vector<std::string> paths;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".db") { paths.push_back(e.path().string()); }
    }
    std::sort(paths.begin(), paths.end());
    std::vector<std::int64_t> out;
    for (const auto& path : paths) {
        sqlite3* db = nullptr;
        EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
        out.push_back(sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    return out;
}

// Counts the rows of `sql` (a SELECT count(*)) in every window file, oldest first.
std::vector<int> CountInWindows(const std::string& dir, const char* sql) {
    std::vector<std::int64_t> counts = QueryWindows(dir, sql);
    return std::vector<int>(counts.begin(), counts.end());
}

// Two services' requests committed together (the writer takes everything queued): each trace
// gets one chunk and one summary upsert for the commit, and reads back whole.
TEST_F(StoreTest, RequestsCommittedTogetherWriteOneChunkPerTrace) {
    std::string x = TraceHex(20);
    std::string y = TraceHex(21);
    ExportTraceRequest tx = OrderTrace(x, kT0, false, 10, "AAPL");
    ExportTraceRequest ty = OrderTrace(y, kT0 + 5 * kMs, true, 20, "MSFT");
    ExportTraceRequest a;  // order-manager's request: its part of both traces
    *a.add_resource_spans() = tx.resource_spans(1);
    *a.add_resource_spans() = ty.resource_spans(1);
    ExportTraceRequest b;  // client-gateway's request
    *b.add_resource_spans() = tx.resource_spans(0);
    *b.add_resource_spans() = ty.resource_spans(0);
    {
        auto s = Open();
        DecodedTraces da = DecodeOrDie(a);
        DecodedTraces db = DecodeOrDie(b);
        auto r = s->Ingest({&da, &db}, {});
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->spans, 10);
        ASSERT_EQ(r->new_traces.size(), 2u);
        for (const std::string& id : {x, y}) {
            auto t = s->GetTrace(Id(id));
            ASSERT_TRUE(t.ok() && t->has_value()) << id;
            EXPECT_EQ((*t)->resource_spans_size(), 2) << id;  // both services' parts
            std::vector<std::string> ids;
            for (const auto& rs : (*t)->resource_spans()) {
                for (const auto& ss : rs.scope_spans()) {
                    for (const auto& span : ss.spans()) { ids.push_back(span.trace_id()); }
                }
            }
            EXPECT_EQ(ids, std::vector<std::string>(5, Id(id)));
        }
        SearchQuery q;
        q.service = "order-manager";
        q.tags = {{"symbol", "MSFT"}};
        auto found = s->Search(q);
        ASSERT_TRUE(found.ok());
        ASSERT_EQ(found->size(), 1u);
        EXPECT_EQ((*found)[0].span_count, 5);
        EXPECT_EQ((*found)[0].error_count, 2);
        EXPECT_EQ((*found)[0].root_service, "client-gateway");
        EXPECT_EQ((*found)[0].root_operation, "POST /v1/order");
    }
    // One 12-byte ref (one chunk in the span file) per trace, not one per request.
    EXPECT_EQ(CountInWindows(dir_.str(), "SELECT count(*) FROM traces"), std::vector<int>{2});
    EXPECT_EQ(CountInWindows(dir_.str(), "SELECT count(*) FROM traces WHERE length(CAST(refs AS BLOB)) = 12"),
              std::vector<int>{2});
}

// A trace's later requests repeat most of its tags: the writer remembers which rows the trace
// has in the current block and window, inserts only the new ones, and writes them again in a
// new window.
TEST_F(StoreTest, TagRowsOfATraceAreWrittenOncePerBlockAndAgainInANewWindow) {
    std::string x = TraceHex(30);
    auto wallet_part = [&](std::uint64_t t0, const std::string& side) {
        ExportTraceRequest req;
        auto* res = AddResource(&req, "wallet-service");
        testing::SpanSpec span{x, "3000000000000001", "1000000000000003", "POST /block-funds", 2, t0,
                               t0 + kMs, false, {{"symbol", "AAPL"}, {"side", side}}, {{"user_id", 11}}};
        AddSpan(res, span);
        return req;
    };
    {
        auto s = Open();
        ExportTraceRequest gw;
        *gw.add_resource_spans() = OrderTrace(x, kT0, false, 10, "AAPL", 11).resource_spans(0);
        Put(*s, gw);                           // symbol=AAPL, user_id=11
        Put(*s, wallet_part(kT0 + kMs, "buy"));   // the same two, and side=buy
        Put(*s, wallet_part(kT0 + 2 * kMs, "sell"));  // side=sell
        for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                 {"symbol", "AAPL"}, {"side", "buy"}, {"side", "sell"}, {"user_id", "11"}}) {
            SearchQuery q;
            q.tags = {{k, v}};
            auto found = s->Search(q);
            ASSERT_TRUE(found.ok());
            ASSERT_EQ(found->size(), 1u) << k << "=" << v;
            EXPECT_EQ((*found)[0].span_count, 5) << k << "=" << v;
        }
        EXPECT_EQ(CountInWindows(dir_.str(), "SELECT count(*) FROM tagb WHERE key='symbol' AND value='AAPL'"),
                  std::vector<int>{1});
        EXPECT_EQ(CountInWindows(dir_.str(), "SELECT count(*) FROM tagb WHERE key='side'"),
                  std::vector<int>{2});
        // Three requests' refs, concatenated, still a blob (|| alone would make it text).
        EXPECT_EQ(CountInWindows(dir_.str(),
                                 "SELECT count(*) FROM traces WHERE typeof(refs) = 'blob' AND length(refs) = 36"),
                  std::vector<int>{1});

        clock_.Advance(std::chrono::hours(1));  // the next request opens a new window
        Put(*s, wallet_part(kT0 + 3 * kMs, "buy"));
        SearchQuery q;
        q.tags = {{"side", "buy"}};
        q.start_min_ns = static_cast<std::int64_t>(kT0);
        auto found = s->Search(q);
        ASSERT_TRUE(found.ok());
        EXPECT_EQ(found->size(), 1u);
    }
    // The new window holds the trace's tag rows of that request, although the writer had
    // written the same (block, key, value, trace) in the old one.
    EXPECT_EQ(CountInWindows(dir_.str(), "SELECT count(*) FROM tagb WHERE key='symbol' AND value='AAPL'"),
              (std::vector<int>{1, 1}));
    EXPECT_EQ(CountInWindows(dir_.str(), "SELECT count(*) FROM tagb WHERE key='side' AND value='buy'"),
              (std::vector<int>{1, 1}));
}

// Tag rows wait for the commit and are written then, sorted, many to a statement: every one
// of a commit's rows arrives, with its own trace, value and start.
TEST_F(StoreTest, TagRowsQueuedForTheCommitAreEachWrittenWithTheirOwnTrace) {
    auto s = Open();
    constexpr int kTraces = 45;  // 3 indexed tags each: 135 rows, several statements' worth
    for (int i = 0; i < kTraces; ++i) {
        Put(*s, OrderTrace(TraceHex(100 + i), kT0 + static_cast<std::uint64_t>(i) * kMs, false, 10,
                           i % 2 == 0 ? "AAPL" : "MSFT", 5000 + i));
    }
    // A second call of an early trace in the same interval: its rows are not written twice.
    Put(*s, OrderTrace(TraceHex(100), kT0, false, 10, "AAPL", 5000));
    for (int i = 0; i < kTraces; ++i) {
        SearchQuery q;
        q.tags = {{"user_id", std::to_string(5000 + i)}};
        auto found = s->Search(q);
        ASSERT_TRUE(found.ok());
        ASSERT_EQ(found->size(), 1u) << "user_id=" << 5000 + i;
        EXPECT_EQ(ToHex((*found)[0].trace_id), TraceHex(100 + i));
    }
    SearchQuery msft;
    msft.tags = {{"symbol", "MSFT"}};
    msft.limit = 100;
    auto found = s->Search(msft);
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->size(), static_cast<std::size_t>(kTraces / 2));
    EXPECT_EQ(CountInWindows(dir_.str(), "SELECT count(*) FROM tagb"),
              std::vector<int>{3 * kTraces});
    EXPECT_EQ(CountInWindows(dir_.str(),
                             "SELECT count(*) FROM tagb t JOIN traces r USING (trace_id) "
                             "WHERE t.start_ns = r.start_ns"),
              std::vector<int>{3 * kTraces});
    // Their (trace, service) rows go the same way: one per trace and service, the second call of
    // trace 100 merged into its first.
    EXPECT_EQ(CountInWindows(dir_.str(), "SELECT count(*) FROM svcr"),
              std::vector<int>{2 * kTraces});
    EXPECT_EQ(
        CountInWindows(
            dir_.str(),
            "SELECT count(*) FROM svcr s JOIN traces r USING (trace_id) "
            "WHERE s.service = 'order-manager' AND s.start_ns = r.start_ns + 2000000 "
            "AND s.min_dur = 1000000 AND s.max_dur = 1000000 "
            "AND s.ops = char(10) || 'POST /order' || char(10) || 'INSERT orders' || char(10)"),
        std::vector<int>{kTraces});
    SearchQuery gateway;
    gateway.service = "client-gateway";
    gateway.tags = {{"symbol", "MSFT"}};
    gateway.limit = 100;
    auto by_service = s->Search(gateway);
    ASSERT_TRUE(by_service.ok());
    EXPECT_EQ(by_service->size(), static_cast<std::size_t>(kTraces / 2));
}

// Tags that are not indexed, and a span's duration, are checked on the trace's chunks one at a
// time: each condition may be met by a span of another export call of the trace.
TEST_F(StoreTest, ConditionsMetBySpansOfDifferentExportsFindTheTrace) {
    auto s = Open();
    const std::string id = TraceHex(21);
    auto part = [&](const char* span_id, const char* name, std::uint64_t dur_ms,
                    std::vector<std::pair<std::string, std::string>> attrs) {
        ExportTraceRequest req;
        testing::SpanSpec spec{id, span_id, "00000000000000aa", name, 1, kT0, kT0 + dur_ms * kMs};
        spec.attrs = std::move(attrs);
        AddSpan(AddResource(&req, "kitchen"), spec);
        Put(*s, req);
    };
    part("0000000000000001", "prepare", 5, {{"flavor", "sweet"}});
    part("0000000000000002", "bake", 50, {});
    part("0000000000000003", "serve", 5, {{"colour", "green"}});
    ExportTraceRequest root;
    AddSpan(AddResource(&root, "kitchen"),
            {id, "00000000000000aa", "", "GET /cake", 2, kT0, kT0 + 70 * kMs});
    Put(*s, root);

    auto count = [&](SearchQuery q) {
        auto found = s->Search(q);
        EXPECT_TRUE(found.ok()) << found.error().message;
        return found.ok() ? found->size() : 0u;
    };
    SearchQuery q;
    q.tags = {{"flavor", "sweet"}, {"colour", "green"}};
    EXPECT_EQ(count(q), 1u);
    q.tags = {{"flavor", "sweet"}, {"colour", "red"}};
    EXPECT_EQ(count(q), 0u);
    q = SearchQuery{};
    q.service = "kitchen";
    q.operation = "bake";
    q.min_duration_ns = 40 * static_cast<std::int64_t>(kMs);
    q.tags = {{"colour", "green"}};
    EXPECT_EQ(count(q), 1u);
    q.min_duration_ns = 60 * static_cast<std::int64_t>(kMs);
    EXPECT_EQ(count(q), 0u);
}

void PutTrace(Store* s, const ExportTraceRequest& req) {
    DecodedTraces d = DecodeOrDie(req);
    auto r = s->Ingest({&d}, {});
    ASSERT_TRUE(r.ok()) << r.error().message;
}

void SearchByServiceOperationTagsDurationAndError(Store* s) {
    for (int i = 0; i < 20; ++i) {
        PutTrace(s, OrderTrace(TraceHex(i), kT0 + i * 1000 * kMs, i % 5 == 0, 10 + i * 10,
                               i % 2 == 0 ? "AAPL" : "MSFT", 100 + i));
    }
    SearchQuery q;
    q.service = "client-gateway";
    q.limit = 100;
    auto all = s->Search(q);
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 20u);
    EXPECT_GT((*all)[0].start_ns, (*all)[1].start_ns);  // newest first

    q.limit = 5;
    EXPECT_EQ(s->Search(q)->size(), 5u);

    q.limit = 100;
    q.operation = "place_order";
    q.tags = {{"symbol", "MSFT"}};
    EXPECT_EQ(s->Search(q)->size(), 10u);

    q.tags = {{"user_id", "107"}};
    auto one = s->Search(q);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ(ToHex(one->front().trace_id), TraceHex(7));

    q.tags = {{"error", "true"}};
    EXPECT_EQ(s->Search(q)->size(), 4u);

    q.tags = {{"note", "hello"}};  // not an indexed key: found by reading the traces
    EXPECT_EQ(s->Search(q)->size(), 20u);
    q.tags = {{"note", "nope"}};
    EXPECT_EQ(s->Search(q)->size(), 0u);

    q.tags.clear();
    q.operation = "POST /v1/order";
    q.min_duration_ns = 100 * kMs;
    q.max_duration_ns = 150 * kMs;  // 100, 110, …, 150 → i = 9..14
    EXPECT_EQ(s->Search(q)->size(), 6u);

    SearchQuery by_tag_only;
    by_tag_only.tags = {{"symbol", "AAPL"}, {"error", "true"}};
    EXPECT_EQ(s->Search(by_tag_only)->size(), 2u);  // i % 5 == 0 and even: 0, 10

    SearchQuery window;
    window.service = "client-gateway";
    window.start_min_ns = static_cast<std::int64_t>(kT0 + 5000 * kMs);
    window.start_max_ns = static_cast<std::int64_t>(kT0 + 9000 * kMs);
    EXPECT_EQ(s->Search(window)->size(), 5u);
}

TEST_F(StoreTest, ServiceRowsOfOneTraceFromSeveralBatchesGiveOneResult) {
    auto s = Open();
    std::string id = TraceHex(60);
    ExportTraceRequest full = OrderTrace(id, kT0, true, 10);
    for (int i = 0; i < 3; ++i) {  // the gateway's spans arrive one per batch
        ExportTraceRequest part;
        auto* rs = part.add_resource_spans();
        *rs->mutable_resource() = full.resource_spans(0).resource();
        auto* ss = rs->add_scope_spans();
        *ss->mutable_scope() = full.resource_spans(0).scope_spans(0).scope();
        *ss->add_spans() = full.resource_spans(0).scope_spans(0).spans(i);
        Put(*s, part);
    }
    SearchQuery q;
    q.service = "client-gateway";
    auto all = s->Search(q);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->size(), 1u);
    EXPECT_EQ(all->front().span_count, 3);
    q.operation = "POST";  // only in the third batch
    EXPECT_EQ(s->Search(q)->size(), 1u);
    q.operation = "place_order";
    q.tags = {{"error", "true"}};  // an error span with that operation: the second batch
    EXPECT_EQ(s->Search(q)->size(), 1u);
    q.operation = "POST";  // not an error span
    EXPECT_EQ(s->Search(q)->size(), 0u);
    q.operation.clear();
    q.tags = {{"user_id", "11"}};  // tag-driven; the service checked in its rows by time span
    EXPECT_EQ(s->Search(q)->size(), 1u);
    q.service = "order-manager";
    EXPECT_EQ(s->Search(q)->size(), 0u);
}

TEST_F(StoreTest, SearchByServiceOperationTagsDurationAndError) {
    auto s = Open();
    SearchByServiceOperationTagsDurationAndError(s.get());
}

TEST_F(StoreTest, SearchesGiveTheSameAnswersWhenTagsSpanManyBlocks) {
    auto s = Open(std::chrono::hours(24), 0, 3);  // 20 traces → 7 tag blocks
    SearchByServiceOperationTagsDurationAndError(s.get());
}

TEST_F(StoreTest, TraceWhoseBatchesLandInDifferentTagBlocksMatchesTagsOfBoth) {
    auto s = Open(std::chrono::hours(24), 0, 2);
    std::string id = TraceHex(40);
    ExportTraceRequest full =
        OrderTrace(id, kT0, false, 10, "NVDA", 4242);  // symbol + user_id on gateway spans
    ExportTraceRequest gateway;
    *gateway.add_resource_spans() = full.resource_spans(0);
    ExportTraceRequest orders;
    *orders.add_resource_spans() = full.resource_spans(1);  // db.system.name=postgresql
    Put(*s, gateway);
    for (int i = 0; i < 5; ++i) {  // move the writer on by a few blocks
        Put(*s, OrderTrace(TraceHex(50 + i), kT0 + (i + 1) * kMs, false, 10, "AAPL", 1));
    }
    Put(*s, orders);
    SearchQuery q;
    q.tags = {{"user_id", "4242"}, {"db.system.name", "postgresql"}};
    auto both = s->Search(q);
    ASSERT_TRUE(both.ok());
    ASSERT_EQ(both->size(), 1u);
    EXPECT_EQ(ToHex(both->front().trace_id), id);
    EXPECT_EQ(both->front().span_count, 5);
    q.service = "order-manager";  // driven by the service's rows, both tags verified by block
    q.tags = {{"symbol", "NVDA"}, {"db.system.name", "postgresql"}};
    auto by_service = s->Search(q);
    ASSERT_TRUE(by_service.ok());
    ASSERT_EQ(by_service->size(), 1u);
    q.tags = {{"symbol", "AAPL"}, {"db.system.name", "postgresql"}};
    EXPECT_EQ(s->Search(q)->size(), 5u);
    q.tags = {{"symbol", "NVDA"}, {"user_id", "1"}};
    EXPECT_EQ(s->Search(q)->size(), 0u);
}

TEST_F(StoreTest, ServicesOperationsAndDependencies) {
    auto s = Open();
    Put(*s, OrderTrace(TraceHex(1), kT0, false, 10));
    auto services = s->Services();
    ASSERT_TRUE(services.ok());
    EXPECT_EQ(*services, (std::vector<std::string>{"client-gateway", "order-manager"}));
    auto ops = s->Operations("client-gateway");
    ASSERT_EQ(ops->size(), 3u);
    auto deps = s->Dependencies(static_cast<std::int64_t>(kT0) + 60'000'000'000LL, 3'600'000'000'000LL);
    ASSERT_TRUE(deps.ok());
    bool gw_om = false;
    bool om_pg = false;
    for (const auto& d : *deps) {
        gw_om |= d.parent == "client-gateway" && d.child == "order-manager" && d.calls == 1;
        om_pg |= d.parent == "order-manager" && d.child == "postgresql" && d.calls == 1;
    }
    EXPECT_TRUE(gw_om);
    EXPECT_TRUE(om_pg);
}

TEST_F(StoreTest, DependenciesJoinParentsAndChildrenFromSeparateRequests) {
    // Each service exports on its own schedule, so a SERVER span often reaches the collector
    // before the CLIENT span that called it, and the other way round.
    auto s = Open();
    ExportTraceRequest child_first = OrderTrace(TraceHex(1), kT0, false, 10);
    Put(*s, OneResource(child_first, 1));  // order-manager's spans, their parent not yet known
    Put(*s, OneResource(child_first, 0));
    ExportTraceRequest parent_first = OrderTrace(TraceHex(2), kT0, false, 10);
    Put(*s, OneResource(parent_first, 0));
    Put(*s, OneResource(parent_first, 1));
    // A larger trace (its spans are looked up through a hash table, not in order): 100 calls
    // from the gateway to wallet-service, the callees' spans first.
    const std::string big = TraceHex(3);
    ExportTraceRequest callees;
    ExportTraceRequest callers;
    auto* wallet = AddResource(&callees, "wallet-service");
    auto* gw = AddResource(&callers, "client-gateway");
    AddSpan(gw, {big, "3000000000000001", "", "POST /v1/order", 2, kT0, kT0 + 10 * kMs});
    for (int i = 0; i < 100; ++i) {
        char client[17];
        char server[17];
        std::snprintf(client, sizeof client, "31%014x", i);
        std::snprintf(server, sizeof server, "32%014x", i);
        AddSpan(gw, {big, client, "3000000000000001", "POST", 3, kT0 + kMs, kT0 + 2 * kMs});
        AddSpan(wallet, {big, server, client, "POST /settle", 2, kT0 + kMs, kT0 + 2 * kMs});
    }
    Put(*s, callees);
    Put(*s, callers);
    std::map<std::string, std::int64_t> calls = CallsByEdge(*s);
    EXPECT_EQ(calls["client-gateway -> order-manager"], 2);
    EXPECT_EQ(calls["order-manager -> postgresql"], 2);
    EXPECT_EQ(calls["client-gateway -> wallet-service"], 100);
    EXPECT_EQ(calls.size(), 3u);
}

TEST_F(StoreTest, DependencyMemoryForgetsTheOldestTraceFirst) {
    // Trace 1's order-manager spans wait for their parent while trace 2 comes and goes. With
    // memory for one trace only, they are forgotten by then (trace 2's call is still joined);
    // with the default, both calls are.
    for (std::size_t bytes : {std::size_t{1}, StoreOptions{}.dependency_memory_bytes}) {
        TempDir dir;
        auto s = Open(std::chrono::hours(24), 0, 2048, dir.str(), bytes);
        ExportTraceRequest first = OrderTrace(TraceHex(1), kT0, false, 10);
        ExportTraceRequest second = OrderTrace(TraceHex(2), kT0, false, 10);
        Put(*s, OneResource(first, 1));
        Put(*s, OneResource(second, 0));
        Put(*s, OneResource(second, 1));
        Put(*s, OneResource(first, 0));
        std::map<std::string, std::int64_t> calls = CallsByEdge(*s);
        EXPECT_EQ(calls["client-gateway -> order-manager"], bytes == 1 ? 1 : 2) << bytes << " bytes";
        EXPECT_EQ(calls["order-manager -> postgresql"], 2);  // from the peer, no parent needed
    }
}

TEST_F(StoreTest, APeerServiceThatIsAlsoInstrumentedIsCountedOnceOnTheMap) {
    // The gateway's CLIENT span names its peer (peer.service) and the peer reports its own
    // SERVER span: one call, one edge — also for the very first trace, before the peer's
    // name is known as a service. Only database/cache peers are nodes by their peer name.
    auto s = Open();
    ExportTraceRequest req = OrderTrace(TraceHex(7), kT0, false, 10);
    auto* client = req.mutable_resource_spans(0)->mutable_scope_spans(0)->mutable_spans(2);
    ASSERT_EQ(client->name(), "POST");
    auto* kv = client->add_attributes();
    kv->set_key("peer.service");
    kv->mutable_value()->set_string_value("order-manager");
    Put(*s, req);
    std::map<std::string, std::int64_t> calls = CallsByEdge(*s);
    EXPECT_EQ(calls["client-gateway -> order-manager"], 1);
    EXPECT_EQ(calls["order-manager -> postgresql"], 1);
    EXPECT_EQ(calls.size(), 2u);
}

// A log export of `lines` records of one trace from wallet-service, bodies "<prefix> <i>".
ExportLogsRequest TraceLogs(const std::string& trace_hex, int lines, const std::string& prefix) {
    ExportLogsRequest req;
    auto* sl = testing::AddLogResource(&req, "wallet-service");
    for (int i = 0; i < lines; ++i) {
        auto* rec = sl->add_log_records();
        rec->set_time_unix_nano(kT0 + static_cast<std::uint64_t>(lines - i));
        rec->set_trace_id(Id(trace_hex));
        rec->set_span_id(Id("1000000000000001"));
        rec->mutable_body()->set_string_value(prefix + " " + std::to_string(i));
    }
    return req;
}

void PutLogs(Store& s, const ExportLogsRequest& req) {
    auto d = DecodeLogs(req.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(d.ok());
    const DecodedLogs& logs = *d;
    ASSERT_TRUE(s.Ingest({}, {&logs}).ok());
}

// The bodies of a trace's stored log records, in the order GetTraceLogs returns them.
std::vector<std::string> LogBodies(const Store& s, const std::string& trace_hex) {
    std::vector<std::string> out;
    auto got = s.GetTraceLogs(Id(trace_hex));
    EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().message);
    if (!got.ok()) { return out; }
    for (const auto& rl : got->resource_logs()) {
        for (const auto& sl : rl.scope_logs()) {
            for (const auto& rec : sl.log_records()) { out.push_back(rec.body().string_value()); }
        }
    }
    return out;
}

// A log export mixing two traces (and a record of none) over two resources and three scopes.
// With `cut`, the record of no trace carries a body over the decoder's limit (cut to it).
ExportLogsRequest MixedLogs(const std::string& a, const std::string& b, bool cut) {
    ExportLogsRequest req;
    auto scope = [&](const std::string& service, const std::string& name) {
        auto* rl = req.add_resource_logs();
        auto* kv = rl->mutable_resource()->add_attributes();
        kv->set_key("service.name");
        kv->mutable_value()->set_string_value(service);
        auto* sl = rl->add_scope_logs();
        sl->mutable_scope()->set_name(name);
        return sl;
    };
    auto add = [](otlp_logs::ScopeLogs* sl, const std::string& trace, const std::string& body) {
        auto* rec = sl->add_log_records();
        if (!trace.empty()) {
            rec->set_trace_id(Id(trace));
            rec->set_span_id(Id("1000000000000001"));
        }
        rec->mutable_body()->set_string_value(body);
    };
    auto* s1 = scope("wallet-service", "s1");
    add(s1, a, "a1");
    add(s1, b, "b1");
    add(s1, "", cut ? std::string(20'000, 'x') : "none");
    add(s1, a, "a2");
    auto* om = req.add_resource_logs();
    *om->mutable_resource() = req.resource_logs(0).resource();
    om->mutable_resource()->mutable_attributes(0)->mutable_value()->set_string_value("order-manager");
    om->add_scope_logs()->mutable_scope()->set_name("s2");
    add(om->mutable_scope_logs(0), b, "b2");
    om->add_scope_logs()->mutable_scope()->set_name("s3");
    add(om->mutable_scope_logs(1), a, "a3");
    return req;
}

// A trace's stored logs as "service/scope: body …" per scope.
std::vector<std::string> LogLayout(const Store& s, const std::string& trace_hex) {
    std::vector<std::string> out;
    auto got = s.GetTraceLogs(Id(trace_hex));
    EXPECT_TRUE(got.ok());
    if (!got.ok()) { return out; }
    for (const auto& rl : got->resource_logs()) {
        for (const auto& sl : rl.scope_logs()) {
            std::string line = rl.resource().attributes(0).value().string_value() + "/" + sl.scope().name() + ":";
            for (const auto& rec : sl.log_records()) {
                EXPECT_EQ(rec.trace_id(), Id(trace_hex));
                line += " " + rec.body().string_value();
            }
            out.push_back(line);
        }
    }
    return out;
}

TEST_F(StoreTest, AnExportsLogsAreStoredPerTraceResourceAndScope) {
    auto s = Open();
    auto exact = DecodeLogs(MixedLogs(TraceHex(1), TraceHex(2), false).SerializeAsString(), Encoding::kProtobuf);
    auto cut = DecodeLogs(MixedLogs(TraceHex(3), TraceHex(4), true).SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(exact.ok());
    ASSERT_TRUE(cut.ok());
    const DecodedLogs& e = *exact;
    const DecodedLogs& c = *cut;
    auto outcome = s->Ingest({}, {&e, &c});
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->logs, 12);  // the records of no trace are counted, not stored
    const std::vector<std::string> a{"wallet-service/s1: a1 a2", "order-manager/s3: a3"};
    const std::vector<std::string> b{"wallet-service/s1: b1", "order-manager/s2: b2"};
    EXPECT_EQ(LogLayout(*s, TraceHex(1)), a);
    EXPECT_EQ(LogLayout(*s, TraceHex(2)), b);
    EXPECT_EQ(LogLayout(*s, TraceHex(3)), a);
    EXPECT_EQ(LogLayout(*s, TraceHex(4)), b);
}

// A commit's trace rows go many to a statement: each keeps its own summary, refs and log refs,
// whether the trace has spans or (so far) only logs.
TEST_F(StoreTest, ACommitOfManyTracesKeepsEachTracesSummaryAndRefs) {
    auto s = Open();
    constexpr int kEach = 40;  // more than a statement's rows of each kind
    for (int i = 0; i < kEach; ++i) {
        PutLogs(*s, TraceLogs(TraceHex(200 + i), 1, "alone " + std::to_string(i)));
        Put(*s, OrderTrace(TraceHex(300 + i), kT0 + static_cast<std::uint64_t>(i) * kMs, i % 4 == 0,
                           10 + i));
        PutLogs(*s, TraceLogs(TraceHex(300 + i), 2, "with " + std::to_string(i)));
    }
    SearchQuery all;
    all.limit = 100;
    auto found = s->Search(all);  // commits
    ASSERT_TRUE(found.ok());
    EXPECT_EQ(found->size(), static_cast<std::size_t>(kEach));
    EXPECT_EQ(QueryWindows(dir_.str(),
                           "SELECT count(*) FROM traces WHERE span_count = 0 AND "
                           "length(log_refs) = 12 AND refs IS NULL"),
              std::vector<std::int64_t>{kEach});
    EXPECT_EQ(
        QueryWindows(
            dir_.str(),
            "SELECT count(*) FROM traces WHERE span_count = 5 AND has_root = 1 AND "
            "root_service = 'client-gateway' AND root_operation = 'POST /v1/order' AND "
            "duration_ns = end_ns - start_ns AND length(refs) = 12 AND length(log_refs) = 12"),
        std::vector<std::int64_t>{kEach});
    for (int i : {0, 17, kEach - 1}) {
        EXPECT_EQ(LogBodies(*s, TraceHex(200 + i)),
                  std::vector<std::string>{"alone " + std::to_string(i) + " 0"});
        EXPECT_EQ(LogBodies(*s, TraceHex(300 + i)),
                  (std::vector<std::string>{"with " + std::to_string(i) + " 0",
                                            "with " + std::to_string(i) + " 1"}));
        auto trace = s->GetTrace(Id(TraceHex(300 + i)));
        ASSERT_TRUE(trace.ok() && trace->has_value());
        const auto row = std::find_if(found->begin(), found->end(), [&](const TraceSummary& t) {
            return ToHex(t.trace_id) == TraceHex(300 + i);
        });
        ASSERT_NE(row, found->end());
        EXPECT_EQ(row->end_ns - row->start_ns, static_cast<std::int64_t>((10 + i) * kMs));
        EXPECT_EQ(row->error_count, i % 4 == 0 ? 2 : 0);
    }
}

// One export of many traces, their spans and log records interleaved, grouped per trace: more
// traces than the grouping table's first size (it grows twice), with ids that differ only in
// their first half or only in the top bits of their second half (the table hashes both).
TEST_F(StoreTest, AnExportOfManyInterleavedTracesKeepsEachTracesSpansAndLogsApart) {
    auto s = Open();
    constexpr int kTraces = 700;
    auto trace_hex = [](int i) {
        char buf[33];
        if (i % 2 == 0) {
            std::snprintf(buf, sizeof buf, "%016x%016x", i + 1, 0);
        } else {
            std::snprintf(buf, sizeof buf, "%016x%016llx", 0,
                          static_cast<unsigned long long>(i + 1) << 44);
        }
        return std::string(buf);
    };
    ExportTraceRequest spans;
    ExportLogsRequest logs;
    auto* scope = AddResource(&spans, "svc");
    auto* records = testing::AddLogResource(&logs, "svc");
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < kTraces; ++i) {
            char sid[17], root[17];
            std::snprintf(sid, sizeof sid, "%016x", round * kTraces + i + 1);
            std::snprintf(root, sizeof root, "%016x", i + 1);  // round 0's span of this trace
            const std::uint64_t start = kT0 + static_cast<std::uint64_t>(i) * kMs;
            AddSpan(scope, {trace_hex(i), sid, round == 0 ? "" : root, round == 0 ? "root" : "child", 1,
                            start, start + kMs});
            auto* rec = records->add_log_records();
            rec->set_time_unix_nano(start + static_cast<std::uint64_t>(round));
            rec->set_trace_id(Id(trace_hex(i)));
            rec->set_span_id(Id(sid));
            rec->mutable_body()->set_string_value(std::to_string(i) + "/" + std::to_string(round));
        }
    }
    DecodedTraces d = DecodeOrDie(spans);
    auto decoded_logs = DecodeLogs(logs.SerializeAsString(), Encoding::kProtobuf);
    ASSERT_TRUE(decoded_logs.ok());
    const DecodedLogs& l = *decoded_logs;
    auto r = s->Ingest({&d}, {&l});
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->new_traces.size(), static_cast<std::size_t>(kTraces));
    for (int i = 0; i < kTraces; ++i) {
        auto t = s->GetTrace(Id(trace_hex(i)));
        ASSERT_TRUE(t.ok() && t->has_value()) << i;
        std::vector<std::string> ids;
        for (const auto& rs : (*t)->resource_spans()) {
            for (const auto& ss : rs.scope_spans()) {
                for (const auto& span : ss.spans()) {
                    EXPECT_EQ(ToHex(span.trace_id()), trace_hex(i));
                    ids.push_back(ToHex(span.span_id()));
                }
            }
        }
        char root[17], child[17];
        std::snprintf(root, sizeof root, "%016x", i + 1);
        std::snprintf(child, sizeof child, "%016x", kTraces + i + 1);
        EXPECT_EQ(ids, (std::vector<std::string>{root, child})) << i;
        EXPECT_EQ(LogBodies(*s, trace_hex(i)),
                  (std::vector<std::string>{std::to_string(i) + "/0", std::to_string(i) + "/1"}))
            << i;
    }
}

TEST_F(StoreTest, LogsAreStoredPerTrace) {
    {
        auto s = Open();
        PutLogs(*s, TraceLogs(TraceHex(5), 3, "line"));
        Put(*s, OrderTrace(TraceHex(6), kT0, false, 10));  // spans and logs share the span file
        PutLogs(*s, TraceLogs(TraceHex(5), 2, "more"));
        PutLogs(*s, TraceLogs(TraceHex(6), 1, "other"));
        EXPECT_EQ(LogBodies(*s, TraceHex(5)),
                  (std::vector<std::string>{"line 0", "line 1", "line 2", "more 0", "more 1"}));
        EXPECT_EQ(LogBodies(*s, TraceHex(6)), (std::vector<std::string>{"other 0"}));
        EXPECT_TRUE(LogBodies(*s, TraceHex(7)).empty());
        EXPECT_TRUE(s->GetTrace(Id(TraceHex(6)))->has_value());
    }
    // The trace rows point into the span file (no log rows); a reopened store reads the same.
    auto s = Open();
    EXPECT_EQ(LogBodies(*s, TraceHex(5)),
              (std::vector<std::string>{"line 0", "line 1", "line 2", "more 0", "more 1"}));
    EXPECT_EQ(QueryWindows(dir_.str(), "SELECT count(*) FROM logs"), std::vector<std::int64_t>{0});
    EXPECT_EQ(QueryWindows(dir_.str(), "SELECT length(log_refs) FROM traces WHERE trace_id=x'" +
                                           TraceHex(5) + "'"),
              std::vector<std::int64_t>{24});  // one ref per (trace, export)
    EXPECT_EQ(QueryWindows(dir_.str(), "SELECT length(log_refs) FROM traces WHERE trace_id=x'" +
                                           TraceHex(6) + "'"),
              std::vector<std::int64_t>{12});
    // A trace known by its logs only is not a search result, nor a trace by id.
    auto found = s->Search(SearchQuery{});
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ((*found)[0].trace_id, Id(TraceHex(6)));
    EXPECT_FALSE(s->GetTrace(Id(TraceHex(5)))->has_value());
    // Its spans, when they come, join the row.
    Put(*s, OrderTrace(TraceHex(5), kT0 + 5 * kMs, false, 10));
    auto t5 = s->Search(SearchQuery{});
    ASSERT_TRUE(t5.ok());
    EXPECT_EQ(t5->size(), 2u);
    EXPECT_EQ(LogBodies(*s, TraceHex(5)).size(), 5u);
    EXPECT_TRUE(s->GetTrace(Id(TraceHex(5)))->has_value());
    SearchQuery two_tags;  // the second tag is checked in the trace's tag blocks [tb0, tb1]
    two_tags.tags = {{"symbol", "AAPL"}, {"user_id", "11"}};
    auto both = s->Search(two_tags);
    ASSERT_TRUE(both.ok());
    EXPECT_EQ(both->size(), 2u);
    EXPECT_EQ(QueryWindows(dir_.str(), "SELECT tb0 = tb1 FROM traces WHERE trace_id=x'" + TraceHex(5) + "'"),
              std::vector<std::int64_t>{1});  // the logs-only row's range did not start at block 0
}

// A limited read of a trace's logs keeps the first records to arrive, across exports, resources
// and scopes, and counts the rest; 0 reads them all.
TEST_F(StoreTest, ALimitedLogReadKeepsTheFirstRecordsToArriveAndCountsTheRest) {
    auto s = Open();
    PutLogs(*s, TraceLogs(TraceHex(8), 3, "first"));
    PutLogs(*s, MixedLogs(TraceHex(8), TraceHex(9), false));  // a1 a2 (wallet), a3 (order-manager)
    PutLogs(*s, TraceLogs(TraceHex(8), 2, "last"));
    auto bodies = [&](std::int64_t limit, std::int64_t* omitted) {
        std::vector<std::string> out;
        auto got = s->GetTraceLogs(Id(TraceHex(8)), limit, omitted);
        EXPECT_TRUE(got.ok());
        if (!got.ok()) { return out; }
        for (const auto& rl : got->resource_logs()) {
            EXPECT_GT(rl.scope_logs_size(), 0);  // no empty resource or scope is left behind
            for (const auto& sl : rl.scope_logs()) {
                EXPECT_GT(sl.log_records_size(), 0);
                for (const auto& rec : sl.log_records()) {
                    out.push_back(rl.resource().attributes(0).value().string_value() + ":" +
                                  rec.body().string_value());
                }
            }
        }
        return out;
    };
    std::int64_t omitted = -1;
    EXPECT_EQ(bodies(0, &omitted).size(), 8u);
    EXPECT_EQ(omitted, 0);
    EXPECT_EQ(bodies(4, &omitted),
              (std::vector<std::string>{"wallet-service:first 0", "wallet-service:first 1",
                                        "wallet-service:first 2", "wallet-service:a1"}));
    EXPECT_EQ(omitted, 4);
    EXPECT_EQ(bodies(6, &omitted),
              (std::vector<std::string>{"wallet-service:first 0", "wallet-service:first 1",
                                        "wallet-service:first 2", "wallet-service:a1",
                                        "wallet-service:a2", "order-manager:a3"}));
    EXPECT_EQ(omitted, 2);
    EXPECT_EQ(bodies(8, &omitted).size(), 8u);
    EXPECT_EQ(omitted, 0);
    EXPECT_EQ(LogBodies(*s, TraceHex(9)), (std::vector<std::string>{"b1", "b2"}));
}

// Rows wait for their commit in an open transaction; the span file is the journal of what was
// answered meanwhile. A copy of the files taken before the commit is what a crash leaves.
TEST_F(StoreTest, AnsweredCallsSurviveACrashBeforeTheirCommit) {
    const std::string x = TraceHex(30);
    const std::string y = TraceHex(31);
    ExportTraceRequest tx = OrderTrace(x, kT0, true, 10, "AAPL");
    ExportTraceRequest gateway;  // the trace's spans come in two services' requests
    *gateway.add_resource_spans() = tx.resource_spans(0);
    ExportTraceRequest order_manager;
    *order_manager.add_resource_spans() = tx.resource_spans(1);
    TempDir crashed;
    auto s = Open();
    Put(*s, gateway);
    PutLogs(*s, TraceLogs(x, 2, "line"));
    Put(*s, order_manager);
    Put(*s, OrderTrace(y, kT0 + kMs, false, 10, "MSFT"));
    for (const auto& e : std::filesystem::directory_iterator(dir_.str())) {
        std::string name = e.path().filename().string();
        if (name.size() < 5 || name.compare(name.size() - 4, 4, "-shm") != 0) {
            std::filesystem::copy_file(e.path(), crashed.str() + "/" + name);
        }
    }
    // Nothing was committed: the database of the copy holds no trace.
    EXPECT_EQ(QueryWindows(crashed.str(), "SELECT count(*) FROM traces"), std::vector<std::int64_t>{0});

    auto check = [&](Store& store) {
        auto t = store.GetTrace(Id(x));
        ASSERT_TRUE(t.ok() && t->has_value());
        int spans = 0;
        for (const auto& rs : (*t)->resource_spans()) {
            for (const auto& ss : rs.scope_spans()) { spans += ss.spans_size(); }
        }
        EXPECT_EQ(spans, 5);
        SearchQuery q;
        q.service = "order-manager";
        auto found = store.Search(q);
        ASSERT_TRUE(found.ok());
        ASSERT_EQ(found->size(), 2u);
        for (const TraceSummary& summary : *found) {
            EXPECT_EQ(summary.span_count, 5);
            EXPECT_EQ(summary.error_count, summary.trace_id == Id(x) ? 2 : 0);
        }
        q.tags = {{"symbol", "MSFT"}};
        EXPECT_EQ(store.Search(q)->size(), 1u);
        EXPECT_EQ(LogBodies(store, x), (std::vector<std::string>{"line 0", "line 1"}));
    };
    {
        auto recovered = Open(std::chrono::hours(24), 0, 2048, crashed.str());
        EXPECT_EQ(recovered->Stats().replayed_frames, 4);  // 2 chunks of x, 1 of y, x's logs
        check(*recovered);
    }
    auto reopened = Open(std::chrono::hours(24), 0, 2048, crashed.str());  // replayed once only
    EXPECT_EQ(reopened->Stats().replayed_frames, 0);
    check(*reopened);
    check(*s);
}

// A commit writes a trace's row and its service rows once for all the calls it covers, and
// records how much of the span file it covers.
TEST_F(StoreTest, ACommitWritesATracesRowsOnceForAllItsCalls) {
    const std::string x = TraceHex(32);
    ExportTraceRequest tx = OrderTrace(x, kT0, false, 10);
    ExportTraceRequest gateway_part1;
    auto* gw = gateway_part1.add_resource_spans();
    *gw = tx.resource_spans(0);
    gw->mutable_scope_spans(0)->mutable_spans()->DeleteSubrange(1, 2);
    ExportTraceRequest gateway_part2;
    auto* gw2 = gateway_part2.add_resource_spans();
    *gw2 = tx.resource_spans(0);
    gw2->mutable_scope_spans(0)->mutable_spans()->DeleteSubrange(0, 1);
    ExportTraceRequest order_manager;
    *order_manager.add_resource_spans() = tx.resource_spans(1);
    auto s = Open();
    for (const auto* req : {&gateway_part1, &order_manager, &gateway_part2}) { Put(*s, *req); }
    EXPECT_EQ(s->Stats().commits, 0);
    auto found = s->Search(SearchQuery{});  // a query commits first
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ((*found)[0].span_count, 5);
    EXPECT_EQ(s->Stats().commits, 1);
    EXPECT_EQ(QueryWindows(dir_.str(), "SELECT count(*) FROM svcr"), std::vector<std::int64_t>{2});
    EXPECT_EQ(QueryWindows(dir_.str(),
                           "SELECT count(*) FROM svcr WHERE service='client-gateway' AND "
                           "ops=char(10)||'POST /v1/order'||char(10)||'place_order'||char(10)||'POST'||char(10)"),
              std::vector<std::int64_t>{1});
    EXPECT_EQ(QueryWindows(dir_.str(), "SELECT length(refs) FROM traces"), std::vector<std::int64_t>{36});
    auto seg = std::filesystem::file_size(OnlyFileWithSuffix(dir_.str(), ".db-seg"));
    EXPECT_EQ(QueryWindows(dir_.str(), "SELECT value FROM meta WHERE key='seg_mark'"),
              std::vector<std::int64_t>{static_cast<std::int64_t>(seg)});
}

TEST_F(StoreTest, ALateBatchOfTheOldestCachedTraceIsMergedWhileNewerTracesArrive) {
    // A summary cache of 16 traces (4 pending at most). Trace 0's order-manager half comes
    // first, 15 whole traces after it, then its gateway half: merged from the cache, trace 0
    // is pending while it is the cache's oldest entry, and the traces that follow must not
    // evict it before its row is written. They did: the write failed ("pending trace missing
    // from the cache") and the calls since the last commit were stored again from the span
    // file.
    auto s = Open(std::chrono::hours(24), 0, 2048, "", StoreOptions{}.dependency_memory_bytes, 16);
    const ExportTraceRequest first = OrderTrace(TraceHex(0), kT0, false, 10);
    Put(*s, OneResource(first, 1));
    for (int i = 1; i < 16; ++i) { Put(*s, OrderTrace(TraceHex(i), kT0 + i * kMs, false, 10)); }
    ASSERT_TRUE(s->Flush(true));
    Put(*s, OneResource(first, 0));
    for (int i = 16; i < 40; ++i) { Put(*s, OrderTrace(TraceHex(i), kT0 + i * kMs, false, 10)); }
    ASSERT_TRUE(s->Flush(true));
    EXPECT_EQ(s->Stats().replayed_frames, 0);
    SearchQuery q;
    q.limit = 100;
    auto found = s->Search(q);
    ASSERT_TRUE(found.ok()) << found.error().message;
    ASSERT_EQ(found->size(), 40u);
    auto t0 = std::find_if(found->begin(), found->end(),
                           [&](const TraceSummary& t) { return t.trace_id == Id(TraceHex(0)); });
    ASSERT_NE(t0, found->end());
    EXPECT_EQ(t0->span_count, 5);
    EXPECT_EQ(t0->root_service, "client-gateway");
    EXPECT_EQ(t0->services.size(), 2u);
}

TEST_F(StoreTest, ServicesPastTheLimitAreIndexedAsOverflowAndKeepTheirNameInTheSpans) {
    // Service names come from senders and each one was kept for the process's life. With
    // room for three, the order trace takes them all (client-gateway, order-manager and its
    // postgresql peer); a fourth service's trace is indexed under "(overflow)".
    auto s = Open(std::chrono::hours(24), 0, 2048, "", StoreOptions{}.dependency_memory_bytes,
                  StoreOptions{}.summary_cache_traces, 3);
    Put(*s, OrderTrace(TraceHex(1), kT0, false, 10));
    ExportTraceRequest billing;
    testing::AddSpan(testing::AddResource(&billing, "billing"),
                     {TraceHex(2), "3000000000000001", "", "POST /invoice", 2, kT0, kT0 + 5 * kMs});
    Put(*s, billing);

    SearchQuery by_name;
    by_name.service = "billing";
    auto found = s->Search(by_name);
    ASSERT_TRUE(found.ok());
    EXPECT_TRUE(found->empty());
    SearchQuery overflow;
    overflow.service = std::string(kOverflowService);
    found = s->Search(overflow);
    ASSERT_TRUE(found.ok());
    ASSERT_EQ(found->size(), 1u);
    EXPECT_EQ((*found)[0].trace_id, Id(TraceHex(2)));
    EXPECT_EQ((*found)[0].root_service, kOverflowService);
    auto services = s->Services();
    ASSERT_TRUE(services.ok());
    EXPECT_EQ(*services, (std::vector<std::string>{std::string(kOverflowService), "client-gateway",
                                                   "order-manager"}));

    auto trace = s->GetTrace(Id(TraceHex(2)));
    ASSERT_TRUE(trace.ok());
    ASSERT_TRUE(trace->has_value());
    ASSERT_EQ((*trace)->resource_spans_size(), 1);
    const auto& attrs = (*trace)->resource_spans(0).resource().attributes();
    ASSERT_FALSE(attrs.empty());
    EXPECT_EQ(attrs[0].value().string_value(), "billing");
}

TEST_F(StoreTest, SurvivesRestart) {
    {
        auto s = Open();
        Put(*s, OrderTrace(TraceHex(3), kT0, true, 10));
    }
    auto s = Open();
    auto t = s->GetTrace(Id(TraceHex(3)));
    ASSERT_TRUE(t.ok());
    EXPECT_TRUE(t->has_value());
    SearchQuery q;
    q.service = "client-gateway";
    q.tags = {{"error", "true"}};
    EXPECT_EQ(s->Search(q)->size(), 1u);
    Put(*s, OrderTrace(TraceHex(4), kT0 + kMs, false, 10));
    EXPECT_EQ(s->Search(SearchQuery{})->size(), 2u);
}

std::vector<std::string> FileNames(const std::string& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> FoundTraceIds(const Store& s) {
    SearchQuery q;
    q.limit = 100;
    auto found = s.Search(q);
    EXPECT_TRUE(found.ok()) << (found.ok() ? "" : found.error().message);
    std::vector<std::string> ids;
    if (found.ok()) {
        for (const TraceSummary& t : *found) { ids.push_back(t.trace_id); }
    }
    std::sort(ids.begin(), ids.end());
    return ids;
}

TEST_F(StoreTest, CallsAnsweredBeforeTheDiskFilledUpAreKeptAndNoEmptyWindowIsLeft) {
    // Five calls answered, not yet committed; then every write fails for lack of space. The
    // failed call's recovery (storing the five again from the span file) fails too and
    // closed the window. The next call opened a new window instead — failing, an empty file
    // left per attempt — and once there was space again went on in a new one, leaving the
    // five answered calls in the old window's span file, where no query looks.
    auto s = Open();
    std::vector<std::string> answered;
    for (int i = 0; i < 5; ++i) {
        Put(*s, OrderTrace(TraceHex(i), kT0 + i * kMs, false, 10));
        answered.push_back(Id(TraceHex(i)));
    }
    const std::vector<std::string> files = FileNames(dir_.str());
    {
        FileSizeLimit full(std::filesystem::file_size(OnlyFileWithSuffix(dir_.str(), ".db-seg")) +
                           16);
        for (int i = 5; i < 8; ++i) {
            DecodedTraces d = DecodeOrDie(OrderTrace(TraceHex(i), kT0 + i * kMs, false, 10));
            EXPECT_FALSE(s->Ingest({&d}, {}).ok());
        }
        EXPECT_EQ(FileNames(dir_.str()), files);
    }
    Put(*s, OrderTrace(TraceHex(8), kT0 + 8 * kMs, false, 10));
    answered.push_back(Id(TraceHex(8)));
    EXPECT_EQ(FoundTraceIds(*s), answered);
    EXPECT_EQ(s->Stats().windows, 1);
    s.reset();
    auto reopened = Open();
    EXPECT_EQ(FoundTraceIds(*reopened), answered);
    EXPECT_EQ(reopened->Stats().replayed_frames, 0);
}

TEST_F(StoreTest, CallsJournaledInAnOlderWindowAreStoredWhenTheStoreOpens) {
    // What earlier versions left after a full disk: answered calls in an older window's span
    // file past its last commit, a newer window beside it, and an empty window file.
    TempDir left;
    {
        auto s = Open();
        Put(*s, OrderTrace(TraceHex(1), kT0, false, 10));
        Put(*s, OrderTrace(TraceHex(2), kT0 + kMs, false, 10));
        for (const auto& e : std::filesystem::directory_iterator(dir_.str())) {
            std::string name = e.path().filename().string();
            if (name.size() < 5 || name.compare(name.size() - 4, 4, "-shm") != 0) {
                std::filesystem::copy_file(e.path(), left.str() + "/" + name);
            }
        }
    }
    EXPECT_EQ(QueryWindows(left.str(), "SELECT count(*) FROM traces"),
              std::vector<std::int64_t>{0});
    clock_.Advance(std::chrono::hours(2));
    TempDir later;
    {
        auto s = Open(std::chrono::hours(24), 0, 2048, later.str());
        Put(*s, OrderTrace(TraceHex(3), kT0 + 2 * 3'600'000 * kMs, false, 10));
        ASSERT_TRUE(s->Flush(true));
    }
    for (const auto& e : std::filesystem::directory_iterator(later.str())) {
        std::filesystem::copy_file(e.path(), left.str() + "/" + e.path().filename().string());
    }
    { std::ofstream(left.str() + "/w-1700003600000.db"); }  // an empty window between them
    auto databases = [&] {
        std::vector<std::string> dbs;
        for (const std::string& name : FileNames(left.str())) {
            if (name.size() > 3 && name.compare(name.size() - 3, 3, ".db") == 0) {
                dbs.push_back(name);
            }
        }
        return dbs;
    };
    ASSERT_EQ(databases().size(), 3u);
    auto s = Open(std::chrono::hours(24), 0, 2048, left.str());
    EXPECT_EQ(s->Stats().replayed_frames, 2);
    EXPECT_TRUE(s->Stats().replay_error.empty());
    EXPECT_EQ(s->Stats().windows, 2);
    EXPECT_EQ(FoundTraceIds(*s),
              (std::vector<std::string>{Id(TraceHex(1)), Id(TraceHex(2)), Id(TraceHex(3))}));
    EXPECT_EQ(databases(), (std::vector<std::string>{"w-1700000000000.db", "w-1700007200000.db"}));
}

TEST_F(StoreTest, BytesAfterTheLastCommitInTheSpanFileAreIgnored) {
    {
        auto s = Open();
        Put(*s, OrderTrace(TraceHex(1), kT0, false, 10));
    }
    // A crash between the span write and the commit leaves unreferenced bytes at the end.
    std::string seg = OnlyFileWithSuffix(dir_.str(), ".db-seg");
    ASSERT_FALSE(seg.empty());
    auto committed = std::filesystem::file_size(seg);
    {
        std::ofstream f(seg, std::ios::binary | std::ios::app);
        f << std::string(1000, '\x7f');
    }
    auto s = Open();
    Put(*s, OrderTrace(TraceHex(2), kT0 + kMs, false, 10));
    EXPECT_GT(std::filesystem::file_size(seg), committed + 1000);
    for (int i : {1, 2}) {
        auto t = s->GetTrace(Id(TraceHex(i)));
        ASSERT_TRUE(t.ok()) << t.error().message;
        ASSERT_TRUE(t->has_value());
        EXPECT_EQ((*t)->resource_spans_size(), 2);
    }
}

// The layout before span files and tag blocks: chunks in the database, tags keyed by value.
constexpr const char* kOldSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE chunks(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, data BLOB NOT NULL);
CREATE INDEX chunks_trace ON chunks(trace_id);
CREATE TABLE traces(trace_id BLOB PRIMARY KEY, start_ns INTEGER, end_ns INTEGER,
  duration_ns INTEGER, root_service TEXT, root_operation TEXT, has_root INTEGER,
  span_count INTEGER, error_count INTEGER, services TEXT) WITHOUT ROWID;
CREATE INDEX traces_start ON traces(start_ns);
CREATE TABLE svc(trace_id BLOB, service TEXT, start_ns INTEGER,
  min_dur INTEGER, max_dur INTEGER, errors INTEGER, ops TEXT,
  PRIMARY KEY(trace_id, service)) WITHOUT ROWID;
CREATE INDEX svc_start ON svc(service, start_ns);
CREATE INDEX svc_errors ON svc(service, start_ns) WHERE errors > 0;
CREATE TABLE tags(key TEXT, value TEXT, trace_id BLOB, start_ns INTEGER,
  PRIMARY KEY(key, value, trace_id)) WITHOUT ROWID;
CREATE TABLE logs(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, time_ns INTEGER, data BLOB NOT NULL);
CREATE INDEX logs_trace ON logs(trace_id);
)sql";

TEST_F(StoreTest, WindowsOfTheOlderLayoutAreUpgradedAndStayReadable) {
    std::string id = Id(TraceHex(7));
    for (std::int64_t ms : {1000, 2000}) {  // an older window and the newest (reopened for writing)
        sqlite3* db = nullptr;
        std::string path = dir_.str() + "/w-" + std::to_string(ms) + ".db";
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, kOldSchema, nullptr, nullptr, nullptr), SQLITE_OK);
        std::string trace = ms == 1000 ? id : Id(TraceHex(8));
        otlp_trace::TracesData data;
        ExportTraceRequest req = OrderTrace(ToHex(trace), kT0, false, 10, "IBM", 77);
        *data.mutable_resource_spans() = req.resource_spans();
        std::string blob = data.SerializeAsString();
        // Log records were stored in the row (a LogsData message per trace and export).
        otlp_logs::LogsData old_logs;
        *old_logs.mutable_resource_logs() = TraceLogs(ToHex(trace), 1, "old").resource_logs();
        std::string log_blob = old_logs.SerializeAsString();
        sqlite3_stmt* st = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO logs(trace_id, time_ns, data) VALUES(?1, 1, ?2)", -1,
                                     &st, nullptr),
                  SQLITE_OK);
        sqlite3_bind_blob(st, 1, trace.data(), static_cast<int>(trace.size()), SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 2, log_blob.data(), static_cast<int>(log_blob.size()), SQLITE_TRANSIENT);
        EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
        sqlite3_finalize(st);
        for (const char* sql :
             {"INSERT INTO chunks(trace_id, data) VALUES(?1, ?2)",
              "INSERT INTO traces VALUES(?1, 1, 2, 1, 'client-gateway', 'POST /v1/order', 1, 5, 0, "
              "'3 0 client-gateway\n2 0 order-manager\n')",
              "INSERT INTO svc VALUES(?1, 'client-gateway', 1, 1, 1, 0, '\nplace_order\n')",
              "INSERT INTO tags VALUES('user_id', '77', ?1, 1)"}) {
            ASSERT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sql;
            sqlite3_bind_blob(st, 1, trace.data(), static_cast<int>(trace.size()),
                              SQLITE_TRANSIENT);
            if (sqlite3_bind_parameter_count(st) > 1) {
                sqlite3_bind_blob(st, 2, blob.data(), static_cast<int>(blob.size()),
                                  SQLITE_TRANSIENT);
            }
            EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sql;
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
    }
    clock_.Set(2'000'000'000);  // 2 s after the epoch: still the newest window's hour
    auto s = Open(std::chrono::hours(0));
    auto t = s->GetTrace(id);
    ASSERT_TRUE(t.ok()) << t.error().message;
    ASSERT_TRUE(t->has_value());
    EXPECT_EQ((*t)->resource_spans_size(), 2);
    SearchQuery q;
    q.tags = {{"user_id", "77"}};
    q.limit = 10;
    EXPECT_EQ(s->Search(q)->size(), 2u);
    // New data goes into the upgraded newest window; old and new rows answer together.
    std::string fresh = TraceHex(9);
    Put(*s, OrderTrace(fresh, kT0, false, 10, "IBM", 77));
    EXPECT_EQ(s->Search(q)->size(), 3u);
    q.service = "client-gateway";
    q.tags = {{"user_id", "77"}, {"symbol", "IBM"}};  // symbol only indexed in the new rows
    auto r = s->Search(q);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ(ToHex(r->front().trace_id), fresh);
    EXPECT_TRUE(s->GetTrace(Id(fresh))->has_value());
    // Log rows of the older layout are read from the row, new ones from the span file.
    EXPECT_EQ(LogBodies(*s, ToHex(id)), (std::vector<std::string>{"old 0"}));
    PutLogs(*s, TraceLogs(TraceHex(8), 2, "new"));
    EXPECT_EQ(LogBodies(*s, TraceHex(8)), (std::vector<std::string>{"old 0", "new 0", "new 1"}));
}

int WindowFiles(const std::string& dir) {
    int n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ".db") {
            ++n;
        }
    }
    return n;
}

TEST_F(StoreTest, RetentionByAgeDeletesWholeWindowFiles) {
    auto s = Open(std::chrono::hours(2));
    Put(*s, OrderTrace(TraceHex(1), kT0, false, 10));
    clock_.Advance(std::chrono::hours(1));
    Put(*s, OrderTrace(TraceHex(2), kT0, false, 10));
    clock_.Advance(std::chrono::hours(1));
    Put(*s, OrderTrace(TraceHex(3), kT0, false, 10));
    EXPECT_EQ(WindowFiles(dir_.str()), 3);
    ASSERT_TRUE(s->ApplyRetention().ok());
    EXPECT_EQ(WindowFiles(dir_.str()), 3);  // the first window ended 2 h ago exactly: kept until older
    clock_.Advance(std::chrono::minutes(90));
    ASSERT_TRUE(s->ApplyRetention().ok());
    EXPECT_EQ(WindowFiles(dir_.str()), 2);
    EXPECT_FALSE(s->GetTrace(Id(TraceHex(1)))->has_value());
    EXPECT_TRUE(s->GetTrace(Id(TraceHex(3)))->has_value());
    EXPECT_EQ(s->Stats().deleted_windows, 1);
}

TEST_F(StoreTest, RetentionCommitsOnlyWhenTheOpenTransactionsWindowGoes) {
    auto s = Open(std::chrono::hours(2));
    Put(*s, OrderTrace(TraceHex(1), kT0, false, 10));
    const std::int64_t commits = s->Stats().commits;
    // Nothing goes: the open transaction stays open (the commit interval decides).
    ASSERT_TRUE(s->ApplyRetention().ok());
    EXPECT_EQ(s->Stats().commits, commits);
    // An idle store whose only window is past max_age: its rows commit, then the window goes.
    clock_.Advance(std::chrono::hours(3) + std::chrono::minutes(1));
    ASSERT_TRUE(s->ApplyRetention().ok());
    EXPECT_EQ(s->Stats().commits, commits + 1);
    EXPECT_EQ(s->Stats().deleted_windows, 1);
    EXPECT_FALSE(s->GetTrace(Id(TraceHex(1)))->has_value());
    // The store goes on in a new window.
    Put(*s, OrderTrace(TraceHex(2), kT0, false, 10));
    EXPECT_TRUE(s->GetTrace(Id(TraceHex(2)))->has_value());
}

TEST_F(StoreTest, RetentionBySizeDeletesOldestWindows) {
    auto s = Open(std::chrono::hours(0), 1);  // any data is over budget
    Put(*s, OrderTrace(TraceHex(1), kT0, false, 10));
    clock_.Advance(std::chrono::hours(1));
    Put(*s, OrderTrace(TraceHex(2), kT0, false, 10));
    ASSERT_TRUE(s->ApplyRetention().ok());
    EXPECT_EQ(WindowFiles(dir_.str()), 1);  // the current window is always kept
    EXPECT_FALSE(s->GetTrace(Id(TraceHex(1)))->has_value());
    EXPECT_TRUE(s->GetTrace(Id(TraceHex(2)))->has_value());
}

}  // namespace
}  // namespace flowex::collector
