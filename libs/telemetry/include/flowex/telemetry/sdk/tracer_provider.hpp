#pragma once
/// The SDK tracer provider: sampler, span limits, resource, one span processor.
///
/// Threading: GetTracer, StartSpan and everything on spans are callable from any thread.
/// The provider must outlive its tracers and spans (services keep it for the process
/// lifetime). With `disabled` (OTEL_SDK_DISABLED=true) every tracer is the no-op tracer.
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/env.hpp"
#include "flowex/telemetry/sdk/processor.hpp"
#include "flowex/telemetry/sdk/sampler.hpp"
#include "flowex/telemetry/sdk/span_data.hpp"

namespace flowex::telemetry::sdk {

/// Specification defaults (128); `attribute_value_length_limit` 0 = unlimited.
struct SpanLimits {
    std::size_t attribute_count_limit = 128;
    std::size_t attribute_value_length_limit = 0;
    std::size_t event_count_limit = 128;
    std::size_t link_count_limit = 128;
    std::size_t attribute_per_event_count_limit = 128;
    std::size_t attribute_per_link_count_limit = 128;
};

/// OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT (falls back to OTEL_ATTRIBUTE_COUNT_LIMIT),
/// OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT (falls back to OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT),
/// OTEL_SPAN_EVENT_COUNT_LIMIT, OTEL_SPAN_LINK_COUNT_LIMIT, OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT,
/// OTEL_LINK_ATTRIBUTE_COUNT_LIMIT.
SpanLimits SpanLimitsFromEnv(const EnvLookup& env);

struct TracerProviderOptions {
    std::shared_ptr<const Resource> resource;  // null: an empty resource
    std::shared_ptr<Sampler> sampler;          // null: parentbased_always_on
    SpanLimits limits;
    std::unique_ptr<SpanProcessor> processor;  // null: spans are recorded and discarded
    bool disabled = false;
};

class Tracer;  // SDK tracer (implementation detail)

/// Counters exposed as the SDK's own metrics.
struct TracerStats {
    std::uint64_t spans_started = 0;  // recording spans started
    ProcessorStats processor;
};

class TracerProvider final : public telemetry::TracerProvider {
public:
    explicit TracerProvider(TracerProviderOptions options);
    ~TracerProvider() override;
    TracerProvider(const TracerProvider&) = delete;
    TracerProvider& operator=(const TracerProvider&) = delete;

    telemetry::Tracer GetTracer(std::string_view scope_name,
                                std::string_view scope_version = {}) override;
    bool ForceFlush(std::chrono::milliseconds timeout = std::chrono::seconds(5)) noexcept;
    bool Shutdown(std::chrono::milliseconds timeout = std::chrono::seconds(5)) noexcept;
    TracerStats Stats() const noexcept;
    const Resource& GetResource() const noexcept { return *resource_; }

    // Used by SDK spans.
    const SpanLimits& Limits() const noexcept { return limits_; }
    const Sampler& GetSampler() const noexcept { return *sampler_; }
    SpanProcessor* Processor() const noexcept { return processor_.get(); }
    void CountStarted() noexcept { started_.fetch_add(1, std::memory_order_relaxed); }

private:
    std::shared_ptr<const Resource> resource_;
    std::shared_ptr<Sampler> sampler_;
    SpanLimits limits_;
    std::unique_ptr<SpanProcessor> processor_;
    bool disabled_;
    std::atomic<std::uint64_t> started_{0};
    std::mutex mutex_;
    std::deque<std::unique_ptr<Tracer>> tracers_;
};

}  // namespace flowex::telemetry::sdk
