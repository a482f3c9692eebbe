#pragma once
// Helpers for libs/http tests: raw blocking sockets with receive timeouts (so a broken
// server fails a test instead of hanging it), a gate that parks a handler until the test
// opens it, and a way to run client coroutines to completion.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "flowex/http/context.hpp"

namespace flowex::http::testing {

/// A blocking TCP connection to 127.0.0.1:port with a 5 s receive timeout.
class RawConnection {
public:
    explicit RawConnection(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        connect_errno_ = connected_ ? 0 : errno;
    }
    ~RawConnection() {
        if (fd_ >= 0) { ::close(fd_); }
    }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    bool connected() const { return connected_; }
    int connect_errno() const { return connect_errno_; }

    bool Send(std::string_view bytes) {
        while (!bytes.empty()) {
            ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) { return false; }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    /// Reads one response (header + Content-Length body, or until EOF when there is no
    /// length). Empty when the connection closed (or timed out) before any byte.
    std::string ReadResponse() {
        for (;;) {
            std::size_t end = pending_.find("\r\n\r\n");
            if (end != std::string::npos) {
                std::size_t body_start = end + 4;
                std::size_t len = ContentLength(pending_.substr(0, body_start));
                if (len != std::string::npos && pending_.size() >= body_start + len) {
                    std::string out = pending_.substr(0, body_start + len);
                    pending_.erase(0, body_start + len);
                    return out;
                }
            }
            char buf[8192];
            ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
            if (n <= 0) {
                std::string out = std::move(pending_);
                pending_.clear();
                return out;
            }
            pending_.append(buf, static_cast<std::size_t>(n));
        }
    }

    /// Waits for the server to close: true on EOF or reset, false when data arrived or the
    /// 5 s receive timeout passed.
    bool WaitClosed() {
        char buf[4096];
        for (;;) {
            ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
            if (n == 0) { return true; }
            if (n < 0) { return errno == ECONNRESET; }
        }
    }

    int fd() const { return fd_; }

private:
    static std::size_t ContentLength(const std::string& head) {
        std::string lower;
        for (char c : head) { lower.push_back(static_cast<char>(std::tolower(c))); }
        std::size_t p = lower.find("\r\ncontent-length:");
        if (p == std::string::npos) {
            return lower.find("transfer-encoding") == std::string::npos ? 0 : std::string::npos;
        }
        return std::stoul(lower.substr(p + 17));
    }

    int fd_ = -1;
    bool connected_ = false;
    int connect_errno_ = 0;
    std::string pending_;
};

/// "HTTP/1.1 404 Not Found\r\n…" → 404.
inline int StatusOf(const std::string& response) {
    if (response.size() < 12) { return 0; }
    return std::stoi(response.substr(9, 3));
}

inline std::string BodyOf(const std::string& response) {
    std::size_t p = response.find("\r\n\r\n");
    return p == std::string::npos ? std::string() : response.substr(p + 4);
}

inline std::string Get(std::string_view target) {
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

inline std::string Post(std::string_view target, std::string_view body) {
    return "POST " + std::string(target) + " HTTP/1.1\r\nHost: t\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

/// Parks handlers until the test opens it. Entered() is ready once a handler waits.
class Gate {
public:
    awaitable<void> Wait(boost::asio::any_io_executor ex) {
        boost::asio::steady_timer timer(ex, std::chrono::steady_clock::time_point::max());
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (open_) { co_return; }
            timer_ = &timer;
            ex_ = ex;
        }
        entered_.set_value();
        auto r = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
        (void)r;
        std::lock_guard<std::mutex> lock(mu_);
        timer_ = nullptr;
    }
    void Open() {
        std::lock_guard<std::mutex> lock(mu_);
        open_ = true;
        if (timer_ != nullptr) {
            boost::asio::post(ex_, [this] {
                std::lock_guard<std::mutex> inner(mu_);
                if (timer_ != nullptr) { timer_->cancel(); }
            });
        }
    }
    std::future<void> Entered() { return entered_.get_future(); }

private:
    std::mutex mu_;
    bool open_ = false;
    boost::asio::steady_timer* timer_ = nullptr;
    boost::asio::any_io_executor ex_;
    std::promise<void> entered_;
};

/// An io_context on its own thread, for clients.
class IoThread {
public:
    IoThread() : work_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}
    ~IoThread() {
        work_.reset();
        ioc_.stop();
        thread_.join();
    }
    boost::asio::any_io_executor executor() { return ioc_.get_executor(); }

    /// Runs a coroutine on this thread and waits for its value.
    template <class T>
    T Run(awaitable<T> coro) {
        std::promise<T> promise;
        std::future<T> future = promise.get_future();
        boost::asio::co_spawn(
            ioc_,
            [&]() -> awaitable<void> { promise.set_value(co_await std::move(coro)); },
            boost::asio::detached);
        return future.get();
    }

private:
    boost::asio::io_context ioc_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
    std::thread thread_;
};

}  // namespace flowex::http::testing
