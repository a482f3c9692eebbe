#pragma once
// The shared coroutine test helpers (libs/testing), under the names these tests use.
#include "flowex/testing/run_task.hpp"

namespace flowex::storage::test {

namespace asio = boost::asio;
using testing::Pause;
using testing::RunTask;
using testing::Spawn;

}  // namespace flowex::storage::test
