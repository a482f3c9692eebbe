#include "flowex/telemetry/sdk/sampler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace flowex::telemetry::sdk {
namespace {

class AlwaysOn final : public Sampler {
public:
    SamplingDecision ShouldSample(const SpanContext&, const TraceId&, std::string_view,
                                  SpanKind) const noexcept override {
        return SamplingDecision::kRecordAndSample;
    }
    std::string Description() const override { return "AlwaysOnSampler"; }
};

class AlwaysOff final : public Sampler {
public:
    SamplingDecision ShouldSample(const SpanContext&, const TraceId&, std::string_view,
                                  SpanKind) const noexcept override {
        return SamplingDecision::kDrop;
    }
    std::string Description() const override { return "AlwaysOffSampler"; }
};

class Ratio final : public Sampler {
public:
    explicit Ratio(double ratio) : ratio_(std::clamp(std::isnan(ratio) ? 0.0 : ratio, 0.0, 1.0)) {
        // ratio × 2^64 without overflow; 1.0 samples everything.
        threshold_ = ratio_ >= 1.0 ? ~std::uint64_t{0}
                                   : static_cast<std::uint64_t>(std::ldexp(ratio_, 64));
    }
    SamplingDecision ShouldSample(const SpanContext&, const TraceId& trace_id, std::string_view,
                                  SpanKind) const noexcept override {
        if (ratio_ >= 1.0) {
            return SamplingDecision::kRecordAndSample;
        }
        std::uint64_t x = 0;
        for (std::size_t i = 8; i < 16; ++i) {
            x = (x << 8) | trace_id.bytes[i];
        }
        return x < threshold_ ? SamplingDecision::kRecordAndSample : SamplingDecision::kDrop;
    }
    std::string Description() const override {
        char buf[64];
        const auto r = std::to_chars(buf, buf + sizeof(buf), ratio_);
        return "TraceIdRatioBased{" + std::string(buf, r.ptr) + "}";
    }

private:
    double ratio_;
    std::uint64_t threshold_ = 0;
};

class ParentBased final : public Sampler {
public:
    explicit ParentBased(std::shared_ptr<Sampler> root) : root_(std::move(root)) {}
    SamplingDecision ShouldSample(const SpanContext& parent, const TraceId& trace_id,
                                  std::string_view name, SpanKind kind) const noexcept override {
        if (!parent.IsValid()) {
            return root_->ShouldSample(parent, trace_id, name, kind);
        }
        return parent.IsSampled() ? SamplingDecision::kRecordAndSample : SamplingDecision::kDrop;
    }
    std::string Description() const override {
        return "ParentBased{root=" + root_->Description() + "}";
    }

private:
    std::shared_ptr<Sampler> root_;
};

}  // namespace

std::shared_ptr<Sampler> AlwaysOnSampler() { return std::make_shared<AlwaysOn>(); }
std::shared_ptr<Sampler> AlwaysOffSampler() { return std::make_shared<AlwaysOff>(); }
std::shared_ptr<Sampler> TraceIdRatioSampler(double ratio) {
    return std::make_shared<Ratio>(ratio);
}
std::shared_ptr<Sampler> ParentBasedSampler(std::shared_ptr<Sampler> root) {
    return std::make_shared<ParentBased>(std::move(root));
}

std::shared_ptr<Sampler> SamplerFromEnv(const EnvLookup& env) {
    const std::string name = EnvString(env, "OTEL_TRACES_SAMPLER").value_or("parentbased_always_on");
    // OTEL_TRACES_SAMPLER_ARG, for the ratio samplers: a number in [0, 1], else 1.0 (a warning).
    const auto ratio = [&env] {
        const auto arg = EnvString(env, "OTEL_TRACES_SAMPLER_ARG");
        if (!arg) { return 1.0; }
        double parsed = 0;
        const auto r = std::from_chars(arg->data(), arg->data() + arg->size(), parsed);
        if (r.ec == std::errc() && r.ptr == arg->data() + arg->size() && parsed >= 0.0 &&
            parsed <= 1.0) {
            return parsed;
        }
        spdlog::warn("telemetry: OTEL_TRACES_SAMPLER_ARG={} is not a ratio from 0 to 1; using 1.0",
                     *arg);
        return 1.0;
    };
    if (name == "always_on") {
        return AlwaysOnSampler();
    }
    if (name == "always_off") {
        return AlwaysOffSampler();
    }
    if (name == "traceidratio") { return TraceIdRatioSampler(ratio()); }
    if (name == "parentbased_always_off") {
        return ParentBasedSampler(AlwaysOffSampler());
    }
    if (name == "parentbased_traceidratio") {
        return ParentBasedSampler(TraceIdRatioSampler(ratio()));
    }
    if (name != "parentbased_always_on") {
        spdlog::warn(
            "telemetry: OTEL_TRACES_SAMPLER={} is not a sampler this SDK knows (always_on, "
            "always_off, traceidratio, parentbased_always_on, parentbased_always_off, "
            "parentbased_traceidratio); using parentbased_always_on",
            name);
    }
    return ParentBasedSampler(AlwaysOnSampler());
}

}  // namespace flowex::telemetry::sdk
