#pragma once
/// A child process for tests (a service binary, a tool): started with posix_spawn, its stdout
/// (and optionally stderr) captured line by line on a reader thread, killed by pid when the
/// object is destroyed. Used to start a service and read its `listening on HOST:PORT` line.
///
///     auto child = ChildProcess::Start({.argv = {FLOWEX_BIN_DIR "/user-service", "--listen",
///                                                "127.0.0.1:0"},
///                                       .env = {{"FLOWEX_DATABASE_URL", db.url()}}});
///     ASSERT_TRUE(child.ok()) << child.error().message;
///     auto addr = child->WaitForListening(std::chrono::seconds(10));
///     ASSERT_TRUE(addr.ok()) << addr.error().message << child->Output();
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "flowex/common/config.hpp"
#include "flowex/common/result.hpp"

namespace flowex::testing {

struct ChildOptions {
    /// argv[0] is the program path (no PATH search when it contains a '/').
    std::vector<std::string> argv;
    /// Added to (or overriding) the parent's environment.
    std::vector<std::pair<std::string, std::string>> env;
    /// Names removed from the inherited environment.
    std::vector<std::string> unset_env;
    /// Capture stderr into the same line buffer (otherwise it is inherited).
    bool capture_stderr = true;
    /// Also copy every captured line to this process's stderr, prefixed by the program name.
    bool echo = false;
};

class ChildProcess {
public:
    /// Spawns the child. kInternal when posix_spawn fails (e.g. no such file).
    static common::Result<std::unique_ptr<ChildProcess>> Start(ChildOptions options);

    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    /// Kill(SIGTERM), then SIGKILL if it has not exited within 5 s; reaps it.
    ~ChildProcess();

    pid_t pid() const { return pid_; }

    /// Waits (bounded) for a line "listening on HOST:PORT" and returns the address.
    /// kUpstreamTimeout on timeout, kUpstreamUnavailable if the child exits first.
    common::Result<common::HostPort> WaitForListening(std::chrono::milliseconds timeout);
    /// Waits (bounded) for a captured line satisfying `match`; returns that line.
    common::Result<std::string> WaitForLine(const std::function<bool(const std::string&)>& match,
                                            std::chrono::milliseconds timeout);
    /// Everything captured so far, one line per line.
    std::string Output() const;
    std::vector<std::string> Lines() const;

    /// Sends a signal to the child (by pid; no-op once reaped).
    void Signal(int signo);
    /// Waits (bounded) for the child to exit; returns its wait status (see WIFEXITED etc.), or
    /// kUpstreamTimeout.
    common::Result<int> Wait(std::chrono::milliseconds timeout);
    /// SIGTERM, bounded wait, then SIGKILL; returns the wait status.
    int Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    bool Exited() const;

private:
    ChildProcess() = default;
    void ReaderLoop(int fd);
    bool TryReap(bool block);

    pid_t pid_ = -1;
    std::string name_;
    bool echo_ = false;
    std::thread reader_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::string> lines_;
    bool eof_ = false;
    bool stop_reader_ = false;
    std::optional<int> status_;
};

}  // namespace flowex::testing
