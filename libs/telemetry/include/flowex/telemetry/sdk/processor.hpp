#pragma once
/// Span processors: what happens to a span when it ends.
///
/// BatchSpanProcessor (specification defaults, `OTEL_BSP_*`): a bounded lock-free queue
/// between the threads that end spans and one worker thread that exports. OnEnd never blocks
/// and never allocates: when the queue is full the span is dropped and counted. The worker
/// exports full batches of `max_export_batch_size` as they fill, what is left every
/// `schedule_delay`, everything on ForceFlush, and on Shutdown (which drains the queue).
///
/// The worker empties the queue as it goes, collecting spans into the next batch. While spans
/// stream in faster than a batch per millisecond it waits for them by polling the queue
/// instead of sleeping (a sleeping thread's wake-up can take longer than a 2048-span queue
/// lasts at millions of spans per second); otherwise it sleeps, and a caller wakes it only
/// when the worker is asleep and a full batch is waiting — one wake-up per batch at most, none
/// while the worker polls. Polling stops 1 ms after the stream does, and never happens when
/// the process may use only one CPU. In a SCHED_FIFO/SCHED_RR process the worker sleeps and
/// exports one priority above the thread that created the processor, and polls at its level.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "flowex/telemetry/env.hpp"
#include "flowex/telemetry/sdk/exporter.hpp"

namespace flowex::telemetry::sdk {

class SpanRecord;  // the SDK's pooled span (implementation detail)
struct RecordHome;  // the pool a span record returns to (implementation detail)

/// Counters every processor keeps (read with relaxed loads; exposed as metrics).
struct ProcessorStats {
    std::uint64_t exported = 0;          // spans handed to a successful Export
    std::uint64_t dropped = 0;           // spans dropped because the queue was full
    std::uint64_t export_failed = 0;     // spans in failed Export calls
    std::uint64_t export_failures = 0;   // failed Export calls
    std::uint64_t queue_size = 0;        // spans waiting now
    std::uint64_t queue_capacity = 0;
};

class SpanProcessor {
public:
    virtual ~SpanProcessor() = default;
    /// Takes ownership of an ended span. Callable from any thread; must not block.
    virtual void OnEnd(SpanRecord* span) noexcept = 0;
    virtual bool ForceFlush(std::chrono::milliseconds timeout) noexcept = 0;
    virtual bool Shutdown(std::chrono::milliseconds timeout) noexcept = 0;
    virtual ProcessorStats Stats() const noexcept = 0;
};

/// Exports each span synchronously on the thread that ends it (tests, debugging).
class SimpleSpanProcessor final : public SpanProcessor {
public:
    explicit SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter);
    void OnEnd(SpanRecord* span) noexcept override;
    bool ForceFlush(std::chrono::milliseconds timeout) noexcept override;
    bool Shutdown(std::chrono::milliseconds timeout) noexcept override;
    ProcessorStats Stats() const noexcept override;

private:
    std::unique_ptr<SpanExporter> exporter_;
    std::mutex mutex_;
    bool shutdown_ = false;
    std::atomic<std::uint64_t> exported_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> failures_{0};
};

struct BatchOptions {
    /// Rounded up to a power of two.
    std::size_t max_queue_size = 2048;
    std::chrono::milliseconds schedule_delay{5000};
    std::chrono::milliseconds export_timeout{30000};
    std::size_t max_export_batch_size = 512;
};

/// OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT,
/// OTEL_BSP_MAX_EXPORT_BATCH_SIZE (clamped to the queue size).
BatchOptions BatchOptionsFromEnv(const EnvLookup& env);

class BatchSpanProcessor final : public SpanProcessor {
public:
    BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options = {});
    ~BatchSpanProcessor() override;
    BatchSpanProcessor(const BatchSpanProcessor&) = delete;
    BatchSpanProcessor& operator=(const BatchSpanProcessor&) = delete;

    void OnEnd(SpanRecord* span) noexcept override;
    /// Exports everything queued before the call; false on timeout.
    bool ForceFlush(std::chrono::milliseconds timeout) noexcept override;
    /// Drains the queue, shuts the exporter down and stops the worker; false on timeout.
    bool Shutdown(std::chrono::milliseconds timeout) noexcept override;
    ProcessorStats Stats() const noexcept override;
    const BatchOptions& Options() const noexcept { return options_; }

private:
    // The record's home travels with it so that the worker never reads the record (a read
    // from another core makes the caller's next write to that line expensive).
    struct alignas(32) Cell {
        std::atomic<std::size_t> sequence;
        SpanRecord* span;
        RecordHome* home;
    };
    bool TryPush(SpanRecord* span) noexcept;
    void Run() noexcept;
    /// Worker only: moves every span stored in the queue into batch_, exporting each batch
    /// that fills; true if it took any.
    bool Drain() noexcept;
    /// Worker only: exports batch_ and hands the records back to their pools.
    void ExportBatch() noexcept;
    /// Worker only: polls until `count` more spans are stored, a flush or shutdown is asked
    /// for, or `limit` passes; false on the latter.
    bool PollFor(std::size_t count, std::chrono::nanoseconds limit) noexcept;
    void WakeWorker() noexcept;

    // Cache-line layout: what callers write (enqueue_pos_, dropped_), what the worker writes
    // and callers read on every span (wake_pos_, written only when the worker goes to sleep
    // or wakes) and what only the worker touches each sit on their own lines, so a span end
    // does not pull a line the worker just wrote.
    std::unique_ptr<SpanExporter> exporter_;
    BatchOptions options_;
    std::size_t mask_;
    std::unique_ptr<Cell[]> cells_;
    alignas(64) std::atomic<std::size_t> enqueue_pos_{0};
    alignas(64) std::atomic<std::size_t> wake_pos_;  // a caller reaching it wakes the worker
    std::atomic<bool> shutdown_{false};
    alignas(64) std::atomic<bool> wake_pending_{false};
    std::atomic<bool> attention_{false};  // a flush or shutdown is waiting for the worker
    alignas(64) std::atomic<std::uint64_t> dropped_{0};
    alignas(64) std::atomic<std::size_t> head_{0};  // first span not yet exported (Stats)
    std::atomic<std::uint64_t> exported_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> failures_{0};
    alignas(64) std::size_t dequeue_pos_ = 0;  // worker only
    std::uint64_t export_calls_ = 0;           // worker only
    std::vector<SpanRecord*> batch_;            // worker only
    std::vector<RecordHome*> homes_;            // worker only: batch_[i]->home
    std::vector<const SpanData*> view_;         // worker only: the batch as exporters see it

    std::mutex mutex_;
    std::condition_variable worker_cv_;
    std::condition_variable flush_cv_;
    std::uint64_t flush_requested_ = 0;  // guarded by mutex_
    std::uint64_t flush_done_ = 0;       // guarded by mutex_
    bool stop_ = false;                  // guarded by mutex_
    bool stopped_ = false;               // guarded by mutex_
    std::thread worker_;
};

}  // namespace flowex::telemetry::sdk
