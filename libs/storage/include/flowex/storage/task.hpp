#pragma once
/// The coroutine type of libs/storage: Boost.Asio's awaitable.
#include <boost/asio/awaitable.hpp>

namespace flowex::storage {

template <class T>
using Task = boost::asio::awaitable<T>;

}  // namespace flowex::storage
