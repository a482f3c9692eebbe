// flowex-bench-collector: ingest throughput of pre-encoded OTLP protobuf batches into the store
// on one core, then trace-by-id and service + tag search latency with the store full, then an
// overload check of the bounded ingest queue. See docs/benchmarks.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "flowex/collector/ingestor.hpp"
#include "flowex/collector/otlp_decode.hpp"
#include "flowex/collector/query_api.hpp"
#include "flowex/collector/render.hpp"
#include "flowex/collector/store.hpp"
#include "flowex/common/config.hpp"

namespace fc = flowex::collector;
using Clock = std::chrono::steady_clock;

namespace {

const char* kServices[] = {"client-gateway", "user-service", "order-manager", "risk-manager", "wallet-service",
                           "reporting-service"};
const char* kOps[] = {"POST /v1/order", "place_order", "GET", "POST", "create_order", "validate_order",
                      "block_funds", "INSERT orders", "match_order", "publish_event"};
const char* kSymbols[] = {"AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "NFLX", "IBM", "ORCL"};

constexpr int kSpansPerBatch = 512;
constexpr int kSpansPerTrace = 16;

struct Batch {
    std::string bytes;
    std::vector<std::string> trace_ids;
};

void Attr(fc::otlp_trace::Span* s, const char* k, const std::string& v) {
    auto* kv = s->add_attributes();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
}
void Attr(fc::otlp_trace::Span* s, const char* k, std::int64_t v) {
    auto* kv = s->add_attributes();
    kv->set_key(k);
    kv->mutable_value()->set_int_value(v);
}

Batch MakeBatch(std::mt19937_64& rng, int index, std::uint64_t t0) {
    fc::ExportTraceRequest req;
    auto* rs = req.add_resource_spans();
    auto* kv = rs->mutable_resource()->add_attributes();
    kv->set_key("service.name");
    const char* service = kServices[index % 6];
    kv->mutable_value()->set_string_value(service);
    auto* host = rs->mutable_resource()->add_attributes();
    host->set_key("host.name");
    host->mutable_value()->set_string_value("bench-host");
    auto* ss = rs->add_scope_spans();
    ss->mutable_scope()->set_name("flowex");
    ss->mutable_scope()->set_version("0.1.0");
    Batch b;
    std::lognormal_distribution<double> dur_ms(1.5, 1.0);
    for (int t = 0; t < kSpansPerBatch / kSpansPerTrace; ++t) {
        std::string trace_id(16, '\0');
        for (auto& c : trace_id) {
            c = static_cast<char>(rng());
        }
        trace_id[0] |= 1;
        b.trace_ids.push_back(trace_id);
        std::uint64_t start = t0 + static_cast<std::uint64_t>(index) * 10'000'000ULL + static_cast<std::uint64_t>(t) * 100'000ULL;
        std::int64_t user = static_cast<std::int64_t>(rng() % 10000) + 1;
        std::string symbol = kSymbols[rng() % 10];
        std::string order_id = std::to_string(rng());
        bool error_trace = rng() % 20 == 0;
        std::string parent;
        for (int i = 0; i < kSpansPerTrace; ++i) {
            auto* s = ss->add_spans();
            s->set_trace_id(trace_id);
            std::string sid(8, '\0');
            for (auto& c : sid) {
                c = static_cast<char>(rng());
            }
            sid[0] |= 1;
            s->set_span_id(sid);
            if (i > 0) {
                s->set_parent_span_id(parent);
            }
            if (i % 4 == 0) {
                parent = sid;
            }
            s->set_name(kOps[i % 10]);
            s->set_kind(static_cast<fc::otlp_trace::Span_SpanKind>(i == 0 ? 2 : (i % 3 == 0 ? 3 : 1)));
            auto d = static_cast<std::uint64_t>(dur_ms(rng) * 1e6);
            s->set_start_time_unix_nano(start + static_cast<std::uint64_t>(i) * 1000);
            s->set_end_time_unix_nano(start + static_cast<std::uint64_t>(i) * 1000 + d);
            Attr(s, "user_id", user);
            Attr(s, "order_id", order_id);
            Attr(s, "symbol", symbol);
            Attr(s, "side", (user % 2) != 0 ? "BUY" : "SELL");
            Attr(s, "quantity", static_cast<std::int64_t>(rng() % 100 + 1));
            Attr(s, "http.request.method", "POST");
            Attr(s, "http.route", "/v1/order");
            Attr(s, "http.response.status_code", static_cast<std::int64_t>(error_trace ? 500 : 200));
            Attr(s, "server.address", "127.0.0.1");
            Attr(s, "thread.name", "io-1");
            if (error_trace && i == kSpansPerTrace - 1) {
                s->mutable_status()->set_code(fc::otlp_trace::Status::STATUS_CODE_ERROR);
                s->mutable_status()->set_message("insufficient funds");
            }
        }
    }
    b.bytes = req.SerializeAsString();
    return b;
}

double Percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())));
    return v[i];
}

double ThreadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

long RssKiB() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::int64_t spans = 1'000'000;
    std::int64_t queries = 500;
    std::int64_t per_commit = 8;
    bool json = false;
    std::string dir;
    flowex::common::Config cfg("flowex-bench-collector",
                               "Collector store benchmark: ingest spans/s on one core, query p99 with the store full, overload.");
    cfg.Int("spans", "FLOWEX_BENCH_SPANS", &spans, "spans to ingest", 512, 100'000'000);
    cfg.Int("queries", "FLOWEX_BENCH_QUERIES", &queries, "queries per latency measurement", 1, 1'000'000);
    cfg.Int("batches-per-commit", "FLOWEX_BENCH_BATCHES_PER_COMMIT", &per_commit,
            "batches per Store::Ingest call (the ingest queue groups what is waiting, up to 64; "
            "the store commits every 500 ms)", 1, 64);
    cfg.Bool("json", "FLOWEX_BENCH_JSON", &json, "print one JSON object");
    cfg.String("data-dir", "FLOWEX_BENCH_DATA_DIR", &dir, "store directory (default: a fresh temporary one)");
    cfg.ParseOrExit(argc, argv);
    fc::QuietProtobufLogging();
    fc::TuneAllocator();  // as flowex-collector does

    bool temp = dir.empty();
    if (temp) {
        dir = (std::filesystem::temp_directory_path() / ("flowex-bench-collector-" + std::to_string(::getpid()))).string();
    }
    std::filesystem::remove_all(dir);

    std::mt19937_64 rng(42);
    auto now_ns = flowex::common::SystemClock().UnixNanos();
    std::uint64_t t0 = static_cast<std::uint64_t>(now_ns) - 3'600'000'000'000ULL;
    int nbatches = static_cast<int>((spans + kSpansPerBatch - 1) / kSpansPerBatch);
    std::fprintf(stderr, "encoding %d batches of %d spans (10 attributes each)...\n", nbatches, kSpansPerBatch);
    std::vector<Batch> batches;
    batches.reserve(static_cast<std::size_t>(nbatches));
    std::size_t wire = 0;
    for (int i = 0; i < nbatches; ++i) {
        batches.push_back(MakeBatch(rng, i, t0));
        wire += batches.back().bytes.size();
    }

    fc::StoreOptions opts;
    opts.data_dir = dir;
    opts.max_age = std::chrono::hours(0);
    auto store_r = fc::Store::Open(opts);
    if (!store_r) {
        std::fprintf(stderr, "store: %s\n", store_r.error().message.c_str());
        return 1;
    }
    auto store = std::move(store_r).value();

    // 1. Ingest: decode + validate + store, one transaction per batch, one thread.
    std::fprintf(stderr, "ingesting...\n");
    auto t_start = Clock::now();
    double cpu_start = ThreadCpuSeconds();
    double decode_cpu = 0;
    std::int64_t stored = 0;
    for (std::size_t i = 0; i < batches.size(); i += static_cast<std::size_t>(per_commit)) {
        std::vector<fc::DecodedTraces> decoded;
        std::vector<const fc::DecodedTraces*> group;
        double c0 = ThreadCpuSeconds();
        for (std::size_t j = i; j < std::min(batches.size(), i + static_cast<std::size_t>(per_commit)); ++j) {
            auto d = fc::DecodeTraces(batches[j].bytes, fc::Encoding::kProtobuf);
            if (!d) {
                std::fprintf(stderr, "decode: %s\n", d.error().message.c_str());
                return 1;
            }
            decoded.push_back(std::move(d).value());
        }
        decode_cpu += ThreadCpuSeconds() - c0;
        for (const auto& d : decoded) {
            group.push_back(&d);
        }
        auto r = store->Ingest(group, {});
        if (!r) {
            std::fprintf(stderr, "ingest: %s\n", r.error().message.c_str());
            return 1;
        }
        stored += r->spans;
    }
    if (auto st = store->Flush(true); !st) {  // the last rows' commit is part of the ingest
        std::fprintf(stderr, "commit: %s\n", st.error().message.c_str());
        return 1;
    }
    double ingest_s = std::chrono::duration<double>(Clock::now() - t_start).count();
    double spans_per_s = static_cast<double>(stored) / ingest_s;
    double ingest_cpu = ThreadCpuSeconds() - cpu_start;
    double spans_per_cpu_s = static_cast<double>(stored) / ingest_cpu;
    auto stats = store->Stats();

    // 2. Trace by id (load + render Jaeger JSON), random ids.
    fc::RedMetrics metrics;
    fc::QueryApi api(*store, metrics, flowex::common::SystemClock());
    std::vector<double> by_id_ms;
    for (std::int64_t i = 0; i < queries; ++i) {
        const Batch& b = batches[rng() % batches.size()];
        const std::string& id = b.trace_ids[rng() % b.trace_ids.size()];
        auto q0 = Clock::now();
        auto r = api.Get("/api/traces/" + fc::ToHex(id), {});
        by_id_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - q0).count());
        if (r.status != 200) {
            std::fprintf(stderr, "trace by id: %d\n", r.status);
            return 1;
        }
    }

    // 3. Service + tag search (the full /api/traces answer: 20 traces loaded and rendered).
    std::vector<double> sel_ms;
    std::vector<double> broad_ms;
    std::size_t found_sel = 0;
    std::size_t found_broad = 0;
    for (std::int64_t i = 0; i < queries; ++i) {
        std::string svc = kServices[rng() % 6];
        std::string user = std::to_string(rng() % 10000 + 1);
        auto q0 = Clock::now();
        auto r = api.Get("/api/traces", {{"service", svc}, {"tags", "{\"user_id\":\"" + user + "\"}"}, {"limit", "20"}});
        sel_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - q0).count());
        found_sel += r.body.size() > 100 ? 1 : 0;
        std::string sym = kSymbols[rng() % 10];
        q0 = Clock::now();
        r = api.Get("/api/traces", {{"service", svc}, {"tag", "symbol:" + sym}, {"tag", "error:true"}, {"limit", "20"}});
        broad_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - q0).count());
        found_broad += r.body.size() > 100 ? 1 : 0;
    }

    // 4. Overload: a producer far faster than the writer; the bounded queue refuses (503).
    long rss_before = RssKiB();
    std::int64_t refused = 0;
    std::int64_t accepted = 0;
    long rss_peak = rss_before;
    {
        fc::IngestOptions io;
        io.max_queue_items = 16;
        io.max_queue_bytes = 64LL << 20;
        fc::Ingestor ingestor(*store, metrics, io);
        auto until = Clock::now() + std::chrono::seconds(3);
        std::size_t i = 0;
        while (Clock::now() < until) {
            auto d = fc::DecodeTraces(batches[i++ % batches.size()].bytes, fc::Encoding::kProtobuf);
            if (ingestor.Submit(std::move(d).value(), nullptr)) {
                ++accepted;
            } else {
                ++refused;
            }
            if ((i & 63) == 0) {
                rss_peak = std::max(rss_peak, RssKiB());
            }
        }
        ingestor.Stop();
    }

    double p99_id = Percentile(by_id_ms, 0.99);
    double p99_sel = Percentile(sel_ms, 0.99);
    double p99_broad = Percentile(broad_ms, 0.99);
    if (json) {
        std::printf(
            "{\"spans\":%lld,\"batches\":%d,\"spans_per_batch\":%d,\"attributes_per_span\":10,\"wire_bytes\":%zu,"
            "\"ingest_seconds\":%.3f,\"ingest_spans_per_second\":%.0f,\"ingest_cpu_seconds\":%.3f,"
            "\"ingest_spans_per_cpu_second\":%.0f,\"decode_cpu_seconds\":%.3f,\"store_bytes\":%lld,"
            "\"trace_by_id_ms\":{\"p50\":%.3f,\"p99\":%.3f},"
            "\"search_service_user_id_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"hits\":%zu},"
            "\"search_service_symbol_error_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"hits\":%zu},"
            "\"overload\":{\"accepted\":%lld,\"refused_503\":%lld,\"rss_before_kib\":%ld,\"rss_peak_kib\":%ld},"
            "\"batches_per_commit\":%lld,\"durability\":\"span file (the journal) written before Ingest returns; "
            "SQLite WAL, synchronous=NORMAL, a commit every 500 ms; span file fdatasync before each checkpoint\"}\n",
            static_cast<long long>(stored), nbatches, kSpansPerBatch, wire, ingest_s, spans_per_s, ingest_cpu,
            spans_per_cpu_s, decode_cpu, static_cast<long long>(stats.bytes), Percentile(by_id_ms, 0.5), p99_id, Percentile(sel_ms, 0.5), p99_sel,
            found_sel, Percentile(broad_ms, 0.5), p99_broad, found_broad, static_cast<long long>(accepted),
            static_cast<long long>(refused), rss_before, rss_peak, static_cast<long long>(per_commit));
    } else {
        std::printf("ingest: %lld spans in %.2f s = %.0f spans/s (one core; %d batches of %d spans, 10 attributes; %.1f MB wire)\n",
                    static_cast<long long>(stored), ingest_s, spans_per_s, nbatches, kSpansPerBatch,
                    static_cast<double>(wire) / 1e6);
        std::printf("ingest CPU (this thread): %.2f s = %.0f spans per CPU-second (decode+validate %.2f s)\n", ingest_cpu,
                    spans_per_cpu_s, decode_cpu);
        std::printf("store: %.1f MB on disk (span file + SQLite index, WAL included; synchronous=NORMAL, %lld batches per Ingest call, a commit every 500 ms)\n",
                    static_cast<double>(stats.bytes) / 1e6, static_cast<long long>(per_commit));
        std::printf("trace by id (load + Jaeger JSON): p50 %.3f ms, p99 %.3f ms\n", Percentile(by_id_ms, 0.5), p99_id);
        std::printf("search service + user_id tag, limit 20: p50 %.3f ms, p99 %.3f ms (%zu/%lld found)\n",
                    Percentile(sel_ms, 0.5), p99_sel, found_sel, static_cast<long long>(queries));
        std::printf("search service + symbol + error=true, limit 20: p50 %.3f ms, p99 %.3f ms\n",
                    Percentile(broad_ms, 0.5), p99_broad);
        std::printf("overload (queue 16 batches): %lld accepted, %lld refused (503), RSS %ld → peak %ld KiB\n",
                    static_cast<long long>(accepted), static_cast<long long>(refused), rss_before, rss_peak);
    }
    store.reset();
    if (temp) {
        std::filesystem::remove_all(dir);
    }
    return 0;
}
