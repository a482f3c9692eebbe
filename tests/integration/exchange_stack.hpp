#pragma once
/// The whole exchange for integration tests: the six services (and optionally the
/// collector) as real child processes on free ports of 127.0.0.1, against a fresh database
/// on the test PostgreSQL and the test Redis (CTest fixture `dbs`). Plus a small blocking
/// HTTP client for the test body.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flowex/common/json.hpp"
#include "flowex/common/result.hpp"
#include "flowex/testing/child_process.hpp"
#include "flowex/testing/test_env.hpp"

namespace flowex::itest {

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;

    /// The body as JSON (aborts the test on malformed JSON via ADD_FAILURE and returns null).
    common::JsonValue Json() const;
    std::string Header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? "" : it->second;
    }
};

/// One blocking HTTP/1.1 request (a fresh connection). `content_type` empty: no header, as
/// the brief's curl lines send none.
common::Result<HttpResult> Http(const std::string& method, const std::string& url,
                                const std::string& body = {},
                                std::vector<std::pair<std::string, std::string>> headers = {},
                                const std::string& content_type = {});

/// The value of an unlabelled sample (`name value`) in a Prometheus text page; NaN when absent.
double PrometheusSample(const std::string& page, const std::string& name);

struct StackOptions {
    bool with_collector = false;
    /// Extra environment for every service (e.g. OTEL_BSP_SCHEDULE_DELAY=100).
    std::vector<std::pair<std::string, std::string>> env;
    bool echo_output = false;
};

class ExchangeStack {
public:
    /// Creates a database named after `suite` and starts everything; kInternal with the
    /// failing process's output when something does not come up.
    static common::Result<std::unique_ptr<ExchangeStack>> Start(const std::string& suite,
                                                               StackOptions options = {});
    ~ExchangeStack();

    const std::string& gateway() const { return urls_.at("client-gateway"); }
    const std::string& url(const std::string& service) const { return urls_.at(service); }
    const std::string& query_url() const { return urls_.at("query"); }
    const std::string& internal_token() const { return token_; }
    testing::TestDatabase& db() { return *db_; }
    testing::ChildProcess& process(const std::string& service) { return *procs_.at(service); }

    /// Stops one service (SIGKILL when `hard`) and starts it again on the same port;
    /// waits until it prints its listening line.
    common::Status Restart(const std::string& service, bool hard);
    /// All captured output, for failure messages.
    std::string Output() const;

    // Convenience for tests: register + login, returning the token.
    common::Result<std::string> NewUser(const std::string& username,
                                        const std::string& password = "correct-horse-42");
    common::Result<std::int64_t> UserId(const std::string& token);

private:
    ExchangeStack() = default;
    common::Status StartService(const std::string& name, const std::string& listen);

    std::unique_ptr<testing::TestDatabase> db_;
    std::string redis_url_;
    std::string token_;
    std::string data_dir_;
    StackOptions options_;
    std::vector<std::string> order_;
    std::map<std::string, std::unique_ptr<testing::ChildProcess>> procs_;
    std::map<std::string, std::string> urls_;
    std::map<std::string, std::string> listen_;
};

}  // namespace flowex::itest
