#pragma once
// Shared helpers for flowex-telemetry-test: a provider wired to the in-memory exporter, and a
// scripted local HTTP server (127.0.0.1:0) for exporter tests.
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flowex/telemetry/exporters/in_memory.hpp"
#include "flowex/telemetry/sdk/resource.hpp"
#include "flowex/telemetry/sdk/tracer_provider.hpp"

namespace flowex::telemetry::testing {

struct TestProvider {
    std::shared_ptr<exporters::InMemorySpanStorage> storage =
        std::make_shared<exporters::InMemorySpanStorage>();
    std::unique_ptr<sdk::TracerProvider> provider;

    explicit TestProvider(std::shared_ptr<sdk::Sampler> sampler = sdk::AlwaysOnSampler(),
                          sdk::SpanLimits limits = {}) {
        sdk::TracerProviderOptions o;
        o.resource = sdk::ResourceFromEnv(MapEnv({}), {"test-service", "1.2.3"});
        o.sampler = std::move(sampler);
        o.limits = limits;
        o.processor = std::make_unique<sdk::SimpleSpanProcessor>(
            std::make_unique<exporters::InMemorySpanExporter>(storage));
        provider = std::make_unique<sdk::TracerProvider>(std::move(o));
    }
    Tracer GetTracer() { return provider->GetTracer("flowex.test", "0.1"); }
};

/// One scripted reply; after the script the server answers 200.
struct Reply {
    int status = 200;
    std::string retry_after;
};

struct SeenRequest {
    std::string target;
    std::string content_type;
    std::string content_encoding;
    std::string body;
    std::string authorization;
    std::string host;
};

class TestHttpServer {
public:
    explicit TestHttpServer(std::vector<Reply> script = {}) : script_(std::move(script)) {
        namespace asio = boost::asio;
        acceptor_.open(asio::ip::tcp::v4());
        acceptor_.set_option(asio::socket_base::reuse_address(true));
        acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
        acceptor_.listen();
        port_ = acceptor_.local_endpoint().port();
        asio::co_spawn(ioc_, Accept(), asio::detached);
        thread_ = std::thread([this] { ioc_.run(); });
    }
    ~TestHttpServer() {
        ioc_.stop();
        thread_.join();
    }
    unsigned short Port() const { return port_; }
    std::string Url(std::string_view path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    int Requests() const { return requests_.load(); }
    std::vector<SeenRequest> Seen() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }

private:
    boost::asio::awaitable<void> Accept() {
        for (;;) {
            auto socket = co_await acceptor_.async_accept(boost::asio::use_awaitable);
            boost::asio::co_spawn(ioc_, Session(std::move(socket)), boost::asio::detached);
        }
    }
    boost::asio::awaitable<void> Session(boost::asio::ip::tcp::socket socket) {
        namespace http = boost::beast::http;
        boost::beast::flat_buffer buffer;
        try {
            for (;;) {
                http::request<http::string_body> req;
                co_await http::async_read(socket, buffer, req, boost::asio::use_awaitable);
                Reply reply;
                {
                    std::lock_guard lock(mutex_);
                    const int n = requests_.fetch_add(1);
                    if (static_cast<std::size_t>(n) < script_.size()) {
                        reply = script_[static_cast<std::size_t>(n)];
                    }
                    seen_.push_back(SeenRequest{
                        std::string(req.target()), std::string(req[http::field::content_type]),
                        std::string(req[http::field::content_encoding]), req.body(),
                        std::string(req[http::field::authorization]),
                        std::string(req[http::field::host])});
                }
                http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
                if (!reply.retry_after.empty()) {
                    res.set(http::field::retry_after, reply.retry_after);
                }
                res.keep_alive(true);
                res.prepare_payload();
                co_await http::async_write(socket, res, boost::asio::use_awaitable);
            }
        } catch (...) {
        }
    }

    std::vector<Reply> script_;
    boost::asio::io_context ioc_;
    boost::asio::ip::tcp::acceptor acceptor_{ioc_};
    unsigned short port_ = 0;
    std::atomic<int> requests_{0};
    mutable std::mutex mutex_;
    std::vector<SeenRequest> seen_;
    std::thread thread_;
};

}  // namespace flowex::telemetry::testing
