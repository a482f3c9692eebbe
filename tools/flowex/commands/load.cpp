// `flowex load`: an open-loop load generator for the public API (issue #9).
//
// Arrival i is due at start + i/rate whatever happened before it; its latency is measured
// from that intended time, not from when a connection became free, so a stall of the
// exchange shows up as latency of every request it delayed (no coordinated omission, as in
// wrk2). One thread, asio coroutines: a dispatcher puts due arrivals on a queue and
// `--connections` workers, each holding one keep-alive connection of the pool, take them.
// Users are registered, logged in, funded and granted shares before the clock starts.
//
// Each user's resting orders are tracked so that cancels name real orders and the book stays
// bounded. When an order's answer is lost (no response, or a 5xx that may have come after the
// order was placed), a cancel comes too late (the order filled: others likely did too), or the
// exchange refuses an order at its open-order limit, the user's next arrival lists its open
// orders instead (GET /v1/orders?status=open, route "resync"), as a trader would; at the
// limit, the open-order count it finds becomes every user's cap. So cancels keep hitting
// resting orders, and past saturation the mix stays what was asked for instead of turning
// into refusals.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "command.hpp"
#include "flowex/common/config.hpp"
#include "flowex/common/json.hpp"
#include "flowex/http/client.hpp"
#include "load/histogram.hpp"
#include "load/mix.hpp"

namespace flowex::cli {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using load::Histogram;
using load::Op;

struct Options {
    std::string gateway_url = "http://127.0.0.1:8347";
    std::string wallet_url = "http://127.0.0.1:8104";
    std::string internal_token;
    std::int64_t rate = 500;
    std::chrono::nanoseconds duration = std::chrono::seconds(10);
    std::int64_t users = 50;
    std::string mix = "limit=60,market=10,cancel=15,positions=10,balance=5";
    std::int64_t connections = 64;
    std::int64_t setup_concurrency = 16;
    std::chrono::nanoseconds timeout = std::chrono::seconds(10);
    std::string histogram_path;
    std::string start_file;  // empty: start once the users are ready
    std::string symbols;     // as given: empty means every listed symbol
    std::vector<std::string> symbol_list;  // its names, split at commas and trimmed
    std::int64_t crossing_percent = 40;
    std::int64_t seed = 1;
    bool json = false;
    bool quiet = false;
};

struct Symbol {
    std::string name;
    std::int64_t mid_cents = 0;
    std::int64_t tick_cents = 1;
    std::int64_t low_cents = 0;   // price band (0: unknown)
    std::int64_t high_cents = 0;
};

struct User {
    std::string name;
    std::string authorization;  // "Bearer …"
    std::int64_t id = 0;
    std::vector<std::string> open_orders;  // resting orders this run placed, newest last
    bool resync = false;                   // open_orders may be missing orders: list them next
    bool resyncing = false;                // a listing is in flight
    bool at_limit = false;  // the listing was caused by the open-order limit: learn the cap
};

/// One arrival: what to do and when it was due.
struct Job {
    std::uint64_t seq = 0;
    Op op = Op::kLimit;
    std::uint32_t user = 0;
    Clock::time_point intended{};
    bool stop = false;
};

struct RouteStats {
    Histogram latency;  // µs from the intended send time, every completed request
    std::uint64_t count = 0;
    std::uint64_t errors = 0;
};

/// A resting limit of a user with this many known open orders becomes a cancel, so the
/// risk-manager's open-order limit (200 per user by default) is never what we measure. A
/// lower limit is learnt from the first refusal (LoadRun::open_order_cap_).
constexpr std::size_t kMaxOpenOrdersPerUser = 150;
constexpr std::uint32_t kStopUser = UINT32_MAX;

std::string Dollars(std::int64_t cents) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                  static_cast<long long>(cents % 100));
    return buf;
}

std::optional<std::int64_t> CentsOf(const common::JsonValue* v) {
    if (v == nullptr || !v->is_number()) { return std::nullopt; }
    auto d = v->ToDouble();
    if (!d) { return std::nullopt; }
    return static_cast<std::int64_t>(std::llround(*d * 100.0));
}

/// An error answer's `error.code` ("-" when there is none) and its `error.reasons`.
struct ErrorBody {
    std::string code = "-";
    std::vector<std::string> reasons;

    bool Has(std::string_view reason) const {
        return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
    }
    /// "risk_rejected (open_order_limit, max_notional)", or the code alone.
    std::string Label() const {
        std::string label = code;
        for (std::size_t i = 0; i < reasons.size(); ++i) {
            label += (i == 0 ? " (" : ", ") + reasons[i];
        }
        return reasons.empty() ? label : label + ")";
    }
};

ErrorBody ErrorOf(const std::string& body) {
    ErrorBody out;
    auto doc = common::ParseJson(body);
    const auto* error = doc ? doc->Find("error") : nullptr;
    if (error == nullptr) { return out; }
    if (const auto* code = error->Find("code"); code != nullptr && code->is_string()) {
        out.code = code->as_string();
    }
    if (const auto* reasons = error->Find("reasons"); reasons != nullptr && reasons->is_array()) {
        for (const auto& r : reasons->as_array()) {
            if (r.is_string()) { out.reasons.push_back(r.as_string()); }
        }
    }
    return out;
}

/// Whether the exchange may have acted on a request this answer does not confirm: a 5xx
/// other than the gateway's shedding (503 with Retry-After, refused before anything ran).
bool MayHaveActed(const http::ClientResponse& r) {
    return r.status >= 500 && !(r.status == 503 && r.headers.Has("Retry-After"));
}

double Ms(std::uint64_t micros) { return static_cast<double>(micros) / 1000.0; }

class LoadRun {
public:
    LoadRun(asio::io_context& ioc, Options options, load::Mix mix)
        : ioc_(ioc),
          options_(std::move(options)),
          mix_(mix),
          rng_(static_cast<std::uint64_t>(options_.seed)),
          jobs_(ioc.get_executor(), 1 << 16),
          progress_timer_(ioc) {}

    /// Exit code: 0 after a run (errors are in the report), 1 when preparing the users
    /// failed, 2 when the gateway or wallet-service cannot be reached or a URL is bad.
    int Run();

private:
    asio::awaitable<common::Result<http::ClientResponse>> Send(http::Client& client,
                                                               http::Method method,
                                                               std::string target,
                                                               std::string body,
                                                               http::Headers headers,
                                                               std::chrono::nanoseconds timeout =
                                                                   std::chrono::nanoseconds(0));
    asio::awaitable<void> Prepare();
    asio::awaitable<void> PrepareUsers();
    asio::awaitable<bool> PrepareUser(User& user, std::size_t index);
    asio::awaitable<void> Dispatch();
    asio::awaitable<void> Worker();
    asio::awaitable<void> Execute(Job job);
    asio::awaitable<void> Resync(Job job, User& user);
    void RecordLatency(RouteStats& route, Clock::time_point intended, Clock::time_point done);
    asio::awaitable<void> Progress();
    void Fail(int code, std::string message);
    std::string OrderBody(Op op, bool resting);
    void Report();

    asio::io_context& ioc_;
    Options options_;
    load::Mix mix_;
    std::mt19937_64 rng_;
    std::unique_ptr<http::Client> gateway_;
    std::unique_ptr<http::Client> wallet_;
    asio::experimental::channel<void(boost::system::error_code, Job)> jobs_;
    asio::steady_timer progress_timer_;

    std::vector<Symbol> symbols_;
    std::vector<User> users_;
    std::string run_id_;
    std::size_t next_user_ = 0;
    int exit_code_ = 0;
    std::string failure_;

    Clock::time_point start_{};
    Clock::time_point last_completion_{};
    std::uint64_t scheduled_ = 0;
    std::uint64_t sent_ = 0;
    std::uint64_t completed_ = 0;
    std::uint64_t errors_ = 0;
    std::uint64_t cancel_too_late_ = 0;
    std::uint64_t cancel_fallbacks_ = 0;
    std::uint64_t limits_to_cancels_ = 0;
    std::uint64_t resyncs_ = 0;
    std::size_t open_order_cap_ = kMaxOpenOrdersPerUser;
    std::uint64_t max_queue_delay_us_ = 0;
    std::size_t live_workers_ = 0;
    bool load_done_ = false;
    std::array<RouteStats, load::kOpCount> routes_;
    RouteStats resync_route_;  // GET /v1/orders?status=open, in place of a user's arrival
    Histogram all_;
    Histogram interval_;
    std::map<std::string, std::uint64_t> errors_by_code_;
};

void LoadRun::Fail(int code, std::string message) {
    if (exit_code_ == 0) {
        exit_code_ = code;
        failure_ = std::move(message);
    }
}

asio::awaitable<common::Result<http::ClientResponse>> LoadRun::Send(
    http::Client& client, http::Method method, std::string target, std::string body,
    http::Headers headers, std::chrono::nanoseconds timeout) {
    http::ClientRequest request;
    request.timeout = timeout;
    request.method = method;
    request.target = std::move(target);
    request.body = std::move(body);
    request.headers = std::move(headers);
    const common::TraceContext no_parent;
    auto r = co_await client.Call(std::move(request), no_parent);
    co_return r;
}

asio::awaitable<bool> LoadRun::PrepareUser(User& user, std::size_t index) {
    const std::string password = "load-password-" + run_id_;
    std::string credentials = "{\"username\":\"" + user.name + "\",\"password\":\"" + password + "\"}";
    http::Headers none;
    auto reg = co_await Send(*gateway_, http::Method::kPost, "/auth/register", credentials, none);
    if (!reg) {
        Fail(2, "cannot reach the gateway at " + options_.gateway_url + ": " + reg.error().message);
        co_return false;
    }
    if (reg->status != 201) {
        Fail(1, "registering " + user.name + ": HTTP " + std::to_string(reg->status) + " " + reg->body);
        co_return false;
    }
    auto login = co_await Send(*gateway_, http::Method::kPost, "/auth/login", credentials, none);
    if (!login || login->status != 200) {
        Fail(1, "logging in " + user.name + ": " +
                    (login ? "HTTP " + std::to_string(login->status) + " " + login->body
                           : login.error().message));
        co_return false;
    }
    auto doc = common::ParseJson(login->body);
    const auto* token = doc ? doc->Find("access_token") : nullptr;
    if (token == nullptr || !token->is_string()) {
        Fail(1, "logging in " + user.name + ": no access_token in " + login->body);
        co_return false;
    }
    user.authorization = "Bearer " + token->as_string();
    http::Headers auth;
    auth.Set("Authorization", user.authorization);

    auto me = co_await Send(*gateway_, http::Method::kGet, "/v1/me", "", auth);
    std::optional<std::int64_t> id;
    if (me && me->status == 200) {
        auto me_doc = common::ParseJson(me->body);
        const auto* v = me_doc ? me_doc->Find("user_id") : nullptr;
        if (v != nullptr) { id = v->ToInt64(); }
    }
    if (!id) {
        Fail(1, "reading /v1/me of " + user.name);
        co_return false;
    }
    user.id = *id;

    http::Headers funding = auth;
    funding.Set("Idempotency-Key", "load-" + run_id_ + "-funds-" + std::to_string(index));
    auto funds = co_await Send(*gateway_, http::Method::kPost, "/wallet/add-funds",
                               "{\"amount\": 5000000}", funding);
    if (!funds || (funds->status != 200 && funds->status != 201)) {
        Fail(1, "funding " + user.name + ": " +
                    (funds ? "HTTP " + std::to_string(funds->status) + " " + funds->body
                           : funds.error().message));
        co_return false;
    }
    http::Headers internal;
    internal.Set("X-Internal-Token", options_.internal_token);
    for (const auto& s : symbols_) {
        std::string body = "{\"user_id\":" + std::to_string(user.id) + ",\"symbol\":\"" + s.name +
                           "\",\"quantity\":1000000,\"request_id\":\"load-" + run_id_ + "-grant-" +
                           std::to_string(index) + "-" + s.name + "\"}";
        auto grant = co_await Send(*wallet_, http::Method::kPost, "/admin/grant-shares",
                                   std::move(body), internal);
        if (!grant) {
            Fail(2, "cannot reach wallet-service at " + options_.wallet_url + " (--wallet-url): " +
                        grant.error().message);
            co_return false;
        }
        if (grant->status != 200 && grant->status != 201) {
            Fail(1, "granting " + s.name + " shares to " + user.name + ": HTTP " +
                        std::to_string(grant->status) + " " + grant->body +
                        (grant->status == 403 ? " (check --internal-token)" : ""));
            co_return false;
        }
    }
    co_return true;
}

asio::awaitable<void> LoadRun::PrepareUsers() {
    while (exit_code_ == 0 && next_user_ < users_.size()) {
        const std::size_t index = next_user_++;
        const bool ok = co_await PrepareUser(users_[index], index);
        if (!ok) { co_return; }
    }
}

asio::awaitable<void> LoadRun::Prepare() {
    // The first user also proves the gateway is there; then the symbols; then the rest of
    // the users a few at a time (registration hashes a password: not free).
    users_.resize(static_cast<std::size_t>(options_.users));
    for (std::size_t i = 0; i < users_.size(); ++i) {
        users_[i].name = "load_" + run_id_ + "_" + std::to_string(i);
    }
    symbols_.clear();
    {
        http::Headers none;
        auto r = co_await Send(*gateway_, http::Method::kGet, "/v1/symbols", "", none);
        if (!r) {
            Fail(2, "cannot reach the gateway at " + options_.gateway_url + ": " + r.error().message);
            co_return;
        }
        if (r->status != 200) {
            Fail(1, "GET /v1/symbols: HTTP " + std::to_string(r->status) + " " + r->body);
            co_return;
        }
        const std::string& body = r->body;
        auto doc = common::ParseJson(body);
        const common::JsonValue* list = nullptr;
        if (doc) { list = doc->is_array() ? &*doc : doc->Find("symbols"); }
        if (list == nullptr || !list->is_array()) {
            Fail(1, "GET /v1/symbols: unexpected body " + body);
            co_return;
        }
        const std::vector<std::string>& wanted = options_.symbol_list;
        std::vector<std::string> listed;
        for (const auto& item : list->as_array()) {
            const auto* name = item.Find("symbol");
            if (name == nullptr || !name->is_string()) { continue; }
            listed.emplace_back(name->as_string());
            if (!wanted.empty() &&
                std::find(wanted.begin(), wanted.end(), name->as_string()) == wanted.end()) {
                continue;
            }
            Symbol s;
            s.name = name->as_string();
            auto last = CentsOf(item.Find("last_price"));
            auto reference = CentsOf(item.Find("reference_price"));
            s.mid_cents = last.value_or(reference.value_or(0));
            s.tick_cents = std::max<std::int64_t>(1, CentsOf(item.Find("tick_size")).value_or(1));
            s.low_cents = CentsOf(item.Find("band_low")).value_or(0);
            s.high_cents = CentsOf(item.Find("band_high")).value_or(0);
            if (s.mid_cents > 0) { symbols_.push_back(std::move(s)); }
        }
        std::string unknown;
        for (const auto& w : wanted) {
            if (std::find(listed.begin(), listed.end(), w) == listed.end()) {
                unknown += (unknown.empty() ? "" : ", ") + w;
            }
        }
        if (!unknown.empty()) {
            std::string known;
            for (const auto& l : listed) { known += (known.empty() ? "" : ", ") + l; }
            Fail(2, "--symbols: not listed by the exchange: " + unknown + " (it lists " +
                        (known.empty() ? std::string("none") : known) + ")");
            co_return;
        }
        if (symbols_.empty()) {
            Fail(2, "no tradable symbols" +
                        (wanted.empty() ? std::string{} : " matching --symbols " + options_.symbols) +
                        " in GET /v1/symbols");
            co_return;
        }
    }
    // Users, a few at a time. PrepareUsers take the next index until none is left.
    const std::size_t parallel = std::min<std::size_t>(
        static_cast<std::size_t>(options_.setup_concurrency), users_.size());
    std::size_t running = parallel;
    asio::steady_timer all_prepared(ioc_, Clock::time_point::max());
    for (std::size_t i = 0; i < parallel; ++i) {
        auto body = [this, &running, &all_prepared]() -> asio::awaitable<void> {
            co_await PrepareUsers();
            if (--running == 0) { all_prepared.cancel(); }
        };
        asio::co_spawn(ioc_, std::move(body), asio::detached);
    }
    auto token = asio::as_tuple(asio::use_awaitable);
    while (running > 0) { co_await all_prepared.async_wait(token); }
}

std::string LoadRun::OrderBody(Op op, bool resting) {
    const Symbol& s = symbols_[rng_() % symbols_.size()];
    const bool buy = (rng_() & 1) != 0;
    const std::int64_t quantity = 1 + static_cast<std::int64_t>(rng_() % 10);
    std::string body = "{\"symbol\":\"" + s.name + "\",\"side\":\"" + (buy ? "BUY" : "SELL") +
                       "\",\"quantity\":" + std::to_string(quantity);
    if (op == Op::kMarket) { return body + ",\"type\":\"MARKET\"}"; }
    // Crossing: 1 % through the mid, so it takes resting liquidity when there is some (and
    // rests otherwise). Resting: 0.5 %–3 % away from the mid on the passive side. Prices
    // are relative to the mid read at start, so the last price stays within ±3 % of it,
    // well inside the ±10 % band.
    std::int64_t offset_bps = resting ? -(50 + static_cast<std::int64_t>(rng_() % 251)) : 100;
    if (!buy) { offset_bps = -offset_bps; }
    std::int64_t price = s.mid_cents + s.mid_cents * offset_bps / 10'000;
    price = std::max(s.tick_cents, price / s.tick_cents * s.tick_cents);
    if (s.low_cents > 0 && s.high_cents >= s.low_cents) {
        price = std::clamp(price, s.low_cents, s.high_cents);
    }
    return body + ",\"type\":\"LIMIT\",\"price\":" + Dollars(price) + "}";
}

asio::awaitable<void> LoadRun::Dispatch() {
    const load::ArrivalSchedule schedule(static_cast<double>(options_.rate), options_.duration);
    scheduled_ = schedule.Count();
    asio::steady_timer timer(ioc_);
    auto token = asio::as_tuple(asio::use_awaitable);
    const boost::system::error_code no_error;
    int behind = 0;
    for (std::uint64_t i = 0; i < scheduled_; ++i) {
        const Clock::time_point due = start_ + schedule.Offset(i);
        if (Clock::now() < due) {
            timer.expires_at(due);
            co_await timer.async_wait(token);
            behind = 0;
        } else if (++behind % 16 == 0) {
            // Behind schedule (the generator itself is short of CPU): let the workers and
            // the progress line run instead of queueing everything that is due at once.
            timer.expires_at(Clock::time_point::min());
            co_await timer.async_wait(token);
        }
        Job job;
        job.seq = i;
        job.op = mix_.Pick(rng_());
        job.user = static_cast<std::uint32_t>(rng_() % users_.size());
        job.intended = due;
        if (!jobs_.try_send(no_error, job)) {
            // The queue is full: wait for room. The job keeps its intended time, so the wait
            // counts as latency.
            co_await jobs_.async_send(no_error, job, token);
        }
        ++sent_;
    }
    for (std::int64_t w = 0; w < options_.connections; ++w) {
        Job stop;
        stop.stop = true;
        stop.user = kStopUser;
        co_await jobs_.async_send(no_error, stop, token);
    }
}

asio::awaitable<void> LoadRun::Worker() {
    auto token = asio::as_tuple(asio::use_awaitable);
    for (;;) {
        auto received = co_await jobs_.async_receive(token);
        const Job job = std::get<1>(received);
        if (std::get<0>(received) || job.stop) { break; }
        co_await Execute(job);
    }
    if (--live_workers_ == 0) {
        load_done_ = true;
        progress_timer_.cancel();
    }
}

void LoadRun::RecordLatency(RouteStats& route, Clock::time_point intended, Clock::time_point done) {
    last_completion_ = done;
    const auto micros = static_cast<std::uint64_t>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::microseconds>(done - intended).count()));
    ++route.count;
    ++completed_;
    route.latency.Record(micros);
    all_.Record(micros);
    interval_.Record(micros);
}

asio::awaitable<void> LoadRun::Execute(Job job) {
    User& user = users_[job.user];
    if (user.resync && !user.resyncing) {
        co_await Resync(job, user);
        co_return;
    }
    Op op = job.op;
    // Ops that need state the user does not have turn into what keeps the book bounded.
    if (op == Op::kCancel && user.open_orders.empty()) {
        op = Op::kLimit;
        ++cancel_fallbacks_;
    }
    bool resting = static_cast<std::int64_t>(rng_() % 100) >= options_.crossing_percent;
    if (op == Op::kLimit && resting && user.open_orders.size() >= open_order_cap_) {
        op = Op::kCancel;
        ++limits_to_cancels_;
    }
    http::Headers headers;
    headers.Set("Authorization", user.authorization);
    http::Method method = http::Method::kGet;
    std::string target;
    std::string body;
    std::string cancelled;
    switch (op) {
        case Op::kLimit:
        case Op::kMarket:
            method = http::Method::kPost;
            target = "/v1/order";
            body = OrderBody(op, resting);
            break;
        case Op::kCancel: {
            const std::size_t pick = rng_() % user.open_orders.size();
            std::swap(user.open_orders[pick], user.open_orders.back());
            cancelled = std::move(user.open_orders.back());
            user.open_orders.pop_back();
            method = http::Method::kDelete;
            target = "/v1/order/" + cancelled;
            break;
        }
        case Op::kPositions:
            target = "/reports/positions";
            break;
        case Op::kBalance:
            target = "/wallet/balance";
            break;
    }
    const auto started = Clock::now();
    const auto waited = started - job.intended;
    max_queue_delay_us_ = std::max<std::uint64_t>(
        max_queue_delay_us_,
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(waited).count()));
    RouteStats& route = routes_[static_cast<std::size_t>(op)];
    // A limit order or a cancel whose outcome we do not learn may have changed the user's
    // resting orders (a market order never rests).
    const bool changes_book = op == Op::kLimit || op == Op::kCancel;
    // --timeout bounds each arrival from its intended time, queueing included: an arrival
    // that waited that long for a connection is given up (as a client would), counted as an
    // error with its latency, so an overloaded run still ends soon after --duration.
    if (waited >= options_.timeout) {
        if (!cancelled.empty()) { user.open_orders.push_back(std::move(cancelled)); }
        RecordLatency(route, job.intended, started);
        ++route.errors;
        ++errors_;
        ++errors_by_code_["client_timeout (queued past --timeout)"];
        co_return;
    }
    const auto remaining = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.timeout - waited);
    auto r = co_await Send(*gateway_, method, std::move(target), std::move(body), std::move(headers),
                           remaining);
    RecordLatency(route, job.intended, Clock::now());
    if (!r) {
        if (changes_book) { user.resync = true; }
        ++route.errors;
        ++errors_;
        ++errors_by_code_["no response: " + std::string(common::ToString(r.error().code))];
        co_return;
    }
    if (r->status >= 200 && r->status < 300) {
        if (op == Op::kLimit) {
            auto doc = common::ParseJson(r->body);
            const auto* id = doc ? doc->Find("order_id") : nullptr;
            const auto* status = doc ? doc->Find("status") : nullptr;
            if (id != nullptr && id->is_string() && status != nullptr && status->is_string() &&
                (status->as_string() == "OPEN" || status->as_string() == "PARTIALLY_FILLED" ||
                 status->as_string() == "NEW")) {
                user.open_orders.push_back(id->as_string());
            }
        }
        co_return;
    }
    const ErrorBody error = ErrorOf(r->body);
    if (op == Op::kCancel && r->status == 409 && error.code == "order_not_cancellable") {
        // The order filled (or was cancelled) between our placing and cancelling it: a normal
        // outcome on a live book, not an exchange error. Others of the user's known orders
        // have likely filled too: list them next, so that cancels go on hitting resting
        // orders and the open-order cap counts live ones.
        ++cancel_too_late_;
        user.resync = true;
        co_return;
    }
    if (changes_book && MayHaveActed(*r)) { user.resync = true; }
    if (r->status == 422 && error.code == "risk_rejected" && error.Has("open_order_limit")) {
        // More open orders than we know of, or a limit below ours: count them, learn the cap.
        user.resync = true;
        user.at_limit = true;
    }
    ++route.errors;
    ++errors_;
    ++errors_by_code_[std::to_string(r->status) + " " + error.Label()];
}

asio::awaitable<void> LoadRun::Resync(Job job, User& user) {
    user.resync = false;
    user.resyncing = true;
    const bool at_limit = std::exchange(user.at_limit, false);
    // What we knew when asking: orders placed while the listing is in flight are kept, known
    // orders the listing leaves out have filled or been cancelled.
    std::vector<std::string> asked = user.open_orders;
    std::sort(asked.begin(), asked.end());
    http::Headers headers;
    headers.Set("Authorization", user.authorization);
    const auto started = Clock::now();
    const auto waited = started - job.intended;
    ++resyncs_;
    // A listing that fails is an error like any other, and the user tries again later.
    auto failed = [&](const std::string& label) {
        user.resync = true;
        user.at_limit = at_limit;
        ++resync_route_.errors;
        ++errors_;
        ++errors_by_code_[label];
    };
    if (waited >= options_.timeout) {
        user.resyncing = false;
        RecordLatency(resync_route_, job.intended, started);
        failed("client_timeout (queued past --timeout)");
        co_return;
    }
    const auto remaining =
        std::chrono::duration_cast<std::chrono::nanoseconds>(options_.timeout - waited);
    auto r = co_await Send(*gateway_, http::Method::kGet, "/v1/orders?status=open&limit=1000", "",
                           std::move(headers), remaining);
    RecordLatency(resync_route_, job.intended, Clock::now());
    user.resyncing = false;
    std::optional<common::JsonValue> doc;
    if (r && r->status == 200) {
        if (auto parsed = common::ParseJson(r->body)) { doc = std::move(*parsed); }
    }
    const auto* orders = doc ? doc->Find("orders") : nullptr;
    if (orders == nullptr || !orders->is_array()) {
        failed(!r ? "no response: " + std::string(common::ToString(r.error().code))
                  : std::to_string(r->status) + " " + ErrorOf(r->body).Label());
        co_return;
    }
    std::vector<std::string> open;
    for (const auto& order : orders->as_array()) {
        const auto* id = order.Find("order_id");
        if (id != nullptr && id->is_string()) { open.push_back(id->as_string()); }
    }
    const std::size_t listed = open.size();
    std::sort(open.begin(), open.end());
    for (auto& id : user.open_orders) {
        if (!std::binary_search(asked.begin(), asked.end(), id) &&
            !std::binary_search(open.begin(), open.begin() + static_cast<std::ptrdiff_t>(listed),
                                id)) {
            open.push_back(std::move(id));  // placed while we asked
        }
    }
    user.open_orders = std::move(open);
    if (at_limit && listed > 0) {
        // The exchange refused at `listed` open orders (or a few fewer, had some filled since):
        // stay a quarter below it.
        open_order_cap_ = std::min(open_order_cap_, std::max<std::size_t>(1, listed - listed / 4));
    }
}

asio::awaitable<void> LoadRun::Progress() {
    auto token = asio::as_tuple(asio::use_awaitable);
    const bool tty = ::isatty(STDERR_FILENO) != 0;
    Clock::time_point next = start_;
    while (!load_done_) {
        next += std::chrono::seconds(1);
        progress_timer_.expires_at(next);
        co_await progress_timer_.async_wait(token);
        if (load_done_) { break; }
        if (options_.quiet) { continue; }
        const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
        char p99[32] = "-";
        if (interval_.count() > 0) {
            std::snprintf(p99, sizeof p99, "%.2f ms", Ms(interval_.ValueAtPercentile(99)));
        }
        std::fprintf(stderr,
                     "%s[%6.1fs] sent %llu  completed %llu  errors %llu  queued+in flight %llu  "
                     "p99 (last 1 s) %s%s",
                     tty ? "\r" : "", elapsed, static_cast<unsigned long long>(sent_),
                     static_cast<unsigned long long>(completed_),
                     static_cast<unsigned long long>(errors_),
                     static_cast<unsigned long long>(sent_ - completed_), p99,
                     tty ? "   " : "\n");
        std::fflush(stderr);
        interval_.Reset();
    }
    if (tty && !options_.quiet) { std::fprintf(stderr, "\n"); }
}

void LoadRun::Report() {
    const double elapsed = std::max(
        1e-9, std::chrono::duration<double>(last_completion_ - start_).count());
    const double duration = std::chrono::duration<double>(options_.duration).count();
    const double achieved = static_cast<double>(completed_) / elapsed;
    const std::uint64_t ok = completed_ - errors_ - cancel_too_late_;
    const double ok_rate = static_cast<double>(ok) / elapsed;
    const double error_rate =
        completed_ == 0 ? 0.0 : static_cast<double>(errors_) / static_cast<double>(completed_);
    struct Row {
        std::string name;
        const RouteStats* stats;
    };
    RouteStats total;
    total.latency = all_;
    total.count = completed_;
    total.errors = errors_;
    std::vector<Row> rows;
    for (std::size_t i = 0; i < load::kOpCount; ++i) {
        rows.push_back({std::string(load::kOpNames[i]), &routes_[i]});
    }
    // In the table only when it happened (it is not part of the mix); always in the JSON.
    if (options_.json || resync_route_.count > 0) { rows.push_back({"resync", &resync_route_}); }
    rows.push_back({"all", &total});

    if (options_.json) {
        common::JsonWriter w;
        w.BeginObject()
            .Field("gateway_url", options_.gateway_url)
            .Field("requested_rate", static_cast<double>(options_.rate))
            .Field("duration_s", duration)
            .Field("users", options_.users)
            .Field("connections", options_.connections)
            .Field("mix", mix_.ToString())
            .Field("scheduled", scheduled_)
            .Field("sent", sent_)
            .Field("completed", completed_)
            .Field("ok", ok)
            .Field("errors", errors_)
            .Field("error_rate", error_rate)
            .Field("cancel_too_late", cancel_too_late_)
            .Field("cancel_fallbacks", cancel_fallbacks_)
            .Field("limits_to_cancels", limits_to_cancels_)
            .Field("resyncs", resyncs_)
            .Field("open_order_cap", static_cast<std::uint64_t>(open_order_cap_))
            .Field("elapsed_s", elapsed)
            .Field("achieved_rate", achieved)
            .Field("ok_rate", ok_rate)
            .Field("max_queue_delay_ms", Ms(max_queue_delay_us_));
        w.Key("errors_by_code").BeginObject();
        for (const auto& [code, n] : errors_by_code_) { w.Field(code, n); }
        w.EndObject();
        w.Key("routes").BeginObject();
        for (const auto& row : rows) {
            const Histogram& h = row.stats->latency;
            w.Key(row.name).BeginObject()
                .Field("count", row.stats->count)
                .Field("errors", row.stats->errors)
                .Field("mean_ms", h.Mean() / 1000.0)
                .Field("p50_ms", Ms(h.ValueAtPercentile(50)))
                .Field("p90_ms", Ms(h.ValueAtPercentile(90)))
                .Field("p99_ms", Ms(h.ValueAtPercentile(99)))
                .Field("p999_ms", Ms(h.ValueAtPercentile(99.9)))
                .Field("max_ms", Ms(h.max()))
                .EndObject();
        }
        w.EndObject().EndObject();
        std::printf("%s\n", w.str().c_str());
    } else {
        std::printf("flowex load: %s, %lld/s for %.1fs, %lld users, %lld connections, mix %s\n",
                    options_.gateway_url.c_str(), static_cast<long long>(options_.rate), duration,
                    static_cast<long long>(options_.users),
                    static_cast<long long>(options_.connections), mix_.ToString().c_str());
        std::printf("  requested %.1f/s, achieved %.1f/s (%llu completed in %.2fs), %.1f/s answered 2xx\n",
                    static_cast<double>(options_.rate), achieved,
                    static_cast<unsigned long long>(completed_), elapsed, ok_rate);
        std::printf("  sent %llu of %llu scheduled, errors %llu (%.3f %%), cancels too late %llu, "
                    "max queueing delay %.2f ms\n",
                    static_cast<unsigned long long>(sent_),
                    static_cast<unsigned long long>(scheduled_),
                    static_cast<unsigned long long>(errors_), error_rate * 100.0,
                    static_cast<unsigned long long>(cancel_too_late_), Ms(max_queue_delay_us_));
        for (const auto& [code, n] : errors_by_code_) {
            std::printf("    %-40s %llu\n", code.c_str(), static_cast<unsigned long long>(n));
        }
        if (resyncs_ > 0) {
            std::printf(
                "  %llu arrivals listed their user's open orders instead (after a cancel too "
                "late, an answer lost or the open-order limit); a user keeps at most %zu known "
                "open orders\n",
                static_cast<unsigned long long>(resyncs_), open_order_cap_);
        }
        std::printf("\n  latency from the intended send time (ms)\n");
        std::printf("  %-10s %9s %7s %9s %9s %9s %9s %9s\n", "route", "count", "errors", "p50",
                    "p90", "p99", "p99.9", "max");
        for (const auto& row : rows) {
            const Histogram& h = row.stats->latency;
            std::printf("  %-10s %9llu %7llu %9.2f %9.2f %9.2f %9.2f %9.2f\n", row.name.c_str(),
                        static_cast<unsigned long long>(row.stats->count),
                        static_cast<unsigned long long>(row.stats->errors),
                        Ms(h.ValueAtPercentile(50)), Ms(h.ValueAtPercentile(90)),
                        Ms(h.ValueAtPercentile(99)), Ms(h.ValueAtPercentile(99.9)), Ms(h.max()));
        }
    }
    std::fflush(stdout);
    if (!options_.histogram_path.empty()) {
        std::ofstream out(options_.histogram_path);
        out << all_.PercentileDistribution(1000.0);
        if (!out) {
            std::fprintf(stderr, "flowex load: cannot write %s\n", options_.histogram_path.c_str());
        }
    }
}

int LoadRun::Run() {
    http::ClientOptions gateway_options;
    gateway_options.base_url = options_.gateway_url;
    gateway_options.timeout = options_.timeout;
    gateway_options.max_idle_connections = static_cast<std::size_t>(options_.connections);
    gateway_options.idle_timeout = std::chrono::seconds(4);
    auto gateway = http::Client::Create(ioc_.get_executor(), gateway_options);
    if (!gateway) {
        std::fprintf(stderr, "flowex load: --gateway-url: %s\n", gateway.error().message.c_str());
        return 2;
    }
    gateway_ = std::move(*gateway);
    http::ClientOptions wallet_options;
    wallet_options.base_url = options_.wallet_url;
    wallet_options.timeout = options_.timeout;
    auto wallet = http::Client::Create(ioc_.get_executor(), wallet_options);
    if (!wallet) {
        std::fprintf(stderr, "flowex load: --wallet-url: %s\n", wallet.error().message.c_str());
        return 2;
    }
    wallet_ = std::move(*wallet);
    char id[32];
    std::snprintf(id, sizeof id, "%llx%x",
                  static_cast<unsigned long long>(
                      std::chrono::system_clock::now().time_since_epoch().count() / 1000 % 0xffffffffffULL),
                  static_cast<unsigned>(::getpid()) & 0xfff);
    run_id_ = id;

    auto prepare = [this]() -> asio::awaitable<void> { co_await Prepare(); };
    asio::co_spawn(ioc_, std::move(prepare), asio::detached);
    const auto prepare_started = Clock::now();
    ioc_.run();
    ioc_.restart();
    if (exit_code_ != 0) {
        std::fprintf(stderr, "flowex load: %s\n", failure_.c_str());
        return exit_code_;
    }
    if (!options_.quiet) {
        std::fprintf(stderr,
                     "flowex load: %zu users ready (%zu symbols) in %.1fs; %lld/s for %.1fs\n",
                     users_.size(), symbols_.size(),
                     std::chrono::duration<double>(Clock::now() - prepare_started).count(),
                     static_cast<long long>(options_.rate),
                     std::chrono::duration<double>(options_.duration).count());
    }

    if (!options_.start_file.empty()) {
        // Several generators (one per stack, bench/e2e/side_by_side.sh) start their clocks
        // together: whoever runs them creates the file once every one is ready.
        std::fprintf(stderr, "flowex load: waiting for %s to exist before sending\n", options_.start_file.c_str());
        std::error_code ec;
        while (!std::filesystem::exists(options_.start_file, ec)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    start_ = Clock::now();
    last_completion_ = start_;
    live_workers_ = static_cast<std::size_t>(options_.connections);
    for (std::int64_t w = 0; w < options_.connections; ++w) {
        auto worker = [this]() -> asio::awaitable<void> { co_await Worker(); };
        asio::co_spawn(ioc_, std::move(worker), asio::detached);
    }
    auto dispatch = [this]() -> asio::awaitable<void> { co_await Dispatch(); };
    asio::co_spawn(ioc_, std::move(dispatch), asio::detached);
    auto progress = [this]() -> asio::awaitable<void> { co_await Progress(); };
    asio::co_spawn(ioc_, std::move(progress), asio::detached);
    ioc_.run();
    Report();
    return 0;
}

int RunLoad(int argc, char** argv) {
    Options o;
    if (const char* token = std::getenv("FLOWEX_INTERNAL_TOKEN")) { o.internal_token = token; }
    common::Config cfg(
        "flowex load",
        "Open-loop load on the public API: a fixed arrival rate, latency measured from each "
        "request's intended send time (a stall is not hidden), a live progress line on stderr "
        "and a report of throughput, errors by code and latency percentiles per route. Users "
        "are registered, logged in, funded ($5,000,000 each) and granted 1,000,000 shares of "
        "each symbol first (grants go to wallet-service with the internal token). A user whose "
        "cancel came too late, whose order went unanswered or who hit the open-order limit "
        "spends its next arrival listing its open orders (route \"resync\"). Exit code 0 "
        "after a run (errors are in the report), 1 when preparing users failed, 2 when the "
        "gateway or wallet-service is unreachable or an option is bad.");
    cfg.String("gateway-url", "FLOWEX_GATEWAY_URL", &o.gateway_url, "client-gateway base URL");
    cfg.String("wallet-url", "FLOWEX_WALLET_SERVICE_URL", &o.wallet_url,
               "wallet-service base URL (share grants)");
    cfg.String("internal-token", "FLOWEX_INTERNAL_TOKEN", &o.internal_token,
               "internal token for wallet-service's /admin/grant-shares (make up keeps it in "
               ".flowex/internal-token)")
        .Required()
        .Secret();
    cfg.Int("rate", "", &o.rate, "arrivals per second (open loop)", 1, 1'000'000);
    cfg.Duration("duration", "", &o.duration, "how long arrivals are sent");
    cfg.Int("users", "", &o.users, "users to prepare; each arrival picks one at random", 1, 100'000);
    cfg.String("mix", "", &o.mix,
               "relative weights of limit, market, cancel, positions and balance requests");
    cfg.Int("connections", "", &o.connections, "keep-alive connections (= requests in flight)",
            1, 10'000);
    cfg.Int("crossing-percent", "", &o.crossing_percent,
            "share of limit orders priced to cross the book (the rest rest 0.5-3 % away)", 0, 100);
    cfg.String("symbols", "", &o.symbols, "comma-separated symbols to trade (default: all listed)");
    cfg.Duration("timeout", "", &o.timeout,
                 "deadline of one arrival from its intended send time, queueing included");
    cfg.Int("setup-concurrency", "", &o.setup_concurrency, "users prepared in parallel", 1, 256);
    cfg.Int("seed", "", &o.seed, "random seed of the mix, users, sides and prices", 0, INT64_MAX);
    cfg.String("histogram", "", &o.histogram_path,
               "write the overall latency distribution (HdrHistogram percentile text, ms) here");
    cfg.String("start-file", "", &o.start_file,
               "once the users are ready, wait until this file exists before sending (to start several generators together)");
    cfg.Bool("json", "", &o.json, "print the report as one JSON object instead of a table");
    cfg.Bool("quiet", "", &o.quiet, "no progress line");
    cfg.ParseOrExit(argc, argv);
    auto mix = load::Mix::Parse(o.mix);
    if (!mix) {
        std::fprintf(stderr, "flowex load: --mix: %s\n", mix.error().message.c_str());
        return 2;
    }
    if (o.duration <= std::chrono::nanoseconds(0)) {
        std::fprintf(stderr, "flowex load: --duration must be positive\n");
        return 2;
    }
    if (o.timeout <= std::chrono::nanoseconds(0)) {
        std::fprintf(stderr, "flowex load: --timeout must be positive\n");
        return 2;
    }
    o.symbol_list = load::SplitList(o.symbols);
    if (!o.symbols.empty() && o.symbol_list.empty()) {
        std::fprintf(stderr, "flowex load: --symbols names no symbol\n");
        return 2;
    }
    asio::io_context ioc(1);
    LoadRun run(ioc, std::move(o), *mix);
    return run.Run();
}

}  // namespace

FLOWEX_COMMAND("load", "open-loop load on the exchange: rate, mix, latency percentiles", RunLoad);

}  // namespace flowex::cli
