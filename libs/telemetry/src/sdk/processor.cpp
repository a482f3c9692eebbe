#include "flowex/telemetry/sdk/processor.hpp"

#include <algorithm>
#include <bit>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "span_record.hpp"

namespace flowex::telemetry::sdk {

// ---- simple -----------------------------------------------------------------------------

SimpleSpanProcessor::SimpleSpanProcessor(std::unique_ptr<SpanExporter> exporter)
    : exporter_(std::move(exporter)) {}

void SimpleSpanProcessor::OnEnd(SpanRecord* span) noexcept {
    {
        std::lock_guard lock(mutex_);
        if (!shutdown_) {
            const SpanData* one[] = {&span->data};
            if (exporter_->Export(one) == ExportResult::kSuccess) {
                exported_.fetch_add(1, std::memory_order_relaxed);
            } else {
                failed_.fetch_add(1, std::memory_order_relaxed);
                failures_.fetch_add(1, std::memory_order_relaxed);
            }
        }
    }
    ReleaseSpanRecord(span);
}

bool SimpleSpanProcessor::ForceFlush(std::chrono::milliseconds timeout) noexcept {
    std::lock_guard lock(mutex_);
    return exporter_->ForceFlush(timeout);
}

bool SimpleSpanProcessor::Shutdown(std::chrono::milliseconds timeout) noexcept {
    std::lock_guard lock(mutex_);
    if (shutdown_) {
        return true;
    }
    shutdown_ = true;
    return exporter_->Shutdown(timeout);
}

ProcessorStats SimpleSpanProcessor::Stats() const noexcept {
    ProcessorStats s;
    s.exported = exported_.load(std::memory_order_relaxed);
    s.export_failed = failed_.load(std::memory_order_relaxed);
    s.export_failures = failures_.load(std::memory_order_relaxed);
    return s;
}

// ---- batch ------------------------------------------------------------------------------

BatchOptions BatchOptionsFromEnv(const EnvLookup& env) {
    BatchOptions o;
    o.max_queue_size = static_cast<std::size_t>(
        EnvInt(env, "OTEL_BSP_MAX_QUEUE_SIZE", static_cast<std::int64_t>(o.max_queue_size)));
    o.schedule_delay = EnvMillis(env, "OTEL_BSP_SCHEDULE_DELAY", o.schedule_delay);
    o.export_timeout = EnvMillis(env, "OTEL_BSP_EXPORT_TIMEOUT", o.export_timeout);
    o.max_export_batch_size = static_cast<std::size_t>(EnvInt(
        env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", static_cast<std::int64_t>(o.max_export_batch_size)));
    if (o.max_queue_size == 0) {
        o.max_queue_size = 2048;
    }
    o.max_export_batch_size = std::clamp<std::size_t>(o.max_export_batch_size, 1, o.max_queue_size);
    return o;
}

namespace {
// The shortest sleep between polls while spans stream in (a wake-up costs the worker a few
// microseconds; below this the caller's half-full wake-up takes over).
constexpr std::chrono::nanoseconds kMinPoll = std::chrono::microseconds(20);
// A worker that expects to sleep at least this long counts as idle: callers then wake it as
// soon as a full batch is queued.
constexpr std::chrono::nanoseconds kIdlePoll = std::chrono::milliseconds(2);
// How far ahead of its position a producer prefetches ring cells (four cache lines).
constexpr std::size_t kPrefetchCells = 8;
}  // namespace

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                       BatchOptions options)
    : exporter_(std::move(exporter)), options_(options) {
    options_.max_queue_size = std::bit_ceil(std::max<std::size_t>(options_.max_queue_size, 2));
    options_.max_export_batch_size =
        std::clamp<std::size_t>(options_.max_export_batch_size, 1, options_.max_queue_size);
    mask_ = options_.max_queue_size - 1;
    busy_threshold_ = std::max(options_.max_export_batch_size, options_.max_queue_size / 2);
    wake_threshold_.store(options_.max_export_batch_size, std::memory_order_relaxed);
    cells_ = std::make_unique<Cell[]>(options_.max_queue_size);
    for (std::size_t i = 0; i < options_.max_queue_size; ++i) {
        cells_[i].sequence.store(i, std::memory_order_relaxed);
        cells_[i].span = nullptr;
    }
    worker_ = std::thread([this] { Run(); });
}

BatchSpanProcessor::~BatchSpanProcessor() {
    Shutdown(options_.export_timeout);
    if (worker_.joinable()) {
        worker_.join();
    }
}

// Vyukov's bounded MPMC queue (used here with a single consumer): one CAS per push.
bool BatchSpanProcessor::TryPush(SpanRecord* span) noexcept {
    std::size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (;;) {
        Cell& cell = cells_[pos & mask_];
        const std::size_t seq = cell.sequence.load(std::memory_order_acquire);
        const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
        if (diff == 0) {
            // seq_cst (the same instruction as relaxed on x86): this store and the load of
            // wake_threshold_ below pair with the worker's store of the threshold and its
            // load of enqueue_pos_ before it sleeps, so one of the two always sees the other.
            if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                                   std::memory_order_relaxed)) {
                // The worker last wrote the cells ahead (freeing them): fetch their line for
                // writing now so a later push does not stall on it.
                __builtin_prefetch(&cells_[(pos + kPrefetchCells) & mask_], 1, 3);
                cell.span = span;
                cell.home = span->home;
                cell.sequence.store(pos + 1, std::memory_order_release);
                const std::size_t size = pos + 1 - head_.load(std::memory_order_relaxed);
                if (size >= wake_threshold_.load(std::memory_order_seq_cst)) [[unlikely]] {
                    WakeWorker();
                }
                return true;
            }
        } else if (diff < 0) {
            return false;
        } else {
            pos = enqueue_pos_.load(std::memory_order_relaxed);
        }
    }
}

void BatchSpanProcessor::WakeWorker() noexcept {
    if (!wake_pending_.load(std::memory_order_relaxed) &&
        !wake_pending_.exchange(true, std::memory_order_acq_rel)) {
        std::lock_guard lock(mutex_);
        worker_cv_.notify_one();
    }
}

void BatchSpanProcessor::PopBatch(std::size_t end, std::size_t max) noexcept {
    std::size_t pos = dequeue_pos_;
    while (batch_.size() < max && static_cast<std::intptr_t>(end - pos) > 0) {
        Cell& cell = cells_[pos & mask_];
        const std::size_t seq = cell.sequence.load(std::memory_order_acquire);
        if (seq != pos + 1) {
            break;  // claimed by a producer that has not stored the span yet
        }
        batch_.push_back(cell.span);
        homes_.push_back(cell.home);
        cell.sequence.store(pos + mask_ + 1, std::memory_order_release);
        ++pos;
    }
    dequeue_pos_ = pos;
    head_.store(pos, std::memory_order_relaxed);
}

void BatchSpanProcessor::OnEnd(SpanRecord* span) noexcept {
    if (shutdown_.load(std::memory_order_relaxed) || !TryPush(span)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        ReleaseSpanRecord(span);
    }
}

void BatchSpanProcessor::ExportBatch() noexcept {
    if (batch_.empty()) {
        return;
    }
    view_.clear();
    for (SpanRecord* r : batch_) {
        view_.push_back(&r->data);
    }
    if (exporter_->Export(view_) == ExportResult::kSuccess) {
        exported_.fetch_add(batch_.size(), std::memory_order_relaxed);
    } else {
        failed_.fetch_add(batch_.size(), std::memory_order_relaxed);
        failures_.fetch_add(1, std::memory_order_relaxed);
    }
    // Back to the pools of the threads that started them, a block at a time.
    ReleaseSpanRecords(batch_, homes_);
    batch_.clear();
    homes_.clear();
}

void BatchSpanProcessor::Run() noexcept {
#ifdef __linux__
    // Poll intervals are tens of microseconds under load; the default 50 us timer slack
    // would stretch them.
    prctl(PR_SET_TIMERSLACK, 5000UL, 0UL, 0UL, 0UL);
#endif
    using Clock = std::chrono::steady_clock;
    const std::size_t batch_size = options_.max_export_batch_size;
    // A zero delay would make the worker spin.
    const std::chrono::nanoseconds delay =
        std::max<std::chrono::nanoseconds>(options_.schedule_delay, kMinPoll);
    batch_.reserve(batch_size);
    homes_.reserve(batch_size);
    view_.reserve(batch_size);
    Clock::time_point last_export = Clock::now();
    Clock::time_point last_poll = last_export;
    std::size_t last_seen = 0;
    std::chrono::nanoseconds poll = delay;
    for (;;) {
        // Idle (a long sleep ahead): a full batch wakes us. Busy (we come back soon anyway):
        // only a half-full queue does, so streaming callers make no system calls.
        const std::size_t threshold = poll >= kIdlePoll ? batch_size : busy_threshold_;
        if (wake_threshold_.load(std::memory_order_relaxed) != threshold) {
            wake_threshold_.store(threshold, std::memory_order_seq_cst);
        }
        const Clock::time_point wake_at = std::min(last_export + delay, last_poll + poll);
        std::uint64_t flush_target = 0;
        bool need_flush = false;
        bool stopping = false;
        {
            std::unique_lock lock(mutex_);
            worker_cv_.wait_until(lock, wake_at, [&] {
                return stop_ || flush_requested_ != flush_done_ ||
                       wake_pending_.load(std::memory_order_relaxed) ||
                       enqueue_pos_.load(std::memory_order_seq_cst) - dequeue_pos_ >= threshold;
            });
            flush_target = flush_requested_;
            need_flush = flush_requested_ != flush_done_;
            stopping = stop_;
        }
        wake_pending_.store(false, std::memory_order_release);
        const Clock::time_point now = Clock::now();
        const std::size_t end = enqueue_pos_.load(std::memory_order_acquire);
        const bool everything = stopping || need_flush || now >= last_export + delay;
        // Full batches now; the remainder only on the timer, ForceFlush or Shutdown. Spans
        // ending meanwhile wait for the next round.
        bool exported = false;
        while (end - dequeue_pos_ >= batch_size) {
            PopBatch(end, batch_size);
            const bool partial = batch_.size() < batch_size;
            ExportBatch();
            exported = true;
            if (partial) {
                break;  // a producer is mid-push; pick it up next round
            }
        }
        if (everything) {
            while (end != dequeue_pos_) {
                PopBatch(end, batch_size);
                if (batch_.empty()) {
                    break;
                }
                ExportBatch();
            }
        }
        if (exported || everything) {
            last_export = now;
        }
        // Pace the next poll: about half a batch at the arrival rate just seen.
        const std::size_t arrived = end - last_seen;
        const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_poll);
        last_seen = end;
        last_poll = now;
        if (arrived == 0) {
            poll = delay;
        } else {
            const auto half_batch =
                static_cast<std::int64_t>(std::max<std::size_t>(batch_size / 2, 1));
            poll = std::clamp(elapsed * half_batch / static_cast<std::int64_t>(arrived), kMinPoll,
                              delay);
        }
        if (stopping) {
            // Spans may still be in flight between the shutdown_ check and the push: drain.
            for (;;) {
                PopBatch(enqueue_pos_.load(std::memory_order_acquire), batch_size);
                if (batch_.empty()) {
                    break;
                }
                ExportBatch();
            }
            exporter_->Shutdown(options_.export_timeout);
            std::lock_guard lock(mutex_);
            stopped_ = true;
            flush_done_ = flush_requested_;
            flush_cv_.notify_all();
            return;
        }
        if (need_flush) {
            exporter_->ForceFlush(options_.export_timeout);
            std::lock_guard lock(mutex_);
            flush_done_ = std::max(flush_done_, flush_target);
            flush_cv_.notify_all();
        }
    }
}

bool BatchSpanProcessor::ForceFlush(std::chrono::milliseconds timeout) noexcept {
    std::unique_lock lock(mutex_);
    if (stopped_) {
        return true;
    }
    const std::uint64_t ticket = ++flush_requested_;
    worker_cv_.notify_one();
    return flush_cv_.wait_for(lock, timeout, [&] { return flush_done_ >= ticket || stopped_; });
}

bool BatchSpanProcessor::Shutdown(std::chrono::milliseconds timeout) noexcept {
    shutdown_.store(true, std::memory_order_relaxed);
    std::unique_lock lock(mutex_);
    stop_ = true;
    worker_cv_.notify_one();
    return flush_cv_.wait_for(lock, timeout, [&] { return stopped_; });
}

ProcessorStats BatchSpanProcessor::Stats() const noexcept {
    ProcessorStats s;
    s.exported = exported_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.export_failed = failed_.load(std::memory_order_relaxed);
    s.export_failures = failures_.load(std::memory_order_relaxed);
    const std::size_t enq = enqueue_pos_.load(std::memory_order_relaxed);
    const std::size_t head = head_.load(std::memory_order_relaxed);
    s.queue_size = enq > head ? enq - head : 0;
    s.queue_capacity = options_.max_queue_size;
    return s;
}

}  // namespace flowex::telemetry::sdk
