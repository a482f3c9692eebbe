#pragma once
/// The bounded ingest queue and its single writer thread.
///
/// Receivers decode a request on their own thread and `Submit` it; the writer takes everything
/// queued, stores it in one transaction (group commit) and then calls each request's `done`
/// with the outcome, so a receiver answers 200 only after its batch is committed. When the
/// queue is full (items or bytes), `Submit` refuses at once (the receiver answers 503 with
/// Retry-After): memory stays bounded under overload. `Stop` drains what was accepted.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

#include "flowex/collector/red_metrics.hpp"
#include "flowex/collector/store.hpp"

namespace flowex::collector {

struct IngestOptions {
    std::size_t max_queue_items = 256;
    std::size_t max_queue_bytes = 128 * 1024 * 1024;  // decoded-body estimate
    std::chrono::milliseconds retention_interval{5000};
    /// Test seam: called on the writer thread before each Store::Ingest call (may block to hold
    /// the queue).
    std::function<void()> before_commit;
    /// Where the writer reports that storing fails (at once, then at most once per
    /// report_interval while it goes on) and that it works again; stderr when empty.
    std::function<void(const std::string&)> report;
    std::chrono::milliseconds report_interval{30000};
};

struct IngestStats {
    std::uint64_t spans = 0;
    std::uint64_t logs = 0;
    std::uint64_t batches = 0;
    std::uint64_t ingest_calls = 0;  // Store::Ingest calls (each stores every request queued)
    std::uint64_t refused_full = 0;
    std::uint64_t failed = 0;  // requests answered 503 because storing them failed
    /// While the store fails (its latest Ingest or commit did; the disk full, say): that
    /// error. Empty once a write succeeds again.
    std::string store_error;
    std::size_t queued_items = 0;
    std::size_t queued_bytes = 0;
};

class Ingestor {
public:
    /// Called on the writer thread once the request is stored (or failed). Must not block.
    using Done = std::function<void(const common::Status&)>;
    /// Called on the writer thread with the traces first seen in a commit. Must not block.
    using LiveListener = std::function<void(const std::vector<TraceSummary>&)>;

    Ingestor(Store& store, RedMetrics& metrics, IngestOptions options = {});
    ~Ingestor();  ///< Stop().

    /// Thread-safe. False when the queue is full or stopped (done is then not called).
    bool Submit(DecodedTraces batch, Done done);
    bool Submit(DecodedLogs batch, Done done);

    /// Stops accepting, stores everything accepted, joins the writer. Idempotent.
    void Stop();

    std::uint64_t AddLiveListener(LiveListener listener);
    void RemoveLiveListener(std::uint64_t id);

    IngestStats Stats() const;

private:
    static constexpr std::chrono::milliseconds kFlushCheck{100};  // idle wake-ups (Store::Flush)

    struct Item {
        std::variant<DecodedTraces, DecodedLogs> batch;
        Done done;
        std::size_t bytes = 0;
    };
    bool Push(Item item);
    void Run();
    // Writer thread: the outcome of a store call (requests: how many it covered).
    void NoteStoreOutcome(const common::Status& status, std::size_t requests);
    void Report(const std::string& line) const;

    Store& store_;
    RedMetrics& metrics_;
    IngestOptions options_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Item> queue_;
    std::size_t queued_bytes_ = 0;
    bool stopping_ = false;
    IngestStats stats_;
    std::mutex live_mu_;
    std::map<std::uint64_t, LiveListener> live_;
    std::uint64_t next_live_ = 1;
    // Writer thread only: requests failed since the store last worked, and the last report.
    bool failing_ = false;
    std::uint64_t failed_since_ok_ = 0;
    std::chrono::steady_clock::time_point last_report_{};
    std::thread writer_;
};

}  // namespace flowex::collector
