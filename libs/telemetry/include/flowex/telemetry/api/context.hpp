#pragma once
/// Trace identity and the request context.
///
/// THE CONTEXT RULE (read before using the thread-local "current" context):
///  1. `Context` is a cheap value (span context + shared immutable baggage). Carry it
///     explicitly with the request: the HTTP server keeps one per request and passes it to the
///     handler; the HTTP client, PostgreSQL and Redis instrumentation take it as an argument.
///     Explicit passing is always right, whatever thread a coroutine resumes on.
///  2. `Context::Current()` is a thread-local convenience that is valid ONLY for a synchronous
///     stretch of code. Install it with `ScopedContext` (RAII; restores the previous value).
///     Never keep a `ScopedContext` alive across a `co_await`: an Asio coroutine may resume on
///     another thread, where the thread-local holds someone else's context (or none).
///  3. In a coroutine, re-enter after every suspension: `co_await Reenter(ctx, op)` (see
///     asio_context.hpp) clears the thread-local before suspending and installs `ctx` again on
///     whichever thread resumes the coroutine.
/// All functions here are noexcept, never block, and are callable from any thread.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowex::telemetry {

/// 16-byte W3C trace id. All-zero is invalid.
struct TraceId {
    std::array<std::uint8_t, 16> bytes{};

    bool IsValid() const noexcept;
    /// Writes 32 lowercase hex characters to `out` (no terminator).
    void ToHex(char* out) const noexcept;
    std::string Hex() const;
    /// Parses exactly 32 lowercase hex characters; false (and unchanged) otherwise.
    bool FromHex(std::string_view hex) noexcept;
    friend bool operator==(const TraceId&, const TraceId&) = default;
};

/// 8-byte W3C span (parent) id. All-zero is invalid.
struct SpanId {
    std::array<std::uint8_t, 8> bytes{};

    bool IsValid() const noexcept;
    void ToHex(char* out) const noexcept;
    std::string Hex() const;
    bool FromHex(std::string_view hex) noexcept;
    friend bool operator==(const SpanId&, const SpanId&) = default;
};

/// W3C trace-flags; bit 0 is `sampled`.
struct TraceFlags {
    static constexpr std::uint8_t kSampled = 0x01;
    std::uint8_t value = 0;

    bool IsSampled() const noexcept { return (value & kSampled) != 0; }
    friend bool operator==(const TraceFlags&, const TraceFlags&) = default;
};

/// The immutable identity of a span as it travels: ids, flags, tracestate, remote bit.
class SpanContext {
public:
    SpanContext() noexcept = default;
    SpanContext(TraceId trace_id, SpanId span_id, TraceFlags flags, bool remote,
                std::shared_ptr<const std::string> trace_state = {}) noexcept
        : trace_id_(trace_id),
          span_id_(span_id),
          flags_(flags),
          remote_(remote),
          trace_state_(std::move(trace_state)) {}

    /// Both ids non-zero.
    bool IsValid() const noexcept { return trace_id_.IsValid() && span_id_.IsValid(); }
    bool IsSampled() const noexcept { return flags_.IsSampled(); }
    bool IsRemote() const noexcept { return remote_; }
    const TraceId& GetTraceId() const noexcept { return trace_id_; }
    const SpanId& GetSpanId() const noexcept { return span_id_; }
    TraceFlags GetTraceFlags() const noexcept { return flags_; }
    /// The W3C tracestate header value ("" when absent).
    std::string_view GetTraceState() const noexcept {
        return trace_state_ ? std::string_view(*trace_state_) : std::string_view();
    }
    const std::shared_ptr<const std::string>& TraceStatePtr() const noexcept {
        return trace_state_;
    }

private:
    TraceId trace_id_;
    SpanId span_id_;
    TraceFlags flags_;
    bool remote_ = false;
    std::shared_ptr<const std::string> trace_state_;
};

/// W3C baggage: an immutable list of name/value pairs (values decoded; metadata kept verbatim).
class Baggage {
public:
    struct Entry {
        std::string key;
        std::string value;
        std::string metadata;  // ";"-separated properties after the value, verbatim
    };
    static constexpr std::size_t kMaxMembers = 64;
    static constexpr std::size_t kMaxBytes = 8192;

    Baggage() = default;
    explicit Baggage(std::vector<Entry> entries) : entries_(std::move(entries)) {}

    /// The value of `key`, or nullptr.
    const std::string* Get(std::string_view key) const noexcept;
    /// A copy with `key` set (replacing an existing entry).
    Baggage With(std::string key, std::string value, std::string metadata = {}) const;
    const std::vector<Entry>& Entries() const noexcept { return entries_; }
    bool Empty() const noexcept { return entries_.empty(); }

private:
    std::vector<Entry> entries_;
};

/// What travels with a request: the active span's context and the baggage.
/// Copying costs two words plus (when tracestate or baggage are present) atomic ref-counts.
class Context {
public:
    Context() noexcept = default;
    explicit Context(SpanContext span, std::shared_ptr<const Baggage> baggage = {}) noexcept
        : span_(std::move(span)), baggage_(std::move(baggage)) {}

    const SpanContext& GetSpanContext() const noexcept { return span_; }
    /// Never null: an empty baggage when none was set.
    const Baggage& GetBaggage() const noexcept;
    const std::shared_ptr<const Baggage>& BaggagePtr() const noexcept { return baggage_; }

    Context WithSpanContext(SpanContext span) const { return Context(std::move(span), baggage_); }
    Context WithBaggage(std::shared_ptr<const Baggage> baggage) const {
        return Context(span_, std::move(baggage));
    }

    /// The thread-local current context (empty when none is installed). Valid only for a
    /// synchronous stretch: see the rule at the top of this header.
    static const Context& Current() noexcept;

private:
    friend class ScopedContext;
    friend void ClearCurrentContext() noexcept;
    friend void InstallCurrentContext(const Context&) noexcept;
    SpanContext span_;
    std::shared_ptr<const Baggage> baggage_;
};

/// Installs `ctx` as this thread's current context for the enclosing synchronous scope and
/// restores the previous one on destruction. Must be destroyed on the thread that created it,
/// so never across a co_await. Not copyable or movable.
class ScopedContext {
public:
    explicit ScopedContext(Context ctx) noexcept;
    ~ScopedContext();
    ScopedContext(const ScopedContext&) = delete;
    ScopedContext& operator=(const ScopedContext&) = delete;

private:
    Context previous_;
};

/// Resets this thread's current context to empty (used before a coroutine suspends).
void ClearCurrentContext() noexcept;
/// Sets this thread's current context without restoring anything later (used after a
/// coroutine resumes; see Reenter). Prefer ScopedContext in synchronous code.
void InstallCurrentContext(const Context& ctx) noexcept;

}  // namespace flowex::telemetry
