#include <gtest/gtest.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <thread>

#include "flowex/telemetry/api/asio_context.hpp"
#include "flowex/telemetry/api/trace.hpp"
#include "test_util.hpp"

namespace flowex::telemetry {
namespace {

namespace asio = boost::asio;

// The running thread's id, read afresh at each call. glibc declares pthread_self `const`, so
// clang merged the two std::this_thread::get_id() calls of a coroutine across the co_await
// that moved it to another thread; the asm's memory clobber keeps each read where it stands.
[[gnu::noinline]] std::thread::id RunningThread() {
    asm volatile("" ::: "memory");
    return std::this_thread::get_id();
}

// Completes on `target`'s thread: the awaiting coroutine resumes there.
template <class Token>
auto HopTo(asio::io_context& target, Token&& token) {
    return asio::async_initiate<Token, void()>(
        [&target](auto handler) {
            asio::post(target, [h = std::move(handler)]() mutable { std::move(h)(); });
        },
        token);
}

struct Observation {
    std::thread::id before;
    std::thread::id after;
    bool explicit_ok = false;
    bool current_ok = false;
};

TEST(TelemetryContext, CoroutineResumingOnAnotherThreadKeepsItsContext) {
    testing::TestProvider tp;
    Tracer tracer = tp.GetTracer();
    asio::io_context io_a;
    asio::io_context io_b;
    auto work_a = asio::make_work_guard(io_a);
    auto work_b = asio::make_work_guard(io_b);
    std::thread thread_a([&] { io_a.run(); });
    std::thread thread_b([&] { io_b.run(); });

    std::promise<Observation> done;
    Span request_span = tracer.StartSpan("POST /v1/order", {.kind = SpanKind::kServer});
    const Context request_ctx = request_span.MakeContext(Context());

    asio::co_spawn(
        io_a,
        [&]() -> asio::awaitable<void> {
            Observation o;
            const Context ctx = request_ctx;  // carried explicitly
            InstallCurrentContext(ctx);
            o.before = RunningThread();
            co_await Reenter(ctx, HopTo(io_b, asio::use_awaitable));
            o.after = RunningThread();
            // Explicit context: right on any thread.
            Span child = tracer.StartSpan("place_order", {.parent = &ctx});
            o.explicit_ok = child.GetContext().GetTraceId() == ctx.GetSpanContext().GetTraceId();
            // Thread-local: re-entered on the new thread by Reenter.
            o.current_ok = Context::Current().GetSpanContext().GetSpanId() ==
                           ctx.GetSpanContext().GetSpanId();
            child.End();
            ClearCurrentContext();
            done.set_value(o);
        },
        asio::detached);

    const Observation o = done.get_future().get();
    // Thread A's thread-local must have been cleared when the coroutine left it.
    std::promise<bool> a_clean;
    asio::post(io_a, [&] { a_clean.set_value(!Context::Current().GetSpanContext().IsValid()); });
    EXPECT_TRUE(a_clean.get_future().get());
    work_a.reset();
    work_b.reset();
    thread_a.join();
    thread_b.join();
    request_span.End();

    EXPECT_NE(o.before, o.after) << "the coroutine must really have changed threads";
    EXPECT_TRUE(o.explicit_ok);
    EXPECT_TRUE(o.current_ok);
    const auto spans = tp.storage->Spans();
    ASSERT_EQ(spans.size(), 2u);
    EXPECT_EQ(spans[0].name, "place_order");
    EXPECT_EQ(spans[0].parent_span_id, request_span.GetContext().GetSpanId());
}

TEST(TelemetryContext, ReenterReinstallsAfterException) {
    asio::io_context io;
    const Context ctx(SpanContext(TraceId{{7}}, SpanId{{7}}, TraceFlags{1}, false));
    bool ok = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            auto failing = []() -> asio::awaitable<int> {
                throw std::runtime_error("x");
                co_return 1;
            };
            try {
                co_await Reenter(ctx, failing());
            } catch (const std::runtime_error&) {
                ok = Context::Current().GetSpanContext().GetSpanId() ==
                     ctx.GetSpanContext().GetSpanId();
            }
            ClearCurrentContext();
        },
        asio::detached);
    io.run();
    EXPECT_TRUE(ok);
}

TEST(TelemetryContext, ScopedContextNestsAndRestores) {
    const Context a(SpanContext(TraceId{{1}}, SpanId{{1}}, TraceFlags{1}, false));
    const Context b(SpanContext(TraceId{{2}}, SpanId{{2}}, TraceFlags{1}, false));
    {
        ScopedContext sa(a);
        EXPECT_EQ(Context::Current().GetSpanContext().GetTraceId(), a.GetSpanContext().GetTraceId());
        {
            ScopedContext sb(b);
            EXPECT_EQ(Context::Current().GetSpanContext().GetTraceId(),
                      b.GetSpanContext().GetTraceId());
        }
        EXPECT_EQ(Context::Current().GetSpanContext().GetTraceId(), a.GetSpanContext().GetTraceId());
    }
    EXPECT_FALSE(Context::Current().GetSpanContext().IsValid());
}

}  // namespace
}  // namespace flowex::telemetry
