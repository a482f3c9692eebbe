#pragma once
/// Samplers (OpenTelemetry specification): always_on, always_off, traceidratio and the
/// parentbased_* composites. Thread-safe, noexcept, allocation-free.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/env.hpp"

namespace flowex::telemetry::sdk {

enum class SamplingDecision : std::uint8_t {
    kDrop,             // not recorded, not sampled
    kRecordOnly,       // recorded, not exported
    kRecordAndSample,  // recorded and exported
};

class Sampler {
public:
    virtual ~Sampler() = default;
    /// `parent` is the parent's span context (invalid for a root span).
    virtual SamplingDecision ShouldSample(const SpanContext& parent, const TraceId& trace_id,
                                          std::string_view name, SpanKind kind) const noexcept = 0;
    virtual std::string Description() const = 0;
};

std::shared_ptr<Sampler> AlwaysOnSampler();
std::shared_ptr<Sampler> AlwaysOffSampler();
/// Samples a trace when its id's last 8 bytes (big-endian) fall below ratio × 2^64, so every
/// service makes the same decision for a trace. `ratio` is clamped to [0, 1].
std::shared_ptr<Sampler> TraceIdRatioSampler(double ratio);
/// Root spans go to `root`; children follow the parent's sampled flag.
std::shared_ptr<Sampler> ParentBasedSampler(std::shared_ptr<Sampler> root);

/// From `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` (default parentbased_always_on;
/// an unknown name also yields the default).
std::shared_ptr<Sampler> SamplerFromEnv(const EnvLookup& env);

}  // namespace flowex::telemetry::sdk
