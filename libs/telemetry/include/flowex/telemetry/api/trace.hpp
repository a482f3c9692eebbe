#pragma once
/// The tracing API that instrumented code includes. Without an SDK installed every call is a
/// cheap no-op (a null check), so callers never test for "is tracing on".
///
/// Threading: a `Tracer` is a handle, callable from any thread concurrently. A `Span` is a
/// move-only owner like std::unique_ptr: use it from one thread at a time (hand it to another
/// thread or coroutine by moving it, or with any other happens-before edge). Nothing here
/// blocks, allocates on the no-op path, or throws.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>

#include "flowex/telemetry/api/attribute.hpp"
#include "flowex/telemetry/api/context.hpp"

namespace flowex::telemetry {

/// Values equal the OTLP enum numbers.
enum class SpanKind : std::uint8_t {
    kInternal = 1,
    kServer = 2,
    kClient = 3,
    kProducer = 4,
    kConsumer = 5,
};

/// Values equal the OTLP enum numbers.
enum class StatusCode : std::uint8_t {
    kUnset = 0,
    kOk = 1,
    kError = 2,
};

/// Wall-clock time with nanosecond resolution; the epoch value means "now".
using Timestamp = std::chrono::system_clock::time_point;

/// Nanoseconds since the Unix epoch.
inline std::uint64_t ToUnixNanos(Timestamp t) noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

struct Link {
    SpanContext context;
    std::span<const Attribute> attributes;
};

struct SpanStartOptions {
    SpanKind kind = SpanKind::kInternal;
    /// The parent. nullptr: the thread-local Context::Current() (see context.hpp's rule).
    const Context* parent = nullptr;
    /// Start a new trace, ignoring any parent.
    bool root = false;
    std::span<const Attribute> attributes;
    std::span<const Link> links;
    /// Epoch (default): now.
    Timestamp start_time{};
};

/// What the SDK implements behind a recording Span. Not for instrumented code.
class SpanBackend {
public:
    virtual ~SpanBackend() = default;
    virtual void SetAttribute(std::string_view key, const AttributeValue& value) noexcept = 0;
    virtual void AddEvent(std::string_view name, std::span<const Attribute> attributes,
                          Timestamp time) noexcept = 0;
    virtual void AddLink(const SpanContext& context,
                         std::span<const Attribute> attributes) noexcept = 0;
    virtual void SetStatus(StatusCode code, std::string_view description) noexcept = 0;
    virtual void UpdateName(std::string_view name) noexcept = 0;
    /// Ends the span; the backend object is consumed (never touched again by the handle).
    virtual void End(Timestamp end_time) noexcept = 0;
};

/// A span handle. Ends the span on destruction if End() was not called. After End() (or when
/// not recording) every mutator is a no-op; GetContext() stays valid.
class Span {
public:
    Span() noexcept = default;
    Span(SpanContext context, SpanBackend* backend) noexcept
        : context_(std::move(context)), backend_(backend) {}
    Span(Span&& other) noexcept
        : context_(std::move(other.context_)), backend_(std::exchange(other.backend_, nullptr)) {}
    Span& operator=(Span&& other) noexcept {
        if (this != &other) {
            End();
            context_ = std::move(other.context_);
            backend_ = std::exchange(other.backend_, nullptr);
        }
        return *this;
    }
    Span(const Span&) = delete;
    Span& operator=(const Span&) = delete;
    ~Span() { End(); }

    /// True until End() for a sampled span of an SDK tracer.
    bool IsRecording() const noexcept { return backend_ != nullptr; }
    const SpanContext& GetContext() const noexcept { return context_; }

    /// Sets (or overwrites) an attribute. The key and value are copied.
    void SetAttribute(std::string_view key, const AttributeValue& value) noexcept {
        if (backend_ != nullptr) {
            backend_->SetAttribute(key, value);
        }
    }
    void AddEvent(std::string_view name, std::span<const Attribute> attributes = {},
                  Timestamp time = {}) noexcept {
        if (backend_ != nullptr) {
            backend_->AddEvent(name, attributes, time);
        }
    }
    void AddEvent(std::string_view name, std::initializer_list<Attribute> attributes) noexcept {
        AddEvent(name, std::span<const Attribute>(attributes.begin(), attributes.size()));
    }
    void AddLink(const SpanContext& context, std::span<const Attribute> attributes = {}) noexcept {
        if (backend_ != nullptr) {
            backend_->AddLink(context, attributes);
        }
    }
    /// Spec rules: Ok is final; Unset never overrides; the description is kept only for Error.
    void SetStatus(StatusCode code, std::string_view description = {}) noexcept {
        if (backend_ != nullptr) {
            backend_->SetStatus(code, description);
        }
    }
    void UpdateName(std::string_view name) noexcept {
        if (backend_ != nullptr) {
            backend_->UpdateName(name);
        }
    }
    /// Adds an `exception` event with `exception.type` and `exception.message`.
    void RecordException(std::string_view type, std::string_view message) noexcept;
    /// DESIGN §5 failure marking: status ERROR (description = message), `error.type`, and an
    /// `exception` event.
    void MarkError(std::string_view error_type, std::string_view message) noexcept;
    void End(Timestamp end_time = {}) noexcept {
        if (backend_ != nullptr) {
            std::exchange(backend_, nullptr)->End(end_time);
        }
    }

    /// `base` (its baggage) with this span as the active span: the context to pass on to
    /// children, outgoing requests and log lines.
    Context MakeContext(const Context& base) const { return base.WithSpanContext(context_); }
    Context MakeContext() const { return MakeContext(Context::Current()); }

private:
    SpanContext context_;
    SpanBackend* backend_ = nullptr;
};

/// What the SDK implements behind a Tracer. Must be callable from many threads.
class TracerBackend {
public:
    virtual ~TracerBackend() = default;
    virtual Span StartSpan(std::string_view name, const SpanStartOptions& options) noexcept = 0;
};

/// A tracer handle (cheap to copy). The default-constructed tracer is the no-op tracer: its
/// spans are non-recording and carry the parent's span context, so propagation still works.
class Tracer {
public:
    Tracer() noexcept = default;
    explicit Tracer(TracerBackend* backend) noexcept : backend_(backend) {}

    Span StartSpan(std::string_view name, const SpanStartOptions& options = {}) const noexcept {
        if (backend_ != nullptr) {
            return backend_->StartSpan(name, options);
        }
        return NoopSpan(options);
    }
    bool IsNoop() const noexcept { return backend_ == nullptr; }

private:
    static Span NoopSpan(const SpanStartOptions& options) noexcept;
    TracerBackend* backend_ = nullptr;
};

/// The API face of a tracer provider.
class TracerProvider {
public:
    virtual ~TracerProvider() = default;
    /// Tracers are owned by the provider and valid for its lifetime. Thread-safe.
    virtual Tracer GetTracer(std::string_view scope_name, std::string_view scope_version = {}) = 0;
};

/// The process-wide provider (a no-op provider until one is set). Thread-safe; the provider
/// must outlive every tracer and span obtained from it.
void SetGlobalTracerProvider(std::shared_ptr<TracerProvider> provider) noexcept;
std::shared_ptr<TracerProvider> GetGlobalTracerProvider() noexcept;
/// Shorthand for GetGlobalTracerProvider()->GetTracer(...).
Tracer GetTracer(std::string_view scope_name, std::string_view scope_version = {}) noexcept;

}  // namespace flowex::telemetry
