#include "flowex/http/client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "flowex/http/server.hpp"
#include "test_util.hpp"

namespace flowex::http {
namespace {

using common::ErrorCode;
using testing::Gate;
using testing::IoThread;

ServerOptions TestOptions() {
    ServerOptions o;
    o.listen = {"127.0.0.1", 0};
    o.print_listening = false;
    return o;
}

std::string BaseUrl(std::uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

class Running {
public:
    explicit Running(Server& s) : s_(s) { EXPECT_TRUE(s_.Start().ok()); }
    ~Running() {
        s_.Stop();
        s_.Wait();
    }

private:
    Server& s_;
};

TEST(HttpClient, KeepAliveReusesOnePooledConnection) {
    Server server(TestOptions());
    std::mutex mu;
    std::set<std::uint16_t> peer_ports;
    server.router().Post("/echo", Sync([&](RequestContext& ctx) {
        std::lock_guard<std::mutex> lock(mu);
        peer_ports.insert(ctx.peer_port);
        return JsonResponse(200, ctx.request.body);
    }));
    Running run(server);
    IoThread io;
    Client client(io.executor(), {.base_url = BaseUrl(server.port())});
    for (int i = 0; i < 5; ++i) {
        auto r = io.Run(client.Post("/echo", R"({"n":)" + std::to_string(i) + "}", {}));
        ASSERT_TRUE(r.ok()) << r.error().message;
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, R"({"n":)" + std::to_string(i) + "}");
        EXPECT_EQ(r->headers.Get("content-type").value_or(""), "application/json");
    }
    EXPECT_EQ(client.connections_opened(), 1U);
    EXPECT_EQ(client.idle_connections(), 1U);
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(peer_ports.size(), 1U);
}

TEST(HttpClient, DeadlineGivesUpstreamTimeout) {
    Server server(TestOptions());
    Gate gate;
    server.router().Get("/slow", [&gate](RequestContext& ctx) -> awaitable<Response> {
        co_await gate.Wait(ctx.executor);
        co_return TextResponse(200, "late");
    });
    Running run(server);
    IoThread io;
    Client client(io.executor(), {.base_url = BaseUrl(server.port()),
                                  .timeout = std::chrono::milliseconds(200)});
    auto r = io.Run(client.Get("/slow", {}));
    gate.Open();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUpstreamTimeout);
    EXPECT_EQ(client.idle_connections(), 0U);  // a timed-out connection is never reused
}

TEST(HttpClient, ConnectionRefusedGivesUpstreamUnavailable) {
    // A port that was just free: bind, note it, close.
    std::uint16_t port = 0;
    {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::acceptor a(
            ioc, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
        port = a.local_endpoint().port();
    }
    IoThread io;
    Client client(io.executor(), {.base_url = BaseUrl(port)});
    auto r = io.Run(client.Get("/anything", {}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUpstreamUnavailable);
    EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos);
}

TEST(HttpClient, HttpErrorStatusIsAValueNotAnError) {
    Server server(TestOptions());
    Running run(server);
    IoThread io;
    Client client(io.executor(), {.base_url = BaseUrl(server.port())});
    auto r = io.Run(client.Get("/missing", {}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 404);
    EXPECT_NE(r->body.find(R"("code":"not_found")"), std::string::npos);
}

// A hand-made upstream: answers the first request of each connection, then reads the next
// request and closes without answering (like a server that dropped a keep-alive
// connection as the request was on its way). Counts requests received.
class FlakyUpstream {
public:
    FlakyUpstream()
        : acceptor_(ioc_, boost::asio::ip::tcp::endpoint(
                              boost::asio::ip::make_address("127.0.0.1"), 0)),
          thread_([this] { Serve(); }) {}
    ~FlakyUpstream() {
        stop_ = true;
        boost::system::error_code ec;
        // Wake the accept call with one last connection.
        boost::asio::ip::tcp::socket s(ioc_);
        s.connect(acceptor_.local_endpoint(), ec);
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    int requests() const { return requests_.load(); }

private:
    void Serve() {
        while (!stop_) {
            boost::asio::ip::tcp::socket s(ioc_);
            boost::system::error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stop_) { return; }
            std::string data;
            int on_this = 0;
            char buf[4096];
            for (;;) {
                std::size_t end = data.find("\r\n\r\n");
                if (end != std::string::npos) {
                    data.erase(0, end + 4);
                    ++requests_;
                    if (++on_this == 1) {
                        boost::asio::write(s, boost::asio::buffer(std::string(
                                                  "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
                                           ec);
                        continue;
                    }
                    break;  // second request: drop the connection unanswered
                }
                std::size_t n = s.read_some(boost::asio::buffer(buf), ec);
                if (ec) { break; }
                data.append(buf, n);
            }
            s.close(ec);
        }
    }

    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::atomic<int> requests_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

TEST(HttpClient, GetOnADroppedPooledConnectionIsRetriedOnce) {
    FlakyUpstream upstream;
    IoThread io;
    Client client(io.executor(), {.base_url = BaseUrl(upstream.port())});
    ASSERT_TRUE(io.Run(client.Get("/a", {})).ok());  // pooled now
    auto r = io.Run(client.Get("/b", {}));           // dropped, then retried on a new one
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->body, "ok");
    EXPECT_EQ(upstream.requests(), 3);
    EXPECT_EQ(client.connections_opened(), 2U);
}

TEST(HttpClient, PostOnADroppedPooledConnectionIsNotRetried) {
    FlakyUpstream upstream;
    IoThread io;
    Client client(io.executor(), {.base_url = BaseUrl(upstream.port())});
    ASSERT_TRUE(io.Run(client.Get("/a", {})).ok());
    auto r = io.Run(client.Post("/order", "{}", {}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUpstreamUnavailable);
    EXPECT_EQ(upstream.requests(), 2);  // sent exactly once
    EXPECT_EQ(client.connections_opened(), 1U);
}

class RecordingObserver final : public ClientObserver {
public:
    class Scope final : public ClientCallScope {
    public:
        explicit Scope(RecordingObserver& o) : o_(o) {}
        void End(const ClientCallResult& result) noexcept override {
            o_.ended_status = result.status;
            o_.ended_error = result.error != nullptr ? result.error->code : ErrorCode::kInternal;
            o_.ended_with_error = result.error != nullptr;
        }

    private:
        RecordingObserver& o_;
    };
    std::unique_ptr<ClientCallScope> Start(const ClientCallInfo& info,
                                           Headers& inject) noexcept override {
        started_url = std::string(info.url);
        started_method = info.method;
        parent_trace_byte = info.parent.trace_id[0];
        inject.Add("traceparent", "00-" + info.parent.TraceIdHex() + "-00000000000000aa-01");
        return std::make_unique<Scope>(*this);
    }

    std::string started_url;
    Method started_method = Method::kOther;
    std::uint8_t parent_trace_byte = 0;
    int ended_status = -1;
    bool ended_with_error = false;
    ErrorCode ended_error = ErrorCode::kInternal;
};

TEST(HttpClient, ObserverSeesTheCallAndInjectsHeaders) {
    Server server(TestOptions());
    server.router().Get("/me", Sync([](RequestContext& ctx) {
        return TextResponse(200, std::string(ctx.request.headers.Get("traceparent").value_or("")));
    }));
    Running run(server);
    IoThread io;
    Client client(io.executor(), {.base_url = BaseUrl(server.port())});
    auto observer = std::make_shared<RecordingObserver>();
    client.SetObserver(observer);
    common::TraceContext parent;
    parent.trace_id[0] = 0x4b;
    parent.span_id[0] = 1;
    auto r = io.Run(client.Get("/me?x=1", parent));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body, "00-" + parent.TraceIdHex() + "-00000000000000aa-01");
    EXPECT_EQ(observer->started_url, BaseUrl(server.port()) + "/me?x=1");
    EXPECT_EQ(observer->started_method, Method::kGet);
    EXPECT_EQ(observer->parent_trace_byte, 0x4b);
    EXPECT_EQ(observer->ended_status, 200);
    EXPECT_FALSE(observer->ended_with_error);
}

TEST(HttpClient, BadBaseUrlIsRejectedUpFront) {
    IoThread io;
    EXPECT_FALSE(Client::Create(io.executor(), {.base_url = "ftp://x:1"}).ok());
    EXPECT_FALSE(Client::Create(io.executor(), {.base_url = "http://:80"}).ok());
    EXPECT_FALSE(Client::Create(io.executor(), {.base_url = "http://h:99999"}).ok());
    EXPECT_TRUE(Client::Create(io.executor(), {.base_url = "http://localhost:8104"}).ok());
}

TEST(HttpClient, StreamedServerBodyIsReceivedWhole) {
    Server server(TestOptions());
    server.router().Get("/live", Sync([](RequestContext&) {
        Response r;
        r.content_type = "text/event-stream";
        r.stream = [](BodyWriter& w) -> awaitable<void> {
            for (int i = 0; i < 3; ++i) {
                if (!co_await w.Write("data: " + std::to_string(i) + "\n\n")) { co_return; }
            }
        };
        return r;
    }));
    Running run(server);
    IoThread io;
    Client client(io.executor(), {.base_url = BaseUrl(server.port())});
    auto r = io.Run(client.Get("/live", {}));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->body, "data: 0\n\ndata: 1\n\ndata: 2\n\n");
    EXPECT_EQ(r->headers.Get("Content-Type").value_or(""), "text/event-stream");
}

}  // namespace
}  // namespace flowex::http
