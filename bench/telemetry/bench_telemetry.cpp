// Telemetry SDK micro-benchmarks. Run with --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true (see docs/benchmarks.md).
//
// BM_SpanStart4AttrsEnd is the loop the issue compares with opentelemetry-cpp: a tracer from a
// provider with a default BatchSpanProcessor (queue 2048, batch 512, delay 5 s) and an exporter
// that discards; StartSpan("op") + 4 attributes (2 strings, 1 int64, 1 double) + End(). The
// batch worker thread runs during the measurement. Counters:
//   dropped          spans the processor dropped (queue full) during the run
//   dropped_pct      the same as a percentage of spans ended
//   exported         spans the discarding exporter received (after a final ForceFlush)
//   cpu_ns_per_span  process CPU time (all threads: caller + batch worker) per span
// The run fails unless exported + dropped == spans started: every span reached the exporter
// or was counted as dropped.
//
// For the figures run it as `taskset -c 1 chrt -f 50 ...`: on one CPU the worker, one
// real-time priority above the caller, takes the CPU as soon as a batch is complete, and
// whatever stops the CPU stops both threads, so no span is dropped and the calling thread's
// wall time includes the worker's work. On two CPUs the worker polls on the other one and
// drops spans whenever that CPU is taken from it for longer than the queue lasts (~0.25 ms).
#include <benchmark/benchmark.h>
#include <time.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "flowex/telemetry/api/propagation.hpp"
#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/exporters/in_memory.hpp"
#include "flowex/telemetry/exporters/otlp_encode.hpp"
#include "flowex/telemetry/exporters/otlp_http.hpp"
#include "flowex/telemetry/instrumentation/instrumentation.hpp"
#include "flowex/telemetry/logs/logger.hpp"
#include "flowex/telemetry/sdk/processor.hpp"
#include "flowex/telemetry/sdk/resource.hpp"
#include "flowex/telemetry/sdk/tracer_provider.hpp"
#include "loopback_sink.hpp"

namespace {

using namespace flowex::telemetry;
namespace bench = flowex::bench;

constexpr std::chrono::milliseconds kPauseBeforeRun{100};

double ProcessCpuNanos() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

std::unique_ptr<sdk::TracerProvider> MakeProvider(std::shared_ptr<sdk::Sampler> sampler,
                                                  const exporters::NullSpanExporter*& exporter) {
    sdk::TracerProviderOptions o;
    o.resource = sdk::ResourceFromEnv(MapEnv({}), {"bench", "0.1.0"});
    o.sampler = std::move(sampler);
    auto null_exporter = std::make_unique<exporters::NullSpanExporter>();
    exporter = null_exporter.get();  // owned by the processor, alive as long as the provider
    o.processor =
        std::make_unique<sdk::BatchSpanProcessor>(std::move(null_exporter), sdk::BatchOptions{});
    return std::make_unique<sdk::TracerProvider>(std::move(o));
}

void SpanLoop(benchmark::State& state, std::shared_ptr<sdk::Sampler> sampler) {
    const exporters::NullSpanExporter* exporter = nullptr;
    auto provider = MakeProvider(std::move(sampler), exporter);
    Tracer tracer = provider->GetTracer("flowex.bench", "0.1.0");
    // Run under `chrt -f 50` on a shared machine, the caller and the batch worker keep both
    // CPUs from ordinary threads; Linux (the fair server, 6.12+) then takes each CPU from them
    // for up to 50 ms about once a second, at moments that differ by some milliseconds between
    // the CPUs; while the worker is stopped and the caller runs, every span is dropped once the
    // queue (~0.3 ms of spans) is full.
    // Pausing before each run lets that work run between runs instead (docs/benchmarks.md).
    std::this_thread::sleep_for(kPauseBeforeRun);
    const auto before = provider->Stats();
    const double cpu0 = ProcessCpuNanos();
    for (auto _ : state) {
        Span span = tracer.StartSpan("op");
        span.SetAttribute("http.request.method", "POST");
        span.SetAttribute("symbol", "AAPL");
        span.SetAttribute("user_id", std::int64_t{11});
        span.SetAttribute("order.value", 776.25);
        span.End();
    }
    // The worker's share of the work is included: flush before reading the CPU clock.
    provider->ForceFlush(std::chrono::seconds(30));
    const double cpu1 = ProcessCpuNanos();
    const auto after = provider->Stats();
    const double spans = static_cast<double>(state.iterations());
    const double dropped = static_cast<double>(after.processor.dropped - before.processor.dropped);
    const std::uint64_t started = after.spans_started - before.spans_started;
    const std::uint64_t exported = exporter->Count();
    if (exported != after.processor.exported ||
        exported + (after.processor.dropped - before.processor.dropped) != started) {
        state.SkipWithError("exported + dropped != started: spans went missing");
    }
    state.counters["dropped"] = dropped;
    state.counters["dropped_pct"] = spans > 0 ? 100.0 * dropped / spans : 0.0;
    state.counters["exported"] = static_cast<double>(exported);
    state.counters["cpu_ns_per_span"] = spans > 0 ? (cpu1 - cpu0) / spans : 0.0;
    state.SetItemsProcessed(state.iterations());
}

void BM_SpanStart4AttrsEnd(benchmark::State& state) {
    SpanLoop(state, sdk::ParentBasedSampler(sdk::AlwaysOnSampler()));
}
BENCHMARK(BM_SpanStart4AttrsEnd);

void BM_SpanAlwaysOff(benchmark::State& state) { SpanLoop(state, sdk::AlwaysOffSampler()); }
BENCHMARK(BM_SpanAlwaysOff);

// The no-op tracer (no SDK installed / OTEL_SDK_DISABLED=true).
void BM_SpanNoopTracer(benchmark::State& state) {
    Tracer tracer;
    for (auto _ : state) {
        Span span = tracer.StartSpan("op");
        span.SetAttribute("http.request.method", "POST");
        span.SetAttribute("symbol", "AAPL");
        span.SetAttribute("user_id", std::int64_t{11});
        span.SetAttribute("order.value", 776.25);
        span.End();
    }
}
BENCHMARK(BM_SpanNoopTracer);

// What the HTTP server middleware adds per request when tracing (http_overhead.sh measures
// the whole server): extract (no incoming traceparent), the SERVER span with its attributes,
// End, the queue push; the batch worker exports to an exporter that discards. No histogram
// (the untraced server records it too).
class NoHeaders final : public TextMapCarrier {
public:
    std::string_view Get(std::string_view) const noexcept override { return {}; }
    void Set(std::string_view, std::string_view) noexcept override {}
};

void BM_HttpServerSpan(benchmark::State& state) {
    const exporters::NullSpanExporter* exporter = nullptr;
    auto provider = MakeProvider(sdk::ParentBasedSampler(sdk::AlwaysOnSampler()), exporter);
    Tracer tracer = provider->GetTracer("bench-echo", "0.1.0");
    const NoHeaders headers;
    const TraceContextPropagator propagator;
    std::this_thread::sleep_for(kPauseBeforeRun);
    for (auto _ : state) {
        instrumentation::ServerSpan server = instrumentation::StartServerSpan(
            tracer,
            {.method = "POST",
             .route = "/echo",
             .path = "/echo",
             .server_address = "127.0.0.1",
             .server_port = 18080,
             .client_address = "127.0.0.1",
             .client_port = 41234,
             .user_agent = "",
             .headers = &headers},
            propagator);
        instrumentation::EndServerSpan(server, 200, nullptr);
    }
    provider->ForceFlush(std::chrono::seconds(30));
    state.counters["dropped"] = static_cast<double>(provider->Stats().processor.dropped);
}
BENCHMARK(BM_HttpServerSpan);

// A database CLIENT span as the services' storage observer starts one for every statement: the
// cached summary's operation and table, the parameterised text, ten attributes.
void BM_PostgresSpan(benchmark::State& state) {
    const exporters::NullSpanExporter* exporter = nullptr;
    auto provider = MakeProvider(sdk::ParentBasedSampler(sdk::AlwaysOnSampler()), exporter);
    Tracer tracer = provider->GetTracer("order-manager", "0.1.0");
    const Context parent;
    const instrumentation::DbCall call{
        .operation = "UPDATE",
        .table = "reservations",
        .query_text = "UPDATE reservations SET released = released + $1 WHERE order_id = $2",
        .server_address = "127.0.0.1",
        .server_port = 5432};
    std::this_thread::sleep_for(kPauseBeforeRun);
    for (auto _ : state) {
        Span span = instrumentation::StartPostgresSpan(tracer, parent, call);
        span.End();
    }
    provider->ForceFlush(std::chrono::seconds(30));
    state.counters["dropped"] = static_cast<double>(provider->Stats().processor.dropped);
}
BENCHMARK(BM_PostgresSpan);

class FixedCarrier final : public TextMapCarrier {
public:
    std::string_view traceparent;
    char out[64] = {};
    std::size_t out_size = 0;
    std::string_view Get(std::string_view key) const noexcept override {
        return key == kTraceparentHeader ? traceparent : std::string_view();
    }
    void Set(std::string_view key, std::string_view value) noexcept override {
        if (key == kTraceparentHeader && value.size() <= sizeof(out)) {
            std::copy(value.begin(), value.end(), out);
            out_size = value.size();
        }
    }
};

// Extract the incoming traceparent into a Context, inject it into an outgoing request.
void BM_TraceparentExtractInject(benchmark::State& state) {
    const TraceContextPropagator propagator;
    FixedCarrier carrier;
    carrier.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const Context base;
    for (auto _ : state) {
        const Context ctx = propagator.Extract(carrier, base);
        propagator.Inject(ctx, carrier);
        benchmark::DoNotOptimize(carrier.out_size);
    }
    if (std::string_view(carrier.out, carrier.out_size) != carrier.traceparent) {
        state.SkipWithError("round trip changed the header");
    }
}
BENCHMARK(BM_TraceparentExtractInject);

// A batch of 512 representative spans (4 attributes, parent, one in eight with an event).
struct SampleBatch {
    std::shared_ptr<exporters::InMemorySpanStorage> storage =
        std::make_shared<exporters::InMemorySpanStorage>();
    std::unique_ptr<sdk::TracerProvider> provider;
    std::vector<sdk::SpanData> spans;
    std::vector<const sdk::SpanData*> ptrs;

    SampleBatch() {
        sdk::TracerProviderOptions o;
        o.resource = sdk::ResourceFromEnv(MapEnv({}), {"order-manager", "0.1.0"});
        o.sampler = sdk::AlwaysOnSampler();
        o.processor = std::make_unique<sdk::SimpleSpanProcessor>(
            std::make_unique<exporters::InMemorySpanExporter>(storage));
        provider = std::make_unique<sdk::TracerProvider>(std::move(o));
        Tracer tracer = provider->GetTracer("flowex.bench", "0.1.0");
        Span root = tracer.StartSpan("POST /v1/order", {.kind = SpanKind::kServer});
        const Context ctx = root.MakeContext(Context());
        for (int i = 0; i < 511; ++i) {
            Span s = tracer.StartSpan("create_order", {.parent = &ctx});
            s.SetAttribute("http.request.method", "POST");
            s.SetAttribute("symbol", "AAPL");
            s.SetAttribute("user_id", std::int64_t{11 + i});
            s.SetAttribute("order.value", 776.25);
            if (i % 8 == 0) {
                s.AddEvent("validated", {{"result", "accepted"}});
            }
        }
        root.End();
        spans = storage->Take();
        for (const auto& s : spans) {
            ptrs.push_back(&s);
        }
    }
};

void BM_OtlpProtobufEncode(benchmark::State& state) {
    SampleBatch batch;
    std::string out;
    for (auto _ : state) {
        out.clear();
        exporters::EncodeTracesProtobuf(batch.ptrs, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch.ptrs.size()));
    state.counters["bytes_per_span"] =
        static_cast<double>(out.size()) / static_cast<double>(batch.ptrs.size());
}
BENCHMARK(BM_OtlpProtobufEncode);

// 512 SERVER spans as the HTTP middleware records them for the echo server (http_overhead.sh).
// The spans point into the provider (resource, scope): it lives as long as they do.
struct EchoServerSpans {
    std::unique_ptr<sdk::TracerProvider> provider;
    std::vector<sdk::SpanData> spans;
    std::vector<const sdk::SpanData*> ptrs;

    EchoServerSpans() {
        auto storage = std::make_shared<exporters::InMemorySpanStorage>();
        sdk::TracerProviderOptions o;
        o.resource = sdk::ResourceFromEnv(MapEnv({}), {"bench-echo", "0.1.0"});
        o.sampler = sdk::AlwaysOnSampler();
        o.processor = std::make_unique<sdk::SimpleSpanProcessor>(
            std::make_unique<exporters::InMemorySpanExporter>(storage));
        provider = std::make_unique<sdk::TracerProvider>(std::move(o));
        Tracer tracer = provider->GetTracer("bench-echo");
        const NoHeaders headers;
        const TraceContextPropagator propagator;
        for (int i = 0; i < 512; ++i) {
            instrumentation::ServerSpan server = instrumentation::StartServerSpan(
                tracer,
                {.method = "POST", .route = "/echo", .path = "/echo",
                 .server_address = "127.0.0.1", .server_port = 18080,
                 .client_address = "127.0.0.1", .client_port = 41234 + i, .headers = &headers},
                propagator);
            instrumentation::EndServerSpan(server, 200, nullptr);
        }
        spans = storage->Take();
        for (const auto& sd : spans) {
            ptrs.push_back(&sd);
        }
    }
};

// What the batch worker encodes there.
void BM_OtlpProtobufEncodeServerSpans(benchmark::State& state) {
    const EchoServerSpans echo;
    const auto& ptrs = echo.ptrs;
    std::string out;
    for (auto _ : state) {
        out.clear();
        exporters::EncodeTracesProtobuf(ptrs, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(ptrs.size()));
    state.counters["bytes_per_span"] =
        static_cast<double>(out.size()) / static_cast<double>(ptrs.size());
}
BENCHMARK(BM_OtlpProtobufEncodeServerSpans);

double ThreadCpuNanos() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// The batch worker's share of http_overhead.sh: 512 echo-server spans encoded and sent to a
// loopback sink as one OTLP/HTTP request, answer read. cpu_ns_per_span: the exporting thread's
// CPU time per span (on loopback the kernel's receive path for the sink runs there too).
// FLOWEX_BENCH_SINK_CPU=N pins the sink's thread to CPU N; http_overhead.sh keeps its sink off
// the server's CPU, and on the 2-vCPU VM of docs/benchmarks.md waking a sink on the other CPU
// and being woken by its answer roughly doubles this figure.
void BM_OtlpHttpExportServerSpans(benchmark::State& state) {
    const EchoServerSpans echo;
    const auto& ptrs = echo.ptrs;
    bench::LoopbackSink sink;
    exporters::OtlpHttpSpanExporter exporter(
        {.endpoint = "http://127.0.0.1:" + std::to_string(sink.Port()) + "/v1/traces"});
    double failures = 0;
    const double cpu0 = ThreadCpuNanos();
    for (auto _ : state) {
        if (exporter.Export(ptrs) != sdk::ExportResult::kSuccess) {
            ++failures;
        }
    }
    const double cpu1 = ThreadCpuNanos();
    const double n = static_cast<double>(state.iterations()) * static_cast<double>(ptrs.size());
    state.SetItemsProcessed(static_cast<std::int64_t>(n));
    state.counters["cpu_ns_per_span"] = (cpu1 - cpu0) / n;
    state.counters["failures"] = failures;
}
BENCHMARK(BM_OtlpHttpExportServerSpans)->UseRealTime();

void BM_OtlpJsonEncode(benchmark::State& state) {
    SampleBatch batch;
    std::string out;
    for (auto _ : state) {
        out.clear();
        exporters::EncodeTracesJson(batch.ptrs, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch.ptrs.size()));
}
BENCHMARK(BM_OtlpJsonEncode);

// A service's log line as an OTLP log record: Logger::Log inside a span (the record carries its
// ids), no console or file output, a BatchLogProcessor with the specification's defaults and
// the OTLP/HTTP protobuf exporter sending to a loopback sink. Counters: cpu_ns_per_record is
// process CPU (caller, batch worker, exporter, and the sink's receive) per record, after a
// final flush; dropped, the records the processor dropped (queue full).
void BM_LogRecordOtlp(benchmark::State& state) {
    bench::LoopbackSink sink;
    auto processor = std::make_shared<logs::BatchLogProcessor>(
        std::make_unique<exporters::OtlpHttpLogExporter>(exporters::OtlpHttpOptions{
            .endpoint = "http://127.0.0.1:" + std::to_string(sink.Port()) + "/v1/logs"}));
    logs::LoggerOptions options;
    options.service_name = "bench";
    options.console = false;
    options.otlp = processor;
    options.resource = sdk::ResourceFromEnv(MapEnv({}), {"bench", "0.1.0"});
    logs::Logger logger(std::move(options));
    TraceId trace_id;
    SpanId span_id;
    (void)trace_id.FromHex("4bf92f3577b34da6a3ce929d0e0e4736");
    (void)span_id.FromHex("00f067aa0ba902b7");
    const Context ctx =
        Context().WithSpanContext(SpanContext(trace_id, span_id, TraceFlags{1}, false));
    const std::string line = "127.0.0.1:54321 - \"POST /v1/order HTTP/1.1\" 201 Created";
    std::this_thread::sleep_for(kPauseBeforeRun);
    const auto before = processor->Stats();
    const double cpu0 = ProcessCpuNanos();
    for (auto _ : state) {
        logger.Log(logs::Severity::kInfo, ctx, line);
    }
    logger.Flush(std::chrono::seconds(30));
    const double cpu1 = ProcessCpuNanos();
    const auto after = processor->Stats();
    const double n = static_cast<double>(state.iterations());
    state.counters["cpu_ns_per_record"] = (cpu1 - cpu0) / n;
    state.counters["dropped"] = static_cast<double>(after.dropped - before.dropped);
    state.counters["exported"] = static_cast<double>(after.exported - before.exported);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LogRecordOtlp);

}  // namespace

BENCHMARK_MAIN();
