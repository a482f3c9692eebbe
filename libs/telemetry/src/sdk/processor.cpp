#include "flowex/telemetry/sdk/processor.hpp"

#include <algorithm>
#include <bit>

#ifdef __linux__
#include <pthread.h>
#include <sched.h>
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
    o.max_queue_size = static_cast<std::size_t>(EnvInt(env, "OTEL_BSP_MAX_QUEUE_SIZE",
                                                       static_cast<std::int64_t>(o.max_queue_size),
                                                       kMaxEnvQueueSize));
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
// While spans arrive faster than one batch per this interval the worker polls for them rather
// than sleeping. On the 2-vCPU VM of docs/benchmarks.md (a PREEMPT_NONE kernel shared with
// compilers) a 38 us sleep overshoots by 20-100 us typically and by 270 us to over 1 ms about
// once in 1,500-5,400 sleeps, while at 6.7 M spans/s the whole 2048-span queue lasts 300 us.
// At 512 k spans/s, the slowest rate that polls, it lasts 4 ms.
constexpr std::chrono::nanoseconds kStreamingBatchInterval = std::chrono::milliseconds(1);
// A polling worker goes back to sleep once no batch has arrived for this long (long enough to
// ride out a caller whose CPU the hypervisor takes away for a few hundred microseconds).
constexpr std::chrono::nanoseconds kPollLimit = std::chrono::milliseconds(1);
// How far ahead of its position a producer prefetches ring cells (four cache lines).
constexpr std::size_t kPrefetchCells = 8;
constexpr std::size_t kNever = ~std::size_t{0};

inline void CpuRelax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}
}  // namespace

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                       BatchOptions options)
    : exporter_(std::move(exporter)), options_(options) {
    options_.max_queue_size = std::bit_ceil(std::max<std::size_t>(options_.max_queue_size, 2));
    options_.max_export_batch_size =
        std::clamp<std::size_t>(options_.max_export_batch_size, 1, options_.max_queue_size);
    mask_ = options_.max_queue_size - 1;
    wake_pos_.store(kNever, std::memory_order_relaxed);
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
            // seq_cst (the same instruction as relaxed on x86): this CAS and the load of
            // wake_pos_ below pair with the worker's store of wake_pos_ and its load of
            // enqueue_pos_ before it sleeps, so one of the two always sees the other.
            if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_seq_cst,
                                                   std::memory_order_relaxed)) {
                // The worker last wrote the cells ahead (freeing them): fetch their line for
                // writing now so a later push does not stall on it.
                __builtin_prefetch(&cells_[(pos + kPrefetchCells) & mask_], 1, 3);
                cell.span = span;
                cell.home = span->home;
                cell.sequence.store(pos + 1, std::memory_order_release);
                // wake_pos_ is kNever unless the worker sleeps: one load of a line that stays
                // in this core's cache while spans stream.
                if (pos + 1 >= wake_pos_.load(std::memory_order_seq_cst)) [[unlikely]] {
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
        // Notify after unlocking: a real-time worker woken on this CPU runs at once, and woken
        // while the caller still held the mutex it would block on it straight away (two more
        // context switches per batch). Taking the mutex once between setting wake_pending_
        // and notifying is what prevents a lost wake-up: the worker either has not checked
        // its predicate yet (and sees wake_pending_) or already waits (and gets the notify).
        { std::lock_guard lock(mutex_); }
        worker_cv_.notify_one();
    }
}

void BatchSpanProcessor::OnEnd(SpanRecord* span) noexcept {
    if (shutdown_.load(std::memory_order_relaxed) || !TryPush(span)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        ReleaseSpanRecord(span);
    }
}

bool BatchSpanProcessor::Drain() noexcept {
    const std::size_t batch_size = options_.max_export_batch_size;
    const std::size_t start = dequeue_pos_;
    std::size_t pos = dequeue_pos_;
    for (;;) {
        Cell& cell = cells_[pos & mask_];
        if (cell.sequence.load(std::memory_order_acquire) != pos + 1) {
            break;  // empty, or claimed by a producer that has not stored the span yet
        }
        batch_.push_back(cell.span);
        homes_.push_back(cell.home);
        // The cell is free again: the queue has room before the batch is even exported.
        cell.sequence.store(pos + mask_ + 1, std::memory_order_release);
        ++pos;
        if (batch_.size() == batch_size) {
            dequeue_pos_ = pos;
            ExportBatch();
        }
    }
    dequeue_pos_ = pos;
    head_.store(pos - batch_.size(), std::memory_order_relaxed);
    return pos != start;
}

void BatchSpanProcessor::ExportBatch() noexcept {
    if (batch_.empty()) {
        return;
    }
    // Spans being exported are no longer waiting (queue_size).
    head_.store(dequeue_pos_, std::memory_order_relaxed);
    ++export_calls_;
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

bool BatchSpanProcessor::PollFor(std::size_t count, std::chrono::nanoseconds limit) noexcept {
    // Watch the cell the count-th span will be stored in, not enqueue_pos_: the callers write
    // enqueue_pos_ on every span, and every read of it here would cost the next of them a
    // cache miss; the watched cell is written once.
    const std::size_t target = dequeue_pos_ + count;
    const Cell& cell = cells_[(target - 1) & mask_];
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (unsigned i = 1;; ++i) {
        if (cell.sequence.load(std::memory_order_acquire) == target ||
            attention_.load(std::memory_order_relaxed)) {
            return true;
        }
        for (int k = 0; k < 8; ++k) {
            CpuRelax();
        }
        if (i % 32 == 0) {
            if (std::chrono::steady_clock::now() >= deadline) {
                return false;
            }
            // Let a thread that shares this CPU run (a no-op when none does).
            std::this_thread::yield();
        }
    }
}

void BatchSpanProcessor::Run() noexcept {
    bool may_poll = true;
#ifdef __linux__
    // The default 50 us timer slack would delay the schedule_delay timer for nothing.
    prctl(PR_SET_TIMERSLACK, 5000UL, 0UL, 0UL, 0UL);
    // Polling only helps when the callers run on another CPU.
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    may_poll = sched_getaffinity(0, sizeof(cpus), &cpus) != 0 || CPU_COUNT(&cpus) > 1;
    // In a real-time process the worker inherits the policy and priority of the thread that
    // created the processor. Woken to export, it runs one level above it: at equal SCHED_FIFO
    // priority a worker woken on a CPU held by a caller would wait until that caller blocks
    // (there is no time slicing between them). While it polls it drops back to the creator's
    // level, where its sched_yield lets a caller sharing its CPU run: a polling worker one
    // level up would keep such a caller off its CPU for as long as the stream lasts.
    int policy = 0;
    sched_param base{};
    const bool real_time = pthread_getschedparam(pthread_self(), &policy, &base) == 0 &&
                           (policy == SCHED_FIFO || policy == SCHED_RR) &&
                           base.sched_priority < sched_get_priority_max(policy);
    sched_param boosted = base;
    if (real_time) {
        ++boosted.sched_priority;
        pthread_setschedparam(pthread_self(), policy, &boosted);
    }
    bool at_base = false;
    const auto set_rt_priority = [&](bool polling) noexcept {
        if (real_time && polling != at_base) {
            pthread_setschedparam(pthread_self(), policy, polling ? &base : &boosted);
            at_base = polling;
        }
    };
#endif
    using Clock = std::chrono::steady_clock;
    const std::size_t batch_size = options_.max_export_batch_size;
    // What the polling worker waits for before it empties the queue again: a full batch (at
    // most a quarter of the queue). It must stay well behind the callers: polling for 64 spans
    // instead of 512 cost the benchmark's caller 40 ns a span (the worker then reads the cells
    // the caller is writing, and the caller's next write to such a line has to fetch it back).
    const std::size_t chunk = std::clamp<std::size_t>(options_.max_queue_size / 4, 1, batch_size);
    // A zero delay would make the worker spin.
    const std::chrono::nanoseconds delay =
        std::max<std::chrono::nanoseconds>(options_.schedule_delay, std::chrono::microseconds(100));
    batch_.reserve(batch_size);
    homes_.reserve(batch_size);
    view_.reserve(batch_size);
    Clock::time_point last_export = Clock::now();
    // The arrival rate: when the queue position was last `mark_pos`.
    Clock::time_point mark_time = last_export;
    std::size_t mark_pos = 0;
    bool streaming = false;
    for (;;) {
        const std::uint64_t exports_before = export_calls_;
        Drain();
        const Clock::time_point now = Clock::now();
        if (export_calls_ != exports_before) {
            last_export = now;
        }
        if (dequeue_pos_ - mark_pos >= batch_size) {
            streaming = now - mark_time < kStreamingBatchInterval;
            mark_pos = dequeue_pos_;
            mark_time = now;
        } else if (now - mark_time >= kStreamingBatchInterval) {
            streaming = false;
        }
        if (now >= last_export + delay) {
            ExportBatch();  // the partial batch, on the timer
            last_export = now;
        }

        if (attention_.load(std::memory_order_acquire)) {
            std::uint64_t flush_target = 0;
            bool stopping = false;
            {
                std::lock_guard lock(mutex_);
                attention_.store(false, std::memory_order_relaxed);
                flush_target = flush_requested_;
                stopping = stop_;
            }
            // Everything stored before the request (Drain above may have run before it).
            Drain();
            if (stopping) {
                // Spans may still be in flight between the shutdown_ check and the push.
                while (enqueue_pos_.load(std::memory_order_acquire) != dequeue_pos_) {
                    if (!Drain()) {
                        std::this_thread::yield();
                    }
                }
                ExportBatch();
                exporter_->Shutdown(options_.export_timeout);
                std::lock_guard lock(mutex_);
                stopped_ = true;
                flush_done_ = flush_requested_;
                flush_cv_.notify_all();
                return;
            }
            ExportBatch();
            last_export = Clock::now();
            exporter_->ForceFlush(options_.export_timeout);
            std::lock_guard lock(mutex_);
            flush_done_ = std::max(flush_done_, flush_target);
            flush_cv_.notify_all();
            continue;
        }

        // Spans to wait for: a chunk when polling, the rest of a batch when sleeping.
        const std::size_t missing = batch_size - batch_.size();
        if (streaming && may_poll) {
#ifdef __linux__
            set_rt_priority(true);
#endif
            if (PollFor(std::min(chunk, missing), kPollLimit)) {
                continue;
            }
        }
        streaming = false;
#ifdef __linux__
        set_rt_priority(false);
#endif
        // Sleep until the timer, a flush or shutdown, or a caller that completes a batch.
        const std::size_t wake_pos = dequeue_pos_ + missing;
        wake_pos_.store(wake_pos, std::memory_order_seq_cst);
        {
            std::unique_lock lock(mutex_);
            worker_cv_.wait_until(lock, last_export + delay, [&] {
                return stop_ || flush_requested_ != flush_done_ ||
                       wake_pending_.load(std::memory_order_relaxed) ||
                       enqueue_pos_.load(std::memory_order_seq_cst) >= wake_pos;
            });
        }
        wake_pos_.store(kNever, std::memory_order_relaxed);
        wake_pending_.store(false, std::memory_order_release);
    }
}

bool BatchSpanProcessor::ForceFlush(std::chrono::milliseconds timeout) noexcept {
    std::unique_lock lock(mutex_);
    if (stopped_) {
        return true;
    }
    const std::uint64_t ticket = ++flush_requested_;
    attention_.store(true, std::memory_order_release);
    worker_cv_.notify_one();
    return flush_cv_.wait_for(lock, timeout, [&] { return flush_done_ >= ticket || stopped_; });
}

bool BatchSpanProcessor::Shutdown(std::chrono::milliseconds timeout) noexcept {
    shutdown_.store(true, std::memory_order_relaxed);
    std::unique_lock lock(mutex_);
    stop_ = true;
    attention_.store(true, std::memory_order_release);
    worker_cv_.notify_one();
    if (flush_cv_.wait_for(lock, timeout, [&] { return stopped_; })) {
        return true;
    }
    // The final export is still running (an endpoint that does not answer, retries): shut
    // the exporter down now, which ends it, so the worker — and the process — can stop.
    lock.unlock();
    exporter_->Shutdown(std::chrono::milliseconds(0));
    return false;
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
