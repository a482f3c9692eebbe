// flowex-bench-collector-http: the CPU a flowex-collector process spends per span on the
// exchange's own traffic shape, over HTTP, without the exchange. It starts the collector binary
// it is given (fresh data directory, free port, optionally pinned to one CPU), replays a
// pre-encoded stream of OTLP/HTTP protobuf requests at a fixed rate of orders per second, and
// reports the collector's CPU time (from /proc and its rusage) per span and per order.
//
// The stream imitates what six flowex services export under `flowex load`: each order is a
// trace split across the services' span batches (512 spans a request, or older than the
// schedule delay), with the services' log records in log batches; crossing, resting and read
// traces in proportion. Requests go out on one keep-alive connection per service and signal,
// each at the moment its batch would be full. With --rounds, the replay is repeated with the
// two collectors' start order alternated (the one started first measures 1-2 % cheaper) and the
// median ratio is reported. See docs/benchmarks.md.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flowex/collector/otlp_decode.hpp"
#include "flowex/common/config.hpp"

namespace fc = flowex::collector;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kServices = 6;
const char* kServiceNames[kServices] = {"client-gateway", "user-service",   "order-manager",
                                        "risk-manager",   "wallet-service", "reporting-service"};
enum Svc { kGw, kUser, kOm, kRisk, kWallet };
enum Shape { kHttpServer, kHttpClient, kDb, kRedis, kBusiness };

// One span of a trace: service, parent (index in the trace, -1 for the root), name, kind, the
// attribute set it carries, and whether the service logs a line in it.
struct SpanDef {
    int service;
    int parent;
    const char* name;
    int kind;  // OTLP SpanKind: 1 internal, 2 server, 3 client
    Shape shape;
    bool logs;
};

// A crossing limit order as the exchange traces it (42 spans; see the viewer).
const SpanDef kCrossing[] = {
    {kGw, -1, "POST /v1/order", 2, kHttpServer, true},   {kGw, 0, "place_order", 1, kBusiness, true},
    {kGw, 1, "GET", 3, kHttpClient, false},              {kUser, 2, "GET /me", 2, kHttpServer, true},
    {kUser, 3, "verify_token", 1, kBusiness, false},     {kUser, 4, "GET", 3, kRedis, false},
    {kGw, 1, "POST", 3, kHttpClient, false},             {kOm, 6, "POST /order", 2, kHttpServer, true},
    {kOm, 7, "create_order", 1, kBusiness, true},        {kOm, 8, "POST", 3, kHttpClient, false},
    {kRisk, 9, "POST /validate", 2, kHttpServer, true},  {kRisk, 10, "validate_order", 1, kBusiness, true},
    {kRisk, 11, "SELECT instruments", 3, kDb, false},    {kRisk, 11, "SELECT orders", 3, kDb, false},
    {kOm, 8, "POST", 3, kHttpClient, false},             {kWallet, 14, "POST /block-funds", 2, kHttpServer, true},
    {kWallet, 15, "block_funds", 1, kBusiness, true},    {kWallet, 16, "UPDATE wallets", 3, kDb, false},
    {kOm, 8, "match_order", 1, kBusiness, true},         {kOm, 18, "INSERT orders", 3, kDb, false},
    {kOm, 18, "INSERT trades", 3, kDb, false},           {kOm, 18, "UPDATE orders", 3, kDb, false},
    {kOm, 18, "INSERT trades", 3, kDb, false},           {kOm, 18, "UPDATE orders", 3, kDb, false},
    {kOm, 18, "UPDATE instruments", 3, kDb, false},      {kOm, 18, "INSERT outbox", 3, kDb, false},
    {kOm, 18, "INSERT outbox", 3, kDb, false},           {kOm, 18, "INSERT outbox", 3, kDb, false},
    {kOm, 18, "POST", 3, kHttpClient, false},            {kWallet, 28, "POST /settle", 2, kHttpServer, true},
    {kWallet, 29, "settle_trade", 1, kBusiness, true},   {kWallet, 29, "settle_trade", 1, kBusiness, true},
    {kWallet, 29, "release_funds", 1, kBusiness, false}, {kWallet, 30, "SELECT wallets", 3, kDb, false},
    {kWallet, 30, "SELECT holdings", 3, kDb, false},     {kWallet, 30, "UPDATE wallets", 3, kDb, false},
    {kWallet, 31, "UPDATE wallets", 3, kDb, false},      {kWallet, 32, "UPDATE reservations", 3, kDb, false},
    {kOm, 8, "publish_event", 1, kBusiness, false},      {kOm, 38, "PUBLISH", 3, kRedis, false},
    {kOm, 38, "PUBLISH", 3, kRedis, false},              {kOm, 38, "PUBLISH", 3, kRedis, false},
};
// A resting order: the crossing one up to the reservation, then its insert and publish.
constexpr int kRestingPrefix = 18;
// A balance read (8 spans).
const SpanDef kRead[] = {
    {kGw, -1, "GET /wallet/balance", 2, kHttpServer, true}, {kGw, 0, "GET", 3, kHttpClient, false},
    {kUser, 1, "GET /me", 2, kHttpServer, true},           {kUser, 2, "verify_token", 1, kBusiness, false},
    {kUser, 3, "GET", 3, kRedis, false},                   {kGw, 0, "GET", 3, kHttpClient, false},
    {kWallet, 5, "GET /balance", 2, kHttpServer, true},     {kWallet, 6, "SELECT wallets", 3, kDb, false},
};

struct Request {
    std::int64_t due_ns = 0;  // from the start of the replay
    bool logs = false;
    std::string body;
    std::int64_t items = 0;
};

// Builds each service's span and log batches as the orders come, as a BatchSpanProcessor does.
class Stream {
public:
    Stream(std::uint64_t seed, std::int64_t interval_ns, std::int64_t schedule_delay_ns)
        : rng_(seed), interval_ns_(interval_ns), delay_ns_(schedule_delay_ns) {
        for (int s = 0; s < kServices; ++s) {
            svc_[s].index = s;
            NewTraceBatch(svc_[s]);
            NewLogBatch(svc_[s]);
        }
    }

    void AddOrder(std::int64_t i) {
        std::int64_t now = i * interval_ns_;
        std::uint64_t wall = base_wall_ + static_cast<std::uint64_t>(now);
        std::uint32_t pick = static_cast<std::uint32_t>(rng_() % 100);
        std::vector<SpanDef> defs;
        if (pick < 45) {  // crossing limit or market orders
            defs.assign(std::begin(kCrossing), std::end(kCrossing));
        } else if (pick < 80) {  // resting limit orders and cancels
            defs.assign(std::begin(kCrossing), std::begin(kCrossing) + kRestingPrefix);
            defs.push_back({kOm, 8, "INSERT orders", 3, kDb, false});
            defs.push_back({kOm, 8, "publish_event", 1, kBusiness, false});
            defs.push_back({kOm, 19, "PUBLISH", 3, kRedis, false});
        } else {  // portfolio and balance reads
            defs.assign(std::begin(kRead), std::end(kRead));
        }
        std::string trace_id = RandomId(16);
        std::vector<std::string> ids;
        ids.reserve(defs.size());
        std::int64_t user = static_cast<std::int64_t>(rng_() % 20) + 1;
        std::string order_id = std::to_string(rng_() % 1000000000);
        for (std::size_t k = 0; k < defs.size(); ++k) {
            const SpanDef& d = defs[k];
            ids.push_back(RandomId(8));
            Service& s = svc_[d.service];
            auto* span = s.scope->add_spans();
            span->set_trace_id(trace_id);
            span->set_span_id(ids.back());
            if (d.parent >= 0) {
                span->set_parent_span_id(ids[static_cast<std::size_t>(d.parent)]);
            }
            span->set_name(d.name);
            span->set_kind(static_cast<fc::otlp_trace::Span_SpanKind>(d.kind));
            std::uint64_t start = wall + k * 40'000;
            span->set_start_time_unix_nano(start);
            span->set_end_time_unix_nano(start + 50'000 + rng_() % 2'000'000);
            Attributes(span, d, user, order_id);
            ++s.spans;
            if (d.logs) {
                AddLog(s, trace_id, ids.back(), start, d.name);
            }
        }
        for (Service& s : svc_) {
            if (s.spans >= kBatch || (s.spans > 0 && now - s.trace_since >= delay_ns_)) {
                EmitTraces(s, now);
            }
            if (s.logs >= kBatch || (s.logs > 0 && now - s.log_since >= delay_ns_)) {
                EmitLogs(s, now);
            }
        }
    }

    std::vector<Request> Finish(std::int64_t end_ns) {
        for (Service& s : svc_) {
            if (s.spans > 0) {
                EmitTraces(s, end_ns);
            }
            if (s.logs > 0) {
                EmitLogs(s, end_ns);
            }
        }
        return std::move(requests_);
    }

    // The connection of each request: one per service and signal (traces 2s, logs 2s + 1).
    const std::vector<int>& Owners() const { return owners_; }

private:
    static constexpr int kBatch = 512;
    struct Service {
        int index = 0;
        fc::ExportTraceRequest traces;
        fc::otlp_trace::ScopeSpans* scope = nullptr;
        int spans = 0;
        std::int64_t trace_since = 0;
        fc::ExportLogsRequest logs_req;
        fc::otlp_logs::ScopeLogs* log_scope = nullptr;
        int logs = 0;
        std::int64_t log_since = 0;
    };

    static void Resource(fc::otlp_resource::Resource* r, int service) {
        auto add = [&](const char* k, const std::string& v) {
            auto* kv = r->add_attributes();
            kv->set_key(k);
            kv->mutable_value()->set_string_value(v);
        };
        add("service.name", kServiceNames[service]);
        add("service.version", "0.1.0");
        add("service.instance.id", "ab859a06-aece-4a2f-84e6-3f67227b000" + std::to_string(service));
        add("host.name", "vm");
        auto* pid = r->add_attributes();
        pid->set_key("process.pid");
        pid->mutable_value()->set_int_value(25547 + service);
        add("telemetry.sdk.name", "flowex");
        add("telemetry.sdk.language", "cpp");
        add("telemetry.sdk.version", "0.1.0");
    }

    void NewTraceBatch(Service& s) {
        s.traces.Clear();
        auto* rs = s.traces.add_resource_spans();
        Resource(rs->mutable_resource(), s.index);
        s.scope = rs->add_scope_spans();
        s.scope->mutable_scope()->set_name("flowex");
        s.scope->mutable_scope()->set_version("0.1.0");
        s.spans = 0;
    }
    void NewLogBatch(Service& s) {
        s.logs_req.Clear();
        auto* rl = s.logs_req.add_resource_logs();
        Resource(rl->mutable_resource(), s.index);
        s.log_scope = rl->add_scope_logs();
        s.log_scope->mutable_scope()->set_name("flowex");
        s.logs = 0;
    }

    void EmitTraces(Service& s, std::int64_t now) {
        owners_.push_back(s.index * 2);
        requests_.push_back(Request{now, false, s.traces.SerializeAsString(), s.spans});
        NewTraceBatch(s);
        s.trace_since = now;
    }
    void EmitLogs(Service& s, std::int64_t now) {
        owners_.push_back(s.index * 2 + 1);
        requests_.push_back(Request{now, true, s.logs_req.SerializeAsString(), s.logs});
        NewLogBatch(s);
        s.log_since = now;
    }

    void AddLog(Service& s, const std::string& trace_id, const std::string& span_id, std::uint64_t t,
                const char* name) {
        auto* lr = s.log_scope->add_log_records();
        lr->set_time_unix_nano(t + 30'000);
        lr->set_observed_time_unix_nano(t + 31'000);
        lr->set_severity_number(fc::otlp_logs::SEVERITY_NUMBER_INFO);
        lr->set_severity_text("info");
        lr->mutable_body()->set_string_value(std::string(name) + " handled in 1.24 ms, status 200");
        lr->set_trace_id(trace_id);
        lr->set_span_id(span_id);
        lr->set_flags(1);
        auto* kv = lr->add_attributes();
        kv->set_key("thread.id");
        kv->mutable_value()->set_int_value(1);
        ++s.logs;
    }

    void Attributes(fc::otlp_trace::Span* span, const SpanDef& d, std::int64_t user,
                    const std::string& order_id) {
        auto str = [&](const char* k, const std::string& v) {
            auto* kv = span->add_attributes();
            kv->set_key(k);
            kv->mutable_value()->set_string_value(v);
        };
        auto num = [&](const char* k, std::int64_t v) {
            auto* kv = span->add_attributes();
            kv->set_key(k);
            kv->mutable_value()->set_int_value(v);
        };
        switch (d.shape) {
            case kHttpServer:
                str("http.request.method", d.name[0] == 'G' ? "GET" : "POST");
                str("http.route", std::strchr(d.name, ' ') + 1);
                str("url.path", std::strchr(d.name, ' ') + 1);
                str("url.scheme", "http");
                str("server.address", "127.0.0.1");
                str("client.address", "127.0.0.1");
                str("network.protocol.version", "1.1");
                num("http.response.status_code", 200);
                break;
            case kHttpClient:
                str("http.request.method", d.name);
                str("url.full", "http://127.0.0.1:8002/order");
                str("server.address", "127.0.0.1");
                num("server.port", 8002);
                str("service.peer.name", "order-manager");
                str("peer.service", "order-manager");
                num("http.response.status_code", 200);
                break;
            case kDb:
                str("db.system.name", "postgresql");
                str("db.operation.name", std::string(d.name, std::strchr(d.name, ' ')));
                str("db.collection.name", std::strchr(d.name, ' ') + 1);
                str("db.query.text", std::string(d.name) + " SET available = available - $1 WHERE user_id = $2");
                str("db.namespace", "flowex");
                str("server.address", "127.0.0.1");
                num("server.port", 5432);
                str("service.peer.name", "postgresql");
                str("peer.service", "postgresql");
                num("db.response.returned_rows", 1);
                break;
            case kRedis:
                str("db.system.name", "redis");
                str("db.operation.name", d.name);
                str("server.address", "127.0.0.1");
                num("server.port", 6379);
                str("service.peer.name", "redis");
                str("peer.service", "redis");
                break;
            case kBusiness:
                num("user_id", user);
                str("symbol", "AAPL");
                str("side", user % 2 != 0 ? "BUY" : "SELL");
                num("quantity", static_cast<std::int64_t>(rng_() % 100 + 1));
                str("order_id", order_id);
                break;
        }
    }

    std::string RandomId(std::size_t n) {
        std::string id(n, '\0');
        for (char& c : id) {
            c = static_cast<char>(rng_());
        }
        id[0] = static_cast<char>(id[0] | 1);
        return id;
    }

    std::mt19937_64 rng_;
    std::int64_t interval_ns_;
    std::int64_t delay_ns_;
    std::uint64_t base_wall_ = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    Service svc_[kServices];
    std::vector<Request> requests_;
    std::vector<int> owners_;
};

int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        std::perror("free port");
        std::exit(2);
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

int Connect(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        if (fd >= 0) {
            ::close(fd);
        }
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

bool WriteAll(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Reads one HTTP response (Content-Length framed); returns its status, or -1.
int ReadResponse(int fd, std::string& buf) {
    for (;;) {
        auto head_end = buf.find("\r\n\r\n");
        if (head_end != std::string::npos) {
            std::size_t body = 0;
            auto cl = buf.find("Content-Length:");
            if (cl == std::string::npos) {
                cl = buf.find("content-length:");
            }
            if (cl != std::string::npos && cl < head_end) {
                body = std::strtoul(buf.c_str() + cl + 15, nullptr, 10);
            }
            if (buf.size() >= head_end + 4 + body) {
                int status = buf.size() > 12 ? std::atoi(buf.c_str() + 9) : -1;
                buf.erase(0, head_end + 4 + body);
                return status;
            }
        }
        char tmp[4096];
        ssize_t n = ::read(fd, tmp, sizeof tmp);
        if (n <= 0) {
            return -1;
        }
        buf.append(tmp, static_cast<std::size_t>(n));
    }
}

double ProcCpuSeconds(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto close = s.rfind(')');
    if (close == std::string::npos) {
        return 0;
    }
    // Fields after the command: state is field 3; utime and stime are fields 14 and 15.
    std::vector<std::string> fields;
    std::size_t p = close + 2;
    while (p < s.size()) {
        auto q = s.find(' ', p);
        fields.push_back(s.substr(p, q - p));
        if (q == std::string::npos) {
            break;
        }
        p = q + 1;
    }
    if (fields.size() < 13) {
        return 0;
    }
    double ticks = std::stod(fields[11]) + std::stod(fields[12]);
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}


// One collector process under measurement.
struct Target {
    std::string binary;
    pid_t pid = -1;
    int port = 0;
    std::filesystem::path dir;
    std::vector<int> fds;
    double cpu0 = 0;           // CPU seconds when the replay started (start-up excluded)
    double cpu_answered = 0;   // … until its last answer
    std::vector<double> cpu_done;  // its CPU seconds as each connection's sender finished
    double cpu_work = 0;       // … until it exited (last commit and shutdown included)
    long max_rss_kib = 0;
    bool exited_ok = false;
    std::atomic<std::int64_t> ok{0};
    std::atomic<std::int64_t> failed{0};
    std::vector<std::vector<double>> latencies;
};

// Starts the collector (fresh directory, free ports, output to a file) and opens one
// connection per service and signal once its OTLP port accepts.
bool Launch(Target& t, std::int64_t cpu, std::size_t connections, const std::string& tag) {
    t.dir = std::filesystem::temp_directory_path() /
            ("flowex-bench-collector-http." + std::to_string(::getpid()) + "." + tag);
    std::filesystem::remove_all(t.dir);
    std::filesystem::create_directories(t.dir);
    t.port = FreePort();
    std::string otlp_addr = "127.0.0.1:" + std::to_string(t.port);
    std::string query_addr = "127.0.0.1:" + std::to_string(FreePort());
    std::string data_dir = (t.dir / "data").string();
    std::string log_path = (t.dir / "collector.log").string();
    t.pid = ::fork();
    if (t.pid == 0) {
        if (cpu >= 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(static_cast<int>(cpu), &set);
            ::sched_setaffinity(0, sizeof set, &set);
        }
        int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execl(t.binary.c_str(), t.binary.c_str(), "--data-dir", data_dir.c_str(), "--otlp-http-addr",
                otlp_addr.c_str(), "--query-addr", query_addr.c_str(), static_cast<char*>(nullptr));
        std::perror("exec");
        ::_exit(127);
    }
    t.fds.assign(connections, -1);
    auto deadline = Clock::now() + std::chrono::seconds(30);
    while (t.fds[0] < 0 && Clock::now() < deadline) {
        if (::waitpid(t.pid, nullptr, WNOHANG) == t.pid) {
            t.pid = -1;
            break;
        }
        t.fds[0] = Connect(t.port);
        if (t.fds[0] < 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    for (int& fd : t.fds) {
        if (fd < 0 && t.pid > 0) {
            fd = Connect(t.port);
        }
        if (fd < 0) {
            std::string log;
            std::ifstream f(log_path);
            std::getline(f, log, '\0');
            std::fprintf(stderr, "flowex-bench-collector-http: %s did not start:\n%s\n", t.binary.c_str(), log.c_str());
            if (t.pid > 0) {
                ::kill(t.pid, SIGKILL);
                ::waitpid(t.pid, nullptr, 0);
            }
            std::filesystem::remove_all(t.dir);
            return false;
        }
    }
    t.latencies.resize(connections);
    t.cpu_done.assign(connections, 0.0);
    return true;
}

// SIGTERM, then its rusage: the last commit and what shutdown flushes belong to the work.
void Stop(Target& t) {
    // Its peak resident set (VmHWM), read while it still runs.
    {
        std::ifstream status("/proc/" + std::to_string(t.pid) + "/status");
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("VmHWM:", 0) == 0) {
                t.max_rss_kib = std::strtol(line.c_str() + 6, nullptr, 10);
            }
        }
    }
    for (int fd : t.fds) {
        ::close(fd);
    }
    ::kill(t.pid, SIGTERM);
    int wstatus = 0;
    rusage ru{};
    ::wait4(t.pid, &wstatus, 0, &ru);
    double total = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                   static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    t.cpu_work = total - t.cpu0;
    t.exited_ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
    std::filesystem::remove_all(t.dir);
}

// Sends every request to each target on its connection (owners[i]) at its due time, all targets
// at once; returns how long the replay took (seconds).
double Replay(const std::vector<Target*>& targets, const std::vector<Request>& requests,
              const std::vector<int>& owners) {
    auto t0 = Clock::now();
    std::vector<std::thread> senders;
    for (Target* t : targets) {
        for (std::size_t c = 0; c < t->fds.size(); ++c) {
            senders.emplace_back([&, t, c] {
                std::string buf;
                for (std::size_t i = 0; i < requests.size(); ++i) {
                    if (owners[i] != static_cast<int>(c)) {
                        continue;
                    }
                    const Request& r = requests[i];
                    std::this_thread::sleep_until(t0 + std::chrono::nanoseconds(r.due_ns));
                    std::string head = std::string("POST ") + (r.logs ? "/v1/logs" : "/v1/traces") +
                                       " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
                                       "Content-Length: " +
                                       std::to_string(r.body.size()) + "\r\n\r\n";
                    auto sent = Clock::now();
                    int status = WriteAll(t->fds[c], head) && WriteAll(t->fds[c], r.body)
                                     ? ReadResponse(t->fds[c], buf)
                                     : -1;
                    t->latencies[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
                    (status == 200 ? t->ok : t->failed).fetch_add(1);
                }
                t->cpu_done[c] = ProcCpuSeconds(t->pid);  // each sender its own slot
            });
        }
    }
    for (auto& th : senders) {
        th.join();
    }
    for (Target* t : targets) {
        // The last sender's reading: the CPU time only grows.
        t->cpu_answered = *std::max_element(t->cpu_done.begin(), t->cpu_done.end()) - t->cpu0;
    }
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    std::string collector;
    std::string baseline;
    std::int64_t rate = 400;
    std::chrono::nanoseconds duration = std::chrono::seconds(20);
    std::chrono::nanoseconds delay = std::chrono::seconds(1);
    std::int64_t cpu = -1;
    std::int64_t seed = 1;
    std::int64_t rounds = 1;
    bool json = false;
    flowex::common::Config cfg(
        "flowex-bench-collector-http",
        "Starts the given flowex-collector binary and replays the exchange's span and log export traffic into it "
        "at a fixed rate of orders per second; prints the collector's CPU per span and per order. With --baseline, "
        "starts a second collector too and sends both the same requests at the same moments: this VM's speed "
        "drifts by a factor of two within seconds, and two processes side by side drift together, so their CPU "
        "ratio holds where two runs one after the other do not.");
    cfg.String("collector", "", &collector, "the flowex-collector binary to measure").Required();
    cfg.String("baseline", "", &baseline, "a second collector binary to run side by side (prints the ratio)");
    cfg.Int("rate", "", &rate, "orders per second", 1, 100000);
    cfg.Duration("duration", "", &duration, "how long the replay lasts");
    cfg.Duration("schedule-delay", "", &delay, "a service sends a batch that is not full after this");
    cfg.Int("collector-cpu", "", &cpu, "pin the collectors to this CPU (-1: no pinning)", -1, 1023);
    cfg.Int("seed", "", &seed, "random seed of the generated traffic", 0, INT64_MAX);
    cfg.Int("rounds", "", &rounds,
            "with --baseline: replays, the two collectors started in alternating order (the one "
            "started first measures 1-2 % cheaper); prints each round and the median ratio",
            1, 100);
    cfg.Bool("json", "", &json, "print JSON objects (one a line: each collector, each ratio) instead of the report");
    cfg.ParseOrExit(argc, argv);
    if (rounds > 1 && baseline.empty()) {
        std::fprintf(stderr, "flowex-bench-collector-http: --rounds compares two collectors: give --baseline too\n");
        return 2;
    }
    ::signal(SIGPIPE, SIG_IGN);

    // The traffic, encoded before the clock starts.
    std::int64_t interval = 1'000'000'000 / rate;
    std::int64_t orders = static_cast<std::int64_t>(duration.count() / interval);
    Stream stream(static_cast<std::uint64_t>(seed), interval, delay.count());
    for (std::int64_t i = 0; i < orders; ++i) {
        stream.AddOrder(i);
    }
    std::vector<Request> requests = stream.Finish(orders * interval);
    std::vector<int> owners = stream.Owners();  // the connection of each request
    std::int64_t spans = 0;
    std::int64_t logs = 0;
    std::size_t bytes = 0;
    for (const Request& r : requests) {
        (r.logs ? logs : spans) += r.items;
        bytes += r.body.size();
    }

    std::vector<std::string> binaries = {collector};
    if (!baseline.empty()) {
        binaries.push_back(baseline);
    }
    auto report = [&](Target& t, const char* role, double replay_s) {
        std::vector<double> all;
        for (auto& l : t.latencies) {
            all.insert(all.end(), l.begin(), l.end());
        }
        double per_span_us = t.cpu_work / static_cast<double>(spans) * 1e6;
        double per_order_ms = t.cpu_work / static_cast<double>(orders) * 1e3;
        if (json) {
            std::printf("{\"role\":\"%s\",\"collector\":\"%s\",\"orders\":%lld,\"rate\":%lld,\"spans\":%lld,"
                        "\"logs\":%lld,\"requests\":%zu,\"ok\":%lld,\"failed\":%lld,\"replay_s\":%.3f,"
                        "\"collector_cpu_s\":%.3f,\"collector_cpu_answered_s\":%.3f,\"cpu_us_per_span\":%.3f,"
                        "\"cpu_ms_per_order\":%.4f,\"request_p50_ms\":%.3f,\"request_p99_ms\":%.3f,"
                        "\"max_rss_kib\":%ld}\n",
                        role, t.binary.c_str(), static_cast<long long>(orders), static_cast<long long>(rate),
                        static_cast<long long>(spans), static_cast<long long>(logs), requests.size(),
                        static_cast<long long>(t.ok.load()), static_cast<long long>(t.failed.load()), replay_s,
                        t.cpu_work, t.cpu_answered, per_span_us, per_order_ms, Percentile(all, 0.5),
                        Percentile(all, 0.99), t.max_rss_kib);
            return;
        }
        std::printf("%-9s      %s\n", role, t.binary.c_str());
        std::printf("  answered     %lld 200, %lld other or failed\n", static_cast<long long>(t.ok.load()),
                    static_cast<long long>(t.failed.load()));
        std::printf("  CPU          %.3f s (%.3f s until its last answer; the rest: the last commit and shutdown)\n",
                    t.cpu_work, t.cpu_answered);
        std::printf("  per span     %.2f us CPU (log records included)\n", per_span_us);
        std::printf("  per order    %.4f ms CPU\n", per_order_ms);
        std::printf("  request      p50 %.2f ms, p99 %.2f ms (send to answer)\n", Percentile(all, 0.5),
                    Percentile(all, 0.99));
        std::printf("  peak RSS     %.1f MiB\n", static_cast<double>(t.max_rss_kib) / 1024.0);
    };

    bool all_ok = true;
    std::vector<double> ratios;
    for (std::int64_t round = 0; round < rounds; ++round) {
        // targets[0] is always --collector; odd rounds start (and feed) --baseline first.
        std::vector<std::unique_ptr<Target>> targets;
        for (const std::string& b : binaries) {
            targets.push_back(std::make_unique<Target>());
            targets.back()->binary = b;
        }
        const char* first = round % 2 == 1 ? "baseline" : "collector";
        std::vector<Target*> started;
        for (std::size_t k = 0; k < targets.size(); ++k) {
            Target* t = targets[round % 2 == 1 ? targets.size() - 1 - k : k].get();
            if (!Launch(*t, cpu, kServices * 2, std::to_string(k + 1))) {
                for (Target* s : started) {
                    Stop(*s);
                }
                return 1;
            }
            started.push_back(t);
        }

        std::string round_label;
        if (rounds > 1) {
            round_label = "round " + std::to_string(round + 1) + " of " + std::to_string(rounds) + " (" +
                          first + " started first): ";
        }
        std::fprintf(stderr,
                     "%sreplaying %lld orders at %lld/s: %lld spans and %lld log records in %zu requests (%.1f MB)%s\n",
                     round_label.c_str(), static_cast<long long>(orders), static_cast<long long>(rate),
                     static_cast<long long>(spans), static_cast<long long>(logs), requests.size(),
                     static_cast<double>(bytes) / 1e6, targets.size() > 1 ? ", to both collectors" : "");
        for (Target* t : started) {
            t->cpu0 = ProcCpuSeconds(t->pid);
        }
        double replay_s = Replay(started, requests, owners);
        for (Target* t : started) {
            Stop(*t);
            all_ok = all_ok && t->failed.load() == 0 && t->exited_ok;
        }

        if (!json) {
            if (rounds > 1) {
                std::printf("round %lld of %lld (%s started first)\n", static_cast<long long>(round + 1),
                            static_cast<long long>(rounds), first);
            }
            std::printf("replayed       %lld orders at %lld/s in %.2f s: %lld spans, %lld log records, %zu requests\n",
                        static_cast<long long>(orders), static_cast<long long>(rate), replay_s,
                        static_cast<long long>(spans), static_cast<long long>(logs), requests.size());
        }
        report(*targets[0], "collector", replay_s);
        if (targets.size() > 1) {
            report(*targets[1], "baseline", replay_s);
            double ratio = targets[0]->cpu_work / std::max(1e-9, targets[1]->cpu_work);
            ratios.push_back(ratio);
            if (json) {
                std::printf("{\"role\":\"ratio\",\"round\":%lld,\"started_first\":\"%s\","
                            "\"cpu_collector_over_baseline\":%.4f}\n",
                            static_cast<long long>(round + 1), first, ratio);
            } else {
                std::printf("CPU ratio      %.3f (collector / baseline)\n", ratio);
            }
        }
        std::fflush(stdout);
    }
    if (ratios.size() > 1) {
        std::vector<double> sorted = ratios;
        std::sort(sorted.begin(), sorted.end());
        std::size_t n = sorted.size();
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        if (json) {
            std::printf("{\"role\":\"median\",\"rounds\":%zu,\"cpu_collector_over_baseline\":%.4f}\n", n, median);
        } else {
            std::printf("median ratio   %.3f (collector / baseline) of %zu rounds:", median, n);
            for (double r : ratios) {
                std::printf(" %.3f", r);
            }
            std::printf("\n");
        }
    }
    return all_ok ? 0 : 1;
}
