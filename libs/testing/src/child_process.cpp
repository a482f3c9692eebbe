#include "flowex/testing/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

extern char** environ;  // NOLINT

namespace flowex::testing {
namespace {

using common::ErrorCode;
using Clock = std::chrono::steady_clock;

// "listening on HOST:PORT" anywhere in the line (a log prefix may precede it).
std::optional<common::HostPort> ParseListening(const std::string& line) {
    constexpr std::string_view kMarker = "listening on ";
    auto at = line.find(kMarker);
    if (at == std::string::npos) {
        return std::nullopt;
    }
    std::string rest = line.substr(at + kMarker.size());
    auto end = rest.find_first_of(" \t\r\n");
    if (end != std::string::npos) {
        rest.resize(end);
    }
    // Accept an optional scheme ("http://127.0.0.1:8080").
    if (auto scheme = rest.find("://"); scheme != std::string::npos) {
        rest = rest.substr(scheme + 3);
    }
    while (!rest.empty() && rest.back() == '/') {
        rest.pop_back();
    }
    auto parsed = common::HostPort::Parse(rest);
    if (!parsed || parsed->port == 0) {
        return std::nullopt;
    }
    return *parsed;
}

}  // namespace

common::Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(ChildOptions options) {
    if (options.argv.empty()) {
        return common::Error::Make(ErrorCode::kInternal, "ChildProcess: empty argv");
    }
    // Environment: the parent's, minus unset_env, with env overriding.
    std::map<std::string, std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string::npos) {
            env[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
    }
    for (const auto& name : options.unset_env) {
        env.erase(name);
    }
    for (const auto& [k, v] : options.env) {
        env[k] = v;
    }
    std::vector<std::string> env_strings;
    env_strings.reserve(env.size());
    for (const auto& [k, v] : env) {
        env_strings.push_back(k + "=" + v);
    }
    std::vector<char*> envp;
    for (auto& s : env_strings) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : options.argv) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);

    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return common::Error::Make(ErrorCode::kInternal,
                                   std::string("pipe2: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    if (options.capture_stderr) {
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    }
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Default signal dispositions and an empty mask in the child, whatever the test runner set.
    sigset_t all;
    sigset_t none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    pid_t pid = -1;
    const bool has_slash = options.argv[0].find('/') != std::string::npos;
    int rc = has_slash ? ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data())
                       : ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        return common::Error::Make(ErrorCode::kInternal, "cannot start " + options.argv[0] + ": " +
                                                             std::strerror(rc));
    }
    std::unique_ptr<ChildProcess> child(new ChildProcess());
    child->pid_ = pid;
    child->echo_ = options.echo;
    child->name_ = options.argv[0].substr(options.argv[0].rfind('/') + 1);
    int read_fd = fds[0];
    child->reader_ = std::thread([raw = child.get(), read_fd] { raw->ReaderLoop(read_fd); });
    return child;
}

void ChildProcess::ReaderLoop(int fd) {
    std::string partial;
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, 100);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        bool done = false;
        if (n > 0) {
            ssize_t got = ::read(fd, buf, sizeof buf);
            if (got > 0) {
                partial.append(buf, static_cast<std::size_t>(got));
            } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                done = true;
            }
        } else if (n == 0) {
            // No output: stop once the child is gone and a grandchild keeps the pipe open.
            std::lock_guard lock(mu_);
            done = status_.has_value() && stop_reader_;
        }
        std::vector<std::string> complete;
        std::size_t pos = 0;
        for (auto nl = partial.find('\n', pos); nl != std::string::npos;
             nl = partial.find('\n', pos)) {
            complete.push_back(partial.substr(pos, nl - pos));
            pos = nl + 1;
        }
        partial.erase(0, pos);
        if (done && !partial.empty()) {
            complete.push_back(std::move(partial));
            partial.clear();
        }
        if (!complete.empty() || done) {
            std::lock_guard lock(mu_);
            for (auto& l : complete) {
                if (echo_) {
                    std::fprintf(stderr, "[%s] %s\n", name_.c_str(), l.c_str());
                }
                lines_.push_back(std::move(l));
            }
            eof_ = eof_ || done;
            cv_.notify_all();
        }
        if (done) {
            break;
        }
        std::lock_guard lock(mu_);
        if (stop_reader_ && status_.has_value() && n <= 0) {
            break;
        }
    }
    ::close(fd);
    std::lock_guard lock(mu_);
    eof_ = true;
    cv_.notify_all();
}

bool ChildProcess::TryReap(bool block) {
    std::lock_guard lock(mu_);
    if (status_) {
        return true;
    }
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == pid_) {
        status_ = status;
        cv_.notify_all();
        return true;
    }
    return false;
}

bool ChildProcess::Exited() const {
    auto* self = const_cast<ChildProcess*>(this);
    return self->TryReap(false);
}

common::Result<common::HostPort> ChildProcess::WaitForListening(std::chrono::milliseconds timeout) {
    std::optional<common::HostPort> found;
    auto line = WaitForLine(
        [&](const std::string& l) {
            found = ParseListening(l);
            return found.has_value();
        },
        timeout);
    if (!line) {
        return line.error();
    }
    return *found;
}

common::Result<std::string> ChildProcess::WaitForLine(
    const std::function<bool(const std::string&)>& match, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::size_t checked = 0;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            for (; checked < lines_.size(); ++checked) {
                if (match(lines_[checked])) {
                    return lines_[checked];
                }
            }
            if (eof_) {
                break;
            }
            if (Clock::now() >= deadline) {
                return common::Error::Make(ErrorCode::kUpstreamTimeout,
                                           name_ + ": the expected line did not appear in time");
            }
            cv_.wait_for(lock, std::chrono::milliseconds(50));
        }
        if (TryReap(false)) {
            // Exited; the reader drains what is left, then reports eof.
            std::unique_lock lock(mu_);
            cv_.wait_until(lock, deadline, [&] { return eof_ || checked < lines_.size(); });
            if (eof_ && checked >= lines_.size()) {
                break;
            }
        }
    }
    std::lock_guard lock(mu_);
    for (; checked < lines_.size(); ++checked) {
        if (match(lines_[checked])) {
            return lines_[checked];
        }
    }
    return common::Error::Make(ErrorCode::kUpstreamUnavailable,
                               name_ + " closed its output (exited) before the expected line");
}

std::string ChildProcess::Output() const {
    std::lock_guard lock(mu_);
    std::string out;
    for (const auto& l : lines_) {
        out += l;
        out += '\n';
    }
    return out;
}

std::vector<std::string> ChildProcess::Lines() const {
    std::lock_guard lock(mu_);
    return lines_;
}

void ChildProcess::Signal(int signo) {
    std::lock_guard lock(mu_);
    if (!status_ && pid_ > 0) {
        ::kill(pid_, signo);
    }
}

common::Result<int> ChildProcess::Wait(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!TryReap(false)) {
        if (Clock::now() >= deadline) {
            return common::Error::Make(ErrorCode::kUpstreamTimeout,
                                       name_ + " did not exit in time");
        }
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(10));
    }
    std::lock_guard lock(mu_);
    return *status_;
}

int ChildProcess::Stop(std::chrono::milliseconds grace) {
    Signal(SIGTERM);
    auto st = Wait(grace);
    if (st) {
        return *st;
    }
    Signal(SIGKILL);
    TryReap(true);
    std::lock_guard lock(mu_);
    return status_.value_or(-1);
}

ChildProcess::~ChildProcess() {
    if (pid_ > 0) {
        Stop();
    }
    {
        std::lock_guard lock(mu_);
        stop_reader_ = true;
    }
    if (reader_.joinable()) {
        reader_.join();
    }
}

}  // namespace flowex::testing
