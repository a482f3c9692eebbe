#include "flowex/http/server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <memory>
#include <sstream>
#include <vector>

#include "flowex/http/access_log.hpp"
#include "test_util.hpp"

namespace flowex::http {
namespace {

using testing::BodyOf;
using testing::Gate;
using testing::RawConnection;
using testing::StatusOf;

ServerOptions TestOptions() {
    ServerOptions o;
    o.listen = {"127.0.0.1", 0};
    o.print_listening = false;
    return o;
}

// The JSON echo used by several tests: parses the body with libs/common and writes it back.
awaitable<Response> JsonEcho(RequestContext& ctx) {
    auto json = ctx.JsonBody();
    if (!json) { co_return ctx.Error(json.error()); }
    co_return JsonResponse(200, common::ToJson(*json));
}

// Starts the server; stops and joins it at the end of the test.
class Running {
public:
    explicit Running(Server& s) : s_(s) {
        auto st = s_.Start();
        EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
    }
    ~Running() {
        s_.Stop();
        s_.Wait();
    }

private:
    Server& s_;
};

TEST(HttpServer, RoutesPathParametersAndAnswers404And405WithErrorShape) {
    Server server(TestOptions());
    server.router().Get("/v1/orders/{order_id}", Sync([](RequestContext& ctx) {
        return TextResponse(200, std::string(ctx.route) + " " + std::string(ctx.Param("order_id")));
    }));
    Running run(server);
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(testing::Get("/v1/orders/ord%2D42?x=1")));
    std::string ok = c.ReadResponse();
    EXPECT_EQ(StatusOf(ok), 200);
    EXPECT_EQ(BodyOf(ok), "/v1/orders/{order_id} ord-42");

    ASSERT_TRUE(c.Send(testing::Get("/v1/nowhere")));
    std::string nf = c.ReadResponse();
    EXPECT_EQ(StatusOf(nf), 404);
    auto body = common::ParseJson(BodyOf(nf));
    ASSERT_TRUE(body.ok());
    const common::JsonValue* err = body->Find("error");
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(err->Find("code")->as_string(), "not_found");
    EXPECT_NE(err->Find("message"), nullptr);
    EXPECT_NE(err->Find("trace_id"), nullptr);

    ASSERT_TRUE(c.Send(testing::Post("/v1/orders/1", "{}")));
    std::string na = c.ReadResponse();
    EXPECT_EQ(StatusOf(na), 405);
    EXPECT_NE(na.find("Allow: GET"), std::string::npos);
    EXPECT_NE(BodyOf(na).find(R"("code":"method_not_allowed")"), std::string::npos);
}

TEST(HttpServer, OversizedBodyGets413WithErrorShape) {
    ServerOptions o = TestOptions();
    o.max_body_bytes = 1024;
    Server server(o);
    server.router().Post("/echo", JsonEcho);
    Running run(server);

    RawConnection c(server.port());
    std::string big = "[" + std::string(2000, '1') + "]";
    ASSERT_TRUE(c.Send(testing::Post("/echo", big)));
    std::string r = c.ReadResponse();
    EXPECT_EQ(StatusOf(r), 413);
    EXPECT_EQ(BodyOf(r), R"({"error":{"code":"payload_too_large","message":"request body over 1024 bytes","trace_id":""}})");

    // Chunked bodies are limited too.
    RawConnection chunked(server.port());
    std::string chunk(800, 'x');
    ASSERT_TRUE(chunked.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
    EXPECT_EQ(StatusOf(chunked.ReadResponse()), 413);

    // A body at the limit is fine.
    RawConnection fits(server.port());
    std::string small = "[" + std::string(1000, '1') + "]";
    ASSERT_TRUE(fits.Send(testing::Post("/echo", small)));
    EXPECT_EQ(StatusOf(fits.ReadResponse()), 200);
}

TEST(HttpServer, MalformedJsonGets400WithErrorShapeWhateverTheContentType) {
    Server server(TestOptions());
    server.router().Post("/echo", JsonEcho);
    Running run(server);
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(testing::Post("/echo", R"({"price": 776.25,)")));
    std::string bad = c.ReadResponse();
    EXPECT_EQ(StatusOf(bad), 400);
    auto body = common::ParseJson(BodyOf(bad));
    ASSERT_TRUE(body.ok());
    EXPECT_EQ(body->Find("error")->Find("code")->as_string(), "invalid_json");

    // No Content-Type at all (as the brief's curl lines send): still parsed as JSON, and the
    // number's text is kept.
    ASSERT_TRUE(c.Send(testing::Post("/echo", R"({"price":776.25})")));
    std::string ok = c.ReadResponse();
    EXPECT_EQ(StatusOf(ok), 200);
    EXPECT_EQ(BodyOf(ok), R"({"price":776.25})");
}

TEST(HttpServer, SlowlorisIsCutOffByHeaderTimeoutWhileOthersAreServed) {
    ServerOptions o = TestOptions();
    o.header_timeout = std::chrono::milliseconds(300);
    Server server(o);
    server.router().Get("/ping", Sync([](RequestContext&) { return TextResponse(200, "pong"); }));
    Running run(server);

    RawConnection slow(server.port());
    ASSERT_TRUE(slow.Send("GET /ping HTTP/1.1\r\nHo"));  // half a header, then nothing
    // Others are served meanwhile, on new and on kept-alive connections.
    RawConnection other(server.port());
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(other.Send(testing::Get("/ping")));
        EXPECT_EQ(BodyOf(other.ReadResponse()), "pong");
    }
    // The slow one is closed by the server (EOF), not answered, well before the 5 s receive
    // timeout of the test socket.
    EXPECT_TRUE(slow.WaitClosed());
    RawConnection after(server.port());
    ASSERT_TRUE(after.Send(testing::Get("/ping")));
    EXPECT_EQ(StatusOf(after.ReadResponse()), 200);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
    ServerOptions o = TestOptions();
    o.idle_timeout = std::chrono::milliseconds(200);
    Server server(o);
    server.router().Get("/ping", Sync([](RequestContext&) { return TextResponse(200, "pong"); }));
    Running run(server);
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(testing::Get("/ping")));
    EXPECT_EQ(StatusOf(c.ReadResponse()), 200);
    EXPECT_TRUE(c.WaitClosed());
}

TEST(HttpServer, GracefulShutdownCompletesInFlightRequestAndRefusesNewConnects) {
    Server server(TestOptions());
    Gate gate;
    server.router().Get("/slow", [&gate](RequestContext& ctx) -> awaitable<Response> {
        co_await gate.Wait(ctx.executor);
        co_return TextResponse(200, "finished");
    });
    server.router().Get("/ping", Sync([](RequestContext&) { return TextResponse(200, "pong"); }));
    ASSERT_TRUE(server.Start().ok());
    std::uint16_t port = server.port();

    RawConnection idle(port);  // an idle keep-alive connection: closed by Stop()
    ASSERT_TRUE(idle.Send(testing::Get("/ping")));
    ASSERT_EQ(StatusOf(idle.ReadResponse()), 200);

    RawConnection inflight(port);
    ASSERT_TRUE(inflight.Send(testing::Get("/slow")));
    gate.Entered().wait();  // the handler is running

    server.Stop();  // returns once the listener is closed
    RawConnection refused(port);
    EXPECT_FALSE(refused.connected());
    EXPECT_EQ(refused.connect_errno(), ECONNREFUSED);
    EXPECT_TRUE(idle.WaitClosed());

    gate.Open();
    std::string r = inflight.ReadResponse();
    EXPECT_EQ(StatusOf(r), 200);
    EXPECT_EQ(BodyOf(r), "finished");
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
    server.Wait();  // the io threads end once in-flight work is done
    EXPECT_EQ(server.connection_count(), 0U);
}

// Holds something until its frame is destroyed, and waits for a timer that never fires.
struct Lease {
    int* given_back;
    ~Lease() { ++*given_back; }
};
awaitable<void> HoldForever(int* given_back, std::promise<void>* suspended) {
    Lease lease{given_back};
    boost::asio::steady_timer never(co_await boost::asio::this_coro::executor,
                                    boost::asio::steady_timer::time_point::max());
    suspended->set_value();
    co_await never.async_wait(boost::asio::use_awaitable);
}

TEST(HttpServer, DestroyPendingWorkDestroysCoroutinesStillSuspendedWhenItStopped) {
    // Detached work suspended when the server stops (a pool lease in a frame, say) went only
    // with the server's destructor: in a service, after the pools declared after the server.
    auto server = std::make_unique<Server>(TestOptions());
    int given_back = 0;
    std::promise<void> suspended;
    boost::asio::co_spawn(server->executor(), HoldForever(&given_back, &suspended),
                          boost::asio::detached);
    ASSERT_TRUE(server->Start().ok());
    suspended.get_future().wait();
    server->Stop();
    server->Wait();
    EXPECT_EQ(given_back, 0);  // stopped, its frame still there
    server->DestroyPendingWork();
    EXPECT_EQ(given_back, 1);
    server.reset();
    EXPECT_EQ(given_back, 1);
}

TEST(HttpServer, GarbageBytesGet400AndTheServerKeepsServing) {
    Server server(TestOptions());
    server.router().Get("/ping", Sync([](RequestContext&) { return TextResponse(200, "pong"); }));
    Running run(server);
    {
        RawConnection tls(server.port());  // a TLS ClientHello on a plain port
        ASSERT_TRUE(tls.Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                             std::string(200, '\x7f') + "\r\n\r\n"));
        std::string r = tls.ReadResponse();
        EXPECT_EQ(StatusOf(r), 400);
        EXPECT_NE(BodyOf(r).find(R"("code":"bad_request")"), std::string::npos);
        EXPECT_TRUE(tls.WaitClosed());
    }
    {
        RawConnection nul(server.port());
        ASSERT_TRUE(nul.Send(std::string("GET /\0\0\0 HTTP/1.1\r\n\r\n", 22)));
        EXPECT_EQ(StatusOf(nul.ReadResponse()), 400);
    }
    {
        RawConnection huge_header(server.port());
        ASSERT_TRUE(huge_header.Send("GET /ping HTTP/1.1\r\nX-A: " + std::string(40000, 'a') +
                                     "\r\n\r\n"));
        EXPECT_EQ(StatusOf(huge_header.ReadResponse()), 400);
    }
    RawConnection good(server.port());
    ASSERT_TRUE(good.Send(testing::Get("/ping")));
    EXPECT_EQ(BodyOf(good.ReadResponse()), "pong");
}

TEST(HttpServer, ManyIdleConnectionsDoNotBlockANewClient) {
    ServerOptions o = TestOptions();
    o.max_connections = 100;
    Server server(o);
    server.router().Get("/ping", Sync([](RequestContext&) { return TextResponse(200, "pong"); }));
    Running run(server);
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < 400; ++i) {
        idle.push_back(std::make_unique<RawConnection>(server.port()));
        ASSERT_TRUE(idle.back()->connected());
    }
    // At the limit, idle connections make room: the new client is served.
    RawConnection fresh(server.port());
    ASSERT_TRUE(fresh.Send(testing::Get("/ping")));
    std::string r = fresh.ReadResponse();
    EXPECT_EQ(StatusOf(r), 200);
    EXPECT_EQ(BodyOf(r), "pong");
    EXPECT_LE(server.connection_count(), 101U + 1U);
}

TEST(HttpServer, OverloadWithNoIdleConnectionAnswers503) {
    ServerOptions o = TestOptions();
    o.max_connections = 1;
    Server server(o);
    Gate gate;
    server.router().Get("/slow", [&gate](RequestContext& ctx) -> awaitable<Response> {
        co_await gate.Wait(ctx.executor);
        co_return TextResponse(200, "finished");
    });
    Running run(server);
    RawConnection busy(server.port());
    ASSERT_TRUE(busy.Send(testing::Get("/slow")));
    gate.Entered().wait();
    RawConnection extra(server.port());
    std::string r = extra.ReadResponse();
    EXPECT_EQ(StatusOf(r), 503);
    EXPECT_NE(BodyOf(r).find(R"("code":"upstream_unavailable")"), std::string::npos);
    gate.Open();
    EXPECT_EQ(StatusOf(busy.ReadResponse()), 200);
}

TEST(HttpServer, MiddlewareRunsInOrderAndCarriesTraceAndExtensions) {
    Server server(TestOptions());
    std::vector<std::string> order;
    std::mutex order_mu;
    struct Tag {
        std::string value;
    };
    server.Use([&](RequestContext& ctx, Next next) -> awaitable<Response> {
        {
            std::lock_guard<std::mutex> lock(order_mu);
            order.push_back("outer:" + std::string(ctx.route));
        }
        ctx.trace.trace_id[15] = 0xab;
        ctx.trace.span_id[7] = 0x01;
        ctx.extensions.Emplace<Tag>(Tag{"from-middleware"});
        Response r = co_await next();
        r.headers.Set("X-Outer", "1");
        co_return r;
    });
    server.Use([&](RequestContext&, Next next) -> awaitable<Response> {
        {
            std::lock_guard<std::mutex> lock(order_mu);
            order.push_back("inner");
        }
        co_return co_await next();
    });
    server.router().Get("/v1/items/{id}", Sync([](RequestContext& ctx) {
        Tag* tag = ctx.extensions.Get<Tag>();
        return TextResponse(200, tag != nullptr ? tag->value : "none");
    }));
    Running run(server);
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(testing::Get("/v1/items/7")));
    std::string r = c.ReadResponse();
    EXPECT_EQ(BodyOf(r), "from-middleware");
    EXPECT_NE(r.find("X-Outer: 1"), std::string::npos);
    EXPECT_NE(r.find("X-Trace-Id: 000000000000000000000000000000ab"), std::string::npos);
    // A 404 goes through the chain too, and its error body carries the trace id.
    ASSERT_TRUE(c.Send(testing::Get("/nope")));
    std::string nf = c.ReadResponse();
    EXPECT_EQ(StatusOf(nf), 404);
    EXPECT_NE(BodyOf(nf).find(R"("trace_id":"000000000000000000000000000000ab")"),
              std::string::npos);
    std::lock_guard<std::mutex> lock(order_mu);
    EXPECT_EQ(order, (std::vector<std::string>{"outer:/v1/items/{id}", "inner", "outer:",
                                               "inner"}));
}

TEST(HttpServer, AccessLogWritesOneLinePerRequestInDesignFormat) {
    auto stream = std::make_shared<std::ostringstream>();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*stream);
    auto logger = std::make_shared<spdlog::logger>("access-test", sink);
    logger->set_pattern("%^%L%$: %v");
    Server server(TestOptions());
    server.Use(AccessLog(logger));
    server.router().Post("/v1/order", Sync([](RequestContext&) {
        return JsonResponse(201, "{}");
    }));
    Running run(server);
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(testing::Post("/v1/order", "{}")));
    ASSERT_EQ(StatusOf(c.ReadResponse()), 201);
    ASSERT_TRUE(c.Send(testing::Get("/v1/order?x=1")));
    ASSERT_EQ(StatusOf(c.ReadResponse()), 405);
    logger->flush();
    std::string text = stream->str();
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    ::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&local), &len);
    std::string peer = "127.0.0.1:" + std::to_string(ntohs(local.sin_port));
    EXPECT_NE(text.find("I: " + peer + " - \"POST /v1/order HTTP/1.1\" 201 Created\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(peer + " - \"GET /v1/order?x=1 HTTP/1.1\" 405 Method Not Allowed\n"),
              std::string::npos)
        << text;
}

TEST(HttpServer, ContextKnowsPeerAndLocalAddress) {
    Server server(TestOptions());
    server.router().Get("/who", Sync([](RequestContext& ctx) {
        return TextResponse(200, ctx.peer_address + ":" + std::to_string(ctx.peer_port) + " " +
                                     std::to_string(ctx.local_port));
    }));
    Running run(server);
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(testing::Get("/who")));
    sockaddr_in local{};
    socklen_t len = sizeof(local);
    ::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&local), &len);
    EXPECT_EQ(BodyOf(c.ReadResponse()), "127.0.0.1:" + std::to_string(ntohs(local.sin_port)) +
                                            " " + std::to_string(server.port()));
}

TEST(HttpServer, HandlerExceptionGives500AndOthersAreServed) {
    Server server(TestOptions());
    server.router().Get("/boom", [](RequestContext&) -> awaitable<Response> {
        throw std::runtime_error("secret detail");
        co_return Response{};
    });
    server.router().Get("/ping", Sync([](RequestContext&) { return TextResponse(200, "pong"); }));
    Running run(server);
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(testing::Get("/boom")));
    std::string r = c.ReadResponse();
    EXPECT_EQ(StatusOf(r), 500);
    EXPECT_EQ(r.find("secret detail"), std::string::npos);
    RawConnection d(server.port());
    ASSERT_TRUE(d.Send(testing::Get("/ping")));
    EXPECT_EQ(StatusOf(d.ReadResponse()), 200);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
    Server server(TestOptions());
    server.router().Get("/n/{n}", Sync([](RequestContext& ctx) {
        return TextResponse(200, std::string(ctx.Param("n")));
    }));
    Running run(server);
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(testing::Get("/n/1") + testing::Get("/n/2") + testing::Get("/n/3")));
    EXPECT_EQ(BodyOf(c.ReadResponse()), "1");
    EXPECT_EQ(BodyOf(c.ReadResponse()), "2");
    EXPECT_EQ(BodyOf(c.ReadResponse()), "3");
}

TEST(HttpServer, PrintsListeningLineWithTheRealPort) {
    ServerOptions o = TestOptions();
    o.print_listening = true;
    Server server(o);
    ::testing::internal::CaptureStdout();
    Running run(server);
    std::string out = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(out, "listening on 127.0.0.1:" + std::to_string(server.port()) + "\n");
    EXPECT_NE(server.port(), 0);
}

TEST(HttpServer, ListenOnABusyPortIsAnError) {
    Server first(TestOptions());
    Running run(first);
    ServerOptions o = TestOptions();
    o.listen.port = first.port();
    Server second(o);
    common::Status st = second.Start();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message.find(std::to_string(first.port())), std::string::npos);
}

}  // namespace
}  // namespace flowex::http
