#pragma once
/// W3C Trace Context (`traceparent`, `tracestate`) and W3C Baggage propagation.
///
/// Extract never fails loudly: an invalid `traceparent` is ignored whole (the returned
/// context has no remote parent); an invalid `tracestate` is dropped while a valid
/// traceparent is kept; baggage beyond 64 members / 8192 bytes is ignored. All functions are
/// noexcept, thread-safe and allocation-free on the traceparent path.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flowex/telemetry/api/context.hpp"

namespace flowex::telemetry {

/// Header access for a transport (HTTP headers, message metadata). Keys are lowercase.
class TextMapCarrier {
public:
    virtual ~TextMapCarrier() = default;
    /// The header value, or "" when absent.
    virtual std::string_view Get(std::string_view key) const noexcept = 0;
    virtual void Set(std::string_view key, std::string_view value) noexcept = 0;
};

inline constexpr std::string_view kTraceparentHeader = "traceparent";
inline constexpr std::string_view kTracestateHeader = "tracestate";
inline constexpr std::string_view kBaggageHeader = "baggage";
/// Length of a version-00 traceparent.
inline constexpr std::size_t kTraceparentLength = 55;

/// Parses a traceparent value by the W3C rules; nullopt when invalid. The result is remote.
std::optional<SpanContext> ParseTraceparent(std::string_view value) noexcept;
/// Writes the 55-character version-00 header for `context` (which must be valid).
void FormatTraceparent(const SpanContext& context, char (&out)[kTraceparentLength]) noexcept;
/// True when `value` is a valid W3C tracestate (≤ 32 members, key/value grammar, no dups).
bool IsValidTracestate(std::string_view value) noexcept;
/// Parses a baggage header (percent-decoding values); malformed members are skipped.
Baggage ParseBaggage(std::string_view value);
/// Formats baggage (percent-encoding values), stopping at 64 members / 8192 bytes.
std::string FormatBaggage(const Baggage& baggage);

class TextMapPropagator {
public:
    virtual ~TextMapPropagator() = default;
    /// `base` with whatever this propagator found in `carrier`.
    virtual Context Extract(const TextMapCarrier& carrier, const Context& base) const noexcept = 0;
    virtual void Inject(const Context& context, TextMapCarrier& carrier) const noexcept = 0;
};

class TraceContextPropagator final : public TextMapPropagator {
public:
    Context Extract(const TextMapCarrier& carrier, const Context& base) const noexcept override;
    void Inject(const Context& context, TextMapCarrier& carrier) const noexcept override;
};

class BaggagePropagator final : public TextMapPropagator {
public:
    Context Extract(const TextMapCarrier& carrier, const Context& base) const noexcept override;
    void Inject(const Context& context, TextMapCarrier& carrier) const noexcept override;
};

class CompositePropagator final : public TextMapPropagator {
public:
    explicit CompositePropagator(std::vector<std::unique_ptr<TextMapPropagator>> parts)
        : parts_(std::move(parts)) {}
    Context Extract(const TextMapCarrier& carrier, const Context& base) const noexcept override;
    void Inject(const Context& context, TextMapCarrier& carrier) const noexcept override;
    std::size_t Size() const noexcept { return parts_.size(); }

private:
    std::vector<std::unique_ptr<TextMapPropagator>> parts_;
};

/// Builds the propagator named by an `OTEL_PROPAGATORS` value ("tracecontext,baggage" when
/// empty; "none" yields an empty composite; unknown names are skipped).
std::unique_ptr<CompositePropagator> MakePropagator(std::string_view otel_propagators);

/// The process-wide propagator (tracecontext + baggage until set). Thread-safe.
const TextMapPropagator& GlobalPropagator() noexcept;
void SetGlobalPropagator(std::shared_ptr<const TextMapPropagator> propagator) noexcept;

}  // namespace flowex::telemetry
