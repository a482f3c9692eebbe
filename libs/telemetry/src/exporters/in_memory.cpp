#include "flowex/telemetry/exporters/in_memory.hpp"

#include <cstdio>
#include <string>
#include <thread>

namespace flowex::telemetry::exporters {

std::vector<sdk::SpanData> InMemorySpanStorage::Spans() const {
    std::lock_guard lock(mutex_);
    return spans_;
}

std::vector<sdk::SpanData> InMemorySpanStorage::Take() {
    std::lock_guard lock(mutex_);
    return std::exchange(spans_, {});
}

std::size_t InMemorySpanStorage::Size() const {
    std::lock_guard lock(mutex_);
    return spans_.size();
}

sdk::ExportResult InMemorySpanExporter::Export(
    std::span<const sdk::SpanData* const> spans) noexcept {
    storage_->calls_.fetch_add(1);
    const auto delay = storage_->delay_ms_.load();
    if (delay > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
    if (storage_->fail_.load()) {
        return sdk::ExportResult::kFailure;
    }
    std::lock_guard lock(storage_->mutex_);
    for (const sdk::SpanData* s : spans) {
        storage_->spans_.push_back(*s);
    }
    return sdk::ExportResult::kSuccess;
}

sdk::ExportResult ConsoleSpanExporter::Export(
    std::span<const sdk::SpanData* const> spans) noexcept {
    for (const sdk::SpanData* s : spans) {
        const std::string trace = s->trace_id.Hex();
        const std::string span = s->span_id.Hex();
        const std::string parent = s->parent_span_id.IsValid() ? s->parent_span_id.Hex() : "-";
        std::fprintf(stderr, "span %s trace=%s id=%s parent=%s kind=%d status=%d dur=%.3fms\n",
                     s->name.c_str(), trace.c_str(), span.c_str(), parent.c_str(),
                     static_cast<int>(s->kind), static_cast<int>(s->status_code),
                     static_cast<double>(s->end_time_unix_nano - s->start_time_unix_nano) / 1e6);
    }
    return sdk::ExportResult::kSuccess;
}

}  // namespace flowex::telemetry::exporters
