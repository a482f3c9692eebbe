#pragma once
/// The test seam: an exporter that keeps copies of everything exported, and can be told to
/// be slow or to fail. Thread-safe. Keep the exporter (via `Storage()`) and the provider alive
/// while reading: SpanData::scope/resource point into the provider.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

#include "flowex/telemetry/sdk/exporter.hpp"

namespace flowex::telemetry::exporters {

class InMemorySpanStorage {
public:
    std::vector<sdk::SpanData> Spans() const;
    /// Returns and forgets what was stored.
    std::vector<sdk::SpanData> Take();
    std::size_t Size() const;
    std::size_t ExportCalls() const noexcept { return calls_.load(); }
    /// Each Export first sleeps this long (simulates a slow backend).
    void SetDelay(std::chrono::milliseconds delay) noexcept { delay_ms_.store(delay.count()); }
    void SetFail(bool fail) noexcept { fail_.store(fail); }

private:
    friend class InMemorySpanExporter;
    mutable std::mutex mutex_;
    std::vector<sdk::SpanData> spans_;
    std::atomic<std::size_t> calls_{0};
    std::atomic<std::int64_t> delay_ms_{0};
    std::atomic<bool> fail_{false};
};

class InMemorySpanExporter final : public sdk::SpanExporter {
public:
    explicit InMemorySpanExporter(
        std::shared_ptr<InMemorySpanStorage> storage = std::make_shared<InMemorySpanStorage>())
        : storage_(std::move(storage)) {}
    sdk::ExportResult Export(std::span<const sdk::SpanData* const> spans) noexcept override;
    const std::shared_ptr<InMemorySpanStorage>& Storage() const noexcept { return storage_; }

private:
    std::shared_ptr<InMemorySpanStorage> storage_;
};

/// Discards everything (benchmarks; the cheapest possible backend).
class NullSpanExporter final : public sdk::SpanExporter {
public:
    sdk::ExportResult Export(std::span<const sdk::SpanData* const> spans) noexcept override {
        count_.fetch_add(spans.size(), std::memory_order_relaxed);
        return sdk::ExportResult::kSuccess;
    }
    std::uint64_t Count() const noexcept { return count_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> count_{0};
};

/// Writes one human-readable line per span to stderr (debugging).
class ConsoleSpanExporter final : public sdk::SpanExporter {
public:
    sdk::ExportResult Export(std::span<const sdk::SpanData* const> spans) noexcept override;
};

}  // namespace flowex::telemetry::exporters
