#pragma once
// The OTLP sink of the telemetry benchmarks (BM_OtlpHttpExportServerSpans and, through
// `flowex-bench-telemetry-echo --sink`, http_overhead.sh): it reads requests and answers them,
// nothing else, so that what the exporting process spends is what is measured.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace flowex::bench {

/// A TCP listener on 127.0.0.1:`port` (0: a free port, written back to `port`); -1 on failure.
inline int ListenLoopback(int& port, int backlog) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    socklen_t len = sizeof(addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        close(fd);
        return -1;
    }
    port = ntohs(addr.sin_port);
    return fd;
}

/// A minimal OTLP/HTTP sink on 127.0.0.1, on its own thread: one connection at a time, answers
/// every request 200 with an empty body. `port` 0 picks a free port.
class LoopbackSink {
public:
    explicit LoopbackSink(int port = 0) : port_(port) {
        listen_fd_ = ListenLoopback(port_, 4);
        if (listen_fd_ < 0) {
            std::perror("loopback sink: bind/listen");
            std::abort();
        }
        thread_ = std::thread([this] { Serve(); });
    }
    ~LoopbackSink() {
        shutdown(listen_fd_, SHUT_RDWR);
        close(listen_fd_);
        thread_.join();
    }
    int Port() const { return port_; }

private:
    void Serve() {
        if (const char* cpu = std::getenv("FLOWEX_BENCH_SINK_CPU")) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(std::atoi(cpu), &set);
            pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
        }
        std::vector<char> buf(1 << 20);
        for (;;) {
            const int fd = accept(listen_fd_, nullptr, nullptr);
            if (fd < 0) {
                return;
            }
            std::size_t have = 0;  // bytes of buf in use
            for (;;) {
                const ssize_t n = recv(fd, buf.data() + have, buf.size() - have, 0);
                if (n <= 0) {
                    break;
                }
                have += static_cast<std::size_t>(n);
                // Complete requests at the start of buf: answer each.
                for (;;) {
                    const std::string_view data(buf.data(), have);
                    const auto end = data.find("\r\n\r\n");
                    if (end == std::string_view::npos) {
                        break;
                    }
                    std::size_t body = 0;
                    const auto cl = data.substr(0, end).find("Content-Length: ");
                    if (cl != std::string_view::npos) {
                        body = std::strtoul(buf.data() + cl + 16, nullptr, 10);
                    }
                    const std::size_t total = end + 4 + body;
                    if (have < total) {
                        break;
                    }
                    constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                    if (send(fd, kOk.data(), kOk.size(), MSG_NOSIGNAL) < 0) {
                        break;
                    }
                    std::memmove(buf.data(), buf.data() + total, have - total);
                    have -= total;
                }
            }
            close(fd);
        }
    }

    int listen_fd_ = -1;
    int port_ = 0;
    std::thread thread_;
};

}  // namespace flowex::bench
