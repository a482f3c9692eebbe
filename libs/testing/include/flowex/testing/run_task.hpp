#pragma once
/// Coroutine helpers for gtest tests (header-only; include from test code only):
///   RunTask(io, task)      runs an awaitable to completion on `io` (bounded: a hang fails and aborts)
///   Spawn(ex, task, &slot) starts one concurrently; `slot` (std::optional<T>) is set when it ends
///   Pause(d)               waits d on the current executor (for bounded polling loops only)
/// common::Result<T> has no default constructor, so co_spawn with a completion handler taking T
/// does not compile for it: these helpers store the value from inside a void coroutine.
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <optional>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace flowex::testing {

namespace asio = boost::asio;

// common::Result<T> has no default constructor, which co_spawn's completion needs: store
// the result from inside a void coroutine instead.
template <class T>
asio::awaitable<void> StoreInto(asio::awaitable<T> task, std::optional<T>* out) {
    out->emplace(co_await std::move(task));
}

/// Starts `task` on `ex`; `*out` is set when it finishes (poll it).
template <class T>
void Spawn(const asio::any_io_executor& ex, asio::awaitable<T> task, std::optional<T>* out) {
    asio::co_spawn(ex, StoreInto(std::move(task), out), asio::detached);
}

template <class T>
T RunTask(asio::io_context& io, asio::awaitable<T> task,
          std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::optional<T> out;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(io, StoreInto(std::move(task), &out), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < deadline) {
        io.restart();
        io.run_one_for(std::chrono::milliseconds(100));
    }
    if (!done) {
        ADD_FAILURE() << "coroutine did not finish within " << limit.count() << " s";
        std::abort();
    }
    if (error) {
        std::rethrow_exception(error);
    }
    return std::move(*out);
}

/// Waits `d` on the current coroutine's executor (for bounded polling loops only).
inline asio::awaitable<void> Pause(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace flowex::testing
