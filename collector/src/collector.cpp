#include "flowex/collector/collector.hpp"

#include <zlib.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "flowex/collector/ingestor.hpp"
#include "flowex/collector/otlp_decode.hpp"
#include "flowex/collector/query_api.hpp"
#include "flowex/collector/red_metrics.hpp"
#include "flowex/collector/render.hpp"
#include "flowex/collector/store.hpp"
#include "flowex/common/json.hpp"
#include "flowex/http/server.hpp"

namespace flowex::collector {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using common::Error;
using common::ErrorCode;
using common::Result;
using common::Status;
using http::RequestContext;
using http::Response;

namespace {

std::string ToLower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

// Inflates gzip or zlib data, at most `limit` bytes of output.
Result<std::string> Inflate(std::string_view in, bool gzip, std::size_t limit) {
    z_stream zs{};
    if (inflateInit2(&zs, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
        return Error{ErrorCode::kInternal, "zlib init failed"};
    }
    std::string out;
    out.resize(std::min<std::size_t>(limit + 1, std::max<std::size_t>(in.size() * 4, 64 * 1024)));
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    std::size_t produced = 0;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (produced == out.size()) {
            if (out.size() > limit) {
                inflateEnd(&zs);
                return Error{ErrorCode::kPayloadTooLarge, "decompressed body over the limit"};
            }
            out.resize(std::min<std::size_t>(limit + 1, out.size() * 2));
        }
        zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        zs.avail_out = static_cast<uInt>(out.size() - produced);
        rc = inflate(&zs, Z_NO_FLUSH);
        produced = out.size() - zs.avail_out;
        if (rc == Z_STREAM_END) {
            break;
        }
        if (rc != Z_OK || (zs.avail_in == 0 && zs.avail_out != 0)) {
            inflateEnd(&zs);
            return Error{ErrorCode::kBadRequest, "the body is not valid gzip data"};
        }
        if (produced > limit) {
            inflateEnd(&zs);
            return Error{ErrorCode::kPayloadTooLarge, "decompressed body over the limit"};
        }
    }
    inflateEnd(&zs);
    if (produced > limit) {
        return Error{ErrorCode::kPayloadTooLarge, "decompressed body over the limit"};
    }
    out.resize(produced);
    return out;
}

void AppendVarint(std::string* out, std::uint64_t v) {
    while (v >= 0x80) {
        out->push_back(static_cast<char>(v | 0x80));
        v >>= 7;
    }
    out->push_back(static_cast<char>(v));
}

// OTLP/HTTP failures carry a google.rpc.Status in the request's encoding.
Response OtlpError(int status, int grpc_code, std::string_view message, Encoding enc) {
    Response r;
    r.status = status;
    if (enc == Encoding::kJson) {
        common::JsonWriter w;
        w.BeginObject().Key("code").Int(grpc_code).Key("message").String(message).EndObject();
        r.content_type = "application/json";
        r.body = w.Take();
    } else {
        std::string body;
        body.push_back(0x08);  // field 1, varint: code
        AppendVarint(&body, static_cast<std::uint64_t>(grpc_code));
        body.push_back(0x12);  // field 2, bytes: message
        AppendVarint(&body, message.size());
        body.append(message);
        r.content_type = "application/x-protobuf";
        r.body = std::move(body);
    }
    return r;
}

const char* MimeType(const fs::path& p) {
    std::string ext = ToLower(p.extension().string());
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".json" || ext == ".map") return "application/json";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".ico") return "image/x-icon";
    if (ext == ".woff2") return "font/woff2";
    if (ext == ".txt") return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

bool ReadFile(const fs::path& p, std::string* out) {
    std::ifstream f(p, std::ios::binary);
    if (!f) {
        return false;
    }
    std::ostringstream ss;
    ss << f.rdbuf();
    *out = ss.str();
    return true;
}

class CollectorImpl final : public Collector {
public:
    explicit CollectorImpl(CollectorOptions o) : opt_(std::move(o)) {}
    ~CollectorImpl() override {
        // The writer answers by posting to the servers' executors: it stops first.
        if (ingestor_) {
            ingestor_->Stop();
        }
    }

    Status Init() {
        StoreOptions so;
        so.data_dir = opt_.data_dir;
        so.max_age = opt_.max_age;
        so.max_bytes = opt_.max_bytes;
        so.window = opt_.window;
        so.commit_interval = opt_.commit_interval;
        so.extra_index_tags = opt_.index_tags;
        so.max_services = opt_.max_services;
        auto store = Store::Open(so);
        if (!store) {
            return store.error();
        }
        store_ = std::move(store).value();
        if (auto replayed = store_->Stats().replayed_frames; replayed > 0) {
            std::fprintf(stderr,
                         "flowex-collector: stored %lld span-file frames again that the last run "
                         "answered but had not committed\n",
                         static_cast<long long>(replayed));
        }
        if (auto error = store_->Stats().replay_error; !error.empty()) {
            std::fprintf(stderr,
                         "flowex-collector: an older window holds answered requests that could not "
                         "be stored again; they stay in its span file and the next start tries "
                         "again: %s\n",
                         error.c_str());
        }
        IngestOptions io;
        io.max_queue_items = opt_.queue_batches;
        io.max_queue_bytes = opt_.queue_bytes;
        io.before_commit = opt_.before_commit;
        io.report = opt_.report;
        ingestor_ = std::make_unique<Ingestor>(*store_, metrics_, io);
        api_ = std::make_unique<QueryApi>(*store_, metrics_, common::SystemClock(),
                                          opt_.max_trace_spans, opt_.max_trace_logs);

        http::ServerOptions otlp;
        otlp.listen = opt_.otlp_addr;
        otlp.threads = opt_.otlp_threads;
        otlp.max_body_bytes = opt_.max_body_bytes;
        otlp.print_listening = opt_.print_listening;
        otlp_ = std::make_unique<http::Server>(otlp);
        otlp_->router().Post("/v1/traces", [this](RequestContext& ctx) { return Receive(ctx, false); });
        otlp_->router().Post("/v1/logs", [this](RequestContext& ctx) { return Receive(ctx, true); });
        otlp_->router().Get("/health", http::Sync([this](RequestContext&) { return Health(); }));
        otlp_->router().Get("/metrics", http::Sync([this](RequestContext&) { return Metrics(); }));

        http::ServerOptions query;
        query.listen = opt_.query_addr;
        query.threads = opt_.query_threads;
        query.print_listening = opt_.print_listening;
        query.max_body_bytes = 64 * 1024;
        query_ = std::make_unique<http::Server>(query);
        query_->router().Get("/api/{rest...}", http::Sync([this](RequestContext& ctx) { return Api(ctx); }));
        query_->router().Get("/api/live", [this](RequestContext& ctx) { return Live(ctx); });
        query_->router().Get("/health", http::Sync([this](RequestContext&) { return Health(); }));
        query_->router().Get("/metrics", http::Sync([this](RequestContext&) { return Metrics(); }));
        query_->router().Get("/{path...}", http::Sync([this](RequestContext& ctx) { return Static(ctx); }));
        return {};
    }

    Status Start() override {
        if (Status st = otlp_->Start(); !st) {
            return st;
        }
        if (Status st = query_->Start(); !st) {
            otlp_->Stop();
            otlp_->Wait();
            return st;
        }
        return {};
    }

    void StopOnSignals() override {
        otlp_->StopOnSignals();
        query_->StopOnSignals();
    }

    void Stop() override {
        otlp_->Stop();
        query_->Stop();
    }

    void Wait() override {
        otlp_->Wait();
        query_->Stop();
        query_->Wait();
        ingestor_->Stop();  // commits everything accepted
    }

    std::uint16_t otlp_port() const override { return otlp_->port(); }
    std::uint16_t query_port() const override { return query_->port(); }

private:
    asio::awaitable<Response> Receive(RequestContext& ctx, bool logs) {
        const auto& req = ctx.request;
        std::string ctype = ToLower(req.headers.Get("Content-Type").value_or(""));
        ctype = ctype.substr(0, ctype.find(';'));
        while (!ctype.empty() && ctype.back() == ' ') {
            ctype.pop_back();
        }
        Encoding enc;
        if (ctype == "application/x-protobuf" || ctype == "application/protobuf") {
            enc = Encoding::kProtobuf;
        } else if (ctype == "application/json") {
            enc = Encoding::kJson;
        } else {
            Response r = OtlpError(415, 3, "Content-Type must be application/x-protobuf or application/json",
                                   Encoding::kJson);
            co_return r;
        }
        // The body becomes the decoded request's storage (its views point into it): taken,
        // not copied.
        std::string body;
        std::string cenc = ToLower(req.headers.Get("Content-Encoding").value_or(""));
        if (cenc == "gzip" || cenc == "x-gzip" || cenc == "deflate") {
            auto out = Inflate(req.body, cenc != "deflate", opt_.max_decompressed_bytes);
            if (!out) {
                int status = out.error().code == ErrorCode::kPayloadTooLarge ? 413 : 400;
                co_return OtlpError(status, 3, out.error().message, enc);
            }
            body = std::move(out).value();
        } else if (cenc.empty() || cenc == "identity") {
            body = std::move(ctx.request.body);
        } else {
            co_return OtlpError(415, 3, "unsupported Content-Encoding (gzip, deflate, identity)", enc);
        }

        std::int64_t rejected = 0;
        std::string message;
        bool accepted = false;
        Status stored;
        if (logs) {
            auto d = DecodeLogs(std::move(body), enc);
            if (!d) {
                co_return OtlpError(400, 3, d.error().message, enc);
            }
            rejected = d->rejected;
            message = d->error_message;
            rejected_logs_.fetch_add(static_cast<std::uint64_t>(rejected));
            stored = co_await Store(std::move(d).value(), &accepted);
        } else {
            auto d = DecodeTraces(std::move(body), enc);
            if (!d) {
                co_return OtlpError(400, 3, d.error().message, enc);
            }
            rejected = d->rejected;
            message = d->error_message;
            rejected_spans_.fetch_add(static_cast<std::uint64_t>(rejected));
            stored = co_await Store(std::move(d).value(), &accepted);
        }
        if (!accepted) {
            Response r = OtlpError(503, 14, "ingest queue full, retry later", enc);
            r.headers.Set("Retry-After", "1");
            co_return r;
        }
        if (!stored) {
            Response r = OtlpError(503, 14, "storage failed: " + stored.error().message, enc);
            r.headers.Set("Retry-After", "5");
            co_return r;
        }
        Response r;
        r.status = 200;
        r.content_type = enc == Encoding::kJson ? "application/json" : "application/x-protobuf";
        r.body = logs ? EncodeLogsResponse(rejected, message, enc) : EncodeTraceResponse(rejected, message, enc);
        co_return r;
    }

    // Queues a decoded batch and resumes once the writer has stored it (or at once when the
    // queue is full: *accepted = false). The writer posts its answer to this coroutine's
    // executor (the connection's strand, or the server's only thread), where it cancels the
    // timer the coroutine waits on; both run there, so the `done` check and the wait cannot
    // interleave with it. The Ingestor is stopped before the servers go (~CollectorImpl), so
    // the executor outlives every answer posted to it.
    template <class Batch>
    asio::awaitable<Status> Store(Batch batch, bool* accepted) {
        struct Outcome {
            explicit Outcome(const asio::any_io_executor& ex) : timer(ex, asio::steady_timer::time_point::max()) {}
            asio::steady_timer timer;
            bool done = false;
            Status status;
        };
        asio::any_io_executor ex = co_await asio::this_coro::executor;
        auto outcome = std::make_shared<Outcome>(ex);
        *accepted = ingestor_->Submit(std::move(batch), [outcome, ex](const Status& st) {
            asio::post(ex, [outcome, st] {
                outcome->status = st;
                outcome->done = true;
                outcome->timer.cancel();
            });
        });
        if (!*accepted) {
            co_return Status();
        }
        while (!outcome->done) {
            boost::system::error_code ec;
            co_await outcome->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        co_return outcome->status;
    }

    Response Api(RequestContext& ctx) {
        std::string path = http::PercentDecode(ctx.request.Path(), false);
        ApiResponse a = api_->Get(path, ctx.QueryParams());
        Response r;
        r.status = a.status;
        r.content_type = a.content_type;
        r.body = std::move(a.body);
        r.headers.Set("Cache-Control", "no-store");
        if (a.spans_omitted > 0) {
            r.headers.Set("X-Flowex-Spans-Omitted", std::to_string(a.spans_omitted));
        }
        if (a.logs_omitted > 0) {
            r.headers.Set("X-Flowex-Logs-Omitted", std::to_string(a.logs_omitted));
        }
        return r;
    }

    asio::awaitable<Response> Live(RequestContext&) {
        Response r;
        r.status = 200;
        r.content_type = "text/event-stream";
        r.headers.Set("Cache-Control", "no-cache");
        r.headers.Set("X-Accel-Buffering", "no");
        Ingestor* ingestor = ingestor_.get();
        r.stream = [ingestor](http::BodyWriter& w) -> asio::awaitable<void> {
            struct Feed {
                std::mutex mu;
                std::deque<std::string> events;
            };
            auto feed = std::make_shared<Feed>();
            std::uint64_t id = ingestor->AddLiveListener([feed](const std::vector<TraceSummary>& traces) {
                std::lock_guard lock(feed->mu);
                for (const auto& t : traces) {
                    if (feed->events.size() >= 1000) {
                        feed->events.pop_front();  // a slow reader loses the oldest, never memory
                    }
                    common::JsonWriter jw;
                    WriteTraceSummary(jw, t);
                    feed->events.push_back("event: trace\ndata: " + jw.Take() + "\n\n");
                }
            });
            auto ex = co_await asio::this_coro::executor;
            asio::steady_timer timer(ex);
            bool ok = co_await w.Write("retry: 2000\n: connected\n\n");
            auto last_write = std::chrono::steady_clock::now();
            while (ok && !w.stopping()) {
                std::deque<std::string> batch;
                {
                    std::lock_guard lock(feed->mu);
                    batch.swap(feed->events);
                }
                std::string chunk;
                for (auto& e : batch) {
                    chunk += e;
                }
                if (!chunk.empty()) {
                    ok = co_await w.Write(chunk);
                    last_write = std::chrono::steady_clock::now();
                } else if (std::chrono::steady_clock::now() - last_write > std::chrono::seconds(15)) {
                    ok = co_await w.Write(": keep-alive\n\n");
                    last_write = std::chrono::steady_clock::now();
                }
                timer.expires_after(std::chrono::milliseconds(200));
                boost::system::error_code ec;
                co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            ingestor->RemoveLiveListener(id);
        };
        co_return r;
    }

    // 200 either way, as the services' /health: "degraded" while export requests cannot be
    // stored (they are answered 503; queries still work).
    Response Health() {
        auto s = ingestor_->Stats();
        common::JsonWriter w;
        w.BeginObject().Key("status").String(s.store_error.empty() ? "ok" : "degraded");
        w.Key("service").String("flowex-collector");
        w.Key("queue").BeginObject().Key("batches").Uint(s.queued_items).Key("capacity").Uint(opt_.queue_batches).EndObject();
        if (!s.store_error.empty()) { w.Key("store_error").String(s.store_error); }
        w.EndObject();
        return http::JsonResponse(200, w.Take());
    }

    Response Metrics() {
        std::string out;
        metrics_.AppendPrometheus(&out);
        auto s = ingestor_->Stats();
        auto st = store_->Stats();
        auto line = [&](const char* name, const char* type, const char* help, double v) {
            out += "# HELP ";
            out += name;
            out += ' ';
            out += help;
            out += "\n# TYPE ";
            out += name;
            out += ' ';
            out += type;
            out += '\n';
            out += name;
            out += ' ';
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.17g", v);
            out += buf;
            out += '\n';
        };
        line("flowex_collector_spans_stored_total", "counter", "Spans committed to the store.", static_cast<double>(s.spans));
        line("flowex_collector_logs_stored_total", "counter", "Log records committed.", static_cast<double>(s.logs));
        line("flowex_collector_requests_stored_total", "counter", "Export requests committed.",
             static_cast<double>(s.batches));
        line("flowex_collector_commits_total", "counter",
             "Store commits (each commits every request stored since the last).",
             static_cast<double>(st.commits));
        line("flowex_collector_spans_rejected_total", "counter", "Spans rejected by validation (partialSuccess).",
             static_cast<double>(rejected_spans_.load()));
        line("flowex_collector_logs_rejected_total", "counter", "Log records rejected by validation.",
             static_cast<double>(rejected_logs_.load()));
        line("flowex_collector_batches_refused_total", "counter", "Requests answered 503 because the queue was full.",
             static_cast<double>(s.refused_full));
        line("flowex_collector_batches_failed_total", "counter",
             "Requests answered 503 because storing them failed (the disk full, say).",
             static_cast<double>(s.failed));
        line("flowex_collector_queue_batches", "gauge", "Batches waiting to be stored.", static_cast<double>(s.queued_items));
        line("flowex_collector_store_bytes", "gauge", "Bytes of the store's window files.", static_cast<double>(st.bytes));
        line("flowex_collector_store_windows", "gauge", "Window files in the store.", static_cast<double>(st.windows));
        Response r = http::TextResponse(200, std::move(out));
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return r;
    }

    Response Static(RequestContext& ctx) {
        std::string path = http::PercentDecode(ctx.request.Path(), false);
        if (path.rfind("/api/", 0) == 0 || path == "/api") {
            return http::JsonResponse(404, R"({"data":null,"errors":[{"code":404,"msg":"not found"}]})");
        }
        if (opt_.ui_dir.empty()) {
            return http::TextResponse(404, "flowex-collector: no web UI directory (--ui-dir); the API is at /api/\n");
        }
        fs::path root(opt_.ui_dir);
        fs::path rel = fs::path(path).relative_path().lexically_normal();
        bool escapes = !rel.empty() && (*rel.begin() == "..");
        std::string body;
        std::error_code ec;
        if (!escapes && !rel.empty() && fs::is_regular_file(root / rel, ec) && ReadFile(root / rel, &body)) {
            Response r;
            r.status = 200;
            r.content_type = MimeType(rel);
            r.body = std::move(body);
            if (rel.string().rfind("assets/", 0) == 0) {
                r.headers.Set("Cache-Control", "public, max-age=31536000, immutable");
            }
            return r;
        }
        // SPA fallback: any other path is a UI route.
        if (ReadFile(root / "index.html", &body)) {
            Response r;
            r.status = 200;
            r.content_type = "text/html; charset=utf-8";
            r.headers.Set("Cache-Control", "no-cache");
            r.body = std::move(body);
            return r;
        }
        return http::TextResponse(404, "flowex-collector: the web UI is not built (" + opt_.ui_dir + "/index.html)\n");
    }

    CollectorOptions opt_;
    std::unique_ptr<collector::Store> store_;
    RedMetrics metrics_{opt_.max_metric_series};
    std::unique_ptr<Ingestor> ingestor_;
    std::unique_ptr<QueryApi> api_;
    std::unique_ptr<http::Server> otlp_;
    std::unique_ptr<http::Server> query_;
    std::atomic<std::uint64_t> rejected_spans_{0};
    std::atomic<std::uint64_t> rejected_logs_{0};
};

}  // namespace

Result<std::unique_ptr<Collector>> Collector::Create(CollectorOptions options) {
    QuietProtobufLogging();
    TuneAllocator();
    auto c = std::make_unique<CollectorImpl>(std::move(options));
    if (Status st = c->Init(); !st) {
        return st.error();
    }
    return std::unique_ptr<Collector>(std::move(c));
}

}  // namespace flowex::collector
