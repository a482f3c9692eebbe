#include "flowex/collector/ingestor.hpp"

#include <cstdio>

namespace flowex::collector {

Ingestor::Ingestor(Store& store, RedMetrics& metrics, IngestOptions options)
    : store_(store), metrics_(metrics), options_(options) {
    writer_ = std::thread([this] { Run(); });
}

Ingestor::~Ingestor() { Stop(); }

bool Ingestor::Submit(DecodedTraces batch, Done done) {
    const std::size_t bytes = batch.Footprint();
    return Push(Item{std::move(batch), std::move(done), bytes});
}

bool Ingestor::Submit(DecodedLogs batch, Done done) {
    const std::size_t bytes = batch.Footprint();
    return Push(Item{std::move(batch), std::move(done), bytes});
}

bool Ingestor::Push(Item item) {
    {
        std::lock_guard lock(mu_);
        bool full = queue_.size() >= options_.max_queue_items ||
                    (!queue_.empty() && queued_bytes_ + item.bytes > options_.max_queue_bytes);
        if (stopping_ || full) {
            ++stats_.refused_full;
            return false;
        }
        queued_bytes_ += item.bytes;
        queue_.push_back(std::move(item));
    }
    cv_.notify_one();
    return true;
}

void Ingestor::Stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (writer_.joinable()) {
        writer_.join();
    }
}

std::uint64_t Ingestor::AddLiveListener(LiveListener listener) {
    std::lock_guard lock(live_mu_);
    std::uint64_t id = next_live_++;
    live_.emplace(id, std::move(listener));
    return id;
}

void Ingestor::RemoveLiveListener(std::uint64_t id) {
    std::lock_guard lock(live_mu_);
    live_.erase(id);
}

IngestStats Ingestor::Stats() const {
    std::lock_guard lock(mu_);
    IngestStats s = stats_;
    s.queued_items = queue_.size();
    s.queued_bytes = queued_bytes_;
    return s;
}

void Ingestor::Run() {
    // The first retention pass one interval after the start (Store::Open has just run).
    auto next_retention = std::chrono::steady_clock::now() + options_.retention_interval;
    for (;;) {
        std::vector<Item> items;
        {
            std::unique_lock lock(mu_);
            // Wake up now and then while idle: the store commits what waits (Flush).
            cv_.wait_for(lock, std::min<std::chrono::milliseconds>(options_.retention_interval, kFlushCheck),
                         [&] { return stopping_ || !queue_.empty(); });
            // Group commit: take what is queued, up to a bounded transaction.
            std::size_t bytes = 0;
            while (!queue_.empty() && (items.empty() || (items.size() < 64 && bytes < 32 * 1024 * 1024))) {
                bytes += queue_.front().bytes;
                queued_bytes_ -= queue_.front().bytes;
                items.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            if (items.empty() && stopping_) {
                (void)store_.Flush(true);
                break;
            }
        }
        if (!items.empty()) {
            if (options_.before_commit) {
                options_.before_commit();
            }
            std::vector<const DecodedTraces*> traces;
            std::vector<const DecodedLogs*> logs;
            for (const Item& it : items) {
                if (const auto* t = std::get_if<DecodedTraces>(&it.batch)) {
                    traces.push_back(t);
                } else {
                    logs.push_back(&std::get<DecodedLogs>(it.batch));
                }
            }
            auto outcome = store_.Ingest(traces, logs);
            common::Status status;
            if (!outcome) {
                status = outcome.error();
            }
            NoteStoreOutcome(status, items.size());
            {
                std::lock_guard lock(mu_);
                if (outcome) {
                    stats_.spans += static_cast<std::uint64_t>(outcome->spans);
                    stats_.logs += static_cast<std::uint64_t>(outcome->logs);
                    stats_.batches += items.size();
                    stats_.ingest_calls += 1;
                } else {
                    stats_.failed += items.size();
                }
            }
            if (outcome) {
                metrics_.Record(outcome->facts, outcome->new_traces);
                if (!outcome->new_traces.empty()) {
                    std::lock_guard lock(live_mu_);
                    for (auto& [id, l] : live_) {
                        l(outcome->new_traces);
                    }
                }
            }
            for (Item& it : items) {
                if (it.done) {
                    it.done(status);
                }
            }
        }
        if (common::Status flushed = store_.Flush(false); !flushed) {  // commits when due
            NoteStoreOutcome(flushed, 0);
        }
        if (std::chrono::steady_clock::now() >= next_retention) {
            (void)store_.ApplyRetention();
            next_retention = std::chrono::steady_clock::now() + options_.retention_interval;
        }
    }
}

void Ingestor::NoteStoreOutcome(const common::Status& status, std::size_t requests) {
    auto now = std::chrono::steady_clock::now();
    if (status) {
        if (!failing_) { return; }
        Report("flowex-collector: storing works again (" + std::to_string(failed_since_ok_) +
               " export requests were answered 503 meanwhile; their senders retry them)");
        failing_ = false;
        failed_since_ok_ = 0;
        std::lock_guard lock(mu_);
        stats_.store_error.clear();
        return;
    }
    {
        std::lock_guard lock(mu_);
        stats_.store_error = status.error().message;
    }
    failed_since_ok_ += requests;
    if (!failing_) {
        failing_ = true;
        Report("flowex-collector: cannot store export requests (answering 503 until it can): " +
               status.error().message);
        last_report_ = now;
    } else if (now - last_report_ >= options_.report_interval) {
        Report("flowex-collector: still cannot store export requests (" +
               std::to_string(failed_since_ok_) +
               " answered 503 so far): " + status.error().message);
        last_report_ = now;
    }
}

void Ingestor::Report(const std::string& line) const {
    if (options_.report) {
        options_.report(line);
    } else {
        std::fprintf(stderr, "%s\n", line.c_str());
    }
}

}  // namespace flowex::collector
