#pragma once
/// The embedded span and log store (SQLite, one database file per time window).
///
/// Layout and why (see docs/benchmarks.md for the numbers): per window a database file and a
/// span file (`w-<ms>.db`, `w-<ms>.db-seg`). The span file holds, appended, one *chunk* per
/// (trace, Ingest call): the trace's spans of that call as a serialized OTLP `TracesData` (the
/// requests' wire bytes, sliced). Indexes are per trace, not per span: a summary row per trace
/// (start, duration, root service/operation, span and error counts, services, and the offsets of
/// its chunks), one row per (trace, service, commit) with its time, operations, min/max span
/// duration and error count, appended and indexed by (service, time), and a tag row per
/// (trace, key, value) for a chosen set of keys
/// (`kDefaultIndexedTags` + `--index-tags`), keyed by tag *block* first so that one commit's tag
/// rows land on a few pages; a tag search seeks each block. Other tags are found by reading
/// candidate traces; when an operation is combined with a duration or error filter the
/// candidate's spans are checked. Windows are per ingest time (default one hour), so retention
/// by age and size deletes whole files.
///
/// Durability: `Ingest` writes the calls' chunks to the span file, each behind a small frame
/// header, and its rows into an open transaction, and returns; the span file is then the
/// journal of what was answered since the last commit. The transaction commits once it is
/// `commit_interval` old (at the next `Ingest` or `Flush`), before any query, and on shutdown,
/// with the span-file offset it covers (`meta.seg_mark`). Reopening a window replays the frames
/// past that mark, so a batch whose request was answered 200 survives a process crash as well
/// as a clean shutdown (not a power loss of the last seconds: WAL with synchronous=NORMAL, and
/// the span file is fdatasync'ed before each checkpoint only). One commit per interval instead
/// of one per request is the point: each commit rewrites every page it dirtied to the WAL, and a
/// trace's summary row (appended, its id's entry in the trace-id index on a random page) is
/// written once per commit instead of once per request that carried its spans.
///
/// Threading: `Ingest`, `Flush` and `ApplyRetention` are called by one writer thread; every
/// query method is safe to call concurrently from any thread (each uses its own connections,
/// after committing what `Ingest` has written: a query sees every answered batch).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowex/collector/otlp_decode.hpp"
#include "flowex/common/clock.hpp"
#include "flowex/common/result.hpp"
#include "opentelemetry/proto/logs/v1/logs.pb.h"
#include "opentelemetry/proto/trace/v1/trace.pb.h"

namespace flowex::collector {

/// Tag keys indexed by default (DESIGN §5's searchable attributes and the usual suspects).
inline const std::vector<std::string> kDefaultIndexedTags = {
    "user_id", "order_id", "symbol", "side", "error.type", "http.response.status_code",
    "db.system.name", "user.tier",
};

/// The service name spans are indexed under once StoreOptions::max_services is reached.
inline constexpr std::string_view kOverflowService = "(overflow)";

struct StoreOptions {
    std::string data_dir;
    std::chrono::nanoseconds window = std::chrono::hours(1);
    std::chrono::nanoseconds max_age = std::chrono::hours(24 * 7);  // 0 = unlimited
    std::int64_t max_bytes = 0;                                     // 0 = unlimited
    std::vector<std::string> extra_index_tags;
    /// Traces per tag block (the unit a tag search seeks; see the layout note above).
    std::int64_t tag_block_traces = 2048;
    /// Memory for dependency inference: the most recent traces' spans (id → service) and their
    /// children still waiting for a parent, so that a parent and child in different requests
    /// are joined (about 20,000 of the exchange's traces).
    std::size_t dependency_memory_bytes = std::size_t{16} << 20;
    /// Trace summaries the writer keeps (about 600 bytes each in the exchange, so ~120 MB at
    /// the default), so that a trace's later batches merge without reading its row back: the
    /// traces first seen most recently, ~11 minutes of the exchange at 300 orders/s. At least 16.
    std::size_t summary_cache_traces = 200'000;
    /// Distinct service names (resources' service.name and database peers) the writer keeps
    /// (~200 bytes each, for the process's life): spans of a service first seen past this
    /// are indexed under kOverflowService (their stored bytes keep the real name).
    std::size_t max_services = 10'000;
    /// How long `Ingest`'s rows may wait for their commit (0: commit in every call).
    std::chrono::nanoseconds commit_interval = std::chrono::seconds(2);
    const common::Clock* clock = nullptr;  // default: the system clock
};

struct ServiceCount {
    std::string name;
    std::int64_t spans = 0;
    std::int64_t errors = 0;
};

struct TraceSummary {
    std::string trace_id;  // 16 raw bytes
    std::int64_t start_ns = 0;
    std::int64_t end_ns = 0;
    std::string root_service;
    std::string root_operation;
    bool has_root = false;
    std::int64_t span_count = 0;
    std::int64_t error_count = 0;
    std::vector<ServiceCount> services;
};

/// One span as the RED metrics see it (filled by Ingest). The views point into the batches
/// given to Ingest and are valid as long as those live.
struct SpanFact {
    std::string_view service;
    std::string_view operation;
    int kind = 0;  // OTLP SpanKind
    std::int64_t start_ns = 0;
    std::int64_t duration_ns = 0;
    bool error = false;
};

struct IngestOutcome {
    std::int64_t spans = 0;
    std::int64_t logs = 0;
    std::vector<TraceSummary> new_traces;  // traces first seen in this call
    std::vector<SpanFact> facts;           // one per span (for RED metrics)
};

struct SearchQuery {
    std::string service;
    std::string operation;
    std::vector<std::pair<std::string, std::string>> tags;  // "error" → "true" included
    std::int64_t start_min_ns = 0;
    std::int64_t start_max_ns = INT64_MAX;
    std::int64_t min_duration_ns = 0;
    std::int64_t max_duration_ns = 0;  // 0 = none
    std::size_t limit = 20;
};

struct OperationInfo {
    std::string name;
    int kind = 0;  // OTLP SpanKind
};

struct DependencyLink {
    std::string parent;
    std::string child;
    std::int64_t calls = 0;
};

struct StoreStats {
    std::int64_t bytes = 0;
    std::int64_t windows = 0;
    std::int64_t deleted_windows = 0;
    std::int64_t commits = 0;          // SQLite transactions committed
    std::int64_t replayed_frames = 0;  // span-file frames stored again when a window reopened
    /// Set when Open could not store an older window's journaled frames again (they stay
    /// journaled; the next Open tries again): the window and the error.
    std::string replay_error;
};

class Store {
public:
    virtual ~Store() = default;

    /// Opens (creating) the store in options.data_dir; existing window files are reused.
    static common::Result<std::unique_ptr<Store>> Open(StoreOptions options);

    /// Stores decoded batches: journaled in the span file and visible to queries on return,
    /// committed within commit_interval (see Durability above). Writer thread only.
    virtual common::Result<IngestOutcome> Ingest(const std::vector<const DecodedTraces*>& traces,
                                                 const std::vector<const DecodedLogs*>& logs) = 0;
    /// Commits what `Ingest` has written when it is commit_interval old, or now if `now`.
    /// Writer thread only (the Ingestor calls it while idle and on shutdown).
    virtual common::Status Flush(bool now) = 0;
    /// Deletes window files beyond max_age / max_bytes. Writer thread only.
    virtual common::Status ApplyRetention() = 0;

    /// The trace's spans (every chunk, from every window), or nullopt when unknown. With
    /// `max_spans` > 0, at most that many in the order they arrived, and every root span (no
    /// parent) besides, so that a runaway trace costs a bounded read; `*omitted` (if given)
    /// counts the spans left out.
    virtual common::Result<std::optional<otlp_trace::TracesData>> GetTrace(
        const std::string& trace_id, std::int64_t max_spans = 0,
        std::int64_t* omitted = nullptr) const = 0;
    /// The trace's log records in the order they arrived. With `max_records` > 0, at most that
    /// many (the first to arrive), read one export at a time; `*omitted` (if given) counts the
    /// records left out.
    virtual common::Result<otlp_logs::LogsData> GetTraceLogs(
        const std::string& trace_id, std::int64_t max_records = 0,
        std::int64_t* omitted = nullptr) const = 0;
    /// Matching traces, newest first (at most query.limit).
    virtual common::Result<std::vector<TraceSummary>> Search(const SearchQuery& query) const = 0;
    virtual common::Result<std::vector<std::string>> Services() const = 0;
    virtual common::Result<std::vector<OperationInfo>> Operations(const std::string& service) const = 0;
    /// Parent → child service calls with a start in [end - lookback, end].
    virtual common::Result<std::vector<DependencyLink>> Dependencies(std::int64_t end_ns,
                                                                     std::int64_t lookback_ns) const = 0;
    virtual StoreStats Stats() const = 0;
};

/// Jaeger-style matching of a tag against an attribute value's text form.
std::string AnyValueText(const otlp_common::AnyValue& v);

}  // namespace flowex::collector
