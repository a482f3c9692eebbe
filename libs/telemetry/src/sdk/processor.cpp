#include "flowex/telemetry/sdk/processor.hpp"

#include <algorithm>
#include <bit>

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

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter,
                                       BatchOptions options)
    : exporter_(std::move(exporter)), options_(options) {
    options_.max_queue_size = std::bit_ceil(std::max<std::size_t>(options_.max_queue_size, 2));
    options_.max_export_batch_size =
        std::clamp<std::size_t>(options_.max_export_batch_size, 1, options_.max_queue_size);
    mask_ = options_.max_queue_size - 1;
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
            if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
                cell.span = span;
                cell.sequence.store(pos + 1, std::memory_order_release);
                // Wake the worker once a full batch is waiting (spec: export when a batch is
                // full), so a fast producer never waits out the schedule delay and overflows.
                const std::size_t size = pos + 1 - dequeue_pos_.load(std::memory_order_relaxed);
                if (size >= options_.max_export_batch_size &&
                    !wake_pending_.load(std::memory_order_relaxed) &&
                    !wake_pending_.exchange(true, std::memory_order_acq_rel)) {
                    std::lock_guard lock(mutex_);
                    worker_cv_.notify_one();
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

bool BatchSpanProcessor::TryPop(SpanRecord*& span) noexcept {
    const std::size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    Cell& cell = cells_[pos & mask_];
    const std::size_t seq = cell.sequence.load(std::memory_order_acquire);
    if (static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos + 1) < 0) {
        return false;
    }
    span = cell.span;
    cell.sequence.store(pos + mask_ + 1, std::memory_order_release);
    dequeue_pos_.store(pos + 1, std::memory_order_relaxed);
    return true;
}

void BatchSpanProcessor::OnEnd(SpanRecord* span) noexcept {
    if (shutdown_.load(std::memory_order_relaxed) || !TryPush(span)) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        ReleaseSpanRecord(span);
    }
}

void BatchSpanProcessor::ExportBatch(std::vector<SpanRecord*>& batch) noexcept {
    if (batch.empty()) {
        return;
    }
    std::vector<const SpanData*> view;
    view.reserve(batch.size());
    for (SpanRecord* r : batch) {
        view.push_back(&r->data);
    }
    if (exporter_->Export(view) == ExportResult::kSuccess) {
        exported_.fetch_add(batch.size(), std::memory_order_relaxed);
    } else {
        failed_.fetch_add(batch.size(), std::memory_order_relaxed);
        failures_.fetch_add(1, std::memory_order_relaxed);
    }
    for (SpanRecord* r : batch) {
        ReleaseSpanRecord(r);
    }
    batch.clear();
}

void BatchSpanProcessor::Run() noexcept {
    std::vector<SpanRecord*> batch;
    batch.reserve(options_.max_export_batch_size);
    for (;;) {
        std::uint64_t flush_target = 0;
        bool need_flush = false;
        bool stopping = false;
        {
            std::unique_lock lock(mutex_);
            worker_cv_.wait_for(lock, options_.schedule_delay, [&] {
                return stop_ || flush_requested_ != flush_done_ ||
                       wake_pending_.load(std::memory_order_relaxed);
            });
            flush_target = flush_requested_;
            need_flush = flush_requested_ != flush_done_;
            stopping = stop_;
        }
        wake_pending_.store(false, std::memory_order_release);
        // Drain what is queued now, in batches; spans ending meanwhile wait for the next round
        // unless they complete another full batch.
        const std::size_t end = enqueue_pos_.load(std::memory_order_acquire);
        SpanRecord* span = nullptr;
        while (static_cast<std::intptr_t>(end - dequeue_pos_.load(std::memory_order_relaxed)) > 0 &&
               TryPop(span)) {
            batch.push_back(span);
            if (batch.size() == options_.max_export_batch_size) {
                ExportBatch(batch);
            }
        }
        ExportBatch(batch);
        if (stopping) {
            // Spans may still be in flight between the shutdown_ check and the push: drain.
            while (TryPop(span)) {
                batch.push_back(span);
                if (batch.size() == options_.max_export_batch_size) {
                    ExportBatch(batch);
                }
            }
            ExportBatch(batch);
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
    const std::size_t deq = dequeue_pos_.load(std::memory_order_relaxed);
    s.queue_size = enq > deq ? enq - deq : 0;
    s.queue_capacity = options_.max_queue_size;
    return s;
}

}  // namespace flowex::telemetry::sdk
