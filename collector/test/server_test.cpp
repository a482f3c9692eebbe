// The collector over HTTP: status codes, gzip, partialSuccess, the 503 of a full queue, and
// that it keeps serving after bad input. Servers bind 127.0.0.1:0.
#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "flowex/collector/collector.hpp"
#include "flowex/common/json.hpp"
#include "flowex/http/client.hpp"
#include "test_util.hpp"

namespace flowex::collector {
namespace {

using testing::AddResource;
using testing::AddSpan;
using testing::TempDir;

http::ClientResponse Call(std::uint16_t port, http::Method method, const std::string& target, std::string body = {},
                          std::string content_type = {}, std::vector<std::pair<std::string, std::string>> headers = {}) {
    boost::asio::io_context ioc;
    http::Client client(ioc.get_executor(), {.base_url = "http://127.0.0.1:" + std::to_string(port)});
    http::ClientResponse out;
    boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<void> {
            http::ClientRequest req;
            req.method = method;
            req.target = target;
            req.body = std::move(body);
            req.content_type = content_type;
            for (const auto& [k, v] : headers) {
                req.headers.Set(k, v);
            }
            auto r = co_await client.Call(std::move(req), common::TraceContext{});
            if (r) {
                out = std::move(r).value();
            }
        },
        boost::asio::detached);
    ioc.run();
    return out;
}

std::string Gzip(const std::string& in) {
    z_stream zs{};
    deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&zs, in.size()) + 32, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

std::string OneTrace(const std::string& trace_hex, int attrs = 1) {
    ExportTraceRequest req;
    auto* ss = AddResource(&req, "client-gateway");
    testing::SpanSpec s{trace_hex, "b7ad6b7169203331", "", "POST /v1/order", 2, 1'700'000'000'000'000'000ULL,
                        1'700'000'000'100'000'000ULL, true};
    for (int i = 0; i < attrs; ++i) {
        s.attrs.emplace_back("k" + std::to_string(i), "v");
    }
    AddSpan(ss, s);
    return req.SerializeAsString();
}

class ServerTest : public ::testing::Test {
protected:
    void Start(CollectorOptions o = {}) {
        o.otlp_addr = {"127.0.0.1", 0};
        o.query_addr = {"127.0.0.1", 0};
        o.data_dir = dir_.str();
        o.print_listening = false;
        o.otlp_threads = threads_;
        o.query_threads = threads_;
        auto c = Collector::Create(std::move(o));
        ASSERT_TRUE(c.ok()) << c.error().message;
        collector_ = std::move(c).value();
        ASSERT_TRUE(collector_->Start().ok());
    }
    void TearDown() override {
        if (collector_) {
            collector_->Stop();
            collector_->Wait();
        }
    }
    std::uint16_t otlp() const { return collector_->otlp_port(); }
    std::uint16_t query() const { return collector_->query_port(); }
    TempDir dir_;
    std::unique_ptr<Collector> collector_;
    int threads_ = std::getenv("FLOWEX_TEST_THREADS") != nullptr ? std::atoi(std::getenv("FLOWEX_TEST_THREADS")) : 2;
};

TEST_F(ServerTest, ProtobufExportIsStoredAndQueryable) {
    Start();
    auto r = Call(otlp(), http::Method::kPost, "/v1/traces", OneTrace("0af7651916cd43dd8448eb211c80319c"),
                  "application/x-protobuf");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.Get("Content-Type").value_or(""), "application/x-protobuf");
    auto q = Call(query(), http::Method::kGet, "/api/traces/0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(q.status, 200);
    EXPECT_NE(q.body.find("POST /v1/order"), std::string::npos);
    EXPECT_EQ(Call(query(), http::Method::kGet, "/api/traces/0af7651916cd43dd8448eb211c80319d").status, 404);
}

TEST_F(ServerTest, MethodMediaTypeAndSizeErrors) {
    CollectorOptions o;
    o.max_body_bytes = 4096;
    o.max_decompressed_bytes = 64 * 1024;
    Start(o);
    EXPECT_EQ(Call(otlp(), http::Method::kGet, "/v1/traces").status, 405);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", "x", "text/plain").status, 415);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", std::string(8192, 'x'), "application/x-protobuf").status, 413);
    // A small gzip body that inflates past the limit.
    std::string bomb = Gzip(std::string(1 << 20, '\0'));
    ASSERT_LT(bomb.size(), 4096u);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", bomb, "application/x-protobuf",
                   {{"Content-Encoding", "gzip"}}).status,
              413);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", "not gzip", "application/x-protobuf",
                   {{"Content-Encoding", "gzip"}}).status,
              400);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", "{}", "application/json", {{"Content-Encoding", "br"}}).status,
              415);
}

TEST_F(ServerTest, GzipJsonExportAndPartialSuccess) {
    Start();
    std::string body = R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"risk-manager"}}]},
      "scopeSpans":[{"spans":[
        {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"validate_order","kind":1,
         "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000200000000"},
        {"traceId":"00000000000000000000000000000000","spanId":"eee19b7ec3c1b175","name":"bad"}]}]}]})";
    auto r = Call(otlp(), http::Method::kPost, "/v1/traces", Gzip(body), "application/json", {{"Content-Encoding", "gzip"}});
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("\"rejectedSpans\":\"1\""), std::string::npos) << r.body;
    auto q = Call(query(), http::Method::kGet, "/api/traces?service=risk-manager&minDuration=150ms");
    EXPECT_NE(q.body.find("5b8efff798038103d269b633813fc60c"), std::string::npos) << q.body;
}

TEST_F(ServerTest, BadInputGets4xxAndTheServerKeepsServing) {
    Start();
    std::string good = OneTrace("0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", good.substr(0, good.size() / 2), "application/x-protobuf").status, 400);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", "\xff\xff\xff\xff garbage", "application/x-protobuf").status, 400);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", "{\"resourceSpans\":[", "application/json").status, 400);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/logs", "[1,2", "application/json").status, 400);
    // A span with 10,000 attributes: accepted, truncated to 128 (dropped count kept).
    auto big = Call(otlp(), http::Method::kPost, "/v1/traces", OneTrace("1af7651916cd43dd8448eb211c80319c", 10000),
                    "application/x-protobuf");
    EXPECT_EQ(big.status, 200);
    auto q = Call(query(), http::Method::kGet, "/api/v3/traces/1af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(q.status, 200);
    EXPECT_NE(q.body.find("\"droppedAttributesCount\":9872"), std::string::npos);
    // Nothing of the refused requests was stored; the good one still goes through.
    EXPECT_EQ(Call(query(), http::Method::kGet, "/api/traces/0af7651916cd43dd8448eb211c80319c").status, 404);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", good, "application/x-protobuf").status, 200);
    EXPECT_EQ(Call(query(), http::Method::kGet, "/health").status, 200);
}

TEST_F(ServerTest, FullQueueAnswers503WithRetryAfter) {
    std::mutex mu;
    std::condition_variable cv;
    bool holding = false;
    bool release = false;
    CollectorOptions o;
    o.queue_batches = 1;
    o.before_commit = [&] {
        std::unique_lock lock(mu);
        holding = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
    };
    Start(o);
    // The first batch is taken by the (held) writer, the next fills the queue, then one is refused.
    auto first = std::async(std::launch::async, [&] {
        return Call(otlp(), http::Method::kPost, "/v1/traces", OneTrace("0af7651916cd43dd8448eb211c80319c"), "application/x-protobuf");
    });
    {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return holding; });  // the writer holds the first batch
    }
    http::ClientResponse refused;
    std::vector<std::future<http::ClientResponse>> pending;
    for (int i = 0; i < 50 && refused.status != 503; ++i) {
        char id[33];
        std::snprintf(id, sizeof id, "%032x", i + 100);
        auto r = std::async(std::launch::async, [&, s = std::string(id)] {
            return Call(otlp(), http::Method::kPost, "/v1/traces", OneTrace(s), "application/x-protobuf");
        });
        // A queued request waits for the writer; a refused one is answered at once. The wait
        // only decides when to send the next request: a slow 503 is still counted below.
        if (r.wait_for(std::chrono::milliseconds(200)) == std::future_status::ready) {
            http::ClientResponse answer = r.get();
            EXPECT_EQ(answer.status, 503);
            refused = answer;
        } else {
            pending.push_back(std::move(r));
        }
    }
    {
        std::lock_guard lock(mu);
        release = true;
    }
    cv.notify_all();
    EXPECT_EQ(first.get().status, 200);
    int stored = 0;
    for (auto& p : pending) {
        http::ClientResponse answer = p.get();
        if (answer.status == 503 && refused.status != 503) {
            refused = answer;
        } else {
            EXPECT_EQ(answer.status, 200);
            ++stored;
        }
    }
    EXPECT_EQ(refused.status, 503);
    EXPECT_EQ(refused.headers.Get("Retry-After").value_or(""), "1");
    EXPECT_GE(stored, 1);  // the queue's one slot
}

TEST_F(ServerTest, AcceptedBatchesSurviveACleanShutdown) {
    Start();
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", OneTrace("0af7651916cd43dd8448eb211c80319c"),
                   "application/x-protobuf").status,
              200);
    collector_->Stop();
    collector_->Wait();
    collector_.reset();
    Start();
    EXPECT_EQ(Call(query(), http::Method::kGet, "/api/traces/0af7651916cd43dd8448eb211c80319c").status, 200);
}

// The store commits an answered batch within --commit-interval even when nothing queries it
// (the writer's idle wake-ups): /metrics reads the commit counter without committing.
TEST_F(ServerTest, AnsweredBatchesAreCommittedWhileIdle) {
    CollectorOptions o;
    o.commit_interval = std::chrono::milliseconds(200);  // longer than the Ingest call
    Start(o);
    auto commits = [&] {
        std::string body = Call(query(), http::Method::kGet, "/metrics").body;
        const std::string name = "\nflowex_collector_commits_total ";
        std::size_t at = body.find(name);
        return at == std::string::npos ? -1.0 : std::atof(body.c_str() + at + name.size());
    };
    EXPECT_EQ(commits(), 0.0);
    EXPECT_EQ(Call(otlp(), http::Method::kPost, "/v1/traces", OneTrace("0af7651916cd43dd8448eb211c80319c"),
                   "application/x-protobuf").status,
              200);
    // Polled until a deadline below the retention pass's 5 s (which commits too): the writer's
    // idle wake-ups come every 100 ms, so 3 s leaves a wide margin on a loaded machine.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    double n = commits();
    while (n < 1 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        n = commits();
    }
    EXPECT_GE(n, 1.0);
}

// A full disk (here: a file-size limit, so every append fails): exports are answered 503 with
// Retry-After, /health says so, a counter counts them, one line reports it and one its end; the
// batches answered 200 before it are all kept.
TEST_F(ServerTest, WhileStoringFailsExportsGet503AndHealthSaysDegraded) {
    std::mutex mu;
    std::vector<std::string> reports;
    CollectorOptions o;
    o.report = [&](const std::string& line) {
        std::lock_guard lock(mu);
        reports.push_back(line);
    };
    Start(o);
    auto post = [&](const char* trace) {
        return Call(otlp(), http::Method::kPost, "/v1/traces", OneTrace(trace),
                    "application/x-protobuf");
    };
    auto failed_total = [&] {
        std::string body = Call(query(), http::Method::kGet, "/metrics").body;
        const std::string name = "\nflowex_collector_batches_failed_total ";
        std::size_t at = body.find(name);
        return at == std::string::npos ? -1.0 : std::atof(body.c_str() + at + name.size());
    };
    EXPECT_EQ(post("0af7651916cd43dd8448eb211c80319a").status, 200);
    std::uintmax_t seg = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir_.str())) {
        if (e.path().string().ends_with("-seg")) { seg = e.file_size(); }
    }
    ASSERT_GT(seg, 0u);
    {
        testing::FileSizeLimit full(seg + 16);
        for (const char* trace :
             {"0af7651916cd43dd8448eb211c80319b", "0af7651916cd43dd8448eb211c80319c"}) {
            auto r = post(trace);
            EXPECT_EQ(r.status, 503);
            EXPECT_EQ(r.headers.Get("Retry-After").value_or(""), "5");
            EXPECT_NE(r.body.find("storage failed"), std::string::npos) << r.body;
        }
        auto health = Call(otlp(), http::Method::kGet, "/health");
        EXPECT_EQ(health.status, 200);
        EXPECT_NE(health.body.find(R"("status":"degraded")"), std::string::npos) << health.body;
        EXPECT_NE(health.body.find(R"("store_error":)"), std::string::npos) << health.body;
        EXPECT_EQ(failed_total(), 2.0);
    }
    EXPECT_EQ(post("0af7651916cd43dd8448eb211c80319d").status, 200);
    auto health = Call(otlp(), http::Method::kGet, "/health");
    EXPECT_NE(health.body.find(R"("status":"ok")"), std::string::npos) << health.body;
    EXPECT_EQ(health.body.find("store_error"), std::string::npos) << health.body;
    for (const char* kept :
         {"0af7651916cd43dd8448eb211c80319a", "0af7651916cd43dd8448eb211c80319d"}) {
        EXPECT_EQ(Call(query(), http::Method::kGet, std::string("/api/traces/") + kept).status, 200)
            << kept;
    }
    EXPECT_EQ(
        Call(query(), http::Method::kGet, "/api/traces/0af7651916cd43dd8448eb211c80319b").status,
        404);
    std::lock_guard lock(mu);
    ASSERT_GE(reports.size(), 2u);
    EXPECT_EQ(reports.front().rfind("flowex-collector: cannot store export requests", 0), 0u)
        << reports.front();
    EXPECT_EQ(reports.back().rfind("flowex-collector: storing works again (2 export requests", 0),
              0u)
        << reports.back();
}

TEST_F(ServerTest, SpaFallbackServesIndexForUiRoutes) {
    TempDir ui;
    {
        std::FILE* f = std::fopen((ui.str() + "/index.html").c_str(), "w");
        std::fputs("<!doctype html><title>flowex</title>", f);
        std::fclose(f);
    }
    CollectorOptions o;
    o.ui_dir = ui.str();
    Start(o);
    auto r = Call(query(), http::Method::kGet, "/trace/0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.body.find("<title>flowex</title>"), std::string::npos);
    EXPECT_EQ(Call(query(), http::Method::kGet, "/api/nope").status, 404);
    EXPECT_EQ(Call(query(), http::Method::kGet, "/../../etc/passwd").body.find("root:"), std::string::npos);
}

}  // namespace
}  // namespace flowex::collector
