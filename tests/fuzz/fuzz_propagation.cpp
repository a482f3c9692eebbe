// libFuzzer target: the W3C propagators (traceparent, tracestate, baggage) on arbitrary
// header values, as a service receives them on every request. The input is split at its
// first two '\n' into the three headers. Beyond not crashing:
//  - what Extract keeps, Inject writes in a form Extract reads back unchanged: injecting the
//    re-extracted context writes the same headers again (a round trip is a fixed point), and
//    a valid span context comes back with the same ids, flags and tracestate, and baggage
//    with the same members;
//  - an injected baggage header stays within 64 members and 8192 bytes.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "flowex/telemetry/api/propagation.hpp"

namespace {

namespace ft = flowex::telemetry;

class MapCarrier final : public ft::TextMapCarrier {
public:
    std::map<std::string, std::string, std::less<>> headers;

    std::string_view Get(std::string_view key) const noexcept override {
        auto it = headers.find(key);
        return it == headers.end() ? std::string_view() : std::string_view(it->second);
    }
    void Set(std::string_view key, std::string_view value) noexcept override {
        headers[std::string(key)] = std::string(value);
    }
};

void Check(bool condition) {
    if (!condition) { __builtin_trap(); }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    MapCarrier in;
    for (std::string_view key :
         {ft::kTraceparentHeader, ft::kTracestateHeader, ft::kBaggageHeader}) {
        const auto newline = input.find('\n');
        if (!input.empty()) { in.Set(key, input.substr(0, newline)); }
        input = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    }
    static const auto propagator = ft::MakePropagator("tracecontext,baggage");

    const ft::Context first = propagator->Extract(in, ft::Context());
    MapCarrier once;
    propagator->Inject(first, once);
    const ft::Context second = propagator->Extract(once, ft::Context());
    MapCarrier twice;
    propagator->Inject(second, twice);
    Check(once.headers == twice.headers);

    const ft::SpanContext& a = first.GetSpanContext();
    const ft::SpanContext& b = second.GetSpanContext();
    Check(a.IsValid() == b.IsValid());
    if (a.IsValid()) {
        Check(a.GetTraceId() == b.GetTraceId());
        Check(a.GetSpanId() == b.GetSpanId());
        Check(a.GetTraceFlags().value == b.GetTraceFlags().value);
        Check(a.GetTraceState() == b.GetTraceState());
        Check(b.IsRemote());
    }

    // Baggage comes back member for member: decoded values and metadata unchanged.
    const auto& before = first.GetBaggage().Entries();
    const auto& after = second.GetBaggage().Entries();
    Check(before.size() == after.size());
    for (std::size_t i = 0; i < before.size() && i < after.size(); ++i) {
        Check(before[i].key == after[i].key);
        Check(before[i].value == after[i].value);
        Check(before[i].metadata == after[i].metadata);
    }

    const std::string_view baggage = once.Get(ft::kBaggageHeader);
    Check(baggage.size() <= ft::Baggage::kMaxBytes);
    std::size_t members = baggage.empty() ? 0 : 1;
    for (char c : baggage) { members += c == ',' ? 1 : 0; }
    Check(members <= ft::Baggage::kMaxMembers);
    return 0;
}
