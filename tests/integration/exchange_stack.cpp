#include "exchange_stack.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include "flowex/common/ids.hpp"
#include "flowex/http/client.hpp"

namespace flowex::itest {

common::JsonValue HttpResult::Json() const {
    auto doc = common::ParseJson(body);
    if (!doc) {
        ADD_FAILURE() << "response is not JSON (" << status << "): " << body;
        return common::JsonValue();
    }
    return std::move(doc).value();
}

common::Result<HttpResult> Http(const std::string& method, const std::string& url,
                                const std::string& body,
                                std::vector<std::pair<std::string, std::string>> headers,
                                const std::string& content_type) {
    auto scheme_end = url.find("://");
    auto path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
    std::string base = path_start == std::string::npos ? url : url.substr(0, path_start);
    std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);

    boost::asio::io_context io;
    auto client = http::Client::Create(
        io.get_executor(), http::ClientOptions{.base_url = base, .timeout = std::chrono::seconds(30)});
    if (!client) { return std::move(client).error(); }
    http::ClientRequest req;
    req.method = http::MethodFromString(method);
    req.target = target;
    req.body = body;
    req.content_type = content_type;
    for (auto& [k, v] : headers) { req.headers.Add(k, v); }
    common::Result<http::ClientResponse> result =
        common::Error{common::ErrorCode::kInternal, "not run"};
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
            result = co_await (*client)->Call(std::move(req), common::TraceContext{});
        },
        boost::asio::detached);
    io.run();
    if (!result) { return std::move(result).error(); }
    HttpResult out;
    out.status = result->status;
    out.body = std::move(result->body);
    for (const auto& [k, v] : result->headers) {
        std::string lower = k;
        for (char& c : lower) { c = static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }
        out.headers[lower] = v;
    }
    return out;
}

namespace {

std::string RandomHex(std::size_t bytes) {
    std::random_device rd;
    std::string out;
    static constexpr char kHex[] = "0123456789abcdef";
    for (std::size_t i = 0; i < bytes; ++i) {
        unsigned v = rd() & 0xFF;
        out.push_back(kHex[v >> 4]);
        out.push_back(kHex[v & 0xF]);
    }
    return out;
}

}  // namespace

common::Result<std::unique_ptr<ExchangeStack>> ExchangeStack::Start(const std::string& suite,
                                                                   StackOptions options) {
    auto env = testing::TestEnv();
    if (!env) { return std::move(env).error(); }
    auto db = testing::TestDatabase::Create(suite);
    if (!db) { return std::move(db).error(); }
    std::unique_ptr<ExchangeStack> s(new ExchangeStack());
    s->db_ = std::make_unique<testing::TestDatabase>(std::move(db).value());
    s->redis_url_ = env->redis_url;
    s->token_ = RandomHex(24);
    s->options_ = std::move(options);
    char tmpl[] = "/tmp/flowex-stack-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        return common::Error{common::ErrorCode::kInternal, "mkdtemp failed"};
    }
    s->data_dir_ = tmpl;

    if (s->options_.with_collector) {
        if (auto st = s->StartService("flowex-collector", "127.0.0.1:0"); !st) {
            return std::move(st).error();
        }
    }
    for (const char* name : {"wallet-service", "risk-manager", "user-service",
                             "reporting-service", "order-manager", "client-gateway"}) {
        if (auto st = s->StartService(name, "127.0.0.1:0"); !st) { return std::move(st).error(); }
    }
    // order-manager answers 503 until its books are rebuilt: wait for "books":"ok".
    for (int i = 0; i < 600; ++i) {
        auto h = Http("GET", s->url("order-manager") + "/health");
        if (h && h->body.find("\"books\":\"ok\"") != std::string::npos) { return s; }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return common::Error{common::ErrorCode::kInternal,
                         "order-manager did not become ready:\n" + s->Output()};
}

common::Status ExchangeStack::StartService(const std::string& name, const std::string& listen) {
    testing::ChildOptions o;
    o.argv = {std::string(FLOWEX_BIN_DIR) + "/" + name};
    o.echo = options_.echo_output || std::getenv("FLOWEX_TEST_ECHO") != nullptr;
    o.env = {{"FLOWEX_DATABASE_URL", db_->url()},
             {"FLOWEX_REDIS_URL", redis_url_},
             {"FLOWEX_INTERNAL_TOKEN", token_},
             {"FLOWEX_HASH_THREADS", "1"},
             // Suites share the test Redis; user ids repeat across their databases.
             {"FLOWEX_REDIS_PREFIX", db_->name() + ":"},
             {"OTEL_SERVICE_NAME", name}};
    if (name == "flowex-collector") {
        o.argv.insert(o.argv.end(), {"--otlp-http-addr", "127.0.0.1:0", "--query-addr",
                                     "127.0.0.1:0", "--data-dir", data_dir_ + "/collector"});
    } else {
        o.argv.insert(o.argv.end(), {"--listen", listen});
    }
    if (urls_.count("otlp") != 0) {
        o.env.emplace_back("OTEL_EXPORTER_OTLP_ENDPOINT", urls_.at("otlp"));
        o.env.emplace_back("OTEL_BSP_SCHEDULE_DELAY", "100");
    } else {
        o.env.emplace_back("OTEL_TRACES_EXPORTER", "none");
        o.env.emplace_back("OTEL_LOGS_EXPORTER", "none");
    }
    for (const auto& [svc, var] : std::vector<std::pair<std::string, std::string>>{
             {"user-service", "FLOWEX_USER_SERVICE_URL"},
             {"order-manager", "FLOWEX_ORDER_MANAGER_URL"},
             {"risk-manager", "FLOWEX_RISK_MANAGER_URL"},
             {"wallet-service", "FLOWEX_WALLET_SERVICE_URL"},
             {"reporting-service", "FLOWEX_REPORTING_SERVICE_URL"}}) {
        if (urls_.count(svc) != 0) { o.env.emplace_back(var, urls_.at(svc)); }
    }
    for (const auto& kv : options_.env) { o.env.push_back(kv); }

    auto child = testing::ChildProcess::Start(o);
    if (!child) { return std::move(child).error(); }
    if (name == "flowex-collector") {
        // Two listeners: OTLP first, then the query API (one "listening on" line each).
        std::vector<std::string> addrs;
        for (int i = 0; i < 2; ++i) {
            auto line = (*child)->WaitForLine(
                [&](const std::string& l) {
                    return l.find("listening on") != std::string::npos &&
                           std::find(addrs.begin(), addrs.end(), l) == addrs.end();
                },
                std::chrono::seconds(30));
            if (!line) {
                return common::Error{common::ErrorCode::kInternal,
                                     name + " did not start:\n" + (*child)->Output()};
            }
            addrs.push_back(*line);
        }
        // flowex-collector starts the OTLP listener first, then the query API.
        auto addr_of = [](const std::string& l) { return l.substr(l.rfind(' ') + 1); };
        urls_["otlp"] = "http://" + addr_of(addrs[0]);
        urls_["query"] = "http://" + addr_of(addrs[1]);
    } else {
        auto addr = (*child)->WaitForListening(std::chrono::seconds(60));
        if (!addr) {
            return common::Error{common::ErrorCode::kInternal,
                                 name + " did not start: " + addr.error().message + "\n" +
                                     (*child)->Output()};
        }
        urls_[name] = "http://" + addr->ToString();
        listen_[name] = addr->ToString();
    }
    if (std::find(order_.begin(), order_.end(), name) == order_.end()) { order_.push_back(name); }
    procs_[name] = std::move(child).value();
    return common::Ok();
}

common::Status ExchangeStack::Restart(const std::string& service, bool hard) {
    auto it = procs_.find(service);
    if (it == procs_.end()) { return common::Error{common::ErrorCode::kNotFound, service}; }
    if (hard) {
        it->second->Signal(SIGKILL);
        (void)it->second->Wait(std::chrono::seconds(10));
    } else {
        it->second->Stop();
    }
    procs_.erase(it);
    return StartService(service, listen_.at(service));
}

std::string ExchangeStack::Output() const {
    std::string out;
    for (const auto& name : order_) {
        auto it = procs_.find(name);
        if (it == procs_.end()) { continue; }
        out += "---- " + name + " ----\n" + it->second->Output();
    }
    return out;
}

ExchangeStack::~ExchangeStack() {
    // Stop in reverse start order (gateway first), then drop the database.
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
        if (auto p = procs_.find(*it); p != procs_.end()) { p->second->Stop(); }
    }
    procs_.clear();
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
}

common::Result<std::string> ExchangeStack::NewUser(const std::string& username,
                                                   const std::string& password) {
    const std::string creds =
        R"({"username":")" + username + R"(","password":")" + password + R"("})";
    auto reg = Http("POST", gateway() + "/auth/register", creds);
    if (!reg) { return std::move(reg).error(); }
    if (reg->status != 201) {
        return common::Error{common::ErrorCode::kInternal,
                             "register " + username + ": " + std::to_string(reg->status) + " " + reg->body};
    }
    auto login = Http("POST", gateway() + "/auth/login", creds);
    if (!login) { return std::move(login).error(); }
    if (login->status != 200) {
        return common::Error{common::ErrorCode::kInternal, "login: " + login->body};
    }
    auto doc = common::ParseJson(login->body);
    if (!doc || doc->Find("access_token") == nullptr) {
        return common::Error{common::ErrorCode::kInternal, "login body: " + login->body};
    }
    return doc->Find("access_token")->as_string();
}

common::Result<std::int64_t> ExchangeStack::UserId(const std::string& token) {
    auto me = Http("GET", gateway() + "/v1/me", {}, {{"Authorization", "Bearer " + token}});
    if (!me) { return std::move(me).error(); }
    auto doc = common::ParseJson(me->body);
    if (!doc || doc->Find("user_id") == nullptr) {
        return common::Error{common::ErrorCode::kInternal, "me: " + me->body};
    }
    return doc->Find("user_id")->ToInt64().value_or(0);
}

double PrometheusSample(const std::string& page, const std::string& name) {
    std::istringstream in(page);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(name + " ", 0) == 0) { return std::stod(line.substr(name.size() + 1)); }
    }
    return std::nan("");
}

}  // namespace flowex::itest
