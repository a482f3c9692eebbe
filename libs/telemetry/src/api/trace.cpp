#include "flowex/telemetry/api/trace.hpp"

#include <atomic>
#include <mutex>

namespace flowex::telemetry {
namespace {

class NoopTracerProvider final : public TracerProvider {
public:
    Tracer GetTracer(std::string_view, std::string_view) override { return Tracer(); }
};

std::mutex& GlobalMutex() {
    static std::mutex m;
    return m;
}

std::shared_ptr<TracerProvider>& GlobalProvider() {
    static std::shared_ptr<TracerProvider> p = std::make_shared<NoopTracerProvider>();
    return p;
}

}  // namespace

void Span::RecordException(std::string_view type, std::string_view message) noexcept {
    if (backend_ == nullptr) {
        return;
    }
    const Attribute attrs[] = {{"exception.type", type}, {"exception.message", message}};
    backend_->AddEvent("exception", attrs, Timestamp{});
}

void Span::MarkError(std::string_view error_type, std::string_view message) noexcept {
    if (backend_ == nullptr) {
        return;
    }
    backend_->SetAttribute("error.type", error_type);
    RecordException(error_type, message);
    backend_->SetStatus(StatusCode::kError, message);
}

Span Tracer::NoopSpan(const SpanStartOptions& options) noexcept {
    if (options.root) {
        return Span();
    }
    const Context& parent = options.parent != nullptr ? *options.parent : Context::Current();
    return Span(parent.GetSpanContext(), nullptr);
}

void SetGlobalTracerProvider(std::shared_ptr<TracerProvider> provider) noexcept {
    std::lock_guard lock(GlobalMutex());
    GlobalProvider() = provider ? std::move(provider) : std::make_shared<NoopTracerProvider>();
}

std::shared_ptr<TracerProvider> GetGlobalTracerProvider() noexcept {
    std::lock_guard lock(GlobalMutex());
    return GlobalProvider();
}

Tracer GetTracer(std::string_view scope_name, std::string_view scope_version) noexcept {
    return GetGlobalTracerProvider()->GetTracer(scope_name, scope_version);
}

}  // namespace flowex::telemetry
