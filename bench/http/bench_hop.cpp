// flowex-bench-hop: what one message between two processes costs this machine.
//
// Two processes play ping-pong over a loopback TCP connection (or a Unix stream socket pair):
// the client sends 64 bytes and waits in epoll_wait for the echo, the server waits in
// epoll_wait, reads and echoes. Each message therefore finds its receiver asleep and wakes it,
// as a request does at every hop of the exchange (gateway → services → PostgreSQL → Redis).
// Prints the CPU time (user + system, from getrusage) of each side per round trip: on a
// machine whose kernel entries and context switches are dear, this is the floor under every
// hop, whatever the code on either side does. With --gap-us the client sleeps between round
// trips, and its figure includes waking from that sleep.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

namespace {

constexpr std::size_t kMessageBytes = 64;

struct Options {
    long round_trips = 20000;
    long gap_us = 0;
    bool unix_socket = false;
    bool json = false;
};

void Usage(std::FILE* out) {
    std::fputs(
        "Usage: flowex-bench-hop [--round-trips N] [--gap-us G] [--unix] [--json]\n\n"
        "Two processes play ping-pong (64 bytes each way, each side asleep in epoll_wait until\n"
        "the other's message wakes it) and the CPU time of each side per round trip is printed.\n\n"
        "  --round-trips N  round trips to time (default 20000)\n"
        "  --gap-us G       the client sleeps G microseconds between round trips (default 0)\n"
        "  --unix           a Unix stream socket pair instead of loopback TCP\n"
        "  --json           one JSON object: transport, round_trips, gap_us,\n"
        "                   client_cpu_us, server_cpu_us, wall_us (each per round trip)\n"
        "  --help           this text\n",
        out);
}

bool ParseLong(const char* text, long min, long* out) {
    char* end = nullptr;
    const long v = std::strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < min) { return false; }
    *out = v;
    return true;
}

double CpuSeconds(int who) {
    rusage r{};
    getrusage(who, &r);
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

// Waits until fd is readable, then reads up to one message; false at end of stream or error.
bool WaitAndRead(int epoll_fd, int fd, std::array<char, kMessageBytes>& buf, ssize_t* got) {
    epoll_event ev{};
    int ready = 0;
    do {
        ready = epoll_wait(epoll_fd, &ev, 1, -1);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) { return false; }
    *got = recv(fd, buf.data(), buf.size(), 0);
    return *got > 0;
}

// An epoll instance watching fd for input, or -1.
int WatchReadable(int fd) {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        close(ep);
        return -1;
    }
    return ep;
}

[[noreturn]] void Serve(int fd) {
    const int ep = WatchReadable(fd);
    std::array<char, kMessageBytes> buf{};
    ssize_t got = 0;
    while (ep >= 0 && WaitAndRead(ep, fd, buf, &got)) {
        if (send(fd, buf.data(), static_cast<std::size_t>(got), MSG_NOSIGNAL) != got) { break; }
    }
    _exit(0);
}

// A connected pair: [0] the client's end, [1] the server's. TCP with Nagle off, as the
// services' connections are.
bool Connect(bool unix_socket, std::array<int, 2>& fds) {
    if (unix_socket) { return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) == 0; }
    const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listener, 1) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        return false;
    }
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) { return false; }
    fds[1] = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    close(listener);
    const int one = 1;
    for (int fd : fds) { setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); }
    return fds[1] >= 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "--help" || a == "-h") {
            Usage(stdout);
            return 0;
        } else if (a == "--round-trips" && has_value && ParseLong(argv[i + 1], 1, &o.round_trips)) {
            ++i;
        } else if (a == "--gap-us" && has_value && ParseLong(argv[i + 1], 0, &o.gap_us)) {
            ++i;
        } else if (a == "--unix") {
            o.unix_socket = true;
        } else if (a == "--json") {
            o.json = true;
        } else {
            std::fprintf(stderr, "flowex-bench-hop: bad argument '%s'\n\n", argv[i]);
            Usage(stderr);
            return 2;
        }
    }
    std::array<int, 2> fds{-1, -1};
    if (!Connect(o.unix_socket, fds)) {
        std::fprintf(stderr, "flowex-bench-hop: cannot connect: %s\n", std::strerror(errno));
        return 1;
    }
    const pid_t server = fork();
    if (server < 0) {
        std::fprintf(stderr, "flowex-bench-hop: fork: %s\n", std::strerror(errno));
        return 1;
    }
    if (server == 0) {
        close(fds[0]);
        Serve(fds[1]);
    }
    close(fds[1]);
    const int client = fds[0];
    const int ep = WatchReadable(client);
    std::array<char, kMessageBytes> buf{};
    auto round_trip = [&] {
        if (send(client, buf.data(), buf.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(buf.size())) {
            return false;
        }
        ssize_t got = 0;
        for (std::size_t echoed = 0; echoed < buf.size(); echoed += static_cast<std::size_t>(got)) {
            if (!WaitAndRead(ep, client, buf, &got)) { return false; }
        }
        return true;
    };
    // One untimed round trip: both sides are running and connected before the clock starts.
    bool ok = ep >= 0 && round_trip();

    const double cpu0 = CpuSeconds(RUSAGE_SELF);
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; ok && i < o.round_trips; ++i) {
        ok = round_trip();
        if (o.gap_us > 0) { std::this_thread::sleep_for(std::chrono::microseconds(o.gap_us)); }
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double cpu1 = CpuSeconds(RUSAGE_SELF);
    close(client);
    int status = 0;
    waitpid(server, &status, 0);
    if (!ok) {
        std::fprintf(stderr, "flowex-bench-hop: the connection failed mid-run\n");
        return 1;
    }
    // The server did the untimed round trip too: its share is 1 in round_trips + 1.
    const double n = static_cast<double>(o.round_trips);
    const double client_us = (cpu1 - cpu0) / n * 1e6;
    const double server_us = CpuSeconds(RUSAGE_CHILDREN) / (n + 1) * 1e6;
    const double wall_us = std::chrono::duration<double, std::micro>(t1 - t0).count() / n;
    const char* transport = o.unix_socket ? "unix" : "tcp";
    if (o.json) {
        std::printf(
            "{\"transport\":\"%s\",\"round_trips\":%ld,\"gap_us\":%ld,\"client_cpu_us\":%.2f,"
            "\"server_cpu_us\":%.2f,\"wall_us\":%.2f}\n",
            transport, o.round_trips, o.gap_us, client_us, server_us, wall_us);
    } else {
        std::printf("%s, %ld round trips, gap %ld us: client %.1f us, server %.1f us of CPU a round trip "
                    "(%.1f us wall)\n",
                    transport, o.round_trips, o.gap_us, client_us, server_us, wall_us);
    }
    return 0;
}
