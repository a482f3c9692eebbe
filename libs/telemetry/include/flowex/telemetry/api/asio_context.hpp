#pragma once
/// Re-entering the thread-local current context after a coroutine suspension (rule 3 in
/// context.hpp). Usage inside a boost::asio::awaitable coroutine:
///
///     Context ctx = request.context;                  // carried explicitly
///     auto n = co_await Reenter(ctx, sock.async_read_some(buf, asio::use_awaitable));
///     // here Context::Current() == ctx again, on whatever thread resumed us
///
/// Before suspending, this thread's current context is cleared (so it cannot leak into
/// another coroutine that runs on this thread meanwhile); after resumption `ctx` is installed
/// on the resuming thread, also when the operation throws.
#include <exception>
#include <type_traits>
#include <utility>

#include <boost/asio/awaitable.hpp>

#include "flowex/telemetry/api/context.hpp"

namespace flowex::telemetry {

template <class T, class Executor>
boost::asio::awaitable<T, Executor> Reenter(Context ctx, boost::asio::awaitable<T, Executor> op) {
    ClearCurrentContext();
    if constexpr (std::is_void_v<T>) {
        try {
            co_await std::move(op);
        } catch (...) {
            InstallCurrentContext(ctx);
            throw;
        }
        InstallCurrentContext(ctx);
    } else {
        std::exception_ptr error;
        try {
            T value = co_await std::move(op);
            InstallCurrentContext(ctx);
            co_return value;
        } catch (...) {
            error = std::current_exception();
        }
        InstallCurrentContext(ctx);
        std::rethrow_exception(error);
    }
}

}  // namespace flowex::telemetry
