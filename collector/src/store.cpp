#include "flowex/collector/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "sqlite_db.hpp"
#include "trace_keys.hpp"

namespace flowex::collector {

using common::Error;
using common::ErrorCode;
using common::Result;
using common::Status;
namespace fs = std::filesystem;

namespace {

// `traces` is a rowid table with a unique index on trace_id, so that a new trace's summary
// (a few hundred bytes) is appended to the table's last pages and only the index's 16-byte key
// lands on a random page; as a WITHOUT ROWID table keyed by trace id, every commit rewrote a
// random page per trace to the WAL (3 % more CPU; docs/benchmarks.md). Windows of that layout
// keep it: every statement reads and upserts by trace_id either way.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chunks(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_trace ON chunks(trace_id);
CREATE TABLE IF NOT EXISTS traces(trace_id BLOB NOT NULL UNIQUE, start_ns INTEGER, end_ns INTEGER,
  duration_ns INTEGER, root_service TEXT, root_operation TEXT, has_root INTEGER,
  span_count INTEGER, error_count INTEGER, services TEXT, refs BLOB, tb0 INTEGER, tb1 INTEGER,
  log_refs BLOB);
CREATE INDEX IF NOT EXISTS traces_start ON traces(start_ns);
CREATE TABLE IF NOT EXISTS svcr(service TEXT, start_ns INTEGER, trace_id BLOB,
  min_dur INTEGER, max_dur INTEGER, errors INTEGER, ops TEXT);
CREATE INDEX IF NOT EXISTS svcr_start ON svcr(service, start_ns);
CREATE INDEX IF NOT EXISTS svcr_errors ON svcr(service, start_ns) WHERE errors > 0;
CREATE TABLE IF NOT EXISTS tagb(block INTEGER, key TEXT, value TEXT, trace_id BLOB, start_ns INTEGER,
  PRIMARY KEY(block, key, value, trace_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS operations(service TEXT, name TEXT, kind INTEGER,
  PRIMARY KEY(service, name, kind)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deps(minute INTEGER, parent TEXT, child TEXT, calls INTEGER,
  PRIMARY KEY(minute, parent, child)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs(id INTEGER PRIMARY KEY, trace_id BLOB NOT NULL, time_ns INTEGER, data BLOB NOT NULL,
  ref BLOB);
CREATE INDEX IF NOT EXISTS logs_trace ON logs(trace_id);
)sql";

std::uint64_t SpanKeyOf(std::string_view id) {
    std::uint64_t v = 0;
    if (id.size() == 8) {
        std::memcpy(&v, id.data(), 8);
    }
    return v;
}

void AppendVarint(std::string* out, std::uint64_t v) {
    while (v >= 0x80) {
        out->push_back(static_cast<char>(v | 0x80));
        v >>= 7;
    }
    out->push_back(static_cast<char>(v));
}
std::size_t VarintSize(std::uint64_t v) {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

std::string ServiceOf(const otlp_resource::Resource& r) {
    for (const auto& kv : r.attributes()) {
        if (kv.key() == "service.name" && kv.value().has_string_value()) {
            return kv.value().string_value();
        }
    }
    return "unknown_service";
}

std::string EncodeServices(const std::vector<ServiceCount>& s) {
    std::string out;
    for (const auto& c : s) {
        out += std::to_string(c.spans);
        out += ' ';
        out += std::to_string(c.errors);
        out += ' ';
        out += c.name;
        out += '\n';
    }
    return out;
}
std::vector<ServiceCount> DecodeServices(std::string_view text) {
    std::vector<ServiceCount> out;
    while (!text.empty()) {
        std::size_t nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ServiceCount c;
        auto r1 = std::from_chars(line.data(), line.data() + line.size(), c.spans);
        if (r1.ec != std::errc() || r1.ptr >= line.data() + line.size()) {
            continue;
        }
        const char* p = r1.ptr + 1;
        auto r2 = std::from_chars(p, line.data() + line.size(), c.errors);
        if (r2.ec != std::errc() || r2.ptr >= line.data() + line.size()) {
            continue;
        }
        c.name = std::string(r2.ptr + 1, line.data() + line.size());
        out.push_back(std::move(c));
    }
    return out;
}

void MergeSummary(TraceSummary* into, const TraceSummary& d) {
    if (into->span_count == 0) {
        std::string id = std::move(into->trace_id);
        *into = d;
        if (!id.empty()) {
            into->trace_id = std::move(id);
        }
        return;
    }
    bool earlier = d.start_ns < into->start_ns;
    into->start_ns = std::min(into->start_ns, d.start_ns);
    into->end_ns = std::max(into->end_ns, d.end_ns);
    if (d.has_root && !into->has_root) {
        into->root_service = d.root_service;
        into->root_operation = d.root_operation;
        into->has_root = true;
    } else if (!into->has_root && earlier) {
        into->root_service = d.root_service;
        into->root_operation = d.root_operation;
    }
    into->span_count += d.span_count;
    into->error_count += d.error_count;
    for (const auto& s : d.services) {
        auto it = std::find_if(into->services.begin(), into->services.end(),
                               [&](const ServiceCount& c) { return c.name == s.name; });
        if (it == into->services.end()) {
            into->services.push_back(s);
        } else {
            it->spans += s.spans;
            it->errors += s.errors;
        }
    }
}

// Gathers a trace's chunks (SqliteStore::VisitChunks) into one: all their spans, or with a limit,
// the first `max_spans` to arrive and every root span besides, counting the others. One chunk
// is in memory at a time, so a limited read of a runaway trace stays small.
class SpanGatherer {
public:
    SpanGatherer(otlp_trace::TracesData* into, std::int64_t max_spans)
        : into_(into), budget_(max_spans), limited_(max_spans > 0) {}

    void Add(otlp_trace::TracesData& chunk) {
        for (auto& rs : *chunk.mutable_resource_spans()) {
            if (limited_ && !Select(&rs)) { continue; }
            *into_->add_resource_spans() = std::move(rs);
        }
    }
    std::int64_t omitted() const { return omitted_; }

private:
    // Keeps what the budget allows (in order) and the roots; false when nothing is kept.
    bool Select(otlp_trace::ResourceSpans* rs) {
        auto* scopes = rs->mutable_scope_spans();
        int kept_scopes = 0;
        for (int i = 0; i < scopes->size(); ++i) {
            auto* spans = scopes->Mutable(i)->mutable_spans();
            int kept = 0;
            for (int j = 0; j < spans->size(); ++j) {
                const bool root = spans->Get(j).parent_span_id().empty();
                if (budget_ > 0 || root) {
                    budget_ -= budget_ > 0 ? 1 : 0;
                    spans->SwapElements(j, kept++);  // only left-out spans lie in between
                } else {
                    ++omitted_;
                }
            }
            spans->DeleteSubrange(kept, spans->size() - kept);
            if (kept > 0) { scopes->SwapElements(i, kept_scopes++); }
        }
        scopes->DeleteSubrange(kept_scopes, scopes->size() - kept_scopes);
        return kept_scopes > 0;
    }

    otlp_trace::TracesData* into_;
    std::int64_t budget_;
    bool limited_;
    std::int64_t omitted_ = 0;
};

// Gathers a trace's log chunks into one: all their records, or with a limit the first
// `max_records` to arrive, counting the others.
class LogGatherer {
public:
    LogGatherer(otlp_logs::LogsData* into, std::int64_t max_records)
        : into_(into), budget_(max_records), limited_(max_records > 0) {}

    void Add(otlp_logs::LogsData& chunk) {
        for (auto& rl : *chunk.mutable_resource_logs()) {
            if (limited_ && !Select(&rl)) { continue; }
            *into_->add_resource_logs() = std::move(rl);
        }
    }
    std::int64_t omitted() const { return omitted_; }

private:
    // Keeps what the budget allows, in order; false when nothing is kept.
    bool Select(otlp_logs::ResourceLogs* rl) {
        auto* scopes = rl->mutable_scope_logs();
        int kept_scopes = 0;
        for (int i = 0; i < scopes->size(); ++i) {
            auto* records = scopes->Mutable(i)->mutable_log_records();
            const int kept = static_cast<int>(std::min<std::int64_t>(budget_, records->size()));
            budget_ -= kept;
            omitted_ += records->size() - kept;
            records->DeleteSubrange(kept, records->size() - kept);
            if (kept > 0) { scopes->SwapElements(i, kept_scopes++); }
        }
        scopes->DeleteSubrange(kept_scopes, scopes->size() - kept_scopes);
        return kept_scopes > 0;
    }

    otlp_logs::LogsData* into_;
    std::int64_t budget_;
    bool limited_;
    std::int64_t omitted_ = 0;
};

// Per (trace, service) in one batch: the index row that service searches start from.
struct SvcDelta {
    std::string_view service;
    std::int64_t start_ns;
    std::int64_t min_dur;
    std::int64_t max_dur;
    std::int64_t errors;
    std::string ops = "\n";  // "\nop1\nop2\n": operations of the service in the trace
};

// Appends an operation to ops ("\nop1\nop2\n") unless listed ("\nname\n" is unique as names
// have no '\n').
void AddOperation(std::string* ops, std::string_view name) {
    for (std::size_t pos = ops->find(name, 1); pos != std::string::npos; pos = ops->find(name, pos + 1)) {
        if ((*ops)[pos - 1] == '\n' && pos + name.size() < ops->size() && (*ops)[pos + name.size()] == '\n') {
            return;
        }
    }
    if (ops->size() < 8192) {
        ops->append(name);
        ops->push_back('\n');
    }
}

void MergeSvc(std::vector<SvcDelta>* into, SvcDelta d) {
    for (SvcDelta& x : *into) {
        if (x.service.data() == d.service.data() || x.service == d.service) {
            x.start_ns = std::min(x.start_ns, d.start_ns);
            x.min_dur = std::min(x.min_dur, d.min_dur);
            x.max_dur = std::max(x.max_dur, d.max_dur);
            x.errors += d.errors;
            std::string_view ops = d.ops;
            for (std::size_t at = 1; at < ops.size();) {
                std::size_t nl = ops.find('\n', at);
                if (nl == std::string_view::npos) { break; }
                AddOperation(&x.ops, ops.substr(at, nl - at));
                at = nl + 1;
            }
            return;
        }
    }
    into->push_back(std::move(d));
}

// A span as dependency inference sees it: its id, its parent's (0 for a root) and its service.
struct DepSpan {
    std::uint64_t span = 0;
    std::uint64_t parent = 0;
    std::uint32_t service = 0;
    std::int64_t minute = 0;
};
// Calls per (minute, parent service, child service) found by one Ingest call.
using EdgeMap = std::map<std::tuple<std::int64_t, std::uint32_t, std::uint32_t>, std::int64_t>;

// An INSERT of many rows a statement: `head` ("INSERT … VALUES") followed by kRows groups of
// `columns` parameters; the rows left over go one a statement. The writer's commits insert
// thousands of rows: a statement a row costs its step, reset and VDBE start for each.
class MultiRowInsert {
public:
    static constexpr std::size_t kRows = 32;

    MultiRowInsert(std::string_view head, int columns) : columns_(columns) {
        std::string group = "(";
        for (int c = 0; c < columns; ++c) { group += c == 0 ? "?" : ",?"; }
        group += ")";
        one_ = std::string(head) + group;
        many_ = one_;
        for (std::size_t r = 1; r < kRows; ++r) { many_ += "," + group; }
    }

    // Inserts rows 0 … count-1; bind(stmt, first, i) binds row i's columns from parameter
    // `first` on. `what` names the statement in an error.
    template <class BindRow>
    Status Run(Db& db, std::size_t count, std::string_view what, BindRow bind) const {
        std::size_t i = 0;
        while (i < count) {
            const std::size_t rows = count - i >= kRows ? kRows : 1;
            auto stmt = db.PrepareStatic(rows > 1 ? many_.c_str() : one_.c_str());
            if (!stmt) { return stmt.error(); }
            for (std::size_t r = 0; r < rows; ++r) {
                bind(*stmt, static_cast<int>(r) * columns_ + 1, i + r);
            }
            if (stmt->Run() != SQLITE_DONE) {
                return Error{ErrorCode::kInternal, std::string(what) + ": " + db.ErrorText()};
            }
            i += rows;
        }
        return {};
    }

private:
    int columns_;
    std::string one_;
    std::string many_;
};

// One ResourceSpans of a chunk: its resource and scope fields and a run of its trace's span
// fields, all as received (or as re-encoded in WriteTraces).
struct ChunkSection {
    std::string_view resource;
    std::string_view scope;
    std::size_t first_span = 0;  // into ChunkBuilder::spans
    std::size_t span_count = 0;
    std::size_t span_bytes = 0;
};

// One trace's chunk of an Ingest call (a TracesData) is kept as views of the request bytes and
// written once, into the span file's buffer: building it in a string of its own first copied
// every span twice and cost an allocation per trace.
struct ChunkBuilder {
    std::string trace_id;
    std::vector<std::string_view> spans;  // span fields, in the sections' order
    std::vector<ChunkSection> sections;
    std::size_t epoch = SIZE_MAX;
    TraceSummary delta;
    std::vector<SvcDelta> svcs;
    std::vector<std::pair<std::string_view, std::string>> tags;
    std::vector<DepSpan> deps;

    // Empties the builder for another trace and keeps its buffers' memory, up to a trace of
    // kKeptSpans spans: the pool's builders would otherwise each keep the largest trace they
    // ever held.
    static constexpr std::size_t kKeptSpans = 256;
    void Reset() {
        trace_id.clear();
        if (spans.capacity() > kKeptSpans || deps.capacity() > kKeptSpans ||
            sections.capacity() > kKeptSpans) {
            spans = {};
            deps = {};
            sections = {};
        }
        spans.clear();
        sections.clear();
        epoch = SIZE_MAX;
        std::vector<ServiceCount> services = std::move(delta.services);
        services.clear();
        delta = TraceSummary{};
        delta.services = std::move(services);
        svcs.clear();
        tags.clear();
        deps.clear();
    }
};

// A chunk's place in its window's span file: 8-byte offset and 4-byte length, little-endian
// (refs of one trace are concatenated in its `traces` row).
constexpr std::size_t kRefBytes = 12;

// Every chunk in a span file follows a frame header, which makes the file the journal replayed
// after a crash (see Durability in store.hpp): "fx", the kind (kSpanFrame: a TracesData,
// kLogFrame: a LogsData), format 1, and the chunk's length (4 bytes, little-endian). Refs
// point past the header, so readers never see it.
constexpr std::size_t kFrameHeaderBytes = 8;
constexpr char kSpanFrame = 'T';
constexpr char kLogFrame = 'L';

// Writer-side filter of the trace ids a window holds: a miss proves the trace is new there, so
// its summary row need not be read before the upsert (a hit may be a false positive: read).
class TraceFilter {
public:
    void Add(const TraceKey& k) {
        for (std::uint64_t h : Hashes(k)) { bits_[(h >> 6) & (kWords - 1)] |= 1ULL << (h & 63); }
    }
    bool MaybeContains(const TraceKey& k) const {
        for (std::uint64_t h : Hashes(k)) {
            if ((bits_[(h >> 6) & (kWords - 1)] & (1ULL << (h & 63))) == 0) { return false; }
        }
        return true;
    }

private:
    static constexpr std::size_t kWords = std::size_t{1} << 20;  // 64 Mi bits = 8 MiB
    static std::array<std::uint64_t, 3> Hashes(const TraceKey& k) {
        std::uint64_t a = (k.hi ^ (k.lo >> 29)) * 0x9E3779B97F4A7C15ULL;
        std::uint64_t b = (k.lo ^ (k.hi >> 31)) * 0xC2B2AE3D27D4EB4FULL;
        return {a ^ (b >> 32), b ^ (a >> 32), (a + b) * 0x165667B19E3779F9ULL};
    }
    std::vector<std::uint64_t> bits_ = std::vector<std::uint64_t>(kWords);
};

// A window: one database file covering an ingest-time interval, and beside it the span file
// ("-seg"): the chunks' OTLP bytes, appended; the database's trace rows point into it.
struct Window {
    std::string path;
    std::int64_t created_ns = 0;
    std::unique_ptr<Db> writer;  // writer thread only
    std::unordered_set<std::uint64_t> known_operations;  // hashes; writer thread only
    int seg_write_fd = -1;                               // writer thread only
    std::int64_t seg_size = 0;                           // committed end; writer thread only
    std::int64_t seg_kicked = 0;  // writeback started up to here; writer thread only
    std::unique_ptr<TraceFilter> seen;                   // writer thread only
    std::int64_t tag_block = 0;                          // writer thread only
    std::int64_t tag_block_traces = 0;                   // writer thread only
    std::mutex mu;
    std::vector<std::unique_ptr<Db>> idle_readers;
    int seg_read_fd = -1;  // guarded by mu; pread is safe from many threads once open
    bool remove_files = false;

    std::string SegPath() const { return path + "-seg"; }

    // The span file for reading (opened on first use); -1 when it does not exist (a window
    // written before span files, or before its first chunk).
    int SegReadFd() {
        std::lock_guard lock(mu);
        if (seg_read_fd < 0) { seg_read_fd = ::open(SegPath().c_str(), O_RDONLY | O_CLOEXEC); }
        return seg_read_fd;
    }

    void CloseWriter() {
        writer.reset();
        known_operations.clear();
        seen.reset();
        if (seg_write_fd >= 0) {
            ::close(seg_write_fd);
            seg_write_fd = -1;
        }
    }

    ~Window() {
        idle_readers.clear();
        CloseWriter();
        if (seg_read_fd >= 0) { ::close(seg_read_fd); }
        if (remove_files) {
            std::error_code ec;
            fs::remove(path, ec);
            fs::remove(path + "-wal", ec);
            fs::remove(path + "-shm", ec);
            fs::remove(SegPath(), ec);
        }
    }

    std::int64_t Bytes() const {
        std::error_code ec;
        std::int64_t total = 0;
        for (const char* suffix : {"", "-wal", "-seg"}) {
            auto n = fs::file_size(path + suffix, ec);
            if (!ec) {
                total += static_cast<std::int64_t>(n);
            }
        }
        return total;
    }
};

// Borrows a reader connection of a window for one query.
class ReaderLease {
public:
    static Result<ReaderLease> Acquire(const std::shared_ptr<Window>& w) {
        std::unique_ptr<Db> db;
        {
            std::lock_guard lock(w->mu);
            if (!w->idle_readers.empty()) {
                db = std::move(w->idle_readers.back());
                w->idle_readers.pop_back();
            }
        }
        if (!db) {
            auto opened = Db::Open(w->path, Db::Mode::kReader);
            if (!opened) {
                return std::move(opened).error();
            }
            db = std::move(opened).value();
            (void)db->Exec("PRAGMA query_only=1; PRAGMA cache_size=-16384; PRAGMA mmap_size=1073741824;");
        }
        return ReaderLease(w, std::move(db));
    }
    ReaderLease(ReaderLease&&) = default;
    ~ReaderLease() {
        if (db_ && w_) {
            std::lock_guard lock(w_->mu);
            if (w_->idle_readers.size() < 8) {
                w_->idle_readers.push_back(std::move(db_));
            }
        }
    }
    Db& db() { return *db_; }

private:
    ReaderLease(std::shared_ptr<Window> w, std::unique_ptr<Db> db) : w_(std::move(w)), db_(std::move(db)) {}
    std::shared_ptr<Window> w_;
    std::unique_ptr<Db> db_;
};

bool ParseWindowName(const std::string& name, std::int64_t* created_ms) {
    // "w-<unix ms>.db"
    if (name.size() < 6 || name.rfind("w-", 0) != 0 || name.substr(name.size() - 3) != ".db") {
        return false;
    }
    std::string_view digits(name.data() + 2, name.size() - 5);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *created_ms);
    return ec == std::errc() && p == digits.data() + digits.size();
}

bool AttrMatches(const google::protobuf::RepeatedPtrField<otlp_common::KeyValue>& attrs,
                 const std::string& key, const std::string& value) {
    for (const auto& kv : attrs) {
        if (kv.key() == key && AnyValueText(kv.value()) == value) {
            return true;
        }
    }
    return false;
}

std::string SpanKindName(int kind);

struct SpanSlot {
    std::uint64_t span = 0;
    std::uint32_t service = 0;
};
struct Orphan {
    std::uint64_t parent = 0;
    std::uint32_t child = 0;
    std::int64_t minute = 0;
};

// One trace's spans (id → service) and its children still waiting for their parent, for the
// dependency graph. Kept per trace, so that a request's spans are resolved against one small
// array found once per trace: a table of all recent spans cost two cache misses a span, 7 % of
// the collector's CPU on the exchange's traffic.
class TraceDeps {
public:
    static constexpr std::size_t kMaxSpans = 1 << 17;
    static constexpr std::size_t kMaxOrphans = 256;

    std::size_t size() const { return spans_.size(); }
    // Bytes held, with an estimate of the map entry and queue slot that hold the trace.
    std::size_t footprint() const {
        return 128 + spans_.capacity() * sizeof(SpanSlot) + orphans_.capacity() * sizeof(Orphan) +
               table_.capacity() * sizeof(std::uint32_t);
    }

    // False when the trace holds kMaxSpans already (its later spans are not remembered).
    bool Add(std::uint64_t span, std::uint32_t service) {
        if (spans_.size() >= kMaxSpans) {
            return false;
        }
        if (spans_.empty()) {
            spans_.reserve(8);
        }
        spans_.push_back(SpanSlot{span, service});
        if (!table_.empty() && spans_.size() * 2 <= table_.size()) {
            Place(spans_.size() - 1);
        } else if (spans_.size() > kLinear) {
            Rebuild();
        }
        return true;
    }

    // The span among those added at position `from` or later.
    const SpanSlot* Find(std::uint64_t span, std::size_t from = 0) const {
        if (table_.empty()) {
            for (std::size_t i = from; i < spans_.size(); ++i) {
                if (spans_[i].span == span) {
                    return &spans_[i];
                }
            }
            return nullptr;
        }
        for (std::size_t h = Hash(span);; h = (h + 1) & (table_.size() - 1)) {
            std::uint32_t at = table_[h];
            if (at == 0) {
                return nullptr;
            }
            if (spans_[at - 1].span == span && at - 1 >= from) {
                return &spans_[at - 1];
            }
        }
    }

    std::vector<Orphan>& orphans() { return orphans_; }
    void AddOrphan(const Orphan& o) {
        if (orphans_.size() < kMaxOrphans) {
            orphans_.push_back(o);
        }
    }

private:
    static constexpr std::size_t kLinear = 32;  // searched in order up to this many spans
    std::size_t Hash(std::uint64_t span) const {
        return static_cast<std::size_t>((span * 0x9E3779B97F4A7C15ull) >> 32) & (table_.size() - 1);
    }
    void Place(std::size_t i) {
        std::size_t h = Hash(spans_[i].span);
        while (table_[h] != 0) {
            h = (h + 1) & (table_.size() - 1);
        }
        table_[h] = static_cast<std::uint32_t>(i + 1);
    }
    void Rebuild() {
        std::size_t n = 64;
        while (n < spans_.size() * 4) {
            n *= 2;
        }
        table_.assign(n, 0);
        for (std::size_t i = 0; i < spans_.size(); ++i) {
            Place(i);
        }
    }

    std::vector<SpanSlot> spans_;
    std::vector<std::uint32_t> table_;  // open addressing: index + 1 into spans_, 0 = empty
    std::vector<Orphan> orphans_;
};

class SqliteStore final : public Store {
public:
    explicit SqliteStore(StoreOptions o) : opt_(std::move(o)) {
        clock_ = opt_.clock != nullptr ? opt_.clock : &common::SystemClock();
        const std::vector<std::string>& extra = opt_.extra_index_tags;
        for (const std::vector<std::string>* keys : {&kDefaultIndexedTags, &extra}) {
            for (const std::string& k : *keys) {
                if (std::find(indexed_.begin(), indexed_.end(), k) == indexed_.end()) {
                    indexed_.push_back(k);
                    indexed_lengths_[std::min(k.size(), indexed_lengths_.size() - 1)] = true;
                }
            }
        }
    }

    Status Init() {
        std::error_code ec;
        fs::create_directories(opt_.data_dir, ec);
        if (ec) {
            return Error{ErrorCode::kInternal, "cannot create data dir " + opt_.data_dir + ": " + ec.message()};
        }
        std::vector<std::pair<std::int64_t, std::string>> found;
        std::vector<std::string> empty;
        for (const auto& entry : fs::directory_iterator(opt_.data_dir, ec)) {
            std::int64_t ms = 0;
            if (entry.is_regular_file() && ParseWindowName(entry.path().filename().string(), &ms)) {
                std::string path = entry.path().string();
                std::error_code size_ec;
                if (fs::file_size(path, size_ec) == 0 && !size_ec &&
                    !fs::exists(path + "-seg", size_ec) && !fs::exists(path + "-wal", size_ec)) {
                    // Created by a rotation that failed before writing a byte (earlier versions
                    // left one per attempt while the disk was full): holds nothing.
                    empty.push_back(std::move(path));
                    continue;
                }
                found.emplace_back(ms, std::move(path));
            }
        }
        for (const auto& path : empty) {
            std::error_code remove_ec;
            fs::remove(path, remove_ec);
        }
        std::sort(found.begin(), found.end());
        for (auto& [ms, path] : found) {
            auto w = std::make_shared<Window>();
            w->path = path;
            w->created_ns = ms * 1'000'000;
            if (&path != &found.back().second) {
                // Older windows stay read-only, but their schema is brought up to date once.
                bool journaled = false;
                {
                    auto db = Db::Open(path, Db::Mode::kReadWrite);
                    if (!db) { return db.error(); }
                    if (Status st = UpgradeSchema(**db); !st) { return st; }
                    auto past = JournaledPastMark(**db, *w);
                    if (!past) { return past.error(); }
                    journaled = *past;
                }
                if (journaled) {
                    // Answered calls that never reached the window's index (an earlier run
                    // could not store them, its disk full, and went on in a newer window):
                    // stored now, as for the newest window, which then starts afresh.
                    if (Status st = OpenWriter(w.get()); !st) {
                        // Kept journaled: the next start tries again. The store opens all the
                        // same, to answer queries and store what comes.
                        replay_error_ = w->path + ": " + st.error().message;
                    }
                    RollBack(w.get());  // commits nothing: forgets what the replay cached
                    w->CloseWriter();
                }
            }
            windows_.push_back(std::move(w));
        }
        if (!windows_.empty()) {
            // Reopen the newest window for writing (and make sure its schema is current).
            if (Status st = OpenWriter(windows_.back().get()); !st) {
                return st;
            }
        }
        return {};
    }

    // ------------------------------------------------------------------ writer

    ~SqliteStore() override {
        std::lock_guard lock(writer_mu_);
        (void)CommitOpen();
    }

    Result<IngestOutcome> Ingest(const std::vector<const DecodedTraces*>& traces,
                                 const std::vector<const DecodedLogs*>& logs) override {
        std::lock_guard lock(writer_mu_);
        IngestOutcome out;
        if (Status st = RotateIfNeeded(); !st) {
            return st.error();
        }
        Window* w = windows_.back().get();
        if (Status st = Write(w, traces, logs, &out); !st) {
            // This call's frames are not in the span file; the earlier calls' are and come back.
            if (Status r = Recover(w); !r) {
                return Error{ErrorCode::kInternal,
                             st.error().message + "; recovering: " + r.error().message};
            }
            return st.error();
        }
        if (Status st = CommitIfDue(false); !st) {
            return st.error();
        }
        return out;
    }

    Status Flush(bool now) override {
        std::lock_guard lock(writer_mu_);
        return CommitIfDue(now);
    }

    Status ApplyRetention() override {
        std::lock_guard writer_lock(writer_mu_);
        std::int64_t now = clock_->UnixNanos();
        // The open transaction is the newest window's, which goes only when all of it is past
        // max_age (an idle store, below): commit first then, and only then — a commit in every
        // pass would come on top of the commit interval's.
        bool newest_goes = false;
        {
            std::shared_lock lock(windows_mu_);
            newest_goes = opt_.max_age.count() > 0 && !windows_.empty() &&
                          windows_.back()->created_ns <= now - opt_.max_age.count() - opt_.window.count();
        }
        if (newest_goes) {
            if (Status st = CommitOpen(); !st) { return st; }
        }
        std::vector<std::shared_ptr<Window>> doomed;
        {
            std::unique_lock lock(windows_mu_);
            // By age: window i holds data written before window i+1 was created.
            while (opt_.max_age.count() > 0 && windows_.size() > 1 &&
                   windows_[1]->created_ns <= now - opt_.max_age.count()) {
                doomed.push_back(windows_.front());
                windows_.erase(windows_.begin());
            }
            if (opt_.max_age.count() > 0 && windows_.size() == 1 &&
                windows_[0]->created_ns <= now - opt_.max_age.count() - opt_.window.count()) {
                // Idle store: the only window is entirely older than max_age.
                doomed.push_back(windows_.front());
                windows_.clear();
            }
            if (opt_.max_bytes > 0) {
                std::int64_t total = 0;
                for (const auto& w : windows_) {
                    total += w->Bytes();
                }
                while (total > opt_.max_bytes && windows_.size() > 1) {
                    total -= windows_.front()->Bytes();
                    doomed.push_back(windows_.front());
                    windows_.erase(windows_.begin());
                }
            }
        }
        for (auto& w : doomed) {
            w->remove_files = true;
            deleted_windows_.fetch_add(1);
        }
        doomed.clear();  // files go when the last reader lets go of the window
        return {};
    }

    // ------------------------------------------------------------------ readers

    // Queries see every answered batch: they commit what Ingest has written first.
    Status Sync() const {
        std::lock_guard lock(writer_mu_);
        return const_cast<SqliteStore*>(this)->CommitOpen();  // writer state, under its lock
    }

    Result<std::optional<otlp_trace::TracesData>> GetTrace(const std::string& trace_id,
                                                           std::int64_t max_spans,
                                                           std::int64_t* omitted) const override {
        otlp_trace::TracesData data;
        SpanGatherer gather(&data, max_spans);
        bool found = false;
        Status st = VisitChunks(
            trace_id,
            [&gather](otlp_trace::TracesData& chunk) {
                gather.Add(chunk);
                return true;
            },
            &found);
        if (!st) { return st.error(); }
        if (omitted != nullptr) { *omitted = gather.omitted(); }
        if (!found) { return std::optional<otlp_trace::TracesData>(); }
        return std::optional<otlp_trace::TracesData>(std::move(data));
    }

    // Calls `visit` with each chunk of the trace (a TracesData: the spans of one export call,
    // with their resources), from every window in the order they arrived, until it returns
    // false. One chunk is in memory at a time: a trace's chunks can add up to gigabytes.
    // *found: whether the trace has any.
    Status VisitChunks(const std::string& trace_id,
                       const std::function<bool(otlp_trace::TracesData&)>& visit,
                       bool* found) const {
        *found = false;
        if (Status st = Sync(); !st) { return st; }
        bool more = true;
        auto take = [&](std::string_view bytes) -> Status {
            otlp_trace::TracesData chunk;
            // Concatenated TracesData messages merge into one on parse.
            if (!chunk.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
                return Error{ErrorCode::kInternal, "corrupt chunk"};
            }
            *found = true;
            more = visit(chunk);
            return {};
        };
        for (const auto& w : Snapshot()) {
            if (!more) { break; }
            auto lease = ReaderLease::Acquire(w);
            if (!lease) {
                return std::move(lease).error();
            }
            auto refs = lease->db().PrepareStatic("SELECT refs FROM traces WHERE trace_id=?1");
            if (!refs) { return std::move(refs).error(); }
            refs->BindBlob(1, trace_id);
            if (refs->Step() && !refs->IsNull(0)) {
                const std::string_view all = refs->Blob(0);
                if (all.size() % kRefBytes != 0) {
                    return Error{ErrorCode::kInternal, "corrupt chunk refs"};
                }
                std::string buf;
                for (std::size_t i = 0; more && i < all.size(); i += kRefBytes) {
                    buf.clear();
                    if (Status st = ReadRefs(*w, all.substr(i, kRefBytes), &buf); !st) {
                        return st;
                    }
                    if (Status st = take(buf); !st) { return st; }
                }
            }
            // Windows written before span files keep their chunks in the database.
            auto stmt = lease->db().PrepareStatic("SELECT data FROM chunks WHERE trace_id=?1 ORDER BY id");
            if (!stmt) {
                return std::move(stmt).error();
            }
            stmt->BindBlob(1, trace_id);
            while (more && stmt->Step()) {
                if (Status st = take(stmt->Blob(0)); !st) { return st; }
            }
        }
        return {};
    }

    Result<otlp_logs::LogsData> GetTraceLogs(const std::string& trace_id, std::int64_t max_records,
                                             std::int64_t* omitted) const override {
        if (Status st = Sync(); !st) { return st.error(); }
        otlp_logs::LogsData data;
        LogGatherer gather(&data, max_records);
        // One export's records at a time: a runaway trace's logs can add up to gigabytes.
        auto take = [&gather](std::string_view bytes) -> Status {
            otlp_logs::LogsData chunk;
            if (!chunk.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
                return Error{ErrorCode::kInternal, "corrupt log chunk"};
            }
            gather.Add(chunk);
            return {};
        };
        for (const auto& w : Snapshot()) {
            auto lease = ReaderLease::Acquire(w);
            if (!lease) {
                return std::move(lease).error();
            }
            // Windows written before log rows were given up keep them in the database, with
            // their bytes in the row or in the span file (ref).
            auto stmt = lease->db().PrepareStatic("SELECT data, ref FROM logs WHERE trace_id=?1 ORDER BY id");
            if (!stmt) {
                return std::move(stmt).error();
            }
            stmt->BindBlob(1, trace_id);
            std::string bytes;
            while (stmt->Step()) {
                bytes.clear();
                if (stmt->IsNull(1)) {
                    bytes = stmt->Blob(0);
                } else if (Status st = ReadRefs(*w, stmt->Blob(1), &bytes); !st) {
                    return st.error();
                }
                if (Status st = take(bytes); !st) { return st.error(); }
            }
            // Since then: the chunks' refs in the trace's row, one per export.
            auto refs = lease->db().PrepareStatic("SELECT log_refs FROM traces WHERE trace_id=?1");
            if (!refs) { return std::move(refs).error(); }
            refs->BindBlob(1, trace_id);
            if (refs->Step() && !refs->IsNull(0)) {
                const std::string_view all = refs->Blob(0);
                if (all.size() % kRefBytes != 0) {
                    return Error{ErrorCode::kInternal, "corrupt log chunk refs"};
                }
                for (std::size_t i = 0; i < all.size(); i += kRefBytes) {
                    bytes.clear();
                    if (Status st = ReadRefs(*w, all.substr(i, kRefBytes), &bytes); !st) {
                        return st.error();
                    }
                    if (Status st = take(bytes); !st) { return st.error(); }
                }
            }
        }
        if (omitted != nullptr) { *omitted = gather.omitted(); }
        return data;
    }

    Result<std::vector<TraceSummary>> Search(const SearchQuery& q) const override;

    Result<std::vector<std::string>> Services() const override {
        if (Status st = Sync(); !st) { return st.error(); }
        std::vector<std::string> out;
        for (const auto& w : Snapshot()) {
            auto lease = ReaderLease::Acquire(w);
            if (!lease) {
                return std::move(lease).error();
            }
            auto stmt = lease->db().PrepareStatic("SELECT DISTINCT service FROM operations");
            if (!stmt) {
                return std::move(stmt).error();
            }
            while (stmt->Step()) {
                out.emplace_back(stmt->Text(0));
            }
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    Result<std::vector<OperationInfo>> Operations(const std::string& service) const override {
        if (Status st = Sync(); !st) { return st.error(); }
        std::vector<OperationInfo> out;
        for (const auto& w : Snapshot()) {
            auto lease = ReaderLease::Acquire(w);
            if (!lease) {
                return std::move(lease).error();
            }
            auto stmt = lease->db().PrepareStatic("SELECT name, kind FROM operations WHERE service=?1");
            if (!stmt) {
                return std::move(stmt).error();
            }
            stmt->BindText(1, service);
            while (stmt->Step()) {
                out.push_back(OperationInfo{std::string(stmt->Text(0)), static_cast<int>(stmt->Int(1))});
            }
        }
        std::sort(out.begin(), out.end(), [](const OperationInfo& a, const OperationInfo& b) {
            return std::tie(a.name, a.kind) < std::tie(b.name, b.kind);
        });
        out.erase(std::unique(out.begin(), out.end(),
                              [](const OperationInfo& a, const OperationInfo& b) {
                                  return a.name == b.name && a.kind == b.kind;
                              }),
                  out.end());
        return out;
    }

    Result<std::vector<DependencyLink>> Dependencies(std::int64_t end_ns,
                                                     std::int64_t lookback_ns) const override {
        if (Status st = Sync(); !st) { return st.error(); }
        std::map<std::pair<std::string, std::string>, std::int64_t> acc;
        std::int64_t lo = (end_ns - lookback_ns) / 60'000'000'000;
        std::int64_t hi = end_ns / 60'000'000'000;
        for (const auto& w : Snapshot()) {
            auto lease = ReaderLease::Acquire(w);
            if (!lease) {
                return std::move(lease).error();
            }
            auto stmt = lease->db().Prepare(
                "SELECT parent, child, sum(calls) FROM deps WHERE minute BETWEEN ?1 AND ?2 "
                "GROUP BY parent, child");
            if (!stmt) {
                return std::move(stmt).error();
            }
            stmt->Bind(1, lo).Bind(2, hi);
            while (stmt->Step()) {
                acc[{std::string(stmt->Text(0)), std::string(stmt->Text(1))}] += stmt->Int(2);
            }
        }
        std::vector<DependencyLink> out;
        for (auto& [k, n] : acc) {
            out.push_back(DependencyLink{k.first, k.second, n});
        }
        return out;
    }

    StoreStats Stats() const override {
        StoreStats s;
        auto ws = Snapshot();
        s.windows = static_cast<std::int64_t>(ws.size());
        for (const auto& w : ws) {
            s.bytes += w->Bytes();
        }
        s.deleted_windows = deleted_windows_.load();
        s.commits = commits_.load(std::memory_order_relaxed);
        s.replayed_frames = replayed_frames_.load();
        s.replay_error = replay_error_;  // written before the store is shared, read-only since
        return s;
    }

private:
    // Appends the span-file bytes that refs (kRefBytes each: offset, length) point at to *out.
    static Status ReadRefs(Window& w, std::string_view refs, std::string* out) {
        if (refs.size() % kRefBytes != 0) {
            return Error{ErrorCode::kInternal, "corrupt chunk refs"};
        }
        int fd = w.SegReadFd();
        if (fd < 0) {
            return Error{ErrorCode::kInternal, "open " + w.SegPath() + ": " + std::strerror(errno)};
        }
        std::string& buf = *out;
        for (std::size_t i = 0; i < refs.size(); i += kRefBytes) {
            std::uint64_t off = 0;
            std::uint32_t len = 0;
            for (int b = 0; b < 8; ++b) {
                off |= static_cast<std::uint64_t>(
                           static_cast<unsigned char>(refs[i + static_cast<std::size_t>(b)]))
                       << (8 * b);
            }
            for (int b = 0; b < 4; ++b) {
                len |= static_cast<std::uint32_t>(
                           static_cast<unsigned char>(refs[i + 8 + static_cast<std::size_t>(b)]))
                       << (8 * b);
            }
            std::size_t at = buf.size();
            buf.resize(at + len);
            std::size_t got = 0;
            while (got < len) {
                ssize_t n =
                    ::pread(fd, buf.data() + at + got, len - got, static_cast<off_t>(off + got));
                if (n < 0 && errno == EINTR) { continue; }
                if (n <= 0) {
                    return Error{ErrorCode::kInternal, "corrupt chunk ref in " + w.SegPath()};
                }
                got += static_cast<std::size_t>(n);
            }
        }
        return {};
    }

    std::vector<std::shared_ptr<Window>> Snapshot() const {
        std::shared_lock lock(windows_mu_);
        std::vector<std::shared_ptr<Window>> v(windows_.rbegin(), windows_.rend());  // newest first
        return v;
    }

    // Creates missing tables and moves a window written by an older version to the current
    // layout: `traces` gains refs/tb0/tb1, `logs` gains ref, the old `tags` rows become tag
    // block 0.
    static Status UpgradeSchema(Db& d) {
        if (Status st = d.Exec(kSchema); !st) { return st; }
        bool add = false;
        bool add_log_ref = false;
        bool add_log_refs = false;
        bool migrate = false;
        bool migrate_svc = false;
        {
            // Statements scoped: an unfinished one would hold the schema against the changes below.
            auto has_refs =
                d.Prepare("SELECT count(*) FROM pragma_table_info('traces') WHERE name='refs'");
            if (!has_refs) { return has_refs.error(); }
            add = has_refs->Step() && has_refs->Int(0) == 0;
            auto has_log_refs =
                d.Prepare("SELECT count(*) FROM pragma_table_info('traces') WHERE name='log_refs'");
            if (!has_log_refs) { return has_log_refs.error(); }
            add_log_refs = has_log_refs->Step() && has_log_refs->Int(0) == 0;
            auto has_log_ref =
                d.Prepare("SELECT count(*) FROM pragma_table_info('logs') WHERE name='ref'");
            if (!has_log_ref) { return has_log_ref.error(); }
            add_log_ref = has_log_ref->Step() && has_log_ref->Int(0) == 0;
            auto has_tags =
                d.Prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='tags'");
            if (!has_tags) { return has_tags.error(); }
            migrate = has_tags->Step() && has_tags->Int(0) > 0;
            auto has_svc =
                d.Prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='svc'");
            if (!has_svc) { return has_svc.error(); }
            migrate_svc = has_svc->Step() && has_svc->Int(0) > 0;
        }
        if (add) {
            if (Status st = d.Exec("ALTER TABLE traces ADD COLUMN refs BLOB; ALTER TABLE traces "
                                   "ADD COLUMN tb0 INTEGER; "
                                   "ALTER TABLE traces ADD COLUMN tb1 INTEGER;");
                !st) {
                return st;
            }
        }
        if (add_log_ref) {
            if (Status st = d.Exec("ALTER TABLE logs ADD COLUMN ref BLOB"); !st) { return st; }
        }
        if (add_log_refs) {
            if (Status st = d.Exec("ALTER TABLE traces ADD COLUMN log_refs BLOB"); !st) { return st; }
        }
        if (migrate) {
            if (Status st = d.Exec(
                    "BEGIN; INSERT OR IGNORE INTO tagb(block, key, value, trace_id, start_ns) "
                    "SELECT 0, key, value, trace_id, start_ns FROM tags; DROP TABLE tags; COMMIT;");
                !st) {
                (void)d.Exec("ROLLBACK");
                return st;
            }
        }
        if (migrate_svc) {
            if (Status st = d.Exec(
                    "BEGIN; INSERT INTO svcr(service, start_ns, trace_id, min_dur, max_dur, "
                    "errors, ops) "
                    "SELECT service, start_ns, trace_id, min_dur, max_dur, errors, ops FROM svc; "
                    "DROP TABLE svc; COMMIT;");
                !st) {
                (void)d.Exec("ROLLBACK");
                return st;
            }
        }
        return {};
    }

    // SQLite's automatic checkpoint, preceded by an fdatasync of the span file: the database
    // file never becomes durable with rows pointing at span bytes that are not.
    static int WalHook(void* arg, sqlite3* db, const char* name, int pages) {
        auto* w = static_cast<Window*>(arg);
        if (pages >= kCheckpointPages) {
            if (w->seg_write_fd >= 0) { (void)::fdatasync(w->seg_write_fd); }
            (void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        }
        return SQLITE_OK;
    }

    // Whether the window's span file holds frames past the offset its last commit covers.
    static Result<bool> JournaledPastMark(Db& d, const Window& w) {
        std::error_code ec;
        auto size = fs::file_size(w.SegPath(), ec);
        if (ec) { return false; }  // no span file: nothing journaled
        auto m = d.Prepare("SELECT value FROM meta WHERE key='seg_mark'");
        if (!m) { return m.error(); }
        return m->Step() && m->Int(0) < static_cast<std::int64_t>(size);
    }

    Status OpenWriter(Window* w) {
        w->CloseWriter();  // a failed earlier attempt may have left its span file open
        auto db = Db::Open(w->path, Db::Mode::kReadWrite);
        if (!db) {
            return db.error();
        }
        Db& d = **db;
        if (Status st =
                d.Exec("PRAGMA page_size=4096; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                       "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;");
            !st) {
            return st;
        }
        if (Status st = UpgradeSchema(d); !st) { return st; }
        int fd = ::open(w->SegPath().c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            return Error{ErrorCode::kInternal,
                         "open " + w->SegPath() + ": " + std::strerror(errno)};
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            ::close(fd);
            return Error{ErrorCode::kInternal,
                         "stat " + w->SegPath() + ": " + std::strerror(errno)};
        }
        // Bytes past the last commit (a crash between the span write and the commit) are never
        // referenced; appending after them is harmless.
        w->seg_write_fd = fd;
        w->seg_size = static_cast<std::int64_t>(st.st_size);
        w->seg_kicked = w->seg_size;
        // The span file is journaled past seg_mark. A window without one was written before
        // frames, one commit per call: everything in its span file is committed.
        std::int64_t mark = w->seg_size;
        {
            auto m = d.Prepare("SELECT value FROM meta WHERE key='seg_mark'");
            if (!m) { return m.error(); }
            if (m->Step()) {
                mark = std::min(m->Int(0), w->seg_size);
            } else if (Status set = SetSegMark(d, mark); !set) {
                return set;
            }
        }
        sqlite3_wal_hook(d.raw(), &WalHook, w);
        w->seen = std::make_unique<TraceFilter>();
        {
            auto ids = d.Prepare("SELECT trace_id FROM traces");
            if (!ids) { return ids.error(); }
            while (ids->Step()) { w->seen->Add(KeyOf(ids->Blob(0))); }
            auto blk = d.Prepare("SELECT coalesce(max(block), 0) + 1 FROM tagb");
            if (!blk) { return blk.error(); }
            w->tag_block = blk->Step() ? blk->Int(0) : 1;
            w->tag_block_traces = 0;
        }
        w->writer = std::move(db).value();
        if (mark < w->seg_size) {
            if (Status replayed = Replay(w, mark); !replayed) {
                w->CloseWriter();
                return replayed;
            }
        }
        return {};
    }

    Status RotateIfNeeded() {
        std::int64_t now = clock_->UnixNanos();
        if (!windows_.empty() && windows_.back()->writer == nullptr) {
            // A failed write or commit whose recovery failed as well (the disk full, say) closed
            // the newest window with answered calls in its span file past its last commit. They
            // are stored again before anything else is, or this call fails as that one did: a
            // new window would leave them where no query and no later start looks.
            if (Status st = OpenWriter(windows_.back().get()); !st) { return st; }
        }
        bool need = windows_.empty();
        if (!need) {
            Window* cur = windows_.back().get();
            std::int64_t win = opt_.window.count() > 0 ? opt_.window.count() : INT64_MAX;
            need = (now / win != cur->created_ns / win) ||
                   (opt_.max_bytes > 0 && ++rotate_check_ % 16 == 0 &&
                    cur->Bytes() > opt_.max_bytes / 8);
        }
        if (!need) {
            return {};
        }
        if (Status st = CommitOpen(); !st) {  // the open transaction is the current window's
            return st;
        }
        auto w = std::make_shared<Window>();
        std::int64_t ms = now / 1'000'000;
        if (!windows_.empty() && ms <= windows_.back()->created_ns / 1'000'000) {
            ms = windows_.back()->created_ns / 1'000'000 + 1;
        }
        w->created_ns = ms * 1'000'000;
        w->path = (fs::path(opt_.data_dir) / ("w-" + std::to_string(ms) + ".db")).string();
        if (Status st = OpenWriter(w.get()); !st) {
            w->remove_files = true;  // holds nothing: its files go with it
            return st;
        }
        if (!windows_.empty()) {
            windows_.back()->CloseWriter();  // the old window is read-only from now on
        }
        std::unique_lock lock(windows_mu_);
        windows_.push_back(std::move(w));
        return {};
    }

    // A service's (or peer's) number; its name is kept for the process's life. Names come
    // from senders (resource and span attributes): past opt_.max_services of them, a new one
    // is stored under kOverflowService.
    std::uint32_t Intern(const std::string& service) {
        if (auto it = service_ids_.find(service); it != service_ids_.end()) { return it->second; }
        if (service_names_.size() < opt_.max_services) { return InternNew(service); }
        if (auto it = service_ids_.find(std::string(kOverflowService)); it != service_ids_.end()) {
            return it->second;
        }
        return InternNew(std::string(kOverflowService));
    }
    std::uint32_t InternNew(const std::string& service) {
        auto id = static_cast<std::uint32_t>(service_names_.size());
        service_names_.push_back(service);
        service_ids_.emplace(service, id);
        return id;
    }

    // Dependencies: each span's parent's service → its service, for the spans of one trace
    // that an Ingest call brought (g->deps). The trace's earlier spans and its children still
    // waiting for a parent are remembered per trace, for the most recent traces holding
    // opt_.dependency_memory_bytes in all (oldest trace forgotten first).
    void ResolveDependencies(const ChunkBuilder& g, EdgeMap* edges) {
        if (g.deps.empty()) {
            return;
        }
        TraceKey key = KeyOf(g.trace_id);
        auto [td_ptr, inserted] = deps_.TryEmplace(key);
        if (inserted) {
            deps_fifo_.push_back(key);
        }
        TraceDeps& td = *td_ptr;
        const std::size_t before = td.footprint();
        const std::size_t first_new = td.size();
        for (const DepSpan& d : g.deps) {
            if (d.span != 0 && !td.Add(d.span, d.service)) {
                break;
            }
        }
        // Children that waited for a parent which has come now.
        std::vector<Orphan>& waiting = td.orphans();
        for (std::size_t i = 0; i < waiting.size();) {
            if (const SpanSlot* p = td.Find(waiting[i].parent, first_new)) {
                Edge(p->service, waiting[i].child, waiting[i].minute, edges);
                waiting[i] = waiting.back();
                waiting.pop_back();
            } else {
                ++i;
            }
        }
        for (const DepSpan& d : g.deps) {
            if (d.parent == 0) {
                continue;
            }
            if (const SpanSlot* p = td.Find(d.parent)) {
                Edge(p->service, d.service, d.minute, edges);
            } else {
                td.AddOrphan(Orphan{d.parent, d.service, d.minute});
            }
        }
        dep_footprint_ += td.footprint();
        dep_footprint_ -= std::min(dep_footprint_, before);
    }
    // Forgets the oldest traces' dependency state beyond its bound (not while a call holds
    // references into it: after ResolveDependencies of every group).
    void TrimDependencies() {
        while (dep_footprint_ > opt_.dependency_memory_bytes && deps_fifo_.size() > 1) {
            if (const TraceDeps* td = deps_.Find(deps_fifo_.front())) {
                dep_footprint_ -= std::min(dep_footprint_, td->footprint());
                deps_.Erase(deps_fifo_.front());
            }
            deps_fifo_.pop_front();
        }
    }

    void Edge(std::uint32_t parent, std::uint32_t child, std::int64_t minute, EdgeMap* edges) {
        if (parent != child) {
            (*edges)[{minute, parent, child}] += 1;
        }
    }

    // Queues a frame header for the span file (written by WriteSeg before Ingest returns) that
    // announces `len_bytes`, which the caller appends next, and fills ref (kRefBytes: offset,
    // length, little-endian) with where those bytes will be.
    void AppendFrameHeader(const Window* w, char kind, std::size_t len_bytes, char* ref) {
        auto len = static_cast<std::uint32_t>(len_bytes);
        const char header[kFrameHeaderBytes] = {'f', 'x', kind, 1,
                                                static_cast<char>(len), static_cast<char>(len >> 8),
                                                static_cast<char>(len >> 16), static_cast<char>(len >> 24)};
        seg_buf_.append(header, kFrameHeaderBytes);
        auto off = static_cast<std::uint64_t>(w->seg_size) + seg_buf_.size();
        for (int i = 0; i < 8; ++i) { ref[i] = static_cast<char>(off >> (8 * i)); }
        for (int i = 0; i < 4; ++i) { ref[8 + i] = static_cast<char>(len >> (8 * i)); }
    }

    // A chunk as one TracesData frame: per section ResourceSpans{resource, ScopeSpans{scope,
    // spans…}}, each span's bytes copied once, into the span file's buffer.
    void AppendChunkToSeg(const Window* w, const ChunkBuilder& g, char* ref) {
        AppendSectionsToSeg(w, kSpanFrame, g.sections, g.spans, ref);
    }

    // A frame of sections, each Resource{resource, Scope{scope, items…}} as field 1 of the
    // outer message (TracesData and LogsData, whose resource and scope messages both hold
    // their scopes and items in field 2): every item's bytes copied once.
    void AppendSectionsToSeg(const Window* w, char kind, const std::vector<ChunkSection>& sections,
                             const std::vector<std::string_view>& items, char* ref) {
        const auto lengths = [](const ChunkSection& c) {
            std::size_t scope_len = c.scope.size() + c.span_bytes;
            std::size_t rs_len = c.resource.size() + 1 + VarintSize(scope_len) + scope_len;
            return std::pair{scope_len, rs_len};
        };
        std::size_t total = 0;
        for (const ChunkSection& c : sections) {
            std::size_t rs_len = lengths(c).second;
            total += 1 + VarintSize(rs_len) + rs_len;
        }
        AppendFrameHeader(w, kind, total, ref);
        seg_buf_.reserve(seg_buf_.size() + total);
        for (const ChunkSection& c : sections) {
            auto [scope_len, rs_len] = lengths(c);
            AppendVarint(&seg_buf_, (1 << 3) | 2);
            AppendVarint(&seg_buf_, rs_len);
            seg_buf_ += c.resource;
            AppendVarint(&seg_buf_, (2 << 3) | 2);
            AppendVarint(&seg_buf_, scope_len);
            seg_buf_ += c.scope;
            for (std::size_t i = c.first_span; i < c.first_span + c.span_count; ++i) {
                seg_buf_ += items[i];
            }
        }
    }

    // The span bytes of this call go to the span file at its committed end, before the commit
    // that makes rows point at them (one write per call).
    Status WriteSeg(Window* w) {
        std::size_t done = 0;
        while (done < seg_buf_.size()) {
            ssize_t n = ::pwrite(w->seg_write_fd, seg_buf_.data() + done, seg_buf_.size() - done,
                                 static_cast<off_t>(w->seg_size + static_cast<std::int64_t>(done)));
            if (n < 0 && errno == EINTR) { continue; }
            if (n <= 0) {
                Error e{ErrorCode::kInternal, "write " + w->SegPath() + ": " + std::strerror(errno)};
                // A partial frame must not be mistaken for a journaled one on replay.
                (void)::ftruncate(w->seg_write_fd, static_cast<off_t>(w->seg_size));
                return e;
            }
            done += static_cast<std::size_t>(n);
        }
        return {};
    }

    // Writes one Ingest call: its rows into the open transaction (begun here when none is), its
    // frames to the span file.
    Status Write(Window* w, const std::vector<const DecodedTraces*>& traces,
                 const std::vector<const DecodedLogs*>& logs, IngestOutcome* out) {
        g_window_ops_ = &w->known_operations;
        if (!txn_open_) {
            if (Status st = w->writer->Exec("BEGIN"); !st) { return st; }
            txn_open_ = true;
            txn_window_ = w;
            txn_started_ns_ = clock_->UnixNanos();
        }
        seg_buf_.clear();
        Status st = WriteTraces(w, traces, out);
        if (st) { st = WriteLogs(w, logs, out); }
        // Pending traces stay in the cache (FlushPending reads their summary there; eviction
        // passes over them), so their number is kept well under the cache's.
        if (st && pending_.size() >= MaxPending()) { st = FlushPending(w); }
        if (st) { st = WriteSeg(w); }
        if (!st) { return st; }
        w->seg_size += static_cast<std::int64_t>(seg_buf_.size());
        if (w->seg_size - w->seg_kicked >= kWritebackBytes) { StartSegWriteback(w); }
        if (seg_buf_.capacity() > (std::size_t{64} << 20)) { std::string().swap(seg_buf_); }
        return {};
    }

    // Left to the kernel, the span file's bytes and the database's WAL stay dirty in the page
    // cache until the checkpoint's fdatasync (every 64 MiB of WAL: at the exchange's 500
    // orders/s, 100 MB and more of span bytes at once) or the kernel's 30 s writeback, and then
    // go to the disk in one burst that every other fsync on it waits behind — PostgreSQL's
    // commits among them: the exchange's p99 jumped at each such second (docs/benchmarks.md).
    // So their writes are started as they accumulate (a MiB of span bytes, each commit's WAL),
    // without waiting for them; durability is still the fdatasync's and the commit's business.
    static void StartSegWriteback(Window* w) {
#ifdef __linux__
        if (w->seg_write_fd >= 0 && w->seg_size > w->seg_kicked) {
            (void)::sync_file_range(w->seg_write_fd, w->seg_kicked, w->seg_size - w->seg_kicked,
                                    SYNC_FILE_RANGE_WRITE);
        }
#endif
        w->seg_kicked = w->seg_size;
    }

    static void StartWalWriteback(const Window& w) {
#ifdef __linux__
        const int fd = ::open((w.path + "-wal").c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) { return; }
        (void)::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
        ::close(fd);
#else
        (void)w;
#endif
    }

    Status CommitIfDue(bool now) {
        if (!txn_open_ || (!now && opt_.commit_interval.count() > 0 &&
                           clock_->UnixNanos() - txn_started_ns_ < opt_.commit_interval.count())) {
            return {};
        }
        return CommitOpen();
    }

    // Commits the open transaction: first the trace rows merged in memory, then the span-file
    // offset the commit covers. When the commit fails, the window is recovered from its span
    // file, which stores the rolled-back calls again.
    Status CommitOpen() {
        if (!txn_open_) { return {}; }
        Window* w = txn_window_;
        Db& db = *w->writer;
        Status st = FlushPending(w);
        if (st) { st = SetSegMark(db, w->seg_size); }
        if (st) { st = db.Exec("COMMIT"); }
        if (st) {
            txn_open_ = false;
            commits_.fetch_add(1, std::memory_order_relaxed);
            StartSegWriteback(w);
            StartWalWriteback(*w);
            return {};
        }
        if (replaying_) {
            RollBack(w);
            return st;
        }
        if (Status r = Recover(w); !r) {
            return Error{ErrorCode::kInternal, st.error().message + "; recovering: " + r.error().message};
        }
        return {};
    }

    static Status SetSegMark(Db& db, std::int64_t mark) {
        auto stmt = db.PrepareStatic(
            "INSERT INTO meta(key, value) VALUES('seg_mark', ?1) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value");
        if (!stmt) { return stmt.error(); }
        stmt->Bind(1, mark);
        if (stmt->Run() != SQLITE_DONE) {
            return Error{ErrorCode::kInternal, "set seg_mark: " + db.ErrorText()};
        }
        return {};
    }

    // Rolls the open transaction back, and with it what the writer remembers beyond the
    // database, which is only valid with the rows it wrote.
    void RollBack(Window* w) {
        if (txn_open_) {
            (void)w->writer->Exec("ROLLBACK");
            txn_open_ = false;
        }
        summary_cache_.Clear();
        summary_fifo_.clear();
        pending_.clear();
        pending_index_.Clear();
        pending_tags_.clear();
        w->known_operations.clear();
        pending_ops_.clear();
    }

    // After a failed write or commit: roll back and open the window again, which replays the
    // span file past the last commit (the calls answered since, whose rows were rolled back).
    Status Recover(Window* w) {
        RollBack(w);
        w->CloseWriter();
        return OpenWriter(w);
    }

    // Stores the span file's frames past mark again, as one Ingest call; their bytes are
    // appended anew (the old ones stay, unreferenced). Stops at the first frame that is
    // incomplete or does not parse: the tail of a write the crash cut short.
    Status Replay(Window* w, std::int64_t mark) {
        std::string bytes(static_cast<std::size_t>(w->seg_size - mark), '\0');
        std::size_t got = 0;
        while (got < bytes.size()) {
            ssize_t n = ::pread(w->seg_write_fd, bytes.data() + got, bytes.size() - got,
                                static_cast<off_t>(mark + static_cast<std::int64_t>(got)));
            if (n < 0 && errno == EINTR) { continue; }
            if (n <= 0) {
                return Error{ErrorCode::kInternal, "read " + w->SegPath() + ": " + std::strerror(errno)};
            }
            got += static_cast<std::size_t>(n);
        }
        std::vector<DecodedTraces> traces;
        std::vector<DecodedLogs> logs;
        for (std::size_t pos = 0; bytes.size() - pos >= kFrameHeaderBytes;) {
            const char* h = bytes.data() + pos;
            if (h[0] != 'f' || h[1] != 'x' || h[3] != 1 || (h[2] != kSpanFrame && h[2] != kLogFrame)) {
                break;
            }
            std::uint32_t len = 0;
            for (int b = 0; b < 4; ++b) {
                len |= static_cast<std::uint32_t>(static_cast<unsigned char>(h[4 + b])) << (8 * b);
            }
            if (len > bytes.size() - pos - kFrameHeaderBytes) { break; }
            std::string_view data(h + kFrameHeaderBytes, len);
            if (h[2] == kSpanFrame) {
                DecodedTraces d;
                if (!ReadStoredTraces(data, &d)) { break; }
                traces.push_back(std::move(d));
            } else {
                DecodedLogs d;
                if (!ReadStoredLogs(data, &d)) { break; }
                logs.push_back(std::move(d));
            }
            pos += kFrameHeaderBytes + len;
        }
        std::vector<const DecodedTraces*> trace_ptrs;
        std::vector<const DecodedLogs*> log_ptrs;
        for (const auto& d : traces) { trace_ptrs.push_back(&d); }
        for (const auto& d : logs) { log_ptrs.push_back(&d); }
        replaying_ = true;
        IngestOutcome out;
        Status st = Write(w, trace_ptrs, log_ptrs, &out);
        if (st) {
            st = CommitOpen();
        } else {
            RollBack(w);
        }
        replaying_ = false;
        replayed_frames_.fetch_add(static_cast<std::int64_t>(traces.size() + logs.size()));
        return st;
    }

    // Writes the queued tag rows in key order (each insert then lands next to the one before),
    // many rows a statement.
    Status FlushTags(Db& db) {
        std::sort(
            pending_tags_.begin(), pending_tags_.end(),
            [](const PendingTag& a, const PendingTag& b) {
                return std::make_tuple(a.block, a.key, std::string_view(a.value), a.TraceId()) <
                       std::make_tuple(b.block, b.key, std::string_view(b.value), b.TraceId());
            });
        static const MultiRowInsert kInsert(
            "INSERT OR IGNORE INTO tagb(block, key, value, trace_id, start_ns) VALUES", 5);
        Status st = kInsert.Run(db, pending_tags_.size(), "insert tags",
                                [&](Stmt& stmt, int p, std::size_t i) {
                                    const PendingTag& t = pending_tags_[i];
                                    stmt.Bind(p, t.block)
                                        .BindText(p + 1, t.key)
                                        .BindText(p + 2, t.value)
                                        .BindBlob(p + 3, t.TraceId())
                                        .Bind(p + 4, t.start_ns);
                                });
        pending_tags_.clear();
        return st;
    }

    // Writes the trace rows merged since the last flush: the summary (as the cache has it) with
    // the refs of the new chunks appended, and one svcr row per (trace, service).
    Status FlushPending(Window* w) {
        Db& db = *w->writer;
        if (Status st = FlushTags(db); !st) { return st; }
        struct SvcRow {
            const PendingTrace* trace;
            const SvcDelta* svc;
        };
        std::vector<SvcRow> svc_rows;
        for (const PendingTrace& p : pending_) {
            if (!p.spans) {
                // Logs only (so far): the row, created if need be, gains their refs. Its empty
                // tag-block range (tb0 > tb1) lets the spans' first block become tb0.
                auto stmt = db.PrepareStatic(
                    "INSERT INTO traces(trace_id, span_count, error_count, log_refs, tb0, tb1) "
                    "VALUES(?1, 0, 0, ?2, 9223372036854775807, 0) ON CONFLICT(trace_id) DO UPDATE SET "
                    "log_refs=CAST(coalesce(log_refs, x'') || excluded.log_refs AS BLOB)");
                if (!stmt) { return stmt.error(); }
                stmt->BindBlob(1, p.trace_id).BindBlob(2, p.log_refs);
                if (stmt->Run() != SQLITE_DONE) {
                    return Error{ErrorCode::kInternal, "insert trace logs: " + db.ErrorText()};
                }
                continue;
            }
            const CachedTrace* cached = summary_cache_.Find(p.key);
            if (cached == nullptr) {
                return Error{ErrorCode::kInternal, "pending trace missing from the cache"};
            }
            const TraceSummary& merged = cached->summary;
            auto stmt = db.PrepareStatic(
                "INSERT INTO traces(trace_id, start_ns, end_ns, duration_ns, root_service, "
                "root_operation, has_root, span_count, error_count, services, refs, tb0, tb1, "
                "log_refs) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
                "ON CONFLICT(trace_id) DO UPDATE SET start_ns=excluded.start_ns, "
                "end_ns=excluded.end_ns, "
                "duration_ns=excluded.duration_ns, root_service=excluded.root_service, "
                "root_operation=excluded.root_operation, has_root=excluded.has_root, "
                "span_count=excluded.span_count, error_count=excluded.error_count, "
                "services=excluded.services, "
                // || yields text: cast back, so that the column stays a blob of refs.
                "refs=CAST(coalesce(refs, x'') || excluded.refs AS BLOB), "
                "tb0=min(coalesce(tb0, 0), excluded.tb0), "
                "tb1=max(coalesce(tb1, 0), excluded.tb1), "
                "log_refs=CAST(coalesce(log_refs, x'') || coalesce(excluded.log_refs, x'') AS BLOB)");
            if (!stmt) {
                return stmt.error();
            }
            std::string services = EncodeServices(merged.services);
            if (p.log_refs.empty()) {
                stmt->BindNull(14);
            } else {
                stmt->BindBlob(14, p.log_refs);
            }
            stmt->BindBlob(1, merged.trace_id)
                .Bind(2, merged.start_ns)
                .Bind(3, merged.end_ns)
                .Bind(4, merged.end_ns - merged.start_ns)
                .BindText(5, merged.root_service)
                .BindText(6, merged.root_operation)
                .Bind(7, merged.has_root ? 1 : 0)
                .Bind(8, merged.span_count)
                .Bind(9, merged.error_count)
                .BindText(10, services)
                .BindBlob(11, p.refs)
                .Bind(12, p.tb0)
                .Bind(13, p.tb1);
            if (stmt->Run() != SQLITE_DONE) {
                return Error{ErrorCode::kInternal, "insert trace: " + db.ErrorText()};
            }
            for (const SvcDelta& o : p.svcs) { svc_rows.push_back(SvcRow{&p, &o}); }
        }
        // One row per (trace, service, commit), appended: keyed by trace id and merged in place,
        // these rows were the last index written on random pages besides the trace-id index. A
        // search reads them by (service, start); a check for one trace scans its service's rows
        // within the trace's time span. In (service, start) order, as that index has them.
        std::sort(svc_rows.begin(), svc_rows.end(), [](const SvcRow& a, const SvcRow& b) {
            return std::tie(a.svc->service, a.svc->start_ns) <
                   std::tie(b.svc->service, b.svc->start_ns);
        });
        static const MultiRowInsert kInsertSvc(
            "INSERT INTO svcr(trace_id, service, start_ns, min_dur, max_dur, errors, ops) VALUES",
            7);
        if (Status st = kInsertSvc.Run(db, svc_rows.size(), "insert svc",
                                       [&](Stmt& stmt, int p, std::size_t i) {
                                           const SvcDelta& o = *svc_rows[i].svc;
                                           stmt.BindBlob(p, svc_rows[i].trace->trace_id)
                                               .BindText(p + 1, o.service)
                                               .Bind(p + 2, o.start_ns)
                                               .Bind(p + 3, o.min_dur)
                                               .Bind(p + 4, o.max_dur)
                                               .Bind(p + 5, o.errors)
                                               .BindText(p + 6, o.ops);
                                       });
            !st) {
            return st;
        }
        pending_.clear();
        pending_index_.Clear();
        return {};
    }

    Status WriteTraces(Window* w, const std::vector<const DecodedTraces*>& batches, IngestOutcome* out) {
        Db& db = *w->writer;
        EdgeMap edges;
        std::size_t spans = 0;
        for (const DecodedTraces* batch : batches) {
            spans += static_cast<std::size_t>(std::max<std::int64_t>(0, batch->accepted));
        }
        out->facts.reserve(out->facts.size() + spans);
        // One chunk and one summary upsert per trace per commit, not per request: a trace's
        // spans come from every service it crossed, in that many requests, and a commit that
        // groups several requests writes the trace's row, its refs and its tags once.
        // The builders are the writer's, kept from call to call with their buffers: a fresh
        // vector of them each call allocated every buffer of every trace again (about 3 % of
        // the collector's CPU under the exchange's traffic).
        std::vector<ChunkBuilder>& pool = span_chunks_;
        std::size_t used = 0;
        TraceSlots& index = span_groups_;
        index.Clear();
        std::size_t epoch = 0;
        std::vector<std::size_t> touched;
        // A chunk holds views of the batches' bytes (each span as received, or as the official
        // classes encoded it when the decoder left the request to them).
        for (const DecodedTraces* batch : batches) {
            for (const ResourceSpansView& rs : batch->resources) {
                std::uint32_t svc_id = Intern(std::string(rs.service));
                const std::string& service = service_names_[svc_id];  // stable (a deque)
                for (std::uint32_t si = rs.first_scope; si < rs.first_scope + rs.scope_count;
                     ++si) {
                    const ScopeSpansView& ss = batch->scopes[si];
                    ++epoch;
                    touched.clear();
                    for (std::uint32_t k = ss.first_span; k < ss.first_span + ss.span_count; ++k) {
                        const SpanView& span = batch->spans[k];
                        TraceKey key = KeyOf(span.trace_id);
                        const auto [gi, inserted] = index.FindOrInsert(key, used);
                        if (inserted) {
                            if (used == pool.size()) {
                                pool.emplace_back();
                            } else {
                                pool[used].Reset();
                            }
                            ++used;
                            pool[gi].trace_id = span.trace_id;
                            pool[gi].delta.trace_id = span.trace_id;
                        }
                        ChunkBuilder& g = pool[gi];
                        if (g.epoch != epoch) {
                            g.epoch = epoch;
                            touched.push_back(gi);
                            g.sections.push_back(ChunkSection{{}, {}, g.spans.size(), 0, 0});
                        }
                        g.spans.push_back(span.whole);
                        g.sections.back().span_count += 1;
                        g.sections.back().span_bytes += span.whole.size();
                        Account(&g, service, svc_id, *batch, span, out, &edges);
                    }
                    for (std::size_t gi : touched) {
                        pool[gi].sections.back().resource = rs.resource_field;
                        pool[gi].sections.back().scope = ss.scope_field;
                    }
                }
            }
        }
        const std::span<ChunkBuilder> groups(pool.data(), used);
        for (ChunkBuilder& g : groups) {
            ResolveDependencies(g, &edges);
        }
        TrimDependencies();
        for (ChunkBuilder& g : groups) {
            if (Status st = WriteChunk(w, g, out); !st) {
                return st;
            }
        }
        if (pool.size() > kPooledChunks) {
            pool.resize(kPooledChunks);  // a burst's builders are not kept
        }
        for (const auto& [k, calls] : edges) {
            auto stmt = db.PrepareStatic(
"INSERT INTO deps(minute, parent, child, calls) VALUES(?1, ?2, ?3, ?4) "
                "ON CONFLICT(minute, parent, child) DO UPDATE SET calls = calls + excluded.calls");
            if (!stmt) {
                return stmt.error();
            }
            stmt->Bind(1, std::get<0>(k))
                .BindText(2, service_names_[std::get<1>(k)])
                .BindText(3, service_names_[std::get<2>(k)])
                .Bind(4, calls);
            if (stmt->Run() != SQLITE_DONE) {
                return Error{ErrorCode::kInternal, "insert deps: " + db.ErrorText()};
            }
        }
        return {};
    }

    void Account(ChunkBuilder* g, const std::string& service, std::uint32_t svc_id,
                 const DecodedTraces& batch, const SpanView& span, IngestOutcome* out,
                 EdgeMap* edges) {
        auto start = static_cast<std::int64_t>(span.start_time_unix_nano);
        auto end = static_cast<std::int64_t>(span.end_time_unix_nano);
        if (end < start) {
            end = start;
        }
        std::int64_t dur = end - start;
        bool error = span.status_code == otlp_trace::Status::STATUS_CODE_ERROR;
        bool root = span.parent_span_id.empty();
        TraceSummary& d = g->delta;
        if (d.span_count == 0) {
            d.start_ns = start;
            d.end_ns = end;
            d.root_service = service;
            d.root_operation = span.name;
        } else {
            if (!d.has_root && (root || start < d.start_ns)) {
                d.root_service = service;
                d.root_operation = span.name;
            }
            d.start_ns = std::min(d.start_ns, start);
            d.end_ns = std::max(d.end_ns, end);
        }
        if (root && !d.has_root) {
            d.has_root = true;
            d.root_service = service;
            d.root_operation = span.name;
        }
        ++d.span_count;
        d.error_count += error ? 1 : 0;
        if (d.services.empty() || d.services.back().name != service) {
            auto it = std::find_if(d.services.begin(), d.services.end(),
                                   [&](const ServiceCount& c) { return c.name == service; });
            if (it == d.services.end()) {
                d.services.push_back(ServiceCount{service, 0, 0});
                it = d.services.end() - 1;
            }
            std::iter_swap(it, d.services.end() - 1);
        }
        d.services.back().spans += 1;
        d.services.back().errors += error ? 1 : 0;

        SvcDelta* sd = nullptr;
        for (auto& x : g->svcs) {
            if (x.service.data() == service.data() || x.service == service) {
                sd = &x;
                break;
            }
        }
        if (sd == nullptr) {
            g->svcs.push_back(SvcDelta{service, start, dur, dur, 0});
            sd = &g->svcs.back();
        }
        sd->start_ns = std::min(sd->start_ns, start);
        sd->min_dur = std::min(sd->min_dur, dur);
        sd->max_dur = std::max(sd->max_dur, dur);
        sd->errors += error ? 1 : 0;
        AddOperation(&sd->ops, span.name);

        std::string_view peer;
        bool db_span = false;
        for (const std::string_view encoded : batch.AttributesOf(span)) {
            const AttributeView kv = ReadAttribute(encoded);
            const std::string_view kk = kv.key;  // string_view ==: lengths first, then the bytes
            // Most keys are not indexed: their length alone says so, without comparing bytes.
            auto indexed = indexed_.end();
            if (indexed_lengths_[std::min(kk.size(), indexed_lengths_.size() - 1)] &&
                (indexed = std::find(indexed_.begin(), indexed_.end(), kk)) != indexed_.end()) {
                std::string v;
                if (kv.is_string) {
                    v = kv.text;
                } else if (kv.is_int) {
                    v = std::to_string(kv.integer);
                } else {
                    otlp_common::AnyValue value;
                    (void)value.ParseFromArray(kv.value.data(), static_cast<int>(kv.value.size()));
                    v = AnyValueText(value);
                }
                bool dup = false;
                for (const auto& t : g->tags) {
                    if (t.first == kk && t.second == v) {
                        dup = true;
                        break;
                    }
                }
                if (!dup && g->tags.size() < 256) {
                    // The key as indexed_ holds it: the tag outlives the request's bytes
                    // (its row is written at the commit).
                    g->tags.emplace_back(*indexed, std::move(v));
                }
            }
            if ((kk == std::string_view("service.peer.name") ||
                 kk == std::string_view("peer.service")) &&
                kv.is_string) {
                peer = kv.text;
            } else if (kk == std::string_view("db.system.name") ||
                       kk == std::string_view("db.system")) {
                db_span = true;
            }
        }

        // Operations catalog (per window).
        std::uint64_t op_key = std::hash<std::string_view>()(span.name) * 31 + svc_id * 7919 +
                               static_cast<std::uint64_t>(span.kind);
        if (g_window_ops_ != nullptr && g_window_ops_->insert(op_key).second) {
            pending_ops_.push_back(
                OperationInfo{service + '\0' + std::string(span.name), span.kind});
        }

        // Dependencies: resolved per trace once the call's spans are grouped.
        std::int64_t minute = start / 60'000'000'000;
        g->deps.push_back(DepSpan{SpanKeyOf(span.span_id),
                                  root ? 0 : SpanKeyOf(span.parent_span_id), svc_id, minute});
        if (!peer.empty() &&
            (span.kind == otlp_trace::Span::SPAN_KIND_CLIENT ||
             span.kind == otlp_trace::Span::SPAN_KIND_PRODUCER) &&
            db_span) {
            // Databases and caches are nodes by their peer name (DESIGN §5). Calls between
            // services come from parent → child spans only, as in Jaeger: a peer.service that
            // is itself instrumented would otherwise be counted twice.
            Edge(svc_id, Intern(std::string(peer)), minute, edges);
        }

        out->spans += 1;
        out->facts.push_back(SpanFact{service, span.name, span.kind, start, dur, error});
    }

    Status WriteChunk(Window* w, ChunkBuilder& g, IngestOutcome* out) {
        Db& db = *w->writer;
        char ref[kRefBytes];
        AppendChunkToSeg(w, g, ref);
        // Tag rows are keyed (block, key, value, trace): a block holds the tags of
        // opt_.tag_block_traces traces, so one commit's inserts land in the current block's few
        // pages instead of all over the index (keyed by value first, tag rows were the largest
        // ingest cost: every row a random page); a tag search seeks each block instead.
        if (!g.tags.empty() &&
            ++w->tag_block_traces > std::max<std::int64_t>(1, opt_.tag_block_traces)) {
            ++w->tag_block;
            w->tag_block_traces = 1;
        }
        std::int64_t block = w->tag_block;
        // Summary: merge with what is known (cache, else the current window's row unless the
        // filter proves the trace new here), in the cache's entry: one lookup, and no copy of
        // the summary's strings out of the cache and back. After a failure the cache is dropped
        // whole with the transaction (RollBack), so a half-merged entry does not outlive it.
        TraceKey key = KeyOf(g.trace_id);
        auto [cached, inserted] = summary_cache_.TryEmplace(key);
        TraceSummary& merged = cached->summary;
        // The tag rows this trace already has in this window's current block: an insert of one
        // of them would only seek the B-tree to find it there.
        std::vector<std::uint64_t>& tags_written = cached->tags;
        bool is_new = false;
        if (!inserted) {
            if (cached->tag_window != w->created_ns || cached->tag_block != block) {
                tags_written.clear();
            }
        } else if (w->seen != nullptr && !w->seen->MaybeContains(key)) {
            is_new = true;
        } else {
            auto stmt = db.PrepareStatic(
"SELECT start_ns, end_ns, root_service, root_operation, has_root, span_count, "
                "error_count, services FROM traces WHERE trace_id=?1");
            if (!stmt) {
                summary_cache_.Erase(key);
                return stmt.error();
            }
            stmt->BindBlob(1, g.trace_id);
            if (stmt->Step()) {
                merged.start_ns = stmt->Int(0);
                merged.end_ns = stmt->Int(1);
                merged.root_service = stmt->Text(2);
                merged.root_operation = stmt->Text(3);
                merged.has_root = stmt->Int(4) != 0;
                merged.span_count = stmt->Int(5);
                merged.error_count = stmt->Int(6);
                merged.services = DecodeServices(stmt->Text(7));
            } else {
                is_new = true;
            }
        }
        cached->tag_window = w->created_ns;
        cached->tag_block = block;
        if (inserted) {
            summary_fifo_.push_back(key);
        }
        if (w->seen != nullptr) { w->seen->Add(key); }
        merged.trace_id = g.trace_id;
        MergeSummary(&merged, g.delta);
        // The trace's row and its svcr rows are written at the commit (FlushPending), once for
        // every call of the interval that carried its spans.
        PendingTrace& p = PendingFor(key, g.trace_id);
        p.spans = true;
        p.refs.append(ref, kRefBytes);
        p.tb0 = std::min(p.tb0, block);
        p.tb1 = std::max(p.tb1, block);
        for (SvcDelta& o : g.svcs) {
            MergeSvc(&p.svcs, std::move(o));
        }
        for (auto& [k, v] : g.tags) {
            const std::uint64_t tag_hash = TagHash(k, v);
            if (std::find(tags_written.begin(), tags_written.end(), tag_hash) != tags_written.end()) {
                continue;
            }
            PendingTag& t = pending_tags_.emplace_back();
            t.block = block;
            t.key = k;
            t.value = std::move(v);
            t.trace_len = static_cast<std::uint8_t>(std::min(g.trace_id.size(), sizeof t.trace));
            std::memcpy(t.trace, g.trace_id.data(), t.trace_len);
            t.start_ns = merged.start_ns;
            if (tags_written.size() < kTagsRemembered) {
                tags_written.push_back(tag_hash);
            }
        }
        for (const OperationInfo& o : pending_ops_) {
            auto stmt = db.PrepareStatic("INSERT OR IGNORE INTO operations(service, name, kind) VALUES(?1, ?2, ?3)");
            if (!stmt) {
                return stmt.error();
            }
            std::size_t nul = o.name.find('\0');
            std::string_view svc(o.name.data(), nul);
            std::string_view name(o.name.data() + nul + 1, o.name.size() - nul - 1);
            stmt->BindText(1, svc).BindText(2, name).Bind(3, o.kind);
            if (stmt->Run() != SQLITE_DONE) {
                return Error{ErrorCode::kInternal, "insert operation: " + db.ErrorText()};
            }
        }
        pending_ops_.clear();
        if (is_new) {
            out->new_traces.push_back(merged);
        }
        if (inserted) {
            TrimSummaryCache();  // keeps this trace's entry: it is pending
        }
        return {};
    }

    // Forgets the summaries first seen longest ago beyond the cache's size, except those of
    // pending traces: FlushPending writes their rows from the cache. A trace first seen long
    // ago can be pending again (a late batch of it merged from the cache), so such an entry
    // goes to the back of the queue instead.
    void TrimSummaryCache() {
        for (std::size_t turns = summary_fifo_.size();
             summary_fifo_.size() > SummaryCacheSize() && turns > 0; --turns) {
            const TraceKey oldest = summary_fifo_.front();
            summary_fifo_.pop_front();
            if (pending_index_.Contains(oldest)) {
                summary_fifo_.push_back(oldest);
                continue;
            }
            summary_cache_.Erase(oldest);
        }
    }
    std::size_t SummaryCacheSize() const {
        return std::max<std::size_t>(16, opt_.summary_cache_traces);
    }
    // Pending traces are flushed past this (a call may add many more before the check).
    std::size_t MaxPending() const { return std::min(kMaxPending, SummaryCacheSize() / 4); }

    Status WriteLogs(Window* w, const std::vector<const DecodedLogs*>& batches, IngestOutcome* out) {
        // Per trace of an export, a LogsData of views of the request bytes: each resource and
        // scope with that trace's records, as received, written once into the span file's
        // buffer (as a span chunk is). Building it in strings copied each record four times.
        struct LogGroup {
            std::string_view trace_id;
            std::vector<std::string_view> records;  // in the sections' order
            std::vector<ChunkSection> sections;     // first_span/span_count index `records`
            std::size_t epoch = SIZE_MAX;
        };
        std::vector<LogGroup> groups;
        TraceSlots& index = log_groups_;
        for (const DecodedLogs* batch : batches) {
            groups.clear();
            index.Clear();
            std::size_t epoch = 0;
            for (const ResourceLogsView& rl : batch->resources) {
                for (std::uint32_t i = rl.first_scope; i < rl.first_scope + rl.scope_count; ++i) {
                    const ScopeLogsView& sl = batch->scopes[i];
                    ++epoch;
                    for (std::uint32_t j = sl.first_record; j < sl.first_record + sl.record_count;
                         ++j) {
                        const LogRecordView& rec = batch->records[j];
                        out->logs += 1;
                        if (rec.trace_id.size() != 16) {
                            continue;  // only logs that belong to a trace are queryable
                        }
                        const auto [gi, inserted] =
                            index.FindOrInsert(KeyOf(rec.trace_id), groups.size());
                        if (inserted) { groups.emplace_back().trace_id = rec.trace_id; }
                        LogGroup& g = groups[gi];
                        if (g.epoch != epoch) {
                            g.epoch = epoch;
                            g.sections.push_back(ChunkSection{rl.resource_field, sl.scope_field,
                                                              g.records.size(), 0, 0});
                        }
                        ++g.sections.back().span_count;
                        g.sections.back().span_bytes += rec.whole.size();
                        g.records.push_back(rec.whole);
                    }
                }
            }
            for (const LogGroup& g : groups) {
                // The bytes go to the span file like span chunks, and their ref to the trace's
                // row at the commit. (Before, a log row per (trace, export) pointed at them:
                // three a trace, and their trace-id index written on random pages.)
                char ref[kRefBytes];
                AppendSectionsToSeg(w, kLogFrame, g.sections, g.records, ref);
                PendingFor(KeyOf(g.trace_id), g.trace_id).log_refs.append(ref, kRefBytes);
            }
        }
        return {};
    }

    static constexpr std::size_t kMaxPending = 20'000;
    // 64 MiB of WAL between checkpoints: the pages a commit rewrites again and again (index
    // tails, the current tag block) are copied to the database once per checkpoint.
    static constexpr int kCheckpointPages = 16000;
    static constexpr std::int64_t kWritebackBytes = std::int64_t{1} << 20;

    StoreOptions opt_;
    const common::Clock* clock_;
    std::vector<std::string> indexed_;  // tag keys with index rows (a handful; no duplicates)
    std::array<bool, 65> indexed_lengths_{};  // [n]: some indexed key has n bytes (64: ≥ 64)
    mutable std::shared_mutex windows_mu_;
    std::vector<std::shared_ptr<Window>> windows_;  // oldest first; mutated by the writer only
    std::atomic<std::int64_t> deleted_windows_{0};
    std::uint64_t rotate_check_ = 0;

    // Writer-thread state.
    // What the writer knows of recent traces: the summary as stored, and which tag rows the
    // trace has in a window's current tag block (hashes of key and value, at most
    // kTagsRemembered: ≤ 128 bytes a trace; a row of a cleared or evicted entry, or past the
    // limit, is inserted again, which INSERT OR IGNORE makes harmless).
    struct CachedTrace {
        TraceSummary summary;
        std::int64_t tag_window = 0;  // the window's created_ns
        std::int64_t tag_block = 0;
        std::vector<std::uint64_t> tags;
    };
    static constexpr std::size_t kTagsRemembered = 16;  // 8–10 a trace in the exchange
    static std::uint64_t TagHash(std::string_view key, std::string_view value) {
        // FNV-1a over the key's length, the key and the value (the length keeps ("ab", "c")
        // and ("a", "bc") apart).
        std::uint64_t h = 14695981039346656037ull;
        auto mix = [&h](std::string_view bytes) {
            for (unsigned char c : bytes) {
                h = (h ^ c) * 1099511628211ull;
            }
        };
        const std::uint64_t key_size = key.size();
        mix(std::string_view(reinterpret_cast<const char*>(&key_size), sizeof key_size));
        mix(key);
        mix(value);
        return h;
    }
    TraceMap<CachedTrace> summary_cache_;
    std::deque<TraceKey> summary_fifo_;
    std::unordered_map<std::string, std::uint32_t> service_ids_;
    std::deque<std::string> service_names_;  // interned; references stay valid
    TraceMap<TraceDeps> deps_;
    std::deque<TraceKey> deps_fifo_;
    std::size_t dep_footprint_ = 0;  // bytes held by deps_ (TraceDeps::footprint)
    std::unordered_set<std::uint64_t>* g_window_ops_ = nullptr;
    std::vector<OperationInfo> pending_ops_;
    std::string seg_buf_;  // frames of the current Ingest call, written before it returns

    // A tag row queued for the commit (FlushPending): written then, sorted, several rows a
    // statement. One statement a row, written as each chunk came, was a tenth of the
    // collector's CPU under the exchange's traffic.
    struct PendingTag {
        std::int64_t block = 0;
        std::string_view key;  // one of indexed_
        std::string value;
        char trace[16];
        std::uint8_t trace_len = 0;
        std::int64_t start_ns = 0;
        std::string_view TraceId() const { return {trace, trace_len}; }
    };
    std::vector<PendingTag> pending_tags_;

    // The trace rows of the open transaction, merged in memory until its commit (in order).
    struct PendingTrace {
        TraceKey key;
        std::string trace_id;
        bool spans = false;     // else logs only: the summary is not the writer's to rewrite
        std::string refs;       // of the span chunks written since the last flush
        std::string log_refs;   // of the log chunks
        std::int64_t tb0 = INT64_MAX;
        std::int64_t tb1 = INT64_MIN;
        std::vector<SvcDelta> svcs;
    };
    PendingTrace& PendingFor(const TraceKey& key, std::string_view trace_id) {
        const auto [slot, fresh] = pending_index_.FindOrInsert(key, pending_.size());
        if (fresh) {
            pending_.emplace_back();
            pending_.back().key = key;
            pending_.back().trace_id = trace_id;
        }
        return pending_[slot];
    }
    std::vector<PendingTrace> pending_;
    TraceSlots pending_index_;
    // WriteTraces' and WriteLogs' groups of one call by trace: members only to keep their memory.
    TraceSlots span_groups_;
    TraceSlots log_groups_;
    // WriteTraces' chunk builders, the first ones reused by each call (at most kPooledChunks
    // kept: the exchange's calls group a few hundred traces).
    static constexpr std::size_t kPooledChunks = 4096;
    std::vector<ChunkBuilder> span_chunks_;
    // Guards the writer's connection and state: queries take it to commit (Sync).
    mutable std::mutex writer_mu_;
    bool txn_open_ = false;
    Window* txn_window_ = nullptr;
    std::int64_t txn_started_ns_ = 0;
    bool replaying_ = false;
    std::atomic<std::int64_t> replayed_frames_{0};
    std::string replay_error_;  // an older window's replay at open failed (Init only)
    std::atomic<std::int64_t> commits_{0};
};

}  // namespace

std::string AnyValueText(const otlp_common::AnyValue& v) {
    switch (v.value_case()) {
        case otlp_common::AnyValue::kStringValue:
            return v.string_value();
        case otlp_common::AnyValue::kBoolValue:
            return v.bool_value() ? "true" : "false";
        case otlp_common::AnyValue::kIntValue:
            return std::to_string(v.int_value());
        case otlp_common::AnyValue::kDoubleValue: {
            char buf[64];
            auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.double_value());
            return ec == std::errc() ? std::string(buf, p) : std::string("NaN");
        }
        case otlp_common::AnyValue::kBytesValue:
            return ToHex(v.bytes_value());
        case otlp_common::AnyValue::kArrayValue: {
            std::string out = "[";
            for (int i = 0; i < v.array_value().values_size(); ++i) {
                out += i == 0 ? "" : ",";
                out += AnyValueText(v.array_value().values(i));
            }
            return out + "]";
        }
        case otlp_common::AnyValue::kKvlistValue: {
            std::string out = "{";
            for (int i = 0; i < v.kvlist_value().values_size(); ++i) {
                const auto& kv = v.kvlist_value().values(i);
                out += i == 0 ? "" : ",";
                out += kv.key() + "=" + AnyValueText(kv.value());
            }
            return out + "}";
        }
        default:
            return "";
    }
}

namespace {

// Search: drive from the most selective index, verify the rest per candidate trace.
Result<std::vector<TraceSummary>> SearchImpl(const SqliteStore& store,
                                             const std::vector<std::shared_ptr<Window>>& windows,
                                             const std::vector<std::string>& indexed,
                                             const SearchQuery& q);

}  // namespace

Result<std::vector<TraceSummary>> SqliteStore::Search(const SearchQuery& q) const {
    if (Status st = Sync(); !st) { return st.error(); }
    return SearchImpl(*this, Snapshot(), indexed_, q);
}

namespace {

bool TraceHasTag(const otlp_trace::TracesData& data, const std::string& key, const std::string& value) {
    for (const auto& rs : data.resource_spans()) {
        bool res_match = AttrMatches(rs.resource().attributes(), key, value);
        for (const auto& ss : rs.scope_spans()) {
            for (const auto& span : ss.spans()) {
                if (res_match || AttrMatches(span.attributes(), key, value)) {
                    return true;
                }
                if (key == "span.kind" && SpanKindName(span.kind()) == value) {
                    return true;
                }
            }
        }
    }
    return false;
}

bool TraceHasSpan(const otlp_trace::TracesData& data, const std::string& service, const std::string& op,
                  std::int64_t min_dur, std::int64_t max_dur, bool error) {
    for (const auto& rs : data.resource_spans()) {
        if (ServiceOf(rs.resource()) != service) {
            continue;
        }
        for (const auto& ss : rs.scope_spans()) {
            for (const auto& span : ss.spans()) {
                auto dur = static_cast<std::int64_t>(span.end_time_unix_nano()) -
                           static_cast<std::int64_t>(span.start_time_unix_nano());
                if (span.name() == op && dur >= min_dur && dur <= max_dur &&
                    (!error || span.status().code() == otlp_trace::Status::STATUS_CODE_ERROR)) {
                    return true;
                }
            }
        }
    }
    return false;
}

std::string SpanKindName(int kind) {
    switch (kind) {
        case 1: return "internal";
        case 2: return "server";
        case 3: return "client";
        case 4: return "producer";
        case 5: return "consumer";
        default: return "";
    }
}

Result<std::vector<TraceSummary>> SearchImpl(const SqliteStore& store,
                                             const std::vector<std::shared_ptr<Window>>& windows,
                                             const std::vector<std::string>& indexed,
                                             const SearchQuery& q) {
    constexpr std::size_t kMaxScan = 200'000;
    std::vector<std::pair<std::string, std::string>> idx_tags;
    std::vector<std::pair<std::string, std::string>> other_tags;
    bool want_error = false;
    for (const auto& t : q.tags) {
        if (t.first == "error" && t.second == "true") {
            want_error = true;
        } else if (std::find(indexed.begin(), indexed.end(), t.first) != indexed.end()) {
            idx_tags.push_back(t);
        } else {
            other_tags.push_back(t);
        }
    }
    std::size_t limit = q.limit == 0 ? 20 : q.limit;
    std::vector<TraceSummary> results;
    std::unordered_set<std::string> seen;
    std::size_t scanned = 0;
    bool svc = !q.service.empty();
    bool op = !q.operation.empty();
    std::int64_t max_dur = q.max_duration_ns > 0 ? q.max_duration_ns : INT64_MAX;
    std::string op_pattern = "\n" + q.operation + "\n";
    // The index works per (trace, service): when an operation is combined with a duration or
    // error condition, one span must satisfy all of them, which only the spans can tell.
    bool exact_span_check = svc && op && (want_error || q.min_duration_ns > 0 || q.max_duration_ns > 0);

    for (const auto& w : windows) {
        if (results.size() >= limit || scanned >= kMaxScan) {
            break;
        }
        auto lease = ReaderLease::Acquire(w);
        if (!lease) {
            return std::move(lease).error();
        }
        Db& db = lease->db();
        std::string sql;
        enum class Driver { kTag, kOps, kTraces } driver;
        // A tag drives the search when it is selective (few rows); otherwise the service's
        // rows, newest first (only its error rows when error=true), with tags checked per trace.
        bool selective_tag = false;
        std::int64_t max_block = -1;
        if (!idx_tags.empty()) {
            auto mb = db.PrepareStatic("SELECT max(block) FROM tagb");
            if (!mb) { return std::move(mb).error(); }
            max_block = mb->Step() && !mb->IsNull(0) ? mb->Int(0) : -1;
            if (!svc) {
                selective_tag = true;
            } else {
                auto c = db.PrepareStatic(
                    "SELECT count(*) FROM (SELECT 1 FROM tagb WHERE block=?5 AND key=?1 AND "
                    "value=?2 AND "
                    "start_ns BETWEEN ?3 AND ?4 LIMIT 2000)");
                if (!c) { return std::move(c).error(); }
                std::int64_t n = 0;
                for (std::int64_t b = max_block; b >= 0 && n < 2000; --b) {
                    c->BindText(1, idx_tags[0].first)
                        .BindText(2, idx_tags[0].second)
                        .Bind(3, q.start_min_ns)
                        .Bind(4, q.start_max_ns)
                        .Bind(5, b);
                    n += c->Step() ? c->Int(0) : 0;
                    sqlite3_reset(c->raw());
                }
                selective_tag = n < 2000;
            }
        }
        if (!idx_tags.empty() && selective_tag) {
            driver = Driver::kTag;
            sql =
                "SELECT trace_id, start_ns FROM tagb WHERE block=?5 AND key=?1 AND value=?2 AND "
                "start_ns BETWEEN ?3 AND ?4";
        } else if (svc) {
            driver = Driver::kOps;
            sql = "SELECT trace_id FROM svcr WHERE service=?1 ";
            sql += "AND (?2 IS NULL OR instr(ops, ?2) > 0) AND start_ns BETWEEN ?3 AND ?4 AND max_dur >= ?5 AND min_dur <= ?6";
            if (want_error) {
                sql += " AND errors > 0";
            }
            sql += " ORDER BY start_ns DESC";
        } else {
            driver = Driver::kTraces;
            sql = "SELECT trace_id FROM traces WHERE start_ns BETWEEN ?3 AND ?4 AND duration_ns >= ?5 "
                  "AND duration_ns <= ?6";
            if (want_error) {
                sql += " AND error_count > 0";
            }
            sql += " ORDER BY start_ns DESC";
        }
        auto drv = db.Prepare(sql);
        if (!drv) {
            return std::move(drv).error();
        }
        // The tag driver reads block by block, newest first, each block's hits newest first.
        std::int64_t block = max_block;
        std::vector<std::pair<std::int64_t, std::string>> block_hits;
        std::size_t block_pos = 0;
        auto next_tagged = [&](std::string* id) {
            while (block_pos >= block_hits.size()) {
                if (block < 0) { return false; }
                block_hits.clear();
                block_pos = 0;
                drv->BindText(1, idx_tags[0].first)
                    .BindText(2, idx_tags[0].second)
                    .Bind(3, q.start_min_ns)
                    .Bind(4, q.start_max_ns)
                    .Bind(5, block);
                while (drv->Step()) {
                    block_hits.emplace_back(drv->Int(1), std::string(drv->Blob(0)));
                }
                sqlite3_reset(drv->raw());
                std::sort(block_hits.begin(), block_hits.end(), std::greater<>());
                --block;
            }
            *id = std::move(block_hits[block_pos++].second);
            return true;
        };
        auto next = [&](std::string* id) {
            if (driver == Driver::kTag) { return next_tagged(id); }
            if (!drv->Step()) { return false; }
            *id = std::string(drv->Blob(0));
            return true;
        };
        if (driver == Driver::kOps) {
            drv->BindText(1, q.service);
            if (op) {
                drv->BindText(2, op_pattern);
            }
            drv->Bind(5, q.min_duration_ns).Bind(6, max_dur);
        } else {
            drv->Bind(5, q.min_duration_ns).Bind(6, max_dur);
        }
        if (driver != Driver::kTag) { drv->Bind(3, q.start_min_ns).Bind(4, q.start_max_ns); }

        std::string id;
        while (results.size() < limit && scanned < kMaxScan && next(&id)) {
            ++scanned;
            if (seen.count(id) != 0) {
                continue;
            }
            bool ok = true;
            // Service / operation / duration / error through the ops index.
            if (ok && driver != Driver::kOps && svc) {
                // The trace's service rows start within the trace's span of time.
                auto span =
                    db.PrepareStatic("SELECT start_ns, end_ns FROM traces WHERE trace_id=?1");
                if (!span) { return std::move(span).error(); }
                span->BindBlob(1, id);
                ok = span->Step();
                std::string vsql =
                    "SELECT 1 FROM svcr WHERE service=?2 AND start_ns BETWEEN ?6 AND ?7 AND "
                    "trace_id=?1 "
                    "AND (?3 IS NULL OR instr(ops, ?3) > 0) AND max_dur >= ?4 AND min_dur <= ?5";
                if (want_error) {
                    vsql += " AND errors > 0";
                }
                auto v = db.Prepare(vsql + " LIMIT 1");
                if (!v) {
                    return std::move(v).error();
                }
                if (ok) {
                    v->BindBlob(1, id).BindText(2, q.service);
                    if (op) { v->BindText(3, op_pattern); }
                    v->Bind(4, q.min_duration_ns)
                        .Bind(5, max_dur)
                        .Bind(6, span->Int(0))
                        .Bind(7, span->Int(1));
                    ok = v->Step();
                }
            }
            if (ok && driver == Driver::kTag && !svc &&
                (want_error || q.min_duration_ns > 0 || q.max_duration_ns > 0)) {
                auto v = db.PrepareStatic(
"SELECT 1 FROM traces WHERE trace_id=?1 AND duration_ns >= ?2 AND duration_ns <= ?3 "
                    "AND (?4 = 0 OR error_count > 0)");
                if (!v) {
                    return std::move(v).error();
                }
                v->BindBlob(1, id).Bind(2, q.min_duration_ns).Bind(3, max_dur).Bind(4, want_error ? 1 : 0);
                ok = v->Step();
            }
            if (ok && idx_tags.size() > (driver == Driver::kTag ? 1u : 0u)) {
                // The trace's tag rows are in the blocks [tb0, tb1] of its trace row.
                auto tb = db.PrepareStatic(
                    "SELECT coalesce(tb0, 0), coalesce(tb1, 0) FROM traces WHERE trace_id=?1");
                if (!tb) { return std::move(tb).error(); }
                tb->BindBlob(1, id);
                ok = tb->Step();
                std::int64_t b0 = ok ? tb->Int(0) : 0;
                std::int64_t b1 = ok ? tb->Int(1) : -1;
                auto v = db.PrepareStatic(
                    "SELECT 1 FROM tagb WHERE block BETWEEN ?4 AND ?5 AND key=?1 AND value=?2 AND "
                    "trace_id=?3 LIMIT 1");
                auto v1 = db.PrepareStatic(
                    "SELECT 1 FROM tagb WHERE block=?4 AND key=?1 AND value=?2 AND trace_id=?3");
                if (!v) {
                    return std::move(v).error();
                }
                if (!v1) { return std::move(v1).error(); }
                for (std::size_t i = driver == Driver::kTag ? 1 : 0; ok && i < idx_tags.size();
                     ++i) {
                    bool hit = false;
                    if (b1 - b0 > 16) {
                        // A long-lived trace: one range scan instead of a seek per block.
                        v->BindText(1, idx_tags[i].first)
                            .BindText(2, idx_tags[i].second)
                            .BindBlob(3, id)
                            .Bind(4, b0)
                            .Bind(5, b1);
                        hit = v->Step();
                        sqlite3_reset(v->raw());
                    }
                    for (std::int64_t b = b0; b1 - b0 <= 16 && !hit && b <= b1; ++b) {
                        v1->BindText(1, idx_tags[i].first)
                            .BindText(2, idx_tags[i].second)
                            .BindBlob(3, id)
                            .Bind(4, b);
                        hit = v1->Step();
                        sqlite3_reset(v1->raw());
                    }
                    ok = hit;
                }
            }
            if (ok && (!other_tags.empty() || exact_span_check)) {
                // Each condition holds when some span (or its resource) meets it: the chunks
                // are read one at a time, until every condition is met.
                std::vector<bool> tag_met(other_tags.size(), false);
                bool span_met = !exact_span_check;
                std::size_t unmet = other_tags.size() + (span_met ? 0 : 1);
                bool found = false;
                Status st = store.VisitChunks(
                    id,
                    [&](otlp_trace::TracesData& chunk) {
                        for (std::size_t i = 0; i < other_tags.size(); ++i) {
                            if (!tag_met[i] &&
                                TraceHasTag(chunk, other_tags[i].first, other_tags[i].second)) {
                                tag_met[i] = true;
                                --unmet;
                            }
                        }
                        if (!span_met && TraceHasSpan(chunk, q.service, q.operation,
                                                      q.min_duration_ns, max_dur, want_error)) {
                            span_met = true;
                            --unmet;
                        }
                        return unmet > 0;
                    },
                    &found);
                if (!st) { return st.error(); }
                ok = found && unmet == 0;
            }
            if (!ok) {
                continue;
            }
            auto s = db.PrepareStatic(
"SELECT start_ns, end_ns, root_service, root_operation, has_root, span_count, "
                "error_count, services FROM traces WHERE trace_id=?1");
            if (!s) {
                return std::move(s).error();
            }
            s->BindBlob(1, id);
            if (!s->Step()) {
                continue;
            }
            TraceSummary sum;
            sum.trace_id = id;
            sum.start_ns = s->Int(0);
            sum.end_ns = s->Int(1);
            sum.root_service = s->Text(2);
            sum.root_operation = s->Text(3);
            sum.has_root = s->Int(4) != 0;
            sum.span_count = s->Int(5);
            sum.error_count = s->Int(6);
            sum.services = DecodeServices(s->Text(7));
            seen.insert(id);
            results.push_back(std::move(sum));
        }
    }
    std::stable_sort(results.begin(), results.end(), [](const TraceSummary& a, const TraceSummary& b) {
        return a.start_ns > b.start_ns;
    });
    return results;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
    if (options.data_dir.empty()) {
        return Error{ErrorCode::kValidation, "the store needs a data directory"};
    }
    auto store = std::make_unique<SqliteStore>(std::move(options));
    if (Status st = store->Init(); !st) {
        return st.error();
    }
    return std::unique_ptr<Store>(std::move(store));
}

}  // namespace flowex::collector
