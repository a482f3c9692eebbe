#include <time.h>

#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "span_record.hpp"

namespace flowex::telemetry::sdk {
namespace {

// ---- ids ----------------------------------------------------------------------------------
// xoshiro256++ per thread. The state is plain zero-initialised thread-local data (no TLS
// init guard on the hot path), seeded on first use.
thread_local std::uint64_t t_rng[4];

[[gnu::noinline]] void SeedRng() noexcept {
    std::random_device rd;
    for (auto& x : t_rng) {
        x = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }
    t_rng[0] ^= std::hash<std::thread::id>()(std::this_thread::get_id());
    if ((t_rng[0] | t_rng[1] | t_rng[2] | t_rng[3]) == 0) {
        t_rng[0] = 1;
    }
}

inline std::uint64_t Rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

inline std::uint64_t NextRandom() noexcept {
    std::uint64_t* s = t_rng;
    if ((s[0] | s[1] | s[2] | s[3]) == 0) [[unlikely]] {
        SeedRng();
    }
    const std::uint64_t result = Rotl(s[0] + s[3], 23) + s[0];
    const std::uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return result;
}

void Store64(std::uint8_t* out, std::uint64_t v) noexcept {
    v = __builtin_bswap64(v);  // big-endian, so the hex form reads in generation order
    std::memcpy(out, &v, 8);
}

SpanId NewSpanId() noexcept {
    SpanId id;
    std::uint64_t v = 0;
    while (v == 0) {
        v = NextRandom();
    }
    Store64(id.bytes.data(), v);
    return id;
}

TraceId NewTraceId() noexcept {
    TraceId id;
    std::uint64_t lo = 0;
    while (lo == 0) {
        lo = NextRandom();
    }
    Store64(id.bytes.data(), NextRandom());
    Store64(id.bytes.data() + 8, lo);
    return id;
}

std::uint64_t TimeOrNow(Timestamp t) noexcept {
    return t == Timestamp{} ? NowUnixNanos() : ToUnixNanos(t);
}

}  // namespace

std::uint64_t NowUnixNanos() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

void SpanRecord::Reset() noexcept {
    data.attributes.Clear();
    data.dropped_attributes_count = 0;
    data.events.clear();
    data.dropped_events_count = 0;
    data.links.clear();
    data.dropped_links_count = 0;
    data.status_code = StatusCode::kUnset;
    data.status_message.clear();
    data.trace_state.clear();
    data.parent_is_remote = false;
    provider = nullptr;
    sampled = false;
    next_free = nullptr;
}

void SpanRecord::SetAttribute(std::string_view key, const AttributeValue& value) noexcept {
    const SpanLimits& limits = provider->Limits();
    if (!data.attributes.Set(key, value, limits.attribute_count_limit,
                             limits.attribute_value_length_limit)) {
        ++data.dropped_attributes_count;
    }
}

void SpanRecord::AddEvent(std::string_view name, std::span<const Attribute> attributes,
                          Timestamp time) noexcept {
    const SpanLimits& limits = provider->Limits();
    if (data.events.size() >= limits.event_count_limit) {
        ++data.dropped_events_count;
        return;
    }
    EventData& e = data.events.emplace_back();
    e.name.assign(name);
    e.time_unix_nano = TimeOrNow(time);
    for (const auto& a : attributes) {
        if (!e.attributes.Set(a.key, a.value, limits.attribute_per_event_count_limit,
                              limits.attribute_value_length_limit)) {
            ++e.dropped_attributes_count;
        }
    }
}

void SpanRecord::AddLink(const SpanContext& context,
                         std::span<const Attribute> attributes) noexcept {
    const SpanLimits& limits = provider->Limits();
    if (!context.IsValid()) {
        return;
    }
    if (data.links.size() >= limits.link_count_limit) {
        ++data.dropped_links_count;
        return;
    }
    LinkData& l = data.links.emplace_back();
    l.context = context;
    for (const auto& a : attributes) {
        if (!l.attributes.Set(a.key, a.value, limits.attribute_per_link_count_limit,
                              limits.attribute_value_length_limit)) {
            ++l.dropped_attributes_count;
        }
    }
}

void SpanRecord::SetStatus(StatusCode code, std::string_view description) noexcept {
    // Ok is final; Unset never overrides; only Error keeps a description.
    if (data.status_code == StatusCode::kOk || code == StatusCode::kUnset) {
        return;
    }
    data.status_code = code;
    if (code == StatusCode::kError) {
        data.status_message.assign(description);
    } else {
        data.status_message.clear();
    }
}

void SpanRecord::UpdateName(std::string_view name) noexcept { data.name.assign(name); }

void SpanRecord::End(Timestamp end_time) noexcept {
    data.end_time_unix_nano = TimeOrNow(end_time);
    SpanProcessor* processor = provider->Processor();
    if (!sampled || processor == nullptr) {
        ReleaseSpanRecord(this);
        return;
    }
    processor->OnEnd(this);
}

// ---- tracer -----------------------------------------------------------------------------
namespace {
const Context kEmptyContext;
}  // namespace

class Tracer final : public TracerBackend {
public:
    Tracer(TracerProvider* provider, InstrumentationScope scope)
        : provider_(provider), scope_(std::move(scope)) {}

    const InstrumentationScope& Scope() const noexcept { return scope_; }

    Span StartSpan(std::string_view name, const SpanStartOptions& options) noexcept override {
        const Context& parent_ctx =
            options.root ? kEmptyContext
                         : (options.parent != nullptr ? *options.parent : Context::Current());
        const SpanContext& parent = parent_ctx.GetSpanContext();
        const bool has_parent = parent.IsValid();
        const TraceId trace_id = has_parent ? parent.GetTraceId() : NewTraceId();
        const SpanId span_id = NewSpanId();
        const SamplingDecision decision =
            provider_->GetSampler().ShouldSample(parent, trace_id, name, options.kind);
        const bool sampled = decision == SamplingDecision::kRecordAndSample;
        SpanContext context(trace_id, span_id, TraceFlags{sampled ? TraceFlags::kSampled : std::uint8_t{0}},
                            false, has_parent ? parent.TraceStatePtr() : nullptr);
        if (decision == SamplingDecision::kDrop) {
            return Span(std::move(context), nullptr);
        }
        // Count first: the locked add waits for this thread's pending stores, and here there
        // are none yet; after the record writes below it would stall on their cache misses.
        provider_->CountStarted();
        SpanRecord* r = AcquireSpanRecord();
        r->provider = provider_;
        r->sampled = sampled;
        SpanData& d = r->data;
        d.trace_id = trace_id;
        d.span_id = span_id;
        d.parent_span_id = has_parent ? parent.GetSpanId() : SpanId{};
        d.parent_is_remote = has_parent && parent.IsRemote();
        d.trace_flags = context.GetTraceFlags();
        if (has_parent && !parent.GetTraceState().empty()) {
            d.trace_state.assign(parent.GetTraceState());
        }
        AssignReusing(d.name, name);
        d.kind = options.kind;
        d.start_time_unix_nano = TimeOrNow(options.start_time);
        d.scope = &scope_;
        d.resource = &provider_->GetResource();
        for (const auto& a : options.attributes) {
            r->SetAttribute(a.key, a.value);
        }
        for (const auto& l : options.links) {
            r->AddLink(l.context, l.attributes);
        }
        return Span(std::move(context), r);
    }

private:
    TracerProvider* provider_;
    InstrumentationScope scope_;
};

namespace {
std::shared_ptr<const Resource> EmptyResource() {
    static const auto r = std::make_shared<const Resource>();
    return r;
}
}  // namespace

SpanLimits SpanLimitsFromEnv(const EnvLookup& env) {
    SpanLimits l;
    const auto count = EnvInt(env, "OTEL_ATTRIBUTE_COUNT_LIMIT",
                              static_cast<std::int64_t>(l.attribute_count_limit));
    const auto length = EnvInt(env, "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 0);
    l.attribute_count_limit =
        static_cast<std::size_t>(EnvInt(env, "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", count));
    l.attribute_value_length_limit =
        static_cast<std::size_t>(EnvInt(env, "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", length));
    l.event_count_limit = static_cast<std::size_t>(
        EnvInt(env, "OTEL_SPAN_EVENT_COUNT_LIMIT", static_cast<std::int64_t>(l.event_count_limit)));
    l.link_count_limit = static_cast<std::size_t>(
        EnvInt(env, "OTEL_SPAN_LINK_COUNT_LIMIT", static_cast<std::int64_t>(l.link_count_limit)));
    l.attribute_per_event_count_limit = static_cast<std::size_t>(
        EnvInt(env, "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
               static_cast<std::int64_t>(l.attribute_per_event_count_limit)));
    l.attribute_per_link_count_limit = static_cast<std::size_t>(
        EnvInt(env, "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT",
               static_cast<std::int64_t>(l.attribute_per_link_count_limit)));
    return l;
}

TracerProvider::TracerProvider(TracerProviderOptions options)
    : resource_(options.resource ? std::move(options.resource) : EmptyResource()),
      sampler_(options.sampler ? std::move(options.sampler)
                               : ParentBasedSampler(AlwaysOnSampler())),
      limits_(options.limits),
      processor_(std::move(options.processor)),
      disabled_(options.disabled) {}

TracerProvider::~TracerProvider() { Shutdown(std::chrono::seconds(5)); }

telemetry::Tracer TracerProvider::GetTracer(std::string_view scope_name,
                                            std::string_view scope_version) {
    if (disabled_) {
        return telemetry::Tracer();
    }
    std::lock_guard lock(mutex_);
    for (const auto& t : tracers_) {
        if (t->Scope().name == scope_name && t->Scope().version == scope_version) {
            return telemetry::Tracer(t.get());
        }
    }
    tracers_.push_back(std::make_unique<Tracer>(
        this, InstrumentationScope{std::string(scope_name), std::string(scope_version)}));
    return telemetry::Tracer(tracers_.back().get());
}

bool TracerProvider::ForceFlush(std::chrono::milliseconds timeout) noexcept {
    return processor_ ? processor_->ForceFlush(timeout) : true;
}

bool TracerProvider::Shutdown(std::chrono::milliseconds timeout) noexcept {
    return processor_ ? processor_->Shutdown(timeout) : true;
}

TracerStats TracerProvider::Stats() const noexcept {
    TracerStats s;
    s.spans_started = started_.load(std::memory_order_relaxed);
    if (processor_) {
        s.processor = processor_->Stats();
    }
    return s;
}

}  // namespace flowex::telemetry::sdk
