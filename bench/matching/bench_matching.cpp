// flowex-bench-matching: replays a recorded order stream (../shared/bench/README.md) through one
// OrderBook on one thread and reports throughput and per-operation latency percentiles.
//
// Method: the stream is parsed into memory and the prefill orders applied before timing; then
// every measured operation is one book call bracketed by two reads of the CPU's time-stamp
// counter (calibrated against steady_clock), so latencies include one clock read (~10 ns).
// Throughput is operations over the wall time of the whole measured loop, clock reads included.
// The book maintains aggregated depth on every change; --depth N also reads an N-level snapshot
// of both sides after every operation, inside the timed window.
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "flowex/matching/order_book.hpp"
#include "flowex/matching/workload.hpp"

// The replacement operator new below is malloc-based, so its operator delete calls free; GCC
// cannot see that pairing through inlined library code and would warn.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Counts heap allocations so the report can show that the timed loop makes none.
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) { return p; }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}

namespace {

using flowex::matching::BookConfig;
using flowex::matching::DepthLevel;
using flowex::matching::Event;
using flowex::matching::EventType;
using flowex::matching::OrderBook;
using flowex::matching::Quantity;
using flowex::matching::SelfTradePrevention;
using flowex::matching::Side;
namespace workload = flowex::matching::workload;

constexpr int kUsageError = 2;

struct Options {
    std::string workload = FLOWEX_MATCHING_DEFAULT_WORKLOAD;
    bool json = false;
    int repeat = 1;
    std::size_t depth = 0;
};

struct RunResult {
    double ops_per_sec = 0;
    double p50_ns = 0;
    double p99_ns = 0;
    double p999_ns = 0;
    std::size_t operations = 0;
    std::size_t trades = 0;
    std::size_t resting = 0;
    std::uint64_t allocations = 0;
    double cpu_ops_per_sec = 0;  // over this thread's CPU time: excludes time preempted
};

void PrintUsage(std::FILE* out) {
    std::fprintf(out,
                 "Usage: flowex-bench-matching [--workload FILE] [--json] [--repeat N] "
                 "[--depth N]\n"
                 "\n"
                 "Replays an order stream (seq,op,order,side,price,qty,user; plain or gzip)\n"
                 "through one order book on one thread, self-trade prevention off.\n"
                 "Prefill (seq -1) is applied untimed; each measured operation is timed.\n"
                 "\n"
                 "  --workload FILE  stream to replay (default: %s)\n"
                 "  --json           print one JSON object: ops_per_sec, p50_ns, p99_ns,\n"
                 "                   p999_ns, operations, trades, resting\n"
                 "  --repeat N       run N times on fresh books; report the median of each\n"
                 "                   figure (default 1)\n"
                 "  --depth N        also read N aggregated levels of both sides after every\n"
                 "                   operation, inside the timed window (default 0)\n"
                 "  --help           this text\n",
                 FLOWEX_MATCHING_DEFAULT_WORKLOAD);
}

bool ParseCount(std::string_view text, long min, long max, long& out) {
    char* end = nullptr;
    const std::string copy(text);
    const long value = std::strtol(copy.c_str(), &end, 10);
    if (copy.empty() || *end != '\0' || value < min || value > max) { return false; }
    out = value;
    return true;
}

// Returns -1 to continue, or an exit code.
int ParseArgs(int argc, char** argv, Options& options) {
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](std::string_view name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "flowex-bench-matching: %.*s needs a value\n",
                             static_cast<int>(name.size()), name.data());
                return nullptr;
            }
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            PrintUsage(stdout);
            return 0;
        }
        if (arg == "--json") {
            options.json = true;
        } else if (arg == "--workload") {
            const char* v = value(arg);
            if (v == nullptr) { return kUsageError; }
            options.workload = v;
        } else if (arg == "--repeat" || arg == "--depth") {
            const char* v = value(arg);
            long parsed = 0;
            if (v == nullptr || !ParseCount(v, arg == "--repeat" ? 1 : 0, 1000, parsed)) {
                std::fprintf(stderr, "flowex-bench-matching: bad value for %s\n", argv[i - 1]);
                return kUsageError;
            }
            if (arg == "--repeat") {
                options.repeat = static_cast<int>(parsed);
            } else {
                options.depth = static_cast<std::size_t>(parsed);
            }
        } else {
            std::fprintf(stderr, "flowex-bench-matching: unknown argument '%s'\n", argv[i]);
            PrintUsage(stderr);
            return kUsageError;
        }
    }
    return -1;
}

#if defined(__x86_64__)
inline std::uint64_t Ticks() {
    return __rdtsc();
}
#else
inline std::uint64_t Ticks() {
    return static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}
#endif

// Nanoseconds per Ticks() unit, measured against steady_clock over ~200 ms.
double CalibrateNsPerTick() {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    const std::uint64_t c0 = Ticks();
    while (Clock::now() - t0 < std::chrono::milliseconds(200)) {}
    const auto t1 = Clock::now();
    const std::uint64_t c1 = Ticks();
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    return ns / static_cast<double>(c1 - c0);
}

double ThreadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double Percentile(std::vector<std::uint32_t>& sorted_scratch, double q) {
    const auto index = static_cast<std::size_t>(q * static_cast<double>(sorted_scratch.size() - 1));
    std::nth_element(sorted_scratch.begin(), sorted_scratch.begin() + static_cast<long>(index),
                     sorted_scratch.end());
    return sorted_scratch[index];
}

RunResult RunOnce(const workload::Workload& stream, const Options& options, double ns_per_tick,
                  std::vector<std::uint32_t>& latencies) {
    OrderBook book(
        BookConfig{.self_trade_prevention = SelfTradePrevention::kNone, .expected_orders = 4096});
    for (const workload::Op& op : stream.prefill) { workload::Apply(book, op); }
    std::vector<DepthLevel> depth(std::max<std::size_t>(options.depth, 1));
    const std::span<DepthLevel> depth_out(depth.data(), options.depth);
    const std::size_t n = stream.measured.size();
    latencies.assign(n, 0);
    std::size_t trades = 0;
    Quantity sink = 0;

    const std::uint64_t allocations_before = g_allocations.load(std::memory_order_relaxed);
    const double cpu_start = ThreadCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t t0 = Ticks();
        const std::span<const Event> events = workload::Apply(book, stream.measured[i]);
        for (const Event& event : events) { trades += event.type == EventType::kTrade ? 1U : 0U; }
        if (!depth_out.empty()) {
            book.Depth(Side::kBuy, depth_out);
            book.Depth(Side::kSell, depth_out);
            sink += depth_out[0].quantity;
        }
        const std::uint64_t t1 = Ticks();
        latencies[i] = static_cast<std::uint32_t>(std::min<std::uint64_t>(t1 - t0, UINT32_MAX));
    }
    const auto stop = std::chrono::steady_clock::now();
    const double cpu_seconds = ThreadCpuSeconds() - cpu_start;
    const std::uint64_t allocations_after = g_allocations.load(std::memory_order_relaxed);
    asm volatile("" : : "r"(sink) : "memory");

    RunResult result;
    const double seconds = std::chrono::duration<double>(stop - start).count();
    result.operations = n;
    result.ops_per_sec = n == 0 ? 0 : static_cast<double>(n) / seconds;
    result.cpu_ops_per_sec = n == 0 ? 0 : static_cast<double>(n) / cpu_seconds;
    if (n > 0) {
        result.p50_ns = Percentile(latencies, 0.50) * ns_per_tick;
        result.p99_ns = Percentile(latencies, 0.99) * ns_per_tick;
        result.p999_ns = Percentile(latencies, 0.999) * ns_per_tick;
    }
    result.trades = trades;
    result.resting = book.OrderCount();
    result.allocations = allocations_after - allocations_before;
    return result;
}

template <class F>
double Median(std::vector<RunResult>& runs, F field) {
    std::vector<double> values;
    values.reserve(runs.size());
    for (const RunResult& run : runs) { values.push_back(field(run)); }
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (const int code = ParseArgs(argc, argv, options); code >= 0) { return code; }
    workload::Workload stream;
    std::string error;
    if (!workload::Load(options.workload, stream, error)) {
        std::fprintf(stderr, "flowex-bench-matching: %s\n", error.c_str());
        return kUsageError;
    }
    const double ns_per_tick = CalibrateNsPerTick();
    std::vector<std::uint32_t> latencies;
    latencies.reserve(stream.measured.size());
    std::vector<RunResult> runs;
    runs.reserve(static_cast<std::size_t>(options.repeat));
    for (int r = 0; r < options.repeat; ++r) {
        runs.push_back(RunOnce(stream, options, ns_per_tick, latencies));
    }
    RunResult median = runs.back();
    median.ops_per_sec = Median(runs, [](const RunResult& x) { return x.ops_per_sec; });
    median.p50_ns = Median(runs, [](const RunResult& x) { return x.p50_ns; });
    median.p99_ns = Median(runs, [](const RunResult& x) { return x.p99_ns; });
    median.p999_ns = Median(runs, [](const RunResult& x) { return x.p999_ns; });
    median.cpu_ops_per_sec = Median(runs, [](const RunResult& x) { return x.cpu_ops_per_sec; });

    if (options.json) {
        std::printf(
            "{\"ops_per_sec\":%.0f,\"p50_ns\":%.0f,\"p99_ns\":%.0f,\"p999_ns\":%.0f,"
            "\"operations\":%zu,\"trades\":%zu,\"resting\":%zu}\n",
            median.ops_per_sec, median.p50_ns, median.p99_ns, median.p999_ns, median.operations,
            median.trades, median.resting);
        return 0;
    }
    std::printf("workload     %s\n", options.workload.c_str());
    std::printf("prefill      %zu orders (untimed)\n", stream.prefill.size());
    std::printf("operations   %zu\n", median.operations);
    std::printf("depth read   %zu levels per side after every operation\n", options.depth);
    for (std::size_t r = 0; r < runs.size(); ++r) {
        std::printf(
            "run %-2zu       %.2f M ops/s  p50 %.0f ns  p99 %.0f ns  p99.9 %.0f ns"
            "  (%.2f M ops per CPU-second)\n",
            r + 1, runs[r].ops_per_sec / 1e6, runs[r].p50_ns, runs[r].p99_ns, runs[r].p999_ns,
            runs[r].cpu_ops_per_sec / 1e6);
    }
    std::printf(
        "median       %.2f M ops/s  p50 %.0f ns  p99 %.0f ns  p99.9 %.0f ns"
        "  (%.2f M ops per CPU-second)\n",
        median.ops_per_sec / 1e6, median.p50_ns, median.p99_ns, median.p999_ns,
        median.cpu_ops_per_sec / 1e6);
    std::printf("trades       %zu\n", median.trades);
    std::printf("resting      %zu\n", median.resting);
    std::printf("allocations  %llu during the timed loop\n",
                static_cast<unsigned long long>(median.allocations));
    return 0;
}
