// Running the stack from the command line: `flowex up | down | status | logs | demo |
// db-stats | psql` (DESIGN §9). `up` and `demo` run the repository's scripts; `status` asks
// the services; `logs` reads the per-service logs that `flowex up` keeps in .flowex/logs;
// `db-stats` runs the brief's two monitoring queries with PostgreSQL 15's column names.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "command.hpp"
#include "flowex/common/config.hpp"
#include "flowex/common/json.hpp"
#include "query_client.hpp"

#ifndef FLOWEX_SOURCE_DIR
#define FLOWEX_SOURCE_DIR "."
#endif

namespace flowex::cli {
namespace {

namespace fs = std::filesystem;

std::string StateDir() {
    if (const char* s = std::getenv("FLOWEX_STATE_DIR")) { return s; }
    return std::string(FLOWEX_SOURCE_DIR) + "/.flowex";
}

std::string DatabaseUrl() {
    if (const char* s = std::getenv("FLOWEX_DATABASE_URL")) { return s; }
    return "postgresql://postgres@127.0.0.1:55432/stockexchange";
}

/// Replaces this process with `argv` (exit code 127 and a message when that fails).
int Exec(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) { argv.push_back(a.data()); }
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "flowex: cannot run %s: %s\n", args[0].c_str(), std::strerror(errno));
    return 127;
}

bool WantsHelp(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") { return true; }
    }
    return false;
}

int RunUp(int argc, char** argv) {
    std::vector<std::string> args{std::string(FLOWEX_SOURCE_DIR) + "/scripts/up"};
    for (int i = 1; i < argc; ++i) { args.emplace_back(argv[i]); }
    return Exec(args);
}

int RunDemo(int argc, char** argv) {
    std::vector<std::string> args{std::string(FLOWEX_SOURCE_DIR) + "/scripts/trace_demo.sh"};
    for (int i = 1; i < argc; ++i) { args.emplace_back(argv[i]); }
    return Exec(args);
}

int RunDown(int argc, char** argv) {
    if (WantsHelp(argc, argv)) {
        std::printf("usage: flowex down\n\nStops a running `flowex up` / `make up` (as Ctrl-C would).\n");
        return 0;
    }
    const std::string pid_file = StateDir() + "/up.pid";
    std::ifstream in(pid_file);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) {
        std::fprintf(stderr, "flowex down: nothing to stop (no %s)\n", pid_file.c_str());
        return 1;
    }
    if (::kill(static_cast<pid_t>(pid), SIGINT) != 0) {
        std::fprintf(stderr, "flowex down: process %ld is not running\n", pid);
        return 1;
    }
    for (int i = 0; i < 300 && ::kill(static_cast<pid_t>(pid), 0) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (::kill(static_cast<pid_t>(pid), 0) == 0) {
        std::fprintf(stderr, "flowex down: %ld is still stopping\n", pid);
        return 1;
    }
    std::printf("flowex stopped\n");
    return 0;
}

// Prometheus's alerts (deploy/prometheus/alerts.yml), firing ones first. Prometheus is
// optional (FLOWEX_PROMETHEUS_PORT=0): not answering is said, not counted as a failure.
void ShowAlerts(const std::string& url) {
    auto r = HttpGet(url, "/api/v1/alerts", std::chrono::seconds(5));
    if (!r || r->status != 200) {
        std::printf("%-20s not answering at %s (%s): no alerts to show\n", "prometheus",
                    url.c_str(),
                    r ? ("HTTP " + std::to_string(r->status)).c_str() : r.error().message.c_str());
        return;
    }
    auto doc = common::ParseJson(r->body);
    const common::JsonValue* data = doc ? doc->Find("data") : nullptr;
    const common::JsonValue* alerts = data ? data->Find("alerts") : nullptr;
    if (alerts == nullptr || !alerts->is_array()) {
        std::printf("%-20s answered no alert list\n", "prometheus");
        return;
    }
    auto text = [](const common::JsonValue* v) {
        return v != nullptr && v->is_string() ? v->as_string() : std::string();
    };
    std::vector<std::string> firing;
    std::vector<std::string> pending;
    for (const auto& a : alerts->as_array()) {
        const common::JsonValue* labels = a.Find("labels");
        if (labels == nullptr) { continue; }
        std::string who = text(labels->Find("service"));
        if (who.empty()) { who = text(labels->Find("job")); }
        std::string line = text(labels->Find("alertname")) + " " + who;
        if (const std::string op = text(labels->Find("operation")); !op.empty()) {
            line += " " + op;
        }
        line += " (" + text(labels->Find("severity")) + ")";
        (text(a.Find("state")) == "firing" ? firing : pending).push_back(std::move(line));
    }
    std::printf(
        "%-20s ok, %zu alert%s firing%s\n", "prometheus", firing.size(),
        firing.size() == 1 ? "" : "s",
        pending.empty() ? "" : (", " + std::to_string(pending.size()) + " pending").c_str());
    for (const auto& l : firing) { std::printf("  firing  %s\n", l.c_str()); }
    for (const auto& l : pending) { std::printf("  pending %s\n", l.c_str()); }
}

int RunStatus(int argc, char** argv) {
    std::string gateway = "http://127.0.0.1:8347";
    std::string query = "http://127.0.0.1:16686";
    std::string prometheus = "http://127.0.0.1:9090";
    common::Config cfg("flowex status",
                       "Health of the gateway (and through it every service, "
                       "PostgreSQL and Redis), of the collector, and the alerts "
                       "Prometheus has firing.");
    cfg.String("gateway-url", "FLOWEX_GATEWAY_URL", &gateway, "client-gateway base URL");
    cfg.String("query-url", "FLOWEX_QUERY_URL", &query, "flowex-collector query URL");
    cfg.String("prometheus-url", "FLOWEX_PROMETHEUS_URL", &prometheus,
               "Prometheus base URL (empty: do not ask)");
    cfg.ParseOrExit(argc, argv);
    bool ok = true;
    auto show = [&](const std::string& name, const std::string& url) {
        auto r = HttpGet(url, "/health", std::chrono::seconds(5));
        if (!r || r->status != 200) {
            std::printf("%-20s down (%s)\n", name.c_str(),
                        r ? ("HTTP " + std::to_string(r->status)).c_str() : r.error().message.c_str());
            ok = false;
            return;
        }
        auto doc = common::ParseJson(r->body);
        if (!doc || !doc->is_object()) {
            std::printf("%-20s answered %s\n", name.c_str(), r->body.c_str());
            return;
        }
        const common::JsonValue* status = doc->Find("status");
        std::printf("%-20s %s\n", name.c_str(), status && status->is_string() ? status->as_string().c_str() : "ok");
        if (status && status->is_string() && status->as_string() != "ok") { ok = false; }
        if (const auto* services = doc->Find("services"); services && services->is_object()) {
            for (const auto& [svc, state] : services->as_object()) {
                std::printf("  %-18s %s\n", svc.c_str(), state.is_string() ? state.as_string().c_str() : "?");
            }
        }
        for (const char* dep : {"postgres", "redis"}) {
            if (const auto* v = doc->Find(dep); v && v->is_string()) {
                std::printf("  %-18s %s\n", dep, v->as_string().c_str());
            }
        }
        if (const auto* e = doc->Find("store_error"); e && e->is_string()) {  // the collector's
            std::printf("  %-18s %s\n", "store", e->as_string().c_str());
        }
    };
    show("client-gateway", gateway);
    show("flowex-collector", query);
    if (!prometheus.empty()) { ShowAlerts(prometheus); }
    return ok ? 0 : 1;
}

int RunLogs(int argc, char** argv) {
    bool follow = false;
    std::int64_t lines = 50;
    std::vector<std::string> services;
    common::Config cfg("flowex logs", "The services' logs as `flowex up` keeps them, prefixed by "
                                      "service like docker-compose (the brief's method 2).");
    cfg.Bool("follow", "", &follow, "keep printing new lines (also -f)");
    cfg.Int("lines", "", &lines, "lines to show from each log first", 0, 100000);
    cfg.Positional("[service…]", &services);
    std::vector<char*> args(argv, argv + argc);
    for (auto& a : args) {
        if (std::string_view(a) == "-f") { a = const_cast<char*>("--follow"); }
    }
    cfg.ParseOrExit(static_cast<int>(args.size()), args.data());
    const fs::path dir = StateDir() + "/logs";
    if (services.empty()) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec)) {
            if (e.path().extension() == ".log" && e.path().stem() != "initdb") {
                services.push_back(e.path().stem().string());
            }
        }
        std::sort(services.begin(), services.end());
    }
    if (services.empty()) {
        std::fprintf(stderr, "flowex logs: no logs in %s (is `flowex up` running?)\n", dir.c_str());
        return 1;
    }
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    static constexpr int kColours[] = {36, 35, 33, 32, 34, 31, 96, 95};
    struct Source {
        std::string name;
        std::ifstream in;
        std::string prefix;
    };
    std::vector<Source> sources;
    for (std::size_t i = 0; i < services.size(); ++i) {
        Source s;
        s.name = services[i];
        s.in.open(dir / (s.name + ".log"));
        if (!s.in) {
            std::fprintf(stderr, "flowex logs: no log for '%s' in %s\n", s.name.c_str(), dir.c_str());
            return 1;
        }
        char buf[64];
        std::snprintf(buf, sizeof buf, "%-18s|", s.name.c_str());
        s.prefix = tty ? "\033[" + std::to_string(kColours[i % 8]) + "m" + buf + "\033[0m" : buf;
        // The last `lines` lines of each file.
        std::vector<std::string> tail;
        std::string line;
        while (std::getline(s.in, line)) {
            tail.push_back(line);
            if (tail.size() > static_cast<std::size_t>(lines)) { tail.erase(tail.begin()); }
        }
        for (const auto& l : tail) { std::printf("%s %s\n", s.prefix.c_str(), l.c_str()); }
        s.in.clear();
        sources.push_back(std::move(s));
    }
    std::fflush(stdout);
    while (follow) {
        bool any = false;
        for (auto& s : sources) {
            std::string line;
            while (std::getline(s.in, line)) {
                std::printf("%s %s\n", s.prefix.c_str(), line.c_str());
                any = true;
            }
            s.in.clear();
        }
        if (any) { std::fflush(stdout); }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return 0;
}

// The brief's queries use pre-PostgreSQL-13 names: total_time/mean_time are now
// total_exec_time/mean_exec_time, and pg_stat_user_tables has relname, not tablename.
constexpr const char* kTopStatements =
    "SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query, calls, "
    "round(total_exec_time::numeric, 2) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms "
    "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "ORDER BY total_exec_time DESC LIMIT 10;";
constexpr const char* kTableActivity =
    "SELECT schemaname, relname AS tablename, n_tup_ins, n_tup_upd, n_tup_del "
    "FROM pg_stat_user_tables ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC;";

int RunDbStats(int argc, char** argv) {
    bool reset = false;
    std::string url = DatabaseUrl();
    common::Config cfg("flowex db-stats",
                       "The brief's database monitoring queries (method 3), with PostgreSQL 15's "
                       "names: top statements from pg_stat_statements (total_exec_time, "
                       "mean_exec_time) and table activity from pg_stat_user_tables (relname).");
    cfg.String("database-url", "FLOWEX_DATABASE_URL", &url, "PostgreSQL URL").Secret();
    cfg.Bool("reset", "", &reset, "run SELECT pg_stat_statements_reset() first");
    cfg.ParseOrExit(argc, argv);
    std::vector<std::string> args{"psql", url, "-X", "-q", "-P", "pager=off"};
    if (reset) { args.insert(args.end(), {"-c", "SELECT pg_stat_statements_reset();"}); }
    args.insert(args.end(), {"-c", "\\echo 'Top statements (pg_stat_statements)'", "-c", kTopStatements,
                             "-c", "\\echo 'Table activity (pg_stat_user_tables)'", "-c", kTableActivity});
    return Exec(args);
}

int RunPsql(int argc, char** argv) {
    if (WantsHelp(argc, argv)) {
        std::printf("usage: flowex psql [psql arguments…]\n\npsql on the stockexchange database "
                    "(FLOWEX_DATABASE_URL, default postgresql://postgres@127.0.0.1:55432/stockexchange).\n");
        return 0;
    }
    std::vector<std::string> args{"psql", DatabaseUrl()};
    for (int i = 1; i < argc; ++i) { args.emplace_back(argv[i]); }
    return Exec(args);
}

}  // namespace

#ifndef FLOWEX_CLI_NO_REGISTER
FLOWEX_COMMAND("up", "start PostgreSQL, Redis, the collector, the six services and Prometheus (Ctrl-C stops all)", RunUp);
FLOWEX_COMMAND("down", "stop a running `flowex up`", RunDown);
FLOWEX_COMMAND("status",
               "health of every service, PostgreSQL, Redis and the collector; alerts firing",
               RunStatus);
FLOWEX_COMMAND("logs", "the services' logs, prefixed: flowex logs [-f] [service…]", RunLogs);
FLOWEX_COMMAND("demo", "run ./trace_demo.sh against the running stack", RunDemo);
FLOWEX_COMMAND("db-stats", "top SQL statements and table activity (pg_stat_statements)", RunDbStats);
FLOWEX_COMMAND("psql", "psql on the stockexchange database", RunPsql);
#endif

}  // namespace flowex::cli
